import Foundation
import JSON
import Reactor

/// One row of the `workers` table as the operations views read it, with "gone" worked out at
/// read time: a worker killed with `kill -9` cannot mark itself, and when it was the only one,
/// nobody else does either.
public struct WorkerRow: Sendable {
    public var id: String
    public var host: String
    public var pid: Int
    public var version: String
    public var startedAt: String
    public var heartbeatAt: String
    /// Seconds since the last heartbeat.
    public var heartbeatAgeSeconds: Double
    public var leaseSeconds: Double
    public var maxConcurrentJobs: Int
    public var activeJobs: Int
    public var providerCaps: [String: Int]
    public var providerActivity: [String: ProviderActivity]
    /// The status word as stored (`running`, `stopping`, `gone`).
    public var storedStatus: String
    public var webURL: String?
    /// True when the row says gone, or its heartbeat is older than its lease.
    public var isGone: Bool

    /// `running`, `stopping` or `gone`, with a stale heartbeat counted as gone.
    public var status: String { isGone ? WorkerTable.Status.gone.rawValue : storedStatus }

    /// Every worker row, live ones first, then by start. Empty for a database from a worker
    /// too old to have the table.
    public static func readAll(_ connection: any SQLConnection, now: Double = Date().timeIntervalSince1970) throws
        -> [WorkerRow]
    {
        let tables = try connection.query(connection.dialect.tableExists("workers"))
        guard !tables.isEmpty else { return [] }
        let rows = try connection.query(
            """
            SELECT *, ?1 - heartbeat_unix AS age, \(WorkerTable.goneCondition(now: "?1")) AS gone,
                (SELECT count(*) FROM jobs WHERE status IN \(StoreSQL.held) AND lease_owner = workers.id) AS held_now
            FROM workers ORDER BY gone, started_at, id
            """, [.real(now)])
        return rows.map(WorkerRow.init(row:))
    }

    init(row: [String: SQLiteValue]) {
        id = row["id"]?.string ?? ""
        host = row["host"]?.string ?? ""
        pid = Int(row["pid"]?.int ?? 0)
        version = row["version"]?.string ?? ""
        startedAt = row["started_at"]?.string ?? ""
        heartbeatAt = row["heartbeat_at"]?.string ?? ""
        heartbeatAgeSeconds = max(row["age"]?.double ?? 0, 0)
        leaseSeconds = row["lease_seconds"]?.double ?? 0
        maxConcurrentJobs = Int(row["max_concurrent_jobs"]?.int ?? 0)
        // From the rows it holds now: the heartbeat's own count is up to a third of a lease old.
        activeJobs = Int(row["held_now"]?.int ?? row["active_jobs"]?.int ?? 0)
        let caps = (try? JSONValue.parse(row["provider_caps"]?.string ?? "{}"))?.objectValue ?? [:]
        providerCaps = caps.compactMapValues(\.intValue)
        let stats = (try? JSONValue.parse(row["provider_stats"]?.string ?? "{}"))?.objectValue ?? [:]
        providerActivity = stats.mapValues(ProviderActivity.init(json:))
        storedStatus = row["status"]?.string ?? WorkerTable.Status.running.rawValue
        webURL = row["web_url"]?.string
        isGone = (row["gone"]?.int ?? 0) != 0
    }

    /// The row as JSON for `workers --json`, `stats --json` and the dashboard's API.
    public var json: JSONValue {
        [
            "id": .string(id), "host": .string(host), "pid": .number(Double(pid)), "version": .string(version),
            "started_at": .string(startedAt), "heartbeat_at": .string(heartbeatAt),
            "heartbeat_age_seconds": .number((heartbeatAgeSeconds * 1000).rounded() / 1000),
            "lease_seconds": .number(leaseSeconds), "max_concurrent_jobs": .number(Double(maxConcurrentJobs)),
            "active_jobs": .number(Double(activeJobs)), "status": .string(status),
            "provider_caps": .object(providerCaps.mapValues { .number(Double($0)) }),
            "providers": .object(providerActivity.mapValues(\.json)),
            "web_url": webURL.map(JSONValue.string) ?? .null,
        ]
    }
}
