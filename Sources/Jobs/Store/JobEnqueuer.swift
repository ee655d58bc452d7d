import Reactor

/// Adds jobs from a command-line tool or the dashboard (not the daemon): its own connection,
/// schema migrated first, all rows in one transaction, so a list is all queued or none is (the
/// dashboard's "queue these five").
public struct JobEnqueuer {
    /// One job to add: its type, its params as JSON text, and how it is run.
    public struct NewJob: Sendable, Equatable {
        public var type: String
        public var params: String
        public var priority: Int
        public var maxAttempts: Int

        public init(type: String, params: String, priority: Int = 0, maxAttempts: Int = 3) {
            self.type = type
            self.params = params
            self.priority = priority
            self.maxAttempts = maxAttempts
        }
    }

    public let store: JobStoreLocation
    /// Rows at once from which the table's statistics are refreshed on PostgreSQL.
    static let analyseAfter = 1000

    public init(store: JobStoreLocation) { self.store = store }

    /// `count` jobs of one type with the same params.
    public func enqueue(type: String, params: String, count: Int, priority: Int = 0, maxAttempts: Int = 3) throws
        -> [Int64]
    {
        try enqueue(
            Array(
                repeating: NewJob(type: type, params: params, priority: priority, maxAttempts: maxAttempts),
                count: count))
    }

    /// Returns the new ids in the order given.
    public func enqueue(_ jobs: [NewJob]) throws -> [Int64] {
        let connection = try store.connect()
        try JobSchema.migrate(connection)
        try connection.execute(connection.dialect.beginWrite)
        var ids: [Int64] = []
        do {
            for job in jobs {
                let inserted = try connection.query(
                    "INSERT INTO jobs (job_type, params, priority, max_attempts) VALUES (?, ?, ?, ?) RETURNING id",
                    [
                        .text(job.type), .text(job.params), .integer(Int64(job.priority)),
                        .integer(Int64(job.maxAttempts)),
                    ])
                ids.append(inserted.first?["id"]?.int ?? 0)
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
        if connection.dialect == .postgres && jobs.count >= Self.analyseAfter {
            // Until autovacuum's next round (up to a minute away) the planner would still think the
            // queue as short as before this load, and every claim would sort all of it.
            try? connection.execute("ANALYZE jobs")
        }
        return ids
    }
}
