import Foundation

/// Durations as log lines, job errors and the command line show and read them. Plain
/// functions; any thread.
public enum DurationText {
    /// Why a text is not a duration, with examples of what is.
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    private static let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]

    /// "1.23 s" under ten seconds, "42 s" from there. Every completion line carries one, so it is
    /// built from integers: `String(format:)` goes through CoreFoundation's formatter.
    public static func seconds(_ value: Double) -> String {
        guard value.isFinite, value >= 0, value < 1e15 else { return "\(value) s" }
        if value >= 9.995 { return "\(Int64(value.rounded())) s" }
        let hundredths = Int64((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) s"
    }

    /// A short human form for tables: "0.8s", "42s", "4m05s", "2h07m", "3d04h".
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let value = max(seconds, 0)
        if value < 10 { return String(format: "%.1fs", value) }
        let whole = Int(value.rounded(.down))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        if whole < 86400 { return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60) }
        return String(format: "%dd%02dh", whole / 86400, whole % 86400 / 3600)
    }

    /// Parses durations as people type them: "7d", "12h", "30m", "90s", "1d12h", "2w" (seconds
    /// when a single number has no unit). Throws a message with examples for anything else.
    public static func parse(_ text: String) throws(ParseError) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let problem = ParseError(
            description:
                "'\(text)' is not a duration; use a number and a unit: s, m, h, d or w (e.g. 7d, 12h, 30m, 1d12h)")
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite { return seconds }
        var total = 0.0
        var number = ""
        for character in trimmed {
            if character.isNumber || character == "." {
                number.append(character)
            } else if let unit = units[character], let value = Double(number) {
                total += value * unit
                number = ""
            } else {
                throw problem
            }
        }
        guard number.isEmpty, !trimmed.isEmpty else { throw problem }
        return total
    }
}
