import Testing

@testable import HeraldServer

/// `/healthz` says the process is alive; `/readyz` whether it should be sent subscribers.
@Suite struct HealthEndpointTests {
    @Test func livenessStaysWhileReadinessReportsTheDrain() throws {
        let node = EmbeddedNode()
        let admin = try node.connect(.admin)
        try admin.send("GET /readyz HTTP/1.1\r\n\r\n")
        let ready = try admin.receivedText()
        #expect(ready.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(ready.hasSuffix("\r\n\r\nready\n"))

        node.context.isDraining = true
        try admin.send("GET /healthz HTTP/1.1\r\n\r\n")
        let alive = try admin.receivedText()
        #expect(alive.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(alive.hasSuffix("\r\n\r\nok\n"))
        try admin.send("GET /readyz HTTP/1.1\r\n\r\n")
        let draining = try admin.receivedText()
        #expect(draining.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(draining.hasSuffix("\r\n\r\ndraining\n"))
    }

    @Test func probesAreNotServedToSubscribers() throws {
        let node = EmbeddedNode()
        let subscriber = try node.connect(.public)
        try subscriber.send("GET /readyz HTTP/1.1\r\n\r\n")
        #expect(try subscriber.receivedText().hasPrefix("HTTP/1.1 404 Not Found\r\n"))
    }
}
