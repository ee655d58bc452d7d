import JSON
import Reactor

/// Completions written many at a time: on PostgreSQL one `UPDATE … FROM` for every job a writer
/// batch completes (every statement there is a round trip the writer waits for while claims queue
/// behind it); on SQLite a one-row UPDATE by primary key, prepared once and run per row
/// (`SQLDialect.writesRowsAsJSON`). Then one look for pipeline steps they release.
enum StoreCompletions {
    struct Completion: Sendable {
        let id: Int64
        let result: String
    }

    /// Completes the rows of `completions` that this worker holds (`mine`, as `ownLeaseCondition`),
    /// and releases what waited on them.
    static func apply(_ completions: [Completion], mine: String, on connection: any SQLConnection) throws {
        guard !completions.isEmpty else { return }
        let dialect = connection.dialect
        func update(result: String, from rows: String?, where condition: String, returning: Bool) -> String {
            """
            UPDATE jobs SET status = \(StoreSQL.word(.completed)), result = \(result), error = NULL,
                progress = 1, finished_at = \(dialect.now), updated_at = \(dialect.now), lease_owner = NULL,
                lease_until = NULL
            \(rows.map { "FROM \($0) AS completed" } ?? "")
            WHERE \(condition) \(mine)
            \(returning ? "RETURNING jobs.id" : "")
            """
        }
        var changed: [Int64] = []
        if dialect.writesRowsAsJSON {
            let rows = JSONValue.array(
                completions.map { ["completed_id": .number(Double($0.id)), "completed_result": .string($0.result)] })
            // The ids again as an array the planner sees, so it probes the primary key for each row
            // instead of joining the rows against the whole table.
            let sql = update(
                result: "completed.completed_result",
                from: dialect.jsonRows(in: "?1", columns: ["completed_id": .integer, "completed_result": .text]),
                where: "jobs.id = completed.completed_id AND \(dialect.member("jobs.id", ofIntegers: "?2"))",
                returning: true)
            changed = try connection.query(
                sql, [.text(rows.jsonString()), .text(StoreSQL.jsonIDs(completions.map(\.id)))]
            ).compactMap { $0["id"]?.int }
        } else {
            // One row by its primary key, told apart by the count of changed rows: no join with a
            // one-row subquery and no RETURNING, either of which makes SQLite keep a statement
            // journal (a copy of every page the statement touches, to a temporary file once the
            // transaction's copies pass 64 KiB), which was half the writer's CPU.
            let sql = update(result: "?2", from: nil, where: "jobs.id = ?1", returning: false)
            for completion in completions {
                try connection.run(sql, [.integer(completion.id), .text(completion.result)])
                if connection.changes > 0 { changed.append(completion.id) }
            }
        }
        try PipelineRelease.afterCompleted(changed.sorted(), on: connection)
    }

    /// The writer item for `completions`; in a batch that must isolate a failing write, each
    /// completion is its own piece, so one bad row cannot cost the others theirs.
    static func item(_ completions: [Completion], mine: String) -> WriterQueue.Item {
        WriterQueue.Item(
            apply: { try apply(completions, mine: mine, on: $0) }, afterCommit: nil,
            pieces: completions.count > 1
                ? completions.map { one in { try apply([one], mine: mine, on: $0) } } : nil)
    }
}
