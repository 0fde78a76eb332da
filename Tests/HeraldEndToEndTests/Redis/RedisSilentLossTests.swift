import Foundation
import HeraldTesting
import Testing

/// The fifth delivery invariant on the Redis engine: resume points from before a Redis restart
/// that lost its data, or older than the backlog, are reported with the id -4 notice, never
/// skipped quietly; long-pollers that follow the validators they are given miss nothing.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisSilentLossTests {
    /// A subscriber at id 5 while 6…10 are published; then Redis restarts empty and `fresh` new
    /// messages are published. Returns the bed and the subscriber's cursor.
    /// With `inOneSecond`, the old messages open a fresh second, so the restart usually falls
    /// within the second of the client's last message: the case a second alone cannot place.
    static func cursorAcrossARestart(
        fresh: Int, inOneSecond: Bool = false
    ) async throws -> (RedisTestbed, cursor: String, since: PushMessage) {
        let bed = try await RedisTestbed.start()
        do {
            let (a, b) = (bed.a, bed.b)
            if inOneSecond { try await WallClock.sleepUntilTheNextSecond() }
            let events = try await HTTPStream.connect(port: a.port, "/ev/gen")
            defer { events.close() }
            try #require(try await a.waitForSubscribers("gen", count: 1))
            try await b.publishAll("gen", (1...5).map { "old\($0)" })
            let received = try await Received.events(events, count: 5, settle: .zero)
            let cursor = try #require(received.last?.id)
            events.close()
            try await b.publishAll("gen", (6...10).map { "old\($0)" })
            // The restart may well fall in the second of the client's last message.
            try await bed.redis.restart()
            #expect(try await b.waitForReadiness(200, timeout: .seconds(10)), "B not healthy after Redis came back")
            #expect(try await a.waitForReadiness(200, timeout: .seconds(10)), "A not healthy after Redis came back")
            try await b.publishAll("gen", (1...fresh).map { "new\($0)" })
            return (bed, cursor, received[4].message)
        } catch {
            bed.stop()
            throw error
        }
    }

    @Test(arguments: [3, 8])
    func aCursorFromBeforeARestartIsReported(fresh: Int) async throws {
        let (bed, cursor, _) = try await Self.cursorAcrossARestart(fresh: fresh)
        defer { bed.stop() }
        let expected = ["Messages missed"] + (1...fresh).map { "new\($0)" }
        let events = try await HTTPStream.connect(port: bed.a.port, "/ev/gen", headers: [("Last-Event-ID", cursor)])
        defer { events.close() }
        let received = try await Received.events(events, count: fresh + 1)
        #expect(received.map(\.message.text) == expected, "\(received)")

        let polled = try await bed.b.get(
            "/lp/gen", headers: [("X-Nginx-PushStream-Mode", "polling"), ("If-None-Match", cursor)])
        #expect(try PushMessage.decodeConcatenated(polled.body).map(\.text) == expected)
    }

    @Test func aTimeAndTagFromBeforeARestartIsReported() async throws {
        let (bed, _, since) = try await Self.cursorAcrossARestart(fresh: 8, inOneSecond: true)
        defer { bed.stop() }
        let polled = try await bed.a.get(
            "/lp/gen", headers: [("If-Modified-Since", since.time), ("If-None-Match", "W/\(since.tag)")])
        #expect(try PushMessage.decodeConcatenated(polled.body).map(\.id) == [-4] + Array(1...8), "\(polled)")
    }

    @Test func aTimeAndTagFromBeforeADeleteInTheSameSecondGetsTheNotice() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        try await ResumeTests.timeAndTagAcrossADeleteInOneSecond(publisher: bed.b, subscriber: bed.a)
    }

    @Test func longPollResumeByTimeAndTagReportsWhatLeftTheBacklog() async throws {
        let bed = try await RedisTestbed.start(arguments: ["--max-messages-stored-per-channel", "10"])
        defer { bed.stop() }
        try await bed.b.publish("trim", "m1")
        let first = try await bed.a.get("/lp/trim.b1")
        let since = try #require(first.headers["Last-Modified"])
        let etag = try #require(first.headers["Etag"])
        try await bed.b.publishAll("trim", (2...16).map { "m\($0)" })
        let polled = try await bed.a.get(
            "/lp/trim", headers: [("If-Modified-Since", since), ("If-None-Match", etag)])
        #expect(try PushMessage.decodeConcatenated(polled.body).map(\.id) == [-4] + Array(7...16), "\(polled)")
    }

    /// Long-pollers on both nodes follow their validators while messages keep coming and Redis
    /// restarts empty: each ends with every message published after the restart, in order.
    @Test func longPollersThroughARestartUnderLoadGetEverythingPublishedAfterIt() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let after = (1...30).map { "after\($0)" }
        let pollers = [a.port, b.port].map { port in
            Task { try await LongPoller.collect(port: port, "/lp/load", until: "after30", timeout: .seconds(30)) }
        }
        // Counts are cluster-wide with Redis: one poller on each node makes two.
        try #require(try await a.waitForClusterSubscribers("load", count: 2, timeout: .seconds(10)))
        for i in 1...20 {
            try await b.publish("load", "before\(i)")
            try await Task.sleep(for: .milliseconds(20))
        }
        try await bed.redis.restart()
        #expect(try await b.waitForReadiness(200, timeout: .seconds(10)), "B not healthy after Redis came back")
        for text in after {
            try await b.publish("load", text)
            try await Task.sleep(for: .milliseconds(20))
        }
        for (index, poller) in pollers.enumerated() {
            let texts = try await poller.value.map(\.text)
            let fromRestart = texts.filter { $0.hasPrefix("after") }
            #expect(fromRestart == after, "node \(index): \(texts)\n\(bed.logs.suffix(3_000))")
            #expect(texts.contains("Messages missed"), "node \(index): \(texts)")
        }
    }
}
