/// Where a job is in its life. The database words are a contract (DESIGN.md): monitoring
/// queries them with `sqlite3`, so they live in this one mapping and never change.
public enum JobStatus: String, Sendable, CaseIterable {
    case queued
    case processing
    case keyingProcessing = "keying_processing"
    case completed
    case failed
    case cancelled
    /// Another program asked for cancellation; the worker ends the job as `cancelled`.
    case cancelRequested = "cancel_requested"

    public var isRunning: Bool { self == .processing || self == .keyingProcessing }
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}
