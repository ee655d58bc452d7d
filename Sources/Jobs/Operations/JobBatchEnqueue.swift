import Reactor

extension JobEnqueuer {
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

    /// Adds jobs of different types in one transaction, so a list is all queued or none is
    /// (the dashboard's "queue these five"). Its own connection, schema migrated first, like
    /// `enqueue(type:params:count:)`. Returns the new ids in the order given.
    public func enqueue(_ jobs: [NewJob]) throws -> [Int64] {
        let connection = try SQLiteConnection(path: path, busyTimeout: 10)
        try JobSchema.migrate(connection)
        try connection.execute("BEGIN IMMEDIATE")
        var ids: [Int64] = []
        do {
            for job in jobs {
                try connection.run(
                    "INSERT INTO jobs (job_type, params, priority, max_attempts) VALUES (?, ?, ?, ?)",
                    [
                        .text(job.type), .text(job.params), .integer(Int64(job.priority)),
                        .integer(Int64(job.maxAttempts)),
                    ])
                ids.append(connection.lastInsertRowID)
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
        return ids
    }
}
