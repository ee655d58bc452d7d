import Foundation
import Reactor

/// Recovering what stopped workers left behind, on SQLite.
extension SQLiteJobStore {
    public func recoverAbandonedJobs(now: Double, completion: @escaping (Int) -> Void) {
        loop.assertInLoop()
        let host = owner.split(separator: ":").first.map(String.init) ?? ""
        let counted = ReplyBox(0)
        let reply = LoopBound(completion, on: loop)
        let myOwner = owner
        let limit = maxInterruptions
        enqueue(
            WriterQueue.Item(
                apply: { connection in
                    // A worker on this host whose process is gone will never renew its lease:
                    // requeue its rows now instead of waiting for the lease to run out.
                    let owners = try connection.query(
                        "SELECT DISTINCT lease_owner FROM jobs WHERE status IN \(StoreSQL.held) AND lease_owner IS NOT NULL"
                    ).compactMap { $0["lease_owner"]?.string }
                    let workers = try connection.query("SELECT id FROM workers WHERE status <> \(Self.gone)")
                        .compactMap { $0["id"]?.string }
                    let dead = Set(owners + workers).filter {
                        $0 != myOwner && WorkerIdentity.isDeadLocalOwner($0, host: host)
                    }
                    let deadList = Self.jsonList(dead)
                    let rows = try connection.query(
                        Self.requeueAbandoned, [.real(now), .text(deadList), .text(myOwner), .integer(Int64(limit))])
                    try connection.run(Self.markWorkersGone, [.real(now), .text(deadList), .text(myOwner)])
                    for row in rows where row["status"]?.string != JobStatus.queued.rawValue {
                        if let id = row["id"]?.int { try PipelineRelease.afterEnded(id, on: connection) }
                    }
                    counted.value = rows.count
                },
                afterCommit: { reply.value(counted.value) }))
    }

    static let gone = "'\(WorkerTable.Status.gone.rawValue)'"

    /// The interrupted run counts one interruption, not a failure; `?4` of them end the job, in
    /// case the job itself keeps stopping its workers. Its attempt stays spent only if it may have
    /// paid: a provider job's claim counted one for its submit (a resumed task counted none); a
    /// media job pays nothing and gets its attempt back.
    private static let requeueAbandoned = """
        UPDATE jobs SET
            status = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN \(StoreSQL.word(.cancelled))
                WHEN interruptions + 1 >= ?4 THEN \(StoreSQL.word(.failed)) ELSE \(queued) END,
            error = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN 'cancelled'
                WHEN interruptions + 1 >= ?4 THEN 'the worker running this job stopped '
                    || (interruptions + 1) || ' times before it finished (killed, crashed or lost power'
                    || ' each time); it is not run again on its own, in case the job itself stops the'
                    || ' worker. Check the worker log, then run `reactor-worker retry ' || id || '`'
                ELSE error END,
            interruptions = interruptions
                + CASE WHEN status = \(StoreSQL.word(.cancelRequested)) THEN 0 ELSE 1 END,
            attempts = max(attempts - CASE WHEN job_type IN \(StoreSQL.mediaTypes) THEN 1 ELSE 0 END, 0),
            finished_at = CASE WHEN status = \(StoreSQL.word(.cancelRequested)) OR interruptions + 1 >= ?4
                THEN \(now) ELSE finished_at END,
            lease_owner = NULL, lease_until = NULL, updated_at = \(now)
        WHERE status IN \(StoreSQL.held) AND lease_owner IS NOT ?3
          AND (lease_until IS NULL OR lease_until < ?1 OR lease_owner IN (SELECT value FROM json_each(?2)))
        RETURNING id, status
        """

    private static let markWorkersGone = """
        UPDATE workers SET status = \(gone)
        WHERE status <> \(gone) AND id IS NOT ?3
          AND (heartbeat_unix < ?1 - lease_seconds OR id IN (SELECT value FROM json_each(?2)))
        """
}
