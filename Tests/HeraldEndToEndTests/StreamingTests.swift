import Foundation
import HeraldTesting
import Testing

/// `/sub`: the forever-iframe stream.
@Suite struct StreamingTests {
    @Test func headerTemplateThenOneChunkPerMessage() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/sub/live")
        defer { stream.close() }
        #expect(stream.status == 200)
        #expect(stream.isChunked)
        #expect(stream.head.headers["Content-Length"] == nil)
        #expect(stream.head.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(stream.head.headers["Cache-Control"] == "no-cache, no-store, must-revalidate")
        #expect(stream.head.headers["Expires"] == "Thu, 01 Jan 1970 00:00:01 GMT")
        #expect(try await stream.readUntil { $0.chunks.count >= 1 })
        let header = String(decoding: stream.chunks.first ?? [], as: UTF8.self)
        #expect(header.hasPrefix("<html>"))
        #expect(header.contains("parent.PushStream.register(this);"))
        try #require(try await node.waitForSubscribers("live", count: 1))

        try await node.publish("live", "one", eventID: "ev-1")
        try await node.publish("live", "two")
        #expect(try await stream.readUntil { $0.chunks.count >= 3 })
        let first = String(decoding: stream.chunks[1], as: UTF8.self)
        #expect(first.hasPrefix("<script>p(1,'live','one','ev-1', '"))
        #expect(first.hasSuffix("');</script>"))
        let messages = ScriptMessage.all(in: stream.text)
        #expect(messages.map(\.id) == [1, 2])
        #expect(messages.map(\.text) == ["one", "two"])
        #expect(messages.map(\.eventID) == ["ev-1", ""])
        // The tag counts a second's messages. In the second the channel was made, it counts on from
        // the microsecond its generation began (docs/PROTOCOL.md), so only its order is fixed here.
        try #require(messages.count == 2)
        let tags = messages.compactMap(\.tag)
        #expect(tags.count == 2 && tags.allSatisfy { $0 >= 1 }, "\(messages)")
        if messages[0].time == messages[1].time {
            #expect(tags == [tags[0], tags[0] + 1], "\(messages)")
        } else {
            #expect(tags.last == 1, "\(messages)")
        }
        #expect(!stream.ended)
    }

    @Test func backtrackAndMultipleChannels() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        for i in 1...5 { try await node.publish("x", "x\(i)") }
        try await node.publish("y", "y1")
        let stream = try await HTTPStream.connect(port: node.port, "/sub/x.b2/y.b1/z")
        defer { stream.close() }
        #expect(try await stream.readUntil { ScriptMessage.all(in: $0.text).count >= 3 })
        try #require(try await node.waitForSubscribers("z", count: 1))
        try await node.publish("z", "z1")
        #expect(try await stream.readUntil { ScriptMessage.all(in: $0.text).count >= 4 })
        let messages = ScriptMessage.all(in: stream.text)
        #expect(messages.map(\.text) == ["x4", "x5", "y1", "z1"])
        #expect(messages.map(\.channel) == ["x", "x", "y", "z"])
    }

    @Test func http10StreamIsUnchunkedAndClosesAtTheEnd() async throws {
        let node = try await HeraldProcess.start(["--subscriber-connection-ttl", "1s"])
        defer { node.stop() }
        try await node.publish("old", "stored")
        let stream = try await HTTPStream.connect(port: node.port, "/sub/old.b1", version: "HTTP/1.0")
        #expect(stream.status == 200)
        #expect(!stream.isChunked)
        #expect(try await stream.readEnd(timeout: .seconds(5)))
        #expect(ScriptMessage.all(in: stream.text).map(\.text) == ["stored"])
        #expect(stream.text.hasSuffix("</body></html>"))
        #expect(!stream.text.contains("\r\n0\r\n"))
    }

    @Test func urlEncodedChannelNames() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/sub/a%20b")
        defer { stream.close() }
        try #require(try await node.waitForSubscribers("a b", count: 1))
        try await node.publish("a b", "spaced")
        #expect(try await stream.readUntil { ScriptMessage.all(in: $0.text).count >= 1 })
        #expect(ScriptMessage.all(in: stream.text).first?.channel == "a b")
    }

    @Test func refusalsAreHeaderOnlyWithExplain() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let cases: [(String, Int, String)] = [
            ("/sub/ALL", 403, "Channel id not authorized for this method."),
            ("/sub/a*b", 403, "Channel id not authorized for this method."),
            ("/sub/", 400, "No channel id provided."),
            ("/ev", 400, "No channel id provided."),
            ("/lp/" + String(repeating: "z", count: 201), 400, "Channel id is too large."),
        ]
        for (path, status, explain) in cases {
            let response = try await node.get(path)
            #expect(response.status == status, "\(path)")
            #expect(response.explain == explain, "\(path)")
            #expect(response.body.isEmpty, "\(path)")
        }
        let post = try await node.request("POST", "/sub/ch", body: Array("x".utf8))
        #expect(post.status == 405)
        #expect(post.headers["Allow"] == "GET")
        #expect(try await node.get("/nowhere/ch").status == 404)
    }
}
