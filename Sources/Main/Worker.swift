import Foundation
import Jobs
import Reactor
import Web

/// The running daemon, wired: the loop on this thread, the store, the HTTP client and its
/// back-pressure, the gate, the provider engines, the scheduler, the change hints, the signals.
final class Worker {
    private let loop = EventLoop()
    private let settings: WorkerSettings
    private let log: WorkerLog
    private let scheduler: Scheduler
    private var signals: [SignalWatcher] = []
    private var stopRequests = 0
    /// Wakes the scheduler when another program writes jobs.db (or its WAL).
    private var changeWatcher: FileChangeWatcher?
    /// The PostgreSQL store, whose notifications wake the scheduler instead of inotify.
    private var postgres: PostgresJobStore?
    /// Writes METRICS_DIR/reactor_worker.prom while the worker runs (when METRICS_DIR is set).
    private var metrics: MetricsReporter?

    init(settings: WorkerSettings, log: WorkerLog, drain: Bool, web: WebSettings? = nil) throws {
        self.settings = settings
        self.log = log
        let identity = WorkerIdentity.current()
        let store: any JobStore
        switch settings.store {
        case .sqlite(let path):
            store = try SQLiteJobStore(
                path: path, loop: loop, log: log, owner: identity, leaseSeconds: settings.leaseSeconds,
                maxInterruptions: settings.maxInterruptions)
        case .postgres(let url):
            // Caps count across every worker on the database there (media's stays per worker: it
            // is this machine's pool).
            let networked = try PostgresJobStore(
                url: url, loop: loop, log: log, owner: identity, leaseSeconds: settings.leaseSeconds,
                maxInterruptions: settings.maxInterruptions, globalCaps: settings.providerCaps)
            postgres = networked
            store = networked
        }
        let wakeHook = LoopBound(WakeHook(), on: loop)
        let loop = loop
        let webURL = web.flatMap { Self.startDashboard($0, log: log, loop: loop, hook: wakeHook) }
        let http = HTTPClient(loop: loop, maxConnections: settings.maxConcurrentJobs)
        // Decoded outputs waiting for the disk past the budget pause reading provider answers.
        let outputBudget = OutputBackPressure(loop: loop) { [http, log] paused in
            http.receivingPaused = paused
            log.debug(paused ? "Output writers behind: pausing provider answers" : "Output writers caught up: resuming")
        }
        // Media jobs share the pool's threads: never more of them at once than MEDIA_POOL_SIZE.
        var caps = settings.providerCaps
        let media = ProviderName.media.key
        caps[media] = min(caps[media] ?? settings.mediaPoolSize, settings.mediaPoolSize)
        let throttle = ProviderThrottle(ratesPerMinute: settings.providerRatesPerMinute, clock: { [loop] in loop.now })
        let record = WorkerRecord(
            id: identity, host: WorkerIdentity.host, pid: getpid(), version: ReactorWorkerVersion.text,
            maxConcurrentJobs: settings.maxConcurrentJobs, leaseSeconds: settings.leaseSeconds,
            providerCaps: settings.providerCaps, webURL: webURL)
        scheduler = Scheduler(
            loop: loop, store: store, registry: HandlerCatalog.registry(throttle: throttle),
            gate: ConcurrencyGate(capacity: settings.maxConcurrentJobs, caps: caps), settings: settings, log: log,
            http: http, outputBudget: outputBudget, throttle: throttle, worker: record)
        scheduler.drainWhenIdle = drain
        wakeHook.value.action = { [unowned scheduler] in scheduler.changeHint() }
        do {
            if let metricsSettings = try Configuration(values: settings.values).metricsSettings() {
                metrics = MetricsReporter(
                    loop: loop, scheduler: scheduler, store: settings.store,
                    directory: metricsSettings.directory, interval: metricsSettings.interval, log: log,
                    budgets: settings.budgets)
            }
        } catch {
            exitWithError("\(error)")
        }
    }

    /// Runs until a signal or `--drain` stops the scheduler and every write is committed.
    func run() {
        let loop = loop
        scheduler.onStopped = { [log, metrics] in
            metrics?.stop()
            log.info("reactor-worker stopped")
            loop.stop()
        }
        for number in [SIGTERM, SIGINT] {
            let watcher = SignalWatcher(loop: loop, signal: number) { [unowned self] in self.stopRequested(number) }
            watcher.start()
            signals.append(watcher)
        }
        let hangup = SignalWatcher(loop: loop, signal: SIGHUP) { [log] in log.reopen() }
        hangup.start()
        signals.append(hangup)
        log.info(
            "reactor-worker started: MAX_CONCURRENT_JOBS=\(settings.maxConcurrentJobs), MEDIA_POOL_SIZE=\(settings.mediaPoolSize), JOBS_DB=\(settings.store), OUTPUT_DIR=\(settings.outputDirectory), pid \(getpid())"
        )
        logSpendSettings()
        watchDatabaseFiles()
        scheduler.start()
        metrics?.start()
        loop.run()
        changeWatcher?.stop()
        for watcher in signals { watcher.stop() }
    }

    /// The budgets in force and where the prices come from, when a studio set either.
    private func logSpendSettings() {
        let budgets = settings.budgets
        var parts = budgets.perProvider.keys.sorted().map {
            "\($0) \(Money.text(budgets.perProvider[$0]!)) (\($0.uppercased())_DAILY_BUDGET_USD)"
        }
        if let overall = budgets.overall { parts.append("all providers \(Money.text(overall)) (DAILY_BUDGET_USD)") }
        if !parts.isEmpty { log.info("daily budgets (UTC days): " + parts.joined(separator: ", ")) }
        if let file = settings.values["PRICES_FILE"], !file.isEmpty {
            log.info("prices from PRICES_FILE \(file): \(settings.prices.prices.count) prices")
        }
    }

    /// Change hints: inotify on jobs.db and its WAL, so a row another program inserts is claimed
    /// within milliseconds rather than at the next fallback poll.
    private func watchDatabaseFiles() {
        if let postgres {
            postgres.onChange = { [scheduler] in scheduler.databaseChanged() }
            postgres.start()
            return
        }
        guard case .sqlite(let path) = settings.store else { return }
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        changeWatcher = FileChangeWatcher(
            loop: loop, directory: directory.isEmpty ? "." : directory, names: [name, name + "-wal"]
        ) { [scheduler] in scheduler.databaseChanged() }
        changeWatcher?.start()
        if changeWatcher == nil {
            log.warning("inotify is unavailable; new jobs are found by the \(settings.fallbackPollSeconds) s poll only")
        }
    }

    /// Starts the dashboard on its own threads; its writes wake the loop through `hook`
    /// (filled in once the scheduler exists). A dashboard that cannot bind (another worker's on
    /// this machine has the port) is logged and skipped: the jobs run either way.
    private static func startDashboard(
        _ web: WebSettings, log: WorkerLog, loop: EventLoop, hook: LoopBound<WakeHook>
    )
        -> String?
    {
        let server = WebServer(settings: web, log: log) { loop.execute { hook.value.action() } }
        do {
            let url = try server.start()
            log.info("Dashboard on \(url) (WEB_ADDRESS=\(web.address))")
            return url
        } catch {
            log.warning(
                "Dashboard not started: \(error); jobs run as usual (set WEB_ADDRESS to a free HOST:PORT, or --no-web)")
            return nil
        }
    }

    private func stopRequested(_ number: Int32) {
        stopRequests += 1
        let name = number == SIGINT ? "SIGINT" : "SIGTERM"
        log.info("\(name) received")
        scheduler.shutdown(immediately: stopRequests > 1)
    }
}

/// What a dashboard write runs on the loop: the scheduler's change hint. Made before the
/// scheduler (whose worker record carries the dashboard's URL) and filled in right after, on the
/// thread that then runs the loop; `LoopBound` checks that only the loop touches it after.
final class WakeHook {
    var action: () -> Void = {}
}
