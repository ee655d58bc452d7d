import Foundation
import Reactor

/// A problem an operations command reports to the person who ran it: one line that says
/// what is wrong and what to do.
public struct OperationsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Opens `jobs.db` for a command-line operation (`list`, `cancel`, `watch`, …).
///
/// Like `JobEnqueuer`, each operation opens its own connection and never shares it with the
/// daemon. Read-only views open the file read-only so that looking can never change or lock
/// anything; writes migrate the schema first, so a table from an older worker gets the
/// columns they set.
public enum OperationsDatabase {

    /// Opens the database at `path`. Fails with a message that names the path and what to
    /// do when the file or its `jobs` table does not exist: operations never create a
    /// database by accident (a mistyped `--db` should not look like an empty queue).
    public static func open(path: String, readOnly: Bool) throws -> SQLiteConnection {
        guard FileManager.default.fileExists(atPath: path) else {
            throw OperationsError(
                "no jobs database at \(path); pass --db PATH or set JOBS_DB (the worker creates it on its first run)")
        }
        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection(path: path, readOnly: readOnly, busyTimeout: 10)
            let tables = try connection.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'jobs'")
            guard !tables.isEmpty else {
                throw OperationsError(
                    "\(path) has no jobs table; is it the right file? (`reactor-worker run` or `enqueue` creates it)")
            }
            if !readOnly { try JobSchema.migrate(connection) }
        } catch let error as OperationsError {
            throw error
        } catch {
            throw OperationsError("cannot open \(path): \(error)")
        }
        return connection
    }

    /// Seconds between an ISO timestamp column and now (or another column), in SQL.
    static func secondsSince(_ column: String, until end: String = "'now'") -> String {
        "((julianday(\(end)) - julianday(\(column))) * 86400.0)"
    }
}
