import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker stats`: counts, throughput, run times and provider errors.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Summarise the queue: counts by status and type, jobs per minute, run times, provider errors.",
        discussion: """
            Jobs per minute counts jobs that completed or failed in the last hour, divided by 60. Run \
            times are from started_at to finished_at of completed jobs (their last attempt). Provider \
            errors count failed jobs, and jobs whose error says the provider rate-limited them (HTTP 429).
            Spend is the money of submissions the providers accepted, by UTC day, from the price table \
            (see `reactor-worker prices`); budgets left count submits on their way too. Budgets come \
            from DAILY_BUDGET_USD and <PROVIDER>_DAILY_BUDGET_USD in the environment or .env.
            --json prints one object with the keys total, by_status, by_type, last_hour, durations, \
            workers (as `workers --json` prints them), open_pipelines, spend and provider_errors.
            Examples:
              reactor-worker stats
              reactor-worker stats --json | jq '.by_status.failed'
            """)

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print one JSON object, for scripts.")
    var json = false

    func run() throws {
        let budgets: DailyBudgets
        do {
            budgets = try Configuration().budgets()
        } catch {
            exitWithError("\(error)", code: 2)
        }
        let stats = runOperation { try QueueStatistics.read(store: database.store, budgets: budgets) }
        if json {
            printJSON(stats.json)
        } else {
            print(Self.render(stats, path: database.store.description))
        }
    }

    static func render(_ stats: QueueStatistics, path: String) -> String {
        var lines = ["Jobs in \(path): \(stats.total)"]
        let live = stats.workers.filter { !$0.isGone }
        if stats.workers.isEmpty {
            lines.append("Workers: none registered")
        } else {
            let described = live.map { "\($0.host):\($0.pid) \($0.activeJobs)/\($0.maxConcurrentJobs)" }
            let gone = stats.workers.count - live.count
            lines.append(
                "Workers: \(live.count) live"
                    + (described.isEmpty ? "" : " (" + described.joined(separator: ", ") + ")")
                    + (gone > 0 ? ", \(gone) gone" : ""))
        }
        let known = JobStatus.allCases.map(\.rawValue)
        let statuses = known + stats.byStatus.keys.filter { !known.contains($0) }.sorted()
        lines.append(
            "By status: " + statuses.map { "\($0) \(stats.byStatus[$0] ?? 0)" }.joined(separator: ", "))
        if !stats.byType.isEmpty {
            lines.append("")
            // Only statuses some type has, so the table stays narrow enough for a terminal.
            let present = statuses.filter { (stats.byStatus[$0] ?? 0) > 0 }
            var table = TextTable(
                [TextTable.Column(title: "TYPE")]
                    + (["TOTAL"] + present.map { $0.uppercased() }).map { .init(title: $0, alignRight: true) })
            for type in stats.byType.keys.sorted() {
                let counts = stats.byType[type] ?? [:]
                table.add([type, String(counts.values.reduce(0, +))] + present.map { String(counts[$0] ?? 0) })
            }
            lines.append(table.render())
        }
        if !stats.openPipelines.isEmpty {
            let shown = stats.openPipelines.keys.sorted().prefix(10).map { id in
                "P\(id) \(stats.openPipelines[id]!.completed)/\(stats.openPipelines[id]!.jobs)"
            }
            lines.append("")
            lines.append(
                "Pipelines in progress: \(stats.openPipelines.count) (" + shown.joined(separator: ", ")
                    + (stats.openPipelines.count > 10 ? ", …" : "") + " completed)")
        }
        lines.append("")
        lines += SpendLines.render(stats.spend)
        let hour = stats.finishedLastHour
        lines.append("")
        lines.append(
            "Last hour: \(stats.createdLastHour) queued, \(hour[JobStatus.completed.rawValue] ?? 0) completed, "
                + "\(hour[JobStatus.failed.rawValue] ?? 0) failed, \(hour[JobStatus.cancelled.rawValue] ?? 0) cancelled; "
                + String(format: "%.2f jobs per minute", stats.jobsPerMinute))
        if !stats.durations.isEmpty {
            lines.append("")
            lines.append("Run time of completed jobs:")
            var table = TextTable(
                [.init(title: "TYPE")]
                    + ["COUNT", "AVERAGE", "P95", "MAX"].map { .init(title: $0, alignRight: true) })
            for type in stats.durations.keys.sorted() {
                let durations = stats.durations[type]!
                table.add([
                    type, String(durations.count), DurationText.format(durations.averageSeconds),
                    DurationText.format(durations.p95Seconds), DurationText.format(durations.maxSeconds),
                ])
            }
            lines.append(table.render())
        }
        lines.append("")
        if stats.providerErrors.isEmpty {
            lines.append("Provider errors: none")
        } else {
            lines.append("Provider errors:")
            var table = TextTable([
                .init(title: "PROVIDER"), .init(title: "FAILED", alignRight: true),
                .init(title: "RATE LIMITED (429)", alignRight: true),
            ])
            for provider in stats.providerErrors.keys.sorted() {
                let errors = stats.providerErrors[provider]!
                table.add([provider.isEmpty ? "-" : provider, String(errors.failed), String(errors.rateLimited)])
            }
            lines.append(table.render())
        }
        return lines.joined(separator: "\n")
    }
}
