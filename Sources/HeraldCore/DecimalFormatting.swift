/// Appends integers as ASCII decimal without going through `String`, for the rendering hot path.
enum DecimalFormatting {
    /// Appends `value` in decimal, with a leading `-` when negative.
    static func append(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        append(value.magnitude, into: &out)
    }

    /// Appends `value` in decimal.
    static func append(_ value: UInt64, into out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") &+ UInt8(value))
            return
        }
        // 20 digits hold UInt64.max; fill from the right, then copy once.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            var v = value
            var index = raw.count
            while v > 0 {
                index -= 1
                raw[index] = UInt8(ascii: "0") &+ UInt8(v % 10)
                v /= 10
            }
            out.append(contentsOf: raw[index...])
        }
    }

    /// Appends `value` left-padded with zeros to `width` digits (non-negative values only).
    static func appendPadded(_ value: Int64, width: Int, into out: inout [UInt8]) {
        var digits = 1
        var v = value.magnitude
        while v >= 10 { v /= 10; digits += 1 }
        if value < 0 { out.append(UInt8(ascii: "-")) }
        if digits < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits)) }
        append(value.magnitude, into: &out)
    }
}
