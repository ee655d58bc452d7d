import Foundation
import JSON
import Reactor

/// `JobStore` on PostgreSQL, for many workers on many hosts sharing one job table.
///
/// Three connections, none of which blocks the loop:
/// - the writer (`WriterQueue`, its own thread, as on SQLite): every write whose logic reads
///   between statements — completions and the pipeline steps they release, claims with the
///   global caps, recovery, spend reservations — one transaction per batch, retried on a new
///   connection when the server goes away, so outcomes of jobs that kept running meanwhile are
///   written once it is back;
/// - `reader`, libpq in non-blocking mode on the loop: the cheap reads and the batched lease
///   renewals, pipelined;
/// - `listener`, on the loop: LISTEN `reactor_jobs`, which the table's statement trigger
///   notifies when rows become queued. After every reconnect it listens again and runs one
///   catch-up claim; the scheduler's fallback poll stays as the safety net.
public final class PostgresJobStore: JobStore {
    let loop: EventLoop
    private let log: WorkerLog
    private let writer: WriterQueue
    private let reader: PGConnection
    private let listener: PGConnection
    private let target: String
    public let owner: String
    public let databaseID: String
    let leaseSeconds: Double
    let maxInterruptions: Int
    /// `<PROVIDER>_MAX_CONCURRENT`, counted across every worker on the database.
    let globalCaps: [String: Int]
    /// Runs on the loop when the database says new work may be there (a notification, a reconnect).
    public var onChange: () -> Void = {}
    private let iterationWrites: IterationWrites
    private var reconnectDelay: [ObjectIdentifier: Double] = [:]
    /// Connections with a connect under way (libpq allows one at a time).
    private var connecting: Set<ObjectIdentifier> = []
    private var reconnectTimers: [ObjectIdentifier: TimerWatcher] = [:]
    private var closed = false
    private var listening = false

    /// Connects (waiting, before the loop runs: a server that is down at start is retried with a
    /// line that says so; a wrong URL or password ends the start with one clear line) and
    /// migrates the schema.
    public init(
        url: String, loop: EventLoop, log: WorkerLog, owner: String, leaseSeconds: Double = 60,
        maxInterruptions: Int = 5, globalCaps: [String: Int] = [:], startupWait: Double = 3600
    ) throws {
        self.loop = loop
        self.log = log
        self.owner = owner
        self.leaseSeconds = leaseSeconds
        self.maxInterruptions = maxInterruptions
        self.globalCaps = globalCaps
        let parsed = try PGConnectionURL(url)
        target = parsed.redactedDescription
        let first = try Self.connectAtStart(url: url, target: target, log: log, wait: startupWait)
        try JobSchema.migrate(first)
        databaseID = try JobSchema.databaseID(first)
        first.close()
        writer = WriterQueue(storeName: "PostgreSQL at \(target)", loop: loop, log: log) {
            let connection = try PostgresSQLConnection(url: url)
            // The writer's statements are prepared, and a plan cached while a table was nearly
            // empty (a fresh database) would keep scanning it whole as it grows, until autovacuum
            // next analyses it: plan each run afresh (the parse is still saved), against the
            // table's size now.
            try connection.execute("SET plan_cache_mode = force_custom_plan")
            return connection
        }
        iterationWrites = IterationWrites(loop: loop, writer: writer, mine: StoreSQL.ownLeaseCondition(owner))
        try writer.start()
        reader = PGConnection(url: parsed, loop: loop)
        listener = PGConnection(url: parsed, loop: loop)
    }

    /// The first connection, retried while the server cannot be reached.
    private static func connectAtStart(url: String, target: String, log: WorkerLog, wait: Double) throws
        -> PostgresSQLConnection
    {
        let deadline = Date().addingTimeInterval(wait)
        var delay = 0.5
        while true {
            do {
                return try PostgresSQLConnection(url: url)
            } catch {
                guard error.serverUnreachable, Date() < deadline else { throw error }
                log.warning("\(error.description); retrying in \(DurationText.seconds(delay))")
                Thread.sleep(forTimeInterval: delay)  // Before the loop runs: nothing else waits.
                delay = min(delay * 2, 10)
            }
        }
    }

    /// Opens the loop's connections; call on the loop before the scheduler starts.
    public func start() {
        loop.assertInLoop()
        reader.onDisconnect = { [weak self] error in self?.lost(self?.reader, error) }
        listener.onDisconnect = { [weak self] error in self?.lost(self?.listener, error) }
        listener.onNotification = { [weak self] _, _ in self?.onChange() }
        connect(reader)
        connect(listener)
    }

    private func connect(_ connection: PGConnection) {
        let key = ObjectIdentifier(connection)
        guard !closed, !connection.isConnected, !connecting.contains(key) else { return }
        connecting.insert(key)
        connection.connect { [weak self] result in
            guard let self else { return }
            self.connecting.remove(key)
            switch result {
            case .success:
                if self.reconnectDelay.removeValue(forKey: ObjectIdentifier(connection)) != nil {
                    self.log.info("reconnected to PostgreSQL at \(self.target)")
                }
                if connection === self.listener {
                    // The connection listens again by itself after later reconnects.
                    if !self.listening {
                        self.listening = true
                        connection.listen(PostgresSchema.channel)
                    }
                    self.onChange()  // The catch-up claim: notifications sent while away are gone.
                }
            case .failure(let error):
                self.retry(connection, after: error)
            }
        }
    }

    private func lost(_ connection: PGConnection?, _ error: PGError) {
        guard let connection, !closed else { return }
        retry(connection, after: error)
    }

    /// Reconnects with back-off (0.1 s doubling to 5 s), saying so once per outage.
    private func retry(_ connection: PGConnection, after error: PGError) {
        let key = ObjectIdentifier(connection)
        let delay = reconnectDelay[key].map { min($0 * 2, 5) } ?? 0.1
        if reconnectDelay[key] == nil { log.warning("\(error.description); reconnecting") }
        reconnectDelay[key] = delay
        let timer = reconnectTimers[key] ?? TimerWatcher(loop: loop) {}
        reconnectTimers[key] = timer
        timer.setCallback { [weak self, weak connection] in
            guard let self, let connection else { return }
            self.connect(connection)
        }
        timer.schedule(after: delay)
    }

    // MARK: Reads on the loop

    /// A read on the loop's connection; `fallback` when the server cannot answer now (the
    /// fallback poll and the next notification ask again).
    private func read<Value>(
        _ sql: String, _ values: [SQLiteValue], fallback: Value, _ reply: @escaping (Value) -> Void,
        _ interpret: @escaping ([[String: SQLiteValue]]) -> Value
    ) {
        loop.assertInLoop()
        guard reader.isConnected else { return reply(fallback) }
        reader.query(SQLPlaceholders.postgres(sql), values) { result in
            switch result {
            case .success(let answer): reply(interpret(answer.rows))
            case .failure: reply(fallback)
            }
        }
    }

    public var looksBeforeClaiming: Bool { false }

    public func hasRunnableJobs(now: Double, excluding keys: Set<String>, completion: @escaping (Bool) -> Void) {
        read(
            "SELECT 1 FROM jobs WHERE status = \(StoreSQL.word(.queued)) AND \(StoreSQL.runnable(.postgres)) LIMIT 1",
            [.real(now), .text(StoreSQL.jsonList(keys))], fallback: false, completion
        ) { !$0.isEmpty }
    }

    public func queuedCount(completion: @escaping (_ queued: Int, _ held: Int) -> Void) {
        read(
            """
            SELECT count(*) AS n, count(*) FILTER (WHERE hold IS NOT NULL AND run_after > ?1) AS held
            FROM jobs WHERE status = \(StoreSQL.word(.queued))
            """, [.real(Date().timeIntervalSince1970)], fallback: (1, 0), { completion($0.0, $0.1) }
        ) { rows in
            let held = Int(rows.first?["held"]?.int ?? 0)
            return (Int(rows.first?["n"]?.int ?? 0) - held, held)
        }
    }

    public func earliestRunAfter(completion: @escaping (Double?) -> Void) {
        read(
            "SELECT min(run_after) AS t FROM jobs WHERE status = \(StoreSQL.word(.queued))", [], fallback: nil,
            completion
        ) { $0.first?["t"]?.double }
    }

    public func pendingCancellations(activeIDs: [Int64], completion: @escaping ([Int64]) -> Void) {
        read(
            "SELECT id, lease_owner FROM jobs WHERE status = \(StoreSQL.word(.cancelRequested))", [], fallback: [],
            completion
        ) { [weak self] rows in
            let requests = CancellationRequests(rows: rows, activeIDs: activeIDs)
            for id in requests.notStarted { self?.record(.cancelled(id: id, reason: CancellationRequests.reason)) }
            return requests.running
        }
    }

    /// Through the writer, which waits out an outage: a missing answer here would fail the job
    /// as if its input did not exist.
    public func jobSummaries(ids: [Int64], completion: @escaping ([Int64: JobSummary]) -> Void) {
        loop.assertInLoop()
        guard !ids.isEmpty else { return completion([:]) }
        enqueue(
            .answering([Int64: JobSummary](), on: loop, reply: completion) { connection in
                var summaries: [Int64: JobSummary] = [:]
                let rows = try connection.query(
                    "SELECT id, status, result FROM jobs WHERE \(connection.dialect.member("id", ofIntegers: "?1"))",
                    [.text(StoreSQL.jsonIDs(ids))])
                for row in rows {
                    guard let id = row["id"]?.int else { continue }
                    let result = row["result"]?.string.flatMap { try? JSONValue.parse($0) }
                    summaries[id] = JobSummary(status: row["status"]?.string ?? "", result: result)
                }
                return summaries
            })
    }

    // MARK: Writes

    public func record(_ update: JobUpdate) { iterationWrites.record(update) }

    public func claim(
        limit: Int, excluding keys: Set<String>, now: Double, completion: @escaping ([ClaimedJob]) -> Void
    ) {
        loop.assertInLoop()
        let claim = PostgresClaim(
            limit: limit, excluded: keys, now: now, owner: owner,
            leaseUntil: Date().timeIntervalSince1970 + leaseSeconds,
            caps: globalCaps)
        // In the writer's batch, after the completions that freed the slots: a separate claim
        // connection committed first and let readers see more than MAX_CONCURRENT_JOBS running.
        enqueue(.answering([ClaimedJob](), on: loop, reply: completion) { try claim.run(on: $0) })
    }

    public func recoverAbandonedJobs(now: Double, completion: @escaping (Int) -> Void) {
        loop.assertInLoop()
        enqueue(StoreRecovery.item(now: now, owner: owner, limit: maxInterruptions, loop: loop, reply: completion))
    }

    public func reserveSpend(
        _ entry: SpendEntry, within budgets: DailyBudgets, completion: @escaping (SpendDecision) -> Void
    ) {
        loop.assertInLoop()
        enqueue(StoreSpend.reservation(entry, budgets, loop: loop, reply: completion))
    }

    /// Lease renewals and this worker's heartbeat, pipelined on the loop's connection in one
    /// transaction. A heartbeat the server cannot take now is dropped: the next one (a third of
    /// the lease later) renews the same leases.
    public func heartbeat(activeIDs: [Int64], activity: [String: ProviderActivity]) {
        loop.assertInLoop()
        guard reader.isConnected else { return }
        let now = SQLDialect.postgres.now
        var statements: [(sql: String, params: [SQLiteValue])] = []
        if !activeIDs.isEmpty {
            statements.append(
                (
                    "UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2 AND \(SQLDialect.postgres.member("id", ofIntegers: "$3"))",
                    [
                        .real(Date().timeIntervalSince1970 + leaseSeconds), .text(owner),
                        .text(StoreSQL.jsonIDs(activeIDs)),
                    ]
                ))
        }
        statements.append(
            (
                """
                UPDATE workers SET heartbeat_at = \(now), heartbeat_unix = $2, active_jobs = $3, provider_stats = $4,
                    status = CASE WHEN status = 'gone' THEN 'running' ELSE status END
                WHERE id = $1
                """,
                [
                    .text(owner), .real(Date().timeIntervalSince1970), .integer(Int64(activeIDs.count)),
                    .text(JSONValue.object(activity.mapValues(\.json)).jsonString()),
                ]
            ))
        reader.transaction(statements) { _ in }
    }

    public func flush(_ done: @escaping () -> Void) {
        let reply = LoopBound(done, on: loop)
        enqueue(WriterQueue.Item(apply: { _ in }, afterCommit: { reply.value() }))
    }

    public func close(_ done: @escaping () -> Void) {
        closed = true
        iterationWrites.handOver()
        for timer in reconnectTimers.values { timer.stop() }
        reader.close()
        listener.close()
        let reply = LoopBound(done, on: loop)
        writer.stop { reply.value() }
    }

    /// Collects a write for the end of this loop iteration (off the loop: straight to the writer).
    private func enqueue(_ item: WriterQueue.Item) { iterationWrites.add(item) }
}

@available(*, unavailable, message: "the store's connections and iteration writes belong to the loop thread")
extension PostgresJobStore: Sendable {}
