import Foundation
import JSON
import Reactor

/// What a running job owns: its requests, timers and cancellation, its progress, and its output
/// files (`files`). The scheduler makes one per run and stops everything it started when the
/// job is cancelled or times out. Loop thread only.
public final class JobContext {
    public let job: Job
    public let params: JobParams
    /// The job's slot in the gate: the N of `[Thread-JobWorker-N]`.
    public let slot: Int
    public let loop: EventLoop
    public var settings: WorkerSettings { sharedSettings.value }
    private let sharedSettings: WorkerSettings.Shared
    public let log: WorkerLog
    /// Resolves image and video params (path, URL or {"job": ID}).
    public let inputs: InputResolver
    /// This database's random id (`meta.database_id`), for provider idempotency keys.
    public let databaseID: String
    /// The provider the job calls (params.provider or the type's default; "ffmpeg" for media).
    public let provider: String
    /// Wall-clock unix seconds (the scheduler's, injected in tests): which UTC day spend counts in.
    let clock: () -> Double
    private let http: HTTPClient
    private let store: JobStore
    let outputBudget: OutputBackPressure

    /// This job's folder, `OUTPUT_DIR/<job id>/`, and the writes and downloads into it.
    public private(set) lazy var files = JobFiles(
        context: self, outputs: JobOutputs(root: settings.outputDirectory, jobID: job.id), budget: outputBudget)

    private var transfers: Set<HTTPClient.TransferID> = []
    private var timers: [ObjectIdentifier: TimerWatcher] = [:]
    private var cancelHandlers: [() -> Void] = []
    public private(set) var isCancelled = false
    private var lastProgressWrite = -Double.infinity
    private var pendingProgress: Double?
    private var progressTimer: TimerWatcher?
    /// The latest progress reported (0–1), for live views.
    public private(set) var progress: Double = 0
    /// A short word on what the job waits for ("submitting", "polling", "downloading", …).
    public var phase: String = "starting"
    /// Whether this run spends an attempt: its claim counted one unless it resumes a recorded
    /// task, and `refundAttempt()` gives it back when the run turns out to resume one after all.
    public private(set) var attemptCounted: Bool

    init(
        job: Job, params: JobParams, slot: Int, loop: EventLoop, settings: WorkerSettings.Shared, log: WorkerLog,
        http: HTTPClient, store: JobStore, inputs: InputResolver, databaseID: String = "", provider: String = "",
        outputBudget: OutputBackPressure, clock: @escaping () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.clock = clock
        self.provider = provider
        self.job = job
        self.params = params
        self.slot = slot
        self.loop = loop
        sharedSettings = settings
        self.log = log
        self.http = http
        self.store = store
        self.inputs = inputs
        self.databaseID = databaseID
        self.outputBudget = outputBudget
        attemptCounted = job.attemptCounted
    }

    /// Sends an HTTP request owned by this job: cancelled with it. The completion is not
    /// called once the job was cancelled. `REQUEST_TIMEOUT_SECONDS` caps every request but
    /// downloads (which a stall timeout guards instead).
    public func send(_ request: HTTPRequest, completion: @escaping HTTPClient.Completion) {
        guard !isCancelled else { return }
        var request = request
        if let cap = settings.requestTimeoutSeconds, request.downloadPath == nil,
            request.timeout == 0 || request.timeout > cap
        {
            request.timeout = cap
        }
        var id: HTTPClient.TransferID?
        id = http.send(request) { [weak self] result in
            guard let self, !self.isCancelled else { return }
            if let id { self.transfers.remove(id) }
            completion(result)
        }
        if let id { transfers.insert(id) }
    }

    /// Runs `work` after `seconds` on the loop, unless the job was cancelled by then.
    public func after(_ seconds: Double, _ work: @escaping () -> Void) {
        guard !isCancelled else { return }
        let timer = TimerWatcher(loop: loop) {}
        let key = ObjectIdentifier(timer)
        timer.setCallback { [weak self] in
            guard let self else { return }
            self.timers.removeValue(forKey: key)
            if !self.isCancelled { work() }
        }
        timers[key] = timer
        timer.schedule(after: seconds)
    }

    /// Registers cleanup to run if the job is cancelled or times out (e.g. stop a child process).
    public func onCancel(_ handler: @escaping () -> Void) {
        cancelHandlers.append(handler)
    }

    /// Reports progress (0–1). Written to the row at most about 4 times a second.
    public func reportProgress(_ value: Double) {
        progress = min(max(value, 0), 1)
        let now = loop.now
        if now - lastProgressWrite >= 0.25 {
            lastProgressWrite = now
            store.record(.progress(id: job.id, value: progress))
            pendingProgress = nil
        } else if pendingProgress == nil {
            pendingProgress = progress
            let timer = progressTimer ?? TimerWatcher(loop: loop) {}
            progressTimer = timer
            timer.setCallback { [weak self] in
                guard let self, !self.isCancelled, self.pendingProgress != nil else { return }
                self.pendingProgress = nil
                self.lastProgressWrite = self.loop.now
                self.store.record(.progress(id: self.job.id, value: self.progress))
            }
            timer.schedule(after: 0.25 - (now - lastProgressWrite))
        } else {
            pendingProgress = progress
        }
    }

    /// Records the provider's task id at once, so a restarted job resumes polling it instead
    /// of paying for a second submit.
    public func recordProviderTask(id: String, state: String? = nil) {
        store.record(.providerTask(id: job.id, taskID: id, state: state))
    }

    /// Gives back the attempt this run's claim counted: the run resumes a task an earlier run paid
    /// for (found by our key), so it pays nothing itself. Its failure then counts one, as any
    /// resumed run's does.
    func refundAttempt() {
        guard attemptCounted else { return }
        attemptCounted = false
        store.record(.refundAttempt(id: job.id))
    }

    /// Reserves a submission's expected cost against today's budgets (`JobStore.reserveSpend`);
    /// the answer is dropped if the job was cancelled meanwhile.
    func reserveSpend(_ entry: SpendEntry, completion: @escaping (SpendDecision) -> Void) {
        store.reserveSpend(entry, within: settings.budgets) { [weak self] decision in
            guard let self, !self.isCancelled else { return }
            completion(decision)
        }
    }

    /// Records what a paid submission cost (`JobUpdate.spend`).
    func recordSpend(_ entry: SpendEntry) { store.record(.spend(entry)) }

    /// Drops this submission's reservation: it was not paid for after all.
    func cancelSpend() { store.record(.cancelSpend(id: job.id, submission: job.submission)) }

    /// Records the provider's word for where the job stands when there is no task id (yet).
    func recordProviderState(_ state: String) {
        store.record(.providerState(id: job.id, state: state))
    }

    /// Logs a line about this job after its monitoring prefix: "[Thread-JobWorker-N] job 12: …".
    public func logJob(_ message: String, event: String) {
        log.info(
            "\(WorkerLog.slotPrefix(slot)) job \(job.id): \(message)",
            WorkerLog.Fields(jobID: job.id, type: job.typeName, provider: provider, slot: slot, event: event))
    }

    /// Stops everything this job started. Called by the scheduler; idempotent.
    func cancel() {
        guard !isCancelled else { return }
        isCancelled = true
        for id in transfers { http.cancel(id) }
        transfers.removeAll()
        for timer in timers.values { timer.stop() }
        timers.removeAll()
        progressTimer?.stop()
        files.forgetPending()
        let handlers = cancelHandlers
        cancelHandlers.removeAll()
        for handler in handlers { handler() }
    }

    /// Stops leftover timers once the job finished normally.
    func finishCleanup() {
        for timer in timers.values { timer.stop() }
        timers.removeAll()
        progressTimer?.stop()
        files.forgetPending()
        cancelHandlers.removeAll()
    }
}

@available(*, unavailable, message: "a job's context belongs to the loop thread")
extension JobContext: Sendable {}
