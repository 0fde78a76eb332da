/// JSON string escaping at the byte level, shared by message templates and statistics bodies.
///
/// Works on raw bytes because message bodies are arbitrary: valid UTF-8 passes through untouched
/// (so plain texts render byte-identical to push-stream's verbatim substitution), while anything
/// that would break a JSON string is escaped and invalid UTF-8 becomes `\ufffd`.
public enum JSONEscaping {
    /// Appends `bytes` escaped for use inside a JSON string literal (without the surrounding quotes).
    @inlinable
    public static func append(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { appendEscaped($0, into: &out) }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBufferPointer { appendEscaped($0, into: &out) }
        }
    }

    /// Appends `string` escaped for use inside a JSON string literal.
    @inlinable
    public static func append(_ string: String, into out: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendEscaped($0, into: &out) }
    }

    /// Returns `string` escaped for use inside a JSON string literal.
    public static func escaped(_ string: String) -> String {
        // Channel names are almost always plain: no copy for them.
        if string.utf8.allSatisfy(isSafeASCII) { return string }
        var out: [UInt8] = []
        append(string, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `byte` can be copied into a JSON string as it is.
    static func isSafeASCII(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }

    @usableFromInline
    static func appendEscaped(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.reserveAdditional(input.count + 8)
        var i = 0
        let n = input.count
        while i < n {
            // Copy the longest run that needs no work in one go; this is the common case.
            var j = i
            while j < n && isSafeASCII(input[j]) { j += 1 }
            if j > i {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[i..<j]))
                i = j
                if i == n { break }
            }
            let byte = input[i]
            if byte < 0x80 {
                appendEscapedASCII(byte, into: &out)
                i += 1
                continue
            }
            let length = UTF8Validation.validSequenceLength(input, at: i)
            if length > 0 {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[i..<(i + length)]))
                i += length
            } else {
                out.append(contentsOf: replacementEscape)
                i += UTF8Validation.invalidSubpartLength(input, at: i)
            }
        }
    }

    static func appendEscapedASCII(_ byte: UInt8, into out: inout [UInt8]) {
        let backslash = UInt8(ascii: "\\")
        switch byte {
        case UInt8(ascii: "\""): out.append(backslash); out.append(byte)
        case backslash: out.append(backslash); out.append(backslash)
        case 0x0A: out.append(backslash); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(backslash); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(backslash); out.append(UInt8(ascii: "t"))
        case 0x08: out.append(backslash); out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(backslash); out.append(UInt8(ascii: "f"))
        case ..<0x20:
            out.append(contentsOf: [backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        default: out.append(byte)
        }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static let replacementEscape: [UInt8] = Array(#"\ufffd"#.utf8)
}
