import Foundation
import HeraldTesting
import Testing

/// `--allowed-origins` with a list: pages of other sites cannot subscribe on any transport, listed
/// ones get credentialed CORS.
@Suite struct OriginTests {
    @Test func onlyListedOriginsSubscribe() async throws {
        let node = try await HeraldProcess.start(["--allowed-origins", "https://site.example,https://app.example"])
        defer { node.stop() }
        try await node.publish("o", "hello")
        let evil = [("Origin", "https://evil.example")]
        for path in ["/ev/o.b1", "/sub/o.b1", "/lp/o.b1"] {
            let refused = try await node.get(path, headers: evil)
            #expect(refused.status == 403, "\(path)")
            #expect(refused.explain == "Origin is not allowed.")
            #expect(refused.headers["Access-Control-Allow-Origin"] == nil)
        }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/o", extraHeaders: evil)
        defer { socket.close() }
        #expect(!socket.isAccepted)

        let polled = try await node.get("/lp/o.b1", headers: [("Origin", "https://app.example")])
        #expect(polled.status == 200)
        #expect(polled.headers["Access-Control-Allow-Origin"] == "https://app.example")
        #expect(polled.headers["Access-Control-Allow-Credentials"] == "true")
        #expect(polled.headers["Vary"] == "Origin")
        // Not from a page at all: no Origin, no CORS, no refusal.
        let plain = try await node.get("/lp/o.b1")
        #expect(plain.status == 200)
        #expect(plain.headers["Access-Control-Allow-Origin"] == nil)
    }
}
