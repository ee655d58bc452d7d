import JSON
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
        try write([reserved], on: connection)
        return .granted
    }

    /// Writes each submission's row over what it had (a reported figure is kept over an
    /// estimate), then the jobs' `cost_*` columns from their charged rows: on PostgreSQL three
    /// statements for however many entries, since a batch of completions brings one entry each
    /// (on SQLite the upsert runs per entry, `SQLDialect.writesRowsAsJSON`). Money that went
    /// down (a reservation dropped, a report below the estimate) lets held jobs look again.
    static func write(_ entries: [SpendEntry], on connection: any SQLConnection) throws {
        guard !entries.isEmpty else { return }
        struct Key: Hashable {
            let job: Int64
            let submission: Int64
        }
        let keys = entries.map { Key(job: $0.jobID, submission: Int64($0.submission)) }
        guard Set(keys).count == keys.count else {
            // One statement cannot upsert a row twice: in order, one at a time.
            for entry in entries { try write([entry], on: connection) }
            return
        }
        let jobIDs = StoreSQL.jsonIDs(Array(Set(entries.map(\.jobID))).sorted())
        let dialect = connection.dialect
        var before: [Key: Double] = [:]
        for row in try connection.query(
            "SELECT job_id, submission, usd FROM spend WHERE \(dialect.member("job_id", ofIntegers: "?1"))",
            [.text(jobIDs)])
        {
            guard let job = row["job_id"]?.int, let submission = row["submission"]?.int, let usd = row["usd"]?.double
            else { continue }
            before[Key(job: job, submission: submission)] = usd
        }
        let columns: KeyValuePairs<String, SQLDialect.JSONColumnType> = [
            "job_id": .integer, "submission": .integer, "provider": .text, "model": .text, "day": .text,
            "usd": .real, "units": .real, "unit": .text, "note": .text, "estimated": .integer, "state": .text,
        ]
        func upsert(_ source: String) -> String {
            """
            INSERT INTO spend (\(columns.map(\.key).joined(separator: ", ")), pipeline_id)
            \(source)
            ON CONFLICT (job_id, submission) DO UPDATE SET
                usd = excluded.usd, units = excluded.units, unit = excluded.unit, note = excluded.note,
                estimated = excluded.estimated, state = excluded.state, model = excluded.model
            WHERE NOT (spend.estimated = 0 AND excluded.estimated = 1)
            """
        }
        // Each entry's values, in the order of `columns`.
        let rows: [[SQLiteValue]] = entries.map { entry in
            [
                .integer(entry.jobID), .integer(Int64(entry.submission)), .text(entry.provider), .text(entry.model),
                .text(entry.day), entry.usd.map(SQLiteValue.real) ?? .null, .real(entry.units), .text(entry.unit),
                entry.note.map(SQLiteValue.text) ?? .null, .integer(entry.estimated ? 1 : 0),
                .text(entry.state.rawValue),
            ]
        }
        if dialect.writesRowsAsJSON {
            let json = JSONValue.array(
                rows.map { values in
                    .object(Dictionary(uniqueKeysWithValues: zip(columns.map(\.key), values.map(\.json))))
                })
            // `WHERE true`: the grammar needs it between a SELECT and ON CONFLICT.
            let source = """
                SELECT \(columns.map { "e.\($0.key)" }.joined(separator: ", ")),
                    (SELECT pipeline_id FROM jobs WHERE id = e.job_id)
                FROM \(dialect.jsonRows(in: "?1", columns: columns)) AS e WHERE true
                """
            try connection.run(upsert(source), [.text(json.jsonString())])
            try summarise(dialect.member("id", ofIntegers: "?1"), [.text(jobIDs)], on: connection)
        } else {
            // One-row VALUES and one-row UPDATEs: an INSERT from a SELECT, or an UPDATE of several
            // rows, makes SQLite keep a statement journal (`StoreCompletions`).
            let placeholders = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
            let sql = upsert("VALUES (\(placeholders), (SELECT pipeline_id FROM jobs WHERE id = ?1))")
            for values in rows { try connection.run(sql, values) }
            for job in Set(entries.map(\.jobID)).sorted() {
                try summarise("id = ?1", [.integer(job)], on: connection)
            }
        }
        let wentDown = zip(keys, entries).contains { key, entry in
            guard let was = before[key], let now = entry.usd else { return false }
            return now < was - 0.000_001
        }
        if wentDown { try releaseHolds(on: connection) }
    }

    /// The writer item for `entries`; when the batch must isolate a failing write, each entry is
    /// its own piece.
    static func item(_ entries: [SpendEntry]) -> WriterQueue.Item {
        WriterQueue.Item(
            apply: { try write(entries, on: $0) }, afterCommit: nil,
            pieces: entries.count > 1 ? entries.map { one in { try write([one], on: $0) } } : nil)
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

    /// The cost of the jobs `which` picks (with `values` bound): the sum of each one's charged
    /// submissions; no money figure when any lacks a price.
    private static func summarise(_ which: String, _ values: [SQLiteValue], on connection: any SQLConnection) throws {
        try connection.run(
            """
            UPDATE jobs SET (cost_usd, cost_units, cost_unit, cost_note) = (
                SELECT CASE WHEN count(usd) = count(*) THEN sum(usd) END, sum(units), max(unit), max(note)
                FROM spend WHERE job_id = jobs.id AND state = '\(SpendEntry.State.charged.rawValue)')
            WHERE \(which)
            """, values)
    }
}

extension SQLiteValue {
    /// The value as a JSON value, for a row handed to `SQLDialect.jsonRows` (no blobs there).
    fileprivate var json: JSONValue {
        switch self {
        case .null, .blob: .null
        case .integer(let value): .number(Double(value))
        case .real(let value): .number(value)
        case .text(let value): .string(value)
        }
    }
}
