import Foundation
import Reactor

/// Claiming on SQLite: one writer transaction picks runnable rows in claim order and marks them
/// running under this worker's lease.
extension SQLiteJobStore {
    public func claim(
        limit: Int, excluding keys: Set<String>, now: Double, completion: @escaping ([ClaimedJob]) -> Void
    ) {
        loop.assertInLoop()
        let owner = owner
        let leaseUntil = Date().timeIntervalSince1970 + leaseSeconds
        let excluded = Self.jsonList(keys)
        let claimed = ReplyBox([ClaimedJob]())
        let reply = LoopBound(completion, on: loop)
        enqueue(
            WriterQueue.Item(
                apply: { connection in
                    // Claimed-first types, then the rest; each select walks an index in claim order
                    // and stops at the limit, so a claim costs the same with ten or ten thousand queued.
                    var ids = try connection.query(
                        Self.pickFirst, [.real(now), .text(excluded), .integer(Int64(limit))]
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
                    claimed.value = rows.map(Self.claimedJob).sorted { Job.claimsBefore($0.job, $1.job) }
                },
                afterCommit: { reply.value(claimed.value) }))
    }

    private static let pickFirst = """
        SELECT id FROM jobs INDEXED BY jobs_type_claim_order
        WHERE status = \(queued) AND job_type IN \(StoreSQL.claimedFirstTypes)
        AND \(runnableTail) ORDER BY priority DESC, id LIMIT ?3
        """
    private static let pickOthers = """
        SELECT id FROM jobs INDEXED BY jobs_claim_order
        WHERE status = \(queued) AND job_type NOT IN \(StoreSQL.claimedFirstTypes)
        AND \(runnableTail) ORDER BY priority DESC, id LIMIT ?3
        """
    /// A claim counts an attempt unless the row has a provider task to resume (`Job.attemptCounted`).
    /// `+status` keeps SQLite on the rowid lookup: with the status index it walks every queued row.
    private static let markClaimed = """
        UPDATE jobs SET status = \(StoreSQL.runningStatusOfType),
            attempts = attempts + CASE WHEN provider_task_id IS NULL THEN 1 ELSE 0 END, progress = 0,
            started_at = \(now), updated_at = \(now), lease_owner = ?2, lease_until = ?3
        WHERE id IN (SELECT value FROM json_each(?1)) AND +status = \(queued)
        RETURNING id, job_type, params, priority, attempts, max_attempts, provider_task_id, provider_state,
            interruptions, submission, (julianday(created_at) - 2440587.5) * 86400.0 AS created_unix,
            (\(StoreSQL.gateKey)) AS gate_key
        """

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
}
