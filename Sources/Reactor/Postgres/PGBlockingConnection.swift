/// A PostgreSQL connection whose calls wait for the server: for one-shot command-line tools,
/// schema migration and tests. Never on the event loop (use `PGConnection` there).
///
/// Same URLs and the same error words as `PGConnection`; each statement without an explicit
/// transaction commits on its own. Not thread-safe: one thread at a time.
public final class PGBlockingConnection {
    public let url: PGConnectionURL
    private let connection: LibPQConnection
    private let target: String
    /// Statements prepared on this connection, by SQL text and parameter types. A writer runs
    /// the same few dozen statements all day; preparing spares the server parsing and planning
    /// each one every time (the claim's CTE most). A statement is prepared on its second run, so
    /// a one-shot command pays no extra round trip. Bounded: text built at run time would grow it.
    private var prepared: [String: String] = [:]
    private var seenOnce: Set<String> = []
    private var preparedCount = 0
    private static let mostPrepared = 256

    /// Connects and waits, at most `connectTimeout` seconds (libpq's `connect_timeout`; a
    /// `connect_timeout` in the URL wins).
    public init(url: PGConnectionURL, connectTimeout: Double = 10) throws(PGError) {
        self.url = url
        guard let connection = LibPQConnection.connectBlocking(url.options(connectTimeout: connectTimeout)) else {
            throw PGError(kind: .connect, message: "out of memory", target: url.redactedDescription)
        }
        if connection.isBad { throw url.connectError(connection.errorMessage, target: connection.target) }
        self.connection = connection
        target = connection.target
    }

    /// Reads the URL first; throws a `.connect` error when libpq does not accept it.
    public convenience init(url: String, connectTimeout: Double = 10) throws(PGError) {
        try self.init(url: try PGConnectionURL(url), connectTimeout: connectTimeout)
    }

    /// Runs one statement (`$1…$n` placeholders) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [SQLiteValue] = []) throws(PGError) -> [[String: SQLiteValue]] {
        try run(sql, params).rows
    }

    /// Runs one statement and returns its rows and affected-row count.
    @discardableResult
    public func run(_ sql: String, _ params: [SQLiteValue] = []) throws(PGError) -> PGQueryResult {
        let statement = PGStatement(sql, params)
        try checkSendable(statement)
        let key = statement.sql + "\u{1}" + LibPQParameters(params).typeSignature
        if let name = prepared[key] {
            do {
                return try check(connection.executePreparedWaiting(name: name, params))
            } catch let error where error.sqlState == Self.staleResultType {
                // Another worker's migration changed a table under a prepared `SELECT *`: plan
                // it afresh from now on (inside a transaction the error stands, and the writer
                // retries the batch).
                prepared[key] = nil
                throw error
            }
        }
        // Texts built at run time are each seen once and never prepared; forgetting them all now
        // and then keeps the set as bounded as the prepared statements.
        if seenOnce.count >= 4 * Self.mostPrepared { seenOnce.removeAll() }
        guard preparedCount < Self.mostPrepared, !seenOnce.insert(key).inserted else {
            return try check(connection.executeWaiting(statement))
        }
        preparedCount += 1
        let name = "rw_\(preparedCount)"
        _ = try check(connection.prepareWaiting(statement, name: name))
        prepared[key] = name
        return try check(connection.executePreparedWaiting(name: name, params))
    }

    /// "cached plan must not change result type" (feature_not_supported).
    private static let staleResultType = "0A000"

    /// Runs text of several statements separated by semicolons (a schema script), without
    /// parameters. Unless the text has its own BEGIN/COMMIT, the statements run as one
    /// transaction: an error stops the script and undoes all of it.
    public func execute(_ sql: String) throws(PGError) {
        try checkSendable(PGStatement(sql))
        _ = try check(connection.executeScriptWaiting(sql))
    }

    /// Closes the connection; later calls fail as `.connectionLost`, not sent.
    public func close() { connection.finish() }

    /// Refuses what libpq would truncate, and any use after `close()`: neither was sent.
    private func checkSendable(_ statement: PGStatement) throws(PGError) {
        if let problem = statement.problem {
            throw PGError(kind: .query, message: "not sent: \(problem)", target: target)
        }
        if !connection.isOpen {
            throw PGError(kind: .connectionLost, message: "the connection was closed", target: target)
        }
    }

    private func check(_ result: LibPQResult?) throws(PGError) -> PGQueryResult {
        switch result {
        case .completed(let rows):
            return rows
        case .failed(let error) where !connection.isBad && !PGError.endsSession(error.sqlState):
            throw PGError(
                kind: .query, message: error.message, sqlState: error.sqlState, detail: error.detail, target: target)
        case .failed(let error):
            throw lost(error.message, sqlState: error.sqlState)
        case .skipped, .pipelineSync, nil:
            throw lost(connection.errorMessage)
        }
    }

    /// The statement was sent, so whether it ran is unknown.
    private func lost(_ message: String, sqlState: String? = nil) -> PGError {
        PGError(
            kind: .connectionLost, message: url.scrub(LibPQResult.oneLine(message)), sqlState: sqlState, target: target,
            outcomeUnknown: true)
    }
}

@available(*, unavailable, message: "a blocking connection is used by one thread at a time")
extension PGBlockingConnection: Sendable {}
