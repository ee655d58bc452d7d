import JSON
import Reactor

/// Completions written many at a time: one `UPDATE … FROM` for every job a writer batch
/// completes, then one look for pipeline steps they release. A completion row by row costs a
/// statement each and the release's probe each, and on PostgreSQL every statement is a round trip
/// the writer waits for while claims queue behind it.
enum StoreCompletions {
    struct Completion: Sendable {
        let id: Int64
        let result: String
    }

    /// Completes the rows of `completions` that this worker holds (`mine`, as `ownLeaseCondition`),
    /// and releases what waited on them.
    static func apply(_ completions: [Completion], mine: String, on connection: any SQLConnection) throws {
        guard !completions.isEmpty else { return }
        let now = connection.dialect.now
        let rows = JSONValue.array(
            completions.map { ["completed_id": .number(Double($0.id)), "completed_result": .string($0.result)] })
        // The ids again as an array the planner sees, so it probes the primary key for each row
        // instead of joining the rows against the whole table.
        let changed = try connection.query(
            """
            UPDATE jobs SET status = \(StoreSQL.word(.completed)), result = completed.completed_result, error = NULL,
                progress = 1, finished_at = \(now), updated_at = \(now), lease_owner = NULL, lease_until = NULL
            FROM \(connection.dialect.jsonRows(in: "?1", columns: ["completed_id": .integer, "completed_result": .text]))
                AS completed
            WHERE jobs.id = completed.completed_id AND \(connection.dialect.member("jobs.id", ofIntegers: "?2")) \(mine)
            RETURNING jobs.id
            """, [.text(rows.jsonString()), .text(StoreSQL.jsonIDs(completions.map(\.id)))])
        try PipelineRelease.afterCompleted(changed.compactMap { $0["id"]?.int }.sorted(), on: connection)
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
