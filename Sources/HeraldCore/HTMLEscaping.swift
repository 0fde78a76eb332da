/// HTML character escaping for values in element content or a quoted attribute value.
///
/// `&`, `<`, `>`, `"` and `'` become entities; every other byte is copied, so text without them is
/// byte-identical.
public enum HTMLEscaping {
    /// Appends `string` escaped for HTML.
    public static func append(_ string: String, into out: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendEscaped($0, into: &out) }
    }

    static func entity(for byte: UInt8) -> [UInt8]? {
        switch byte {
        case UInt8(ascii: "&"): ampersand
        case UInt8(ascii: "<"): lessThan
        case UInt8(ascii: ">"): greaterThan
        case UInt8(ascii: "\""): quote
        case UInt8(ascii: "'"): apostrophe
        default: nil
        }
    }

    static func appendEscaped(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.reserveAdditional(input.count + 8)
        var runStart = 0
        for i in 0..<input.count {
            guard let entity = entity(for: input[i]) else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<i]))
            out.append(contentsOf: entity)
            runStart = i + 1
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart...]))
    }

    static let ampersand: [UInt8] = Array("&amp;".utf8)
    static let lessThan: [UInt8] = Array("&lt;".utf8)
    static let greaterThan: [UInt8] = Array("&gt;".utf8)
    static let quote: [UInt8] = Array("&quot;".utf8)
    static let apostrophe: [UInt8] = Array("&#39;".utf8)
}
