import ArgumentParser
import Foundation

/// Durations as people type and read them: "7d", "12h", "30m", "90s", "1d12h", "2w".
enum DurationText {
    private static let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]

    /// Parses one or more number-and-unit pairs (seconds when the unit is left out of a
    /// single number). Throws a message with examples for anything else.
    static func parse(_ text: String) throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let problem = ValidationError(
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

    /// A short human form: "0.8s", "42s", "4m05s", "2h07m", "3d04h".
    static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let value = max(seconds, 0)
        if value < 10 { return String(format: "%.1fs", value) }
        let whole = Int(value.rounded(.down))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        if whole < 86400 { return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60) }
        return String(format: "%dd%02dh", whole / 86400, whole % 86400 / 3600)
    }
}
