/// JavaScript string escaping for values inside a string literal of an HTML `<script>` element.
///
/// The output is safe between `'…'`, `"…"` or `` `…` `` quotes and inside HTML: `<`, `>`, `&`, quotes,
/// backtick, backslash and every control byte become `\xHH`, U+2028/U+2029 become `\u2028`/`\u2029`
/// (line terminators in older engines), and invalid UTF-8 becomes `\ufffd`. So neither `</script`
/// nor a line break can appear, and the script sees the original text after its own unescaping.
/// Other valid UTF-8 passes through untouched.
public enum JavaScriptEscaping {
    /// Appends `string` escaped for a JavaScript string literal in HTML.
    public static func append(_ string: String, into out: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendEscaped($0, into: &out) }
    }

    /// Returns `string` escaped for a JavaScript string literal in HTML.
    public static func escaped(_ string: String) -> String {
        var out: [UInt8] = []
        append(string, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `byte` can be copied into the literal as it is.
    static func isSafeASCII(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "\""),
            UInt8(ascii: "`"), UInt8(ascii: "\\"):
            false
        default:
            byte >= 0x20 && byte < 0x7F
        }
    }

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
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "x"))
                out.append(JSONEscaping.hexDigits[Int(byte >> 4)])
                out.append(JSONEscaping.hexDigits[Int(byte & 0x0F)])
                i += 1
                continue
            }
            let length = UTF8Validation.validSequenceLength(input, at: i)
            if length == 3, byte == 0xE2, input[i + 1] == 0x80, input[i + 2] & 0xFE == 0xA8 {
                // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR.
                out.append(contentsOf: input[i + 2] == 0xA8 ? lineSeparatorEscape : paragraphSeparatorEscape)
                i += 3
            } else if length > 0 {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[i..<(i + length)]))
                i += length
            } else {
                out.append(contentsOf: JSONEscaping.replacementEscape)
                i += UTF8Validation.invalidSubpartLength(input, at: i)
            }
        }
    }

    static let lineSeparatorEscape: [UInt8] = Array(#"\u2028"#.utf8)
    static let paragraphSeparatorEscape: [UInt8] = Array(#"\u2029"#.utf8)
}
