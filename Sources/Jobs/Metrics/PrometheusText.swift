import Foundation

/// Builds a document in the Prometheus text exposition format (version 0.0.4), the format
/// node_exporter's textfile collector reads: for each metric family a `# HELP` and a
/// `# TYPE` line, then its samples, one per line, with escaped label values.
public struct PrometheusText {
    public enum Kind: String { case counter, gauge, histogram }

    public private(set) var text = ""

    public init() {}

    /// Starts a metric family. Call before its samples; each name once per document.
    public mutating func family(_ name: String, _ kind: Kind, help: String) {
        let escapedHelp = help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        text += "# HELP \(name) \(escapedHelp)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample line: `name{label="value",…} number`. Labels keep the order given.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    /// The samples of one histogram: cumulative `_bucket` lines (ending with `le="+Inf"`),
    /// `_sum` and `_count`.
    public mutating func histogram(_ name: String, _ labels: [(String, String)], _ histogram: DurationHistogram) {
        for (bound, count) in histogram.cumulativeBuckets {
            sample(name + "_bucket", labels + [("le", Self.format(bound))], Double(count))
        }
        sample(name + "_sum", labels, histogram.sum)
        sample(name + "_count", labels, Double(histogram.count))
    }

    /// Label values escape backslash, double quote and newline.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Whole numbers without a fraction, others in shortest round-trip form, infinities as
    /// `+Inf`/`-Inf` (Go's ParseFloat and Python's float both read these).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
