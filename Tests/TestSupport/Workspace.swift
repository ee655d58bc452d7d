import Foundation
import Reactor

/// A fresh folder for one test: its own job store, `outputs/` and process logs.
///
/// The store is a `jobs.db` in the folder, or, when the suite runs with
/// `REACTOR_TEST_STORE=postgres` (`scripts/test` does both), a fresh database on the suite's own
/// throwaway PostgreSQL server (`PostgresServer`): the same test code runs against both stores.
public final class Workspace {
    /// Which store a workspace gets by default.
    public enum StoreKind: String, Sendable {
        case sqlite, postgres

        /// From `REACTOR_TEST_STORE` (unset: SQLite).
        public static var configured: StoreKind {
            ProcessInfo.processInfo.environment["REACTOR_TEST_STORE"] == "postgres" ? .postgres : .sqlite
        }
    }

    public let directory: String
    public let store: JobStoreLocation
    public var databasePath: String { directory + "/jobs.db" }
    public var outputDirectory: String { directory + "/outputs" }

    /// `kind` nil: the suite's store. Tests of SQLite itself (its file, its locks) pass `.sqlite`.
    public init(name: String = "test", store kind: StoreKind? = nil) {
        let base = FileManager.default.temporaryDirectory.path + "/reactor-worker-tests"
        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        directory = base + "/\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        switch kind ?? StoreKind.configured {
        case .sqlite:
            store = .sqlite(path: directory + "/jobs.db")
        case .postgres:
            do {
                store = .postgres(url: try PostgresServer.shared.makeDatabase(name: name))
            } catch {
                preconditionFailure("cannot make a PostgreSQL database for \(name): \(error)")
            }
        }
    }

    public var isPostgres: Bool { store.isPostgres }

    /// What `--db` takes for this store: the file's path, or the database's URL.
    public var storeArgument: String {
        switch store {
        case .sqlite(let path): path
        case .postgres(let url): url
        }
    }

    /// What a worker or command needs in its environment to use this store (`JOBS_DB` is set too).
    public var storeEnvironment: [String: String] {
        switch store {
        case .sqlite: [:]
        case .postgres(let url): ["JOBS_DATABASE_URL": url]
        }
    }

    /// Removes the folder (call from tearDown once processes are stopped).
    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A connection for reading rows and inserting jobs the way another program would.
    public func connection() throws -> any SQLConnection {
        try store.connect()
    }

    /// Runs a query on a fresh connection; errors become an empty result (the store may not exist yet).
    public func rows(_ sql: String, _ values: [SQLiteValue] = []) -> [[String: SQLiteValue]] {
        guard let connection = try? connection() else { return [] }
        defer { connection.close() }
        return (try? connection.query(sql, values)) ?? []
    }

    /// Count of rows matching a WHERE clause.
    public func count(where clause: String) -> Int {
        Int(rows("SELECT count(*) AS n FROM jobs WHERE \(clause)").first?["n"]?.int ?? -1)
    }

    /// Inserts a row as another program would (only the columns given) and returns its id.
    @discardableResult
    public func insert(_ columns: [String: SQLiteValue], on connection: (any SQLConnection)? = nil) throws -> Int64 {
        let names = columns.keys.sorted()
        let sql =
            "INSERT INTO jobs (\(names.joined(separator: ", "))) VALUES (\(names.indices.map { "?\($0 + 1)" }.joined(separator: ", "))) RETURNING id"
        let target = try connection ?? self.connection()
        defer { if connection == nil { target.close() } }
        return try target.query(sql, names.map { columns[$0]! }).first?["id"]?.int ?? 0
    }
}

extension Workspace {
    /// Runs `sql` the way another program would, with the store's own command-line client
    /// (`sqlite3`, or `psql` for PostgreSQL), and returns its output: rows one per line, columns
    /// separated by `|`, no header.
    public func runClient(_ sql: String, timeout: Double = 30) throws -> (
        status: Int32?, stdout: String, stderr: String
    ) {
        let child: ChildProcess
        switch store {
        case .sqlite(let path):
            child = try ChildProcess(
                executable: "/usr/bin/sqlite3", arguments: ["-cmd", ".timeout 10000", path, sql],
                outputPrefix: directory + "/sqlite3-\(UUID().uuidString.prefix(6))")
        case .postgres(let url):
            child = try ChildProcess(
                executable: "/usr/bin/psql",
                arguments: [url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                outputPrefix: directory + "/psql-\(UUID().uuidString.prefix(6))")
        }
        let status = child.waitForExit(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }

    /// The client's path, for tests that check it is installed.
    public var clientExecutable: String { isPostgres ? "/usr/bin/psql" : "/usr/bin/sqlite3" }
}
