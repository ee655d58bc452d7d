/// What this worker process has seen end since it started: runs by outcome, durations, and
/// provider errors. Fed on the loop thread from `Scheduler.onRunEnded`; copied (a value)
/// to the thread that writes the metrics file.
///
/// Counters reset when the worker restarts, as Prometheus counters may; `rate()` copes.
public struct WorkerCounters: Sendable {
    /// Key of a per-type-and-provider series.
    public struct Series: Hashable, Sendable {
        public var type: String
        public var provider: String
    }

    /// Runs that ended, by series and outcome.
    public private(set) var runs: [Series: [JobRunEnded.Outcome: Int]] = [:]
    /// Durations of completed runs, by series.
    public private(set) var durations: [Series: DurationHistogram] = [:]
    /// Failed attempts (retried or final) per provider.
    public private(set) var providerErrors: [String: Int] = [:]
    /// Failed attempts whose error was a rate-limit answer (HTTP 429), per provider.
    public private(set) var rateLimited: [String: Int] = [:]

    public init() {}

    public mutating func record(_ ended: JobRunEnded) {
        let series = Series(type: ended.type, provider: ended.provider)
        runs[series, default: [:]][ended.outcome, default: 0] += 1
        switch ended.outcome {
        case .completed:
            durations[series, default: DurationHistogram()].observe(ended.duration)
        case .failed, .retrying:
            providerErrors[ended.provider, default: 0] += 1
            if let error = ended.error, Self.isRateLimit(error) { rateLimited[ended.provider, default: 0] += 1 }
        case .cancelled, .held:
            break
        }
    }

    /// Provider clients name the status in their errors ("… API error (HTTP 429): …").
    static func isRateLimit(_ error: String) -> Bool {
        error.contains("HTTP 429") || error.lowercased().contains("rate limit")
    }
}
