/// A duration setting such as `30s` or `250ms`, in whole milliseconds.
public struct TimeSpan: Hashable, Sendable, CustomStringConvertible {
    /// The duration in milliseconds.
    public var milliseconds: Int64

    /// A duration of exactly `milliseconds`.
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// A duration of whole seconds.
    public static func seconds(_ seconds: Int64) -> TimeSpan {
        TimeSpan(milliseconds: seconds * 1000)
    }

    /// The duration in whole seconds, rounded down.
    public var seconds: Int64 { milliseconds / 1000 }

    /// Parses `250ms`, `30s`, `10m`, `2h`, `1d` (case-insensitive), nginx-style sums such as `1h30m`,
    /// and a plain number as seconds; `0` is allowed. `nil` if malformed, negative or too large.
    public init?(parsing text: String) {
        let bytes = Array(text.lowercased().utf8)
        guard !bytes.isEmpty else { return nil }
        var total: Int64 = 0
        var i = 0
        while i < bytes.count {
            let start = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            guard i > start, let value = Int64(String(decoding: bytes[start..<i], as: UTF8.self)) else { return nil }
            let unitStart = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "a"), bytes[i] <= UInt8(ascii: "z") { i += 1 }
            let unit = String(decoding: bytes[unitStart..<i], as: UTF8.self)
            let scale: Int64
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            case "d": scale = 86_400_000
            // A bare number is seconds, but only on its own: `1h30` is a typo, not 1h30s.
            case "" where start == 0 && i == bytes.count: scale = 1000
            default: return nil
            }
            let (product, o1) = value.multipliedReportingOverflow(by: scale)
            let (sum, o2) = total.addingReportingOverflow(product)
            guard !o1, !o2 else { return nil }
            total = sum
        }
        milliseconds = total
    }

    /// The shortest exact form in one unit: `250ms`, `30s`, `10m`, `2h`, `1d`.
    public var description: String {
        guard milliseconds % 1000 == 0 else { return "\(milliseconds)ms" }
        let seconds = milliseconds / 1000
        for (size, suffix) in [(Int64(86_400), "d"), (3600, "h"), (60, "m")] where seconds != 0 && seconds % size == 0 {
            return "\(seconds / size)\(suffix)"
        }
        return "\(seconds)s"
    }
}
