import HeraldCore
import Testing

@Suite struct EventSourceFormatTests {
    static func comment(_ template: String?) -> String {
        var out: [UInt8] = []
        EventSourceFormat.comment(template, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func event(
        _ text: String, template: MessageTemplate, eventType: String? = nil, channel: String = "ch"
    )
        -> String
    {
        let m = Message(
            channel: channel, id: 1, time: 0, tag: 1, eventID: "e1", eventType: eventType, text: Array(text.utf8))
        var out: [UInt8] = []
        EventSourceFormat.message(m, template: template, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test(
        arguments: [
            (nil, ": \n"),
            ("", ": \n"),
            ("\n\r\n", ": \n"),
            ("hello", ": hello\n"),
            ("a\nb", ": a\n: b\n"),
            ("a\r\nb\rc\n", ": a\n: b\n: c\n"),
            ("a\n\n\nb", ": a\n: b\n"),
            ("\r\n\r\nonly", ": only\n"),
            ("  spaced  ", ":   spaced  \n"),
        ] as [(String?, String)])
    func commentLines(template: String?, expected: String) {
        #expect(Self.comment(template) == expected)
    }

    @Test func pingIsTheReferenceComment() {
        #expect(EventSourceFormat.ping == Array(": -1\n".utf8))
    }

    @Test func referenceExampleForMultiLineBody() {
        #expect(Self.event("line 1\nline 2", template: .plainText) == "data: line 1\ndata: line 2\n\n")
    }

    @Test func referenceExampleWithIdAndJSONTemplate() {
        var out: [UInt8] = []
        EventSourceFormat.idLine("e1", into: &out)
        let m = Message(channel: "ch", id: 1, time: 0, tag: 1, eventID: "e1", text: Array("test message".utf8))
        EventSourceFormat.message(m, template: MessageTemplate(#"{"id":"~id~", "message":"~text~"}"#), into: &out)
        #expect(
            String(decoding: out, as: UTF8.self) == "id: e1\ndata: {\"id\":\"1\", \"message\":\"test message\"}\n\n")
    }

    @Test(arguments: [
        ("", "data: \n\n"),
        ("one", "data: one\n\n"),
        ("a\r\nb", "data: a\ndata: b\n\n"),
        ("a\rb", "data: a\ndata: b\n\n"),
        ("a\n\rb", "data: a\ndata: \ndata: b\n\n"),
        ("a\n\nb", "data: a\ndata: \ndata: b\n\n"),
        ("a\n", "data: a\ndata: \n\n"),
        ("\n", "data: \ndata: \n\n"),
        ("a\\nb", "data: a\\nb\n\n"),
    ])
    func plainBodiesSplitIntoDataLines(text: String, expected: String) {
        #expect(Self.event(text, template: .plainText) == expected)
    }

    @Test func eachLineIsRenderedThroughTheTemplateWithItsOwnSize() {
        let out = Self.event("ab\ncde", template: MessageTemplate("<~size~:~text~:~id~>"))
        #expect(out == "data: <2:ab:1>\ndata: <3:cde:1>\n\n")
    }

    @Test func jsonTemplateRendersOneDataLineForAMultiLineBody() {
        let out = Self.event("line 1\nline 2", template: .pushStreamJSON)
        #expect(out.hasPrefix("data: {\"id\":1,"))
        #expect(out.hasSuffix("}\n\n"))
        #expect(out.contains(#""text":"line 1\nline 2""#))
        #expect(out.filter { $0 == "\n" }.count == 2)
    }

    @Test func eventTypeLineComesFirst() {
        #expect(Self.event("x", template: .plainText, eventType: "update") == "event: update\ndata: x\n\n")
        #expect(Self.event("x", template: .plainText, eventType: "") == "data: x\n\n")
        #expect(Self.event("x", template: .plainText, eventType: "a\r\nb") == "event: ab\ndata: x\n\n")
    }

    @Test func messageNeverWritesAnIdLine() {
        #expect(!Self.event("x", template: .plainText).contains("id:"))
    }

    @Test func multiLineTemplatesCannotBreakTheStream() {
        #expect(Self.event("x", template: MessageTemplate("a\nb~text~\r\nc")) == "data: a\ndata: bx\ndata: c\n\n")
        #expect(
            Self.event("x", template: MessageTemplate("{\n\"t\":\"~text~\"\n}"))
                == "data: {\ndata: \"t\":\"x\"\ndata: }\n\n")
    }

    @Test func lineBreaksInTheChannelCannotBreakTheStream() {
        let out = Self.event("x", template: MessageTemplate("~channel~:~text~"), channel: "evil\n\nid: 9")
        #expect(out == "data: evil\ndata: \ndata: id: 9:x\n\n")
        #expect(!out.dropLast(2).contains("\n\n"))
    }

    @Test(arguments: [
        ("e1", "id: e1\n"), ("", "id: \n"), ("a\nb\rc", "id: abc\n"), ("hc:ch:5", "id: hc:ch:5\n"),
        ("\r\n", "id: \n"),
    ])
    func idLineStripsLineBreaks(value: String, expected: String) {
        var out: [UInt8] = []
        EventSourceFormat.idLine(value, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    /// Reads an SSE stream the way a browser does, to check the client gets the text back.
    static func browserData(_ stream: String) -> [String] {
        var events: [String] = []
        var data: [String] = []
        for line in stream.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                if !data.isEmpty { events.append(data.joined(separator: "\n")) }
                data = []
            } else if line.hasPrefix("data: ") {
                data.append(String(line.dropFirst(6)))
            }
        }
        return events
    }

    @Test(arguments: ["a", "a\nb", "a\n\nb", "a\n", "", "\n\n", " lead", "trail "])
    func browserReassemblesLFTexts(text: String) {
        #expect(Self.browserData(Self.event(text, template: .plainText)) == [text])
    }

    @Test func appendsToExistingOutput() {
        var out: [UInt8] = Array("id: 1\n".utf8)
        let m = Message(channel: "c", id: 1, time: 0, tag: 0, text: Array("x".utf8))
        EventSourceFormat.message(m, template: .plainText, into: &out)
        EventSourceFormat.message(m, template: .plainText, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "id: 1\ndata: x\n\ndata: x\n\n")
    }

    @Test func manyLineBodiesRenderInLinearTime() {
        // 200k lines: a per-line buffer copy would make this take minutes instead of milliseconds.
        let text = Array(String(repeating: "line\n", count: 200_000).utf8)
        let m = Message(channel: "c", id: 1, time: 0, tag: 0, text: text)
        var out: [UInt8] = []
        EventSourceFormat.message(m, template: MessageTemplate("~text~"), into: &out)
        // Each "line\n" becomes "data: line\n"; the trailing break adds "data: \n", then the blank line.
        #expect(out.count == 200_000 * 11 + 7 + 1)
    }
}
