import HeraldCore
import NIOCore

/// The wire bytes of one message for one transport, rendered once and written to every subscriber.
///
/// Streaming and EventSource frames carry their HTTP chunk framing; the offsets let an HTTP/1.0
/// subscriber take the unframed payload, and a multi-channel EventSource subscriber (whose `id:`
/// line is its own cursor) take the part after the shared `id:` line — both as slices, not copies.
struct Frame: Sendable {
    /// The bytes as written to a subscriber that shares everything.
    var buffer: ByteBuffer
    /// Where the payload starts (after the chunk-size line; 0 when unframed).
    var payloadStart: Int
    /// Where the part after the `id:` line starts (EventSource); equals `payloadStart` otherwise.
    var bodyStart: Int
    /// Whether `buffer` ends with the chunk's trailing CRLF.
    var chunked: Bool

    /// The payload without chunk framing (HTTP/1.0 clients).
    var payload: ByteBuffer {
        buffer.getSlice(at: payloadStart, length: buffer.readableBytes - payloadStart - (chunked ? 2 : 0))!
    }

    /// The bytes after the `id:` line, with the chunk's trailing CRLF when chunked.
    var body: ByteBuffer {
        buffer.getSlice(at: bodyStart, length: buffer.readableBytes - bodyStart)!
    }

    /// The length of the part after the `id:` line, without framing.
    var bodyLength: Int { buffer.readableBytes - bodyStart - (chunked ? 2 : 0) }
}

/// HTTP/1.1 chunked transfer coding, written by hand because subscriber connections leave the
/// HTTP codec behind once their response head is sent.
enum ChunkedEncoding {
    /// Appends `<hex size>\r\n`.
    static func writeChunkHeader(size: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
    }

    /// The terminating zero-size chunk.
    static let lastChunk: StaticString = "0\r\n\r\n"

    /// Frames `payload` as one chunk.
    static func frame(_ payload: some Collection<UInt8>, allocator: ByteBufferAllocator = .init()) -> Frame {
        var buffer = allocator.buffer(capacity: payload.count + 12)
        writeChunkHeader(size: payload.count, into: &buffer)
        let start = buffer.writerIndex
        buffer.writeBytes(payload)
        buffer.writeStaticString("\r\n")
        return Frame(buffer: buffer, payloadStart: start, bodyStart: start, chunked: true)
    }
}

/// RFC 6455 server frames: unmasked, so one rendered frame serves every subscriber.
enum WebSocketFraming {
    enum Opcode: UInt8 {
        case continuation = 0x0
        case text = 0x1
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// Appends a final (FIN) frame with a 7-, 16- or 64-bit length.
    static func write(_ opcode: Opcode, payload: some Collection<UInt8>, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | opcode.rawValue)
        let count = payload.count
        if count < 126 {
            buffer.writeInteger(UInt8(count))
        } else if count <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(count))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(count))
        }
        buffer.writeBytes(payload)
    }

    static func frame(_ opcode: Opcode, payload: some Collection<UInt8>) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: payload.count + 10)
        write(opcode, payload: payload, into: &buffer)
        return buffer
    }

    /// A close frame with a status code and a reason.
    static func close(code: UInt16, reason: some Collection<UInt8>) -> ByteBuffer {
        var payload: [UInt8] = [UInt8(code >> 8), UInt8(code & 0xFF)]
        payload += reason
        return frame(.close, payload: payload)
    }

    /// A frame a client sent; the reading rules are pure and live in HeraldCore.
    typealias ClientFrame = WebSocketClientFrame
    typealias ClientFrameError = WebSocketClientFrameError

    /// Takes one complete client frame off the front of `buffer`; nil, taking nothing, while the
    /// frame has not all arrived. Refusals come from the header alone (see
    /// ``WebSocketClientFrame/read(_:maxSize:)``), so a frame over `maxSize` is refused before its
    /// payload is buffered.
    static func readClientFrame(from buffer: inout ByteBuffer, maxSize: Int) throws(ClientFrameError) -> ClientFrame? {
        let result = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(ClientFrameError) in try WebSocketClientFrame.read(bytes, maxSize: maxSize) }
        }
        guard let (frame, consumed) = try result.get() else { return nil }
        buffer.moveReaderIndex(forwardBy: consumed)
        return frame
    }
}
