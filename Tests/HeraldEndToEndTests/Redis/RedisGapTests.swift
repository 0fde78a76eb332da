import Foundation
import HeraldPublisher
import HeraldTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Gap repair: a node that misses a message on pub/sub delivers it from the backlog before the
/// next one, or says it is gone (the id -4 notice); it never skips it quietly.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisGapTests {
    /// Publishes with the documented script but announces the message on another pub/sub channel,
    /// so nodes see its id only as a gap. Returns the id.
    static func publishUnannounced(
        _ redis: RedisServerProcess, _ channel: String, _ text: String, store: Bool
    ) async throws -> Int {
        let sha = try await redis.command("SCRIPT", "LOAD", RedisScripts.publish)
        let reply = try await redis.command(
            "EVALSHA", sha.string ?? "", "4", "herald:{\(channel)}:meta", "herald:{\(channel)}:log",
            "herald:channels", "herald:stats", channel, text, "", "", store ? "1" : "0", "100", "600", "86400",
            "herald:{\(channel)}:elsewhere")
        guard let id = reply.array?.first?.integer else { throw HarnessError("EVALSHA answered \(reply)") }
        return id
    }

    @Test func aMessageMissingFromPubSubIsTakenFromTheBacklogOrReported() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let events = try await HTTPStream.connect(port: a.port, "/ev/gap")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: a.port, "/ws/gap")
        defer { socket.close() }
        try #require(try await a.waitForSubscribers("gap", count: 2))
        try await b.publish("gap", "g1")
        #expect(try await Received.events(events, count: 1, settle: .zero).count == 1)
        #expect(try await Self.publishUnannounced(bed.redis, "gap", "g2", store: true) == 2)
        try await b.publish("gap", "g3")
        #expect(try await Self.publishUnannounced(bed.redis, "gap", "g4", store: false) == 4)
        try await b.publish("gap", "g5")

        let received = try await Received.events(events, count: 5)
        #expect(received.map(\.message.text) == ["g1", "g2", "g3", "Messages missed", "g5"], "\(received)")
        #expect(
            received.map(\.id).map(CursorText.withoutGenerations) == [
                "hc:gap:1", "hc:gap:2", "hc:gap:3", nil, "hc:gap:5",
            ])
        let frames = try await Received.frames(socket, count: 5)
        #expect(frames.map(\.id) == [1, 2, 3, -4, 5], "\(frames)")
    }

    /// A channel whose subscriber has had no live message yet when the pub/sub connection drops:
    /// a message published while the node reconnects must still reach it. Node A is frozen
    /// (SIGSTOP) while its pub/sub connection is killed and the message is published, so the
    /// message certainly falls in the reconnect window.
    @Test func aMessagePublishedWhileAQuietChannelsNodeReconnectsIsRepaired() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let pidOfA = a.pid
        defer { kill(pidOfA, SIGCONT) }
        try await b.publishAll("quiet", ["q1", "q2"])
        let events = try await HTTPStream.connect(port: a.port, "/ev/quiet")
        defer { events.close() }
        try #require(try await a.waitForSubscribers("quiet", count: 1))

        kill(pidOfA, SIGSTOP)
        let killed = try await bed.redis.command("CLIENT", "KILL", "TYPE", "pubsub").integer ?? 0
        #expect(killed >= 1)
        try await b.publish("quiet", "q3")
        kill(pidOfA, SIGCONT)
        #expect(try await Self.waitForPubSubSubscriber(bed.redis, "herald:{quiet}:pub"), "A did not subscribe again")
        try await b.publish("quiet", "q4")

        let received = try await Received.events(events, count: 2, timeout: .seconds(5))
        #expect(received.map(\.message.text) == ["q3", "q4"], "\(received)")
        #expect(received.map(\.id).map(CursorText.withoutGenerations) == ["hc:quiet:3", "hc:quiet:4"])
        // An operator sees the reconnect and the repair it made.
        let scrape = try await a.metrics()
        #expect((scrape.value("herald_redis_reconnects_total") ?? 0) >= 1)
        #expect((scrape.value("herald_gap_repairs_total", ["cause": "reconnect"]) ?? 0) >= 1)
    }

    /// Polls `PUBSUB NUMSUB` until `pubsubChannel` has a subscriber.
    static func waitForPubSubSubscriber(
        _ redis: RedisServerProcess, _ pubsubChannel: String, timeout: Duration = .seconds(5)
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let reply = try await redis.command("PUBSUB", "NUMSUB", pubsubChannel)
            if let count = reply.array?.last?.integer, count > 0 { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
