import Reactor

/// What changed in `jobs` since the last look: the rows a live view must redraw. One feed
/// serves every open dashboard (the web's event hub asks it once per tick, whatever the
/// number of viewers), on a connection the caller owns and keeps on one thread.
///
/// Two reads per tick find every change: rows whose `updated_at` moved (every status change
/// sets it; the `jobs_updated_at` index makes this a range read), and the rows workers hold now
/// (their progress is written without touching `updated_at`, to keep the worker's writes small).
/// Commits are serialized by SQLite's write lock and stamp `updated_at` while holding it, so
/// stamps only grow; the one-second overlap covers clocks read a little apart, and a
/// per-row signature drops what was already sent.
public final class JobChangeFeed {
    /// One tick's changes. `resync` means more changed than one batch carries: a viewer
    /// should reload what it shows instead of patching it.
    public struct Batch: Sendable {
        public var jobs: [JobRecord] = []
        public var resync = false
    }

    /// More changed rows than this in one tick is a resync.
    public static let batchLimit = 500

    private let connection: any SQLConnection
    private let columnNames: [String]
    private var cursor: String?
    private var sent: [Int64: String] = [:]

    public init(connection: any SQLConnection) throws {
        self.connection = connection
        columnNames = try connection.query(connection.dialect.columnNames("jobs")).compactMap { $0["name"]?.string }
    }

    /// SQLite's counter of commits by other connections: unchanged means nothing to read.
    /// PostgreSQL has none, so there every call counts as a change (the two reads are indexed).
    public func dataVersion() throws -> Int64 {
        guard connection.dialect == .sqlite else {
            reads += 1
            return reads
        }
        return try connection.query("PRAGMA data_version").first?["data_version"]?.int ?? 0
    }
    private var reads: Int64 = 0

    /// The rows that changed since the last call. The first call only sets the starting point.
    public func next() throws -> Batch {
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let held = StoreSQL.held
        let heldRows = try connection.query(
            "SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs WHERE status IN \(held)")
        guard let cursor else {
            self.cursor = try connection.query("SELECT max(updated_at) AS top FROM jobs").first?["top"]?.string ?? ""
            remember(heldRows)
            return Batch()
        }
        let moved = try connection.query(
            """
            SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs
            WHERE updated_at >= \(connection.dialect.shifted("?1", seconds: -1)) ORDER BY updated_at LIMIT ?2
            """, [.text(cursor.isEmpty ? "1970-01-01T00:00:00.000Z" : cursor), .integer(Int64(Self.batchLimit + 1))])
        if moved.count > Self.batchLimit {
            self.cursor =
                try connection.query("SELECT max(updated_at) AS top FROM jobs").first?["top"]?.string ?? cursor
            remember(heldRows)
            return Batch(jobs: [], resync: true)
        }
        var batch = Batch()
        var seen: [Int64: String] = [:]
        for row in moved + heldRows {
            let record = JobRecord(row: row, columns: columnNames)
            let signature = Self.signature(row)
            guard seen[record.id] == nil else { continue }
            seen[record.id] = signature
            if sent[record.id] != signature { batch.jobs.append(record) }
        }
        sent = seen
        if let top = moved.last?["updated_at"]?.string, top > cursor { self.cursor = top }
        return batch
    }

    private func remember(_ rows: [[String: SQLiteValue]]) {
        sent = [:]
        for row in rows { sent[row["id"]?.int ?? 0] = Self.signature(row) }
    }

    /// What a live row shows; a change in any of these is worth sending.
    private static func signature(_ row: [String: SQLiteValue]) -> String {
        let fields = ["status", "progress", "attempts", "updated_at", "provider_task_id", "provider_state"]
        return fields.map { field in
            switch row[field] {
            case .text(let text)?: text
            case .integer(let number)?: String(number)
            case .real(let number)?: String(number)
            default: "-"
            }
        }.joined(separator: "|")
    }
}
