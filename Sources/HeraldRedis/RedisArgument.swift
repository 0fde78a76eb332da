import NIOCore

/// One argument of a Redis command: binary-safe bytes.
///
/// Write literals directly (`["SET", "key", "value"]`), or build one from a `String`, bytes, an `Int`
/// or a `ByteBuffer`.
public struct RedisArgument: Sendable, Hashable {
    /// The value as it was given: a command carries a dozen arguments, and copying each into an
    /// array of its own cost a heap allocation apiece on every publish. The encoder writes each
    /// form straight into the outgoing buffer.
    enum Storage: Sendable {
        case string(String)
        case bytes([UInt8])
        case integer(Int)
        case buffer(ByteBuffer)
    }

    let storage: Storage

    /// The bytes sent to Redis.
    public var bytes: [UInt8] {
        switch storage {
        case .string(let string): Array(string.utf8)
        case .bytes(let bytes): bytes
        case .integer(let value): Array(String(value).utf8)
        case .buffer(let buffer): Array(buffer.readableBytesView)
        }
    }

    /// An argument holding the UTF-8 bytes of `string`.
    public init(_ string: String) {
        self.storage = .string(string)
    }

    /// An argument holding `bytes` as they are.
    public init(_ bytes: [UInt8]) {
        self.storage = .bytes(bytes)
    }

    /// An argument holding the decimal text of `value`, as Redis expects numbers.
    public init(_ value: Int) {
        self.storage = .integer(value)
    }

    /// An argument holding the readable bytes of `buffer`.
    public init(_ buffer: ByteBuffer) {
        self.storage = .buffer(buffer)
    }

    /// Arguments are equal when Redis would receive the same bytes.
    public static func == (lhs: RedisArgument, rhs: RedisArgument) -> Bool {
        lhs.bytes == rhs.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes)
    }

    /// Appends the argument as a RESP bulk string: `$<length>\r\n<bytes>\r\n`.
    func write(into buffer: inout ByteBuffer) {
        switch storage {
        case .string(let string):
            Self.writeHeader(string.utf8.count, into: &buffer)
            buffer.writeString(string)
        case .bytes(let bytes):
            Self.writeHeader(bytes.count, into: &buffer)
            buffer.writeBytes(bytes)
        case .integer(let value):
            let digits = Self.decimalLength(value)
            Self.writeHeader(digits, into: &buffer)
            Self.writeDecimal(value, digits: digits, into: &buffer)
        case .buffer(let bytes):
            Self.writeHeader(bytes.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(bytes)
        }
        buffer.writeStaticString("\r\n")
    }

    /// The bytes the argument takes once encoded, plus room for its header.
    var estimatedSize: Int {
        let length =
            switch storage {
            case .string(let string): string.utf8.count
            case .bytes(let bytes): bytes.count
            case .integer: 20
            case .buffer(let buffer): buffer.readableBytes
            }
        return length + 16
    }

    private static func writeHeader(_ length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(length, digits: decimalLength(length), into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// The characters `value` takes in decimal, its sign included.
    static func decimalLength(_ value: Int) -> Int {
        var digits = value < 0 ? 2 : 1
        var rest = value.magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }

    /// Writes `value` in decimal; `digits` is its ``decimalLength(_:)``. Done in place rather than
    /// through `String(value)`: every argument's length header passes here.
    static func writeDecimal(_ value: Int, digits: Int, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { out in
            var rest = value.magnitude
            var index = digits
            repeat {
                index -= 1
                out[index] = UInt8(ascii: "0") &+ UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            if value < 0 { out[0] = UInt8(ascii: "-") }
            return digits
        }
    }
}

extension RedisArgument: ExpressibleByStringLiteral {
    /// An argument holding the UTF-8 bytes of a string literal.
    public init(stringLiteral value: String) {
        self.init(value)
    }
}

extension RedisArgument: ExpressibleByIntegerLiteral {
    /// An argument holding the decimal text of an integer literal.
    public init(integerLiteral value: Int) {
        self.init(value)
    }
}
