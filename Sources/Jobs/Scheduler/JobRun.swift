import Reactor

/// One job this worker runs now: where it sits in the gate, its context once its handler
/// started, and its time limit. Loop thread only; owned by the scheduler's active set.
final class JobRun {
    let job: Job
    let slot: Int
    /// The key the gate counts it under (the provider, or "ffmpeg").
    let gateKey: String
    /// The provider it calls once its handler is known (the gate key until then).
    var provider: String
    var context: JobContext?
    /// The loop's clock when it was claimed.
    let startedAt: Double
    var timeout: TimerWatcher?

    init(job: Job, slot: Int, gateKey: String, startedAt: Double) {
        self.job = job
        self.slot = slot
        self.gateKey = gateKey
        provider = gateKey
        self.startedAt = startedAt
    }

    /// Whether this run spent an attempt (its claim's count, less a refund; `JobContext`).
    var attemptCounted: Bool { context?.attemptCounted ?? job.attemptCounted }

    /// Stops what the run started: its timer, and its context's requests, timers and children.
    func stop() {
        timeout?.stop()
        guard let context else { return }
        if context.isCancelled { context.finishCleanup() } else { context.cancel() }
    }
}

@available(*, unavailable, message: "a job run belongs to the loop thread")
extension JobRun: Sendable {}
