/// Durations as log lines and job errors show them. Plain functions; any thread.
public enum DurationText {
    /// "1.23 s" under ten seconds, "42 s" from there: in every completion line, so built
    /// without `String(format:)` (CoreFoundation's formatter, bench/RESULTS.md).
    public static func seconds(_ value: Double) -> String {
        guard value.isFinite, value >= 0, value < 1e15 else { return "\(value) s" }
        if value >= 9.995 { return "\(Int64(value.rounded())) s" }
        let hundredths = Int64((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) s"
    }
}
