import Reactor

/// Spend in the store: reservations checked and written in one writer transaction, which takes
/// its turn with every other worker's (SQLite's `BEGIN IMMEDIATE`, a transaction lock on
/// PostgreSQL), so two workers cannot both take the last dollar; and the `spend` rows summed into
/// the job's `cost_*` columns.
extension SQLiteJobStore {
    public func reserveSpend(
        _ entry: SpendEntry, within budgets: DailyBudgets, completion: @escaping (SpendDecision) -> Void
    ) {
        loop.assertInLoop()
        enqueue(StoreSpend.reservation(entry, budgets, loop: loop, reply: completion))
    }
}

enum StoreSpend {
    /// `reserve` as a writer item whose decision goes to `reply` on the loop, for either store.
    static func reservation(
        _ entry: SpendEntry, _ budgets: DailyBudgets, loop: EventLoop, reply: @escaping (SpendDecision) -> Void
    ) -> WriterQueue.Item {
        .answering(SpendDecision.granted, on: loop, reply: reply) { try reserve(entry, budgets, on: $0) }
    }

    static func reserve(_ entry: SpendEntry, _ budgets: DailyBudgets, on connection: any SQLConnection) throws
        -> SpendDecision
    {
        if let turnstile = connection.dialect.turnstile("spend") { _ = try connection.query(turnstile, []) }
        let key: [SQLiteValue] = [.integer(entry.jobID), .integer(Int64(entry.submission))]
        if try !connection.query("SELECT 1 FROM spend WHERE job_id = ?1 AND submission = ?2", key).isEmpty {
            return .granted  // This submission was reserved before: a resumed run pays nothing more.
        }
        let sums = try connection.query(
            """
            SELECT coalesce(sum(usd), 0) AS overall, coalesce(sum(CASE WHEN provider = ?2 THEN usd END), 0) AS mine
            FROM spend WHERE day = ?1
            """, [.text(entry.day), .text(entry.provider)])
        if let reason = budgets.overrun(
            provider: entry.provider, cost: entry.usd ?? 0, spentByProvider: sums.first?["mine"]?.double ?? 0,
            spentOverall: sums.first?["overall"]?.double ?? 0)
        {
            return .overBudget(reason: reason)
        }
        var reserved = entry
        reserved.state = .reserved
        try write(reserved, on: connection)
        return .granted
    }

    /// Writes a submission's row over what it had (a reported figure is kept over an estimate),
    /// then the job's `cost_*` columns from its charged rows. Money that went down (a
    /// reservation dropped, a report below the estimate) lets held jobs look again.
    static func write(_ entry: SpendEntry, on connection: any SQLConnection) throws {
        let before = try connection.query(
            "SELECT usd FROM spend WHERE job_id = ?1 AND submission = ?2",
            [.integer(entry.jobID), .integer(Int64(entry.submission))]
        ).first?["usd"]?.double
        try connection.run(
            """
            INSERT INTO spend (job_id, submission, provider, model, day, usd, units, unit, note, estimated, state, pipeline_id)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, (SELECT pipeline_id FROM jobs WHERE id = ?1))
            ON CONFLICT (job_id, submission) DO UPDATE SET
                usd = excluded.usd, units = excluded.units, unit = excluded.unit, note = excluded.note,
                estimated = excluded.estimated, state = excluded.state, model = excluded.model
            WHERE NOT (spend.estimated = 0 AND excluded.estimated = 1)
            """,
            [
                .integer(entry.jobID), .integer(Int64(entry.submission)), .text(entry.provider), .text(entry.model),
                .text(entry.day), entry.usd.map(SQLiteValue.real) ?? .null, .real(entry.units), .text(entry.unit),
                entry.note.map(SQLiteValue.text) ?? .null, .integer(entry.estimated ? 1 : 0),
                .text(entry.state.rawValue),
            ])
        try summarise(entry.jobID, on: connection)
        if let before, let after = entry.usd, after < before - 0.000_001 { try releaseHolds(on: connection) }
    }

    static func cancel(jobID: Int64, submission: Int, on connection: any SQLConnection) throws {
        try connection.run(
            "DELETE FROM spend WHERE job_id = ?1 AND submission = ?2 AND state = '\(SpendEntry.State.reserved.rawValue)'",
            [.integer(jobID), .integer(Int64(submission))])
        if connection.changes > 0 { try releaseHolds(on: connection) }
    }

    static func releaseHolds(on connection: any SQLConnection) throws {
        try connection.run(
            "UPDATE jobs SET run_after = 0 WHERE hold IS NOT NULL AND status = \(StoreSQL.word(.queued))", [])
    }

    /// The job's cost: the sum of its charged submissions; no money figure when any lacks a price.
    private static func summarise(_ jobID: Int64, on connection: any SQLConnection) throws {
        let charged = "FROM spend WHERE job_id = ?1 AND state = '\(SpendEntry.State.charged.rawValue)'"
        try connection.run(
            """
            UPDATE jobs SET
                cost_usd = (SELECT CASE WHEN count(usd) = count(*) THEN sum(usd) END \(charged)),
                cost_units = (SELECT sum(units) \(charged)),
                cost_unit = (SELECT max(unit) \(charged)),
                cost_note = (SELECT max(note) \(charged))
            WHERE id = ?1
            """, [.integer(jobID)])
    }
}
