import Foundation
import HeraldCore
import HeraldTesting
import Testing

/// Redis lost messages it had acknowledged and nodes had delivered: what a replica holds when its
/// master died before passing on the last writes (a failover), here made exactly by setting the
/// channel back to an earlier message. The lost ids must not be handed out again unnoticed:
/// subscribers who saw the lost messages go on without a repeat or a notice, and everyone who
/// had not reached them gets the `-4` notice, by id and by time and tag.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisLostWritesTests {
    /// Sets `channel` back to message `id`: its later messages and its `meta` beyond it are gone,
    /// as on a replica that never received them.
    static func forget(_ redis: RedisServerProcess, _ channel: String, after id: Int) async throws {
        let stored = try await redis.command("LRANGE", "herald:{\(channel)}:log", "0", "-1").array ?? []
        let kept = try stored.prefix(id).map { entry in
            try #require(Envelope.decode(Array((entry.string ?? "").utf8)))
        }
        let last = try #require(kept.last)
        try #require(last.id == Int64(id), "the log holds \(kept.map(\.id))")
        _ = try await redis.command("LTRIM", "herald:{\(channel)}:log", "0", String(id - 1))
        _ = try await redis.command(
            "HSET", "herald:{\(channel)}:meta", "last_id", String(id), "last_time", String(last.time), "last_tag",
            String(last.tag))
    }

    /// Waits until a node has fenced `channel`; returns the fence.
    static func fence(_ redis: RedisServerProcess, _ channel: String) async throws -> String {
        for _ in 0..<100 {
            if let fence = try await redis.command("HGET", "herald:{\(channel)}:meta", "fence").string { return fence }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("no node fenced \(channel)")
    }

    /// Resumes of `channel` on `node` from message `id` (its cursor, time and tag) by every path.
    static func resumed(
        _ node: HeraldProcess, _ channel: String, from message: (cursor: String, push: PushMessage), count: Int
    ) async throws -> (events: [String], polled: [String]) {
        let events = try await HTTPStream.connect(
            port: node.port, "/ev/\(channel)", headers: [("Last-Event-ID", message.cursor)])
        defer { events.close() }
        let received = try await Received.events(events, count: count)
        let polled = try await node.get(
            "/lp/\(channel)",
            headers: [("If-Modified-Since", message.push.time), ("If-None-Match", "W/\(message.push.tag)")])
        return (received.map(\.message.text), try PushMessage.decodeConcatenated(polled.body).map(\.text))
    }

    /// Nothing was published between the loss and the nodes noticing it (their pub/sub connection
    /// dropped, as with a master that dies): the channel goes on after what was delivered.
    @Test func messagesLostAfterDeliveryAreFencedAndTheirIDsNotHandedOutAgain() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let channel = "lost"
        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: a.port, "/ws/\(channel)")
        defer { socket.close() }
        try #require(try await a.waitForSubscribers(channel, count: 2))
        try await b.publishAll(channel, (1...5).map { "m\($0)" })
        let seen = try await Received.events(events, count: 5, settle: .zero)
        try #require(seen.count == 5)

        try await Self.forget(bed.redis, channel, after: 3)
        _ = try await bed.redis.command("CLIENT", "KILL", "TYPE", "pubsub")
        let fence = try await Self.fence(bed.redis, channel)
        #expect(fence.hasPrefix("5 "), "fence \(fence)")
        try await b.publish(channel, "m6")
        #expect(try await b.lastID(channel) == 6)

        // Those who saw 4 and 5 go on with 6: no repeat, no notice.
        let live = try await Received.events(events, count: 6)
        #expect(live.map(\.message.text) == (1...6).map { "m\($0)" }, "\(live)\n\(bed.logs.suffix(2_000))")
        #expect(try await Received.frames(socket, count: 6).map(\.id) == Array(1...6))

        let fromThree = try await Self.resumed(b, channel, from: (try #require(seen[2].id), seen[2].message), count: 2)
        #expect(fromThree.events == ["Messages missed", "m6"], "\(fromThree)")
        #expect(fromThree.polled == ["Messages missed", "m6"], "\(fromThree)")
        let fromFive = try await Self.resumed(b, channel, from: (try #require(seen[4].id), seen[4].message), count: 1)
        #expect(fromFive.events == ["m6"], "\(fromFive)")
        #expect(fromFive.polled == ["m6"], "\(fromFive)")
    }

    /// A publish reached the new master before any node noticed the loss, and took id 4 again:
    /// the node that delivered the old 4 and 5 tells its subscribers and then delivers the new 4,
    /// instead of dropping it as a repeat; cursors among the reused ids get the notice.
    @Test func aLostIDHandedOutAgainIsReportedNotDroppedAsARepeat() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let channel = "reused"
        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        try #require(try await a.waitForSubscribers(channel, count: 1))
        try await b.publishAll(channel, (1...5).map { "m\($0)" })
        let seen = try await Received.events(events, count: 5, settle: .zero)
        try #require(seen.count == 5)

        try await Self.forget(bed.redis, channel, after: 3)
        // A failover takes seconds: the new master's messages are stamped after the lost ones.
        try await WallClock.sleepUntilTheNextSecond()
        try await b.publish(channel, "again4")
        #expect(try await b.lastID(channel) == 4)
        _ = try await Self.fence(bed.redis, channel)
        try await b.publish(channel, "again5")

        let live = try await Received.events(events, count: 8)
        #expect(
            live.map(\.message.text) == (1...5).map { "m\($0)" } + ["Messages missed", "again4", "again5"],
            "\(live)\n\(a.output.suffix(3_000))")
        #expect(live.map(\.message.id) == [1, 2, 3, 4, 5, -4, 4, 5])

        // Id 5 names two messages now: its cursor gets the notice; its time and tag do not.
        let fromFive = try await Self.resumed(b, channel, from: (try #require(seen[4].id), seen[4].message), count: 1)
        #expect(fromFive.events == ["Messages missed"], "\(fromFive)")
        #expect(fromFive.polled == ["again4", "again5"], "\(fromFive)")
        let fromThree = try await Self.resumed(b, channel, from: (try #require(seen[2].id), seen[2].message), count: 3)
        #expect(fromThree.events == ["Messages missed", "again4", "again5"], "\(fromThree)")
        #expect(fromThree.polled == ["Messages missed", "again4", "again5"], "\(fromThree)")
    }
}
