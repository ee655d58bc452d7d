import JSON
import Reactor

/// Reads jobs for `list` and `show`, newest first. Its own read-only connection.
public struct JobListing {
    /// What `list` shows: statuses and types to keep (empty = all) and how many rows.
    public struct Filter: Sendable {
        public var statuses: [JobStatus]
        public var types: [String]
        public var limit: Int
        public init(statuses: [JobStatus] = [], types: [String] = [], limit: Int = 50) {
            self.statuses = statuses
            self.types = types
            self.limit = limit
        }
    }

    private let connection: any SQLConnection
    private let columnNames: [String]

    /// Opens `path` read-only; throws `OperationsError` when it is missing or has no jobs table.
    public init(store: JobStoreLocation) throws {
        connection = try OperationsDatabase.open(store, readOnly: true)
        columnNames = try connection.query(connection.dialect.columnNames("jobs"), []).compactMap { $0["name"]?.string }
    }

    /// Jobs matching `filter`, newest (highest id) first.
    public func list(_ filter: Filter) throws -> [JobRecord] {
        let (whereClause, values) = Self.conditions(filter, connection.dialect)
        let rows = try connection.query(
            "SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs \(whereClause) ORDER BY id DESC LIMIT ?",
            values + [.integer(Int64(max(filter.limit, 0)))])
        return rows.map { JobRecord(row: $0, columns: columnNames) }
    }

    /// How many rows match `filter`, ignoring its limit (to say "showing 50 of 1234").
    public func count(_ filter: Filter) throws -> Int {
        let (whereClause, values) = Self.conditions(filter, connection.dialect)
        return Int(try connection.query("SELECT count(*) AS n FROM jobs \(whereClause)", values).first?["n"]?.int ?? 0)
    }

    /// One job by id, or nil when there is no such row.
    public func job(id: Int64) throws -> JobRecord? {
        let rows = try connection.query(
            "SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs WHERE id = ?", [.integer(id)])
        return rows.first.map { JobRecord(row: $0, columns: columnNames) }
    }

    /// The WHERE clause for a filter; lists are bound as JSON arrays, never spliced into SQL.
    private static func conditions(_ filter: Filter, _ dialect: SQLDialect) -> (String, [SQLiteValue]) {
        var clauses: [String] = []
        var values: [SQLiteValue] = []
        if !filter.statuses.isEmpty {
            clauses.append("status IN \(dialect.texts(in: "?"))")
            values.append(.text(JSONValue.array(filter.statuses.map { .string($0.rawValue) }).jsonString()))
        }
        if !filter.types.isEmpty {
            clauses.append("job_type IN \(dialect.texts(in: "?"))")
            values.append(.text(JSONValue.array(filter.types.map { .string($0) }).jsonString()))
        }
        return (clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND "), values)
    }
}
