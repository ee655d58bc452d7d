import Reactor

/// What it costs to send a provider request again after its answer was lost, so that a
/// generation is never paid for twice by accident.
public enum SubmitKind: Sendable {
    /// Reads and cheap calls (polls, analysis): a lost answer is simply asked for again.
    case retrySafe
    /// Starts paid work the provider cannot match to an earlier try.
    case paid
    /// Starts paid work, but the provider refuses a repeat carrying the same key (Kling's
    /// `external_task_id`, code 1201), so sending again cannot pay twice; the refusal makes the
    /// worker find the task by that key instead.
    case paidDeduplicated

    /// The failure for a request that got no HTTP answer.
    ///
    /// Resolve and connect failures mean nothing reached the provider: always safe to retry.
    /// Any later failure (timeout, reset) may have started the work: a `.paid` submit then fails
    /// for good unless the job's params set `resubmit_on_lost_submit`.
    public func failure(
        for error: HTTPTransportError, provider: String, host: String, timeout: Double, resubmitAllowed: Bool
    ) -> JobFailure {
        let what = error.kind == .timeout ? "timed out after \(DurationText.seconds(timeout))" : error.message
        let neverDelivered = error.kind == .couldNotResolve || error.kind == .couldNotConnect
        if self == .paid && !neverDelivered && !resubmitAllowed {
            return .permanent(
                "the submit to \(provider) at \(host) got no answer (\(what)); it may have started a paid generation, "
                    + "so it is not sent again. Check the \(provider) dashboard, then retry the job, or set "
                    + "params.resubmit_on_lost_submit to true to allow automatic resubmits")
        }
        return .transient("could not reach \(provider) at \(host): \(what)")
    }
}
