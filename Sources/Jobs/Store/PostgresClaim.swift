import Reactor

/// One claim on PostgreSQL, in the writer's transaction.
///
/// Rows are picked with `FOR UPDATE SKIP LOCKED` in a materialised (fenced) CTE walking the
/// queued rows' claim-order index, so workers claiming at once never wait for each other nor take
/// the same row. A provider with a global cap (`<PROVIDER>_MAX_CONCURRENT`, across every worker)
/// is claimed under a transaction lock of its own, after counting what runs now: two workers
/// cannot both take its last slot, which counting and then claiming without the lock would allow.
struct PostgresClaim: Sendable {
    let limit: Int
    let excluded: Set<String>
    let now: Double
    let owner: String
    let leaseUntil: Double
    let caps: [String: Int]

    func run(on connection: any SQLConnection) throws -> [ClaimedJob] {
        var excluded = excluded
        var room: [String: Int] = [:]
        let capped = caps.keys.filter { !excluded.contains($0) }.sorted()  // Sorted: no lock-order deadlock.
        if !capped.isEmpty {
            for provider in capped {
                try connection.run(
                    "SELECT pg_advisory_xact_lock(hashtext(?1))", [.text("reactor-worker:cap:\(provider)")])
            }
            let running = try connection.query(
                """
                SELECT gate_key, count(*) AS n FROM jobs
                WHERE status IN \(StoreSQL.held) AND gate_key IN \(SQLDialect.postgres.texts(in: "?1")) GROUP BY gate_key
                """, [.text(StoreSQL.jsonList(Set(capped)))])
            var counts: [String: Int] = [:]
            for row in running { counts[row["gate_key"]?.string ?? ""] = Int(row["n"]?.int ?? 0) }
            for provider in capped {
                let left = caps[provider]! - (counts[provider] ?? 0)
                if left > 0 { room[provider] = min(left, limit) }
                excluded.insert(provider)  // Picked below, by itself, up to its room.
            }
        }
        var picked = try connection.query(
            Self.pickOthers, [.real(now), .text(StoreSQL.jsonList(excluded)), .integer(Int64(limit))])
        for (provider, count) in room.sorted(by: { $0.key < $1.key }) {
            picked += try connection.query(
                Self.pickProvider, [.real(now), .text(provider), .integer(Int64(count))])
        }
        let chosen = picked.sorted { Self.claimsBefore($0, $1) }.prefix(limit).compactMap { $0["id"]?.int }
        guard !chosen.isEmpty else { return [] }
        let rows = try connection.query(
            Self.markClaimed, [.text(StoreSQL.jsonIDs(chosen)), .text(owner), .real(leaseUntil)])
        return rows.map(SQLiteJobStore.claimedJob).sorted { Job.claimsBefore($0.job, $1.job) }
    }

    /// The claim order the index holds: keying first, then priority, then age.
    private static let order = "(job_type IN \(StoreSQL.claimedFirstTypes)) DESC, priority DESC, id"

    private static let pickOthers = """
        WITH picked AS MATERIALIZED (
            SELECT id, (job_type IN \(StoreSQL.claimedFirstTypes)) AS first, priority FROM jobs
            WHERE status = \(StoreSQL.word(.queued)) AND \(StoreSQL.runnable(.postgres))
            ORDER BY \(order) LIMIT ?3 FOR UPDATE SKIP LOCKED
        ) SELECT id, first, priority FROM picked
        """

    private static let pickProvider = """
        WITH picked AS MATERIALIZED (
            SELECT id, (job_type IN \(StoreSQL.claimedFirstTypes)) AS first, priority FROM jobs
            WHERE status = \(StoreSQL.word(.queued)) AND run_after <= ?1 AND gate_key = ?2
            ORDER BY \(order) LIMIT ?3 FOR UPDATE SKIP LOCKED
        ) SELECT id, first, priority FROM picked
        """

    private static let markClaimed = """
        UPDATE jobs SET \(StoreSQL.claimedSet(.postgres))
        WHERE \(SQLDialect.postgres.member("id", ofIntegers: "?1")) AND status = \(StoreSQL.word(.queued))
        RETURNING \(StoreSQL.claimedColumns(.postgres))
        """

    private static func claimsBefore(_ a: [String: SQLiteValue], _ b: [String: SQLiteValue]) -> Bool {
        let firstA = a["first"]?.int ?? 0, firstB = b["first"]?.int ?? 0
        if firstA != firstB { return firstA > firstB }
        let priorityA = a["priority"]?.int ?? 0, priorityB = b["priority"]?.int ?? 0
        if priorityA != priorityB { return priorityA > priorityB }
        return (a["id"]?.int ?? 0) < (b["id"]?.int ?? 0)
    }
}
