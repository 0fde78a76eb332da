/// A frame a WebSocket client sent (RFC 6455 §5.2), its payload unmasked.
public struct WebSocketClientFrame: Hashable, Sendable {
    /// Whether this is the final fragment of its message.
    public var fin: Bool
    /// The 4-bit opcode: 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong (the others are
    /// reserved and never read).
    public var opcode: UInt8
    /// The unmasked payload.
    public var payload: [UInt8]

    /// A frame with these fields.
    public init(fin: Bool, opcode: UInt8, payload: [UInt8]) {
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
    }

    /// Takes one complete client frame off the front of `bytes`: the frame and how many bytes it
    /// used, or `nil` while the frame has not all arrived (read again with more bytes).
    ///
    /// Everything that can be refused is refused as soon as its bytes are there, before the payload
    /// is waited for: RSV bits (no extension is ever negotiated), reserved opcodes (3–7, 0xB–0xF),
    /// an unmasked frame (§5.1: clients must mask), a fragmented or over-125-byte control frame,
    /// and a length over `maxSize`. Work and memory are linear in the frame's length.
    ///
    /// - Parameters:
    ///   - bytes: what has arrived of the stream, starting at a frame boundary.
    ///   - maxSize: the largest payload accepted, in bytes.
    /// - Throws: the ``WebSocketClientFrameError`` to close the connection with.
    public static func read(
        _ bytes: UnsafeRawBufferPointer, maxSize: Int
    ) throws(WebSocketClientFrameError) -> (frame: WebSocketClientFrame, consumed: Int)? {
        guard bytes.count >= 2 else { return nil }
        let first = bytes[0]
        let second = bytes[1]
        guard first & 0x70 == 0 else { throw .reservedBits }
        let opcode = first & 0x0F
        guard isKnown(opcode) else { throw .reservedOpcode }
        guard second & 0x80 != 0 else { throw .unmasked }
        let fin = first & 0x80 != 0
        let shortLength = Int(second & 0x7F)
        if opcode & 0x08 != 0, !fin || shortLength > 125 { throw .invalidControlFrame }
        var offset = 2
        let length: Int
        switch shortLength {
        case 126:
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        case 127:
            guard bytes.count >= 10 else { return nil }
            var word: UInt64 = 0
            for i in 2..<10 { word = word << 8 | UInt64(bytes[i]) }
            guard word <= UInt64(max(maxSize, 0)) else { throw .tooLarge }
            length = Int(word)
            offset = 10
        default:
            length = shortLength
        }
        guard length <= maxSize else { throw .tooLarge }
        guard bytes.count - offset >= 4 else { return nil }
        let mask = (bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3])
        offset += 4
        // Subtraction, not `offset + length`: no overflow whatever `maxSize` is.
        guard bytes.count - offset >= length else { return nil }
        let payload = [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
            var i = 0
            while i < length {
                let key =
                    switch i & 3 {
                    case 0: mask.0
                    case 1: mask.1
                    case 2: mask.2
                    default: mask.3
                    }
                out[i] = bytes[offset + i] ^ key
                i += 1
            }
            initialized = length
        }
        return (WebSocketClientFrame(fin: fin, opcode: opcode, payload: payload), offset + length)
    }

    /// ``read(_:maxSize:)`` over an array.
    public static func read(
        _ bytes: [UInt8], maxSize: Int
    ) throws(WebSocketClientFrameError) -> (frame: WebSocketClientFrame, consumed: Int)? {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(WebSocketClientFrameError) in try read(raw, maxSize: maxSize) }
        }
        return try result.get()
    }

    /// The opcodes RFC 6455 defines.
    static func isKnown(_ opcode: UInt8) -> Bool {
        opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA)
    }
}

/// Why a client frame is refused; the connection is then closed with ``closeCode``.
public enum WebSocketClientFrameError: Error, Hashable, Sendable {
    /// The frame's length passes the limit.
    case tooLarge
    /// A control frame that is fragmented or longer than 125 bytes.
    case invalidControlFrame
    /// A frame without a mask: clients must mask every frame (RFC 6455 §5.1).
    case unmasked
    /// An RSV bit is set though no extension was negotiated.
    case reservedBits
    /// An opcode RFC 6455 reserves (3–7, 0xB–0xF).
    case reservedOpcode

    /// The RFC 6455 §7.4.1 close code: 1009 (message too big) for ``tooLarge``, else 1002 (protocol error).
    public var closeCode: UInt16 {
        self == .tooLarge ? 1009 : 1002
    }
}
