import Foundation
import Reactor

/// Claims queued jobs into free slots of the concurrency gate, runs their handlers on the
/// loop, and records how each run ended. Loop thread only.
///
/// A job's way: store.claim → gate.acquire → handler.run → finish → store.record → gate.release.
/// New rows are noticed through change hints on the database files (plus a slow fallback
/// poll); every hint is confirmed with a cheap indexed read before a claim is written.
public final class Scheduler {
    private struct ActiveRun {
        let job: Job
        let slot: Int
        let gateKey: String
        var provider: String?
        var context: JobContext?
        let startedAt: Double
        var timeout: TimerWatcher?
    }

    private enum State { case idle, running, shuttingDown, stopped }

    private let loop: EventLoop
    private let store: JobStore
    private let gate: ConcurrencyGate
    private let registry: HandlerRegistry
    private let settings: WorkerSettings
    private let log: WorkerLog
    private let http: HTTPClient
    private let random: () -> Double
    /// This database's random id, for provider idempotency keys.
    private let databaseID: String
    /// This worker's row in `workers`, registered at start and renewed by `heartbeat()`.
    private let worker: WorkerRecord
    /// Failed attempts by provider since start, for the heartbeat's provider activity.
    private var failedAttempts: [String: Int] = [:]
    /// Paces requests per provider for all jobs (rates and Retry-After pauses).
    private let throttle: ProviderThrottle
    /// Bounds the decoded outputs waiting for writer threads (pauses reading answers above it).
    let outputBudget: OutputBackPressure

    private var state = State.idle
    /// A wake is registered for the end of this loop iteration (`wakeBeforeSleep`).
    private var wakePending = false
    private var active: [Int64: ActiveRun] = [:]
    /// Slots promised to claims the writer has not answered yet. Several claims may be in
    /// flight (the writer runs them one after another, so no row is claimed twice); each asks
    /// only for slots nobody has reserved.
    private var reservedSlots = 0
    private var claimsInFlight = 0
    private var drainCheckPending = false
    private var timers: [TimerWatcher] = []
    private var retryWake: TimerWatcher?
    private lazy var hintRecheck = ChangeHintRecheck(loop: loop) { [unowned self] in self.changeHint() }
    private var shutdownDeadline: TimerWatcher?
    private var changeWatcher: FileChangeWatcher?

    /// Exit once nothing is queued or active (`run --drain`).
    public var drainWhenIdle = false
    /// Runs once the scheduler stopped and every write is committed.
    public var onStopped: () -> Void = {}
    /// Runs on the loop each time a run of a job ends (metrics); must not touch jobs.
    public var onRunEnded: (JobRunEnded) -> Void = { _ in }

    public init(
        loop: EventLoop, store: JobStore, registry: HandlerRegistry, settings: WorkerSettings, log: WorkerLog,
        http: HTTPClient, worker: WorkerRecord, throttle: ProviderThrottle, databaseID: String,
        random: @escaping () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.databaseID = databaseID
        self.worker = worker
        self.loop = loop
        self.store = store
        self.registry = registry
        self.settings = settings
        self.log = log
        self.http = http
        self.random = random
        self.throttle = throttle
        outputBudget = OutputBackPressure(loop: loop) { [http, log] paused in
            http.receivingPaused = paused
            log.debug(paused ? "Output writers behind: pausing provider answers" : "Output writers caught up: resuming")
        }
        var caps = settings.providerCaps
        caps["ffmpeg"] = min(caps["ffmpeg"] ?? settings.mediaPoolSize, settings.mediaPoolSize)
        gate = ConcurrencyGate(capacity: settings.maxConcurrentJobs, caps: caps)
    }

    /// Jobs running now, and the gate's capacity.
    public var activeCount: Int { active.count }
    public var capacity: Int { gate.capacity }

    /// The jobs running now (slot, type, provider, progress, phase, start), the capacity, and
    /// how much output waits for the disk.
    public func snapshot() -> SchedulerSnapshot {
        let wallClockOffset = Date().timeIntervalSince1970 - loop.now
        let jobs = active.values.sorted { $0.slot < $1.slot }.map { run in
            SchedulerSnapshot.ActiveJob(
                id: run.job.id, slot: run.slot, type: run.job.typeName, provider: run.provider ?? run.gateKey,
                progress: run.context?.progress ?? 0, phase: run.context?.phase ?? "starting",
                startedAt: run.startedAt + wallClockOffset)
        }
        var snapshot = SchedulerSnapshot(active: jobs, capacity: gate.capacity)
        snapshot.outputBytesWaiting = outputBudget.pendingBytes + http.downloadBytesWaiting
        snapshot.downloadsWaitingForDisk = http.downloadsWaitingForDisk
        snapshot.answerPauses = outputBudget.pauses
        return snapshot
    }

    /// Recovers abandoned rows, starts the change hints and timers, and claims what is queued.
    public func start() {
        loop.assertInLoop()
        guard state == .idle else { return }
        state = .running
        let directory = (settings.databasePath as NSString).deletingLastPathComponent
        let name = (settings.databasePath as NSString).lastPathComponent
        changeWatcher = FileChangeWatcher(
            loop: loop, directory: directory.isEmpty ? "." : directory, names: [name, name + "-wal"]
        ) { [unowned self] in self.fileChanged() }
        changeWatcher?.start()
        if changeWatcher == nil {
            log.warning("inotify is unavailable; new jobs are found by the \(settings.fallbackPollSeconds) s poll only")
        }
        repeating(every: settings.fallbackPollSeconds) { [unowned self] in self.changeHint() }
        repeating(every: 0.5) { [unowned self] in if !self.active.isEmpty { self.checkCancellations() } }
        store.record(.registerWorker(worker))
        repeating(every: max(settings.leaseSeconds / 3, 0.5)) { [unowned self] in self.heartbeat() }
        repeating(every: max(settings.leaseSeconds / 2, 1)) { [unowned self] in self.recoverAbandoned() }
        recoverAbandoned()
    }

    /// The database files were written: look now, and again shortly after (`ChangeHintRecheck`).
    private func fileChanged() {
        changeHint()
        hintRecheck.start()
    }

    /// Something may have changed in the database: claim if there is room, end cancelled jobs.
    public func changeHint() {
        guard state == .running else { return }
        checkCancellations()
        wake()
    }

    /// Stops claiming and lets active jobs finish for up to `shutdownTimeoutSeconds`; then, or
    /// at once when `immediately` (a second signal), puts unfinished jobs back to `queued`.
    public func shutdown(immediately: Bool = false) {
        loop.assertInLoop()
        switch state {
        case .stopped: return
        case .shuttingDown where !immediately: return
        case .idle:
            finishShutdown()
            return
        default: break
        }
        if immediately || active.isEmpty {
            if !active.isEmpty { log.info("Shutting down now: returning \(active.count) unfinished jobs to the queue") }
            state = .shuttingDown
            requeueActive()
            finishShutdown()
            return
        }
        state = .shuttingDown
        store.record(.workerStopping(owner: worker.id))
        let timeout = settings.shutdownTimeoutSeconds
        log.info(
            "Shutting down: no new jobs; waiting up to \(Int(timeout)) s for \(active.count) active jobs (signal again to stop now)"
        )
        let deadline = TimerWatcher(loop: loop) {}
        deadline.setCallback { [unowned self] in
            self.log.warning("Shutdown timeout reached; returning \(self.active.count) unfinished jobs to the queue")
            self.requeueActive()
            self.finishShutdown()
        }
        deadline.schedule(after: timeout)
        shutdownDeadline = deadline
    }

    // MARK: Claiming

    private func wake() {
        let wanted = gate.freeSlots - reservedSlots
        guard state == .running, wanted > 0 else { return }
        let full = fullKeys()
        let now = Date().timeIntervalSince1970
        guard store.hasRunnableJobs(now: now, excluding: full) else {
            scheduleRetryWake(now: now)
            checkDrained()
            return
        }
        reservedSlots += wanted
        claimsInFlight += 1
        store.claim(limit: wanted, excluding: full, now: now) { [unowned self] claimed in
            self.claimsInFlight -= 1
            // Give reservations back one by one as jobs begin: a job failing at once frees its
            // slot, and the claim that wakes must not count the rest of this batch as free.
            self.reservedSlots -= wanted - claimed.count
            for job in claimed {
                self.reservedSlots -= 1
                self.begin(job)
            }
            if claimed.isEmpty { self.checkDrained() } else { self.wake() }
        }
    }

    private func fullKeys() -> Set<String> {
        var full: Set<String> = []
        for key in settings.providerCaps.keys.sorted() + ["ffmpeg"] {
            if let cap = gate.cap(for: key), gate.count(for: key) >= cap { full.insert(key) }
        }
        return full
    }

    private func scheduleRetryWake(now: Double) {
        guard let next = store.earliestRunAfter(), next > now else { return }
        let timer = retryWake ?? TimerWatcher(loop: loop) { [unowned self] in self.wake() }
        retryWake = timer
        timer.schedule(after: next - now + 0.005)
    }

    private func begin(_ claimed: ClaimedJob) {
        let job = claimed.job
        guard state == .running, let slot = gate.acquire(key: claimed.gateKey) else {
            // The batch held more jobs of a capped provider than it has room for, or we began
            // shutting down meanwhile: give the row back without counting an attempt.
            store.record(.release(id: job.id, attemptCounted: job.attemptCounted))
            return
        }
        let fields = WorkerLog.Fields(
            jobID: job.id, type: job.typeName, provider: claimed.gateKey, slot: slot, event: "claimed")
        log.info("Submitted job \(job.id) to worker thread pool (\(gate.active)/\(gate.capacity) active)", fields)
        log.info(
            "[Thread-JobWorker-\(slot)] Processing job \(job.id)...",
            WorkerLog.Fields(jobID: job.id, type: job.typeName, provider: claimed.gateKey, slot: slot, event: "started")
        )
        var run = ActiveRun(job: job, slot: slot, gateKey: claimed.gateKey, startedAt: loop.now)
        active[job.id] = run
        do {
            let params = try JobParams.parse(job.paramsText)
            let (provider, handler) = try registry.handler(for: job, params: params)
            let inputs = InputResolver { [unowned self] id in self.store.jobSummary(id: id) }
            let context = JobContext(
                job: job, params: params, slot: slot, loop: loop, settings: settings, log: log, http: http,
                store: store, inputs: inputs, databaseID: databaseID, provider: provider, outputBudget: outputBudget)
            let limit = settings.timeout(for: job.typeName)
            let timeout = TimerWatcher(loop: loop) { [unowned self] in
                self.finish(
                    job.id,
                    .failed(
                        .transient(
                            "timed out after \(DurationText.seconds(limit)); the job took longer than its limit (JOB_TIMEOUT_SECONDS)"
                        )))
            }
            timeout.schedule(after: limit)
            // A killed earlier attempt may have left a half-written temporary file behind.
            context.files.removeStaleOutputs()
            run.provider = provider
            run.context = context
            run.timeout = timeout
            active[job.id] = run
            handler.run(context) { [unowned self] outcome in self.finish(job.id, outcome) }
        } catch {
            finish(job.id, .failed(error))
        }
    }

    // MARK: Finishing

    private func finish(_ id: Int64, _ outcome: JobOutcome) {
        guard let run = end(id) else { return }  // Already cancelled, timed out or finished.
        let duration = loop.now - run.startedAt
        let prefix = "[Thread-JobWorker-\(run.slot)]"
        var fields = WorkerLog.Fields(
            jobID: id, type: run.job.typeName, provider: run.provider ?? run.gateKey, slot: run.slot, duration: duration
        )
        switch outcome {
        case .completed(let result):
            // Redacting inside JSON strings keeps the text valid JSON ("[redacted]" has no quotes).
            store.record(.completed(id: id, result: log.redactor.redact(result.jsonString())))
            fields.event = "completed"
            log.info("\(prefix) Completed job \(id) in \(DurationText.seconds(duration))", fields)
        case .failed(let failure):
            failedAttempts[run.provider ?? run.gateKey, default: 0] += 1
            let message = log.redactor.redact(failure.message)
            let policy = settings.retryPolicy
            let counted = run.context?.attemptCounted ?? run.job.attemptCounted
            // The row's count: the claim's (`Job.attempts`), less a refund, plus this failure when
            // the run counted none.
            let attempts = run.job.attempts - (run.job.attemptCounted && !counted ? 1 : 0) + (counted ? 0 : 1)
            if policy.shouldRetry(failure, attempts: attempts, maxAttempts: run.job.maxAttempts) {
                let delay = policy.delay(afterAttempt: attempts, retryAfter: failure.retryAfter, random: random())
                let note = "attempt \(attempts) of \(run.job.maxAttempts) failed: \(message)"
                store.record(
                    .retry(id: id, error: note, runAfter: Date().timeIntervalSince1970 + delay, attempts: attempts))
                fields.event = "retry"
                log.warning("\(prefix) Retrying job \(id) in \(DurationText.seconds(delay)): \(note)", fields)
            } else {
                let final = failure.kind == .transient ? "\(message) (gave up after \(attempts) attempts)" : message
                store.record(.failed(id: id, error: final, attempts: attempts))
                fields.event = "failed"
                log.warning("\(prefix) Failed job \(id): \(final)", fields)
            }
        }
        onRunEnded(JobRunEnded(id: id, fields: fields, outcome: outcome, redactor: log.redactor))
        afterSlotFreed()
    }

    private func checkCancellations() {
        let ids = store.pendingCancellations(activeIDs: Array(active.keys))
        for id in ids {
            guard let run = end(id) else { continue }
            store.record(.cancelled(id: id, reason: "cancelled while running"))
            log.info(
                "[Thread-JobWorker-\(run.slot)] Cancelled job \(id)",
                WorkerLog.Fields(jobID: id, type: run.job.typeName, slot: run.slot, event: "cancelled"))
            onRunEnded(
                JobRunEnded(
                    id: id, type: run.job.typeName, provider: run.provider ?? run.gateKey, outcome: .cancelled,
                    duration: loop.now - run.startedAt, error: nil))
        }
        if !ids.isEmpty { afterSlotFreed() }
    }

    /// Removes a run from the active set, stops what it started and frees its slot.
    private func end(_ id: Int64) -> ActiveRun? {
        guard let run = active.removeValue(forKey: id) else { return nil }
        run.timeout?.stop()
        if let context = run.context {
            if context.isCancelled { context.finishCleanup() } else { context.cancel() }
        }
        gate.release(slot: run.slot)
        return run
    }

    private func afterSlotFreed() {
        if state == .shuttingDown {
            if active.isEmpty { finishShutdown() }
            return
        }
        wakeBeforeSleep()
        checkDrained()
    }

    /// Claims for every slot freed in this loop iteration at once, before the loop sleeps.
    /// When 2,000 answers arrive together, one claim per finished job cost a reader query and
    /// a writer transaction each (bench/RESULTS.md); many jobs end in one iteration then.
    private func wakeBeforeSleep() {
        guard !wakePending else { return }
        wakePending = true
        loop.beforeSleep { [weak self] in
            guard let self else { return }
            self.wakePending = false
            self.wake()
        }
    }

    private func requeueActive() {
        for id in Array(active.keys) {
            guard let run = end(id) else { continue }
            store.record(.release(id: id, attemptCounted: run.context?.attemptCounted ?? run.job.attemptCounted))
        }
    }

    private func recoverAbandoned() {
        store.recoverAbandonedJobs(now: Date().timeIntervalSince1970) { [unowned self] count in
            if count > 0 {
                self.log.info(
                    "Recovered \(count) jobs left running by a worker that stopped; they are queued again (or failed after too many interruptions)"
                )
            }
            self.wake()
        }
    }

    private func checkDrained() {
        guard drainWhenIdle, state == .running, active.isEmpty, claimsInFlight == 0, !drainCheckPending else { return }
        // Writes of this iteration (a job put back for a retry, say) are not visible to the
        // reader yet: decide only once they are committed.
        drainCheckPending = true
        store.flush { [unowned self] in
            self.drainCheckPending = false
            guard self.drainWhenIdle, self.state == .running, self.active.isEmpty, self.claimsInFlight == 0 else {
                return
            }
            guard self.store.queuedCount() == 0 else {
                self.scheduleRetryWake(now: Date().timeIntervalSince1970)
                return
            }
            self.log.info("Queue drained: nothing queued or active; exiting")
            self.state = .shuttingDown
            self.finishShutdown()
        }
    }

    private func finishShutdown() {
        guard state != .stopped else { return }
        state = .stopped
        for timer in timers { timer.stop() }
        timers.removeAll()
        retryWake?.stop()
        hintRecheck.stop()
        shutdownDeadline?.stop()
        changeWatcher?.stop()
        changeWatcher = nil
        store.record(.unregisterWorker(owner: worker.id))
        store.close { [unowned self] in self.onStopped() }
    }

    /// Renews the leases of the running jobs and this worker's row, with what each provider is
    /// doing now (jobs in flight, 429s answered, failed attempts).
    private func heartbeat() {
        var activity: [String: ProviderActivity] = [:]
        for run in active.values { activity[run.provider ?? run.gateKey, default: ProviderActivity()].inFlight += 1 }
        for (provider, count) in throttle.rateLimitAnswers {
            activity[provider, default: ProviderActivity()].rateLimited = count
        }
        for (provider, count) in failedAttempts { activity[provider, default: ProviderActivity()].errors = count }
        store.heartbeat(activeIDs: Array(active.keys), activity: activity)
    }

    // MARK: Helpers

    private func repeating(every seconds: Double, _ work: @escaping () -> Void) {
        let timer = TimerWatcher(loop: loop, callback: work)
        timer.set(after: seconds, repeat: seconds)
        timer.start()
        timers.append(timer)
    }
}
