import JSON
import Reactor

/// The dashboard's view of `jobs`: filters by status, type and provider, a text search in
/// params and errors, newest first, one page at a time with an id cursor.
///
/// Every filter has an index behind it (`JobSchema`: status and id, provider and id), so a
/// page costs about a millisecond at 100,000 rows; the text search is a scan (LIKE cannot use
/// an index), about 35 ms at 100,000 rows when nothing matches (bench/RESULTS.md). Works on a
/// connection the caller owns and keeps on one thread.
public struct JobSearch {
    /// What to show. Empty lists mean "any".
    public struct Filter: Sendable, Equatable {
        public var statuses: [JobStatus]
        public var types: [String]
        public var providers: [String]
        /// Words to find in params (prompts, inputs) or the error; case-insensitive for ASCII.
        public var text: String?
        /// Only jobs with a smaller id: the cursor of the page before.
        public var before: Int64?
        public var limit: Int

        public init(
            statuses: [JobStatus] = [], types: [String] = [], providers: [String] = [], text: String? = nil,
            before: Int64? = nil, limit: Int = 50
        ) {
            self.statuses = statuses
            self.types = types
            self.providers = providers
            self.text = text
            self.before = before
            self.limit = limit
        }
    }

    /// One page, newest first, and the cursor of the next (nil on the last page).
    public struct Page: Sendable {
        public var jobs: [JobRecord]
        public var nextCursor: Int64?
    }

    private let connection: any SQLConnection
    private let columnNames: [String]

    public init(connection: any SQLConnection) throws {
        self.connection = connection
        columnNames = try connection.query(connection.dialect.columnNames("jobs")).compactMap { $0["name"]?.string }
    }

    /// The page of jobs matching `filter`.
    public func page(_ filter: Filter) throws -> Page {
        let limit = min(max(filter.limit, 1), 500)
        let (whereClause, values) = Self.conditions(filter, cursor: true, connection.dialect)
        let rows = try connection.query(
            "SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs \(whereClause) ORDER BY id DESC LIMIT ?",
            values + [.integer(Int64(limit + 1))])
        let jobs = rows.prefix(limit).map { JobRecord(row: $0, columns: columnNames) }
        return Page(jobs: jobs, nextCursor: rows.count > limit ? jobs.last?.id : nil)
    }

    /// How many jobs match `filter` (its cursor and limit ignored), optionally only those in
    /// `among` statuses: what a bulk retry or cancel of the filter would touch.
    public func count(_ filter: Filter, among statuses: [JobStatus]? = nil) throws -> Int {
        var narrowed = filter
        if let statuses { narrowed.statuses = Self.intersect(filter.statuses, statuses) }
        if statuses != nil && narrowed.statuses.isEmpty { return 0 }
        let (whereClause, values) = Self.conditions(narrowed, cursor: false, connection.dialect)
        return Int(try connection.query("SELECT count(*) AS n FROM jobs \(whereClause)", values).first?["n"]?.int ?? 0)
    }

    /// The ids of the jobs matching `filter` whose status is one of `among`, newest first, at
    /// most `limit` of them.
    public func ids(_ filter: Filter, among statuses: [JobStatus], limit: Int) throws -> [Int64] {
        var narrowed = filter
        narrowed.statuses = Self.intersect(filter.statuses, statuses)
        guard !narrowed.statuses.isEmpty else { return [] }
        let (whereClause, values) = Self.conditions(narrowed, cursor: false, connection.dialect)
        return try connection.query(
            "SELECT id FROM jobs \(whereClause) ORDER BY id DESC LIMIT ?", values + [.integer(Int64(limit))]
        ).compactMap { $0["id"]?.int }
    }

    /// One job by id, or nil.
    public func job(id: Int64) throws -> JobRecord? {
        try connection.query(
            "SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs WHERE id = ?", [.integer(id)]
        ).first.map {
            JobRecord(row: $0, columns: columnNames)
        }
    }

    /// Completed jobs of `types` that have output files, newest first: what the forms offer as inputs.
    public func completedOutputs(types: [JobType], limit: Int) throws -> [JobRecord] {
        let filter = Filter(statuses: [.completed], types: types.map(\.rawValue), limit: limit)
        return try page(filter).jobs
    }

    private static func intersect(_ chosen: [JobStatus], _ allowed: [JobStatus]) -> [JobStatus] {
        chosen.isEmpty ? allowed : chosen.filter(allowed.contains)
    }

    /// The WHERE clause; user values are always bound (lists as JSON arrays), never spliced.
    /// The provider test is `StoreSQL.gateKey` word for word, so that SQLite uses
    /// the index built on that expression.
    private static func conditions(_ filter: Filter, cursor: Bool, _ dialect: SQLDialect) -> (String, [SQLiteValue]) {
        var clauses: [String] = []
        var values: [SQLiteValue] = []
        func list(_ column: String, _ words: [String]) {
            guard !words.isEmpty else { return }
            if words.count == 1 {
                clauses.append("\(column) = ?")
                values.append(.text(words[0]))
            } else {
                clauses.append("\(column) IN \(dialect.texts(in: "?"))")
                values.append(.text(JSONValue.array(words.map { .string($0) }).jsonString()))
            }
        }
        list("status", filter.statuses.map(\.rawValue))
        list("job_type", filter.types)
        list("(\(StoreSQL.gateKey(dialect)))", filter.providers)
        if let text = filter.text, !text.isEmpty {
            // ILIKE on PostgreSQL: SQLite's LIKE ignores ASCII case, and the search should too.
            let like = dialect == .postgres ? "ILIKE" : "LIKE"
            clauses.append(#"(params \#(like) ? ESCAPE '\' OR error \#(like) ? ESCAPE '\')"#)
            let pattern = "%" + likeEscaped(text) + "%"
            values += [.text(pattern), .text(pattern)]
        }
        if cursor, let before = filter.before {
            clauses.append("id < ?")
            values.append(.integer(before))
        }
        return (clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND "), values)
    }

    /// `text` with LIKE's wildcards taken literally.
    static func likeEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
