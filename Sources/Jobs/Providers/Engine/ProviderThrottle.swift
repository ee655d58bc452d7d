/// Paces the requests the worker sends to each provider, across all of that provider's jobs:
/// spaces them to `<PROVIDER>_RATE_PER_MIN`, and holds them all back while the provider asked
/// us to wait (a 429 with `Retry-After`). One per worker, owned by the scheduler and shared by
/// every `JobContext`. Loop thread only; the clock is injected so tests need no waiting.
///
/// Providers are keyed by the job's provider name (`params.provider` or the type's default:
/// "openai", "leonardo", "bytedance", "bria", "kling", "seedance"), the same key as
/// `<PROVIDER>_MAX_CONCURRENT`. Seedream ("bytedance") and Seedance share Ark's host but are
/// paced apart, because their limits are per model on Ark's side.
public final class ProviderThrottle {
    /// Seconds between two requests to a provider that has a rate.
    private let spacing: [String: Double]
    /// The earliest time the next request to a provider may go out under its rate.
    private var nextFree: [String: Double] = [:]
    /// Until when a provider asked us to send nothing.
    private var pausedUntil: [String: Double] = [:]
    private let clock: () -> Double
    /// HTTP 429 answers by provider since start (for the workers table and the dashboard).
    public private(set) var rateLimitAnswers: [String: Int] = [:]

    /// - Parameters:
    ///   - ratesPerMinute: most requests per minute by provider; providers not listed are not spaced.
    ///   - clock: monotonic seconds (the loop's `now` in the worker).
    public init(ratesPerMinute: [String: Double] = [:], clock: @escaping () -> Double) {
        var spacing: [String: Double] = [:]
        for (provider, rate) in ratesPerMinute where rate > 0 && rate.isFinite { spacing[provider] = 60 / rate }
        self.spacing = spacing
        self.clock = clock
    }

    /// Seconds to wait before sending one request to `provider`; 0 means "send now".
    ///
    /// Reserves that send time, so the next caller queues behind it: with a rate of R per
    /// minute, requests leave at most one every 60/R seconds (strict spacing, no burst, so no
    /// 60-second window ever holds more than R+1 of them).
    public func reserve(_ provider: String) -> Double {
        let now = clock()
        var sendAt = max(now, pausedUntil[provider] ?? now)
        if let spacing = spacing[provider] {
            sendAt = max(sendAt, nextFree[provider] ?? sendAt)
            nextFree[provider] = sendAt + spacing
        }
        return sendAt - now
    }

    /// Counts one HTTP 429 answer from `provider`.
    public func countRateLimitAnswer(_ provider: String) {
        rateLimitAnswers[provider, default: 0] += 1
    }

    /// Holds back every request to `provider` for `seconds` from now. A shorter pause never
    /// cuts a longer one already in force.
    public func pause(_ provider: String, for seconds: Double) {
        guard seconds > 0, seconds.isFinite else { return }
        let until = clock() + seconds
        pausedUntil[provider] = max(pausedUntil[provider] ?? until, until)
    }

    /// Seconds left of a pause of `provider`; 0 when it may be called.
    ///
    /// A request whose reserved time came up must check this before it goes: a 429 may have
    /// paused the provider after the reservation was made.
    public func remainingPause(_ provider: String) -> Double {
        max(0, (pausedUntil[provider] ?? 0) - clock())
    }

    /// The spacing between requests to `provider`, nil when it has no rate.
    public func spacing(for provider: String) -> Double? { spacing[provider] }
}

@available(*, unavailable, message: "the throttle belongs to the loop thread")
extension ProviderThrottle: Sendable {}
