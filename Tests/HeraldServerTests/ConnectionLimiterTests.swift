import Testing

@testable import HeraldServer

struct ConnectionLimiterTests {
    @Test func theListenerLimitCountsEveryConnection() throws {
        let limiter = ConnectionLimiter(maxConnections: 2, maxPerAddress: nil, listener: "test")
        let first = try limiter.admit(address: "10.0.0.1").get()
        _ = try limiter.admit(address: "10.0.0.2").get()
        #expect(throws: ConnectionLimiter.Refusal.listenerFull) { try limiter.admit(address: "10.0.0.3").get() }
        limiter.release(first)
        _ = try limiter.admit(address: "10.0.0.3").get()
        #expect(limiter.openConnections == 2)
    }

    @Test func theAddressLimitCountsOneAddress() throws {
        let limiter = ConnectionLimiter(maxConnections: 0, maxPerAddress: 2, listener: "test")
        #expect(limiter.maxConnections == nil)
        let first = try limiter.admit(address: "10.0.0.1").get()
        _ = try limiter.admit(address: "10.0.0.1").get()
        #expect(throws: ConnectionLimiter.Refusal.addressFull) { try limiter.admit(address: "10.0.0.1").get() }
        _ = try limiter.admit(address: "10.0.0.2").get()
        limiter.release(first)
        _ = try limiter.admit(address: "10.0.0.1").get()
        #expect(limiter.openConnections == 3)
    }

    @Test(arguments: [
        (fileLimit: 20_000, admin: 256, expected: 19_488),
        (fileLimit: 1_024, admin: 256, expected: 512),
        (fileLimit: 300, admin: 256, expected: 150),
        (fileLimit: 1, admin: 256, expected: 1),
    ])
    func theDefaultKeepsDescriptorsBack(fileLimit: Int, admin: Int, expected: Int) {
        #expect(ConnectionLimits.defaultMaxConnections(fileLimit: fileLimit, adminConnections: admin) == expected)
    }

    @Test func settingsResolveTheCap() {
        var settings = NodeSettings()
        #expect(settings.maxConnectionsPerAddress == 1_000)
        #expect(settings.maxAdminConnections == 256)
        #expect(ConnectionLimits.maxConnections(settings, fileLimit: 20_000) == 19_488)
        #expect(ConnectionLimits.maxConnections(settings, fileLimit: nil) == nil)
        settings.maxConnections = 0
        #expect(ConnectionLimits.maxConnections(settings, fileLimit: 20_000) == nil)
        settings.maxConnections = 50
        #expect(ConnectionLimits.maxConnections(settings, fileLimit: 20_000) == 50)
    }
}
