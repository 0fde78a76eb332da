import HeraldCore
import Testing

@Suite struct ByteSizeTests {
    @Test(arguments: [
        ("0", 0), ("1", 1), ("1024", 1024), ("32k", 32_768), ("32K", 32_768), ("32kb", 32_768), ("32KiB", 32_768),
        ("1m", 1_048_576), ("1MiB", 1_048_576), ("1mb", 1_048_576), ("1g", 1_073_741_824), ("2GB", 2_147_483_648),
        ("100b", 100), ("100B", 100), ("007k", 7_168),
    ])
    func parses(text: String, bytes: Int) {
        #expect(ByteSize(parsing: text) == ByteSize(bytes: bytes))
    }

    @Test(arguments: [
        "", "k", "-1", "+1", "1.5k", "1 k", " 1k", "1k ", "1kk", "1t", "1ib", "1kibb", "1x", "k1",
        "99999999999999999999", "9999999999999999g",
    ])
    func rejects(text: String) {
        #expect(ByteSize(parsing: text) == nil)
    }

    @Test(arguments: [
        (0, "0"), (1, "1"), (1000, "1000"), (1024, "1k"), (32_768, "32k"), (1536, "1536"), (1_048_576, "1m"),
        (1_049_600, "1025k"), (1_073_741_824, "1g"), (3 * 1_073_741_824, "3g"),
    ])
    func describesShortestExactForm(bytes: Int, text: String) {
        #expect(ByteSize(bytes: bytes).description == text)
        #expect(ByteSize(parsing: text) == ByteSize(bytes: bytes))
    }
}
