/// One SQL statement and its parameters, `$1…$n` in the text.
///
/// One statement only: the extended protocol (and so pipelining) refuses text with several.
/// For schema scripts use `PGBlockingConnection.execute(_:)`.
public struct PGStatement: Sendable, Equatable {
    public var sql: String
    public var params: [SQLiteValue]

    public init(_ sql: String, _ params: [SQLiteValue] = []) {
        self.sql = sql
        self.params = params
    }

    /// `name` as a quoted SQL identifier ("jobs""x" for jobs"x), for the places a parameter
    /// cannot go: LISTEN channels, table names chosen at run time.
    public static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Why libpq would refuse or change the statement before sending it, or nil. C strings
    /// end at a NUL byte, so SQL or a text parameter holding one would run truncated.
    var problem: String? {
        if sql.utf8.contains(0) { return "the SQL text contains a NUL byte" }
        if params.count > 65535 { return "\(params.count) parameters; PostgreSQL takes at most 65535" }
        for case .text(let text) in params where text.utf8.contains(0) {
            return "a text parameter contains a NUL byte (use a blob for binary data)"
        }
        return nil
    }
}
