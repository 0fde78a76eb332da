import Foundation
import HeraldTesting
import Testing

/// Reconnecting without loss or duplicates: cursors, event ids, time+tag, arguments, backtrack.
@Suite struct ResumeTests {
    static func texts(_ stream: HTTPStream) throws -> [String] {
        try SSEParser(stream.body).dataEvents.map { try PushMessage.decode($0.data).text }
    }

    @Test func eventSourceReconnectWithLastEventIDGetsExactlyTheRest() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let first = try await HTTPStream.connect(port: node.port, "/ev/r")
        try #require(try await node.waitForSubscribers("r", count: 1))
        try await node.publishAll("r", ["1", "2", "3"])
        #expect(try await first.readUntil { SSEParser($0.body).dataEvents.count >= 3 })
        let lastID = try #require(SSEParser(first.body).dataEvents.last?.id)
        #expect(CursorText.withoutGenerations(lastID) == "hc:r:3")
        first.close()

        try await node.publishAll("r", ["4", "5"])
        let second = try await HTTPStream.connect(port: node.port, "/ev/r", headers: [("Last-Event-ID", lastID)])
        defer { second.close() }
        #expect(try await second.readUntil { SSEParser($0.body).dataEvents.count >= 2 })
        try #require(try await node.waitForSubscribers("r", count: 1))
        try await node.publish("r", "6")
        #expect(try await second.readUntil { SSEParser($0.body).dataEvents.count >= 3 })
        try await second.drain(for: .milliseconds(200))
        #expect(try Self.texts(second) == ["4", "5", "6"])
        #expect(
            SSEParser(second.body).dataEvents.map(\.id).map(CursorText.withoutGenerations) == [
                "hc:r:4", "hc:r:5", "hc:r:6",
            ])
    }

    @Test func twoChannelCursorResumesEachChannel() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let first = try await HTTPStream.connect(port: node.port, "/ev/a/b")
        try #require(try await node.waitForSubscribers("b", count: 1))
        try await node.publish("a", "a1")
        try await node.publish("b", "b1")
        try await node.publish("a", "a2")
        #expect(try await first.readUntil { SSEParser($0.body).dataEvents.count >= 3 })
        let cursor = try #require(SSEParser(first.body).dataEvents.last?.id)
        #expect(CursorText.withoutGenerations(cursor) == "hc:a:2,b:1")
        first.close()

        try await node.publish("b", "b2")
        try await node.publish("a", "a3")
        try await node.publish("b", "b3")
        let second = try await HTTPStream.connect(port: node.port, "/ev/a/b", headers: [("Last-Event-ID", cursor)])
        defer { second.close() }
        #expect(try await second.readUntil { SSEParser($0.body).dataEvents.count >= 3 })
        try await second.drain(for: .milliseconds(200))
        #expect(try Self.texts(second) == ["b2", "a3", "b3"])
        #expect(CursorText.withoutGenerations(SSEParser(second.body).dataEvents.last?.id) == "hc:a:3,b:3")
    }

    /// `b2, a3, b3` are published in that order while a subscriber to both channels is away: every
    /// transport's resume delivers them in that order, as they came live, not channel by channel.
    static func multiChannelResumeInPublishOrder(
        publisher: HeraldProcess, subscriber: HeraldProcess, prefix: String
    ) async throws {
        let (a, b) = ("\(prefix)a", "\(prefix)b")
        func texts(_ body: [UInt8]) throws -> [String] {
            try PushMessage.decodeConcatenated(body).map { String($0.text.dropFirst(prefix.count)) }
        }
        let first = try await HTTPStream.connect(port: subscriber.port, "/ev/\(a)/\(b)")
        try #require(try await subscriber.waitForSubscribers(b, count: 1))
        for (channel, text) in [(a, "a1"), (b, "b1"), (a, "a2")] { try await publisher.publish(channel, prefix + text) }
        #expect(try await first.readUntil { SSEParser($0.body).dataEvents.count >= 3 })
        let cursor = try #require(SSEParser(first.body).dataEvents.last?.id)
        first.close()
        for (channel, text) in [(b, "b2"), (a, "a3"), (b, "b3")] { try await publisher.publish(channel, prefix + text) }
        let missed = ["b2", "a3", "b3"]
        let all = ["a1", "b1", "a2"] + missed

        let events = try await HTTPStream.connect(
            port: subscriber.port, "/ev/\(a)/\(b)", headers: [("Last-Event-ID", cursor)])
        defer { events.close() }
        #expect(try await events.readUntil { SSEParser($0.body).dataEvents.count >= 3 })
        try await events.drain(for: .milliseconds(100))
        #expect(try Self.texts(events).map { String($0.dropFirst(prefix.count)) } == missed, "EventSource")
        let longPoll = try await subscriber.get("/lp/\(a)/\(b)", headers: [("If-None-Match", cursor)])
        #expect(try texts(longPoll.body) == missed, "long-poll")
        let polled = try await subscriber.get(
            "/lp/\(a)/\(b)", headers: [("If-None-Match", cursor), ("X-Nginx-PushStream-Mode", "polling")])
        #expect(try texts(polled.body) == missed, "polling")

        let backtrack = "/\(a).b9/\(b).b9"
        let stream = try await HTTPStream.connect(port: subscriber.port, "/sub" + backtrack)
        defer { stream.close() }
        let socket = try await WebSocketTestClient.connect(port: subscriber.port, "/ws" + backtrack)
        defer { socket.close() }
        #expect(try await stream.readUntil { ScriptMessage.all(in: $0.text).count >= 6 })
        #expect(ScriptMessage.all(in: stream.text).map { String($0.text.dropFirst(prefix.count)) } == all, "stream")
        #expect(try await socket.readTextFrames(6))
        let frames = try socket.textFrames.map { try PushMessage.decode($0.payload).text }
        #expect(frames.map { String($0.dropFirst(prefix.count)) } == all, "WebSocket")
        let polledBack = try await subscriber.get("/lp" + backtrack, headers: [("X-Nginx-PushStream-Mode", "polling")])
        #expect(try texts(polledBack.body) == all, "polling backtrack")
    }

    @Test func multiChannelResumeIsInPublishOrderOnEveryTransport() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await Self.multiChannelResumeInPublishOrder(publisher: node, subscriber: node, prefix: "order-")
    }

    @Test func publisherEventIDAsLastEventID() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        for i in 1...3 { try await node.publish("e", "m\(i)", eventID: "evt-\(i)") }
        let stream = try await HTTPStream.connect(port: node.port, "/ev/e", headers: [("Last-Event-ID", "evt-2")])
        defer { stream.close() }
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        try await stream.drain(for: .milliseconds(200))
        #expect(try Self.texts(stream) == ["m3"])
    }

    @Test func ifModifiedSinceAndIfNoneMatchOnEventSourceAndWebSocket() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publishAll("t", ["t1", "t2", "t3", "t4"])
        let stored = try PushMessage.decodeConcatenated(try await node.get("/lp/t.b4").body)
        let second = stored[1]
        let headers = [("If-Modified-Since", second.time), ("If-None-Match", second.tag)]
        let stream = try await HTTPStream.connect(port: node.port, "/ev/t", headers: headers)
        defer { stream.close() }
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 2 })
        try await stream.drain(for: .milliseconds(200))
        #expect(try Self.texts(stream) == ["t3", "t4"])

        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/t", extraHeaders: headers)
        defer { socket.close() }
        #expect(try await socket.readTextFrames(2))
        #expect(try socket.textFrames.map { try PushMessage.decode($0.payload).text } == ["t3", "t4"])
    }

    @Test func messagesControlByArgument() async throws {
        let node = try await HeraldProcess.start(["--messages-control-by-argument"])
        defer { node.stop() }
        for i in 1...3 { try await node.publish("q", "q\(i)", eventID: "id-\(i)") }
        let stored = try PushMessage.decodeConcatenated(try await node.get("/lp/q.b3").body)
        let first = stored[0]

        let byTime = try await node.get("/lp/q?time=\(Query.encode(first.time))&tag=\(first.tag)")
        #expect(try PushMessage.decodeConcatenated(byTime.body).map(\.text) == ["q2", "q3"])
        let byUnixTime = try await node.get(
            "/lp/q?time=\(Int(HTTPDates.parse(first.time)?.timeIntervalSince1970 ?? 0))&tag=\(first.tag)")
        #expect(try PushMessage.decodeConcatenated(byUnixTime.body).map(\.text) == ["q2", "q3"])
        let byCursor = try await node.get("/lp/q?tag=\(Query.encode("hc:q:2"))")
        #expect(try PushMessage.decodeConcatenated(byCursor.body).map(\.text) == ["q3"])

        let stream = try await HTTPStream.connect(port: node.port, "/ev/q?eventid=id-1")
        defer { stream.close() }
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 2 })
        #expect(try Self.texts(stream) == ["q2", "q3"])

        // Headers are ignored when arguments control resuming.
        let polling = [("X-Nginx-PushStream-Mode", "polling"), ("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")]
        #expect(try await node.get("/lp/q", headers: polling).status == 304)
        // Without the option, the arguments are ignored (and the header counts).
        let plain = try await HeraldProcess.start()
        defer { plain.stop() }
        try await plain.publish("q", "only")
        #expect(
            try await plain.get(
                "/lp/q?time=Thu%2C%2001%20Jan%201970%2000%3A00%3A00%20GMT",
                headers: [("X-Nginx-PushStream-Mode", "polling")]
            ).status == 304)
    }

    @Test func cursorOlderThanTheBacklogGetsTheMissedNoticeFirst() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publishAll("long", (1...150).map { "m\($0)" })
        #expect(JSON.int(try JSON.object(try await node.admin("GET", "/pub?id=long").body)["stored_messages"]) == 100)

        let stream = try await HTTPStream.connect(
            port: node.port, "/ev/long", headers: [("Last-Event-ID", "hc:long:10")])
        defer { stream.close() }
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 101 })
        let messages = try SSEParser(stream.body).dataEvents.map { try PushMessage.decode($0.data) }
        #expect(messages.first?.id == -4)
        #expect(messages.first?.text == "Messages missed")
        #expect(messages.first?.channel == "long")
        #expect(messages.dropFirst().map(\.id) == Array(51...150))

        let poll = try await node.get("/lp/long", headers: [("If-None-Match", "hc:long:10")])
        let polled = try PushMessage.decodeConcatenated(poll.body)
        #expect(polled.map(\.id) == [-4] + Array(51...150))

        // A cursor inside the backlog has nothing missed.
        let inside = try await node.get("/lp/long", headers: [("If-None-Match", "hc:long:140")])
        #expect(try PushMessage.decodeConcatenated(inside.body).map(\.id) == Array(141...150))
    }

    @Test func backtrackOnEveryTransport() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publishAll("bt", ["1", "2", "3", "4", "5"])
        let events = try await HTTPStream.connect(port: node.port, "/ev/bt.b2")
        defer { events.close() }
        let stream = try await HTTPStream.connect(port: node.port, "/sub/bt.b3")
        defer { stream.close() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/bt.b1")
        defer { socket.close() }
        #expect(try await events.readUntil { SSEParser($0.body).dataEvents.count >= 2 })
        #expect(try await stream.readUntil { ScriptMessage.all(in: $0.text).count >= 3 })
        #expect(try await socket.readTextFrames(1))
        try await events.drain(for: .milliseconds(150))
        #expect(try Self.texts(events) == ["4", "5"])
        #expect(ScriptMessage.all(in: stream.text).map(\.text) == ["3", "4", "5"])
        #expect(try socket.textFrames.map { try PushMessage.decode($0.payload).text } == ["5"])
        // A channel named like a backtrack but without digits is just a name.
        try await node.publish("bt.b", "literal")
        let literal = try await node.get("/lp/bt.b", headers: [("If-None-Match", "hc:bt.b:0")])
        #expect(try PushMessage.decodeConcatenated(literal.body).map(\.channel) == ["bt.b"])
    }

    /// A cursor id beyond the re-created channel's last one can only come from the old incarnation,
    /// whose messages after it are gone: the notice, then the new ids from 1.
    @Test func cursorFromADeletedChannelStartsOverAfterTheNotice() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publishAll("phoenix", ["1", "2", "3", "4", "5"])
        #expect(try await node.admin("DELETE", "/pub?id=phoenix").status == 200)
        try await node.publishAll("phoenix", ["new 1", "new 2"])
        let poll = try await node.get("/lp/phoenix", headers: [("If-None-Match", "hc:phoenix:5")])
        #expect(try PushMessage.decodeConcatenated(poll.body).map(\.text) == ["Messages missed", "new 1", "new 2"])
    }

    /// A channel deleted and made again within the second of the last message a time/tag client
    /// saw: its resume point is still known to be of the earlier generation, on `subscriber`
    /// (with Redis, a node other than `publisher`).
    static func timeAndTagAcrossADeleteInOneSecond(publisher: HeraldProcess, subscriber: HeraldProcess) async throws {
        try await WallClock.sleepUntilTheNextSecond()
        try await publisher.publishAll("again", ["old 1", "old 2"])
        let seen = try #require(try PushMessage.decodeConcatenated(try await subscriber.get("/lp/again.b1").body).last)
        #expect(try await publisher.admin("DELETE", "/pub?id=again").status == 200)
        try await publisher.publishAll("again", ["new 1", "new 2"])
        let expected = ["Messages missed", "new 1", "new 2"]
        let poll = try await subscriber.get(
            "/lp/again", headers: [("If-Modified-Since", seen.time), ("If-None-Match", "W/\(seen.tag)")])
        #expect(try PushMessage.decodeConcatenated(poll.body).map(\.text) == expected, "\(seen) \(poll)")
        let jsonp = try await subscriber.get(
            "/jsonp/again?time=\(Query.encode(seen.time))&tag=\(seen.tag)&callback=cb")
        #expect(jsonp.text.contains("Messages missed") && jsonp.text.contains("new 2"), "\(jsonp)")
        #expect(!jsonp.text.contains("old 2"), "\(jsonp)")
    }

    @Test func aTimeAndTagFromBeforeADeleteInTheSameSecondGetsTheNotice() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await Self.timeAndTagAcrossADeleteInOneSecond(publisher: node, subscriber: node)
    }

    @Test func expiredMessagesAreNotReplayedAndTheCursorGetsANotice() async throws {
        let node = try await HeraldProcess.start(["--message-ttl", "1s"])
        defer { node.stop() }
        try await node.publishAll("fading", ["a", "b"])
        try await Task.sleep(for: .milliseconds(2200))
        let info = try JSON.object(try await node.admin("GET", "/pub?id=fading").body)
        #expect(JSON.int(info["stored_messages"]) == 0)
        #expect(JSON.int(info["published_messages"]) == 2)
        // Nothing is stored, yet a message was published: a backtrack into it gets the notice alone.
        let backtrack = try await node.get("/lp/fading.b5", headers: [("X-Nginx-PushStream-Mode", "polling")])
        #expect(try PushMessage.decodeConcatenated(backtrack.body).map(\.id) == [-4])
        let poll = try await node.get(
            "/lp/fading", headers: [("If-None-Match", "hc:fading:1"), ("X-Nginx-PushStream-Mode", "polling")])
        #expect(try PushMessage.decodeConcatenated(poll.body).map(\.id) == [-4])
        // Ids keep counting after expiry (read from the channel info: with a 1 s time to live, the
        // message itself may be gone again by the time a poll asks for it).
        try await node.publish("fading", "c")
        let after = try JSON.object(try await node.admin("GET", "/pub?id=fading").body)
        #expect(JSON.int(after["published_messages"]) == 3)
    }
}
