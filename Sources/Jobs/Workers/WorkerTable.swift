/// The `workers` table: one row per worker process on this database, so that `watch`,
/// `stats`, `workers` and the dashboard show who runs what, with each worker's own limits
/// (DESIGN.md "Growing the contracts").
///
/// A worker inserts its row at start, renews `heartbeat_at` with its leases, and deletes the row
/// when it stops cleanly. A worker that died (`kill -9`, a power cut) leaves its row behind:
/// readers count it as gone once its heartbeat is older than its lease, and any worker's
/// recovery pass marks it `gone`.
public enum WorkerTable {
    static let createSQL = """
        CREATE TABLE IF NOT EXISTS workers (
            id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            version TEXT NOT NULL,
            started_at TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL,
            heartbeat_unix REAL NOT NULL,
            lease_seconds REAL NOT NULL,
            max_concurrent_jobs INTEGER NOT NULL,
            active_jobs INTEGER NOT NULL DEFAULT 0,
            provider_caps TEXT NOT NULL DEFAULT '{}',
            provider_stats TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'running',
            web_url TEXT
        )
        """

    /// The words of `workers.status`.
    public enum Status: String, Sendable, CaseIterable {
        case running
        /// Shutting down: claims nothing new, finishing what it holds.
        case stopping
        /// Its heartbeat ran out; its jobs are recovered by the others.
        case gone
    }

    /// A row counts as gone when its status says so or its heartbeat is older than its lease.
    static func goneCondition(now: String) -> String {
        "(status = 'gone' OR heartbeat_unix < \(now) - lease_seconds)"
    }
}
