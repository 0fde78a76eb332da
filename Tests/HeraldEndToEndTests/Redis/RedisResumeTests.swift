import Foundation
import HeraldTesting
import Testing

/// A subscriber that leaves one node resumes on another from the shared backlog.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisResumeTests {
    @Test func multiChannelResumeIsInPublishOrderOnEveryTransport() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        try await ResumeTests.multiChannelResumeInPublishOrder(publisher: bed.b, subscriber: bed.a, prefix: "order-")
    }

    @Test func eventSourceResumesOnTheOtherNodeWithExactlyTheRest() async throws {
        let bed = try await RedisTestbed.start(arguments: ["--max-messages-stored-per-channel", "5"])
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let first = try await HTTPStream.connect(port: a.port, "/ev/hop")
        try #require(try await a.waitForSubscribers("hop", count: 1))
        try await b.publishAll("hop", ["h1", "h2", "h3"])
        let before = try await Received.events(first, count: 3, settle: .zero)
        first.close()
        let cursor = try #require(before.last?.id)
        #expect(CursorText.withoutGenerations(cursor) == "hc:hop:3")

        try await a.publishAll("hop", ["h4", "h5"])
        let second = try await HTTPStream.connect(port: b.port, "/ev/hop", headers: [("Last-Event-ID", cursor)])
        defer { second.close() }
        #expect(second.status == 200)
        #expect(try await Received.events(second, count: 2, settle: .zero).count == 2)
        try #require(try await b.waitForSubscribers("hop", count: 1))
        try await a.publish("hop", "h6")
        let after = try await Received.events(second, count: 3)
        #expect(after.map(\.message.text) == ["h4", "h5", "h6"], "\(after)")
        #expect(after.map(\.id).map(CursorText.withoutGenerations) == ["hc:hop:4", "hc:hop:5", "hc:hop:6"])
    }

    @Test func aCursorOlderThanTheBacklogGetsTheNoticeFirst() async throws {
        let bed = try await RedisTestbed.start(arguments: ["--max-messages-stored-per-channel", "5"])
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let first = try await HTTPStream.connect(port: a.port, "/ev/old")
        try #require(try await a.waitForSubscribers("old", count: 1))
        try await a.publishAll("old", ["o1", "o2"])
        let cursor = try #require(try await Received.events(first, count: 2, settle: .zero).last?.id)
        first.close()
        #expect(CursorText.withoutGenerations(cursor) == "hc:old:2")

        // Ten more: the backlog keeps 8…12; 3…7 are gone.
        try await b.publishAll("old", (3...12).map { "o\($0)" })
        let second = try await HTTPStream.connect(port: b.port, "/ev/old", headers: [("Last-Event-ID", cursor)])
        defer { second.close() }
        let received = try await Received.events(second, count: 6)
        #expect(received.map(\.message.id) == [-4, 8, 9, 10, 11, 12], "\(received)")
        #expect(received.first?.message.text == "Messages missed")
        #expect(received.first?.id == nil)
        #expect(received.dropFirst().map(\.id).map(CursorText.withoutGenerations) == (8...12).map { "hc:old:\($0)" })

        // The same from a long-poll on A with the cursor as If-None-Match.
        let polled = try await a.get(
            "/lp/old", headers: [("X-Nginx-PushStream-Mode", "polling"), ("If-None-Match", cursor)])
        #expect(try PushMessage.decodeConcatenated(polled.body).map(\.id) == [-4, 8, 9, 10, 11, 12])
    }

    /// Many subscribers arriving at once, each on a channel new to the node (a reconnect storm):
    /// the node reads the channels' backlogs together, and each subscriber gets its own channel's
    /// stored messages, then its live ones, none of another's.
    @Test func subscribersArrivingTogetherEachCatchUpFromTheirOwnBacklog() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let channels = (0..<60).map { "storm\($0)" }
        for channel in channels { try await bed.b.publishAll(channel, ["\(channel)-1", "\(channel)-2"]) }
        let streams = try await withThrowingTaskGroup(of: (Int, HTTPStream).self) { group in
            for (index, channel) in channels.enumerated() {
                group.addTask { (index, try await HTTPStream.connect(port: bed.a.port, "/ev/\(channel).b2")) }
            }
            var streams: [HTTPStream?] = Array(repeating: nil, count: channels.count)
            for try await (index, stream) in group { streams[index] = stream }
            return streams.compactMap { $0 }
        }
        defer { for stream in streams { stream.close() } }
        for (channel, stream) in zip(channels, streams) {
            let stored = try await Received.events(stream, count: 2, settle: .zero)
            #expect(stored.map(\.message.text) == ["\(channel)-1", "\(channel)-2"])
        }
        for channel in channels { try #require(try await bed.a.waitForSubscribers(channel, count: 1)) }
        for channel in channels { try await bed.b.publish(channel, "\(channel)-3") }
        for (channel, stream) in zip(channels, streams) {
            let all = try await Received.events(stream, count: 3, settle: .zero)
            #expect(all.map(\.message.text) == ["\(channel)-1", "\(channel)-2", "\(channel)-3"])
        }
    }
}
