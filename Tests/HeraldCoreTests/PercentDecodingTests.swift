import HeraldCore
import Testing

@Suite struct PercentDecodingTests {
    @Test(arguments: [
        ("ch1", "ch1"),
        ("a%2Fb", "a/b"),
        ("a%2fb", "a/b"),
        ("%41%42%43", "ABC"),
        ("100%", "100%"),
        ("%", "%"),
        ("%4", "%4"),
        ("%zz", "%zz"),
        ("%4g", "%4g"),
        ("%%41", "%A"),
        ("a+b", "a+b"),
        ("%2B", "+"),
        ("%20", " "),
        ("%C3%A9t%C3%A9", "été"),
        ("%F0%9F%98%80", "😀"),
        ("", ""),
        ("%00", "\u{0}"),
        ("déjà", "déjà"),
    ])
    func decodes(input: String, expected: String) {
        #expect(PercentDecoding.decode(input[...]) == expected)
    }

    @Test(arguments: [
        ("%FF", "\u{FFFD}"),
        ("a%C3", "a\u{FFFD}"),
        ("%C3%28", "\u{FFFD}("),
        ("%ED%A0%80", "\u{FFFD}\u{FFFD}\u{FFFD}"),
    ])
    func repairsInvalidUTF8(input: String, expected: String) {
        #expect(PercentDecoding.decode(input[...]) == expected)
    }

    @Test func decodesASubstringOfALargerString() {
        let url = "/sub/a%2Fb?x=1"
        let path = url.dropFirst(5).prefix { $0 != "?" }
        #expect(PercentDecoding.decode(path) == "a/b")
    }

    @Test(arguments: [
        ("id=ch1", "id", "ch1" as String?),
        ("a=1&id=ch1&id=ch2", "id", "ch1"),
        ("id=a%2Fb", "id", "a/b"),
        ("id=", "id", ""),
        ("id", "id", ""),
        ("x=1&id&y=2", "id", ""),
        ("x=1", "id", nil),
        ("", "id", nil),
        ("ids=1", "id", nil),
        ("xid=1", "id", nil),
        ("ID=up", "id", "up"),
        ("callback=f%28x%29", "callback", "f(x)"),
        ("id=a=b", "id", "a=b"),
        ("&&id=z&&", "id", "z"),
        ("id=a+b", "id", "a+b"),
        ("tag=&time=", "time", ""),
    ])
    func queryValue(query: String, name: String, expected: String?) {
        #expect(PercentDecoding.queryValue(query[...], name: name) == expected)
    }

    @Test(arguments: [
        ("a%FFb", [0x61, 0xFF, 0x62] as [UInt8]),
        ("%C3", [0xC3]),
        ("%00%7f", [0x00, 0x7F]),
        ("100%", Array("100%".utf8)),
        ("%%41", Array("%A".utf8)),
        ("é", [0xC3, 0xA9]),
        ("", []),
    ])
    func decodesToBytesWithoutRepair(input: String, expected: [UInt8]) {
        #expect(PercentDecoding.decodeBytes(input[...]) == expected)
    }

    @Test(arguments: [
        ("id=a%2Fb&x=1", "id", "a%2Fb" as String?),
        ("ID=%FF", "id", "%FF"),
        ("id", "id", ""),
        ("x=1", "id", nil),
        ("channels=a/b&id=c", "channels", "a/b"),
    ])
    func rawQueryValueStaysEncoded(query: String, name: String, expected: String?) {
        #expect(PercentDecoding.rawQueryValue(query[...], name: name).map(String.init) == expected)
    }
}
