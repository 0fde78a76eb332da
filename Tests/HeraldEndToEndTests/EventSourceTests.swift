import Foundation
import HeraldTesting
import Testing

/// `/ev`: Server-Sent Events.
@Suite struct EventSourceTests {
    @Test func commentHeaderThenEventsWithCursorIDsAndTypes() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/ev/feed")
        defer { stream.close() }
        #expect(stream.status == 200)
        #expect(stream.head.headers["Content-Type"] == "text/event-stream; charset=utf-8")
        #expect(stream.isChunked)
        #expect(try await stream.readUntil { !$0.body.isEmpty })
        #expect(stream.text.hasPrefix(": \n"))
        try #require(try await node.waitForSubscribers("feed", count: 1))

        try await node.publish("feed", "hello", eventID: "e1", eventType: "greeting")
        try await node.publish("feed", "plain")
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 2 })
        let events = SSEParser(stream.body).dataEvents
        #expect(events.map(\.id).map(CursorText.withoutGenerations) == ["hc:feed:1", "hc:feed:2"])
        // Each id names the channel's generation: the time it was created, in microseconds.
        let generations = events.flatMap { CursorText.generations($0.id) }
        #expect(generations.count == 2 && Set(generations).count == 1)
        #expect(generations.allSatisfy { abs($0 / 1_000_000 - Int64(Date().timeIntervalSince1970)) < 60 })
        #expect(events.map(\.event) == ["greeting", nil])
        let first = try PushMessage.decode(events[0].data)
        #expect(first.id == 1)
        #expect(first.channel == "feed")
        #expect(first.text == "hello")
        #expect(first.eventID == "e1")
        // In the second the channel was made, tags count on from the microsecond it was made at.
        let second = try #require(HTTPDates.parse(first.time)).timeIntervalSince1970
        let generation = try #require(generations.first)
        let madeInThatSecond = Int64(second) == generation / 1_000_000
        #expect(first.tag == String(madeInThatSecond ? generation % 1_000_000 + 1 : 1), "\(first) \(generation)")
        // The id line comes first, then event, then data, then a blank line.
        #expect(
            CursorText.withoutGenerations(inText: stream.text).contains(
                "id: hc:feed:1\nevent: greeting\ndata: {\"id\":1,\"channel\":\"feed\",\"text\":\"hello\""))
        #expect(events.allSatisfy { $0.dataLines.count == 1 })
    }

    @Test func severalChannelsCarryTheWholeCursor() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/ev/a/b")
        defer { stream.close() }
        try #require(try await node.waitForSubscribers("b", count: 1))
        try await node.publish("a", "a1")
        try await node.publish("b", "b1")
        try await node.publish("a", "a2")
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 3 })
        let events = SSEParser(stream.body).dataEvents
        #expect(events.map(\.id).map(CursorText.withoutGenerations) == ["hc:a:1,b:0", "hc:a:1,b:1", "hc:a:2,b:1"])
        #expect(try events.map { try PushMessage.decode($0.data).text } == ["a1", "b1", "a2"])
    }

    @Test func encodedChannelNamesArePercentEncodedInTheCursor() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/ev/a%20b%3Ac")
        defer { stream.close() }
        try #require(try await node.waitForSubscribers("a b:c", count: 1))
        try await node.publish("a b:c", "x")
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        let event = try #require(SSEParser(stream.body).dataEvents.first)
        #expect(CursorText.withoutGenerations(event.id) == "hc:a%20b%3Ac:1")
        #expect(try PushMessage.decode(event.data).channel == "a b:c")

        let accented = try await HTTPStream.connect(port: node.port, "/ev/%C3%A9t%C3%A9")
        defer { accented.close() }
        try #require(try await node.waitForSubscribers("été", count: 1))
        try await node.publish("été", "chaud")
        #expect(try await accented.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        #expect(CursorText.withoutGenerations(SSEParser(accented.body).dataEvents.first?.id) == "hc:%C3%A9t%C3%A9:1")
    }

    @Test func multiLineTextStaysOneValidJSONDataLine() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publish("lines", "line 1\nline 2\r\nline 3")
        let stream = try await HTTPStream.connect(port: node.port, "/ev/lines.b1")
        defer { stream.close() }
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        let event = try #require(SSEParser(stream.body).dataEvents.first)
        #expect(event.dataLines.count == 1)
        #expect(try PushMessage.decode(event.data).text == "line 1\nline 2\r\nline 3")
    }

    @Test func eventSourceTemplateOptionIsUsed() async throws {
        let node = try await HeraldProcess.start([
            "--eventsource-message-template", "~id~|~text~", "--eventsource-header-template", "hi\nthere",
        ])
        defer { node.stop() }
        try await node.publish("t", "a\nb")
        let stream = try await HTTPStream.connect(port: node.port, "/ev/t.b1")
        defer { stream.close() }
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        let parser = SSEParser(stream.body)
        #expect(parser.comments == ["hi", "there"])
        // A non-JSON template is applied per line of the text (push-stream's rule).
        #expect(parser.dataEvents.first?.dataLines == ["1|a", "1|b"])
    }

    @Test func http10EventStreamIsUnchunkedWithCursors() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publish("a", "a1")
        try await node.publish("b", "b1")
        let stream = try await HTTPStream.connect(port: node.port, "/ev/a.b1/b.b1", version: "HTTP/1.0")
        defer { stream.close() }
        #expect(stream.status == 200)
        #expect(!stream.isChunked)
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 2 })
        #expect(stream.text.hasPrefix(": \n"))
        #expect(
            SSEParser(stream.body).dataEvents.map(\.id).map(CursorText.withoutGenerations) == [
                "hc:a:1,b:0", "hc:a:1,b:1",
            ])
        #expect(try SSEParser(stream.body).dataEvents.map { try PushMessage.decode($0.data).text } == ["a1", "b1"])
    }
}
