/// The UTC calendar day budgets count by, and when the next one begins. Every job's spend row
/// carries its day, so the date is computed from integers (the civil-from-days algorithm of
/// Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms"): Foundation's `Calendar` and
/// `String(format:)` would page ICU's tables and CoreFoundation's formatter into every worker.
public enum UTCDay {
    /// "2026-12-02" for a unix time.
    public static func day(_ unix: Double) -> String {
        let date = civilDate(daysSinceEpoch: Int64((unix / 86_400).rounded(.down)))
        return padded(date.year, 4) + "-" + padded(date.month, 2) + "-" + padded(date.day, 2)
    }

    /// "2026-12" for a unix time.
    public static func month(_ unix: Double) -> String { String(day(unix).prefix(7)) }

    /// The unix time of the next 00:00 UTC after `unix`.
    public static func nextMidnight(after unix: Double) -> Double {
        (unix / 86_400).rounded(.down) * 86_400 + 86_400
    }

    /// The proleptic Gregorian year, month (1-12) and day (1-31) of a day counted from 1970-01-01.
    static func civilDate(daysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        // Counted from 0000-03-01, so that the leap day ends each 400-year era's year.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
