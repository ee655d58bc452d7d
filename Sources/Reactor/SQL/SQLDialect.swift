/// The SQL fragments in which SQLite and PostgreSQL differ, for the store's queries. Everything
/// else the store writes is common to both: `?1` parameters (PostgreSQL's connection numbers them
/// `$1`), `RETURNING`, `ON CONFLICT`, `IS DISTINCT FROM`, `count(*) FILTER (WHERE …)`. Times are
/// ISO-8601 UTC text with milliseconds in both, so they compare and sort as text.
public enum SQLDialect: Sendable, Equatable {
    case sqlite
    case postgres

    /// Now, as ISO-8601 UTC text with milliseconds.
    public var now: String {
        switch self {
        case .sqlite: "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
        case .postgres: #"to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
        }
    }

    /// `seconds` before now, as the same text.
    public func ago(seconds: Int) -> String {
        switch self {
        case .sqlite: "strftime('%Y-%m-%dT%H:%M:%fZ','now','-\(seconds) seconds')"
        case .postgres:
            #"to_char((statement_timestamp() - interval '\#(seconds) seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
        }
    }

    /// An ISO timestamp (a column or parameter) moved by `seconds`, as the same text.
    public func shifted(_ time: String, seconds: Int) -> String {
        switch self {
        case .sqlite: "strftime('%Y-%m-%dT%H:%M:%fZ', \(time), '\(seconds) seconds')"
        case .postgres:
            #"to_char(((\#(time))::timestamptz + interval '\#(seconds) seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
        }
    }

    /// Unix seconds of an ISO timestamp column (or expression).
    public func unixSeconds(_ column: String) -> String {
        switch self {
        case .sqlite: "((julianday(\(column)) - 2440587.5) * 86400.0)"
        case .postgres: "extract(epoch FROM (\(column))::timestamptz)::float8"
        }
    }

    /// Seconds from an ISO timestamp column to another (nil: now).
    public func secondsBetween(_ start: String, and end: String? = nil) -> String {
        switch self {
        case .sqlite: "((julianday(\(end ?? "'now'")) - julianday(\(start))) * 86400.0)"
        case .postgres:
            "extract(epoch FROM (\(end.map { "(\($0))::timestamptz" } ?? "statement_timestamp()") - (\(start))::timestamptz))::float8"
        }
    }

    /// `column` is one of the integers of the JSON array `parameter`. On PostgreSQL an array the
    /// planner sees as one (`= ANY`), so a key column is probed through its index: `IN (SELECT …)`
    /// let it hash-join against every row of another index when its statistics were stale.
    public func member(_ column: String, ofIntegers parameter: String) -> String {
        switch self {
        case .sqlite: "\(column) IN (SELECT value FROM json_each(\(parameter)))"
        case .postgres: "\(column) = ANY(ARRAY(SELECT jsonb_array_elements_text(\(parameter)::jsonb)::bigint))"
        }
    }

    /// Whether the store hands a statement many rows at once (`jsonRows`) rather than running a
    /// one-row statement per row with bound values. PostgreSQL: yes, each statement is a round
    /// trip the writer waits for. SQLite: no, a statement runs in this process; its JSON functions
    /// (3.40) parse an element again for every column they extract, and a statement that may
    /// change several rows (a join, `IN`, an INSERT from a SELECT, or RETURNING) keeps a statement
    /// journal, a copy of each page it touches. Together they cost its writer three times the CPU
    /// of one-row statements.
    public var writesRowsAsJSON: Bool { self == .postgres }

    /// The type a column of `jsonRows(in:columns:)` is read as.
    public enum JSONColumnType: Sendable {
        case integer, real, text
    }

    /// The objects of a JSON array given as the parameter `parameter`, as a subquery with one
    /// typed column per key (a missing key or a null is NULL): many rows' values in one statement.
    public func jsonRows(in parameter: String, columns: KeyValuePairs<String, JSONColumnType>) -> String {
        switch self {
        case .sqlite:
            let picked = columns.map { "json_extract(value, '$.\($0.key)') AS \($0.key)" }
            return "(SELECT \(picked.joined(separator: ", ")) FROM json_each(\(parameter)))"
        case .postgres:
            let picked = columns.map { column -> String in
                let type =
                    switch column.value {
                    case .integer: "bigint"
                    case .real: "float8"
                    case .text: "text"
                    }
                return "(json_row->>'\(column.key)')::\(type) AS \(column.key)"
            }
            return
                "(SELECT \(picked.joined(separator: ", ")) FROM jsonb_array_elements(\(parameter)::jsonb) AS json_row)"
        }
    }

    /// The strings of a JSON array given as the parameter `parameter`, as a subquery.
    public func texts(in parameter: String) -> String {
        switch self {
        case .sqlite: "(SELECT value FROM json_each(\(parameter)))"
        case .postgres: "(SELECT jsonb_array_elements_text(\(parameter)::jsonb))"
        }
    }

    /// The text value of `key` in a JSON object stored as text in `column`; NULL when the text is
    /// not valid JSON or the value is not a string (malformed params must not break a query).
    public func jsonText(_ column: String, key: String) -> String {
        switch self {
        case .sqlite:
            "CASE WHEN json_valid(\(column)) AND json_type(\(column), '$.\(key)') = 'text' THEN json_extract(\(column), '$.\(key)') END"
        case .postgres: "rw_json_text(\(column), '\(key)')"
        }
    }

    /// Whether the integer `value` is in the JSON array at `key` of the JSON object in `column`.
    public func jsonArray(_ column: String, key: String, contains value: String) -> String {
        switch self {
        case .sqlite: "EXISTS (SELECT 1 FROM json_each(\(column), '$.\(key)') WHERE value = \(value))"
        case .postgres: "rw_json_array_has(\(column), '\(key)', \(value))"
        }
    }

    /// `INDEXED BY name` where the planner needs telling (SQLite), nothing where it does not.
    public func indexedBy(_ name: String) -> String {
        switch self {
        case .sqlite: "INDEXED BY \(name)"
        case .postgres: ""
        }
    }

    /// A statement that makes writers holding the same `key` take turns until their transactions
    /// end, nil where every write transaction already does (SQLite's `BEGIN IMMEDIATE`).
    public func turnstile(_ key: String) -> String? {
        switch self {
        case .sqlite: nil
        case .postgres: "SELECT pg_advisory_xact_lock(hashtext('reactor-worker:\(key)'))"
        }
    }

    /// Whether a table exists, as a query that returns a row when it does.
    public func tableExists(_ name: String) -> String {
        switch self {
        case .sqlite: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '\(name)'"
        case .postgres: "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = '\(name)'"
        }
    }

    /// The column names of a table, in order, as rows with a `name`.
    public func columnNames(_ table: String) -> String {
        switch self {
        case .sqlite: "SELECT name FROM pragma_table_info('\(table)')"
        case .postgres:
            "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '\(table)' ORDER BY ordinal_position"
        }
    }

    /// Opens a write transaction that other writers wait for.
    public var beginWrite: String {
        switch self {
        case .sqlite: "BEGIN IMMEDIATE"
        case .postgres: "BEGIN"
        }
    }
}
