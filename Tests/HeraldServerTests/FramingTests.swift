import HeraldCore
import NIOCore
import NIOHTTP1
import Testing

@testable import HeraldServer

@Suite struct FramingTests {
    @Test(arguments: [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
    func webSocketTextFrameLengths(length: Int) {
        let payload = [UInt8](repeating: 0x61, count: length)
        let frame = Array(WebSocketFraming.frame(.text, payload: payload).readableBytesView)
        #expect(frame[0] == 0x81)
        let headerLength: Int
        switch length {
        case ..<126:
            #expect(frame[1] == UInt8(length))
            headerLength = 2
        case ...65_535:
            #expect(frame[1] == 126)
            #expect(Int(frame[2]) << 8 | Int(frame[3]) == length)
            headerLength = 4
        default:
            #expect(frame[1] == 127)
            let encoded = frame[2..<10].reduce(0) { $0 << 8 | Int($1) }
            #expect(encoded == length)
            headerLength = 10
        }
        #expect(frame.count == headerLength + length)
        #expect(Array(frame[headerLength...]) == payload)
    }

    /// A client frame as a browser sends it: masked, with a 7-, 16- or 64-bit length.
    static func clientFrame(
        fin: Bool = true, opcode: UInt8, payload: [UInt8], masked: Bool = true, longLength: Bool = false
    ) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let mask: UInt8 = masked ? 0x80 : 0
        if longLength || payload.count > 65_535 {
            bytes.append(mask | 127)
            bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        } else if payload.count < 126 {
            bytes.append(mask | UInt8(payload.count))
        } else {
            bytes += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        guard masked else { return bytes + payload }
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        return bytes + key + payload.enumerated().map { $0.element ^ key[$0.offset & 3] }
    }

    @Test(arguments: [0, 5, 125, 126, 300, 65_536])
    func clientFramesAreReadWholeAndUnmasked(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        for longLength in [false, true] {
            let bytes = Self.clientFrame(opcode: 0x1, payload: payload, longLength: longLength) + [0x89, 0x80]
            // Every prefix short of the whole frame is left alone.
            for cut in [0, 1, 2, bytes.count / 2, bytes.count - 3] where cut < bytes.count - 2 {
                var partial = ByteBuffer(bytes: bytes[..<cut])
                #expect(try WebSocketFraming.readClientFrame(from: &partial, maxSize: 100_000) == nil)
                #expect(partial.readableBytes == cut)
            }
            var buffer = ByteBuffer(bytes: bytes)
            let frame = try #require(try WebSocketFraming.readClientFrame(from: &buffer, maxSize: 100_000))
            #expect(frame == .init(fin: true, opcode: 0x1, payload: payload))
            // What follows (the start of a masked ping) stays for the next read.
            #expect(Array(buffer.readableBytesView) == [0x89, 0x80])
        }
    }

    @Test func fragmentedClientFramesAreReadOneByOne() throws {
        var buffer = ByteBuffer(
            bytes: Self.clientFrame(fin: false, opcode: 0x1, payload: Array("he".utf8))
                + Self.clientFrame(opcode: 0x0, payload: Array("llo".utf8)))
        let first = try #require(try WebSocketFraming.readClientFrame(from: &buffer, maxSize: 10))
        let second = try #require(try WebSocketFraming.readClientFrame(from: &buffer, maxSize: 10))
        #expect(first == .init(fin: false, opcode: 0x1, payload: Array("he".utf8)))
        #expect(second == .init(fin: true, opcode: 0x0, payload: Array("llo".utf8)))
        #expect(buffer.readableBytes == 0)
    }

    /// RFC 6455 §5.1–5.2: unmasked frames, RSV bits without an extension and reserved opcodes are refused.
    @Test(arguments: [
        clientFrame(opcode: 0x1, payload: Array("hi".utf8), masked: false),
        [0xC1] + clientFrame(opcode: 0x1, payload: []).dropFirst(),
        [0xA1] + clientFrame(opcode: 0x1, payload: []).dropFirst(),
        [0x91] + clientFrame(opcode: 0x1, payload: []).dropFirst(),
        clientFrame(opcode: 0x3, payload: []),
        clientFrame(opcode: 0xB, payload: []),
        clientFrame(opcode: 0xF, payload: []),
    ])
    func protocolViolatingClientFramesAreRefused(bytes: [UInt8]) throws {
        var buffer = ByteBuffer(bytes: bytes)
        let error = try #require(throws: WebSocketFraming.ClientFrameError.self) {
            try WebSocketFraming.readClientFrame(from: &buffer, maxSize: 1000)
        }
        #expect(error.closeCode == 1002)
        #expect(buffer.readableBytes == bytes.count)
    }

    @Test func oversizedAndInvalidControlClientFramesAreRefusedFromTheirHeader() {
        // Only the header has arrived: the length alone refuses it.
        var large = ByteBuffer(bytes: Self.clientFrame(opcode: 0x1, payload: Array(repeating: 0, count: 200)).prefix(8))
        #expect(throws: WebSocketFraming.ClientFrameError.tooLarge) {
            try WebSocketFraming.readClientFrame(from: &large, maxSize: 100)
        }
        var huge = ByteBuffer(bytes: [0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: WebSocketFraming.ClientFrameError.tooLarge) {
            try WebSocketFraming.readClientFrame(from: &huge, maxSize: 100)
        }
        var fragmentedPing = ByteBuffer(bytes: Self.clientFrame(fin: false, opcode: 0x9, payload: []))
        #expect(throws: WebSocketFraming.ClientFrameError.invalidControlFrame) {
            try WebSocketFraming.readClientFrame(from: &fragmentedPing, maxSize: 1000)
        }
        var longPing = ByteBuffer(bytes: Self.clientFrame(opcode: 0x9, payload: Array(repeating: 0, count: 126)))
        #expect(throws: WebSocketFraming.ClientFrameError.invalidControlFrame) {
            try WebSocketFraming.readClientFrame(from: &longPing, maxSize: 1000)
        }
    }

    @Test func closeFrameCarriesCodeAndReason() {
        let frame = Array(WebSocketFraming.close(code: 1008, reason: Array("no".utf8)).readableBytesView)
        #expect(frame == [0x88, 4, 0x03, 0xF0, 0x6E, 0x6F])
    }

    @Test func chunkFramingAndSlices() {
        let frame = ChunkedEncoding.frame(Array("hello, world!!!!".utf8))
        #expect(String(buffer: frame.buffer) == "10\r\nhello, world!!!!\r\n")
        #expect(String(buffer: frame.payload) == "hello, world!!!!")
    }

    @Test func eventSourceFrameSharesBodyAfterTheIdLine() {
        let renderer = FrameRenderer(settings: NodeSettings())
        let message = Message(channel: "ch", id: 7, time: 0, tag: 1, eventType: "greet", text: Array("hi".utf8))
        let frame = renderer.eventSource(message, cursor: FrameRenderer.singleChannelCursor(message))
        let text = String(buffer: frame.buffer)
        let payload = String(buffer: frame.payload)
        #expect(text.hasPrefix(String(payload.utf8.count, radix: 16) + "\r\n"))
        #expect(payload.hasPrefix("id: hc:ch:7\nevent: greet\ndata: {\"id\":7,"))
        #expect(payload.hasSuffix("\n\n"))
        // The shared part starts right after the id line and keeps the chunk's CRLF.
        let body = String(buffer: frame.body)
        #expect(body.hasPrefix("event: greet\n"))
        #expect(body.hasSuffix("\n\n\r\n"))
        #expect(frame.bodyLength == body.utf8.count - 2)
    }

    @Test func controlMessagesCarryNoCursor() {
        #expect(FrameRenderer.singleChannelCursor(.channelDeleted("ch", text: [])) == nil)
        #expect(FrameRenderer.singleChannelCursor(.missed("ch", resumeAt: .start(of: 7))) == nil)
    }

    @Test func renderOnlyTheKindsAsked() {
        let renderer = FrameRenderer(settings: NodeSettings())
        let message = Message(channel: "ch", id: 1, time: 0, tag: 1, text: Array("x".utf8))
        let rendered = renderer.render(message, for: [.webSocket, .longPolling])
        #expect(rendered.webSocket != nil)
        #expect(rendered.streaming == nil)
        #expect(rendered.eventSource == nil)
    }

    @Test func responseHeadIsTheStatusLineAndHeadersInOrder() {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream; charset=utf-8")
        headers.add(name: "X-Herald-Node", value: "node-é")
        let ok = ResponseHeaders.render(status: .ok, version: .http1_1, headers: headers)
        #expect(
            String(buffer: ok)
                == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nX-Herald-Node: node-é\r\n\r\n")
        let upgrade = ResponseHeaders.render(status: .switchingProtocols, version: .http1_0, headers: HTTPHeaders())
        #expect(String(buffer: upgrade) == "HTTP/1.0 101 Switching Protocols\r\n\r\n")
    }
}
