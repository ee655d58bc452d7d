import Foundation
import JSON
import Reactor

/// How each `JobUpdate` is written, on the writer's connection inside the batch's transaction, in
/// SQL that SQLite and PostgreSQL share (`SQLDialect` for the rest).
enum StoreUpdates {
    private static let gone = "'\(WorkerTable.Status.gone.rawValue)'"
    private static let running = "'\(WorkerTable.Status.running.rawValue)'"
    private static let queued = StoreSQL.word(.queued)
    private static let cancelled = StoreSQL.word(.cancelled)
    private static let cancelRequested = StoreSQL.word(.cancelRequested)

    /// Writes one update; `mine` limits it to rows this worker holds (`ownLeaseCondition`).
    static func apply(_ update: JobUpdate, mine: String, on connection: any SQLConnection) throws {
        let now = connection.dialect.now
        let done = "finished_at = \(now), updated_at = \(now), lease_owner = NULL, lease_until = NULL"
        /// Back to the queue, unless a cancel was requested meanwhile: then the job ends.
        func requeued(cancelledError: String, otherwise error: String) -> String {
            """
            status = CASE WHEN status = \(cancelRequested) THEN \(cancelled) ELSE \(queued) END,
            error = CASE WHEN status = \(cancelRequested) THEN '\(cancelledError)' ELSE \(error) END,
            finished_at = CASE WHEN status = \(cancelRequested) THEN \(now) ELSE finished_at END,
            updated_at = \(now), lease_owner = NULL, lease_until = NULL
            """
        }
        switch update {
        case .completed(let id, let result):
            try StoreCompletions.apply([.init(id: id, result: result)], mine: mine, on: connection)
        case .failed(let id, let error, let attempts):
            try connection.run(
                "UPDATE jobs SET status = \(StoreSQL.word(.failed)), error = ?2, attempts = ?3, \(done) WHERE id = ?1 \(mine)",
                [.integer(id), .text(error), .integer(Int64(attempts))])
            if connection.changes > 0 { try PipelineRelease.afterEnded(id, on: connection) }
        case .cancelled(let id, let reason):
            try connection.run(
                "UPDATE jobs SET status = \(cancelled), error = ?2, \(done) WHERE id = ?1",
                [.integer(id), .text(reason)])
            if connection.changes > 0 { try PipelineRelease.afterEnded(id, on: connection) }
        case .retry(let id, let error, let runAfter, let attempts):
            try connection.run(
                """
                UPDATE jobs SET \(requeued(cancelledError: "cancelled while running", otherwise: "?2")),
                    run_after = ?3, attempts = ?4
                WHERE id = ?1 \(mine)
                """, [.integer(id), .text(error), .real(runAfter), .integer(Int64(attempts))])
        case .release(let id, let attemptCounted):
            try connection.run(
                """
                UPDATE jobs SET \(requeued(cancelledError: "cancelled", otherwise: "error")),
                    attempts = \(StoreSQL.attemptsLess("?2"))
                WHERE id = ?1 \(mine)
                """, [.integer(id), .integer(attemptCounted ? 1 : 0)])
        case .hold(let id, let reason, let runAfter, let attemptCounted):
            try connection.run(
                """
                UPDATE jobs SET
                    hold = CASE WHEN status = \(cancelRequested) THEN NULL ELSE ?2 END,
                    \(requeued(cancelledError: "cancelled", otherwise: "error")),
                    run_after = ?3, attempts = \(StoreSQL.attemptsLess("?4"))
                WHERE id = ?1 \(mine)
                """, [.integer(id), .text(reason), .real(runAfter), .integer(attemptCounted ? 1 : 0)])
        case .spend(let entry):
            try StoreSpend.write([entry], on: connection)
        case .cancelSpend(let id, let submission):
            try StoreSpend.cancel(jobID: id, submission: submission, on: connection)
        case .releaseHolds:
            try StoreSpend.releaseHolds(on: connection)
        case .progress(let id, let value):
            try connection.run(
                "UPDATE jobs SET progress = ?2 WHERE id = ?1 AND status IN \(StoreSQL.running)",
                [.integer(id), .real(min(max(value, 0), 1))])
        case .providerTask(let id, let taskID, let state):
            try connection.run(
                "UPDATE jobs SET provider_task_id = ?2, provider_state = ?3, updated_at = \(now) WHERE id = ?1",
                [.integer(id), .text(taskID), state.map(SQLiteValue.text) ?? .null])
        case .refundAttempt(let id):
            try connection.run(
                "UPDATE jobs SET attempts = \(StoreSQL.attemptsLess("1")) WHERE id = ?1 \(mine)", [.integer(id)])
        case .providerState(let id, let state):
            try connection.run(
                "UPDATE jobs SET provider_state = ?2, updated_at = \(now) WHERE id = ?1", [.integer(id), .text(state)])
        case .heartbeat(let owner, let ids, let until, let activity):
            if !ids.isEmpty {
                try connection.run(
                    "UPDATE jobs SET lease_until = ?1 WHERE lease_owner = ?2 AND \(connection.dialect.member("id", ofIntegers: "?3"))",
                    [.real(until), .text(owner), .text(StoreSQL.jsonIDs(ids))])
            }
            try connection.run(
                """
                UPDATE workers SET heartbeat_at = \(now), heartbeat_unix = ?2, active_jobs = ?3, provider_stats = ?4,
                    status = CASE WHEN status = \(gone) THEN \(running) ELSE status END
                WHERE id = ?1
                """,
                [
                    .text(owner), .real(Date().timeIntervalSince1970), .integer(Int64(ids.count)),
                    .text(JSONValue.object(activity.mapValues(\.json)).jsonString()),
                ])
        case .registerWorker(let worker):
            try connection.run(
                """
                INSERT INTO workers (id, host, pid, version, started_at, heartbeat_at, heartbeat_unix,
                    lease_seconds, max_concurrent_jobs, active_jobs, provider_caps, provider_stats, status, web_url)
                VALUES (?1, ?2, ?3, ?4, \(now), \(now), ?5, ?6, ?7, 0, ?8, '{}', \(running), ?9)
                ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
                    started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
                    heartbeat_unix = excluded.heartbeat_unix, lease_seconds = excluded.lease_seconds,
                    max_concurrent_jobs = excluded.max_concurrent_jobs, active_jobs = 0,
                    provider_caps = excluded.provider_caps, provider_stats = '{}', status = excluded.status,
                    web_url = excluded.web_url
                """,
                [
                    .text(worker.id), .text(worker.host), .integer(Int64(worker.pid)), .text(worker.version),
                    .real(Date().timeIntervalSince1970), .real(worker.leaseSeconds),
                    .integer(Int64(worker.maxConcurrentJobs)),
                    .text(JSONValue.object(worker.providerCaps.mapValues { .number(Double($0)) }).jsonString()),
                    worker.webURL.map(SQLiteValue.text) ?? .null,
                ])
        case .workerStopping(let owner):
            try connection.run(
                "UPDATE workers SET status = '\(WorkerTable.Status.stopping.rawValue)' WHERE id = ?1", [.text(owner)])
        case .unregisterWorker(let owner):
            try connection.run("DELETE FROM workers WHERE id = ?1", [.text(owner)])
        }
    }
}
