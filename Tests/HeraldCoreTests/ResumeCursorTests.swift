import HeraldCore
import Testing

@Suite struct ResumeCursorTests {
    static let awkwardChannels = [
        "ch1", "", "a,b", "a:b", "100%", "%41", "été", "😀", "中文", "a b", "a/b", "hc:x:1", "\"q\"", "W/",
        "-_.!~*'()", "\n\r\t\u{0}", "+&=?#",
    ]

    @Test(arguments: awkwardChannels)
    func roundTripsAwkwardChannelNames(channel: String) throws {
        let cursor = ResumeCursor([ChannelPosition(channel: channel, lastID: 42)])
        let text = cursor.description
        #expect(text.hasPrefix("hc:"))
        let body = text.dropFirst(3)
        #expect(body.filter { $0 == "," }.isEmpty)
        #expect(body.filter { $0 == ":" }.count == 1)
        let parsed = try #require(ResumeCursor(parsing: text))
        #expect(parsed == cursor)
        #expect(parsed.position(of: channel)?.lastID == 42)
    }

    @Test func roundTripsManyChannelsInOrder() throws {
        let positions = Self.awkwardChannels.enumerated().map { ChannelPosition(channel: $1, lastID: Int64($0 * 1000)) }
        let cursor = ResumeCursor(positions)
        #expect(try #require(ResumeCursor(parsing: cursor.description)).positions == positions)
    }

    @Test(arguments: [
        (["ch1": 5], "hc:ch1:5"),
        (["a,b": 1], "hc:a%2Cb:1"),
        (["a:b": 0], "hc:a%3Ab:0"),
        (["été": 3], "hc:%C3%A9t%C3%A9:3"),
        (["100%": 9], "hc:100%25:9"),
        (["": 7], "hc::7"),
        (["a b": 1], "hc:a%20b:1"),
        (["x/y": 1], "hc:x%2Fy:1"),
        (["-_.!~*'()": 2], "hc:-_.!~*'():2"),
    ])
    func encodesLikeEncodeURIComponent(positions: [String: Int64], expected: String) {
        let cursor = ResumeCursor(positions.map { ChannelPosition(channel: $0.key, lastID: $0.value) })
        #expect(cursor.description == expected)
    }

    @Test func multipleEntriesJoinWithCommas() {
        let cursor = ResumeCursor([
            ChannelPosition(channel: "a", lastID: 1), ChannelPosition(channel: "b", lastID: 20),
            ChannelPosition(channel: "c", lastID: Int64.max),
        ])
        #expect(cursor.description == "hc:a:1,b:20,c:9223372036854775807")
        #expect(cursor.position(of: "b")?.lastID == 20)
        #expect(cursor.position(of: "z")?.lastID == nil)
    }

    @Test func emptyCursorRoundTrips() {
        #expect(ResumeCursor([]).description == "hc:")
        #expect(ResumeCursor(parsing: "hc:") == ResumeCursor([]))
    }

    @Test(arguments: [
        "hc:ch1:5", "\"hc:ch1:5\"", "W/\"hc:ch1:5\"", "W/hc:ch1:5",
    ])
    func acceptsEntityTagWrapping(text: String) {
        #expect(ResumeCursor(parsing: text) == ResumeCursor([ChannelPosition(channel: "ch1", lastID: 5)]))
    }

    @Test func acceptsLowercaseHexEscapes() {
        #expect(ResumeCursor(parsing: "hc:a%2cb:1")?.position(of: "a,b")?.lastID == 1)
    }

    @Test(arguments: [
        "", "hc", "ch1:5", "HC:ch1:5", " hc:ch1:5", "hc:ch1:5 ", "hc:ch1", "hc:ch1:", "hc::", "hc:ch1:-1",
        "hc:ch1:+1", "hc:ch1:1.5", "hc:ch1:01", "hc:ch1:0x1", "hc:ch1:99999999999999999999", "hc:ch1:5,",
        "hc:,ch1:5", "hc:ch1:5,,ch2:1", "hc:a b:1", "hc:a,b:1:2", "hc:100%:1", "hc:%2:1",
        "hc:%zz:1", "hc:%FF:1", "hc:%C3:1", "hc:ch1:5,ch1:6", "hc:a%2Cb:1,a,b:2", "\"hc:ch1:5", "hc:ch1:5\"",
        "W/\"hc:ch1:5", "\"", "W/", "w/\"hc:ch1:5\"", "hc:é:1", "hc:a/b:1", "hc:ch1:5;ch2:1", "0", "W/0",
    ])
    func rejectsMalformed(text: String) {
        #expect(ResumeCursor(parsing: text) == nil)
    }

    @Test func duplicateDetectionUsesDecodedNames() {
        #expect(ResumeCursor(parsing: "hc:a%2Cb:1,a%2cb:2") == nil)
        #expect(ResumeCursor(parsing: "hc:A:1,a:2") != nil)
    }

    static func entries(_ count: Int) -> String {
        "hc:" + (0..<count).map { "c\($0):\($0)" }.joined(separator: ",")
    }

    @Test(arguments: [1, 50, 100])
    func acceptsUpToTheDefaultEntryLimit(count: Int) throws {
        let cursor = try #require(ResumeCursor(parsing: Self.entries(count)))
        #expect(cursor.positions.count == count)
        #expect(cursor.position(of: "c\(count - 1)")?.lastID == Int64(count - 1))
    }

    @Test func refusesMoreEntriesThanTheLimit() {
        #expect(ResumeCursor.defaultMaxEntries == 100)
        #expect(ResumeCursor(parsing: Self.entries(101)) == nil)
        #expect(ResumeCursor(parsing: Self.entries(3), maxEntries: 2, maxLength: 1_000) == nil)
        #expect(ResumeCursor(parsing: Self.entries(2), maxEntries: 2, maxLength: 1_000) != nil)
        // Commas alone are enough to refuse: nothing is split or decoded first.
        #expect(ResumeCursor(parsing: "hc:" + String(repeating: ",", count: 5_000)) == nil)
    }

    @Test func refusesTextLongerThanTheLimit() {
        let long = "hc:" + String(repeating: "x", count: ResumeCursor.defaultMaxLength) + ":1"
        #expect(ResumeCursor(parsing: long) == nil)
        #expect(ResumeCursor(parsing: "hc:abc:1", maxEntries: 10, maxLength: 8) != nil)
        #expect(ResumeCursor(parsing: "hc:abc:1", maxEntries: 10, maxLength: 7) == nil)
        #expect(ResumeCursor(parsing: "W/\"hc:abc:1\"", maxEntries: 10, maxLength: 11) == nil)
    }

    @Test(arguments: [0, 1, 8, 9, 100])
    func lookupFindsEveryChannelAndNothingElse(count: Int) {
        let positions = (0..<count).map { ChannelPosition(channel: "ch\($0)", lastID: Int64($0 * 7)) }
        let cursor = ResumeCursor(positions)
        for position in positions { #expect(cursor.position(of: position.channel)?.lastID == position.lastID) }
        #expect(cursor.position(of: "missing")?.lastID == nil)
        #expect(cursor.position(of: "ch\(count)")?.lastID == nil)
    }

    @Test(arguments: [2, 20])
    func lookupOfARepeatedChannelIsItsFirstPosition(count: Int) {
        var positions = (0..<count).map { ChannelPosition(channel: "ch\($0)", lastID: 1) }
        positions.append(ChannelPosition(channel: "ch0", lastID: 99))
        #expect(ResumeCursor(positions).position(of: "ch0")?.lastID == 1)
    }

    @Test func equalityAndHashingFollowThePositions() {
        let positions = (0..<20).map { ChannelPosition(channel: "ch\($0)", lastID: 1) }
        #expect(ResumeCursor(positions) == ResumeCursor(positions))
        #expect(Set([ResumeCursor(positions), ResumeCursor(positions)]).count == 1)
        #expect(ResumeCursor(positions) != ResumeCursor(positions.reversed()))
    }

    @Test func carriesEachChannelsGenerationWhenKnown() throws {
        let cursor = ResumeCursor([
            ChannelPosition(channel: "a", lastID: 4, generation: 1_764_000_000_123_456),
            ChannelPosition(channel: "b", lastID: 2),
        ])
        #expect(cursor.description == "hc:a:4:1764000000123456,b:2")
        let parsed = try #require(ResumeCursor(parsing: cursor.description))
        #expect(parsed == cursor)
        #expect(parsed.position(of: "a")?.generation == 1_764_000_000_123_456)
        #expect(parsed.position(of: "b")?.generation == 0)
    }

    @Test(arguments: ["hc:a:4:", "hc:a:4:0", "hc:a:4:01", "hc:a:4:-1", "hc:a:4:5:6", "hc:a::5", "hc:a:4:x"])
    func refusesABadGeneration(text: String) {
        #expect(ResumeCursor(parsing: text) == nil)
    }
}
