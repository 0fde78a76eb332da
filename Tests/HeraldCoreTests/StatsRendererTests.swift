import HeraldCore
import Testing

@Suite struct StatsFormatTests {
    @Test(
        arguments: [
            (nil, StatsFormat.json),
            ("", .json),
            ("*/*", .json),
            ("application/json", .json),
            ("text/plain", .plain),
            ("application/yaml", .yaml),
            ("application/xml", .xml),
            ("text/x-json", .xJSON),
            ("text/x-yaml", .xYAML),
            ("text/plainish", .plain),
            ("application/xml; charset=utf-8", .xml),
            ("text/html", .json),
            ("plain", .json),
            ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", .xml),
            ("text/html, text/plain", .plain),
            ("application/json, text/plain", .json),
            ("text/PLAIN", .plain),
            ("/yaml", .yaml),
            ("text/", .json),
            ("text/x-", .json),
        ] as [(String?, StatsFormat)])
    func choosesFormatFromAccept(accept: String?, expected: StatsFormat) {
        #expect(StatsFormat(accept: accept) == expected)
    }

    @Test(arguments: [
        (StatsFormat.json, "application/json"), (.plain, "text/plain"), (.yaml, "application/yaml"),
        (.xml, "application/xml"), (.xJSON, "text/x-json"), (.xYAML, "text/x-yaml"),
    ])
    func contentTypes(format: StatsFormat, expected: String) {
        #expect(format.contentType == expected)
    }
}

@Suite struct StatsRendererTests {
    static let ch1 = ChannelInfo(channel: "ch1", publishedMessages: 1, storedMessages: 1, subscribers: 0)
    static let ch3 = ChannelInfo(channel: "ch3", publishedMessages: 1, storedMessages: 1, subscribers: 0)
    static let may9: Int64 = 1_715_289_393

    // MARK: single

    @Test(arguments: [StatsFormat.json, .xJSON])
    func singleJSON(format: StatsFormat) {
        #expect(
            StatsRenderer.single(Self.ch1, as: format)
                == "{\"channel\": \"ch1\", \"published_messages\": 1, \"stored_messages\": 1, \"subscribers\": 0}\r\n")
    }

    @Test func singlePlainSaysActiveSubscribers() {
        #expect(
            StatsRenderer.single(Self.ch1, as: .plain)
                == "channel: ch1\r\npublished_messages: 1\r\nstored_messages: 1\r\nactive_subscribers: 0\r\n")
    }

    @Test(arguments: [StatsFormat.yaml, .xYAML])
    func singleYAML(format: StatsFormat) {
        #expect(
            StatsRenderer.single(Self.ch1, as: format)
                == "  channel: ch1\r\n  published_messages: 1\r\n  stored_messages: 1\r\n  subscribers: 0\r\n")
    }

    @Test func singleXMLEndsWithABlankLine() {
        #expect(
            StatsRenderer.single(Self.ch1, as: .xml)
                == "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<channel>\r\n  <name>ch1</name>\r\n"
                + "  <published_messages>1</published_messages>\r\n  <stored_messages>1</stored_messages>\r\n"
                + "  <subscribers>0</subscribers>\r\n</channel>\r\n\r\n")
    }

    @Test func largeCountersAreUnquoted() {
        let info = ChannelInfo(
            channel: "c", publishedMessages: 9_000_000_000, storedMessages: 20, subscribers: 12_345)
        #expect(
            StatsRenderer.single(info, as: .json)
                == "{\"channel\": \"c\", \"published_messages\": 9000000000, \"stored_messages\": 20, "
                + "\"subscribers\": 12345}\r\n")
    }

    // MARK: group

    static func group(_ infos: [ChannelInfo], host: String = "h") -> StatsGroup {
        StatsGroup(hostname: host, time: may9, channels: 2, wildcardChannels: 0, uptime: 12, infos: infos)
    }

    @Test func groupJSONMatchesTheReference() {
        #expect(
            StatsRenderer.group(Self.group([Self.ch3, Self.ch1]), as: .json)
                == "{\"hostname\": \"h\", \"time\": \"2024-05-09T21:16:33\", \"channels\": 2, "
                + "\"wildcard_channels\": 0, "
                + "\"uptime\": 12, \"infos\": [\r\n"
                + "{\"channel\": \"ch3\", \"published_messages\": 1, \"stored_messages\": 1, \"subscribers\": 0},\r\n"
                + "{\"channel\": \"ch1\", \"published_messages\": 1, \"stored_messages\": 1, \"subscribers\": 0}\r\n"
                + "]}\r\n")
    }

    @Test func emptyGroupJSON() {
        #expect(
            StatsRenderer.group(Self.group([]), as: .json)
                == "{\"hostname\": \"h\", \"time\": \"2024-05-09T21:16:33\", \"channels\": 2, "
                + "\"wildcard_channels\": 0, "
                + "\"uptime\": 12, \"infos\": [\r\n]}\r\n")
    }

    @Test func groupPlain() {
        #expect(
            StatsRenderer.group(Self.group([Self.ch3, Self.ch1]), as: .plain)
                == "hostname: h, time: 2024-05-09T21:16:33, channels: 2, wildcard_channels: 0, uptime: 12, infos: \r\n"
                + "channel: ch3\r\npublished_messages: 1\r\nstored_messages: 1\r\nactive_subscribers: 0,\r\n"
                + "channel: ch1\r\npublished_messages: 1\r\nstored_messages: 1\r\nactive_subscribers: 0\r\n")
        #expect(
            StatsRenderer.group(Self.group([]), as: .plain)
                == "hostname: h, time: 2024-05-09T21:16:33, channels: 2, wildcard_channels: 0, uptime: 12, "
                + "infos: \r\n\r\n")
    }

    @Test func groupYAML() {
        #expect(
            StatsRenderer.group(Self.group([Self.ch3, Self.ch1]), as: .yaml)
                == "hostname: h\r\ntime: 2024-05-09T21:16:33\r\nchannels: 2\r\nwildcard_channels: 0\r\nuptime: 12\r\n"
                + "infos: \r\n"
                + " -\r\n  channel: ch3\r\n  published_messages: 1\r\n  stored_messages: 1\r\n  subscribers: 0\r\n"
                + " -\r\n  channel: ch1\r\n  published_messages: 1\r\n  stored_messages: 1\r\n  subscribers: 0\r\n")
        #expect(StatsRenderer.group(Self.group([]), as: .xYAML).hasSuffix("uptime: 12\r\ninfos: \r\n\r\n"))
    }

    @Test func groupXML() {
        let item = { (name: String) in
            "<channel>\r\n  <name>\(name)</name>\r\n  <published_messages>1</published_messages>\r\n"
                + "  <stored_messages>1</stored_messages>\r\n  <subscribers>0</subscribers>\r\n</channel>\r\n"
        }
        let head =
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<root>\r\n  <hostname>h</hostname>\r\n"
            + "  <time>2024-05-09T21:16:33</time>\r\n  <channels>2</channels>\r\n"
            + "  <wildcard_channels>0</wildcard_channels>\r\n  <uptime>12</uptime>\r\n  <infos>\r\n"
        #expect(
            StatsRenderer.group(Self.group([Self.ch3, Self.ch1]), as: .xml)
                == head + item("ch3") + item("ch1") + "  </infos>\r\n</root>\r\n")
        #expect(StatsRenderer.group(Self.group([]), as: .xml) == head + "  </infos>\r\n</root>\r\n")
    }

    // MARK: summary

    static func summary(workers: [WorkerStats], host: String = "h") -> StatsSummary {
        StatsSummary(
            hostname: host, time: may9, channels: 1, wildcardChannels: 0, publishedMessages: 1, storedMessages: 1,
            messagesInTrash: 0, channelsInDelete: 0, channelsInTrash: 0, subscribers: 0, uptime: 5, workers: workers)
    }

    @Test func summaryJSONMatchesTheReference() {
        #expect(
            StatsRenderer.summary(
                Self.summary(workers: [WorkerStats(pid: 1234, subscribers: 0, uptime: 5)]), as: .json)
                == "{\"hostname\": \"h\", \"time\": \"2024-05-09T21:16:33\", \"channels\": 1, "
                + "\"wildcard_channels\": 0, "
                + "\"published_messages\": 1, \"stored_messages\": 1, \"messages_in_trash\": 0, "
                + "\"channels_in_delete\": 0, \"channels_in_trash\": 0, \"subscribers\": 0, \"uptime\": 5, "
                + "\"by_worker\": [\r\n{\"pid\": \"1234\", \"subscribers\": 0, \"uptime\": 5}\r\n]}\r\n")
    }

    @Test func summaryJSONWithSeveralWorkers() throws {
        let workers = [WorkerStats(pid: 1, subscribers: 2, uptime: 3), WorkerStats(pid: 4, subscribers: 5, uptime: 6)]
        let body = StatsRenderer.summary(Self.summary(workers: workers), as: .json)
        #expect(
            body.hasSuffix(
                "\"by_worker\": [\r\n{\"pid\": \"1\", \"subscribers\": 2, \"uptime\": 3},\r\n"
                    + "{\"pid\": \"4\", \"subscribers\": 5, \"uptime\": 6}\r\n]}\r\n"))
        let json = try #require(JSONValue.parse(body))
        guard case .array(let list) = json["by_worker"] else {
            Issue.record("by_worker is not an array")
            return
        }
        #expect(list.count == 2)
        #expect(list.first?["pid"]?.string == "1")
    }

    @Test func summaryPlain() {
        let workers = [WorkerStats(pid: 1, subscribers: 2, uptime: 3), WorkerStats(pid: 4, subscribers: 5, uptime: 6)]
        #expect(
            StatsRenderer.summary(Self.summary(workers: workers), as: .plain)
                == "hostname: h\r\ntime: 2024-05-09T21:16:33\r\nchannels: 1\r\nwildcard_channels: 0\r\n"
                + "published_messages: 1\r\nstored_messages: 1\r\nmessages_in_trash: 0\r\nchannels_in_delete: 0\r\n"
                + "channels_in_trash: 0\r\nsubscribers: 0\r\nuptime: 5\r\nby_worker:\r\n"
                + "  pid: 1\r\n  subscribers: 2\r\n  uptime: 3,\r\n  pid: 4\r\n  subscribers: 5\r\n  uptime: 6\r\n")
    }

    @Test func summaryYAML() {
        let workers = [WorkerStats(pid: 1, subscribers: 2, uptime: 3), WorkerStats(pid: 4, subscribers: 5, uptime: 6)]
        #expect(
            StatsRenderer.summary(Self.summary(workers: workers), as: .yaml)
                == "  hostname: h\r\n  time: 2024-05-09T21:16:33\r\n  channels: 1\r\n  wildcard_channels: 0\r\n"
                + "  published_messages: 1\r\n  stored_messages: 1\r\n  messages_in_trash: 0\r\n"
                + "  channels_in_delete: 0\r\n  channels_in_trash: 0\r\n  subscribers: 0\r\n  uptime: 5\r\n"
                + "  by_worker:\r\n"
                + "   -\r\n    pid: 1\r\n    subscribers: 2\r\n    uptime: 3\r\n"
                + "   -\r\n    pid: 4\r\n    subscribers: 5\r\n    uptime: 6\r\n")
    }

    @Test func summaryXML() {
        #expect(
            StatsRenderer.summary(Self.summary(workers: [WorkerStats(pid: 7, subscribers: 2, uptime: 3)]), as: .xml)
                == "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<infos>\r\n  <hostname>h</hostname>\r\n"
                + "  <time>2024-05-09T21:16:33</time>\r\n  <channels>1</channels>\r\n"
                + "  <wildcard_channels>0</wildcard_channels>\r\n  <published_messages>1</published_messages>\r\n"
                + "  <stored_messages>1</stored_messages>\r\n  <messages_in_trash>0</messages_in_trash>\r\n"
                + "  <channels_in_delete>0</channels_in_delete>\r\n  <channels_in_trash>0</channels_in_trash>\r\n"
                + "  <subscribers>0</subscribers>\r\n  <uptime>5</uptime>\r\n"
                + "  <by_worker><worker>\r\n  <pid>7</pid>\r\n  <subscribers>2</subscribers>\r\n"
                + "  <uptime>3</uptime>\r\n</worker>\r\n</by_worker>\r\n</infos>\r\n")
    }

    @Test(arguments: [StatsFormat.json, .plain, .yaml, .xml, .xJSON, .xYAML])
    func summaryWithoutWorkersStillRenders(format: StatsFormat) {
        let body = StatsRenderer.summary(Self.summary(workers: []), as: format)
        #expect(body.contains("by_worker"))
        if format == .json || format == .xJSON {
            #expect(JSONValue.parse(body) != nil)
        }
    }

    // MARK: escaping

    static let awkwardNames = ["a\"b", "back\\slash", "new\nline", "tab\t", "nul\u{0}", "été😀", "<&>'\"", ""]

    @Test(arguments: awkwardNames)
    func jsonBodiesStayValidAndKeepTheName(name: String) throws {
        let info = ChannelInfo(channel: name, publishedMessages: 3, storedMessages: 2, subscribers: 1)
        let single = try #require(JSONValue.parse(StatsRenderer.single(info, as: .json)))
        #expect(single["channel"]?.string == name)
        #expect(single["published_messages"]?.number == "3")
        let group = try #require(JSONValue.parse(StatsRenderer.group(Self.group([info, info], host: name), as: .json)))
        #expect(group["hostname"]?.string == name)
        #expect(JSONValue.parse(StatsRenderer.summary(Self.summary(workers: [], host: name), as: .json)) != nil)
    }

    @Test func xmlEscapesMarkupCharacters() {
        let info = ChannelInfo(channel: "<a&b>\"'", publishedMessages: 0, storedMessages: 0, subscribers: 0)
        #expect(StatsRenderer.single(info, as: .xml).contains("<name>&lt;a&amp;b&gt;&quot;&apos;</name>"))
        let group = StatsGroup(hostname: "h&", time: 0, channels: 0, wildcardChannels: 0, uptime: 0, infos: [])
        #expect(StatsRenderer.group(group, as: .xml).contains("<hostname>h&amp;</hostname>"))
    }

    @Test func xmlReplacesCharactersXMLCannotCarry() {
        let info = ChannelInfo(channel: "a\u{0}b\u{1B}c\td", publishedMessages: 0, storedMessages: 0, subscribers: 0)
        #expect(StatsRenderer.single(info, as: .xml).contains("<name>a\u{FFFD}b\u{FFFD}c\td</name>"))
    }

    @Test(arguments: [
        ("ch1", "ch1"), ("my_channel-2.x", "my_channel-2.x"), ("broad_x", "broad_x"),
        ("a: b", "\"a: b\""), ("", "\"\""), ("-x", "\"-x\""), ("#x", "\"#x\""), ("a\"b", "\"a\\\"b\""),
        ("new\nline", "\"new\\nline\""), ("été", "\"été\""), ("*x", "\"*x\""), ("x y", "\"x y\""),
    ])
    func yamlQuotesNamesOnlyWhenNeeded(name: String, rendered: String) {
        let info = ChannelInfo(channel: name, publishedMessages: 0, storedMessages: 0, subscribers: 0)
        #expect(StatsRenderer.single(info, as: .yaml).hasPrefix("  channel: \(rendered)\r\n"))
    }

    static let lineBreakingNames = [
        "a\r\nb", "a\nb", "a\rb", "nul\u{0}", "del\u{7F}", "nel\u{85}", "ls\u{2028}", "ps\u{2029}", "\u{1B}[2J", "\r\n",
    ]

    @Test(arguments: lineBreakingNames)
    func namesNeverAddLines(name: String) {
        let info = ChannelInfo(channel: name, publishedMessages: 1, storedMessages: 1, subscribers: 0)
        let clean = ChannelInfo(channel: "x", publishedMessages: 1, storedMessages: 1, subscribers: 0)
        for format in [StatsFormat.plain, .yaml, .xml] {
            #expect(
                Self.breaks(StatsRenderer.single(info, as: format))
                    == Self.breaks(StatsRenderer.single(clean, as: format)))
            let group = Self.group([info, info], host: name)
            #expect(
                Self.breaks(StatsRenderer.group(group, as: format))
                    == Self.breaks(StatsRenderer.group(Self.group([clean, clean]), as: format)))
            let summary = Self.summary(workers: [], host: name)
            #expect(
                Self.breaks(StatsRenderer.summary(summary, as: format))
                    == Self.breaks(StatsRenderer.summary(Self.summary(workers: []), as: format)))
        }
    }

    /// Line breaks as any line splitter sees them: CR, LF, NEL, U+2028, U+2029, and C0 controls.
    static func breaks(_ text: String) -> Int {
        text.unicodeScalars.count { scalar in
            let value = scalar.value
            return (value < 0x20 && value != 0x09) || value == 0x7F || value == 0x85 || value == 0x2028
                || value == 0x2029
        }
    }

    @Test(arguments: [
        ("a\r\nb", "a\\x0d\\x0ab"), ("tab\t", "tab\\x09"), ("del\u{7F}", "del\\x7f"), ("nel\u{85}", "nel\\u0085"),
        ("ls\u{2028}", "ls\\u2028"), ("back\\slash", "back\\slash"), ("été", "été"),
    ])
    func plainEscapesControlBytes(name: String, rendered: String) {
        let info = ChannelInfo(channel: name, publishedMessages: 0, storedMessages: 0, subscribers: 0)
        #expect(StatsRenderer.single(info, as: .plain).hasPrefix("channel: \(rendered)\r\n"))
    }

    @Test(arguments: [
        ("del\u{7F}", #""del\u007f""#), ("nel\u{85}", #""nel\u0085""#), ("ls\u{2028}", #""ls\u2028""#),
        ("a\r\nb", #""a\r\nb""#), ("bom\u{FEFF}", #""bom\ufeff""#), ("nul\u{0}", #""nul\u0000""#),
        ("back\\slash", #""back\\slash""#),
    ])
    func yamlQuotesAndEscapesLineBreaks(name: String, rendered: String) {
        let info = ChannelInfo(channel: name, publishedMessages: 0, storedMessages: 0, subscribers: 0)
        #expect(StatsRenderer.single(info, as: .yaml).hasPrefix("  channel: \(rendered)\r\n"))
    }

    @Test func xmlWritesLineBreaksAsCharacterReferences() {
        let info = ChannelInfo(
            channel: "a\r\nb\u{7F}\u{85}\u{2028}\u{2029}", publishedMessages: 0, storedMessages: 0, subscribers: 0)
        #expect(StatsRenderer.single(info, as: .xml).contains("<name>a&#13;&#10;b&#127;&#133;&#8232;&#8233;</name>"))
    }
}
