/// PostgreSQL's blocking connection as the store's `SQLConnection`: the store's `?1` parameters
/// rewritten to `$1` (once per statement text), the rows changed by the last statement, and
/// whether a transaction is open. For threads that own it: the writer, a command, the metrics.
public final class PostgresSQLConnection: SQLConnection {
    private let connection: PGBlockingConnection
    private var rewritten: [String: String] = [:]
    public private(set) var changes = 0
    public private(set) var inTransaction = false

    public var dialect: SQLDialect { .postgres }

    public init(url: String, readOnly: Bool = false, connectTimeout: Double = 10) throws(PGError) {
        connection = try PGBlockingConnection(url: url, connectTimeout: connectTimeout)
        if readOnly { try connection.execute("SET default_transaction_read_only = on") }
    }

    public func query(_ sql: String, _ values: [SQLiteValue]) throws -> [[String: SQLiteValue]] {
        try perform(sql, values).rows
    }

    public func run(_ sql: String, _ values: [SQLiteValue]) throws {
        _ = try perform(sql, values)
    }

    public func execute(_ sql: String) throws {
        note(sql)
        try connection.execute(sql)
    }

    public func close() { connection.close() }

    private func perform(_ sql: String, _ values: [SQLiteValue]) throws(PGError) -> PGQueryResult {
        note(sql)
        let text: String
        if let cached = rewritten[sql] {
            text = cached
        } else {
            text = SQLPlaceholders.postgres(sql)
            rewritten[sql] = text
        }
        do {
            let result = try connection.run(text, values)
            changes = result.affectedRows
            return result
        } catch {
            // A statement that failed outside a savepoint leaves nothing open to roll back to.
            if error.kind != .query { inTransaction = false }
            throw error
        }
    }

    /// Follows BEGIN, COMMIT and ROLLBACK (not ROLLBACK TO a savepoint).
    private func note(_ sql: String) {
        let head = sql.prefix(12).uppercased()
        if head.hasPrefix("BEGIN") {
            inTransaction = true
        } else if head.hasPrefix("COMMIT") || (head.hasPrefix("ROLLBACK") && !head.hasPrefix("ROLLBACK TO")) {
            inTransaction = false
        }
    }
}
