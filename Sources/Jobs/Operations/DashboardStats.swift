import Foundation
import JSON
import Reactor

/// The dashboard's header and chart: queue depth, counts by status, the live workers with
/// their gates and per-provider activity, completed and failed jobs per minute over the last
/// hour, and p50/p95 run time per job type over the same hour.
///
/// Read in one read transaction so the numbers agree. Each part is an index range (status,
/// `finished_at`), so the cost follows the last hour's finishes, not the table's size.
public struct DashboardStats: Sendable {
    /// Finishes in one minute (`minute` is `YYYY-MM-DDTHH:MM`, UTC).
    public struct Minute: Sendable, Equatable {
        public var minute: String
        public var completed: Int
        public var failed: Int
    }

    /// Run times (start to finish of the last attempt) of one type's completed jobs.
    public struct Durations: Sendable, Equatable {
        public var count: Int
        public var p50Seconds: Double
        public var p95Seconds: Double
    }

    public var queuedNow = 0
    /// Queued jobs waiting for a retry time.
    public var queuedLater = 0
    /// Queued jobs a daily budget holds back.
    public var queuedHeld = 0
    /// Money per provider today, this month and per pipeline, and the budgets left.
    public var spend = SpendReport(day: "", month: "")
    /// Every status word → rows (zero-filled for the known ones).
    public var byStatus: [String: Int] = [:]
    /// The last 60 minutes, oldest first, the current minute last.
    public var perMinute: [Minute] = []
    public var durations: [String: Durations] = [:]
    public var workers: [WorkerRow] = []
    /// Jobs held now (running or cancelling) by provider and by worker (`lease_owner`), read
    /// from the rows: current, where a worker's heartbeat is up to a third of a lease old.
    public var heldByProvider: [String: Int] = [:]
    public var heldByWorker: [String: Int] = [:]

    public init() {}

    /// Reads the statistics now (`now`: unix seconds, for heartbeat ages and the minute axis).
    public static func read(
        _ connection: any SQLConnection, now: Double = Date().timeIntervalSince1970,
        budgets: DailyBudgets = DailyBudgets()
    ) throws -> DashboardStats {
        var stats = DashboardStats()
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        for status in JobStatus.allCases { stats.byStatus[status.rawValue] = 0 }
        for row in try connection.query("SELECT status, count(*) AS n FROM jobs GROUP BY status") {
            stats.byStatus[row["status"]?.string ?? "", default: 0] += Int(row["n"]?.int ?? 0)
        }
        let queue = try connection.query(
            """
            SELECT count(*) FILTER (WHERE run_after <= ?1) AS now,
                count(*) FILTER (WHERE run_after > ?1 AND hold IS NULL) AS later,
                count(*) FILTER (WHERE run_after > ?1 AND hold IS NOT NULL) AS held
            FROM jobs WHERE status = 'queued'
            """, [.real(now)]
        ).first
        stats.queuedNow = Int(queue?["now"]?.int ?? 0)
        stats.queuedLater = Int(queue?["later"]?.int ?? 0)
        stats.queuedHeld = Int(queue?["held"]?.int ?? 0)
        stats.spend = try SpendReport.read(connection, budgets: budgets, now: now)
        let hourAgo = minuteText(now - 59 * 60) + ":00.000Z"
        var minutes: [String: Minute] = [:]
        for row in try connection.query(
            """
            SELECT substr(finished_at, 1, 16) AS minute, count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status = 'failed') AS failed
            FROM jobs WHERE finished_at >= ?1 GROUP BY minute
            """, [.text(hourAgo)])
        {
            let minute = row["minute"]?.string ?? ""
            minutes[minute] = Minute(
                minute: minute, completed: Int(row["completed"]?.int ?? 0), failed: Int(row["failed"]?.int ?? 0))
        }
        stats.perMinute = (0..<60).reversed().map { back in
            let minute = minuteText(now - Double(back) * 60)
            return minutes[minute] ?? Minute(minute: minute, completed: 0, failed: 0)
        }
        var seconds: [String: [Double]] = [:]
        for row in try connection.query(
            """
            SELECT job_type, \(connection.dialect.secondsBetween("started_at", and: "finished_at")) AS seconds
            FROM jobs WHERE finished_at >= ?1 AND status = 'completed' AND started_at IS NOT NULL
            """, [.text(hourAgo)])
        {
            guard let value = row["seconds"]?.double, value >= 0 else { continue }
            seconds[row["job_type"]?.string ?? "", default: []].append(value)
        }
        stats.durations = seconds.mapValues { values in
            let sorted = values.sorted()
            return Durations(
                count: sorted.count, p50Seconds: QueueStatistics.percentile(0.5, of: sorted),
                p95Seconds: QueueStatistics.percentile(0.95, of: sorted))
        }
        stats.workers = try WorkerRow.readAll(connection, now: now)
        let held = StoreSQL.held
        for row in try connection.query(
            """
            SELECT (\(StoreSQL.gateKey(connection.dialect))) AS provider, coalesce(lease_owner, '') AS owner, count(*) AS n
            FROM jobs WHERE status IN \(held) GROUP BY provider, owner
            """)
        {
            let count = Int(row["n"]?.int ?? 0)
            stats.heldByProvider[row["provider"]?.string ?? "", default: 0] += count
            stats.heldByWorker[row["owner"]?.string ?? "", default: 0] += count
        }
        return stats
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// `YYYY-MM-DDTHH:MM` (UTC) of a unix time, as `finished_at` starts.
    static func minuteText(_ unix: Double) -> String {
        let components = utc.dateComponents(in: utc.timeZone, from: Date(timeIntervalSince1970: unix))
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(components.year ?? 1970)-\(two(components.month))-\(two(components.day))T"
            + "\(two(components.hour)):\(two(components.minute))"
    }

    /// The live workers' gates added up: jobs they hold and their summed MAX_CONCURRENT_JOBS.
    public var liveWorkers: [WorkerRow] { workers.filter { !$0.isGone } }

    /// Per provider: jobs in flight now (from the rows), the summed caps of the live workers
    /// (nil when one of them has none for it: MAX_CONCURRENT_JOBS is its only limit there), and
    /// the 429 answers and errors they counted since they started.
    public var providers: [String: (activity: ProviderActivity, cap: Int?)] {
        var result: [String: (activity: ProviderActivity, cap: Int?)] = [:]
        let live = liveWorkers
        let reported = live.flatMap { Array($0.providerActivity.keys) + Array($0.providerCaps.keys) }
        for name in Set(reported + heldByProvider.keys) where !name.isEmpty {
            var total = ProviderActivity(inFlight: heldByProvider[name] ?? 0)
            var cap: Int? = live.isEmpty ? nil : 0
            for worker in live {
                let activity = worker.providerActivity[name] ?? ProviderActivity()
                total.rateLimited += activity.rateLimited
                total.errors += activity.errors
                if let workerCap = worker.providerCaps[name], let sum = cap { cap = sum + workerCap } else { cap = nil }
            }
            result[name] = (total, cap)
        }
        return result
    }

    /// A worker's row as JSON, its active count taken from the rows it holds now.
    private func workerJSON(_ worker: WorkerRow) -> JSONValue {
        guard case .object(var object) = worker.json else { return worker.json }
        if !worker.isGone { object["active_jobs"] = .int(heldByWorker[worker.id] ?? 0) }
        return .object(object)
    }

    /// The statistics as JSON (`GET /api/stats` and the live `stats` event). Keys are stable.
    public var json: JSONValue {
        let live = liveWorkers
        return [
            "queue": [
                "queued": .int(queuedNow + queuedLater + queuedHeld), "queued_now": .int(queuedNow),
                "waiting_for_retry": .int(queuedLater), "held_by_budget": .int(queuedHeld),
                "running": .int(JobStatus.held.reduce(0) { $0 + (byStatus[$1.rawValue] ?? 0) }),
            ],
            "by_status": .object(byStatus.mapValues { .int($0) }),
            "spend": spend.json,
            "workers": [
                "live": .int(live.count), "active_jobs": .int(live.reduce(0) { $0 + (heldByWorker[$1.id] ?? 0) }),
                "capacity": .int(live.reduce(0) { $0 + $1.maxConcurrentJobs }),
                "list": .array(workers.map(workerJSON)),
            ],
            "providers": .object(
                providers.mapValues { entry in
                    [
                        "in_flight": .int(entry.activity.inFlight), "cap": entry.cap.map(JSONValue.int) ?? .null,
                        "rate_limited": .int(entry.activity.rateLimited), "errors": .int(entry.activity.errors),
                    ]
                }),
            "per_minute": .array(
                perMinute.map {
                    ["minute": .string($0.minute), "completed": .int($0.completed), "failed": .int($0.failed)]
                }),
            "durations": .object(
                durations.mapValues {
                    [
                        "count": .int($0.count), "p50_seconds": .number(Self.rounded($0.p50Seconds)),
                        "p95_seconds": .number(Self.rounded($0.p95Seconds)),
                    ]
                }),
        ]
    }

    private static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}
