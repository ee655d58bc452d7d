import Foundation
import JSON
import Reactor

/// `stats`: what the queue holds and how it has been doing, read in four queries on a
/// read-only connection.
public struct QueueStatistics: Sendable {
    /// Run times of completed jobs of one type (the last attempt: `started_at` to `finished_at`).
    public struct Durations: Sendable, Equatable {
        public var count: Int
        public var averageSeconds: Double
        public var p95Seconds: Double
        public var maxSeconds: Double
    }

    /// Failed rows and rate-limit answers (HTTP 429 named in the error) of one provider.
    public struct ProviderErrors: Sendable, Equatable {
        public var failed: Int
        public var rateLimited: Int

        public init(failed: Int, rateLimited: Int) {
            self.failed = failed
            self.rateLimited = rateLimited
        }
    }

    public var total = 0
    /// Every status word (zero-filled for the known ones) → rows.
    public var byStatus: [String: Int] = [:]
    /// Job type → status word → rows (only non-zero counts).
    public var byType: [String: [String: Int]] = [:]
    /// Rows that finished in the last hour, by status word.
    public var finishedLastHour: [String: Int] = [:]
    /// Rows created in the last hour.
    public var createdLastHour = 0
    public var durations: [String: Durations] = [:]
    public var providerErrors: [String: ProviderErrors] = [:]
    /// The rows of `workers`, live ones first.
    public var workers: [WorkerRow] = []
    /// Pipelines with a job not finished yet: id → (jobs, completed).
    public var openPipelines: [Int64: (jobs: Int, completed: Int)] = [:]
    /// Money spent per provider, day, month and pipeline, and the budgets left.
    public var spend = SpendReport(day: "", month: "")

    /// Completed and failed jobs per minute, averaged over the last hour.
    public var jobsPerMinute: Double {
        Double(
            (finishedLastHour[JobStatus.completed.rawValue] ?? 0) + (finishedLastHour[JobStatus.failed.rawValue] ?? 0))
            / 60
    }

    public init() {}

    /// Reads the statistics of the database at `path`.
    public static func read(store: JobStoreLocation, budgets: DailyBudgets = DailyBudgets()) throws -> QueueStatistics {
        let connection = try OperationsDatabase.open(store, readOnly: true)
        var stats = QueueStatistics()
        for status in JobStatus.allCases { stats.byStatus[status.rawValue] = 0 }
        // One pass over the (status, job_type) index.
        for row in try connection.query("SELECT job_type, status, count(*) AS n FROM jobs GROUP BY job_type, status") {
            let type = row["job_type"]?.string ?? "", status = row["status"]?.string ?? ""
            let count = Int(row["n"]?.int ?? 0)
            stats.total += count
            stats.byStatus[status, default: 0] += count
            stats.byType[type, default: [:]][status, default: 0] += count
        }
        let hourAgo = connection.dialect.ago(seconds: 3600)
        // Timestamps are ISO-8601 UTC text in one format, so comparing them as text is exact.
        for row in try connection.query(
            "SELECT status, count(*) AS n FROM jobs WHERE finished_at >= \(hourAgo) GROUP BY status")
        {
            stats.finishedLastHour[row["status"]?.string ?? ""] = Int(row["n"]?.int ?? 0)
        }
        stats.createdLastHour = Int(
            try connection.query("SELECT count(*) AS n FROM jobs WHERE created_at >= \(hourAgo)").first?["n"]?.int ?? 0)
        stats.durations = try readDurations(connection)
        stats.providerErrors = try readProviderErrors(connection)
        stats.workers = try WorkerRow.readAll(connection)
        for row in try connection.query(
            """
            SELECT pipeline_id AS p, count(*) AS n, count(*) FILTER (WHERE status = \(StoreSQL.word(.completed))) AS done
            FROM jobs WHERE pipeline_id IS NOT NULL GROUP BY pipeline_id
            HAVING count(*) FILTER (WHERE status NOT IN \(StoreSQL.finished)) > 0
            """)
        {
            if let id = row["p"]?.int {
                stats.openPipelines[id] = (Int(row["n"]?.int ?? 0), Int(row["done"]?.int ?? 0))
            }
        }
        stats.spend = try SpendReport.read(connection, budgets: budgets, now: Date().timeIntervalSince1970)
        return stats
    }

    private static func readDurations(_ connection: any SQLConnection) throws -> [String: Durations] {
        let rows = try connection.query(
            """
            SELECT job_type, \(connection.dialect.secondsBetween("started_at", and: "finished_at")) AS seconds
            FROM jobs WHERE status = '\(JobStatus.completed.rawValue)'
                AND started_at IS NOT NULL AND finished_at IS NOT NULL AND finished_at >= started_at
            """)
        var byType: [String: [Double]] = [:]
        for row in rows {
            guard let seconds = row["seconds"]?.double else { continue }
            byType[row["job_type"]?.string ?? "", default: []].append(seconds)
        }
        return byType.mapValues { values in
            let sorted = values.sorted()
            return Durations(
                count: sorted.count, averageSeconds: sorted.reduce(0, +) / Double(sorted.count),
                p95Seconds: percentile(0.95, of: sorted), maxSeconds: sorted.last ?? 0)
        }
    }

    private static func readProviderErrors(_ connection: any SQLConnection) throws -> [String: ProviderErrors] {
        let rows = try connection.query(
            """
            SELECT provider, count(*) FILTER (WHERE status = '\(JobStatus.failed.rawValue)') AS failed,
                count(*) FILTER (WHERE error LIKE '%HTTP 429%' OR error LIKE '%rate limit%') AS limited
            FROM (SELECT (\(StoreSQL.gateKey(connection.dialect))) AS provider, status, error FROM jobs
                WHERE error IS NOT NULL) AS errors
            GROUP BY provider
            """)
        var result: [String: ProviderErrors] = [:]
        for row in rows {
            let errors = ProviderErrors(
                failed: Int(row["failed"]?.int ?? 0), rateLimited: Int(row["limited"]?.int ?? 0))
            if errors.failed > 0 || errors.rateLimited > 0 { result[row["provider"]?.string ?? ""] = errors }
        }
        return result
    }

    /// Nearest-rank percentile of sorted values: the smallest value at or above `fraction` of them.
    public static func percentile(_ fraction: Double, of sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The statistics as one JSON object (`stats --json`); keys are stable for scripts.
    public var json: JSONValue {
        func counts(_ map: [String: Int]) -> JSONValue { .object(map.mapValues { .number(Double($0)) }) }
        var types: [String: JSONValue] = [:]
        for (type, statuses) in byType {
            var object = statuses.mapValues { JSONValue.number(Double($0)) }
            object["total"] = .number(Double(statuses.values.reduce(0, +)))
            types[type] = .object(object)
        }
        return [
            "total": .number(Double(total)),
            "by_status": counts(byStatus),
            "by_type": .object(types),
            "last_hour": [
                "created": .number(Double(createdLastHour)),
                "completed": .number(Double(finishedLastHour[JobStatus.completed.rawValue] ?? 0)),
                "failed": .number(Double(finishedLastHour[JobStatus.failed.rawValue] ?? 0)),
                "cancelled": .number(Double(finishedLastHour[JobStatus.cancelled.rawValue] ?? 0)),
                "jobs_per_minute": .number((jobsPerMinute * 1000).rounded() / 1000),
            ],
            "durations": .object(
                durations.mapValues {
                    [
                        "count": .number(Double($0.count)), "average_seconds": .number(Self.rounded($0.averageSeconds)),
                        "p95_seconds": .number(Self.rounded($0.p95Seconds)),
                        "max_seconds": .number(Self.rounded($0.maxSeconds)),
                    ]
                }),
            "workers": .array(workers.map(\.json)),
            "open_pipelines": .object(
                Dictionary(
                    uniqueKeysWithValues: openPipelines.map {
                        (
                            String($0.key),
                            ["jobs": .number(Double($0.value.jobs)), "completed": .number(Double($0.value.completed))]
                        )
                    })),
            "spend": spend.json,
            "provider_errors": .object(
                providerErrors.mapValues {
                    ["failed": .number(Double($0.failed)), "rate_limited": .number(Double($0.rateLimited))]
                }),
        ]
    }

    private static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}
