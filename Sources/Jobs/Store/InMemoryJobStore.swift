import Foundation
import JSON
import Reactor

/// `JobStore` in memory, with the same rules as the SQLite store: claim order, gate keys left
/// out, leases that only their owner's updates touch, cancel requests that win over retries,
/// recovery that counts interruptions. The scheduler's rules are unit-tested on it, with an
/// injected clock and no disk (as swift-jobs tests on its memory driver).
///
/// Loop thread only, like every store; it answers every call at once. `insert`, `requestCancel`
/// and `row` stand in for what other programs and `sqlite3` do to a real `jobs.db`.
public final class InMemoryJobStore: JobStore {
    /// One row of the `jobs` table.
    public struct Row: Sendable {
        public var job: Job
        public var status: JobStatus
        public var runAfter: Double = 0
        public var leaseOwner: String?
        public var leaseUntil: Double?
        public var result: JSONValue?
        public var error: String?
        public var progress: Double = 0
    }

    public let databaseID: String
    /// This worker's lease owner name.
    public let owner: String
    private let leaseSeconds: Double
    private let maxInterruptions: Int
    private let clock: () -> Double
    /// Whether a lease owner's process is gone (SQLite asks `kill(pid, 0)` for this host's).
    private let isDeadOwner: (String) -> Bool
    private var rows: [Int64: Row] = [:]
    private var nextID: Int64 = 1
    /// The `workers` table: each row and its last heartbeat.
    public private(set) var workers: [String: (record: WorkerRecord, status: WorkerTable.Status, heartbeat: Double)] =
        [:]
    public private(set) var closed = false

    public init(
        owner: String = "memory:1:1", leaseSeconds: Double = 60, maxInterruptions: Int = 5,
        clock: @escaping () -> Double, isDeadOwner: @escaping (String) -> Bool = { _ in false },
        databaseID: String = DatabaseID.random()
    ) {
        self.owner = owner
        self.leaseSeconds = leaseSeconds
        self.maxInterruptions = maxInterruptions
        self.clock = clock
        self.isDeadOwner = isDeadOwner
        self.databaseID = databaseID
    }

    // MARK: What other programs do

    /// Inserts a queued job as another program would; returns its id.
    @discardableResult
    public func insert(_ type: String, params: String = "{}", priority: Int = 0, maxAttempts: Int = 3) -> Int64 {
        let id = nextID
        nextID += 1
        rows[id] = Row(
            job: Job(
                id: id, typeName: type, paramsText: params, priority: priority, attempts: 0, maxAttempts: maxAttempts,
                createdAt: clock()),
            status: .queued)
        return id
    }

    /// Changes a row directly, as `sqlite3` could (a lease of another worker, say).
    public func edit(_ id: Int64, _ change: (inout Row) -> Void) {
        guard var row = rows[id] else { return }
        change(&row)
        rows[id] = row
    }

    /// `reactor-worker cancel`: a queued job is cancelled at once, a running one asked to stop.
    public func requestCancel(_ id: Int64) {
        edit(id) { row in
            if row.status == .queued {
                row.status = .cancelled
                row.error = "cancelled before it started"
            } else if row.status.isRunning {
                row.status = .cancelRequested
            }
        }
    }

    public func row(_ id: Int64) -> Row? { rows[id] }

    // MARK: JobStore

    private func gateKey(_ job: Job) -> String {
        if let params = try? JobParams.parse(job.paramsText), let provider = try? params.string("provider") {
            return provider
        }
        return job.type?.defaultProvider ?? ""
    }

    private func runnable(now: Double, excluding keys: Set<String>) -> [Row] {
        rows.values.filter { $0.status == .queued && $0.runAfter <= now && !keys.contains(gateKey($0.job)) }
            .sorted { Job.claimsBefore($0.job, $1.job) }
    }

    public func hasRunnableJobs(now: Double, excluding keys: Set<String>, completion: @escaping (Bool) -> Void) {
        completion(!runnable(now: now, excluding: keys).isEmpty)
    }

    public func claim(
        limit: Int, excluding keys: Set<String>, now: Double, completion: @escaping ([ClaimedJob]) -> Void
    ) {
        var claimed: [ClaimedJob] = []
        for var row in runnable(now: now, excluding: keys).prefix(limit) {
            row.status = row.job.type?.runningStatus ?? .processing
            if row.job.attemptCounted { row.job.attempts += 1 }
            row.progress = 0
            row.leaseOwner = owner
            row.leaseUntil = clock() + leaseSeconds
            rows[row.job.id] = row
            claimed.append(ClaimedJob(job: row.job, gateKey: gateKey(row.job)))
        }
        completion(claimed)
    }

    /// Whether this worker may write `id`: it holds the row, or nobody does.
    private func mine(_ id: Int64) -> Bool {
        guard let row = rows[id] else { return false }
        return row.leaseOwner == nil || row.leaseOwner == owner
    }

    private func end(_ id: Int64, _ status: JobStatus, error: String?) {
        edit(id) { row in
            row.status = status
            row.error = error
            row.leaseOwner = nil
            row.leaseUntil = nil
        }
    }

    public func record(_ update: JobUpdate) {
        switch update {
        case .completed(let id, let result) where mine(id):
            end(id, .completed, error: nil)
            edit(id) {
                $0.result = try? JSONValue.parse(result)
                $0.progress = 1
            }
        case .failed(let id, let error, let attempts) where mine(id):
            end(id, .failed, error: error)
            edit(id) { $0.job.attempts = attempts }
        case .cancelled(let id, let reason):
            end(id, .cancelled, error: reason)
        case .retry(let id, let error, let runAfter, let attempts) where mine(id):
            // A cancel requested meanwhile wins: the job ends instead of going back to the queue.
            let cancelled = rows[id]?.status == .cancelRequested
            end(id, cancelled ? .cancelled : .queued, error: cancelled ? "cancelled while running" : error)
            edit(id) {
                $0.runAfter = runAfter
                $0.job.attempts = attempts
            }
        case .release(let id, let attemptCounted) where mine(id):
            let cancelled = rows[id]?.status == .cancelRequested
            end(id, cancelled ? .cancelled : .queued, error: cancelled ? "cancelled" : rows[id]?.error)
            edit(id) { $0.job.attempts = max($0.job.attempts - (attemptCounted ? 1 : 0), 0) }
        case .progress(let id, let value):
            edit(id) { if $0.status.isRunning { $0.progress = min(max(value, 0), 1) } }
        case .providerTask(let id, let taskID, let state):
            edit(id) {
                $0.job.providerTaskID = taskID
                $0.job.providerState = state
            }
        case .providerState(let id, let state):
            edit(id) { $0.job.providerState = state }
        case .refundAttempt(let id) where mine(id):
            edit(id) { $0.job.attempts = max($0.job.attempts - 1, 0) }
        case .heartbeat(let owner, let ids, let until, _):
            for id in ids where rows[id]?.leaseOwner == owner { edit(id) { $0.leaseUntil = until } }
            if let worker = workers[owner] { workers[owner] = (worker.record, .running, clock()) }
        case .registerWorker(let record):
            workers[record.id] = (record, .running, clock())
        case .workerStopping(let owner):
            if let worker = workers[owner] { workers[owner] = (worker.record, .stopping, worker.heartbeat) }
        case .unregisterWorker(let owner):
            workers[owner] = nil
        case .completed, .failed, .retry, .release, .refundAttempt:
            break  // A row another worker holds now: a late write of ours must not touch it.
        }
    }

    public func recoverAbandonedJobs(now: Double, completion: @escaping (Int) -> Void) {
        var recovered = 0
        for (id, row) in rows where row.status.isHeld && row.leaseOwner != owner {
            guard let holder = row.leaseOwner,
                (row.leaseUntil ?? 0) < now || isDeadOwner(holder)
            else { continue }
            recovered += 1
            if row.status == .cancelRequested {
                end(id, .cancelled, error: "cancelled")
                continue
            }
            edit(id) { row in
                row.job.interruptions += 1
                if row.job.type?.isMedia == true { row.job.attempts = max(row.job.attempts - 1, 0) }
                row.leaseOwner = nil
                row.leaseUntil = nil
                if row.job.interruptions >= maxInterruptions {
                    row.status = .failed
                    row.error =
                        "the worker running this job stopped \(row.job.interruptions) times before it finished (killed, crashed or lost power each time); it is not run again on its own, in case the job itself stops the worker. Check the worker log, then run `reactor-worker retry \(id)`"
                } else {
                    row.status = .queued
                }
            }
        }
        for (id, worker) in workers where id != owner && worker.status != .gone {
            if worker.heartbeat < now - worker.record.leaseSeconds || isDeadOwner(id) {
                workers[id] = (worker.record, .gone, worker.heartbeat)
            }
        }
        completion(recovered)
    }

    public func pendingCancellations(activeIDs: [Int64], completion: @escaping ([Int64]) -> Void) {
        let active = Set(activeIDs)
        var running: [Int64] = []
        for (id, row) in rows where row.status == .cancelRequested {
            if active.contains(id) {
                running.append(id)
            } else if row.leaseOwner == nil {
                record(.cancelled(id: id, reason: "cancelled before it started"))
            }
        }
        completion(running.sorted())
    }

    public func jobSummaries(ids: [Int64], completion: @escaping ([Int64: JobSummary]) -> Void) {
        var summaries: [Int64: JobSummary] = [:]
        for id in ids {
            guard let row = rows[id] else { continue }
            summaries[id] = JobSummary(status: row.status.rawValue, result: row.result)
        }
        completion(summaries)
    }

    public func queuedCount(completion: @escaping (Int) -> Void) {
        completion(rows.values.count { $0.status == .queued })
    }

    public func earliestRunAfter(completion: @escaping (Double?) -> Void) {
        completion(rows.values.filter { $0.status == .queued }.map(\.runAfter).min())
    }

    public func heartbeat(activeIDs: [Int64], activity: [String: ProviderActivity]) {
        record(.heartbeat(owner: owner, activeIDs: activeIDs, leaseUntil: clock() + leaseSeconds, activity: activity))
    }

    public func flush(_ done: @escaping () -> Void) { done() }

    public func close(_ done: @escaping () -> Void) {
        closed = true
        done()
    }
}

@available(*, unavailable, message: "a store belongs to the loop thread")
extension InMemoryJobStore: Sendable {}
