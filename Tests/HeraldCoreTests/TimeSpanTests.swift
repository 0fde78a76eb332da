import HeraldCore
import Testing

@Suite struct TimeSpanTests {
    @Test(arguments: [
        ("0", Int64(0)), ("0s", 0), ("0ms", 0), ("250ms", 250), ("30s", 30_000), ("30", 30_000), ("10m", 600_000),
        ("2h", 7_200_000), ("1d", 86_400_000), ("30S", 30_000), ("1H", 3_600_000), ("1500ms", 1_500),
        ("1h30m", 5_400_000), ("1m30s", 90_000), ("1s500ms", 1_500), ("05s", 5_000),
    ])
    func parses(text: String, milliseconds: Int64) {
        #expect(TimeSpan(parsing: text) == TimeSpan(milliseconds: milliseconds))
    }

    @Test(arguments: [
        "", "s", "ms", "-1", "-1s", "+1s", "1.5s", "1 s", " 1s", "1s ", "1y", "1w", "1sec", "1h30", "30 ",
        "1m1", "99999999999999999999", "999999999999999999d",
    ])
    func rejects(text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }

    @Test(arguments: [
        (Int64(0), "0s"), (250, "250ms"), (1_500, "1500ms"), (1_000, "1s"), (30_000, "30s"), (90_000, "90s"),
        (600_000, "10m"), (5_400_000, "90m"), (7_200_000, "2h"), (86_400_000, "1d"), (90_000_000, "25h"),
        (172_800_000, "2d"),
    ])
    func describesShortestExactForm(milliseconds: Int64, text: String) {
        #expect(TimeSpan(milliseconds: milliseconds).description == text)
        #expect(TimeSpan(parsing: text) == TimeSpan(milliseconds: milliseconds))
    }

    @Test func secondsHelpers() {
        #expect(TimeSpan.seconds(30) == TimeSpan(milliseconds: 30_000))
        #expect(TimeSpan(milliseconds: 1_999).seconds == 1)
        #expect(TimeSpan(milliseconds: 250).seconds == 0)
        #expect(TimeSpan.seconds(0).description == "0s")
    }
}
