import Foundation
import HeraldTesting
import Testing

/// `Idempotency-Key` on `/pub`: a retried publish (the first answer lost to a timeout or a 502)
/// gets the first publish's answer and is neither stored nor delivered twice, on any node.
@Suite struct IdempotentPublishTests {
    /// Publishes through `first`, retries through `retry` (another node with Redis), and checks
    /// what a subscriber on `first` and the channel's backlog got.
    static func aRetryIsPublishedOnce(first: HeraldProcess, retry: HeraldProcess) async throws {
        let stream = try await HTTPStream.connect(port: first.port, "/ev/orders")
        defer { stream.close() }
        try #require(try await first.waitForSubscribers("orders", count: 1))
        let key = [("Idempotency-Key", "order-1234")]
        let answer = try await first.admin("POST", "/pub?id=orders", headers: key, body: Array("paid".utf8))
        let again = try await retry.admin("POST", "/pub?id=orders", headers: key, body: Array("paid".utf8))
        #expect(answer.status == 200 && again.status == 200, "\(answer) \(again)")
        #expect(JSON.int(try JSON.object(answer.body)["published_messages"]) == 1)
        #expect(JSON.int(try JSON.object(again.body)["published_messages"]) == 1, "\(again)")
        // Another key, or none, is another message.
        let other = [("Idempotency-Key", "order-1235")]
        #expect(
            try await retry.admin("POST", "/pub?id=orders", headers: other, body: Array("shipped".utf8)).status == 200)
        try await first.publish("orders", "closed")
        let received = try await Received.events(stream, count: 3)
        #expect(received.map(\.message.text) == ["paid", "shipped", "closed"], "\(received)")
        #expect(received.map(\.message.id) == [1, 2, 3])
        let stored = try PushMessage.decodeConcatenated(try await retry.get("/lp/orders.b10").body)
        #expect(stored.map(\.text) == ["paid", "shipped", "closed"])
        // A key that could not be a key is refused, with the reason.
        let bad = try await first.admin(
            "POST", "/pub?id=orders", headers: [("Idempotency-Key", "has space")], body: Array("x".utf8))
        #expect(bad.status == 400 && bad.headers["X-Nginx-PushStream-Explain"] == "Idempotency-Key is invalid.")
        let long = try await first.admin(
            "POST", "/pub?id=orders", headers: [("Idempotency-Key", String(repeating: "k", count: 201))],
            body: Array("x".utf8))
        #expect(long.status == 400)
    }

    @Test func onTheMemoryEngine() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await Self.aRetryIsPublishedOnce(first: node, retry: node)
    }

    @Test func theWindowEnds() async throws {
        let node = try await HeraldProcess.start(["--idempotency-window", "1s"])
        defer { node.stop() }
        let key = [("Idempotency-Key", "k")]
        _ = try await node.admin("POST", "/pub?id=w", headers: key, body: Array("a".utf8))
        try await Task.sleep(for: .milliseconds(2_100))
        // The memory engine forgets in its sweep (every few seconds): either way not before the window.
        var published = 0
        for _ in 0..<40 where published < 2 {
            let answer = try await node.admin("POST", "/pub?id=w", headers: key, body: Array("a".utf8))
            published = JSON.int(try JSON.object(answer.body)["published_messages"]) ?? 0
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(published == 2)
    }
}
