/// Our own key for one paid submission of one job, sent where a provider takes a caller's id
/// (Kling's `external_task_id`) and used to find the task again when its id was never recorded.
///
/// "rw-<database id>-<job id>-<submission>". The database's random id (`DatabaseID`) keeps the
/// key unique beyond one `jobs.db`: a fresh database, pruned and reused job ids, or two
/// databases on one provider account never share a key, so a job is never refused as a
/// duplicate nor handed someone else's video. The submission number stays the same when a lost
/// submit is sent again, and goes up when the worker means to pay for a new task (`retry`).
public struct ExternalTaskID: Sendable, Equatable, CustomStringConvertible {
    public var databaseID: String
    public var jobID: Int64
    public var submission: Int

    public init(databaseID: String, jobID: Int64, submission: Int) {
        self.databaseID = databaseID
        self.jobID = jobID
        self.submission = submission
    }

    public var description: String { "rw-\(databaseID)-\(jobID)-\(submission)" }
}
