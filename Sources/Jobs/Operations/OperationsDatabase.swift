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

    /// Opens the job store. Fails with a message that names it and what to do when the file,
    /// the server or its `jobs` table does not exist: operations never create a database by
    /// accident (a mistyped `--db` should not look like an empty queue).
    public static func open(_ store: JobStoreLocation, readOnly: Bool) throws -> any SQLConnection {
        if case .sqlite(let path) = store, !FileManager.default.fileExists(atPath: path) {
            throw OperationsError(
                "no jobs database at \(path); pass --db PATH or set JOBS_DB (the worker creates it on its first run)")
        }
        let connection: any SQLConnection
        do {
            connection = try store.connect(readOnly: readOnly)
            guard try !connection.query(connection.dialect.tableExists("jobs")).isEmpty else {
                throw OperationsError(
                    "\(store) has no jobs table; is it the right database? (`reactor-worker run` or `enqueue` creates it)"
                )
            }
            if !readOnly { try JobSchema.migrate(connection) }
        } catch let error as OperationsError {
            throw error
        } catch {
            throw OperationsError("cannot open \(store): \(error)")
        }
        return connection
    }
}
