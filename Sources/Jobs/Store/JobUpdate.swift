/// A change to one job row, queued to the writer. Value type: crosses from the loop to the
/// writer thread.
public enum JobUpdate: Sendable {
    /// `result` is the JSON text, encoded once by the scheduler (and already redacted).
    case completed(id: Int64, result: String)
    /// `attempts` is the job's count including this run (a resumed run's failure counts one).
    case failed(id: Int64, error: String, attempts: Int)
    /// Back to `queued` to run again no earlier than `runAfter` (unix seconds), with the error
    /// of this attempt kept for the user to see.
    case retry(id: Int64, error: String, runAfter: Double, attempts: Int)
    /// Back to `queued` without counting the attempt: shutdown, or a claim the gate could not take.
    /// `attemptCounted` says whether the claim counted one (`Job.attemptCounted`), to give back.
    case release(id: Int64, attemptCounted: Bool)
    case cancelled(id: Int64, reason: String)
    case progress(id: Int64, value: Double)
    /// The provider accepted the submit: record its task id before any polling (no double billing).
    case providerTask(id: Int64, taskID: String, state: String?)
    /// The run resumes a task an earlier run paid for: the attempt its claim counted goes back.
    case refundAttempt(id: Int64)
    /// The provider's word for where a job stands while it has no task id (a lost submit).
    case providerState(id: Int64, state: String)
    /// A worker's row in `workers`, written when it starts.
    case registerWorker(WorkerRecord)
    /// Renews the leases of the jobs `owner` runs and its row's heartbeat, active count and
    /// provider activity, in one write.
    case heartbeat(owner: String, activeIDs: [Int64], leaseUntil: Double, activity: [String: ProviderActivity])
    /// The worker began shutting down (`stopping`) and claims nothing more.
    case workerStopping(owner: String)
    /// The worker stopped cleanly: its row goes.
    case unregisterWorker(owner: String)

    var jobID: Int64? {
        switch self {
        case .completed(let id, _), .failed(let id, _, _), .retry(let id, _, _, _), .release(let id, _),
            .cancelled(let id, _),
            .progress(let id, _), .providerTask(let id, _, _), .providerState(let id, _),
            .refundAttempt(let id):
            id
        case .registerWorker, .heartbeat, .workerStopping, .unregisterWorker: nil
        }
    }
}
