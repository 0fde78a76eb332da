/// A size setting such as `32k` or `1m`, binary multiples like nginx's sizes.
public struct ByteSize: Hashable, Sendable, CustomStringConvertible {
    /// The size in bytes.
    public var bytes: Int

    /// A size of exactly `bytes` bytes.
    public init(bytes: Int) {
        self.bytes = bytes
    }

    /// Parses `32k`, `1m`, `1g` (1024-based, case-insensitive, optionally followed by `b` or `ib`:
    /// `32kb`, `1MiB`); plain digits, or digits with `b`, are bytes. `nil` if malformed or too large.
    public init?(parsing text: String) {
        let lower = text.lowercased().utf8
        let digits = lower.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty, let value = Int(Substring(digits)) else { return nil }
        let unit = String(Substring(lower[digits.endIndex...]))
        let shift: Int
        switch unit {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        default: return nil
        }
        let (result, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { return nil }
        bytes = result
    }

    /// The shortest exact form: `32k`, `1m`, `1g`, or plain bytes.
    public var description: String {
        for (shift, suffix) in [(30, "g"), (20, "m"), (10, "k")] where bytes != 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return "\(bytes)"
    }
}
