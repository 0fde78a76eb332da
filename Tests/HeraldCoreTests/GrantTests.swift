import HeraldCore
import Testing

@Suite struct GrantTests {
    static let grant = Grant(user: "42", channels: ["news", "chat"], channelPrefixes: ["room:", ""])

    @Test(
        arguments: [
            ("news", true), ("chat", true), ("room:1", true), ("room:", true), ("newsy", false), ("room", false),
            ("", false), ("user:42", true), ("user:43", false), ("user:", false), ("user:421", false),
        ] as [(String, Bool)])
    func allowsExactChannelsPrefixesAndTheUsersOwnChannel(channel: String, allowed: Bool) {
        #expect(Self.grant.allows(channel, userChannelPrefix: "user:") == allowed)
    }

    @Test func anotherUsersChannelIsRefusedWhateverTheClaims() {
        let greedy = Grant(user: "7", channels: ["user:42"], channelPrefixes: ["user:"])
        #expect(!greedy.allows("user:42", userChannelPrefix: "user:"))
        #expect(greedy.allows("user:7", userChannelPrefix: "user:"))
        // Without a user channel prefix, user: is a prefix like any other.
        #expect(greedy.allows("user:42"))
        #expect(!Grant(channelPrefixes: ["user:"]).allows("user:1", userChannelPrefix: "user:"))
    }

    @Test func timesAreCheckedBeforeChannelsAndAtTheirEdges() {
        let grant = Grant(channels: ["a"], expires: 100, notBefore: 50)
        #expect(throws: ProtocolError.grantNotYetValid) { try grant.authorize(["b"], now: 49) }
        #expect(throws: Never.self) { try grant.authorize(["a"], now: 50) }
        #expect(throws: Never.self) { try grant.authorize(["a"], now: 99) }
        #expect(throws: ProtocolError.grantExpired) { try grant.authorize(["a"], now: 100) }
        #expect(throws: ProtocolError.channelNotGranted) { try grant.authorize(["a", "b"], now: 60) }
        #expect(throws: Never.self) { try Grant(channels: ["a"]).authorize(["a"], now: .max) }
    }

    @Test func publishingIsItsOwnClaim() {
        let grant = Grant(channels: ["room:1", "news"], publish: ["room:*", "chat", "*"])
        #expect(grant.allowsPublishing(to: "room:1"))
        #expect(grant.allowsPublishing(to: "chat"))
        #expect(!grant.allowsPublishing(to: "news"))
        #expect(!grant.allowsPublishing(to: "chatter"))
        #expect(!Grant(channels: ["news"]).allowsPublishing(to: "news"))
    }
}
