import HeraldCore
import Testing

@Suite struct JSONEscapingTests {
    @Test(arguments: [
        ("", ""), ("plain", "plain"), ("\"", "\\\""), ("\\", "\\\\"), ("a\nb", "a\\nb"), ("\u{0}", "\\u0000"),
        ("\u{1B}[0m", "\\u001b[0m"), ("é😀", "é😀"), ("</script>", "</script>"),
    ])
    func escapesStrings(input: String, expected: String) {
        #expect(JSONEscaping.escaped(input) == expected)
        var out: [UInt8] = []
        JSONEscaping.append(input, into: &out)
        #expect(out == Array(expected.utf8))
    }

    @Test func escapesNonContiguousByteCollections() {
        var out: [UInt8] = []
        JSONEscaping.append((0..<3).lazy.map { [0x22, 0x41, 0xFF][$0] as UInt8 }, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"\"A\ufffd"#)
    }

    @Test func escapingEveryCodePointRoundTripsThroughJSON() throws {
        var scalars = String.UnicodeScalarView()
        for value in UInt32(0)...0x10FFFF where value % 97 == 0 || value < 0x100 {
            if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
        }
        let text = String(scalars)
        let literal = "\"" + JSONEscaping.escaped(text) + "\""
        let parsed = try #require(JSONValue.parse(literal))
        #expect(parsed.string == text)
    }
}
