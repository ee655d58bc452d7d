import Reactor

/// What `watch` shows on each refresh: the jobs workers hold now, the queue's depth, and the
/// latest finishes. Read from `jobs.db` alone (no connection to the daemon), so it works for
/// any number of workers and for a worker of another version.
public struct QueueOverview: Sendable {
    /// Running jobs (including those asked to cancel), oldest claim first.
    public var active: [JobRecord] = []
    /// Queued jobs that may run now.
    public var queuedNow = 0
    /// Queued jobs waiting for a retry time (`run_after` in the future).
    public var queuedLater = 0
    /// Pipeline steps waiting for their parents.
    public var waiting = 0
    /// Jobs that finished in the last hour, by status word.
    public var finishedLastHour: [String: Int] = [:]
    /// The latest finished jobs, newest first.
    public var recent: [JobRecord] = []
    /// Every row of `workers`, live ones first (gone ones stay until someone prunes them).
    public var workers: [WorkerRow] = []

    /// The summed gate size of the live workers, nil when no worker registered (an empty
    /// table, or workers of a version before the table).
    public var liveCapacity: Int? {
        let live = workers.filter { !$0.isGone }
        return live.isEmpty ? nil : live.reduce(0) { $0 + $1.maxConcurrentJobs }
    }

    public init() {}

    /// A reader that keeps one read-only connection (and its prepared statements) open
    /// between refreshes; each read sees everything committed before it started.
    public final class Reader {
        private let connection: SQLiteConnection
        private let columnNames: [String]
        private let recentLimit: Int

        public init(path: String, recentLimit: Int = 8) throws {
            connection = try OperationsDatabase.open(path: path, readOnly: true)
            columnNames = try connection.query("PRAGMA table_info(jobs)").compactMap { $0["name"]?.string }
            self.recentLimit = recentLimit
        }

        /// Reads one overview, inside one read transaction so its numbers agree with each other.
        public func read(now: Double) throws -> QueueOverview {
            var overview = QueueOverview()
            try connection.execute("BEGIN")
            defer { try? connection.execute("COMMIT") }
            let held = StoreSQL.held
            overview.active = try connection.query(
                "SELECT \(JobRecord.selectList()) FROM jobs WHERE status IN \(held) ORDER BY started_at, id LIMIT 200"
            ).map { JobRecord(row: $0, columns: columnNames) }
            let queue = try connection.query(
                """
                SELECT sum(run_after <= ?1) AS now, sum(run_after > ?1) AS later
                FROM jobs WHERE status = '\(JobStatus.queued.rawValue)'
                """, [.real(now)]
            ).first
            overview.queuedNow = Int(queue?["now"]?.int ?? 0)
            overview.queuedLater = Int(queue?["later"]?.int ?? 0)
            overview.waiting = Int(
                try connection.query("SELECT count(*) AS n FROM jobs WHERE status = \(StoreSQL.word(.waiting))").first?[
                    "n"]?.int ?? 0)
            for row in try connection.query(
                """
                SELECT status, count(*) AS n FROM jobs
                WHERE finished_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour') GROUP BY status
                """)
            {
                overview.finishedLastHour[row["status"]?.string ?? ""] = Int(row["n"]?.int ?? 0)
            }
            let finished = StoreSQL.finished
            overview.recent = try connection.query(
                """
                SELECT \(JobRecord.selectList()) FROM jobs WHERE status IN \(finished)
                ORDER BY finished_at DESC, id DESC LIMIT ?
                """, [.integer(Int64(recentLimit))]
            ).map { JobRecord(row: $0, columns: columnNames) }
            overview.workers = try WorkerRow.readAll(connection, now: now)
            return overview
        }
    }
}
