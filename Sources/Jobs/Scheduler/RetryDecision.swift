/// What becomes of a job whose run failed, decided from the failure, the job's attempts and the
/// retry policy: a value, so the rule is tested without a clock, a store or a handler.
struct RetryDecision: Equatable {
    enum Verdict: Equatable {
        /// Back to the queue after `delay` seconds; `note` is kept in the row's `error`.
        case retry(delay: Double, note: String)
        /// Failed for good, with the error the row keeps.
        case fail(error: String)
    }

    let verdict: Verdict
    /// The row's attempts after this run: the claim's count, less a refund (`JobContext`), plus
    /// this failure when the run had counted none (a resumed task's failure still counts one).
    let attempts: Int

    /// - Parameters:
    ///   - message: the failure's words, already redacted.
    ///   - claimCounted: whether the claim counted an attempt (`Job.attemptCounted`).
    ///   - runCounted: whether the run still counts one at its end (`JobContext.attemptCounted`).
    ///   - random: in 0..<1, for the back-off's jitter.
    static func decide(
        _ failure: JobFailure, message: String, job: Job, claimCounted: Bool, runCounted: Bool, policy: RetryPolicy,
        random: Double
    ) -> RetryDecision {
        let attempts = job.attempts - (claimCounted && !runCounted ? 1 : 0) + (runCounted ? 0 : 1)
        guard policy.shouldRetry(failure, attempts: attempts, maxAttempts: job.maxAttempts) else {
            let error = failure.kind == .transient ? "\(message) (gave up after \(attempts) attempts)" : message
            return RetryDecision(verdict: .fail(error: error), attempts: attempts)
        }
        let delay = policy.delay(afterAttempt: attempts, retryAfter: failure.retryAfter, random: random)
        return RetryDecision(
            verdict: .retry(delay: delay, note: "attempt \(attempts) of \(job.maxAttempts) failed: \(message)"),
            attempts: attempts)
    }
}
