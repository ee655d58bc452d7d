/// A connection the job store's SQL runs on: SQLite's, or PostgreSQL's blocking one on a thread
/// that owns it (a command, the store's writer). The store writes its SQL once, in the words both
/// databases share, with `?1`-style parameters, and asks `dialect` for the few fragments that
/// differ; values go in and come out as `SQLiteValue`.
///
/// Not thread-safe: each owner keeps its connection on its own thread.
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs one statement and returns its rows, keyed by column name.
    func query(_ sql: String, _ values: [SQLiteValue]) throws -> [[String: SQLiteValue]]
    /// Runs one statement for its effect.
    func run(_ sql: String, _ values: [SQLiteValue]) throws
    /// Runs statements that take no parameters (schema, transactions).
    func execute(_ sql: String) throws
    /// Rows the last `run` changed.
    var changes: Int { get }
    /// Whether a transaction is open.
    var inTransaction: Bool { get }
    func close()
}

extension SQLiteConnection: SQLConnection {
    public var dialect: SQLDialect { .sqlite }
}

/// What a failed statement means for the writer that ran it: a failure that may pass if the
/// whole batch is tried again later (a lock held elsewhere, a full disk, a lost connection) keeps
/// the batch; any other is the statement's own (bad data) and only that item is skipped.
public protocol SQLFailure: Error {
    var passesOnRetry: Bool { get }
    /// The connection is gone: the writer opens a new one before it tries again.
    var connectionLost: Bool { get }
    /// One line for the log.
    var explanation: String { get }
}

extension SQLiteError: SQLFailure {
    public var passesOnRetry: Bool { isBusy || isStorageFault }
    public var connectionLost: Bool { false }
    public var explanation: String {
        isBusy ? "another program holds the database lock: \(message)" : message
    }
}

extension SQLConnection {
    /// A statement without parameters.
    public func query(_ sql: String) throws -> [[String: SQLiteValue]] { try query(sql, []) }
    public func run(_ sql: String) throws { try run(sql, []) }
}
