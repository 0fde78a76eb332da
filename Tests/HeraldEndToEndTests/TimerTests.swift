import Foundation
import HeraldTesting
import Testing

/// Pings and connection time-to-live.
@Suite struct TimerTests {
    @Test func pingsOnEveryTransport() async throws {
        let node = try await HeraldProcess.start(["--ping-message-interval", "1s"])
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/sub/idle")
        defer { stream.close() }
        let events = try await HTTPStream.connect(port: node.port, "/ev/idle")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/idle")
        defer { socket.close() }

        async let streamPinged = stream.readUntil(timeout: .seconds(5)) {
            ScriptMessage.all(in: $0.text).contains { $0.id == -1 }
        }
        async let eventsPinged = events.readUntil(timeout: .seconds(5)) { SSEParser($0.body).comments.contains("-1") }
        async let socketPinged = socket.readUntil(timeout: .seconds(5)) {
            $0.opcode == WebSocketTestClient.Opcode.ping.rawValue
        }
        #expect(try await streamPinged)
        #expect(try await eventsPinged)
        #expect(try await socketPinged?.payload.isEmpty == true)
        #expect(events.text.contains("\n: -1\n"))
        #expect(ScriptMessage.all(in: stream.text).first { $0.id == -1 }?.text == " ")
        #expect(!stream.ended && !events.ended && !socket.isClosed)
    }

    @Test func connectionTTLEndsStreamsWithTheirFooter() async throws {
        let node = try await HeraldProcess.start(["--subscriber-connection-ttl", "1s"])
        defer { node.stop() }
        let started = ContinuousClock.now
        let stream = try await HTTPStream.connect(port: node.port, "/sub/ttl")
        let events = try await HTTPStream.connect(port: node.port, "/ev/ttl")
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/ttl")
        #expect(try await stream.readEnd(timeout: .seconds(6)))
        #expect(stream.sawLastChunk)
        #expect(stream.text.hasSuffix("</body></html>"))
        #expect(try await events.readEnd(timeout: .seconds(6)))
        #expect(events.sawLastChunk)
        #expect(try await socket.waitClosed(timeout: .seconds(6)))
        #expect(socket.received.last?.isClose == true)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(900))
        #expect(elapsed < .seconds(5))
        #expect(try await node.waitForSubscribers("ttl", count: 0))
    }

    @Test func noPingWhileMessagesFlow() async throws {
        // A message every 250 ms against a 2 s interval: a ping would need a publish delayed by
        // well over a second, which a loaded test machine does not cause.
        let node = try await HeraldProcess.start(["--ping-message-interval", "2s"])
        defer { node.stop() }
        let events = try await HTTPStream.connect(port: node.port, "/ev/busy")
        defer { events.close() }
        try #require(try await node.waitForSubscribers("busy", count: 1))
        for i in 0..<12 {
            try await node.publish("busy", "m\(i)")
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(try await events.readUntil { SSEParser($0.body).dataEvents.count >= 12 })
        #expect(!SSEParser(events.body).comments.contains("-1"), "pinged while messages were flowing")
        // Once idle, the pings come.
        #expect(try await events.readUntil(timeout: .seconds(7)) { SSEParser($0.body).comments.contains("-1") })
    }

    @Test func longPollsAreNotEndedBySubscriberConnectionTTL() async throws {
        let node = try await HeraldProcess.start([
            "--subscriber-connection-ttl", "1s", "--longpolling-connection-ttl", "3s",
        ])
        defer { node.stop() }
        let started = ContinuousClock.now
        let response = try await node.get("/lp/slow", timeout: .seconds(8))
        #expect(response.status == 304)
        #expect(ContinuousClock.now - started >= .milliseconds(2800))
    }
}
