import HeraldCore
import Testing

@Suite struct ChannelPathTests {
    typealias Expected = [(String, Int)]

    static func parsed(_ path: String) -> [ChannelSelection] { ChannelPath.parse(path) }

    static func selections(_ pairs: Expected) -> [ChannelSelection] {
        pairs.map { ChannelSelection(channel: $0.0, backtrack: $0.1) }
    }

    @Test(
        arguments: [
            ("ch1", [("ch1", 0)]),
            ("ch1/ch2/ch3", [("ch1", 0), ("ch2", 0), ("ch3", 0)]),
            ("ch1.b3/ch2/ch3.b10", [("ch1", 3), ("ch2", 0), ("ch3", 10)]),
            ("room.b18.beautiful.b3", [("room.b18.beautiful", 3)]),
            ("room.b18.beautiful", [("room.b18.beautiful", 0)]),
            ("ch.b", [("ch.b", 0)]),
            ("ch.b0", [("ch", 0)]),
            ("ch.b007", [("ch", 7)]),
            ("ch.bx1", [("ch.bx1", 0)]),
            ("ch.b1x", [("ch.b1x", 0)]),
            ("ch.B1", [("ch.B1", 0)]),
            ("chb1", [("chb1", 0)]),
            ("a.b.b2", [("a.b", 2)]),
            ("x.b1.b2", [("x.b1", 2)]),
            (".b5", [("", 5)]),
            ("b5", [("b5", 0)]),
            ("/ch1", [("", 0), ("ch1", 0)]),
            ("//ch1", [("", 0), ("", 0), ("ch1", 0)]),
            ("ch1/", [("ch1", 0)]),
            ("ch1//ch2", [("ch1", 0), ("", 0), ("ch2", 0)]),
            ("/", [("", 0)]),
            ("ch1.b2/", [("ch1", 2)]),
            ("été.b1/😀", [("été", 1), ("😀", 0)]),
            ("a b/c\td", [("a b", 0), ("c\td", 0)]),
        ] as [(String, Expected)])
    func parses(path: String, expected: Expected) {
        #expect(ChannelPath.parse(path) == Self.selections(expected))
    }

    @Test func splitsOnTheSlashByteEvenBeforeACombiningMark() {
        // "/" + U+0301 is one Character, but push-stream splits on the byte.
        #expect(ChannelPath.parse("a/\u{301}b") == Self.selections([("a", 0), ("\u{301}b", 0)]))
    }

    @Test func emptyPathHasNoChannels() {
        #expect(ChannelPath.parse("").isEmpty)
    }

    @Test func hugeBacktrackSaturates() {
        let parsed = ChannelPath.parse("ch.b99999999999999999999999")
        #expect(parsed == [ChannelSelection(channel: "ch", backtrack: Int.max)])
    }

    // MARK: validate

    static func validate(
        _ path: String, maxLength: Int? = nil, prefix: String? = nil, maxWildcards: Int? = nil,
        subscriber: Bool = true
    ) -> ProtocolError? {
        do {
            try ChannelPath.validate(
                ChannelPath.parse(path), maxChannelIDLength: maxLength, wildcardPrefix: prefix,
                maxWildcardChannels: maxWildcards, isSubscriber: subscriber)
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyListIsNoChannelID() {
        #expect(Self.validate("") == .noChannelID)
    }

    @Test(arguments: ["ALL", "a/ALL", "ch*", "*", "a/b*c", "ALL.b2"])
    func allAndStarAreNotAuthorized(path: String) {
        #expect(Self.validate(path) == .channelNotAuthorized)
        #expect(Self.validate(path, subscriber: false) == .channelNotAuthorized)
    }

    @Test(arguments: ["all", "ALLx", "xALL", "All"])
    func onlyExactALLIsReserved(path: String) {
        #expect(Self.validate(path) == nil)
    }

    @Test func lengthIsCountedInUTF8Bytes() {
        #expect(Self.validate("abcde", maxLength: 5) == nil)
        #expect(Self.validate("abcdef", maxLength: 5) == .channelIDTooLarge)
        // "éé" is two characters but four bytes.
        #expect(Self.validate("éé", maxLength: 3) == .channelIDTooLarge)
        #expect(Self.validate("éé", maxLength: 4) == nil)
        #expect(Self.validate("ok/" + String(repeating: "x", count: 201), maxLength: 200) == .channelIDTooLarge)
    }

    @Test func backtrackSuffixDoesNotCountTowardsLength() {
        #expect(Self.validate("abcde.b10", maxLength: 5) == nil)
    }

    @Test func checksRunInReferenceOrder() {
        // A forbidden id wins over a later too-long one and vice versa: first failing channel decides.
        #expect(Self.validate("ALL/" + String(repeating: "x", count: 10), maxLength: 5) == .channelNotAuthorized)
        #expect(Self.validate(String(repeating: "x", count: 10) + "/ALL", maxLength: 5) == .channelIDTooLarge)
        // Per-channel errors come before the wildcard count.
        #expect(
            Self.validate("bd_1/bd_2/ALL", prefix: "bd_", maxWildcards: 1) == .channelNotAuthorized)
    }

    @Test(arguments: [
        ("bd_", "bd_", 3, ProtocolError.tooManyWildcardChannels as ProtocolError?),
        ("bd_1", "bd_", 3, .tooManyWildcardChannels),
        ("bd1", "bd_", 3, nil),
        ("ch/bd_1", "bd_", 3, nil),
        ("ch/bd_1/bd_2/bd_3", "bd_", 3, nil),
        ("ch/bd_1/bd_2/bd_3/bd_4", "bd_", 3, .tooManyWildcardChannels),
        ("ch/bd_1", "bd_", 0, .tooManyWildcardChannels),
        ("ch", "bd_", 0, nil),
        ("bd_1/bd_2", "", 3, nil),
    ])
    func wildcardLimits(path: String, prefix: String, max: Int, expected: ProtocolError?) {
        #expect(Self.validate(path, prefix: prefix, maxWildcards: max) == expected)
    }

    @Test func wildcardCheckNeedsALimit() {
        #expect(Self.validate("bd_1/bd_2/bd_3/bd_4", prefix: "bd_", maxWildcards: nil) == nil)
    }

    @Test func wildcardCheckIsForSubscribersOnly() {
        #expect(Self.validate("bd_1", prefix: "bd_", maxWildcards: 1, subscriber: false) == nil)
    }

    @Test func withoutAPrefixNothingIsAWildcard() {
        #expect(Self.validate("bd_1", prefix: nil, maxWildcards: 1) == nil)
    }

    @Test(arguments: [
        ("broad_x", "broad_" as String?, true),
        ("broad_", "broad_", true),
        ("broad", "broad_", false),
        ("xbroad_", "broad_", false),
        ("anything", "", false),
        ("anything", nil, false),
        ("é1", "é", true),
        ("e\u{301}1", "é", false),
    ])
    func isWildcard(channel: String, prefix: String?, expected: Bool) {
        #expect(ChannelPath.isWildcard(channel, prefix: prefix) == expected)
    }
}
