import HeraldCore
import Testing

@Suite struct JSONPCallbackTests {
    @Test(arguments: ["f", "callback_function", "jQuery1234_5678", "$", "_", "a.b.c", "PushStream.cb0", "x9"])
    func acceptsPlainNamePaths(name: String) throws {
        #expect(JSONPCallback(validating: name)?.name == name)
        #expect(try JSONPCallback.parse(name)?.name == name)
    }

    @Test(arguments: [
        "alert(1)//", "f(", "</script><script>alert(1)</script>", "a\r\nContent-Type: text/html", "a\nb", "a b",
        "a;b", "a'b", "a\"b", "a[0]", "a=b", "a,b", "a-b", "a+b", "é", "\u{0}", "a\u{2028}", "%41", "a<b",
        "a>b", "a/b", "a\\b", "a`b",
    ])
    func refusesEverythingElse(name: String) {
        #expect(JSONPCallback(validating: name) == nil)
        #expect(throws: ProtocolError.invalidCallback) { try JSONPCallback.parse(name) }
    }

    @Test func everyByteOutsideTheSetIsRefused() {
        for byte in UInt8(0)...0x7F {
            let name = String(decoding: [UInt8(ascii: "a"), byte], as: UTF8.self)
            let allowed =
                (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte == UInt8(ascii: ".")
            #expect((JSONPCallback(validating: name) != nil) == allowed, "byte \(byte)")
        }
    }

    @Test func lengthIsCapped() {
        #expect(JSONPCallback.maxLength == 128)
        #expect(JSONPCallback(validating: String(repeating: "a", count: 128)) != nil)
        #expect(JSONPCallback(validating: String(repeating: "a", count: 129)) == nil)
    }

    @Test func absentOrEmptyMeansNoJSONP() throws {
        #expect(try JSONPCallback.parse(nil) == nil)
        #expect(try JSONPCallback.parse("") == nil)
        #expect(JSONPCallback(validating: "") == nil)
    }

    @Test func refusalIsA400WithTheExplainText() {
        #expect(ProtocolError.invalidCallback.status == 400)
        #expect(ProtocolError.invalidCallback.explain == "invalid callback")
    }
}
