import HeraldCore
import Testing

@Suite struct WebSocketClientFrameTests {
    static let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]

    /// A masked frame with the given first byte and payload, 7-, 16- or 64-bit length as needed.
    static func frame(first: UInt8, payload: [UInt8], masked: Bool = true) -> [UInt8] {
        let mask: UInt8 = masked ? 0x80 : 0
        var bytes = [first]
        if payload.count < 126 {
            bytes.append(mask | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            bytes += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            bytes.append(mask | 127)
            bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        guard masked else { return bytes + payload }
        return bytes + key + payload.enumerated().map { $0.element ^ key[$0.offset & 3] }
    }

    static func read(_ bytes: [UInt8], maxSize: Int = 1_000) -> Result<WebSocketClientFrame?, WebSocketClientFrameError>
    {
        Result { () throws(WebSocketClientFrameError) in try WebSocketClientFrame.read(bytes, maxSize: maxSize)?.frame }
    }

    /// Every possible first byte: RSV bits and reserved opcodes are refused, the rest read.
    @Test(arguments: 0...255)
    func firstByteRules(first: Int) {
        let byte = UInt8(first)
        let opcode = byte & 0x0F
        let result = Self.read(Self.frame(first: byte, payload: Array("hi".utf8)))
        if byte & 0x70 != 0 {
            #expect(result == .failure(.reservedBits))
        } else if !(opcode <= 2 || (8...10).contains(opcode)) {
            #expect(result == .failure(.reservedOpcode))
        } else if opcode >= 8 && byte & 0x80 == 0 {
            #expect(result == .failure(.invalidControlFrame))
        } else {
            #expect(
                result
                    == .success(WebSocketClientFrame(fin: byte & 0x80 != 0, opcode: opcode, payload: Array("hi".utf8))))
        }
    }

    @Test(arguments: [0x81, 0x01, 0x80, 0x88, 0x89, 0x8A, 0x82] as [UInt8])
    func unmaskedFramesAreRefusedFromTheirSecondByte(first: UInt8) {
        #expect(Self.read([first, 0x05]) == .failure(.unmasked))
        #expect(Self.read(Self.frame(first: first, payload: [1, 2, 3], masked: false)) == .failure(.unmasked))
    }

    @Test(arguments: [0, 1, 125, 126, 127, 65_535, 65_536])
    func readsWholeFramesAndReportsTheBytesUsed(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let bytes = Self.frame(first: 0x82, payload: payload)
        let (frame, consumed) = try #require(try WebSocketClientFrame.read(bytes + [0x89, 0x80], maxSize: 70_000))
        #expect(frame == WebSocketClientFrame(fin: true, opcode: 0x2, payload: payload))
        #expect(consumed == bytes.count)
        for cut in Set([0, 1, 2, 3, 5, bytes.count / 2, bytes.count - 1]) where cut < bytes.count {
            #expect(try WebSocketClientFrame.read(Array(bytes[..<cut]), maxSize: 70_000) == nil)
        }
    }

    @Test func sizeAndControlRulesComeFromTheHeader() {
        #expect(Self.read([0x81, 0xFE, 0x01, 0x00], maxSize: 100) == .failure(.tooLarge))
        #expect(Self.read([0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0], maxSize: 100) == .failure(.tooLarge))
        #expect(
            Self.read([0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], maxSize: .max)
                == .failure(.tooLarge))
        #expect(Self.read([0x81, 0xE4], maxSize: 100) == .success(nil))
        #expect(Self.read([0x81, 0xE4], maxSize: 99) == .failure(.tooLarge))
        #expect(Self.read([0x89, 0xFE], maxSize: 1_000) == .failure(.invalidControlFrame))
        #expect(Self.read([0x09, 0x80], maxSize: 1_000) == .failure(.invalidControlFrame))
        #expect(Self.read([0x81, 0x80], maxSize: -1) == .failure(.tooLarge))
    }

    @Test func hugeDeclaredLengthsNeverOverflow() {
        // Lengths near Int.max with a limit of Int.max: the frame is simply incomplete.
        let bytes: [UInt8] = [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + Self.key
        #expect(Self.read(bytes, maxSize: .max) == .success(nil))
    }

    @Test(arguments: [
        (WebSocketClientFrameError.tooLarge, UInt16(1009)), (.invalidControlFrame, 1002), (.unmasked, 1002),
        (.reservedBits, 1002), (.reservedOpcode, 1002),
    ])
    func closeCodes(error: WebSocketClientFrameError, code: UInt16) {
        #expect(error.closeCode == code)
    }
}
