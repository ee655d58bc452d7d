/// When to try a failed job again: exponential back-off with jitter, capped.
/// A value, so tests check it without a clock and handlers never branch on retries.
public struct RetryPolicy: Sendable {
    public var baseDelay: Double
    public var multiplier: Double
    public var maxDelay: Double
    /// Fraction of the delay removed at random (0.25 → between 75 % and 100 %).
    public var jitter: Double

    public init(baseDelay: Double = 2, multiplier: Double = 2, maxDelay: Double = 300, jitter: Double = 0.25) {
        self.baseDelay = baseDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// Whether a job that failed this way on attempt `attempts` of `maxAttempts` runs again.
    public func shouldRetry(_ failure: JobFailure, attempts: Int, maxAttempts: Int) -> Bool {
        failure.kind == .transient && attempts < maxAttempts
    }

    /// Seconds to wait before attempt `attempts + 1`; `random` in 0..<1 (injected for tests).
    public func delay(afterAttempt attempts: Int, retryAfter: Double? = nil, random: Double) -> Double {
        let exponent = Double(max(attempts - 1, 0))
        let full = min(baseDelay * pow(multiplier, exponent), maxDelay)
        let jittered = full * (1 - jitter * random)
        return max(jittered, retryAfter ?? 0)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
