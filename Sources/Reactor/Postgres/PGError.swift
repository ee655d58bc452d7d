/// A PostgreSQL failure: what kind, the server's SQLSTATE and words, and where.
///
/// No message ever holds a password: connect errors name the server as
/// "127.0.0.1:5433/jobs as worker", and libpq's text is scrubbed of the URL's password.
public struct PGError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No connection was made (refused, timed out, authentication, a bad URL). Nothing ran.
        case connect
        /// The connection broke, or was closed, before the statement's result came back.
        /// `outcomeUnknown` says whether it may have run.
        case connectionLost
        /// The server refused the statement; its transaction was rolled back, nothing of it stays.
        case query
    }

    public var kind: Kind
    /// The server's five-character SQLSTATE ("23505" unique violation, "40001" serialization
    /// failure, "57P01" shutdown), when the server sent one.
    public var sqlState: String?
    /// The server's (or libpq's) words, one line, without "ERROR:" or libpq's prefixes.
    public var message: String
    /// The server's DETAIL line ("Key (id)=(7) already exists."), when it sent one.
    public var detail: String?
    /// The server as "host:port/database as user", when known.
    public var target: String?
    /// For `.connectionLost`: true when the statement had been handed to libpq before the
    /// loss, so it may have run and even committed: read back before doing it again. False
    /// when it never left this process: it did not run and is safe to send again.
    public var outcomeUnknown: Bool
    /// For a `.query` failure inside a transaction: which statement failed (0-based). Nil for a
    /// single query, or when the commit itself failed (a deferred constraint, say).
    public var statementIndex: Int?

    public init(
        kind: Kind, message: String, sqlState: String? = nil, detail: String? = nil, target: String? = nil,
        outcomeUnknown: Bool = false, statementIndex: Int? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.target = target
        self.outcomeUnknown = outcomeUnknown
        self.statementIndex = statementIndex
    }

    public var description: String {
        let place = target.map { " at \($0)" } ?? ""
        switch kind {
        case .connect:
            return "cannot connect to PostgreSQL\(place): \(message)"
        case .connectionLost:
            let outcome =
                outcomeUnknown ? "it had been sent, so whether it ran is unknown" : "it was not sent and did not run"
            return "lost the connection to PostgreSQL\(place): \(message) (\(outcome))"
        case .query:
            var text = "PostgreSQL error \(sqlState ?? "without SQLSTATE"): \(message)"
            if let detail { text += " (\(detail))" }
            if let statementIndex { text += " in statement \(statementIndex + 1) of the transaction" }
            return text
        }
    }

    /// SQLSTATE classes that mean the session is over, not that the statement was wrong:
    /// 08 (connection exception) and 57P (shutdown, crash, cannot connect now).
    static func endsSession(_ sqlState: String?) -> Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || sqlState.hasPrefix("57P")
    }
}
