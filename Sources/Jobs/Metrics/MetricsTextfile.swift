import Foundation
import Reactor

/// Everything one metrics file says, gathered from the scheduler (on the loop) and from
/// `jobs.db` (on the metrics thread).
public struct MetricsSample: Sendable {
    public var scheduler: SchedulerSnapshot
    public var counters: WorkerCounters
    /// Rows by (job type, status word), from one GROUP BY on the (status, job_type) index.
    public var jobCounts: [(type: String, status: String, count: Int)] = []
    /// Queued rows runnable now, and queued rows waiting for a retry time.
    public var queuedNow = 0
    public var queuedLater = 0
    /// Queued rows a daily budget holds back.
    public var queuedHeld = 0
    /// Money per provider and the budgets left (nil until read from `jobs.db`).
    public var spend: SpendReport?
    /// Unix seconds when this worker started and when the sample was taken.
    public var startedAt: Double
    public var takenAt: Double

    public init(scheduler: SchedulerSnapshot, counters: WorkerCounters, startedAt: Double, takenAt: Double) {
        self.scheduler = scheduler
        self.counters = counters
        self.startedAt = startedAt
        self.takenAt = takenAt
    }
}

/// Renders a `MetricsSample` as the worker's Prometheus textfile, `reactor_worker.prom`.
public enum MetricsTextfile {
    public static let fileName = "reactor_worker.prom"

    public static func render(_ sample: MetricsSample) -> String {
        var out = PrometheusText()
        out.family("reactor_worker_jobs", .gauge, help: "Jobs in jobs.db by status and job type.")
        // Every known status and type appears, with 0 when there are none, so that alerts and
        // graphs see a series go to zero instead of disappearing.
        var counts: [String: [String: Int]] = [:]
        for type in JobType.allCases { counts[type.rawValue] = [:] }
        for row in sample.jobCounts { counts[row.type, default: [:]][row.status, default: 0] += row.count }
        for type in counts.keys.sorted() {
            let statuses = Set(JobStatus.allCases.map(\.rawValue)).union(counts[type]!.keys)
            for status in statuses.sorted() {
                out.sample(
                    "reactor_worker_jobs", [("status", status), ("type", type)], Double(counts[type]![status] ?? 0))
            }
        }
        out.family("reactor_worker_queue_depth", .gauge, help: "Queued jobs that may run now.")
        out.sample("reactor_worker_queue_depth", [], Double(sample.queuedNow))
        out.family("reactor_worker_queue_waiting_retry", .gauge, help: "Queued jobs waiting for their retry time.")
        out.sample("reactor_worker_queue_waiting_retry", [], Double(sample.queuedLater))

        out.family("reactor_worker_queue_held_by_budget", .gauge, help: "Queued jobs a daily budget holds back.")
        out.sample("reactor_worker_queue_held_by_budget", [], Double(sample.queuedHeld))
        if let spend = sample.spend { renderSpend(spend, into: &out) }

        out.family("reactor_worker_capacity", .gauge, help: "Slots in this worker's gate (MAX_CONCURRENT_JOBS).")
        out.sample("reactor_worker_capacity", [], Double(sample.scheduler.capacity))
        out.family("reactor_worker_active_jobs", .gauge, help: "Slots in use: jobs this worker is running now.")
        out.sample("reactor_worker_active_jobs", [], Double(sample.scheduler.active.count))
        out.family(
            "reactor_worker_active_jobs_by_provider", .gauge, help: "Jobs this worker is running now, by provider.")
        let byProvider = Dictionary(grouping: sample.scheduler.active, by: \.provider)
        for provider in byProvider.keys.sorted() {
            out.sample(
                "reactor_worker_active_jobs_by_provider", [("provider", provider)],
                Double(byProvider[provider]!.count))
        }

        out.family(
            "reactor_worker_output_bytes_waiting", .gauge,
            help: "Bytes of output files in memory waiting for the disk (images as received, downloaded chunks).")
        out.sample("reactor_worker_output_bytes_waiting", [], Double(sample.scheduler.outputBytesWaiting))
        out.family(
            "reactor_worker_downloads_waiting_for_disk", .gauge, help: "Downloads paused until the disk catches up.")
        out.sample("reactor_worker_downloads_waiting_for_disk", [], Double(sample.scheduler.downloadsWaitingForDisk))
        out.family(
            "reactor_worker_answer_pauses_total", .counter,
            help: "Times this worker stopped reading provider answers because output files waited for the disk.")
        out.sample("reactor_worker_answer_pauses_total", [], Double(sample.scheduler.answerPauses))
        out.family(
            "reactor_worker_loop_longest_iteration_seconds", .gauge,
            help: "Longest one event-loop iteration has been busy since start: the most a timer or socket waited.")
        out.sample(
            "reactor_worker_loop_longest_iteration_seconds", [], sample.scheduler.loopLongestIteration)

        let counters = sample.counters
        let series = counters.runs.keys.sorted { ($0.type, $0.provider) < ($1.type, $1.provider) }
        out.family(
            "reactor_worker_job_runs_total", .counter,
            help: "Runs of jobs this worker ended since it started, by type, provider and outcome.")
        for key in series {
            for outcome in JobRunEnded.Outcome.allCases {
                guard let count = counters.runs[key]?[outcome] else { continue }
                out.sample(
                    "reactor_worker_job_runs_total",
                    [("type", key.type), ("provider", key.provider), ("outcome", outcome.rawValue)], Double(count))
            }
        }
        out.family(
            "reactor_worker_job_duration_seconds", .histogram,
            help: "Seconds from claim to completion of jobs this worker completed, by type and provider.")
        for key in series {
            guard let histogram = counters.durations[key] else { continue }
            out.histogram(
                "reactor_worker_job_duration_seconds", [("type", key.type), ("provider", key.provider)], histogram)
        }
        out.family(
            "reactor_worker_provider_errors_total", .counter,
            help: "Failed attempts (retried or final) of jobs this worker ran, by provider.")
        for provider in counters.providerErrors.keys.sorted() {
            out.sample(
                "reactor_worker_provider_errors_total", [("provider", provider)],
                Double(counters.providerErrors[provider]!))
        }
        out.family(
            "reactor_worker_provider_rate_limited_total", .counter,
            help: "Failed attempts whose provider answered HTTP 429 (rate limited), by provider.")
        for provider in counters.rateLimited.keys.sorted() {
            out.sample(
                "reactor_worker_provider_rate_limited_total", [("provider", provider)],
                Double(counters.rateLimited[provider]!))
        }
        out.family("reactor_worker_start_time_seconds", .gauge, help: "Unix time when this worker started.")
        out.sample("reactor_worker_start_time_seconds", [], sample.startedAt.rounded())
        out.family(
            "reactor_worker_metrics_updated_seconds", .gauge,
            help: "Unix time this file was written; alert when it stops moving.")
        out.sample("reactor_worker_metrics_updated_seconds", [], (sample.takenAt * 1000).rounded() / 1000)
        return out.text
    }

    /// Spend from the `spend` table, so it counts every worker on the database and survives restarts.
    private static func renderSpend(_ spend: SpendReport, into out: inout PrometheusText) {
        let providers = spend.providers.keys.sorted()
        out.family(
            "reactor_worker_spend_usd_total", .counter,
            help: "US dollars of paid provider submissions in jobs.db, estimated from the price table, by provider.")
        for name in providers {
            out.sample("reactor_worker_spend_usd_total", [("provider", name)], spend.providers[name]!.totalUSD)
        }
        out.family("reactor_worker_spend_today_usd", .gauge, help: "US dollars spent today (UTC), by provider.")
        for name in providers {
            out.sample("reactor_worker_spend_today_usd", [("provider", name)], spend.providers[name]!.todayUSD)
        }
        out.family(
            "reactor_worker_unpriced_submissions_total", .counter,
            help: "Paid submissions the price table has no price for, by provider.")
        for name in providers {
            out.sample(
                "reactor_worker_unpriced_submissions_total", [("provider", name)],
                Double(spend.providers[name]!.unpriced))
        }
        out.family(
            "reactor_worker_budget_left_usd", .gauge,
            help: "US dollars left today of each daily budget (provider=\"all\": DAILY_BUDGET_USD).")
        for name in providers {
            guard let left = spend.providers[name]!.budgetLeftUSD else { continue }
            out.sample("reactor_worker_budget_left_usd", [("provider", name)], left)
        }
        if let left = spend.overallBudgetLeftUSD {
            out.sample("reactor_worker_budget_left_usd", [("provider", "all")], left)
        }
    }

    /// Writes `text` to `directory/name` atomically: a hidden temporary file in the same
    /// folder, then rename(2), so a scraper never reads half a file (the textfile collector
    /// only reads `*.prom`, and the temporary name does not end so).
    public static func write(_ text: String, directory: String, name: String = fileName) throws {
        let final = directory + "/" + name
        let temporary = directory + "/.\(name).\(getpid()).tmp"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        } catch {
            unlink(temporary)
            throw JobFailure("cannot write \(temporary): \(error.localizedDescription); check METRICS_DIR")
        }
        guard rename(temporary, final) == 0 else {
            let reason = SystemErrorText.of()
            unlink(temporary)
            throw JobFailure("cannot move metrics into place at \(final): \(reason); check METRICS_DIR")
        }
    }
}
