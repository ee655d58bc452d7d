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
    /// Queued jobs a daily budget holds back, and why (most common reason first).
    public var held = 0
    public var holdReasons: [(reason: String, count: Int)] = []
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
        private let connection: any SQLConnection
        private let columnNames: [String]
        private let recentLimit: Int

        public init(store: JobStoreLocation, recentLimit: Int = 8) throws {
            connection = try OperationsDatabase.open(store, readOnly: true)
            columnNames = try connection.query(connection.dialect.columnNames("jobs"), []).compactMap {
                $0["name"]?.string
            }
            self.recentLimit = recentLimit
        }

        /// Reads one overview, inside one read transaction so its numbers agree with each other.
        public func read(now: Double) throws -> QueueOverview {
            var overview = QueueOverview()
            try connection.execute("BEGIN")
            defer { try? connection.execute("COMMIT") }
            let held = StoreSQL.held
            overview.active = try connection.query(
                "SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs WHERE status IN \(held) ORDER BY started_at, id LIMIT 200"
            ).map { JobRecord(row: $0, columns: columnNames) }
            let queue = try connection.query(
                """
                SELECT count(*) FILTER (WHERE run_after <= ?1) AS now,
                    count(*) FILTER (WHERE run_after > ?1 AND hold IS NULL) AS later,
                    count(*) FILTER (WHERE run_after > ?1 AND hold IS NOT NULL) AS held
                FROM jobs WHERE status = '\(JobStatus.queued.rawValue)'
                """, [.real(now)]
            ).first
            overview.queuedNow = Int(queue?["now"]?.int ?? 0)
            overview.queuedLater = Int(queue?["later"]?.int ?? 0)
            overview.held = Int(queue?["held"]?.int ?? 0)
            if overview.held > 0 {
                overview.holdReasons = try connection.query(
                    """
                    SELECT hold, count(*) AS n FROM jobs
                    WHERE status = '\(JobStatus.queued.rawValue)' AND hold IS NOT NULL AND run_after > ?1
                    GROUP BY hold ORDER BY n DESC LIMIT 3
                    """, [.real(now)]
                ).map { ($0["hold"]?.string ?? "", Int($0["n"]?.int ?? 0)) }
            }
            overview.waiting = Int(
                try connection.query("SELECT count(*) AS n FROM jobs WHERE status = \(StoreSQL.word(.waiting))").first?[
                    "n"]?.int ?? 0)
            for row in try connection.query(
                """
                SELECT status, count(*) AS n FROM jobs
                WHERE finished_at >= \(connection.dialect.ago(seconds: 3600)) GROUP BY status
                """)
            {
                overview.finishedLastHour[row["status"]?.string ?? ""] = Int(row["n"]?.int ?? 0)
            }
            let finished = StoreSQL.finished
            overview.recent = try connection.query(
                """
                SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs WHERE status IN \(finished)
                ORDER BY finished_at DESC, id DESC LIMIT ?
                """, [.integer(Int64(recentLimit))]
            ).map { JobRecord(row: $0, columns: columnNames) }
            overview.workers = try WorkerRow.readAll(connection, now: now)
            return overview
        }
    }
}
