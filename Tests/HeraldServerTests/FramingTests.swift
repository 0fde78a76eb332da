import HeraldCore
import NIOCore
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
        #expect(FrameRenderer.singleChannelCursor(.missed("ch")) == nil)
    }

    @Test func renderOnlyTheKindsAsked() {
        let renderer = FrameRenderer(settings: NodeSettings())
        let message = Message(channel: "ch", id: 1, time: 0, tag: 1, text: Array("x".utf8))
        let rendered = renderer.render(message, for: [.webSocket, .longPolling])
        #expect(rendered.webSocket != nil)
        #expect(rendered.longPolling != nil)
        #expect(rendered.streaming == nil)
        #expect(rendered.eventSource == nil)
    }
}
