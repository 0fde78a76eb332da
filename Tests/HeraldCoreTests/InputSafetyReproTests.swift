import HeraldCore
import Testing

/// Inputs from the open internet that today's pure logic lets through; each must be refused or escaped.
@Suite struct InputSafetyReproTests {
    static let streamingPage = "<script>p(~id~,'~channel~','~text~','~event-id~', '~time~', '~tag~');</script>"

    @Test(arguments: ["</script><script>alert(1)</script>", "'); alert(1); ('", "a\r\nb", "\u{2028}"])
    func streamingPageKeepsTheTextInsideItsString(text: String) {
        let message = Message(channel: "ch", id: 1, time: 0, tag: 1, text: Array(text.utf8))
        var out: [UInt8] = []
        MessageTemplate(Self.streamingPage).render(message, into: &out)
        let rendered = String(decoding: out, as: UTF8.self)
        #expect(rendered.split(separator: "</script", omittingEmptySubsequences: false).count == 2)
        #expect(!rendered.contains("'); alert(1)"))
        #expect(!rendered.utf8.contains(0x0D) && !rendered.utf8.contains(0x0A))
        #expect(!rendered.contains("\u{2028}"))
    }

    @Test(arguments: ["a\r\nb", "nul\u{0}", "del\u{7F}", "{tag}", "a}b"])
    func controlBytesAndBracesAreNotChannelIDs(channel: String) {
        #expect(throws: ProtocolError.self) {
            try ChannelPath.validate(
                ChannelPath.parse(channel), maxChannelIDLength: nil, wildcardPrefix: nil,
                maxWildcardChannels: nil, isSubscriber: true)
        }
    }

    @Test func aCRLFInAChannelNameAddsNoPlainTextLine() {
        let info = ChannelInfo(
            channel: "x\r\nstored_messages: 999", publishedMessages: 1, storedMessages: 1, subscribers: 0)
        for format in [StatsFormat.plain, .yaml, .xml] {
            let clean = ChannelInfo(channel: "x", publishedMessages: 1, storedMessages: 1, subscribers: 0)
            let lines = Self.lineCount(StatsRenderer.single(info, as: format))
            #expect(lines == Self.lineCount(StatsRenderer.single(clean, as: format)))
        }
    }

    static func lineCount(_ text: String) -> Int {
        text.utf8.count { $0 == 0x0A || $0 == 0x0D }
    }
}
