/// How often to ask a provider whether a task is done: every `base` seconds while the task is
/// young, then less often the longer it runs (a video that took 5 minutes will not finish in
/// the next 2 seconds), up to `maximum`. A value, so tests check it without a clock.
public struct PollSchedule: Sendable, Equatable {
    public var base: Double
    public var maximum: Double
    /// Seconds of polling at `base` before the interval starts to grow.
    public var steadySeconds: Double

    public init(base: Double, maximum: Double, steadySeconds: Double = 30) {
        self.base = base
        self.maximum = max(maximum, base)
        self.steadySeconds = steadySeconds
    }

    /// Seconds until the next poll, after `elapsed` seconds of waiting on the task: `base`
    /// during the steady phase, then growing in proportion to the time waited (so polls cost
    /// a fixed share of the wait), capped at `maximum`.
    public func interval(afterWaiting elapsed: Double) -> Double {
        guard elapsed > steadySeconds, steadySeconds > 0 else { return base }
        return min(maximum, base * elapsed / steadySeconds)
    }

    /// This schedule with `<KEY>_POLL_SECONDS` and `<KEY>_POLL_MAX_SECONDS` applied
    /// ("kling" → `KLING_POLL_SECONDS`).
    func configured(for provider: ProviderName, _ settings: ProviderSettings) throws(JobFailure) -> PollSchedule {
        let prefix = provider.settingsPrefix
        let base = try settings.seconds("\(prefix)_POLL_SECONDS", default: base)
        let maximum = try settings.seconds("\(prefix)_POLL_MAX_SECONDS", default: max(maximum, base))
        return PollSchedule(base: base, maximum: maximum, steadySeconds: steadySeconds)
    }
}
