import HeraldCore
import Testing

@Suite struct HTTPDateTests {
    @Test(arguments: [
        (Int64(0), "Thu, 01 Jan 1970 00:00:00 GMT"),
        (1, "Thu, 01 Jan 1970 00:00:01 GMT"),
        (86_399, "Thu, 01 Jan 1970 23:59:59 GMT"),
        (86_400, "Fri, 02 Jan 1970 00:00:00 GMT"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (951_868_800, "Wed, 01 Mar 2000 00:00:00 GMT"),
        (1_078_012_800, "Sun, 29 Feb 2004 00:00:00 GMT"),
        (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
        (1_715_289_393, "Thu, 09 May 2024 21:16:33 GMT"),
        (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
        (1_735_689_599, "Tue, 31 Dec 2024 23:59:59 GMT"),
        (2_147_483_647, "Tue, 19 Jan 2038 03:14:07 GMT"),
        (2_147_483_648, "Tue, 19 Jan 2038 03:14:08 GMT"),
        (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
        (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
    ])
    func formats(seconds: Int64, expected: String) {
        #expect(HTTPDate.format(seconds) == expected)
        #expect(HTTPDate.parse(expected) == seconds)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00"),
        (1_715_289_393, "2024-05-09T21:16:33"),
        (951_782_400, "2000-02-29T00:00:00"),
        (2_147_483_648, "2038-01-19T03:14:08"),
        (1_735_689_599, "2024-12-31T23:59:59"),
    ])
    func iso8601(seconds: Int64, expected: String) {
        #expect(HTTPDate.iso8601(seconds) == expected)
    }

    @Test(arguments: [
        ("Thursday, 01-Jan-70 00:00:00 GMT", Int64(0)),
        ("Thursday, 09-May-24 21:16:33 GMT", 1_715_289_393),
        ("Tuesday, 19-Jan-38 03:14:08 GMT", 2_147_483_648),
        ("Wednesday, 31-Dec-69 23:59:59 GMT", 3_155_759_999),
        ("Thu Jan  1 00:00:00 1970", 0),
        ("Thu Jan 01 00:00:00 1970", 0),
        ("Thu May  9 21:16:33 2024", 1_715_289_393),
        ("Thu Feb 29 00:00:00 2024", 1_709_164_800),
        ("thu, 09 may 2024 21:16:33 gmt", 1_715_289_393),
        ("Thu, 09 May 2024 21:16:33 UTC", 1_715_289_393),
        ("  Thu, 09 May 2024 21:16:33 GMT  ", 1_715_289_393),
        // nginx does not cross-check the weekday, and neither do we.
        ("Mon, 09 May 2024 21:16:33 GMT", 1_715_289_393),
    ])
    func parsesOtherForms(text: String, expected: Int64) {
        #expect(HTTPDate.parse(text) == expected)
    }

    @Test(arguments: [
        "",
        "garbage",
        "0",
        "1715289393",
        "Thu, 09 May 2024 21:16:33",
        "Thu, 09 May 2024 21:16:33 PST",
        "Thu, 09 May 2024 21:16:33 GMT extra",
        "Thu, 9 May 2024 21:16:33 GMT",
        "Thu, 09 Foo 2024 21:16:33 GMT",
        "Thu, 09 May 24 21:16:33 GMT",
        "Thu, 09 May 02024 21:16:33 GMT",
        "Thu, 09 May 2024 24:00:00 GMT",
        "Thu, 09 May 2024 21:60:00 GMT",
        "Thu, 09 May 2024 21:16:60 GMT",
        "Thu, 09 May 2024 21:16 GMT",
        "Thu, 00 May 2024 21:16:33 GMT",
        "Thu, 32 May 2024 21:16:33 GMT",
        "Thu, 31 Apr 2024 21:16:33 GMT",
        "Thu, 29 Feb 2023 00:00:00 GMT",
        "Thu, 29 Feb 1900 00:00:00 GMT",
        "Thu, 01 Jan 1969 00:00:00 GMT",
        "Xyz, 09 May 2024 21:16:33 GMT",
        "Thu 09 May 2024 21:16:33 GMT",
        "Thursday, 09-May-2024 21:16:33 GMT",
        "Thursday, 09-May 24 21:16:33 GMT",
        "Thu May  9 21:16:33 24",
        "Thu May  9 21:16:33 2024 GMT",
        "Thu May 9  21:16:33 2024",
        "Thu, 09 May 2024 -1:16:33 GMT",
        "Thu, 09 May 2024 21:16:33 GMT\r\n",
    ])
    func rejectsGarbage(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test func leapYearRulesHold() {
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 00:00:00 GMT") != nil)
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 00:00:00 GMT") != nil)
        #expect(HTTPDate.parse("Mon, 29 Feb 2100 00:00:00 GMT") == nil)
        #expect(HTTPDate.parse("Sat, 29 Feb 2020 00:00:00 GMT") != nil)
    }

    @Test func roundTripsEveryDayForFourHundredYearsPlus() {
        // Every day over a full Gregorian cycle, at a time of day that changes with the day.
        var seconds: Int64 = 0
        let end: Int64 = 146_097 * 86_400 + 86_400 * 366
        var failures: [String] = []
        while seconds < end {
            let text = HTTPDate.format(seconds)
            if HTTPDate.parse(text) != seconds || text.utf8.count != 29 { failures.append(text) }
            seconds += 86_400 + 3_607
        }
        #expect(failures.isEmpty)
    }

    @Test func weekdaysCycleFromThursday() {
        let names = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        for day in 0..<30 {
            #expect(HTTPDate.format(Int64(day) * 86_400).hasPrefix(names[day % 7] + ", "))
        }
    }
}
