import Foundation
import HeraldTesting
import Testing

/// Redis going away under running nodes: pub/sub connections killed, Redis stopped and restarted
/// with its data.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisOutageTests {
    @Test func killedPubSubConnectionsLoseNothing() async throws {
        let bed = try await RedisTestbed.start(arguments: ["--max-messages-stored-per-channel", "1000"])
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let channel = "flaky"
        let count = 300
        let killAt: Set<Int> = [40, 90, 140, 141, 200, 260]
        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: a.port, "/ws/\(channel)")
        defer { socket.close() }
        try #require(try await a.waitForSubscribers(channel, count: 2))

        let (adminPort, redisPort) = (b.adminPort, bed.redis.port)
        let killed = try await Blocking.run { () -> Int in
            let client = try RawHTTPClient(port: adminPort)
            defer { client.close() }
            let redis = try RedisTestClient(port: redisPort)
            defer { redis.close() }
            var killed = 0
            for i in 1...count {
                let response = try client.request("POST", "/pub?id=\(channel)", body: Array("k\(i)".utf8))
                guard response.status == 200 else { throw HarnessError("publish k\(i) answered \(response)") }
                if killAt.contains(i) {
                    killed += try redis.command(["CLIENT", "KILL", "TYPE", "pubsub"]).integer ?? 0
                }
                usleep(2_000)
            }
            return killed
        }
        #expect(killed >= 3, "CLIENT KILL TYPE pubsub killed \(killed) connections in all")

        let ids = Array(1...count)
        let received = try await Received.events(events, count: count, timeout: .seconds(15))
        #expect(received.map(\.message.id) == ids, "\(ReceivedLog.summarize(received.map(\.message.id)))")
        #expect(received.map(\.message.text) == ids.map { "k\($0)" })
        let frames = try await Received.frames(socket, count: count, timeout: .seconds(5))
        #expect(frames.map(\.id) == ids, "\(ReceivedLog.summarize(frames.map(\.id)))")
        #expect(!events.isClosed && !socket.isClosed)
    }

    @Test func redisStoppedAndRestartedWithItsData() async throws {
        let bed = try await RedisTestbed.start(persistent: true)
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let channel = "outage"
        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: a.port, "/ws/\(channel)")
        defer { socket.close() }
        try #require(try await a.waitForSubscribers(channel, count: 2))
        let pidOfA = a.pid
        var accepted: [String] = []
        for i in 1...5 {
            try await (i.isMultiple(of: 2) ? a : b).publish(channel, "ok\(i)")
            accepted.append("ok\(i)")
        }
        #expect(try await Received.events(events, count: 5, settle: .zero).count == 5)

        try await bed.redis.terminate()
        #expect(try await a.waitForReadiness(503, timeout: .seconds(5)), "A still healthy without Redis")
        #expect(try await b.waitForReadiness(503, timeout: .seconds(5)), "B still healthy without Redis")
        for i in 1...4 {
            let node = i.isMultiple(of: 2) ? a : b
            let response = try await node.admin("POST", "/pub?id=\(channel)", body: Array("lost\(i)".utf8))
            #expect(response.status == 503, "\(response)")
            #expect(response.explain == "Message store unavailable.", "\(response.explain ?? "no explain")")
        }
        // Joining needs the backlog: a new subscriber is refused until Redis is back.
        let joining = try await a.get("/ev/\(channel)")
        #expect(joining.status == 503, "\(joining)")
        try await events.drain(for: .milliseconds(300))
        #expect(!events.ended && !events.isClosed, "the EventSource subscriber was let go during the outage")
        #expect(!socket.isClosed, "the WebSocket subscriber was let go during the outage")

        try await bed.redis.restart()
        #expect(try await a.waitForReadiness(200, timeout: .seconds(10)), "A not healthy after Redis came back")
        #expect(try await b.waitForReadiness(200, timeout: .seconds(10)), "B not healthy after Redis came back")
        for i in 6...10 {
            try await (i.isMultiple(of: 2) ? a : b).publish(channel, "ok\(i)")
            accepted.append("ok\(i)")
        }

        let ids = Array(1...10)
        let received = try await Received.events(events, count: 10)
        #expect(received.map(\.message.id) == ids)
        #expect(received.map(\.message.text) == accepted)
        #expect(received.map(\.id).map(CursorText.withoutGenerations) == ids.map { "hc:\(channel):\($0)" })
        let frames = try await Received.frames(socket, count: 10)
        #expect(frames.map(\.id) == ids)
        #expect(frames.map(\.text) == accepted)
        #expect(a.isRunning && a.pid == pidOfA)
        #expect(try await b.lastID(channel) == 10)
    }
}
