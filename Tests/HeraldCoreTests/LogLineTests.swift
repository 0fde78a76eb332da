import Testing

@testable import HeraldCore

/// The lines `herald serve --log-format logfmt|json` writes: one per event, read back the same
/// by logfmt and JSON parsers whatever the message and fields hold.
@Suite struct LogLineTests {
    static let nasty = [
        "", "plain", "two words", "a=b", "=", "say \"hi\"", #"C:\dir\"#, "line\nbreak", "cr\rlf\r\n", "tab\there",
        "\u{0}\u{1}\u{1B}[31mred\u{7F}", "é😀", " leading", "trailing ", "\"", "\\",
    ]

    @Test func logfmtPutsTheFixedKeysFirstThenTheFieldsInTheirOrder() {
        let line = LogLine.render(
            .logfmt, time: "2026-12-01T18:46:34.123Z", level: "info", logger: "herald", message: "listening",
            fields: [(key: "port", value: "8080"), (key: "address", value: "0.0.0.0")])
        #expect(
            line == "time=2026-12-01T18:46:34.123Z level=info logger=herald msg=listening port=8080 address=0.0.0.0")
    }

    @Test func logfmtQuotesAMessageOfSeveralWords() {
        let line = LogLine.render(
            .logfmt, time: "t", level: "warning", logger: "herald.redis", message: "lost the connection", fields: [])
        #expect(line == #"time=t level=warning logger=herald.redis msg="lost the connection""#)
    }

    @Test(arguments: [
        ("plain", "plain"), ("path/to:x-1.5", "path/to:x-1.5"), ("é😀", "é😀"), ("", #""""#),
        ("two words", #""two words""#), ("a=b", #""a=b""#), ("=", #""=""#), ("say \"hi\"", #""say \"hi\"""#),
        (#"C:\dir"#, #""C:\\dir""#), ("line\nbreak", #""line\nbreak""#), ("cr\rlf", #""cr\rlf""#),
        ("tab\there", #""tab\there""#), ("\u{0}", #""\u0000""#), ("\u{1}", #""\u0001""#),
        ("\u{1B}[31m", #""\u001b[31m""#), ("\u{1F}", #""\u001f""#), ("\u{7F}", #""\u007f""#), (" ", #"" ""#),
    ])
    func logfmtValuesAreOneWordOrQuotedAndEscaped(value: String, expected: String) {
        #expect(LogLine.logfmtValue(value) == expected)
        let line = LogLine.render(.logfmt, time: "t", level: "info", logger: "l", message: "m", fields: [("k", value)])
        #expect(line == "time=t level=info logger=l msg=m k=\(expected)")
    }

    @Test(arguments: [
        ("request.id", "request.id"), ("two words", "two_words"), ("a=b", "a_b"), ("say\"", "say_"), ("", "_"),
        ("tab\tkey", "tab_key"), ("new\nline", "new_line"), ("\u{1}x", "_x"), ("ünï", "ünï"),
    ])
    func logfmtKeysAreCleanedToOneWord(key: String, expected: String) {
        #expect(LogLine.logfmtKey(key) == expected)
        let line = LogLine.render(.logfmt, time: "t", level: "info", logger: "l", message: "m", fields: [(key, "v")])
        #expect(line == "time=t level=info logger=l msg=m \(expected)=v")
    }

    @Test func logfmtLinesReadBackAsWrittenByAnIndependentParser() throws {
        for value in Self.nasty {
            let line = LogLine.render(
                .logfmt, time: "t", level: "error", logger: value, message: value, fields: [("a", value), ("b", "x")])
            let pairs = try #require(LogfmtReader.parse(line), "\(line)")
            #expect(pairs.map(\.0) == ["time", "level", "logger", "msg", "a", "b"], "\(line)")
            #expect(pairs.map(\.1) == ["t", "error", value, value, value, "x"], "\(line)")
        }
    }

    @Test func noValueOrKeyBreaksTheLineOrWritesAControlByte() {
        for value in Self.nasty {
            for format in LogFormat.allCases {
                let line = LogLine.render(
                    format, time: "t", level: "info", logger: "l", message: value, fields: [(value, value)])
                #expect(!line.contains("\n") && !line.contains("\r"), "\(format): \(line)")
                #expect(!line.unicodeScalars.contains { $0.value < 0x20 }, "\(format): \(line)")
            }
        }
    }

    @Test func jsonIsOneObjectOfStringsInOrder() {
        let line = LogLine.render(
            .json, time: "2026-12-01T18:46:34.123Z", level: "info", logger: "herald", message: "listening",
            fields: [(key: "port", value: "8080"), (key: "address", value: "0.0.0.0")])
        #expect(
            line
                == #"{"time":"2026-12-01T18:46:34.123Z","level":"info","logger":"herald","msg":"listening","port":"8080","address":"0.0.0.0"}"#
        )
    }

    @Test func jsonLinesParseBackToWhatWasLoggedKeysIncluded() throws {
        for value in Self.nasty {
            let line = LogLine.render(
                .json, time: "t", level: "debug", logger: "l", message: value, fields: [(value + "k", value)])
            let parsed = try #require(JSONValue.parse(line), "\(line)")
            #expect(
                parsed
                    == .object([
                        ("time", .string("t")), ("level", .string("debug")), ("logger", .string("l")),
                        ("msg", .string(value)), (value + "k", .string(value)),
                    ]), "\(line)")
        }
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"), (1, "1970-01-01T00:00:00.001Z"), (5, "1970-01-01T00:00:00.005Z"),
        (50, "1970-01-01T00:00:00.050Z"), (100, "1970-01-01T00:00:00.100Z"), (999, "1970-01-01T00:00:00.999Z"),
        (1000, "1970-01-01T00:00:01.000Z"), (1_796_150_794_123, "2026-12-01T18:46:34.123Z"),
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"), (1_709_251_200_000, "2024-03-01T00:00:00.000Z"),
        (946_684_800_007, "2000-01-01T00:00:00.007Z"),
    ])
    func timestampsAreUTCWithThreeDigitsOfMilliseconds(millis: Int64, expected: String) {
        #expect(LogLine.timestamp(unixMilliseconds: millis) == expected)
    }

    @Test(arguments: [
        (Int64(-1), "1969-12-31T23:59:59.999Z"), (-999, "1969-12-31T23:59:59.001Z"),
        (-1000, "1969-12-31T23:59:59.000Z"), (-1001, "1969-12-31T23:59:58.999Z"), (-1500, "1969-12-31T23:59:58.500Z"),
        (-86_400_000, "1969-12-31T00:00:00.000Z"), (-86_400_001, "1969-12-30T23:59:59.999Z"),
    ])
    func timestampsBeforeNineteenSeventyCountBackFromTheEpoch(millis: Int64, expected: String) {
        #expect(LogLine.timestamp(unixMilliseconds: millis) == expected)
    }

    @Test func timestampsSortAsTheTimesDoAcrossTheEpoch() {
        var previous = LogLine.timestamp(unixMilliseconds: -3001)
        for millis in Int64(-3000)...3000 {
            let text = LogLine.timestamp(unixMilliseconds: millis)
            #expect(text.count == 24, "\(millis): \(text)")
            #expect(previous < text, "\(millis): \(previous) then \(text)")
            previous = text
        }
    }
}

/// A small logfmt reader, independent of the code under test: `key=word` or `key="quoted"`
/// pairs separated by one space, with `\"`, `\\`, `\n`, `\r`, `\t` and `\uXXXX` escapes.
private enum LogfmtReader {
    static func parse(_ line: String) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        var scalars = Array(line.unicodeScalars)[...]
        while !scalars.isEmpty {
            guard let equals = scalars.firstIndex(of: "="), equals > scalars.startIndex else { return nil }
            let key = String(String.UnicodeScalarView(scalars[..<equals]))
            if key.unicodeScalars.contains(where: { $0 == " " || $0 == "\"" }) { return nil }
            scalars = scalars[(equals + 1)...]
            var value = String.UnicodeScalarView()
            if scalars.first == "\"" {
                scalars = scalars.dropFirst()
                while true {
                    guard let scalar = scalars.popFirst() else { return nil }
                    if scalar == "\"" { break }
                    guard scalar == "\\" else {
                        value.append(scalar)
                        continue
                    }
                    switch scalars.popFirst() {
                    case "\""?: value.append("\"")
                    case "\\"?: value.append("\\")
                    case "n"?: value.append("\n")
                    case "r"?: value.append("\r")
                    case "t"?: value.append("\t")
                    case "u"?:
                        guard scalars.count >= 4,
                            let code = UInt32(String(String.UnicodeScalarView(scalars.prefix(4))), radix: 16),
                            let decoded = Unicode.Scalar(code)
                        else { return nil }
                        value.append(decoded)
                        scalars = scalars.dropFirst(4)
                    default: return nil
                    }
                }
            } else {
                while let scalar = scalars.first, scalar != " " {
                    if scalar == "\"" || scalar == "=" { return nil }
                    value.append(scalar)
                    scalars = scalars.dropFirst()
                }
                if value.isEmpty { return nil }
            }
            pairs.append((key, String(value)))
            if let next = scalars.first {
                guard next == " " else { return nil }
                scalars = scalars.dropFirst()
                if scalars.isEmpty { return nil }
            }
        }
        return pairs
    }
}
