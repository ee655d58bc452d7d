import Foundation
import Reactor

/// A fresh folder for one test: its own `jobs.db`, `outputs/` and process logs.
public final class Workspace {
    public let directory: String
    public var databasePath: String { directory + "/jobs.db" }
    public var outputDirectory: String { directory + "/outputs" }

    public init(name: String = "test") {
        let base = FileManager.default.temporaryDirectory.path + "/reactor-worker-tests"
        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        directory = base + "/\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Removes the folder (call from tearDown once processes are stopped).
    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A connection for reading rows and inserting jobs the way another program would.
    public func connection() throws -> SQLiteConnection {
        try SQLiteConnection(path: databasePath, busyTimeout: 10)
    }

    /// Runs a query on a fresh connection; errors become an empty result (the file may not exist yet).
    public func rows(_ sql: String, _ values: [SQLiteValue] = []) -> [[String: SQLiteValue]] {
        guard let connection = try? connection() else { return [] }
        return (try? connection.query(sql, values)) ?? []
    }

    /// Count of rows matching a WHERE clause.
    public func count(where clause: String) -> Int {
        Int(rows("SELECT count(*) AS n FROM jobs WHERE \(clause)").first?["n"]?.int ?? -1)
    }
}
