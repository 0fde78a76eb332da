import Foundation
import HeraldTesting
import Testing

/// Header, message and footer templates per mode.
@Suite struct TemplateTests {
    @Test func customJSONTemplateEscapesEveryStringPlaceholder() async throws {
        let node = try await HeraldProcess.start([
            "--message-template",
            #"{"n":~id~,"t":"~text~","c":"~channel~","e":"~event-id~","y":"~event-type~","s":~size~}"#,
        ])
        defer { node.stop() }
        try await node.publish("ch\"x", "a \"quoted\"\ntext", eventID: "e\\1", eventType: "ty\"pe")
        let body = try await node.get("/lp/ch%22x.b1").body
        let object = try JSON.object(body)
        #expect(JSON.int(object["n"]) == 1)
        #expect(object["t"] as? String == "a \"quoted\"\ntext")
        #expect(object["c"] as? String == "ch\"x")
        #expect(object["e"] as? String == "e\\1")
        #expect(object["y"] as? String == "ty\"pe")
        #expect(JSON.int(object["s"]) == 15)
    }

    @Test func nonJSONTemplateIsVerbatim() async throws {
        let node = try await HeraldProcess.start(["--longpolling-message-template", "<~id~> ~text~|"])
        defer { node.stop() }
        try await node.publishAll("raw", ["say \"hi\"", "x\\y"])
        #expect(try await node.get("/lp/raw.b2").text == "<1> say \"hi\"|<2> x\\y|")
    }

    @Test func longPollingHeaderAndFooterWrapTheMessages() async throws {
        let node = try await HeraldProcess.start([
            "--longpolling-header-template", "<begin>", "--longpolling-footer-template", "<end>",
            "--longpolling-message-template", "~text~;",
        ])
        defer { node.stop() }
        try await node.publishAll("hf", ["a", "b"])
        #expect(try await node.get("/lp/hf.b2").text == "<begin>a;b;<end>")
    }

    @Test func webSocketHeaderAndFooterAreTheirOwnFrames() async throws {
        let node = try await HeraldProcess.start([
            "--websocket-header-template", "HELLO", "--websocket-footer-template", "GOODBYE",
            "--websocket-message-template", "~id~:~text~",
        ])
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/framed")
        defer { socket.close() }
        #expect(try await socket.readTextFrames(1))
        try #require(try await node.waitForSubscribers("framed", count: 1))
        try await node.publish("framed", "msg")
        #expect(try await socket.readTextFrames(2))
        #expect(try await node.admin("DELETE", "/pub?id=framed").status == 200)
        #expect(try await socket.waitClosed())
        #expect(socket.textFrames.map(\.text) == ["HELLO", "1:msg", "-2:Channel deleted", "GOODBYE"])
        #expect(socket.received.last?.isClose == true)
    }

    @Test func streamingTemplatesCanBeReplaced() async throws {
        let node = try await HeraldProcess.start([
            "--streaming-header-template", "H|", "--streaming-message-template", "~channel~=~text~|",
            "--streaming-footer-template", "F", "--subscriber-connection-ttl", "1s",
        ])
        defer { node.stop() }
        try await node.publish("s", "v1")
        let stream = try await HTTPStream.connect(port: node.port, "/sub/s.b1")
        #expect(try await stream.readEnd(timeout: .seconds(5)))
        #expect(stream.text == "H|s=v1|F")
        #expect(stream.chunks.map { String(decoding: $0, as: UTF8.self) } == ["H|", "s=v1|", "F"])
    }
}
