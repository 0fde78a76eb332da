/// One reply from Redis, in RESP2 terms, copied out of the parser into Swift values.
///
/// Values are plain data: they can be sent between threads and compared.
public enum RESPValue: Sendable, Hashable {
    /// A status reply such as `+OK`.
    case simpleString(String)
    /// An error reply such as `-ERR unknown command`, with its text (code first).
    case error(String)
    /// An integer reply (`:42`).
    case integer(Int)
    /// A bulk string (`$3\r\nabc`): binary-safe bytes.
    case bulkString([UInt8])
    /// The null bulk string or null array (`$-1`, `*-1`).
    case null
    /// An array reply; its elements may be any value, arrays included.
    case array([RESPValue])
}

extension RESPValue {
    /// The text of a simple string, or a bulk string decoded as UTF-8; `nil` for other values or invalid UTF-8.
    public var string: String? {
        switch self {
        case .simpleString(let text):
            return text
        case .bulkString(let bytes):
            return String(validating: bytes, as: UTF8.self)
        case .error, .integer, .null, .array:
            return nil
        }
    }

    /// An integer reply, or a simple or bulk string that holds a decimal integer (as `GET` of a counter does).
    public var int: Int? {
        switch self {
        case .integer(let value):
            return value
        case .simpleString(let text):
            return Int(text)
        case .bulkString(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
            return Int(text)
        case .error, .null, .array:
            return nil
        }
    }

    /// The bytes of a bulk string, or the UTF-8 bytes of a simple string; `nil` for other values.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes):
            return bytes
        case .simpleString(let text):
            return Array(text.utf8)
        case .error, .integer, .null, .array:
            return nil
        }
    }

    /// The elements of an array reply; `nil` for other values (the null array is `.null`).
    public var array: [RESPValue]? {
        if case .array(let elements) = self {
            return elements
        }
        return nil
    }

    /// The message of an error reply; `nil` for other values.
    public var errorMessage: String? {
        if case .error(let message) = self {
            return message
        }
        return nil
    }

    /// Whether this is the null reply.
    public var isNull: Bool {
        self == .null
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short, human-readable rendering, in the style of `redis-cli`.
    public var description: String {
        switch self {
        case .simpleString(let text):
            return text
        case .error(let message):
            return "(error) \(message)"
        case .integer(let value):
            return "(integer) \(value)"
        case .bulkString(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) {
                return "\"\(text)\""
            }
            return "(\(bytes.count) bytes)"
        case .null:
            return "(nil)"
        case .array(let elements):
            return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
