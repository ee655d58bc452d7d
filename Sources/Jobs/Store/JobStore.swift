import JSON

/// The scheduler's view of job storage, so scheduling logic does not depend on SQLite.
///
/// Loop thread only. Reads answer at once (they are cheap, indexed); writes are queued and
/// batched, and their completions run on the loop after they are durable.
public protocol JobStore: AnyObject {
    /// Whether a queued job could be claimed now, leaving out jobs whose gate key is full.
    func hasRunnableJobs(now: Double, excluding keys: Set<String>) -> Bool
    /// Marks up to `limit` runnable jobs as running under `owner` (keying first, then priority,
    /// then oldest) and returns them in that order.
    func claim(limit: Int, excluding keys: Set<String>, now: Double, completion: @escaping ([ClaimedJob]) -> Void)
    /// Queues a change to a row. Never dropped: retried until the database takes it.
    func record(_ update: JobUpdate)
    /// Puts running rows whose lease ran out (or whose worker on this host is gone) back to
    /// `queued` without spending an attempt, counting an interruption (`failed` once there were
    /// too many), and marks such workers `gone`; reports how many jobs it recovered.
    func recoverAbandonedJobs(now: Double, completion: @escaping (Int) -> Void)
    /// Ends `cancel_requested` rows that no worker runs; returns the running ids (among
    /// `activeIDs`) that another program asked to cancel.
    func pendingCancellations(activeIDs: [Int64]) -> [Int64]
    /// Status and result of one job, for inputs given as `{"job": ID}`.
    func jobSummary(id: Int64) -> (status: String, result: JSONValue?)?
    /// Jobs queued, runnable now or later.
    func queuedCount() -> Int
    /// The earliest time a queued job becomes runnable, if any is waiting for a later time.
    func earliestRunAfter() -> Double?
    /// Runs `done` on the loop once every write queued before this call is committed.
    func flush(_ done: @escaping () -> Void)
    /// Extends the leases of the jobs this worker runs and renews its row in `workers`.
    func heartbeat(activeIDs: [Int64], activity: [String: ProviderActivity])
    /// Flushes, stops the writer and closes connections; `done` runs on the loop.
    func close(_ done: @escaping () -> Void)
}

/// A claimed job plus the gate key it was claimed under.
public struct ClaimedJob: Sendable {
    public var job: Job
    /// The provider (or "ffmpeg") the concurrency gate counts this job under.
    public var gateKey: String
}
