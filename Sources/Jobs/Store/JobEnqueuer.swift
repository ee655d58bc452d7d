import Reactor

/// Adds jobs to `jobs.db` from a command-line tool (not the daemon): its own connection,
/// schema migrated first, all rows in one transaction.
public struct JobEnqueuer {
    public let path: String

    public init(path: String) { self.path = path }

    public func enqueue(type: String, params: String, count: Int, priority: Int = 0, maxAttempts: Int = 3) throws
        -> [Int64]
    {
        let connection = try SQLiteConnection(path: path, busyTimeout: 10)
        try JobSchema.migrate(connection)
        try connection.execute(connection.dialect.beginWrite)
        var ids: [Int64] = []
        do {
            for _ in 0..<count {
                let inserted = try connection.query(
                    "INSERT INTO jobs (job_type, params, priority, max_attempts) VALUES (?, ?, ?, ?) RETURNING id",
                    [.text(type), .text(params), .integer(Int64(priority)), .integer(Int64(maxAttempts))])
                ids.append(inserted.first?["id"]?.int ?? 0)
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
        return ids
    }
}
