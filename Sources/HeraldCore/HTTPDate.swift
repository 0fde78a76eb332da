/// HTTP dates (`Last-Modified`, `If-Modified-Since`, `~time~`) and the statistics timestamp,
/// computed with civil-from-days arithmetic so no calendar library or time zone database is needed.
public enum HTTPDate {
    /// Formats Unix seconds as an RFC 1123 date: `Thu, 01 Jan 1970 00:00:00 GMT`, like nginx.
    public static func format(_ unixSeconds: Int64) -> String {
        var out: [UInt8] = []
        append(unixSeconds, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses RFC 1123, RFC 850 and asctime dates (always GMT); `nil` when it is not one of those.
    public static func parse(_ s: String) -> Int64? {
        var scanner = DateScanner(s)
        scanner.skipSpaces()
        guard let weekday = scanner.letters(), isWeekday(weekday) else { return nil }
        let date: CivilDateTime?
        if scanner.take(UInt8(ascii: ",")) {
            guard scanner.take(UInt8(ascii: " ")) else { return nil }
            scanner.skipSpaces()
            date = parseRFC1123OrRFC850(&scanner)
        } else if scanner.take(UInt8(ascii: " ")) {
            date = parseAsctime(&scanner)
        } else {
            return nil
        }
        scanner.skipSpaces()
        guard let date, scanner.isAtEnd else { return nil }
        return date.unixSeconds
    }

    /// Formats Unix seconds as `2024-05-09T21:16:33` (UTC, no zone), the statistics `time` field.
    public static func iso8601(_ unixSeconds: Int64) -> String {
        let t = CivilDateTime(unixSeconds: unixSeconds)
        var out: [UInt8] = []
        out.reserveCapacity(19)
        DecimalFormatting.appendPadded(t.year, width: 4, into: &out)
        out.append(UInt8(ascii: "-"))
        DecimalFormatting.appendPadded(Int64(t.month), width: 2, into: &out)
        out.append(UInt8(ascii: "-"))
        DecimalFormatting.appendPadded(Int64(t.day), width: 2, into: &out)
        out.append(UInt8(ascii: "T"))
        appendClock(t, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the RFC 1123 form of `unixSeconds` to `out`, for the template hot path.
    static func append(_ unixSeconds: Int64, into out: inout [UInt8]) {
        let t = CivilDateTime(unixSeconds: unixSeconds)
        out.reserveAdditional(29)
        out.append(contentsOf: shortWeekdays[t.weekday].utf8)
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: " "))
        DecimalFormatting.appendPadded(Int64(t.day), width: 2, into: &out)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: months[t.month - 1].utf8)
        out.append(UInt8(ascii: " "))
        DecimalFormatting.appendPadded(t.year, width: 4, into: &out)
        out.append(UInt8(ascii: " "))
        appendClock(t, into: &out)
        out.append(contentsOf: " GMT".utf8)
    }

    static func appendClock(_ t: CivilDateTime, into out: inout [UInt8]) {
        DecimalFormatting.appendPadded(Int64(t.hour), width: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        DecimalFormatting.appendPadded(Int64(t.minute), width: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        DecimalFormatting.appendPadded(Int64(t.second), width: 2, into: &out)
    }

    static let shortWeekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let longWeekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Accepts any weekday name in either length: clients echo our own dates, and nginx does not
    /// cross-check the weekday either.
    static func isWeekday(_ name: [UInt8]) -> Bool {
        (shortWeekdays + longWeekdays).contains { PercentDecoding.asciiCaseInsensitiveEqual($0.utf8, name) }
    }

    static func month(_ name: [UInt8]) -> Int? {
        months.firstIndex { PercentDecoding.asciiCaseInsensitiveEqual($0.utf8, name) }.map { $0 + 1 }
    }

    /// `01 Jan 1970 00:00:00 GMT` or `01-Jan-70 00:00:00 GMT`.
    static func parseRFC1123OrRFC850(_ scanner: inout DateScanner) -> CivilDateTime? {
        guard let day = scanner.number(digits: 2...2) else { return nil }
        let separator: UInt8
        if scanner.take(UInt8(ascii: "-")) {
            separator = UInt8(ascii: "-")
        } else if scanner.take(UInt8(ascii: " ")) {
            separator = UInt8(ascii: " ")
        } else {
            return nil
        }
        guard let monthName = scanner.letters(), let month = month(monthName), scanner.take(separator),
            var year = scanner.number(digits: 2...4)
        else { return nil }
        if separator == UInt8(ascii: "-") {
            // RFC 850's two-digit year, pivoting like nginx.
            guard scanner.lastNumberDigits == 2 else { return nil }
            year += year < 70 ? 2000 : 1900
        } else {
            guard scanner.lastNumberDigits == 4 else { return nil }
        }
        guard scanner.take(UInt8(ascii: " ")), let clock = parseClock(&scanner), scanner.take(UInt8(ascii: " ")),
            let zone = scanner.letters(), isGMT(zone)
        else { return nil }
        return CivilDateTime.validated(year: year, month: month, day: day, clock: clock)
    }

    /// `Jan  1 00:00:00 1970` (day padded with a space or a zero).
    static func parseAsctime(_ scanner: inout DateScanner) -> CivilDateTime? {
        guard let monthName = scanner.letters(), let month = month(monthName), scanner.take(UInt8(ascii: " "))
        else { return nil }
        _ = scanner.take(UInt8(ascii: " "))
        guard let day = scanner.number(digits: 1...2), scanner.take(UInt8(ascii: " ")),
            let clock = parseClock(&scanner), scanner.take(UInt8(ascii: " ")),
            let year = scanner.number(digits: 4...4)
        else { return nil }
        return CivilDateTime.validated(year: year, month: month, day: day, clock: clock)
    }

    static func parseClock(_ scanner: inout DateScanner) -> (hour: Int64, minute: Int64, second: Int64)? {
        guard let hour = scanner.number(digits: 2...2), scanner.take(UInt8(ascii: ":")),
            let minute = scanner.number(digits: 2...2), scanner.take(UInt8(ascii: ":")),
            let second = scanner.number(digits: 2...2)
        else { return nil }
        return (hour, minute, second)
    }

    static func isGMT(_ zone: [UInt8]) -> Bool {
        PercentDecoding.asciiCaseInsensitiveEqual(zone, "GMT".utf8)
            || PercentDecoding.asciiCaseInsensitiveEqual(zone, "UTC".utf8)
    }
}
