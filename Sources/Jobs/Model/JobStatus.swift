/// Where a job is in its life. The database words are a contract (DESIGN.md): monitoring
/// queries them with `sqlite3`, so they live in this one mapping and never change. The SQL the
/// stores run is built from these cases (`StoreSQL`), never from words typed again.
public enum JobStatus: String, Sendable, CaseIterable {
    case queued
    case processing
    case keyingProcessing = "keying_processing"
    case completed
    case failed
    case cancelled
    /// Another program asked for cancellation; the worker ends the job as `cancelled`.
    case cancelRequested = "cancel_requested"
    /// A pipeline step whose parents have not all completed; it becomes `queued` in the same
    /// transaction as its last parent's completion (docs/pipelines.md).
    case waiting

    /// The statuses of a job a worker is running now.
    public static let running: [JobStatus] = [.processing, .keyingProcessing]
    /// The statuses of a job some worker holds: running, or running with a cancel request.
    public static let held: [JobStatus] = running + [.cancelRequested]
    /// The statuses of a job that has ended for good.
    public static let finished: [JobStatus] = [.completed, .failed, .cancelled]

    public var isRunning: Bool { Self.running.contains(self) }
    public var isHeld: Bool { Self.held.contains(self) }
    public var isFinished: Bool { Self.finished.contains(self) }
}
