import Foundation
import Reactor

/// Recovering what stopped workers left behind, on the writer's connection, in SQL both stores
/// share: rows whose lease ran out — never rows that are merely old — or whose worker on this host
/// is gone go back to the queue, and such workers are marked `gone`.
enum StoreRecovery {
    /// `recover` as a writer item whose count goes to `reply` on the loop, for either store.
    static func item(now: Double, owner: String, limit: Int, loop: EventLoop, reply: @escaping (Int) -> Void)
        -> WriterQueue.Item
    {
        .answering(0, on: loop, reply: reply) { try recover(now: now, owner: owner, limit: limit, on: $0) }
    }

    /// Requeues abandoned rows and returns how many; `owner` is this worker, `limit` the
    /// interruptions after which a job fails instead (`WorkerSettings.maxInterruptions`).
    static func recover(now: Double, owner: String, limit: Int, on connection: any SQLConnection) throws -> Int {
        let dialect = connection.dialect
        let host = owner.split(separator: ":").first.map(String.init) ?? ""
        // A worker on this host whose process is gone will never renew its lease: requeue its rows
        // now instead of waiting for the lease to run out.
        let owners = try connection.query(
            "SELECT DISTINCT lease_owner FROM jobs WHERE status IN \(StoreSQL.held) AND lease_owner IS NOT NULL", []
        ).compactMap { $0["lease_owner"]?.string }
        let workers = try connection.query("SELECT id FROM workers WHERE status <> \(gone)", [])
            .compactMap { $0["id"]?.string }
        let dead = Set(owners + workers).filter { $0 != owner && WorkerIdentity.isDeadLocalOwner($0, host: host) }
        let deadList = StoreSQL.jsonList(dead)
        let rows = try connection.query(
            requeueAbandoned(dialect), [.real(now), .text(deadList), .text(owner), .integer(Int64(limit))])
        try connection.run(markWorkersGone(dialect), [.real(now), .text(deadList), .text(owner)])
        for row in rows where row["status"]?.string != JobStatus.queued.rawValue {
            if let id = row["id"]?.int { try PipelineRelease.afterEnded(id, on: connection) }
        }
        return rows.count
    }

    private static let gone = "'\(WorkerTable.Status.gone.rawValue)'"
    private static let queued = StoreSQL.word(.queued)
    private static let cancelRequested = StoreSQL.word(.cancelRequested)

    /// The interrupted run counts one interruption, not a failure; `?4` of them end the job, in
    /// case the job itself keeps stopping its workers. Its attempt stays spent only if it may have
    /// paid: a provider job's claim counted one for its submit (a resumed task counted none); a
    /// media job pays nothing and gets its attempt back.
    private static func requeueAbandoned(_ dialect: SQLDialect) -> String {
        let now = dialect.now
        let mediaRefund = "CASE WHEN job_type IN \(StoreSQL.mediaTypes) THEN 1 ELSE 0 END"
        return """
            UPDATE jobs SET
                status = CASE WHEN status = \(cancelRequested) THEN \(StoreSQL.word(.cancelled))
                    WHEN interruptions + 1 >= ?4 THEN \(StoreSQL.word(.failed)) ELSE \(queued) END,
                error = CASE WHEN status = \(cancelRequested) THEN 'cancelled'
                    WHEN interruptions + 1 >= ?4 THEN 'the worker running this job stopped '
                        || CAST(interruptions + 1 AS TEXT) || ' times before it finished (killed, crashed or lost power'
                        || ' each time); it is not run again on its own, in case the job itself stops the'
                        || ' worker. Check the worker log, then run `reactor-worker retry ' || CAST(id AS TEXT) || '`'
                    ELSE error END,
                interruptions = interruptions + CASE WHEN status = \(cancelRequested) THEN 0 ELSE 1 END,
                attempts = \(StoreSQL.attemptsLess(mediaRefund)),
                finished_at = CASE WHEN status = \(cancelRequested) OR interruptions + 1 >= ?4
                    THEN \(now) ELSE finished_at END,
                lease_owner = NULL, lease_until = NULL, updated_at = \(now)
            WHERE status IN \(StoreSQL.held) AND lease_owner IS DISTINCT FROM ?3
              AND (lease_until IS NULL OR lease_until < ?1 OR lease_owner IN \(dialect.texts(in: "?2")))
            RETURNING id, status
            """
    }

    private static func markWorkersGone(_ dialect: SQLDialect) -> String {
        """
        UPDATE workers SET status = \(gone)
        WHERE status <> \(gone) AND id IS DISTINCT FROM ?3
          AND (heartbeat_unix < ?1 - lease_seconds OR id IN \(dialect.texts(in: "?2")))
        """
    }
}
