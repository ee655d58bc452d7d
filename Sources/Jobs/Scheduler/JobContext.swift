import Foundation
import Reactor

/// Everything a handler may use while running one job, and the record of what it started
/// so that cancellation and timeouts can stop it. Loop thread only.
public final class JobContext {
    public let job: Job
    public let params: JobParams
    public let slot: Int
    public let loop: EventLoop
    public let settings: WorkerSettings
    public let log: WorkerLog
    /// Files of this job: `OUTPUT_DIR/<job id>/`.
    public let outputs: JobOutputs
    let http: HTTPClient
    let store: JobStore
    /// Resolves image and video params (path, URL or {"job": ID}).
    public let inputs: InputResolver
    /// The provider this job calls (params.provider or the type's default): its throttle key.
    public let provider: String
    /// Request pacing shared by all jobs of the worker (rates, Retry-After pauses).
    let throttle: ProviderThrottle
    /// The bound on output bytes queued for writer threads, shared by all jobs.
    let outputBudget: OutputBackPressure

    private var transfers: Set<HTTPClient.TransferID> = []
    private var timers: [ObjectIdentifier: TimerWatcher] = [:]
    private var cancelHandlers: [() -> Void] = []
    /// Completions of output files being written on writer threads, by token.
    private var outputWrites: [Int: (Result<String, JobFailure>) -> Void] = [:]
    private var nextOutputWrite = 0
    public private(set) var isCancelled = false
    private var lastProgressWrite = -Double.infinity
    private var pendingProgress: Double?
    private var progressTimer: TimerWatcher?
    /// The latest progress reported (0–1), for live views.
    public private(set) var progress: Double = 0
    /// A short word on what the job waits for ("submitting", "polling", "downloading", …).
    public var phase: String = "starting"

    init(
        job: Job, params: JobParams, slot: Int, loop: EventLoop, settings: WorkerSettings, log: WorkerLog,
        http: HTTPClient,
        store: JobStore, inputs: InputResolver, provider: String = "", throttle: ProviderThrottle? = nil,
        outputBudget: OutputBackPressure
    ) {
        self.job = job
        self.params = params
        self.slot = slot
        self.loop = loop
        self.settings = settings
        self.log = log
        self.http = http
        self.store = store
        self.inputs = inputs
        self.provider = provider
        self.throttle = throttle ?? ProviderThrottle(clock: { loop.now })
        self.outputBudget = outputBudget
        outputs = JobOutputs(root: settings.outputDirectory, jobID: job.id)
    }

    /// Sends an HTTP request owned by this job: cancelled with it. The completion is not
    /// called once the job was cancelled.
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

    func registerOutputWrite(_ completion: @escaping (Result<String, JobFailure>) -> Void) -> Int {
        nextOutputWrite += 1
        outputWrites[nextOutputWrite] = completion
        return nextOutputWrite
    }

    func takeOutputWrite(_ token: Int) -> ((Result<String, JobFailure>) -> Void)? {
        outputWrites.removeValue(forKey: token)
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

    /// A setting or secret by its environment name ("OPENAI_API_KEY"); empty counts as missing.
    public func setting(_ name: String) -> String? {
        guard let value = settings.values[name], !value.isEmpty else { return nil }
        return value
    }

    /// A required credential, or the failure that names the variable to set.
    public func credential(_ name: String) throws(JobFailure) -> String {
        guard let value = setting(name) else {
            throw .permanent("\(name) is not set; add it to .env or the worker's environment")
        }
        return value
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
        outputWrites.removeAll()
        let handlers = cancelHandlers
        cancelHandlers.removeAll()
        for handler in handlers { handler() }
    }

    /// Stops leftover timers once the job finished normally.
    func finishCleanup() {
        for timer in timers.values { timer.stop() }
        timers.removeAll()
        progressTimer?.stop()
        outputWrites.removeAll()
        cancelHandlers.removeAll()
    }
}
