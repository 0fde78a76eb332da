/// Byte-level UTF-8 validation following the Unicode "maximal subpart" replacement practice,
/// the same one `String(decoding:as:)` uses, so escaped output and Swift strings agree.
enum UTF8Validation {
    /// Whether `bytes` is entirely well-formed UTF-8.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer(isValid)
    }

    /// Whether `bytes` is entirely well-formed UTF-8.
    static func isValid(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer(isValid)
    }

    /// Whether `buffer` is entirely well-formed UTF-8.
    static func isValid(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < buffer.count {
            let length = validSequenceLength(buffer, at: i)
            if length == 0 { return false }
            i += length
        }
        return true
    }

    /// Length of the valid UTF-8 sequence starting at `i` (1…4), or 0 if it is not valid.
    static func validSequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let (length, consumed) = scan(bytes, at: i)
        return consumed == length ? length : 0
    }

    /// How many bytes one U+FFFD replaces when the sequence at `i` is invalid (at least 1).
    static func invalidSubpartLength(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        max(1, scan(bytes, at: i).consumed)
    }

    /// The expected length of the sequence at `i` and how many of its bytes are well-formed.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (length: Int, consumed: Int) {
        let lead = bytes[i]
        let length: Int
        // The second byte's range is narrower for some leads: it rules out overlongs,
        // surrogates and code points above U+10FFFF (Unicode Table 3-7).
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0x00...0x7F: return (1, 1)
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return (1, 0)
        }
        var consumed = 1
        while consumed < length && i + consumed < bytes.count {
            let byte = bytes[i + consumed]
            guard byte >= low && byte <= high else { break }
            low = 0x80
            high = 0xBF
            consumed += 1
        }
        return (length, consumed)
    }
}
