import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker workers`: the worker processes registered in jobs.db, live and gone.
struct WorkersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "List the workers on this jobs.db: host, pid, their own MAX_CONCURRENT_JOBS, active jobs, heartbeat.",
        discussion: """
            Every running worker keeps a row in the workers table and renews its heartbeat with its \
            leases (every LEASE_SECONDS/3). A worker that stopped cleanly removes its row; one that was \
            killed shows as gone once its heartbeat is older than its lease, and the next worker's \
            recovery takes over its jobs.
            --json prints an array of objects with the keys id, host, pid, version, started_at, \
            heartbeat_at, heartbeat_age_seconds, lease_seconds, max_concurrent_jobs, active_jobs, \
            status (running, stopping or gone), provider_caps, providers and web_url.
            Examples:
              reactor-worker workers
              reactor-worker workers --json | jq '[.[] | select(.status != "gone")] | length'
            """)

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print a JSON array, for scripts.")
    var json = false

    func run() throws {
        let workers = runOperation {
            try WorkerRow.readAll(OperationsDatabase.open(database.store, readOnly: true))
        }
        if json {
            printJSON(.array(workers.map(\.json)))
        } else {
            print(Self.render(workers, path: database.store.description))
        }
    }

    static func render(_ workers: [WorkerRow], path: String) -> String {
        guard !workers.isEmpty else { return "No worker is registered in \(path)." }
        var table = TextTable([
            .init(title: "HOST"), .init(title: "PID", alignRight: true), .init(title: "STATUS"),
            .init(title: "ACTIVE", alignRight: true), .init(title: "HEARTBEAT", alignRight: true),
            .init(title: "STARTED"), .init(title: "VERSION"), .init(title: "CAPS"),
        ])
        for worker in workers {
            let caps = worker.providerCaps.keys.sorted().map { "\($0)=\(worker.providerCaps[$0] ?? 0)" }
            table.add([
                worker.host, String(worker.pid), worker.status, "\(worker.activeJobs)/\(worker.maxConcurrentJobs)",
                DurationText.format(worker.heartbeatAgeSeconds) + " ago", worker.startedAt, worker.version,
                caps.isEmpty ? "-" : caps.joined(separator: " "),
            ])
        }
        let live = workers.filter { !$0.isGone }
        let capacity = live.reduce(0) { $0 + $1.maxConcurrentJobs }
        let active = live.reduce(0) { $0 + $1.activeJobs }
        return table.render() + "\n\(plural(live.count, "live worker")): \(active)/\(capacity) active"
    }
}
