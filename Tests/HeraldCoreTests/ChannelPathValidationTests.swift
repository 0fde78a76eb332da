import HeraldCore
import Testing

/// ``ChannelPath/parseValidated(rawPercentEncoded:limits:)``: the one entry point endpoints use.
@Suite struct ChannelPathValidationTests {
    static let subscriber = ChannelLimits(maxChannelIDLength: 200, maxChannels: 100, isSubscriber: true)

    static func parse(_ raw: String, _ limits: ChannelLimits = subscriber) -> Result<[ChannelSelection], ProtocolError>
    {
        Result { () throws(ProtocolError) in try ChannelPath.parseValidated(rawPercentEncoded: raw[...], limits: limits)
        }
    }

    static func selections(_ pairs: [(String, Int)]) -> Result<[ChannelSelection], ProtocolError> {
        .success(pairs.map { ChannelSelection(channel: $0.0, backtrack: $0.1) })
    }

    @Test(
        arguments: [
            ("ch1", [("ch1", 0)]),
            ("ch1.b3/ch2/ch3.b10", [("ch1", 3), ("ch2", 0), ("ch3", 10)]),
            ("a%2Fb", [("a", 0), ("b", 0)]),
            ("a%2fb.b2", [("a", 0), ("b", 2)]),
            ("ch%2Eb4", [("ch", 4)]),
            ("%C3%A9t%C3%A9.b1/%F0%9F%98%80", [("été", 1), ("😀", 0)]),
            ("été", [("été", 0)]),
            ("/ch1", [("", 0), ("ch1", 0)]),
            ("ch1/", [("ch1", 0)]),
            ("/", [("", 0)]),
            ("a/a", [("a", 0)]),
            ("a.b3/b/a.b5", [("a", 3), ("b", 0)]),
            ("a/%61", [("a", 0)]),
            ("100%/%zz", [("100%", 0), ("%zz", 0)]),
            ("a+b", [("a+b", 0)]),
            ("a b", [("a b", 0)]),
            ("all/All", [("all", 0), ("All", 0)]),
        ] as [(String, [(String, Int)])])
    func parsesDecodesAndDedupes(raw: String, expected: [(String, Int)]) {
        #expect(Self.parse(raw) == Self.selections(expected))
    }

    @Test func emptyPathIsNoChannelID() {
        #expect(Self.parse("") == .failure(.noChannelID))
    }

    @Test(arguments: Array(0x00...0x1F) + [0x7F, UInt8(ascii: "{"), UInt8(ascii: "}")])
    func controlBytesAndBracesAreInvalid(byte: UInt8) {
        let escaped = "%" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
        for raw in ["a\(escaped)b", "ok/\(escaped)", "\(escaped).b2"] {
            #expect(Self.parse(raw) == .failure(.invalidChannelID))
        }
        // Raw (not escaped) too, as a decoded query argument could hold them.
        let rawByte = String(decoding: [UInt8(ascii: "a"), byte], as: UTF8.self)
        #expect(Self.parse(rawByte) == .failure(.invalidChannelID))
    }

    @Test(arguments: ["%FF", "a%C3", "%C3%28", "%ED%A0%80", "%C0%AF", "%F4%90%80%80", "%E2%82", "%80"])
    func invalidUTF8IsRefusedNotRepaired(raw: String) {
        #expect(Self.parse(raw) == .failure(.invalidChannelID))
    }

    @Test func invalidUTF8NamesNoLongerCollide() {
        // Both used to decode to "a\u{FFFD}": the same channel for two different requests.
        #expect(PercentDecoding.decode("a%FF") == PercentDecoding.decode("a%FE"))
        #expect(Self.parse("a%FF") == .failure(.invalidChannelID))
        #expect(Self.parse("a%FE") == .failure(.invalidChannelID))
        // A real U+FFFD, sent as such, is an ordinary character.
        #expect(Self.parse("a%EF%BF%BD") == Self.selections([("a\u{FFFD}", 0)]))
    }

    @Test func tooManyChannelsIsRefusedBeforeAnyPerChannelCheck() {
        let limits = ChannelLimits(maxChannelIDLength: 5, maxChannels: 100, isSubscriber: true)
        let huge = Array(repeating: "ALL", count: 5_500).joined(separator: "/")
        #expect(Self.parse(huge, limits) == .failure(.tooManyChannels))
        // Separators hidden as %2F count too, and duplicates count.
        #expect(
            Self.parse(Array(repeating: "a", count: 101).joined(separator: "%2F"), limits) == .failure(.tooManyChannels)
        )
        #expect(
            Self.parse(Array(repeating: "a", count: 100).joined(separator: "/"), limits) == Self.selections([("a", 0)]))
        #expect(
            Self.parse(Array(repeating: "a", count: 100).joined(separator: "/") + "/", limits)
                != .failure(.tooManyChannels))
    }

    @Test(arguments: [
        ("a", 1, true), ("a/b", 1, false), ("a/", 1, true), ("/a", 1, false), ("//", 2, true), ("a//b", 2, false),
        ("a/b", 0, false),
    ])
    func channelCountFollowsTheParser(raw: String, max: Int, accepted: Bool) {
        let limits = ChannelLimits(maxChannels: max, isSubscriber: false)
        #expect((Self.parse(raw, limits) != .failure(.tooManyChannels)) == accepted)
    }

    @Test func checksRunInReferenceOrderThenHeralds() {
        let limits = ChannelLimits(maxChannelIDLength: 5, isSubscriber: true)
        #expect(Self.parse("ALL/xxxxxxxxxx", limits) == .failure(.channelNotAuthorized))
        #expect(Self.parse("xxxxxxxxxx/ALL", limits) == .failure(.channelIDTooLarge))
        #expect(Self.parse("a%0Ab/ALL", limits) == .failure(.invalidChannelID))
        // Within one id: ALL or * first, then the length, then Herald's own rules.
        #expect(Self.parse("*%0A", limits) == .failure(.channelNotAuthorized))
        #expect(Self.parse("xxxxx%0A", limits) == .failure(.channelIDTooLarge))
        #expect(Self.parse("xxxx%0A", limits) == .failure(.invalidChannelID))
    }

    @Test func lengthIsCountedInDecodedUTF8Bytes() {
        let limits = ChannelLimits(maxChannelIDLength: 4, isSubscriber: false)
        #expect(Self.parse("%C3%A9%C3%A9", limits) == Self.selections([("éé", 0)]))
        #expect(Self.parse("%C3%A9%C3%A9a", limits) == .failure(.channelIDTooLarge))
        #expect(Self.parse("abcd.b10", limits) == Self.selections([("abcd", 10)]))
    }

    @Test(arguments: [
        ("bd_1", 3, ProtocolError.tooManyWildcardChannels as ProtocolError?),
        ("ch/bd_1/bd_2/bd_3", 3, nil),
        ("ch/bd_1/bd_2/bd_3/bd_4", 3, .tooManyWildcardChannels),
        ("ch/bd_1/bd_1/bd_1/bd_1", 1, nil),
        ("bd1", 3, nil),
    ])
    func wildcardRulesCountUniqueChannels(raw: String, max: Int, expected: ProtocolError?) {
        let limits = ChannelLimits(wildcardPrefix: "bd_", maxWildcardChannels: max, isSubscriber: true)
        let result = Self.parse(raw, limits)
        if let expected {
            #expect(result == .failure(expected))
        } else {
            #expect((try? result.get()) != nil)
        }
        var publisher = limits
        publisher.isSubscriber = false
        #expect((try? Self.parse(raw, publisher).get()) != nil)
    }

    @Test func limitsDefaultToNone() {
        let limits = ChannelLimits(isSubscriber: false)
        #expect(limits.maxChannelIDLength == nil && limits.maxChannels == nil)
        #expect(limits.wildcardPrefix == nil && limits.maxWildcardChannels == nil)
        let long = String(repeating: "x", count: 10_000)
        #expect(
            Self.parse(long + "/" + Array(repeating: "y", count: 1_000).joined(separator: "/"), limits)
                == Self.selections([(long, 0), ("y", 0)]))
    }

    @Test(arguments: ["a\r\nb", "nul\u{0}", "del\u{7F}", "{tag}", "a}b", "tab\t"])
    func decodedValidationRefusesControlBytesAndBracesToo(channel: String) {
        #expect(throws: ProtocolError.invalidChannelID) {
            try ChannelPath.validate(
                ChannelPath.parse(channel), maxChannelIDLength: nil, wildcardPrefix: nil,
                maxWildcardChannels: nil, isSubscriber: true)
        }
    }
}
