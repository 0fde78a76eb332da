import Foundation
import HeraldTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Redis restarted without persistence: everything it held is gone while nodes keep running.
/// Subscribers must be told (the id -4 notice) and follow the channel's new ids; nodes must put
/// back what they keep in Redis (their subscriber counts).
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisDataLossTests {
    @Test func redisRestartedWithoutItsDataIsReportedAndIDsStartOver() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let channel = "amnesia"
        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: a.port, "/ws/\(channel)")
        defer { socket.close() }
        try #require(try await a.waitForSubscribers(channel, count: 2))
        try await b.publishAll(channel, ["old1", "old2", "old3"])
        #expect(try await Received.events(events, count: 3, settle: .zero).count == 3)

        try await bed.redis.restart()
        #expect(try await a.waitForReadiness(200, timeout: .seconds(10)), "A not healthy after Redis came back")
        #expect(try await b.waitForReadiness(200, timeout: .seconds(10)), "B not healthy after Redis came back")
        try await b.publishAll(channel, ["new1", "new2"])

        let received = try await Received.events(events, count: 6)
        #expect(received.map(\.message.id) == [1, 2, 3, -4, 1, 2], "\(received)")
        #expect(received.map(\.message.text) == ["old1", "old2", "old3", "Messages missed", "new1", "new2"])
        let cursors = ["1", "2", "3", nil, "1", "2"].map { $0.map { "hc:amnesia:\($0)" } }
        #expect(received.map(\.id).map(CursorText.withoutGenerations) == cursors)
        let frames = try await Received.frames(socket, count: 6)
        #expect(frames.map(\.id) == [1, 2, 3, -4, 1, 2], "\(frames)")
        #expect(try await b.lastID(channel) == 2)
    }

    /// The new channel has already passed the old last id when the node looks again: a last-id
    /// comparison cannot tell, yet the subscriber must still get the notice and the new ids from 1.
    /// Node A is frozen (SIGSTOP) while Redis restarts and five messages are published, so it
    /// reconnects only once the new channel is at id 5 (above the 3 its subscriber had).
    @Test func aResetChannelThatOvertookTheOldLastIDIsStillReported() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let pidOfA = a.pid
        defer { kill(pidOfA, SIGCONT) }
        let channel = "overtaken"
        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        try #require(try await a.waitForSubscribers(channel, count: 1))
        try await b.publishAll(channel, ["old1", "old2", "old3"])
        #expect(try await Received.events(events, count: 3, settle: .zero).count == 3)

        kill(pidOfA, SIGSTOP)
        try await bed.redis.restart()
        #expect(try await b.waitForReadiness(200, timeout: .seconds(10)), "B not healthy after Redis came back")
        try await b.publishAll(channel, (1...5).map { "new\($0)" })
        kill(pidOfA, SIGCONT)
        #expect(try await a.waitForReadiness(200, timeout: .seconds(10)), "A not healthy after it was thawed")

        let received = try await Received.events(events, count: 9, timeout: .seconds(5))
        #expect(
            received.map(\.message.text) == ["old1", "old2", "old3", "Messages missed"] + (1...5).map { "new\($0)" },
            "\(received)")
        #expect(CursorText.withoutGenerations(received.last?.id) == "hc:\(channel):5")
    }

    /// Each node writes a channel's count only when it changes (and everything every 30 s), so
    /// counts Redis lost must be written again as soon as the node is reconnected.
    @Test func subscriberCountsComeBackAfterRedisLostThem() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let events = try await HTTPStream.connect(port: a.port, "/ev/recount")
        defer { events.close() }
        try #require(try await b.waitForClusterSubscribers("recount", count: 1))

        try await bed.redis.restart()
        #expect(try await a.waitForReadiness(200, timeout: .seconds(10)), "A not healthy after Redis came back")
        #expect(try await b.waitForReadiness(200, timeout: .seconds(10)), "B not healthy after Redis came back")
        // The channel's record went with Redis's data; a publish creates it again.
        try await b.publish("recount", "again")
        let counted = try await b.waitForClusterSubscribers("recount", count: 1, timeout: .seconds(4))
        let info = try await b.channelInfoText("recount")
        #expect(counted, "4 s after Redis came back, B reports \(info)")
        // The subscriber had no message of the lost generation. If the node's repair read lands
        // after the publish, it sees another generation and tells the subscriber first, to be safe;
        // before it, the channel is just gone. Either way the new message follows, once.
        let received = try await Received.events(events, count: 1).map(\.message.text)
        #expect(
            received.filter { $0 != "Messages missed" } == ["again"], "\(RedisClusterNodeTests.redisLines(a.output))")
    }
}
