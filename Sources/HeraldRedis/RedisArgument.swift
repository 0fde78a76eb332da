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

    /// The argument's length in bytes, once sent.
    private var length: Int {
        switch storage {
        case .string(let string): string.utf8.count
        case .bytes(let bytes): bytes.count
        case .integer(let value): Self.decimalLength(value)
        case .buffer(let buffer): buffer.readableBytes
        }
    }

    /// The bytes the argument takes as a RESP bulk string: `$<length>\r\n<bytes>\r\n`.
    var encodedSize: Int {
        let length = self.length
        return Self.decimalLength(length) + length + 5
    }

    /// Puts the argument as a RESP bulk string into `out` from `index`, which has room for
    /// ``encodedSize`` bytes.
    /// - Returns: the index after it.
    func put(into out: UnsafeMutableRawBufferPointer, at index: Int) -> Int {
        let length = self.length
        var at = index
        out[at] = UInt8(ascii: "$")
        at = Self.putDecimal(length, digits: Self.decimalLength(length), into: out, at: at + 1)
        at = Self.putLineEnd(into: out, at: at)
        switch storage {
        case .string(let string):
            let copied: Void? = string.utf8.withContiguousStorageIfAvailable { source in
                UnsafeMutableRawBufferPointer(rebasing: out[at..<(at + length)]).copyMemory(
                    from: UnsafeRawBufferPointer(source))
            }
            if copied == nil {
                for (offset, byte) in string.utf8.enumerated() { out[at + offset] = byte }
            }
        case .bytes(let bytes):
            bytes.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: out[at..<(at + length)]).copyMemory(from: $0)
            }
        case .integer(let value):
            _ = Self.putDecimal(value, digits: length, into: out, at: at)
        case .buffer(let buffer):
            buffer.withUnsafeReadableBytes {
                UnsafeMutableRawBufferPointer(rebasing: out[at..<(at + length)]).copyMemory(from: $0)
            }
        }
        return Self.putLineEnd(into: out, at: at + length)
    }

    /// The bytes of a command once encoded, as a RESP array of bulk strings.
    static func encodedSize(of command: [RedisArgument]) -> Int {
        var size = decimalLength(command.count) + 3
        for argument in command { size += argument.encodedSize }
        return size
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

    /// Puts `value` in decimal into `out` from `index`; `digits` is its ``decimalLength(_:)``.
    /// - Returns: the index after it.
    static func putDecimal(_ value: Int, digits: Int, into out: UnsafeMutableRawBufferPointer, at index: Int) -> Int {
        var rest = value.magnitude
        var position = index + digits
        repeat {
            position -= 1
            out[position] = UInt8(ascii: "0") &+ UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        if value < 0 { out[index] = UInt8(ascii: "-") }
        return index + digits
    }

    static func putLineEnd(into out: UnsafeMutableRawBufferPointer, at index: Int) -> Int {
        out[index] = UInt8(ascii: "\r")
        out[index + 1] = UInt8(ascii: "\n")
        return index + 2
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
