/// The name a JSONP response calls: `callback=<name>` on a polling or long-polling request.
///
/// The name is written raw in front of the messages of an `application/javascript` body, so only
/// a plain JavaScript name path is accepted: 1 to ``maxLength`` bytes of `A–Z a–z 0–9 _ $ .`.
/// Anything else (quotes, parentheses, `<`, spaces, CR/LF, non-ASCII) would let a request choose
/// the script a page runs, and is refused.
public struct JSONPCallback: Hashable, Sendable, CustomStringConvertible {
    /// The validated name, safe to write verbatim.
    public let name: String

    /// The longest name accepted, in bytes.
    public static let maxLength = 128

    /// `name` if it is a valid callback, else `nil`.
    public init?(validating name: some StringProtocol) {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= JSONPCallback.maxLength, bytes.allSatisfy(JSONPCallback.isAllowed)
        else { return nil }
        self.name = String(name)
    }

    /// The callback a request asks for: `nil` when `argument` is absent or empty (no JSONP).
    ///
    /// - Parameter argument: the decoded `callback` query argument.
    /// - Throws: ``ProtocolError/invalidCallback`` when the argument is present but not a valid name.
    public static func parse(_ argument: String?) throws(ProtocolError) -> JSONPCallback? {
        guard let argument, !argument.isEmpty else { return nil }
        guard let callback = JSONPCallback(validating: argument) else { throw .invalidCallback }
        return callback
    }

    /// The name itself.
    public var description: String { name }

    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "$"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }
}
