import HeraldCore
import Testing

@Suite struct MessageTemplateTests {
    static let message = Message(
        channel: "ch1", id: 7, time: 1_715_289_393, tag: 3, eventID: "e1", eventType: "update",
        text: Array("hello".utf8))

    static func render(_ template: String, _ message: Message = message) -> String {
        var out: [UInt8] = []
        MessageTemplate(template).render(message, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func rendersEveryPlaceholder() {
        #expect(
            Self.render("~id~|~text~|~channel~|~event-id~|~event-type~|~time~|~tag~|~size~")
                == "7|hello|ch1|e1|update|Thu, 09 May 2024 21:16:33 GMT|3|5")
    }

    @Test(arguments: ["~ID~", "~Id~", "~iD~"])
    func placeholdersIgnoreCase(template: String) {
        #expect(Self.render(template) == "7")
    }

    @Test(arguments: [
        ("~foo~", "~foo~"),
        ("~", "~"),
        ("~~", "~~"),
        ("~~id~", "~7"),
        ("~foo~id~", "~foo7"),
        ("~id", "~id"),
        ("id~", "id~"),
        ("~ id~", "~ id~"),
        ("~event_id~", "~event_id~"),
        ("~id~~id~", "77"),
        ("a~id~b~tag~c", "a7b3c"),
        ("", ""),
        ("no placeholders", "no placeholders"),
        ("é~text~😀", "éhello😀"),
    ])
    func literalsAndUnknownNamesStay(template: String, expected: String) {
        #expect(Self.render(template) == expected)
    }

    @Test func missingEventFieldsRenderEmpty() {
        let bare = Message(channel: "c", id: 1, time: 0, tag: 0, text: Array("x".utf8))
        #expect(Self.render("[~event-id~][~event-type~]", bare) == "[][]")
        #expect(Self.render(#"{"e":"~event-id~"}"#, bare) == #"{"e":""}"#)
    }

    @Test func controlMessagesRenderNegativeIdsAndEpoch() {
        #expect(
            Self.render(
                "~id~:~channel~:~text~:~time~:~tag~", .channelDeleted("ch", text: Array("Channel deleted".utf8)))
                == "-2:ch:Channel deleted:Thu, 01 Jan 1970 00:00:00 GMT:0")
        #expect(Self.render("~id~:~text~", .ping(text: Array(" ".utf8))) == "-1: ")
        #expect(Self.render("~id~:~channel~:~text~", .timedOut) == "-3::Timed out")
    }

    @Test func textIsNeverReExpanded() {
        let m = Message(channel: "~id~", id: 1, time: 0, tag: 0, text: Array("~id~ ~channel~ ~text~".utf8))
        #expect(Self.render("~text~/~channel~", m) == "~id~ ~channel~ ~text~/~id~")
    }

    @Test func plainTemplatesSubstituteVerbatim() {
        let m = Message(channel: "c\"h", id: 1, time: 0, tag: 0, text: Array("a\"b\\c\nd</script>".utf8))
        #expect(Self.render("p('~text~','~channel~')", m) == "p('a\"b\\c\nd</script>','c\"h')")
    }

    @Test func scriptTemplatesEscapeForJavaScriptInHTML() {
        let m = Message(channel: "c\"h", id: 1, time: 0, tag: 0, text: Array("a\"b\\c\nd</script>".utf8))
        #expect(
            Self.render("<script>p('~text~','~channel~')</script>", m)
                == #"<script>p('a\x22b\x5cc\x0ad\x3c/script\x3e','c\x22h')</script>"#)
    }

    @Test func nonJSONTemplatesPassInvalidUTF8Through() {
        let m = Message(channel: "c", id: 1, time: 0, tag: 0, text: [0x61, 0xFF, 0x00, 0x62])
        var out: [UInt8] = []
        MessageTemplate.plainText.render(m, into: &out)
        #expect(out == [0x61, 0xFF, 0x00, 0x62])
    }

    @Test(arguments: [
        ("{\"a\":1}", true), ("  {", true), ("\n\t[1]", true), ("\r\n{", true), ("[", true),
        ("~text~", false), ("x{", false), ("", false), ("   ", false), ("<p>{</p>", false), ("\"{\"", false),
    ])
    func detectsJSONTemplates(template: String, isJSON: Bool) {
        #expect(MessageTemplate(template).isJSON == isJSON)
    }

    @Test func pushStreamJSONMatchesTheReferenceTemplate() {
        #expect(
            MessageTemplate.pushStreamJSON.source
                == #"{"id":~id~,"channel":"~channel~","text":"~text~", "#
                + #""tag":"~tag~", "time":"~time~", "eventid":"~event-id~"}"#)
        #expect(MessageTemplate.pushStreamJSON.isJSON)
        #expect(MessageTemplate.plainText.source == "~text~")
        #expect(!MessageTemplate.plainText.isJSON)
    }

    @Test func plainJSONOutputIsByteIdenticalToPushStream() {
        #expect(
            Self.render(MessageTemplate.pushStreamJSON.source)
                == #"{"id":7,"channel":"ch1","text":"hello", "tag":"3", "#
                + #""time":"Thu, 09 May 2024 21:16:33 GMT", "eventid":"e1"}"#)
    }

    @Test(arguments: [
        ("\"", #"\""#), ("\\", #"\\"#), ("\n", #"\n"#), ("\r", #"\r"#), ("\t", #"\t"#),
        ("\u{8}", #"\b"#), ("\u{C}", #"\f"#), ("\u{0}", #"\u0000"#), ("\u{1}", #"\u0001"#),
        ("\u{1F}", #"\u001f"#), ("\u{7F}", "\u{7F}"), ("/", "/"), ("é", "é"), ("😀", "😀"),
        ("\u{2028}", "\u{2028}"), ("a\"b\\c", #"a\"b\\c"#),
    ])
    func jsonTemplatesEscapeText(text: String, escaped: String) {
        let m = Message(channel: "c", id: 1, time: 0, tag: 0, text: Array(text.utf8))
        #expect(Self.render(#"{"t":"~text~"}"#, m) == #"{"t":""# + escaped + #""}"#)
    }

    @Test func jsonTemplatesEscapeChannelAndEventFields() {
        let m = Message(
            channel: "a\"b", id: 1, time: 0, tag: 0, eventID: "x\ny", eventType: "t\\u", text: [])
        #expect(Self.render(#"["~channel~","~event-id~","~event-type~"]"#, m) == #"["a\"b","x\ny","t\\u"]"#)
    }

    @Test(arguments: [
        ([0xFF] as [UInt8], #"\ufffd"#),
        ([0x61, 0xC3], #"a\ufffd"#),
        ([0xC3, 0x28], #"\ufffd("#),
        ([0xC0, 0xAF], #"\ufffd\ufffd"#),
        ([0xE0, 0x80, 0xAF], #"\ufffd\ufffd\ufffd"#),
        ([0xED, 0xA0, 0x80], #"\ufffd\ufffd\ufffd"#),
        ([0xF4, 0x90, 0x80, 0x80], #"\ufffd\ufffd\ufffd\ufffd"#),
        ([0xE2, 0x82], #"\ufffd"#),
        ([0xF0, 0x9F, 0x98], #"\ufffd"#),
        ([0xF0, 0x9F, 0x98, 0x41], #"\ufffdA"#),
        ([0x80, 0x80], #"\ufffd\ufffd"#),
        ([0xE2, 0x82, 0xAC], "€"),
    ])
    func jsonTemplatesReplaceInvalidUTF8(bytes: [UInt8], escaped: String) {
        let m = Message(channel: "c", id: 1, time: 0, tag: 0, text: bytes)
        #expect(Self.render("[\"~text~\"]", m) == "[\"" + escaped + "\"]")
    }

    @Test func sizeCountsBytesOfTheRawText() {
        let m = Message(channel: "c", id: 1, time: 0, tag: 0, text: Array("é\"".utf8))
        #expect(Self.render(#"{"s":~size~,"t":"~text~"}"#, m) == #"{"s":3,"t":"é\""}"#)
    }

    @Test func lineOverloadSubstitutesTheLine() {
        var out: [UInt8] = []
        let text = Array("first\nsecond".utf8)
        let m = Message(channel: "c", id: 4, time: 0, tag: 0, text: text)
        MessageTemplate("~id~:~text~:~size~").render(m, line: text[6...], into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "4:second:6")
    }

    @Test func renderAppendsToExistingOutput() {
        var out: [UInt8] = Array("prefix|".utf8)
        MessageTemplate("~id~").render(Self.message, into: &out)
        MessageTemplate("|~tag~").render(Self.message, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "prefix|7|3")
    }

    @Test(arguments: [Int64.min, -1, 0, 9, 10, 1_000_000, Int64.max])
    func idsRenderInDecimal(id: Int64) {
        let m = Message(channel: "c", id: id, time: 0, tag: id, text: [])
        #expect(Self.render("~id~/~tag~", m) == "\(id)/\(id)")
    }

    @Test func equalityFollowsTheSource() {
        #expect(MessageTemplate("~id~") == MessageTemplate("~id~"))
        #expect(MessageTemplate("~id~") != MessageTemplate("~ID~"))
        #expect(Set([MessageTemplate("a"), MessageTemplate("a"), MessageTemplate("b")]).count == 2)
    }

    // MARK: JSON validity of pushStreamJSON output

    static let awkwardTexts: [[UInt8]] = [
        [], Array("plain".utf8), Array("\"quoted\"".utf8), Array("back\\slash\\".utf8), Array("\\\"".utf8),
        Array("line1\nline2\r\nline3\r".utf8), [0], [0, 1, 2, 0x1F, 0x7F], Array("tab\there".utf8),
        Array("😀 emoji and été and 中文".utf8), Array("~text~ ~id~ ~channel~".utf8), [0xFF, 0xFE],
        [0x61, 0xC3], [0xED, 0xA0, 0x80, 0x62], [0xF0, 0x9F, 0x98], Array("}{\"text\":\"".utf8),
        Array("\u{2028}\u{2029}".utf8), Array("</script><!--".utf8), Array(repeating: 0x22, count: 1000),
        Array(String(repeating: "é\"\\\n", count: 300).utf8),
    ]

    @Test(arguments: awkwardTexts)
    func pushStreamJSONAlwaysYieldsValidJSON(text: [UInt8]) throws {
        let m = Message(
            channel: "ch\"\\\n~text~", id: 12, time: 1_715_289_393, tag: 2, eventID: "ev\"id\u{1}", text: text)
        var out: [UInt8] = []
        MessageTemplate.pushStreamJSON.render(m, into: &out)
        let json = try #require(JSONValue.parse(out))
        #expect(json["id"]?.number == "12")
        #expect(json["channel"]?.string == m.channel)
        #expect(json["eventid"]?.string == "ev\"id\u{1}")
        #expect(json["tag"]?.string == "2")
        #expect(json["time"]?.string == "Thu, 09 May 2024 21:16:33 GMT")
        // Valid UTF-8 comes back exactly; invalid bytes come back as the standard library repairs them.
        #expect(json["text"]?.string == String(decoding: text, as: UTF8.self))
        #expect(!out.contains(0x0A) && !out.contains(0x0D))
    }

    @Test func everySingleByteAndPairKeepsJSONValid() throws {
        var failures: [[UInt8]] = []
        for a in 0...255 {
            for b in stride(from: 0, through: 255, by: 5) {
                let text: [UInt8] = [UInt8(a), UInt8(b), 0x41]
                var out: [UInt8] = []
                MessageTemplate.pushStreamJSON.render(
                    Message(channel: "c", id: 1, time: 0, tag: 0, text: text), into: &out)
                guard let json = JSONValue.parse(out), json["text"]?.string == String(decoding: text, as: UTF8.self)
                else {
                    failures.append(text)
                    continue
                }
            }
        }
        #expect(failures.isEmpty)
    }
}
