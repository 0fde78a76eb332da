import HeraldCore
import Testing

/// Templates escape values for their context: JSON, JavaScript inside HTML, HTML, or not at all.
@Suite struct MessageTemplateEscapingTests {
    static let streamingPage = MessageTemplate(
        "<script>p(~id~,'~channel~','~text~','~event-id~', '~time~', '~tag~');</script>")

    static func render(
        _ template: MessageTemplate, text: [UInt8], channel: String = "ch", eventID: String? = nil
    )
        -> [UInt8]
    {
        let message = Message(channel: channel, id: 1, time: 0, tag: 2, eventID: eventID, text: text)
        var out: [UInt8] = []
        template.render(message, into: &out)
        return out
    }

    @Test(arguments: [
        ("{\"a\":\"~text~\"}", MessageTemplate.Escaping.json), ("  [~text~]", .json),
        ("<script>p('~text~')</script>", .javaScriptInHTML), ("<SCRIPT>x</SCRIPT>", .javaScriptInHTML),
        ("<div><Script type=x>q('~text~')</script></div>", .javaScriptInHTML),
        ("<p>~text~</p>", .html), ("~text~<br>", .html), ("<!-- ~text~ -->", .html), ("~text~</b>", .html),
        ("~text~", .verbatim), ("~text~|", .verbatim), ("", .verbatim), ("a < b", .verbatim), ("<~text~>", .verbatim),
        ("1<2", .verbatim), ("\r\n~text~\r\n", .verbatim),
    ])
    func escapingIsChosenOnceFromTheSource(source: String, escaping: MessageTemplate.Escaping) {
        let template = MessageTemplate(source)
        #expect(template.escaping == escaping)
        #expect(template.isJSON == (escaping == .json))
    }

    @Test func plainTextStaysByteIdenticalForEveryByte() {
        let all = (0...255).map { UInt8($0) }
        #expect(Self.render(.plainText, text: all) == all)
        #expect(
            Self.render(MessageTemplate("~text~|~channel~"), text: all, channel: "<\r\n>") == all
                + Array("|<\r\n>".utf8))
    }

    @Test(arguments: [
        ("<", #"\x3c"#), (">", #"\x3e"#), ("&", #"\x26"#), ("'", #"\x27"#), ("\"", #"\x22"#), ("\\", #"\x5c"#),
        ("`", #"\x60"#), ("\n", #"\x0a"#), ("\r", #"\x0d"#), ("\u{0}", #"\x00"#), ("\u{1F}", #"\x1f"#),
        ("\u{7F}", #"\x7f"#), ("\u{2028}", #"\u2028"#), ("\u{2029}", #"\u2029"#), ("é😀", "é😀"), ("/", "/"),
        ("abc xyz", "abc xyz"), ("</script>", #"\x3c/script\x3e"#), ("\u{2027}\u{202A}", "\u{2027}\u{202A}"),
    ])
    func javaScriptEscapes(text: String, escaped: String) {
        #expect(JavaScriptEscaping.escaped(text) == escaped)
        let out = Self.render(MessageTemplate("<script>f('~text~')</script>"), text: Array(text.utf8))
        #expect(String(decoding: out, as: UTF8.self) == "<script>f('\(escaped)')</script>")
    }

    @Test func javaScriptReplacesInvalidUTF8() {
        let out = Self.render(MessageTemplate("<script>f('~text~')</script>"), text: [0x61, 0xFF, 0xE2, 0x80, 0x62])
        #expect(String(decoding: out, as: UTF8.self) == #"<script>f('a\ufffd\ufffdb')</script>"#)
    }

    static let hostileTexts: [String] = [
        "</script><script>alert(1)</script>", "</SCRIPT >", "'); alert(1); ('", "\"); alert(1); (\"", "\\'",
        "a\r\nb", "\u{2028}\u{2029}", "<!--", "<![CDATA[", "]]>", "${x}`", "\u{0}\u{1}\u{7F}", "é😀中文",
        "%3C/script%3E", "&lt;/script&gt;", "\\x3c/script\\x3e", "\\u2028", "~text~ ~channel~", "",
    ]

    @Test(arguments: hostileTexts)
    func streamingPageNeverLetsAValueOut(text: String) throws {
        let out = Self.render(Self.streamingPage, text: Array(text.utf8), channel: text, eventID: text)
        let page = String(decoding: out, as: UTF8.self)
        #expect(out.count { $0 == UInt8(ascii: "<") } == 2)
        #expect(!out.contains(0x0A) && !out.contains(0x0D))
        #expect(page.hasSuffix(");</script>"))
        // The page's p(...) gets the original strings back after JavaScript unescapes the literals.
        let arguments = try #require(Self.stringArguments(of: page))
        #expect(arguments == [text, text, text, "Thu, 01 Jan 1970 00:00:00 GMT", "2"])
    }

    /// Every scalar of the first two UTF-8 lengths and the risky ranges, and every ASCII pair.
    @Test func streamingPageRoundTripsScalarsAndPairs() {
        var texts = (0...0x7FF).compactMap(Unicode.Scalar.init).map(String.init)
        texts += (0x2000...0x206F).compactMap(Unicode.Scalar.init).map(String.init)
        texts += ["\u{D7FF}", "\u{E000}", "\u{FEFF}", "\u{FFFD}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}", "\u{1F600}"]
        for high in UInt8(0)...0x7F {
            for low in UInt8(0)...0x7F { texts.append(String(decoding: [high, low], as: UTF8.self)) }
        }
        let failures = texts.filter { text in
            let out = Self.render(Self.streamingPage, text: Array(text.utf8), channel: text, eventID: text)
            let arguments = Self.stringArguments(of: String(decoding: out, as: UTF8.self))
            return out.count { $0 == UInt8(ascii: "<") } != 2 || out.contains(0x0A) || out.contains(0x0D)
                || arguments?.prefix(3) != [text, text, text]
        }
        #expect(failures.isEmpty, "\(failures.prefix(5).map(\.debugDescription))")
    }

    @Test(arguments: [
        ("<p>~text~</p>", "<&>\"'x", "<p>&lt;&amp;&gt;&quot;&#39;x</p>"),
        ("<p title=\"~channel~\">~text~</p>", "a\nb", "<p title=\"ch\">a\nb</p>"),
        ("<p>~text~</p>", "plain é", "<p>plain é</p>"),
    ])
    func htmlTemplatesUseEntities(source: String, text: String, expected: String) {
        let out = Self.render(MessageTemplate(source), text: Array(text.utf8))
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    // MARK: A small JavaScript string-literal reader, to check what the page's script receives.

    /// The single-quoted string arguments of the page's `p(...)` call, unescaped as JavaScript
    /// would; `nil` if a literal is malformed or anything but numbers and literals appears.
    static func stringArguments(of page: String) -> [String]? {
        var bytes = Array(page.utf8)[...]
        guard bytes.starts(with: "<script>p(".utf8) else { return nil }
        bytes = bytes.dropFirst(10)
        var strings: [String] = []
        while let byte = bytes.first {
            switch byte {
            case UInt8(ascii: "'"):
                bytes = bytes.dropFirst()
                guard let literal = unescapeLiteral(&bytes) else { return nil }
                strings.append(literal)
            case UInt8(ascii: ")"):
                return Array(bytes) == Array(");</script>".utf8) ? strings : nil
            case UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                bytes = bytes.dropFirst()
            default:
                return nil
            }
        }
        return nil
    }

    /// Reads up to the closing `'`, applying JavaScript's escapes; code units, so surrogates pair up.
    static func unescapeLiteral(_ bytes: inout ArraySlice<UInt8>) -> String? {
        var units: [UInt16] = []
        var raw: [UInt8] = []
        func flushRaw() {
            units += String(decoding: raw, as: UTF8.self).utf16
            raw = []
        }
        while let byte = bytes.popFirst() {
            switch byte {
            case UInt8(ascii: "'"):
                flushRaw()
                return String(decoding: units, as: UTF16.self)
            case 0x0A, 0x0D:
                return nil  // a line break ends a JavaScript string with a syntax error
            case UInt8(ascii: "\\"):
                flushRaw()
                guard let escape = bytes.popFirst() else { return nil }
                switch escape {
                case UInt8(ascii: "x"):
                    guard let value = hex(&bytes, digits: 2) else { return nil }
                    units.append(value)
                case UInt8(ascii: "u"):
                    guard let value = hex(&bytes, digits: 4) else { return nil }
                    units.append(value)
                case UInt8(ascii: "n"): units.append(0x0A)
                case UInt8(ascii: "r"): units.append(0x0D)
                case UInt8(ascii: "t"): units.append(0x09)
                default: units.append(UInt16(escape))
                }
            default:
                raw.append(byte)
            }
        }
        return nil
    }

    static func hex(_ bytes: inout ArraySlice<UInt8>, digits: Int) -> UInt16? {
        guard bytes.count >= digits,
            let value = UInt16(String(decoding: bytes.prefix(digits), as: UTF8.self), radix: 16)
        else { return nil }
        bytes = bytes.dropFirst(digits)
        return value
    }
}
