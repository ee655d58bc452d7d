import Foundation

/// The UTC calendar day budgets count by, and when the next one begins.
public enum UTCDay {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// "2026-12-02" for a unix time.
    public static func day(_ unix: Double) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: unix))
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// "2026-12" for a unix time.
    public static func month(_ unix: Double) -> String { String(day(unix).prefix(7)) }

    /// The unix time of the next 00:00 UTC after `unix`.
    public static func nextMidnight(after unix: Double) -> Double {
        (unix / 86_400).rounded(.down) * 86_400 + 86_400
    }
}
