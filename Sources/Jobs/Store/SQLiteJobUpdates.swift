import Foundation
import JSON
import Reactor

/// How each `JobUpdate` is written on SQLite, on the writer thread inside the batch's transaction.
enum SQLiteJobUpdates {
    private static let now = JobSchema.nowExpression
    private static let gone = "'\(WorkerTable.Status.gone.rawValue)'"
    private static let running = "'\(WorkerTable.Status.running.rawValue)'"
    private static let done = "finished_at = \(now), updated_at = \(now), lease_owner = NULL, lease_until = NULL"

    /// Writes one update; `mine` limits it to rows this worker holds (`SQLiteJobStore.ownLeaseCondition`).
    static func apply(_ update: JobUpdate, mine: String, on connection: SQLiteConnection) throws {
        switch update {
        case .completed(let id, let result):
            try connection.run(
                "UPDATE jobs SET status = \(StoreSQL.word(.completed)), result = ?2, error = NULL, progress = 1, \(done) WHERE id = ?1 \(mine)",
                [.integer(id), .text(result)])
            if connection.changes > 0 { try PipelineRelease.afterCompleted(id, on: connection) }
        case .failed(let id, let error, let attempts):
            try connection.run(
                "UPDATE jobs SET status = \(StoreSQL.word(.failed)), error = ?2, attempts = ?3, \(done) WHERE id = ?1 \(mine)",
                [.integer(id), .text(error), .integer(Int64(attempts))])
            if connection.changes > 0 { try PipelineRelease.afterEnded(id, on: connection) }
        case .cancelled(let id, let reason):
            try connection.run(
                "UPDATE jobs SET status = \(StoreSQL.word(.cancelled)), error = ?2, \(done) WHERE id = ?1",
                [.integer(id), .text(reason)])
            if connection.changes > 0 { try PipelineRelease.afterEnded(id, on: connection) }
        case .retry(let id, let error, let runAfter, let attempts):
            // A cancel requested meanwhile wins: the job ends instead of going back to the queue.
            try connection.run(
                """
                UPDATE jobs SET
                    status = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN \(StoreSQL.word(.cancelled)) ELSE \(StoreSQL.word(.queued)) END,
                    error = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN 'cancelled while running' ELSE ?2 END,
                    finished_at = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN \(now) ELSE finished_at END,
                    run_after = ?3, attempts = ?4, updated_at = \(now), lease_owner = NULL, lease_until = NULL
                WHERE id = ?1 \(mine)
                """, [.integer(id), .text(error), .real(runAfter), .integer(Int64(attempts))])
        case .release(let id, let attemptCounted):
            try connection.run(
                """
                UPDATE jobs SET
                    status = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN \(StoreSQL.word(.cancelled)) ELSE \(StoreSQL.word(.queued)) END,
                    error = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN 'cancelled' ELSE error END,
                    finished_at = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN \(now) ELSE finished_at END,
                    attempts = max(attempts - ?2, 0), updated_at = \(now), lease_owner = NULL, lease_until = NULL
                WHERE id = ?1 \(mine)
                """, [.integer(id), .integer(attemptCounted ? 1 : 0)])
        case .progress(let id, let value):
            try connection.run(
                "UPDATE jobs SET progress = ?2 WHERE id = ?1 AND status IN \(StoreSQL.running)",
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
                    [.real(until), .text(owner), .text(SQLiteJobStore.jsonIDs(ids))])
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
                INSERT OR REPLACE INTO workers (id, host, pid, version, started_at, heartbeat_at, heartbeat_unix,
                    lease_seconds, max_concurrent_jobs, active_jobs, provider_caps, provider_stats, status, web_url)
                VALUES (?1, ?2, ?3, ?4, \(now), \(now), ?5, ?6, ?7, 0, ?8, '{}', \(running), ?9)
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
