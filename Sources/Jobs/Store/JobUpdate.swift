/// A change to one job row, queued to the writer. Value type: crosses from the loop to the
/// writer thread.
public enum JobUpdate: Sendable {
    /// `result` is the JSON text, encoded once by the scheduler (and already redacted).
    case completed(id: Int64, result: String)
    case failed(id: Int64, error: String)
    /// Back to `queued` to run again no earlier than `runAfter` (unix seconds), with the error
    /// of this attempt kept for the user to see.
    case retry(id: Int64, error: String, runAfter: Double)
    /// Back to `queued` without counting the attempt: shutdown, or a claim the gate could not take.
    case release(id: Int64)
    case cancelled(id: Int64, reason: String)
    case progress(id: Int64, value: Double)
    /// The provider accepted the submit: record its task id before any polling (no double billing).
    case providerTask(id: Int64, taskID: String, state: String?)
    case renewLeases(ids: [Int64], owner: String, until: Double)

    var jobID: Int64? {
        switch self {
        case .completed(let id, _), .failed(let id, _), .retry(let id, _, _), .release(let id), .cancelled(let id, _),
            .progress(let id, _), .providerTask(let id, _, _):
            id
        case .renewLeases: nil
        }
    }
}
