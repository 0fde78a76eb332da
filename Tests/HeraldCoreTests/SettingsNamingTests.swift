import HeraldCore
import Testing

@Suite struct SettingsNamingTests {
    @Test(arguments: [
        ("maxMessageSize", "max-message-size"), ("adminHost", "admin-host"), ("port", "port"), ("", ""),
        ("maxChannelIDLength", "max-channel-id-length"), ("HTTPPort", "http-port"), ("redisURL", "redis-url"),
        ("http2Enabled", "http2-enabled"), ("pingInterval30s", "ping-interval30s"), ("a", "a"), ("aB", "a-b"),
        ("already-kebab", "already-kebab"), ("ID", "id"),
    ])
    func kebab(camel: String, expected: String) {
        #expect(SettingsNaming.kebab(fromCamel: camel) == expected)
    }

    @Test(arguments: [
        ("max-message-size", "HERALD_MAX_MESSAGE_SIZE"), ("port", "HERALD_PORT"),
        ("max-channel-id-length", "HERALD_MAX_CHANNEL_ID_LENGTH"),
    ])
    func environmentName(option: String, expected: String) {
        #expect(SettingsNaming.environmentName(forOption: option) == expected)
    }

    @Test func camelToEnvironmentComposes() {
        #expect(
            SettingsNaming.environmentName(forOption: SettingsNaming.kebab(fromCamel: "adminHost"))
                == "HERALD_ADMIN_HOST")
    }
}
