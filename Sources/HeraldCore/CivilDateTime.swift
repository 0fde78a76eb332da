/// A UTC calendar date and time of day, converted to and from Unix seconds.
struct CivilDateTime {
    var year: Int64
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// 0 = Sunday.
    var weekday: Int

    /// Splits Unix seconds into a proleptic Gregorian date (Howard Hinnant's civil-from-days).
    init(unixSeconds: Int64) {
        let secondsPerDay: Int64 = 86_400
        var days = unixSeconds / secondsPerDay
        var secondOfDay = unixSeconds % secondsPerDay
        if secondOfDay < 0 {
            secondOfDay += secondsPerDay
            days -= 1
        }
        hour = Int(secondOfDay / 3600)
        minute = Int(secondOfDay % 3600 / 60)
        second = Int(secondOfDay % 60)
        // 1970-01-01 was a Thursday (4).
        weekday = Int(((days % 7) + 11) % 7)

        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (days-from-civil).
    static func daysSinceEpoch(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func isLeap(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// A date built from parsed fields, or `nil` if any field is out of range (no Feb 30, no 24:00).
    static func validated(
        year: Int64, month: Int, day: Int64, clock: (hour: Int64, minute: Int64, second: Int64)
    ) -> CivilDateTime? {
        guard year >= 1970, day >= 1, day <= Int64(daysIn(month: month, year: year)),
            clock.hour < 24, clock.minute < 60, clock.second < 60
        else { return nil }
        var t = CivilDateTime(unixSeconds: 0)
        t.year = year
        t.month = month
        t.day = Int(day)
        t.hour = Int(clock.hour)
        t.minute = Int(clock.minute)
        t.second = Int(clock.second)
        return t
    }

    var unixSeconds: Int64 {
        CivilDateTime.daysSinceEpoch(year: year, month: month, day: day) * 86_400
            + Int64(hour * 3600 + minute * 60 + second)
    }
}
