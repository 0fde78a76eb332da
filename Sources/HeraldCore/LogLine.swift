/// How `herald serve` writes its log: one line per event.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `time=… level=info logger=herald msg="…" key=value …`, for people and logfmt parsers.
    case logfmt
    /// `{"time":"…","level":"info","logger":"herald","msg":"…","key":"value"}`, for log pipelines.
    case json
}

/// Renders one log event as one line (no newline): time, level, logger label, message, then the
/// event's fields in the order given. Pure, so the quoting is tested without a logger.
public enum LogLine {
    public static func render(
        _ format: LogFormat, time: String, level: String, logger: String, message: String,
        fields: [(key: String, value: String)]
    ) -> String {
        // A field named like one of the line's own keys is renamed, so it never hides them.
        let own: Set<String> = ["time", "level", "logger", "msg"]
        let all =
            [("time", time), ("level", level), ("logger", logger), ("msg", message)]
            + fields.map { (own.contains($0.key) ? "field." + $0.key : $0.key, $0.value) }
        switch format {
        case .logfmt:
            return all.map { "\(logfmtKey($0.0))=\(logfmtValue($0.1))" }.joined(separator: " ")
        case .json:
            return "{"
                + all.map { "\"\(JSONEscaping.escaped($0.0))\":\"\(JSONEscaping.escaped($0.1))\"" }.joined(
                    separator: ",") + "}"
        }
    }

    /// A key keeps only what logfmt keys may hold; anything else becomes `_`.
    static func logfmtKey(_ key: String) -> String {
        let cleaned = String(
            key.map { $0.isWhitespace || $0 == "=" || $0 == "\"" || $0.asciiValue.map { $0 < 0x20 } == true ? "_" : $0 }
        )
        return cleaned.isEmpty ? "_" : cleaned
    }

    /// A value as is when it is one plain word, else quoted with `\`, `"` and control characters escaped.
    static func logfmtValue(_ value: String) -> String {
        let plain =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy {
                $0.value > 0x20 && $0 != "=" && $0 != "\"" && $0 != "\\" && $0.value != 0x7F
            }
        // Not one plain word: a double-quoted string, escaped as the stats' YAML strings are (logfmt
        // readers take the same escapes), so a value can never break the line.
        return plain ? value : StatsRenderer.yamlQuoted(value)
    }

    /// `2026-12-01T18:46:34.123Z` for Unix time in milliseconds.
    public static func timestamp(unixMilliseconds: Int64) -> String {
        let seconds = unixMilliseconds >= 0 ? unixMilliseconds / 1000 : (unixMilliseconds - 999) / 1000
        let millis = Int(unixMilliseconds - seconds * 1000)
        let civil = CivilDateTime(unixSeconds: seconds)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(civil.year)-\(two(civil.month))-\(two(civil.day))T\(two(civil.hour)):\(two(civil.minute)):"
            + "\(two(civil.second)).\(fraction)Z"
    }
}
