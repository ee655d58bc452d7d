import Foundation
import Reactor

/// Claims queued jobs into free slots of the concurrency gate, runs their handlers on the loop,
/// and records how each run ended. Loop thread only.
///
/// A job's way: `store.claim` → `gate.acquire` → inputs named by `{"job": ID}` read →
/// `handler.run` → finish (`RetryDecision`) → `store.record` → `gate.release`. This file holds the
/// state and the claiming; running a job is `SchedulerRuns.swift`, shutting down and draining
/// `SchedulerShutdown.swift`, leases and recovery `LeaseKeeper`. New rows are noticed through
/// `databaseChanged()` (change hints, wired at start-up) and a slow fallback poll; every hint is
/// confirmed with a cheap read before a claim is written.
public final class Scheduler {
    enum State { case idle, running, shuttingDown, stopped }

    let loop: EventLoop
    let store: JobStore
    let gate: ConcurrencyGate
    let registry: HandlerRegistry
    let settings: WorkerSettings
    /// What each job's context points to.
    let sharedSettings: WorkerSettings.Shared
    let log: WorkerLog
    let http: HTTPClient
    /// Bounds the decoded outputs waiting for writer threads (pauses reading answers above it).
    let outputBudget: OutputBackPressure
    /// Paces requests per provider for all jobs; read here for the 429s it counted.
    let throttle: ProviderThrottle
    /// This worker's row in `workers`, registered at start and renewed by the heartbeat.
    let worker: WorkerRecord
    /// Wall-clock Unix seconds: when claims may run (`run_after`), leases, retry times. Injected
    /// so tests move time without waiting.
    let clock: () -> Double
    let random: () -> Double

    var state = State.idle
    var active: [Int64: JobRun] = [:]
    /// Failed attempts by provider since start, for the heartbeat's provider activity.
    var failedAttempts: [String: Int] = [:]
    /// A wake is registered for the end of this loop iteration (`wakeBeforeSleep`).
    var wakePending = false
    /// Slots promised to claims the store has not answered yet. Several claims may be in flight
    /// (a store runs them one after another, so no row is claimed twice); each asks only for
    /// slots nobody has reserved.
    var reservedSlots = 0
    var claimsInFlight = 0
    var drainCheckPending = false
    var timers: [TimerWatcher] = []
    var retryWake: TimerWatcher?
    var shutdownDeadline: TimerWatcher?
    lazy var hintRecheck = ChangeHintRecheck(loop: loop) { [unowned self] in self.changeHint() }
    lazy var leases = LeaseKeeper(scheduler: self)

    /// Exit once nothing is queued or active (`run --drain`).
    public var drainWhenIdle = false
    /// Runs once the scheduler stopped and every write is durable.
    public var onStopped: () -> Void = {}
    /// Runs on the loop each time a run of a job ends (metrics); must not touch jobs.
    public var onRunEnded: (JobRunEnded) -> Void = { _ in }

    /// - Parameters:
    ///   - gate: MAX_CONCURRENT_JOBS slots with the per-provider caps (media's included).
    ///   - outputBudget: the bound on decoded output bytes, wired to pause `http`'s answers.
    ///   - throttle: the request pacing shared with the provider engines.
    public init(
        loop: EventLoop, store: JobStore, registry: HandlerRegistry, gate: ConcurrencyGate, settings: WorkerSettings,
        log: WorkerLog, http: HTTPClient, outputBudget: OutputBackPressure, throttle: ProviderThrottle,
        worker: WorkerRecord, clock: @escaping () -> Double = { Date().timeIntervalSince1970 },
        random: @escaping () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.loop = loop
        self.store = store
        self.registry = registry
        self.gate = gate
        self.settings = settings
        sharedSettings = WorkerSettings.Shared(settings)
        self.log = log
        self.http = http
        self.outputBudget = outputBudget
        self.throttle = throttle
        self.worker = worker
        self.clock = clock
        self.random = random
    }

    /// Jobs running now, and the gate's capacity.
    public var activeCount: Int { active.count }
    public var capacity: Int { gate.capacity }

    /// The jobs running now (slot, type, provider, progress, phase, start), the capacity, and
    /// how much output waits for the disk.
    public func snapshot() -> SchedulerSnapshot {
        let wallClockOffset = clock() - loop.now
        let jobs = active.values.sorted { $0.slot < $1.slot }.map { run in
            SchedulerSnapshot.ActiveJob(
                id: run.job.id, slot: run.slot, type: run.job.typeName, provider: run.provider,
                progress: run.context?.progress ?? 0, phase: run.context?.phase ?? "starting",
                startedAt: run.startedAt + wallClockOffset)
        }
        var snapshot = SchedulerSnapshot(active: jobs, capacity: gate.capacity)
        snapshot.outputBytesWaiting = outputBudget.pendingBytes + http.downloadBytesWaiting
        snapshot.downloadsWaitingForDisk = http.downloadsWaitingForDisk
        snapshot.answerPauses = outputBudget.pauses
        snapshot.loopLongestIteration = loop.longestIteration
        return snapshot
    }

    /// Registers the worker, recovers abandoned rows, starts the timers, and claims what is queued.
    public func start() {
        loop.assertInLoop()
        guard state == .idle else { return }
        state = .running
        repeating(every: settings.fallbackPollSeconds) { [unowned self] in self.changeHint() }
        repeating(every: 0.5) { [unowned self] in if !self.active.isEmpty { self.checkCancellations() } }
        leases.start()
    }

    /// The database was written by someone: look now, and again shortly after
    /// (`ChangeHintRecheck`), since a commit may show in the files a moment before a reader sees it.
    public func databaseChanged() {
        changeHint()
        hintRecheck.start()
    }

    /// Something may have changed in the database: claim if there is room, end cancelled jobs.
    public func changeHint() {
        guard state == .running else { return }
        checkCancellations()
        wake()
    }

    // MARK: Claiming

    func wake() {
        let wanted = gate.freeSlots - reservedSlots
        guard state == .running, wanted > 0 else { return }
        let full = fullKeys()
        let now = clock()
        guard store.looksBeforeClaiming else { return claim(wanted: wanted, excluding: full, now: now) }
        store.hasRunnableJobs(now: now, excluding: full) { [unowned self] runnable in
            guard runnable else {
                self.scheduleRetryWake(now: now)
                self.checkDrained()
                return
            }
            self.claim(wanted: self.gate.freeSlots - self.reservedSlots, excluding: full, now: now)
        }
    }

    private func claim(wanted: Int, excluding full: Set<String>, now: Double) {
        guard state == .running, wanted > 0 else { return }
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
            if !claimed.isEmpty { return self.wake() }
            if !self.store.looksBeforeClaiming { self.scheduleRetryWake(now: now) }
            self.checkDrained()
        }
    }

    /// Gate keys whose cap is reached: their rows are left out of the claim.
    private func fullKeys() -> Set<String> {
        Set(gate.cappedKeys.filter { key in gate.cap(for: key).map { gate.count(for: key) >= $0 } ?? false })
    }

    func scheduleRetryWake(now: Double) {
        store.earliestRunAfter { [unowned self] next in
            guard let next, next > now else { return }
            let timer = self.retryWake ?? TimerWatcher(loop: self.loop) { [unowned self] in self.wake() }
            self.retryWake = timer
            timer.schedule(after: next - now + 0.005)
        }
    }

    /// Claims for every slot freed in this loop iteration at once, before the loop sleeps: when
    /// thousands of answers arrive together, one claim per finished job would cost a read and a
    /// write transaction each, where one claim for all of them costs one.
    func wakeBeforeSleep() {
        guard !wakePending else { return }
        wakePending = true
        loop.beforeSleep { [weak self] in
            guard let self else { return }
            self.wakePending = false
            self.wake()
        }
    }

    func repeating(every seconds: Double, _ work: @escaping () -> Void) {
        let timer = TimerWatcher(loop: loop, callback: work)
        timer.set(after: seconds, repeat: seconds)
        timer.start()
        timers.append(timer)
    }
}

@available(*, unavailable, message: "the scheduler belongs to the loop thread")
extension Scheduler: Sendable {}
