import JSON

/// Where jobs live, as the scheduler sees them: a handful of verbs, so that the scheduler's rules
/// do not depend on SQLite, the tests run them on `InMemoryJobStore`, and a networked store can
/// sit behind the same protocol.
///
/// Loop thread only. Every answer arrives through a completion on the loop — at once for a store
/// that can read without waiting (SQLite's loop-owned reader, memory), later for one that cannot.
/// Writes are queued and batched; a store never drops one, and their completions run after they
/// are durable.
public protocol JobStore: AnyObject {
    /// This database's random id (`meta.database_id`), for provider idempotency keys.
    var databaseID: String { get }

    /// Whether the scheduler asks `hasRunnableJobs` before claiming. Yes where that read is
    /// synchronous and saves a write transaction (SQLite); no where it is a round trip that would
    /// split a completion from the claim refilling its slot (PostgreSQL, whose empty claim with
    /// SKIP LOCKED is as cheap as the read).
    var looksBeforeClaiming: Bool { get }

    /// Whether a queued job could be claimed now, leaving out jobs whose gate key is full.
    func hasRunnableJobs(now: Double, excluding keys: Set<String>, completion: @escaping (Bool) -> Void)
    /// Marks up to `limit` runnable jobs as running under this worker's lease — keying first, then
    /// higher priority, then older (`Job.claimsBefore`) — and returns them in that order.
    func claim(limit: Int, excluding keys: Set<String>, now: Double, completion: @escaping ([ClaimedJob]) -> Void)
    /// Reserves a submission's expected cost against the day's spend, atomically with every other
    /// worker on the database: `.granted` (also when this submission was reserved or charged
    /// before) or `.overBudget` with the words for the user, and nothing written.
    func reserveSpend(_ entry: SpendEntry, within budgets: DailyBudgets, completion: @escaping (SpendDecision) -> Void)
    /// Queues a change to a row or to this worker's row in `workers`.
    func record(_ update: JobUpdate)
    /// Puts running rows whose lease ran out (or whose worker on this host is gone) back to
    /// `queued` without failing them, counting an interruption (`failed` once there were too many),
    /// and marks such workers `gone`; reports how many jobs it recovered.
    func recoverAbandonedJobs(now: Double, completion: @escaping (Int) -> Void)
    /// Ends `cancel_requested` rows that no worker runs; answers with the running ids (among
    /// `activeIDs`) that another program asked to cancel.
    func pendingCancellations(activeIDs: [Int64], completion: @escaping ([Int64]) -> Void)
    /// Status and result of the jobs named by `{"job": ID}` inputs; ids that do not exist are absent.
    func jobSummaries(ids: [Int64], completion: @escaping ([Int64: JobSummary]) -> Void)
    /// Jobs queued, runnable now or later, and apart from them those a daily budget holds (they
    /// do not keep `run --drain` waiting for the next day).
    func queuedCount(completion: @escaping (_ queued: Int, _ held: Int) -> Void)
    /// The earliest time a queued job becomes runnable, if any is waiting for a later time.
    func earliestRunAfter(completion: @escaping (Double?) -> Void)
    /// Extends the leases of the jobs this worker runs and renews its row in `workers`.
    func heartbeat(activeIDs: [Int64], activity: [String: ProviderActivity])
    /// Runs `done` on the loop once every write queued before this call is durable.
    func flush(_ done: @escaping () -> Void)
    /// Flushes, stops writing and closes; `done` runs on the loop.
    func close(_ done: @escaping () -> Void)
}

/// A claimed job plus the gate key it was claimed under.
public struct ClaimedJob: Sendable {
    public var job: Job
    /// The provider (or "ffmpeg") the concurrency gate counts this job under.
    public var gateKey: String

    public init(job: Job, gateKey: String) {
        self.job = job
        self.gateKey = gateKey
    }
}

/// What an input given as `{"job": ID}` needs of that job.
public struct JobSummary: Sendable {
    public var status: String
    public var result: JSONValue?

    public init(status: String, result: JSONValue?) {
        self.status = status
        self.result = result
    }
}

extension JobStore {
    public var looksBeforeClaiming: Bool { true }
}
