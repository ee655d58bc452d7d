import Foundation
import JSON
import Reactor

/// `JobStore` on a SQLite `jobs.db` in WAL mode: a read connection owned by the loop thread
/// for cheap checks, and the `WriterQueue` thread for every write.
public final class SQLiteJobStore: JobStore {
    private let loop: EventLoop
    private let reader: SQLiteConnection
    private let writer: WriterQueue
    /// "host:pid:start" of this process, recorded on every row it claims.
    public let owner: String
    /// `AND (lease_owner IS NULL OR lease_owner = '<owner>')`, made once: building it per update
    /// with `replacingOccurrences` cost the writer thread 15k instructions per job (RESULTS.md).
    private let ownLeaseCondition: String
    private let leaseSeconds: Double
    /// Interruptions (a worker stopping mid-run) after which a job fails instead of running again.
    private let maxInterruptions: Int
    /// This database's random id (`JobSchema.databaseID`), for provider idempotency keys.
    public let databaseID: String
    /// Loop thread only: writes made during this loop iteration, handed to the writer together
    /// before the loop sleeps, so that (for example) a job's completion and the claim of the
    /// job that takes its slot commit in one transaction and no reader sees the slot empty.
    private var iterationWrites: [WriterQueue.Item] = []
    /// How many times the loop handed a batch of writes to the writer (each becomes one
    /// transaction, or shares one). Loop-owned.
    private(set) var writeHandOvers = 0

    public init(
        path: String, loop: EventLoop, log: WorkerLog, owner: String, leaseSeconds: Double = 60,
        maxInterruptions: Int = 5
    ) throws {
        self.loop = loop
        self.owner = owner
        self.maxInterruptions = maxInterruptions
        ownLeaseCondition =
            "AND (lease_owner IS NULL OR lease_owner = '\(owner.replacingOccurrences(of: "'", with: "''"))')"
        self.leaseSeconds = leaseSeconds
        writer = WriterQueue(path: path, loop: loop, log: log)
        try writer.start()  // Migrates the schema before the reader looks at it.
        reader = try SQLiteConnection(path: path, busyTimeout: 1)
        databaseID = try JobSchema.databaseID(reader)
    }

    private static let now = JobSchema.nowExpression
    /// The job types whose runs pay no provider (ffmpeg on this machine).
    private static let mediaTypes = "('video_keying','video_stitching')"
    /// The statuses of a row some worker holds.
    private static let held = "('processing','keying_processing','cancel_requested')"
    private static let runnable = """
        status = 'queued' AND run_after <= ?1 AND (\(JobSchema.gateKeyExpression)) NOT IN (SELECT value FROM json_each(?2))
        """

    public func hasRunnableJobs(now: Double, excluding keys: Set<String>) -> Bool {
        loop.assertInLoop()
        let rows = try? reader.query(
            "SELECT 1 FROM jobs WHERE \(Self.runnable) LIMIT 1", [.real(now), .text(Self.jsonList(keys))])
        return !(rows ?? []).isEmpty
    }

    public func claim(
        limit: Int, excluding keys: Set<String>, now: Double, completion: @escaping ([ClaimedJob]) -> Void
    ) {
        loop.assertInLoop()
        let owner = owner
        let leaseUntil = Date().timeIntervalSince1970 + leaseSeconds
        let excluded = Self.jsonList(keys)
        let claimed = ReplyBox([ClaimedJob]())
        let reply = UncheckedBox(completion)
        enqueue(
            WriterQueue.Item(
                apply: { connection in
                    // Keying first, then the rest; each select walks an index in claim order and
                    // stops at the limit, so a claim costs the same with ten or ten thousand queued.
                    var ids = try connection.query(
                        Self.pickKeying, [.real(now), .text(excluded), .integer(Int64(limit))]
                    )
                    .compactMap { $0["id"]?.int }
                    if ids.count < limit {
                        let remaining = Int64(limit - ids.count)
                        ids += try connection.query(
                            Self.pickOthers, [.real(now), .text(excluded), .integer(remaining)]
                        )
                        .compactMap { $0["id"]?.int }
                    }
                    guard !ids.isEmpty else { return }
                    let rows = try connection.query(
                        Self.markClaimed, [.text(Self.jsonIDs(ids)), .text(owner), .real(leaseUntil)])
                    claimed.value = rows.map(Self.claimedJob).sorted(by: Self.claimOrder)
                },
                afterCommit: { reply.value(claimed.value) }))
    }

    private static let runnableTail = """
        run_after <= ?1 AND (\(JobSchema.gateKeyExpression)) NOT IN (SELECT value FROM json_each(?2))
        """
    private static let pickKeying = """
        SELECT id FROM jobs INDEXED BY jobs_type_claim_order WHERE status = 'queued' AND job_type = 'video_keying'
        AND \(runnableTail) ORDER BY priority DESC, id LIMIT ?3
        """
    private static let pickOthers = """
        SELECT id FROM jobs INDEXED BY jobs_claim_order WHERE status = 'queued' AND job_type <> 'video_keying'
        AND \(runnableTail) ORDER BY priority DESC, id LIMIT ?3
        """
    // `+status` keeps SQLite on the rowid lookup: with the status index it walked every queued row.
    private static let markClaimed = """
        UPDATE jobs SET status = CASE WHEN job_type = 'video_keying' THEN 'keying_processing' ELSE 'processing' END,
            attempts = attempts + CASE WHEN provider_task_id IS NULL THEN 1 ELSE 0 END, progress = 0, started_at = \(now), updated_at = \(now),
            lease_owner = ?2, lease_until = ?3
        WHERE id IN (SELECT value FROM json_each(?1)) AND +status = 'queued'
        RETURNING id, job_type, params, priority, attempts, max_attempts, provider_task_id, provider_state,
            interruptions, submission, (julianday(created_at) - 2440587.5) * 86400.0 AS created_unix,
            (\(JobSchema.gateKeyExpression)) AS gate_key
        """

    public func record(_ update: JobUpdate) {
        let mine = ownLeaseCondition
        enqueue(
            WriterQueue.Item(
                apply: { connection in try Self.apply(update, mine: mine, on: connection) }, afterCommit: nil))
    }

    public func recoverAbandonedJobs(now: Double, completion: @escaping (Int) -> Void) {
        loop.assertInLoop()
        let host = owner.split(separator: ":").first.map(String.init) ?? ""
        let counted = ReplyBox(0)
        let reply = UncheckedBox(completion)
        let myOwner = owner
        let limit = maxInterruptions
        enqueue(
            WriterQueue.Item(
                apply: { connection in
                    // A worker on this host whose process is gone will never renew its lease:
                    // requeue its rows now instead of waiting for the lease to run out.
                    let owners = try connection.query(
                        "SELECT DISTINCT lease_owner FROM jobs WHERE status IN \(Self.held) AND lease_owner IS NOT NULL"
                    ).compactMap { $0["lease_owner"]?.string }
                    let workers = try connection.query("SELECT id FROM workers WHERE status <> 'gone'")
                        .compactMap { $0["id"]?.string }
                    let dead = Set(owners + workers).filter {
                        $0 != myOwner && WorkerIdentity.isDeadLocalOwner($0, host: host)
                    }
                    let deadList = Self.jsonList(dead)
                    // The interrupted run counts one interruption, not a failure; `maxInterruptions`
                    // of them end the job, in case the job itself keeps stopping its workers. Its
                    // attempt stays spent only if it may have paid: a provider job's claim counts
                    // one for its submit (a resumed task counted none); a media job pays nothing.
                    let rows = try connection.query(
                        """
                        UPDATE jobs SET
                            status = CASE WHEN status = 'cancel_requested' THEN 'cancelled'
                                WHEN interruptions + 1 >= ?4 THEN 'failed' ELSE 'queued' END,
                            error = CASE WHEN status = 'cancel_requested' THEN 'cancelled'
                                WHEN interruptions + 1 >= ?4 THEN 'the worker running this job stopped '
                                    || (interruptions + 1) || ' times before it finished (killed, crashed or lost power'
                                    || ' each time); it is not run again on its own, in case the job itself stops the'
                                    || ' worker. Check the worker log, then run `reactor-worker retry ' || id || '`'
                                ELSE error END,
                            interruptions = interruptions + CASE WHEN status = 'cancel_requested' THEN 0 ELSE 1 END,
                            attempts = max(attempts - CASE WHEN job_type IN \(Self.mediaTypes) THEN 1 ELSE 0 END, 0),
                            finished_at = CASE WHEN status = 'cancel_requested' OR interruptions + 1 >= ?4
                                THEN \(Self.now) ELSE finished_at END,
                            lease_owner = NULL, lease_until = NULL, updated_at = \(Self.now)
                        WHERE status IN \(Self.held) AND lease_owner IS NOT ?3
                          AND (lease_until IS NULL OR lease_until < ?1 OR lease_owner IN (SELECT value FROM json_each(?2)))
                        RETURNING id
                        """,
                        [.real(now), .text(deadList), .text(myOwner), .integer(Int64(limit))])
                    try connection.run(
                        """
                        UPDATE workers SET status = 'gone'
                        WHERE status <> 'gone' AND id IS NOT ?3
                          AND (heartbeat_unix < ?1 - lease_seconds OR id IN (SELECT value FROM json_each(?2)))
                        """, [.real(now), .text(deadList), .text(myOwner)])
                    counted.value = rows.count
                },
                afterCommit: { reply.value(counted.value) }))
    }

    public func pendingCancellations(activeIDs: [Int64]) -> [Int64] {
        loop.assertInLoop()
        let rows = (try? reader.query("SELECT id, lease_owner FROM jobs WHERE status = 'cancel_requested'")) ?? []
        guard !rows.isEmpty else { return [] }
        let active = Set(activeIDs)
        var running: [Int64] = []
        for row in rows {
            guard let id = row["id"]?.int else { continue }
            if active.contains(id) {
                running.append(id)
            } else if row["lease_owner"]?.string == nil {
                record(.cancelled(id: id, reason: "cancelled before it started"))
            }
        }
        return running
    }

    public func jobSummary(id: Int64) -> (status: String, result: JSONValue?)? {
        guard let row = (try? reader.query("SELECT status, result FROM jobs WHERE id = ?", [.integer(id)]))?.first
        else { return nil }
        let result = row["result"]?.string.flatMap { try? JSONValue.parse($0) }
        return (row["status"]?.string ?? "", result)
    }

    public func queuedCount() -> Int {
        Int((try? reader.query("SELECT count(*) AS n FROM jobs WHERE status = 'queued'"))?.first?["n"]?.int ?? 0)
    }

    public func earliestRunAfter() -> Double? {
        (try? reader.query("SELECT min(run_after) AS t FROM jobs WHERE status = 'queued'"))?.first?["t"]?.double
    }

    public func flush(_ done: @escaping () -> Void) {
        let reply = UncheckedBox(done)
        enqueue(WriterQueue.Item(apply: { _ in }, afterCommit: { reply.value() }))
    }

    public func close(_ done: @escaping () -> Void) {
        handOverIterationWrites()
        let reply = UncheckedBox(done)
        writer.stop { reply.value() }
        reader.close()
    }

    /// Collects a write for the end of this loop iteration (off the loop: straight to the writer).
    private func enqueue(_ item: WriterQueue.Item) {
        guard loop.inLoop else {
            writer.submit(item)
            return
        }
        if iterationWrites.isEmpty {
            loop.handOverBeforeSleep { [weak self] in self?.handOverIterationWrites() }
        }
        iterationWrites.append(item)
    }

    private func handOverIterationWrites() {
        let items = iterationWrites
        iterationWrites.removeAll()
        writeHandOvers += 1
        writer.submit(items)
    }

    /// Renews the leases of the running jobs and this worker's heartbeat in one write.
    public func heartbeat(activeIDs: [Int64], activity: [String: ProviderActivity]) {
        record(
            .heartbeat(
                owner: owner, activeIDs: activeIDs, leaseUntil: Date().timeIntervalSince1970 + leaseSeconds,
                activity: activity))
    }

    // MARK: Row mapping

    private static let done = "finished_at = \(now), updated_at = \(now), lease_owner = NULL, lease_until = NULL"

    /// Writes one update; `mine` limits it to rows this worker holds (`ownLeaseCondition`).
    static func apply(_ update: JobUpdate, mine: String, on connection: SQLiteConnection) throws {
        switch update {
        case .completed(let id, let result):
            try connection.run(
                "UPDATE jobs SET status = 'completed', result = ?2, error = NULL, progress = 1, \(done) WHERE id = ?1 \(mine)",
                [.integer(id), .text(result)])
        case .failed(let id, let error, let attempts):
            try connection.run(
                "UPDATE jobs SET status = 'failed', error = ?2, attempts = ?3, \(done) WHERE id = ?1 \(mine)",
                [.integer(id), .text(error), .integer(Int64(attempts))])
        case .cancelled(let id, let reason):
            try connection.run(
                "UPDATE jobs SET status = 'cancelled', error = ?2, \(done) WHERE id = ?1",
                [.integer(id), .text(reason)])
        case .retry(let id, let error, let runAfter, let attempts):
            // A cancel requested meanwhile wins: the job ends instead of going back to the queue.
            try connection.run(
                """
                UPDATE jobs SET
                    status = CASE WHEN status = 'cancel_requested' THEN 'cancelled' ELSE 'queued' END,
                    error = CASE WHEN status = 'cancel_requested' THEN 'cancelled while running' ELSE ?2 END,
                    finished_at = CASE WHEN status = 'cancel_requested' THEN \(now) ELSE finished_at END,
                    run_after = ?3, attempts = ?4, updated_at = \(now), lease_owner = NULL, lease_until = NULL
                WHERE id = ?1 \(mine)
                """, [.integer(id), .text(error), .real(runAfter), .integer(Int64(attempts))])
        case .release(let id, let attemptCounted):
            try connection.run(
                """
                UPDATE jobs SET
                    status = CASE WHEN status = 'cancel_requested' THEN 'cancelled' ELSE 'queued' END,
                    error = CASE WHEN status = 'cancel_requested' THEN 'cancelled' ELSE error END,
                    finished_at = CASE WHEN status = 'cancel_requested' THEN \(now) ELSE finished_at END,
                    attempts = max(attempts - ?2, 0), updated_at = \(now), lease_owner = NULL, lease_until = NULL
                WHERE id = ?1 \(mine)
                """, [.integer(id), .integer(attemptCounted ? 1 : 0)])
        case .progress(let id, let value):
            try connection.run(
                "UPDATE jobs SET progress = ?2 WHERE id = ?1 AND status IN ('processing','keying_processing')",
                [.integer(id), .real(min(max(value, 0), 1))])
        case .providerTask(let id, let taskID, let state):
            try connection.run(
                "UPDATE jobs SET provider_task_id = ?2, provider_state = ?3, updated_at = \(now) WHERE id = ?1",
                [.integer(id), .text(taskID), state.map(SQLiteValue.text) ?? .null])
        case .refundAttempt(let id):
            try connection.run("UPDATE jobs SET attempts = max(attempts - 1, 0) WHERE id = ?1 \(mine)", [.integer(id)])
        case .providerState(let id, let state):
            try connection.run(
                "UPDATE jobs SET provider_state = ?2, updated_at = \(now) WHERE id = ?1", [.integer(id), .text(state)])
        case .heartbeat(let owner, let ids, let until, let activity):
            if !ids.isEmpty {
                try connection.run(
                    "UPDATE jobs SET lease_until = ?1 WHERE lease_owner = ?2 AND id IN (SELECT value FROM json_each(?3))",
                    [.real(until), .text(owner), .text(Self.jsonIDs(ids))])
            }
            try connection.run(
                """
                UPDATE workers SET heartbeat_at = \(now), heartbeat_unix = ?2, active_jobs = ?3, provider_stats = ?4,
                    status = CASE WHEN status = 'gone' THEN 'running' ELSE status END
                WHERE id = ?1
                """,
                [
                    .text(owner), .real(Date().timeIntervalSince1970), .integer(Int64(ids.count)),
                    .text(JSONValue.object(activity.mapValues(\.json)).jsonString()),
                ])
        case .registerWorker(let worker):
            try connection.run(
                """
                INSERT OR REPLACE INTO workers (id, host, pid, version, started_at, heartbeat_at, heartbeat_unix,
                    lease_seconds, max_concurrent_jobs, active_jobs, provider_caps, provider_stats, status, web_url)
                VALUES (?1, ?2, ?3, ?4, \(now), \(now), ?5, ?6, ?7, 0, ?8, '{}', 'running', ?9)
                """,
                [
                    .text(worker.id), .text(worker.host), .integer(Int64(worker.pid)), .text(worker.version),
                    .real(Date().timeIntervalSince1970), .real(worker.leaseSeconds),
                    .integer(Int64(worker.maxConcurrentJobs)),
                    .text(JSONValue.object(worker.providerCaps.mapValues { .number(Double($0)) }).jsonString()),
                    worker.webURL.map(SQLiteValue.text) ?? .null,
                ])
        case .workerStopping(let owner):
            try connection.run("UPDATE workers SET status = 'stopping' WHERE id = ?1", [.text(owner)])
        case .unregisterWorker(let owner):
            try connection.run("DELETE FROM workers WHERE id = ?1", [.text(owner)])
        }
    }

    static func claimedJob(_ row: [String: SQLiteValue]) -> ClaimedJob {
        ClaimedJob(
            job: Job(
                id: row["id"]?.int ?? 0,
                typeName: row["job_type"]?.string ?? "",
                paramsText: row["params"]?.string ?? "",
                priority: Int(row["priority"]?.int ?? 0),
                attempts: Int(row["attempts"]?.int ?? 1),
                maxAttempts: Int(row["max_attempts"]?.int ?? 3),
                providerTaskID: row["provider_task_id"]?.string, providerState: row["provider_state"]?.string,
                interruptions: Int(row["interruptions"]?.int ?? 0), submission: Int(row["submission"]?.int ?? 1),
                createdAt: row["created_unix"]?.double),
            gateKey: row["gate_key"]?.string ?? "")
    }

    static func claimOrder(_ a: ClaimedJob, _ b: ClaimedJob) -> Bool {
        let aKeying = a.job.typeName == JobType.videoKeying.rawValue
        let bKeying = b.job.typeName == JobType.videoKeying.rawValue
        if aKeying != bKeying { return aKeying }
        if a.job.priority != b.job.priority { return a.job.priority > b.job.priority }
        return a.job.id < b.job.id
    }

    static func jsonIDs(_ ids: [Int64]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    static func jsonList(_ keys: Set<String>) -> String {
        JSONValue.array(keys.sorted().map { .string($0) }).jsonString()
    }
}

/// Carries a value from the writer thread's `apply` to its `afterCommit` reply on the loop.
/// @unchecked Sendable: the two never run at once, because the reply is handed to the loop
/// only after the batch committed (a happens-before edge through the loop's queue mutex).
private final class ReplyBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
