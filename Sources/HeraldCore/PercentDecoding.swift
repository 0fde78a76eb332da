/// URL percent-decoding as nginx's `ngx_unescape_uri` does it for channel paths and query arguments.
///
/// Lenient on purpose: a client sending `100%` or `%zz` gets those bytes back literally rather than
/// an error, and `+` stays `+` (push-stream never treats it as a space).
public enum PercentDecoding {
    /// Decodes `%XX` escapes in `s`; invalid escapes are kept literally, invalid UTF-8 is repaired.
    ///
    /// For values that name things (channel ids) use ``decodeBytes(_:)`` and refuse invalid UTF-8
    /// instead: repairing lets different names collide on U+FFFD.
    public static func decode(_ s: Substring) -> String {
        // Fast path: nothing to decode means no copy through a byte array.
        guard s.utf8.contains(UInt8(ascii: "%")) else { return String(s) }
        return String(decoding: decodeBytes(s), as: UTF8.self)
    }

    /// Decodes `%XX` escapes in `s` to raw bytes, exactly as sent: invalid escapes are kept
    /// literally and nothing is repaired, so the caller decides what invalid UTF-8 means.
    public static func decodeBytes(_ s: Substring) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var utf8 = s.utf8[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), let high = utf8.first.flatMap(hexValue),
                let low = utf8.dropFirst().first.flatMap(hexValue)
            {
                out.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                out.append(byte)
            }
        }
        return out
    }

    /// `s` percent-encoded as JavaScript's `encodeURIComponent` does (UTF-8, `%XX` in capitals),
    /// with `alsoEscaping` escaped too when given. The inverse of ``decode(_:)``.
    public static func encodeComponent(_ s: String, alsoEscaping extra: UInt8? = nil) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        appendComponent(s, alsoEscaping: extra, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// ``encodeComponent(_:alsoEscaping:)`` appending to `out`.
    public static func appendComponent(_ s: String, alsoEscaping extra: UInt8? = nil, into out: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in s.utf8 {
            if isUnreserved(byte) && byte != extra {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    /// The bytes `encodeURIComponent` leaves alone; everything else is `%XX`-escaped.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "-_.!~*'()".utf8.contains(byte)
        }
    }

    /// The decoded value of the first `name=` argument of `query` (no leading `?`), or `nil` if absent.
    ///
    /// `name=` and a bare `name` both give `""`. Names compare ASCII case-insensitively, like
    /// nginx's `$arg_*` variables, and are matched before decoding.
    public static func queryValue(_ query: Substring, name: String) -> String? {
        rawQueryValue(query, name: name).map(decode)
    }

    /// The still percent-encoded value of the first `name=` argument of `query`, or `nil` if absent;
    /// what ``ChannelPath/parseValidated(rawPercentEncoded:limits:)`` takes for `?id=` or `?channels=`.
    public static func rawQueryValue(_ query: Substring, name: String) -> Substring? {
        for argument in query.split(separator: "&", omittingEmptySubsequences: true) {
            let key: Substring
            let value: Substring
            if let equals = argument.firstIndex(of: "=") {
                key = argument[..<equals]
                value = argument[argument.index(after: equals)...]
            } else {
                key = argument
                value = argument[argument.endIndex...]
            }
            if asciiCaseInsensitiveEqual(key.utf8, name.utf8) {
                return value
            }
        }
        return nil
    }

    /// Value of an ASCII hex digit, or `nil`.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Byte-wise equality ignoring ASCII case (non-ASCII bytes must match exactly).
    static func asciiCaseInsensitiveEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { asciiLowercased($0) == asciiLowercased($1) }
    }

    /// `byte` with A–Z mapped to a–z.
    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
