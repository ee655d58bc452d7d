/// Reads what ffmpeg writes with `-progress pipe:1`: blocks of `key=value` lines, each closed
/// by `progress=continue` (or `progress=end` for the last), about twice a second.
///
/// Only the output time matters here: `out_time_us` (microseconds of output written so far),
/// or `out_time_ms`, which despite its name is microseconds too, or `out_time` as
/// `HH:MM:SS.micro`. Early blocks say `N/A` until the first frame is written. A plain value;
/// used on the pool thread that reads the child's stdout.
public struct FFmpegProgress: Sendable {
    private var blockTime: Double?
    /// Output time in seconds reported by the last complete block.
    public private(set) var outputTime: Double?
    /// True once ffmpeg wrote `progress=end`.
    public private(set) var ended = false

    public init() {}

    /// Feeds one line (without its newline). Returns the output time in seconds when the line
    /// closes a block that carried one.
    public mutating func consume<Line: StringProtocol>(_ line: Line) -> Double? {
        guard let equals = line.firstIndex(of: "=") else { return nil }
        let key = line[..<equals].trimmingCharacters(in: .whitespaces)
        let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        switch key {
        case "out_time_us", "out_time_ms":
            if let micros = Int64(value), micros >= 0 { blockTime = Double(micros) / 1_000_000 }
        case "out_time":
            if blockTime == nil, let seconds = Self.clockSeconds(value) { blockTime = seconds }
        case "progress":
            if value == "end" { ended = true }
            let time = blockTime
            blockTime = nil
            if let time { outputTime = time }
            return time
        default:
            break
        }
        return nil
    }

    /// `time` as a share of `duration`, clamped to 0–1 (0 when the duration is unknown).
    public static func fraction(_ time: Double, of duration: Double) -> Double {
        guard duration > 0, time.isFinite else { return 0 }
        return min(max(time / duration, 0), 1)
    }

    /// `HH:MM:SS.fraction` in seconds; nil for `N/A` or anything else.
    static func clockSeconds(_ text: String) -> Double? {
        let negative = text.hasPrefix("-")
        let parts = (negative ? String(text.dropFirst()) : text).split(separator: ":")
        guard parts.count == 3, let hours = Double(parts[0]), let minutes = Double(parts[1]),
            let seconds = Double(parts[2])
        else { return nil }
        let total = hours * 3600 + minutes * 60 + seconds
        return negative ? nil : total
    }
}
