import Foundation
import HeraldTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two nodes sharing one Redis: every publishing path reaches every transport on the other node,
/// and subscriber counts are cluster-wide.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisClusterTests {
    @Test func everyPublishPathReachesEveryTransportOnTheOtherNodeOnce() async throws {
        let bed = try await RedisTestbed.start(arguments: ["--longpolling-connection-ttl", "5s"])
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let channel = "news"
        let count = 24
        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: a.port, "/ws/\(channel)")
        defer { socket.close() }
        let stream = try await HTTPStream.connect(port: a.port, "/sub/\(channel)")
        defer { stream.close() }
        let port = a.port
        async let polled = LongPoller.collect(port: port, "/lp/\(channel)", count: count, timeout: .seconds(20))
        try #require(try await a.waitForSubscribers(channel, count: 4))
        // B has no subscriber of its own: it reports A's, through Redis.
        let seen = try await b.waitForClusterSubscribers(channel, count: 4, timeout: .seconds(3))
        let info = try await b.channelInfoText(channel)
        #expect(seen, "B's channel info: \(info)")

        let library = try await LibraryPublisher.connect(to: bed.redis)
        defer { library.close() }
        var assigned: [Int] = []
        for i in 1...count {
            let text = "m\(i)"
            switch i % 4 {
            case 1: assigned.append(try Self.publishedID(try await b.publish(channel, text)))
            case 2: assigned.append(try Self.publishedID(try await a.publish(channel, text)))
            case 3: assigned.append(Int(try await library.publisher.publish(channel: channel, text: text).id))
            default: assigned.append(try await ChildCommand.heraldPublish(redis: bed.redis.url, channel, text))
            }
        }
        #expect(assigned == Array(1...count))

        let ids = Array(1...count)
        let texts = ids.map { "m\($0)" }
        let received = try await Received.events(events, count: count)
        #expect(received.map(\.message.id) == ids)
        #expect(received.map(\.message.text) == texts)
        #expect(received.map(\.id).map(CursorText.withoutGenerations) == ids.map { "hc:\(channel):\($0)" })
        let frames = try await Received.frames(socket, count: count)
        #expect(frames.map(\.id) == ids)
        #expect(frames.map(\.text) == texts)
        let scripts = try await Received.scripts(stream, count: count)
        #expect(scripts.map(\.id) == ids)
        #expect(scripts.map(\.text) == texts)
        let longPolled = try await polled
        #expect(longPolled.map(\.id) == ids)
        #expect(longPolled.map(\.text) == texts)
        #expect(try await b.lastID(channel) == count)
    }

    /// The id a `/pub` answer's channel info reports (`published_messages`).
    static func publishedID(_ response: HTTPResponse) throws -> Int {
        JSON.int(try JSON.object(response.body)["published_messages"]) ?? -1
    }

    @Test func aStoppedOrKilledNodesSubscribersVanishFromTheCounts() async throws {
        let bed = try await RedisTestbed.start(nodes: 3)
        defer { bed.stop() }
        let (a, b, c) = (bed.a, bed.b, bed.nodes[2])
        let onA = try await HTTPStream.connect(port: a.port, "/ev/dead")
        defer { onA.close() }
        let socketOnA = try await WebSocketTestClient.connect(port: a.port, "/ws/dead")
        defer { socketOnA.close() }
        let onB = try await HTTPStream.connect(port: b.port, "/ev/dead")
        defer { onB.close() }
        let onC = try await HTTPStream.connect(port: c.port, "/ev/dead")
        defer { onC.close() }
        try #require(try await b.waitForClusterSubscribers("dead", count: 4))
        #expect(try await a.waitForClusterSubscribers("dead", count: 4))

        // SIGTERM: C lets its subscriber go and takes its count with it as it leaves.
        #expect(try await c.terminate(timeout: .seconds(10)) == 0)
        #expect(try await b.waitForClusterSubscribers("dead", count: 3, timeout: .seconds(2)))

        // No goodbye: SIGKILL leaves A's counts in Redis until its heartbeat expires.
        let status = try await a.terminate(signal: SIGKILL, timeout: .seconds(5))
        #expect(status != nil)
        let killed = ContinuousClock.now
        let vanished = try await b.waitForClusterSubscribers("dead", count: 1, timeout: .seconds(8))
        let elapsed = ContinuousClock.now - killed
        let info = try await b.channelInfoText("dead")
        #expect(vanished, "B's channel info \(elapsed) after A died: \(info)")
        #expect(!onB.isClosed)
    }

    @Test func deletingOnOneNodeEndsTheOtherNodesSubscribers() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        try await b.publishAll("doomed", ["d1", "d2", "d3"])
        let events = try await HTTPStream.connect(port: a.port, "/ev/doomed")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: a.port, "/ws/doomed")
        defer { socket.close() }
        try #require(try await a.waitForSubscribers("doomed", count: 2))

        let delete = try await b.admin("DELETE", "/pub?id=doomed", body: Array("gone for good".utf8))
        #expect(delete.status == 200, "\(delete)")
        #expect(try await events.readEnd())
        #expect(try Received.events(events).map(\.message.id) == [-2])
        #expect(try Received.events(events).first?.message.text == "gone for good")
        #expect(try await socket.waitClosed())
        #expect(try Received.frames(socket).map(\.id) == [-2])
        #expect(try await a.channelInfo("doomed") == nil)

        // Re-created from id 1; a cursor from before the deletion (above the new last id) gets the
        // notice (what followed it in the old channel is gone), then all of the new one.
        try await b.publish("doomed", "reborn")
        let old = [("Last-Event-ID", "hc:doomed:3")]
        let again = try await HTTPStream.connect(port: a.port, "/ev/doomed", headers: old)
        defer { again.close() }
        let received = try await Received.events(again, count: 2)
        #expect(received.map(\.message.text) == ["Messages missed", "reborn"])
        #expect(received.map(\.id).map(CursorText.withoutGenerations) == [nil, "hc:doomed:1"])
    }
}
