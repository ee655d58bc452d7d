import Foundation
import Reactor
import Synchronization

/// Writes the worker's Prometheus textfile every `interval` seconds while it runs.
///
/// On the loop: a timer takes the scheduler's snapshot and a copy of the counters (cheap,
/// in memory). Off the loop, on one serial queue: the `jobs.db` counts (a GROUP BY that
/// grows with the table) and the file write, so neither a big table nor a slow disk ever
/// delays a job. A tick that finds the previous write still running is skipped.
public final class MetricsReporter {
    private let loop: EventLoop
    private let scheduler: Scheduler
    private let interval: Double
    private let output: MetricsOutput
    private let startedAt = Date().timeIntervalSince1970
    private var counters = WorkerCounters()
    private var timer: TimerWatcher?

    /// `directory` is METRICS_DIR (created if missing); counts come from `store`.
    public init(
        loop: EventLoop, scheduler: Scheduler, store: JobStoreLocation, directory: String, interval: Double,
        log: WorkerLog, budgets: DailyBudgets = DailyBudgets()
    ) {
        self.loop = loop
        self.scheduler = scheduler
        self.interval = interval
        output = MetricsOutput(store: store, directory: directory, log: log, budgets: budgets)
    }

    /// Starts counting finished runs and writing the file (the first one at once). Loop thread.
    public func start() {
        loop.assertInLoop()
        let previous = scheduler.onRunEnded
        scheduler.onRunEnded = { [unowned self] ended in
            previous(ended)
            self.counters.record(ended)
        }
        let timer = TimerWatcher(loop: loop) { [unowned self] in self.tick() }
        timer.set(after: 0, repeat: interval)
        timer.start()
        self.timer = timer
    }

    /// Stops the timer and writes one last file, on the calling (loop) thread, so the file
    /// left behind shows the final state. Loop thread.
    public func stop() {
        timer?.stop()
        timer = nil
        output.writeNow(sample())
    }

    private func tick() {
        guard output.begin() else { return }
        let sample = sample()
        let output = output
        output.queue.async { output.write(sample) }
    }

    private func sample() -> MetricsSample {
        MetricsSample(
            scheduler: scheduler.snapshot(), counters: counters, startedAt: startedAt,
            takenAt: Date().timeIntervalSince1970)
    }
}

/// The off-loop half of `MetricsReporter`: its own read-only connection and the file.
///
/// @unchecked Sendable: `connection` and `lastError` are used only on `queue` (a serial
/// queue), or by `writeNow` after the loop stopped ticking, when no write is queued
/// (`busy` tells); `busy` itself is a Mutex.
private final class MetricsOutput: @unchecked Sendable {
    let queue = DispatchQueue(label: "reactor-worker.metrics")
    private let store: JobStoreLocation
    private let directory: String
    private let log: WorkerLog
    private let budgets: DailyBudgets
    private let busy = Mutex(false)
    private var connection: (any SQLConnection)?
    private var lastError: String?

    init(store: JobStoreLocation, directory: String, log: WorkerLog, budgets: DailyBudgets) {
        self.budgets = budgets
        self.store = store
        self.directory = directory
        self.log = log
    }

    /// Claims the right to write; false while a write is still in progress.
    func begin() -> Bool {
        busy.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    func write(_ sample: MetricsSample) {
        defer { busy.withLock { $0 = false } }
        var sample = sample
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try readCounts(into: &sample)
            try MetricsTextfile.write(MetricsTextfile.render(sample), directory: directory)
            if lastError != nil { log.info("metrics are written to \(directory) again") }
            lastError = nil
        } catch {
            // Said once per distinct problem, not every few seconds.
            let message = "\(error)"
            if message != lastError { log.warning("cannot write metrics to \(directory): \(message)") }
            lastError = message
            connection = nil
        }
    }

    /// Waits for a queued write, then writes `sample` on the caller's thread.
    func writeNow(_ sample: MetricsSample) {
        queue.sync {}
        guard begin() else { return }
        write(sample)
    }

    private func readCounts(into sample: inout MetricsSample) throws {
        if connection == nil { connection = try store.connect(readOnly: true) }
        guard let connection else { return }
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        sample.jobCounts = try connection.query(
            "SELECT job_type, status, count(*) AS n FROM jobs GROUP BY status, job_type"
        ).map { ($0["job_type"]?.string ?? "", $0["status"]?.string ?? "", Int($0["n"]?.int ?? 0)) }
        let queue = try connection.query(
            """
            SELECT count(*) FILTER (WHERE run_after <= ?1) AS now,
                count(*) FILTER (WHERE run_after > ?1 AND hold IS NULL) AS later,
                count(*) FILTER (WHERE run_after > ?1 AND hold IS NOT NULL) AS held
            FROM jobs WHERE status = '\(JobStatus.queued.rawValue)'
            """, [.real(sample.takenAt)]
        ).first
        sample.queuedNow = Int(queue?["now"]?.int ?? 0)
        sample.queuedLater = Int(queue?["later"]?.int ?? 0)
        sample.queuedHeld = Int(queue?["held"]?.int ?? 0)
        sample.spend = try SpendReport.read(connection, budgets: budgets, now: sample.takenAt)
    }
}
