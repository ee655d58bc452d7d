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
        let excluded = StoreSQL.jsonList(keys)
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
                    // Each row on its own, then one read of those this claim took: an UPDATE of
                    // several rows, or one with RETURNING, makes SQLite keep a statement journal
                    // (`StoreCompletions`).
                    var taken: [Int64] = []
                    for id in ids {
                        try connection.run(Self.markClaimed, [.integer(id), .text(owner), .real(leaseUntil)])
                        if connection.changes > 0 { taken.append(id) }
                    }
                    guard !taken.isEmpty else { return }
                    let rows = try connection.query(Self.readClaimed, [.text(StoreSQL.jsonIDs(taken))])
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
    /// `+status` keeps SQLite on the rowid lookup rather than the status index.
    private static let markClaimed = """
        UPDATE jobs SET \(StoreSQL.claimedSet(.sqlite)) WHERE id = ?1 AND +status = \(queued)
        """
    private static let readClaimed = """
        SELECT \(StoreSQL.claimedColumns(.sqlite)) FROM jobs WHERE id IN (SELECT value FROM json_each(?1))
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
