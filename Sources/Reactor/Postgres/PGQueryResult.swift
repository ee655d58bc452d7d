/// What one statement returned.
///
/// Cells are `SQLiteValue`s so code that reads rows serves both stores. By column type:
/// int2/int4/int8/oid → `.integer`; float4/float8/numeric → `.real` (numeric loses digits
/// beyond a Double's); bool → `.integer(1 or 0)`; bytea → `.blob`; NULL → `.null`; every
/// other type (text, varchar, json, jsonb, timestamptz, uuid, …) → `.text` in PostgreSQL's
/// output format.
public struct PGQueryResult: Sendable, Equatable {
    /// Column names in the order of the select list.
    public var columns: [String]
    /// Every row, keyed by column name, like `SQLiteConnection.query`. A name that appears
    /// twice in the select list keeps the last column's value: alias one of them.
    public var rows: [[String: SQLiteValue]]
    /// Rows inserted, updated, deleted or selected (`PQcmdTuples`); 0 for other commands.
    public var affectedRows: Int

    public init(columns: [String] = [], rows: [[String: SQLiteValue]] = [], affectedRows: Int = 0) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }
}
