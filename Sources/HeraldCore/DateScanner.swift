/// A tiny cursor over ASCII bytes for the date grammars.
struct DateScanner {
    let bytes: [UInt8]
    var index = 0
    /// How many digits the last successful ``number(digits:)`` read.
    var lastNumberDigits = 0

    init(_ s: String) { bytes = Array(s.utf8) }

    var isAtEnd: Bool { index == bytes.count }

    mutating func skipSpaces() {
        while index < bytes.count && (bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t")) {
            index += 1
        }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Reads a run of ASCII letters (at least one).
    mutating func letters() -> [UInt8]? {
        let start = index
        while index < bytes.count, (bytes[index] | 0x20) >= UInt8(ascii: "a"),
            (bytes[index] | 0x20) <= UInt8(ascii: "z")
        {
            index += 1
        }
        return index > start ? Array(bytes[start..<index]) : nil
    }

    /// Reads a decimal number whose digit count lies in `digits`.
    mutating func number(digits: ClosedRange<Int>) -> Int64? {
        let start = index
        var value: Int64 = 0
        while index < bytes.count, index - start < digits.upperBound,
            bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9")
        {
            value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        let count = index - start
        // A longer run of digits than allowed is garbage, not a prefix to stop at.
        let followedByDigit =
            index < bytes.count && bytes[index] >= UInt8(ascii: "0")
            && bytes[index] <= UInt8(ascii: "9")
        guard digits.contains(count), !followedByDigit else {
            index = start
            return nil
        }
        lastNumberDigits = count
        return value
    }
}
