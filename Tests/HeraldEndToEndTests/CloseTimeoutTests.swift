import Foundation
import HeraldTesting
import Testing

/// Closing a subscriber never waits on its client for longer than the close timeout.
@Suite(.timeLimit(.minutes(1)))
struct CloseTimeoutTests {
    /// A WebSocket client that stops reading is dropped once its output passes the bound; its
    /// socket must go within the close timeout, not wait for a flush that never completes.
    @Test func aWebSocketSubscriberThatNeverReadsLosesItsSocketWithinTheCloseTimeout() async throws {
        let node = try await HeraldProcess.start([
            "--max-subscriber-buffer", "64k", "--max-message-size", "64k", "--no-store-messages",
        ])
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/stuck", receiveBuffer: 4096)
        defer { socket.close() }
        try #require(try await node.waitForSubscribers("stuck", count: 1))
        let clientPort = try #require(socket.connection.socket.localPort)
        try #require(node.holdsConnection(clientPort: clientPort))

        let body = Array(String(repeating: "x", count: 60_000).utf8)
        let adminPort = node.adminPort
        let published = try await Blocking.run { () -> Int in
            let client = try RawHTTPClient(port: adminPort)
            defer { client.close() }
            for i in 1...2_000 {
                let response = try client.request("POST", "/pub?id=stuck", body: body)
                guard response.status == 200 else { throw HarnessError("publish \(i): \(response.status)") }
                if i.isMultiple(of: 10), let info = try? JSON.object(response.body),
                    JSON.int(info["subscribers"]) == 0
                {
                    return i
                }
            }
            return -1
        }
        try #require(published > 0, "the subscriber was never dropped")
        let dropped = ContinuousClock.now
        var held = true
        while held && ContinuousClock.now - dropped < .seconds(6) {
            try await Task.sleep(for: .milliseconds(50))
            held = node.holdsConnection(clientPort: clientPort)
        }
        let took = ContinuousClock.now - dropped
        #expect(!held, "the node still holds the socket \(took) after dropping the subscriber")
        #expect(took < .seconds(4), "the socket went after \(took) (close timeout 2 s)")
    }
}
