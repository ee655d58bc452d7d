import Foundation

/// Where the jobs live: a SQLite file (the default: one command, no server) or a PostgreSQL
/// database shared by workers on many hosts (`JOBS_DATABASE_URL=postgres://…`, or a
/// `postgres://` value in `JOBS_DB`).
public enum JobStoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    /// `JOBS_DATABASE_URL` when set, else `JOBS_DB` (a path, or a PostgreSQL URL), else `./jobs.db`.
    public static func from(databaseURL: String?, jobsDB: String?) -> JobStoreLocation {
        if let url = databaseURL, !url.isEmpty { return isPostgresURL(url) ? .postgres(url: url) : .sqlite(path: url) }
        let value = jobsDB ?? "./jobs.db"
        return isPostgresURL(value) ? .postgres(url: value) : .sqlite(path: value)
    }

    static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    public var isPostgres: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// The path, or the URL without its password: safe for logs and errors.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): PGConnectionURL.redactedDescription(of: url)
        }
    }

    /// A connection for the calling thread (a command, a test, the metrics thread). Never on the
    /// loop: PostgreSQL's waits for the server.
    public func connect(readOnly: Bool = false) throws -> any SQLConnection {
        switch self {
        case .sqlite(let path): try SQLiteConnection(path: path, readOnly: readOnly, busyTimeout: 10)
        case .postgres(let url): try PostgresSQLConnection(url: url, readOnly: readOnly)
        }
    }
}
