import Foundation
import JSON
import Reactor

/// `JobStore` on a SQLite `jobs.db` in WAL mode: a read connection owned by the loop thread for
/// cheap indexed checks (answered at once), and the `WriterQueue` thread for every write.
///
/// Writes made during one loop iteration are handed to the writer together before the loop
/// sleeps (`EventLoop.handOverBeforeSleep`), so a job's completion and the claim of the job that
/// takes its slot commit in one transaction and no reader ever sees the slot empty. Claims,
/// updates and recovery have a file each (`SQLiteJobClaims`, `StoreUpdates`,
/// `SQLiteJobRecovery`); what both stores write is in SQL they share.
public final class SQLiteJobStore: JobStore {
    let loop: EventLoop
    private let reader: SQLiteConnection
    private let writer: WriterQueue
    /// "host:pid:start" of this process, recorded on every row it claims.
    public let owner: String
    /// `AND (lease_owner IS NULL OR lease_owner = '<owner>')`: updates touch only rows this
    /// worker holds (or nobody does). Built once; it is part of every update.
    let ownLeaseCondition: String
    let leaseSeconds: Double
    /// Interruptions (a worker stopping mid-run) after which a job fails instead of running again.
    let maxInterruptions: Int
    public let databaseID: String
    private let iterationWrites: IterationWrites
    /// How many times the loop handed a batch of writes to the writer. Loop-owned.
    var writeHandOvers: Int { iterationWrites.handOvers }

    public init(
        path: String, loop: EventLoop, log: WorkerLog, owner: String, leaseSeconds: Double = 60,
        maxInterruptions: Int = 5
    ) throws {
        self.loop = loop
        self.owner = owner
        self.maxInterruptions = maxInterruptions
        ownLeaseCondition = StoreSQL.ownLeaseCondition(owner)
        self.leaseSeconds = leaseSeconds
        writer = WriterQueue(storeName: "jobs.db", loop: loop, log: log) {
            let connection = try SQLiteConnection(path: path, busyTimeout: 5)
            try JobSchema.migrate(connection)
            return connection
        }
        iterationWrites = IterationWrites(loop: loop, writer: writer, mine: ownLeaseCondition)
        try writer.start()  // Migrates the schema before the reader looks at it.
        reader = try SQLiteConnection(path: path, busyTimeout: 1)
        databaseID = try JobSchema.databaseID(reader)
    }

    static let now = JobSchema.nowExpression
    static let queued = StoreSQL.word(.queued)
    /// A queued row that may run now, its gate key not among the full ones (a JSON list in `?2`).
    static let runnableTail = StoreSQL.runnable(.sqlite)

    public func hasRunnableJobs(now: Double, excluding keys: Set<String>, completion: @escaping (Bool) -> Void) {
        loop.assertInLoop()
        let rows = try? reader.query(
            "SELECT 1 FROM jobs WHERE status = \(Self.queued) AND \(Self.runnableTail) LIMIT 1",
            [.real(now), .text(StoreSQL.jsonList(keys))])
        completion(!(rows ?? []).isEmpty)
    }

    public func record(_ update: JobUpdate) { iterationWrites.record(update) }

    public func pendingCancellations(activeIDs: [Int64], completion: @escaping ([Int64]) -> Void) {
        loop.assertInLoop()
        let rows =
            (try? reader.query(
                "SELECT id, lease_owner FROM jobs WHERE status = \(StoreSQL.word(.cancelRequested))")) ?? []
        let requests = CancellationRequests(rows: rows, activeIDs: activeIDs)
        for id in requests.notStarted { record(.cancelled(id: id, reason: CancellationRequests.reason)) }
        completion(requests.running)
    }

    public func jobSummaries(ids: [Int64], completion: @escaping ([Int64: JobSummary]) -> Void) {
        loop.assertInLoop()
        var summaries: [Int64: JobSummary] = [:]
        if !ids.isEmpty {
            let rows =
                (try? reader.query(
                    "SELECT id, status, result FROM jobs WHERE \(SQLDialect.sqlite.member("id", ofIntegers: "?1"))",
                    [.text(StoreSQL.jsonIDs(ids))])) ?? []
            for row in rows {
                guard let id = row["id"]?.int else { continue }
                let result = row["result"]?.string.flatMap { try? JSONValue.parse($0) }
                summaries[id] = JobSummary(status: row["status"]?.string ?? "", result: result)
            }
        }
        completion(summaries)
    }

    public func queuedCount(completion: @escaping (_ queued: Int, _ held: Int) -> Void) {
        let rows = try? reader.query(
            """
            SELECT count(*) AS n, count(*) FILTER (WHERE hold IS NOT NULL AND run_after > ?1) AS held
            FROM jobs WHERE status = \(Self.queued)
            """, [.real(Date().timeIntervalSince1970)])
        let held = Int(rows?.first?["held"]?.int ?? 0)
        completion(Int(rows?.first?["n"]?.int ?? 0) - held, held)
    }

    public func earliestRunAfter(completion: @escaping (Double?) -> Void) {
        let rows = try? reader.query("SELECT min(run_after) AS t FROM jobs WHERE status = \(Self.queued)")
        completion(rows?.first?["t"]?.double)
    }

    /// Renews the leases of the running jobs and this worker's heartbeat in one write.
    public func heartbeat(activeIDs: [Int64], activity: [String: ProviderActivity]) {
        record(
            .heartbeat(
                owner: owner, activeIDs: activeIDs, leaseUntil: Date().timeIntervalSince1970 + leaseSeconds,
                activity: activity))
    }

    public func flush(_ done: @escaping () -> Void) {
        let reply = LoopBound(done, on: loop)
        enqueue(WriterQueue.Item(apply: { _ in }, afterCommit: { reply.value() }))
    }

    public func close(_ done: @escaping () -> Void) {
        iterationWrites.handOver()
        let reply = LoopBound(done, on: loop)
        writer.stop { reply.value() }
        reader.close()
    }

    /// Collects a write for the end of this loop iteration (off the loop: straight to the writer).
    func enqueue(_ item: WriterQueue.Item) { iterationWrites.add(item) }
}

@available(*, unavailable, message: "the store's reader and iteration writes belong to the loop thread")
extension SQLiteJobStore: Sendable {}
