import Foundation

/// Where and how often `run` writes its Prometheus textfile.
struct MetricsSettings {
    /// METRICS_DIR: the folder node_exporter's `--collector.textfile.directory` reads.
    var directory: String
    /// METRICS_INTERVAL_SECONDS (default 5).
    var interval: Double
}

extension Configuration {
    /// The metrics settings, or nil when METRICS_DIR is not set (no metrics file is written).
    /// The folder is created if missing and must be writable.
    func metricsSettings() throws -> MetricsSettings? {
        guard let directory = string("METRICS_DIR") else { return nil }
        let interval = try seconds("METRICS_INTERVAL_SECONDS", default: 5, minimum: 0.1)
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        try Self.checkWritableDirectory(absolute, setting: "METRICS_DIR")
        return MetricsSettings(directory: absolute, interval: interval)
    }
}
