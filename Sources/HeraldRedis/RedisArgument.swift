import NIOCore

/// One argument of a Redis command: binary-safe bytes.
///
/// Write literals directly (`["SET", "key", "value"]`), or build one from a `String`, bytes, an `Int`
/// or a `ByteBuffer`.
public struct RedisArgument: Sendable, Hashable {
    /// The bytes sent to Redis.
    public var bytes: [UInt8]

    /// An argument holding the UTF-8 bytes of `string`.
    public init(_ string: String) {
        self.bytes = Array(string.utf8)
    }

    /// An argument holding `bytes` as they are.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// An argument holding the decimal text of `value`, as Redis expects numbers.
    public init(_ value: Int) {
        self.bytes = Array(String(value).utf8)
    }

    /// An argument holding the readable bytes of `buffer`.
    public init(_ buffer: ByteBuffer) {
        self.bytes = Array(buffer.readableBytesView)
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
