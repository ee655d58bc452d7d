import CSQLite

/// An SQLite failure with its result code and the library's own message.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// Primary result code (SQLITE_BUSY, SQLITE_FULL, …), extended codes masked off.
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// Another connection holds the lock longer than the busy timeout; worth retrying.
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
    /// The disk is full or the database cannot be written; retrying later may succeed once fixed.
    public var isStorageFault: Bool {
        code == SQLITE_FULL || code == SQLITE_READONLY || code == SQLITE_IOERR || code == SQLITE_CANTOPEN
    }

    public var description: String { "SQLite error \(code): \(message)" }
}
