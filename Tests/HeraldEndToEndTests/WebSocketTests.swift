import Foundation
import HeraldTesting
import Testing

/// `/ws`: RFC 6455 WebSocket subscribers.
@Suite struct WebSocketTests {
    @Test func handshakeAndMessagesAsTextFrames() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publish("room", "stored")
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/room.b1")
        defer { socket.close() }
        #expect(socket.handshake.status == 101)
        #expect(socket.isAccepted, "Sec-WebSocket-Accept: \(socket.handshake.headers["Sec-WebSocket-Accept"] ?? "-")")
        #expect(socket.handshake.headers["Upgrade"]?.lowercased() == "websocket")
        #expect(socket.handshake.headers["Connection"]?.lowercased() == "upgrade")
        #expect(try await socket.readTextFrames(1))
        try #require(try await node.waitForSubscribers("room", count: 1))
        try await node.publish("room", "live", eventID: "x1")
        // A big message uses the 16-bit length form.
        try await node.publish("room", String(repeating: "z", count: 3000))
        #expect(try await socket.readTextFrames(3))
        let frames = socket.textFrames
        #expect(frames.allSatisfy { $0.fin && !$0.masked })
        let messages = try frames.map { try PushMessage.decode($0.payload) }
        #expect(messages.map(\.id) == [1, 2, 3])
        #expect(messages[0].text == "stored")
        #expect(messages[1].eventID == "x1")
        #expect(messages[2].text.count == 3000)
    }

    @Test func sixtyFourBitFrameLength() async throws {
        let node = try await HeraldProcess.start(["--max-message-size", "128k"])
        defer { node.stop() }
        let big = String(repeating: "q", count: 70_000)
        try await node.publish("big", big)
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/big.b1")
        defer { socket.close() }
        #expect(try await socket.readTextFrames(1))
        #expect(try PushMessage.decode(socket.textFrames.first?.payload ?? []).text == big)
    }

    @Test func pingGetsPongAndCloseGetsClose() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/pp")
        defer { socket.close() }
        try #require(socket.isAccepted)
        try await socket.sendAsync(WebSocketTestClient.Opcode.ping.rawValue, payload: Array("are you there".utf8))
        let pong = try await socket.readUntil { $0.opcode == WebSocketTestClient.Opcode.pong.rawValue }
        #expect(pong?.text == "are you there")

        try await socket.sendAsync(WebSocketTestClient.Opcode.close.rawValue, payload: [0x03, 0xE8])
        #expect(try await socket.waitClosed())
        #expect(socket.received.last?.isClose == true)
        #expect(try await node.waitForSubscribers("pp", count: 0))
    }

    @Test func unmaskedClientFrameClosesWithProtocolError() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/um")
        defer { socket.close() }
        try #require(socket.isAccepted)
        // RFC 6455 §5.1: clients must mask; push-stream accepted unmasked frames, Herald does not.
        try await socket.sendAsync(WebSocketTestClient.Opcode.ping.rawValue, payload: [], masked: false)
        #expect(try await socket.waitClosed())
        #expect(socket.received.last?.closeCode == 1002)
    }

    @Test func invalidUTF8ClosesTheConnection() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/utf")
        defer { socket.close() }
        try #require(socket.isAccepted)
        try await socket.sendAsync(WebSocketTestClient.Opcode.text.rawValue, payload: [0x68, 0xC3, 0x28, 0xFF])
        #expect(try await socket.waitClosed())
        #expect(socket.received.last?.closeCode == 1007)
    }

    @Test func fragmentedTextIsReassembledAndPublished() async throws {
        let node = try await HeraldProcess.start(["--websocket-allow-publish"])
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/chat/other")
        defer { socket.close() }
        let listener = try await HTTPStream.connect(port: node.port, "/ev/chat")
        defer { listener.close() }
        try #require(try await node.waitForSubscribers("chat", count: 2))

        try await socket.sendAsync(WebSocketTestClient.Opcode.text.rawValue, payload: Array("Hel".utf8), fin: false)
        // Control frames may come between fragments.
        try await socket.sendAsync(WebSocketTestClient.Opcode.ping.rawValue, payload: [])
        try await socket.sendAsync(
            WebSocketTestClient.Opcode.continuation.rawValue, payload: Array("lo, ".utf8), fin: false)
        try await socket.sendAsync(
            WebSocketTestClient.Opcode.continuation.rawValue, payload: Array("wörld".utf8), fin: true)

        // The sender gets its own message in both of its channels; the listener gets it too.
        #expect(try await socket.readTextFrames(2))
        let echoed = try socket.textFrames.map { try PushMessage.decode($0.payload) }
        #expect(Set(echoed.map(\.channel)) == ["chat", "other"])
        #expect(echoed.allSatisfy { $0.text == "Hello, wörld" && $0.id == 1 })
        #expect(try await listener.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        #expect(try PushMessage.decode(SSEParser(listener.body).dataEvents.first?.data ?? "").text == "Hello, wörld")
        // And it is stored.
        #expect(JSON.int(try JSON.object(try await node.admin("GET", "/pub?id=chat").body)["stored_messages"]) == 1)
    }

    @Test func clientTextIsNotPublishedByDefault() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/quiet")
        defer { socket.close() }
        try #require(try await node.waitForSubscribers("quiet", count: 1))
        try await socket.sendAsync(WebSocketTestClient.Opcode.text.rawValue, payload: Array("ignored".utf8))
        #expect(try await socket.readFrame(within: .milliseconds(400)) == nil)
        #expect(JSON.int(try JSON.object(try await node.admin("GET", "/pub?id=quiet").body)["published_messages"]) == 0)
    }

    @Test func oversizedFrameIsRefused() async throws {
        let node = try await HeraldProcess.start(["--max-message-size", "1k", "--websocket-allow-publish"])
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/size")
        defer { socket.close() }
        try #require(socket.isAccepted)
        try await socket.sendAsync(
            WebSocketTestClient.Opcode.text.rawValue, payload: [UInt8](repeating: 0x41, count: 2000))
        #expect(try await socket.waitClosed())
        #expect(socket.received.last?.closeCode == 1009)
        #expect(JSON.int(try JSON.object(try await node.admin("GET", "/pub?id=size").body)["published_messages"]) == 0)
    }

    @Test(arguments: ["Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"])
    func missingMandatoryHeaderIs400(header: String) async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/ch", omit: [header])
        defer { socket.close() }
        #expect(socket.handshake.status == 400)
        #expect(
            socket.handshake.explain
                == "Don't have at least one of the mandatory headers: Connection, Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version"
        )
    }

    @Test func unsupportedVersionIs400WithSupportedVersions() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/ch", version: "7")
        defer { socket.close() }
        #expect(socket.handshake.status == 400)
        #expect(socket.handshake.headers["Sec-WebSocket-Version"] == "8, 13")
        #expect(socket.handshake.explain == "Version not supported. Supported versions: 8, 13")
        let eight = try await WebSocketTestClient.connect(port: node.port, "/ws/ch", version: "8")
        defer { eight.close() }
        #expect(eight.isAccepted)
    }

    @Test func refusalAfterTheHandshakeIsACloseFrameWith1008() async throws {
        let node = try await HeraldProcess.start(["--authorized-channels-only"])
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/empty")
        defer { socket.close() }
        #expect(socket.handshake.status == 101)
        #expect(try await socket.waitClosed())
        let close = try #require(socket.received.last)
        #expect(close.isClose)
        #expect(close.closeCode == 1008)
        let reason = try JSON.object(Array(close.closeReason.utf8))
        #expect(JSON.int(reason["http_status"]) == 403)
        #expect(reason["explain"] as? String == "Subscriber could not create channels.")
    }

    @Test func binaryFrameGetsACloseFrame() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/bin")
        defer { socket.close() }
        try #require(socket.isAccepted)
        try await socket.sendAsync(WebSocketTestClient.Opcode.binary.rawValue, payload: [1, 2, 3])
        #expect(try await socket.waitClosed())
        #expect(socket.received.last?.isClose == true)
        #expect(socket.received.last?.closeCode == 1003)
    }

    @Test func continuationWithoutAStartIsAProtocolError() async throws {
        let node = try await HeraldProcess.start(["--websocket-allow-publish"])
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/cont")
        defer { socket.close() }
        try #require(socket.isAccepted)
        try await socket.sendAsync(WebSocketTestClient.Opcode.continuation.rawValue, payload: Array("orphan".utf8))
        #expect(try await socket.waitClosed())
        #expect(socket.received.last?.closeCode == 1002)
        #expect(JSON.int(try JSON.object(try await node.admin("GET", "/pub?id=cont").body)["published_messages"]) == 0)
    }

    @Test func nonGetIs405() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await node.request("POST", "/ws/ch", body: Array("x".utf8))
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == "GET")
    }

    @Test func browserStyleConnectionHeaderIsAccepted() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(
            port: node.port, "/ws/ff", omit: ["Connection"], extraHeaders: [("Connection", "keep-alive, Upgrade")])
        defer { socket.close() }
        #expect(socket.isAccepted)
        try #require(try await node.waitForSubscribers("ff", count: 1))
        try await node.publish("ff", "firefox")
        #expect(try await socket.readTextFrames(1))
    }
}
