/// The scheduler's live state at one moment, for metrics and other observers. A value: it
/// is taken on the loop thread and may then be read on any thread.
public struct SchedulerSnapshot: Sendable {
    /// One job this worker is running.
    public struct ActiveJob: Sendable {
        public var id: Int64
        /// Its slot in the gate, 0 … capacity−1 (the N of `Thread-JobWorker-N`).
        public var slot: Int
        public var type: String
        public var provider: String
        /// 0–1, as last reported by the handler.
        public var progress: Double
        /// A short word on what the job waits for ("submitting", "polling", …).
        public var phase: String
        /// Unix seconds when this attempt started.
        public var startedAt: Double

        public init(
            id: Int64, slot: Int, type: String, provider: String, progress: Double, phase: String, startedAt: Double
        ) {
            self.id = id
            self.slot = slot
            self.type = type
            self.provider = provider
            self.progress = progress
            self.phase = phase
            self.startedAt = startedAt
        }
    }

    /// Running jobs, by slot.
    public var active: [ActiveJob]
    /// MAX_CONCURRENT_JOBS: slots in the gate.
    public var capacity: Int
    /// Bytes of output files held in memory until the disk takes them: images waiting for the
    /// output writers (base64 counted as received), and downloaded chunks waiting for their files' queues.
    public var outputBytesWaiting = 0
    /// Downloads paused until the disk catches up.
    public var downloadsWaitingForDisk = 0
    /// Times this worker stopped reading provider answers because decoded outputs waited for
    /// the disk (never reset).
    public var answerPauses = 0
    /// The longest the loop has been busy in one iteration since it started, in seconds: the
    /// most any timer or socket has waited for it.
    public var loopLongestIteration: Double = 0

    public init(active: [ActiveJob], capacity: Int) {
        self.active = active
        self.capacity = capacity
    }
}

/// How one run of a job ended, reported by the scheduler as it records it.
public struct JobRunEnded: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        case completed, failed, retrying, cancelled, held
    }

    public var id: Int64
    public var type: String
    public var provider: String
    public var outcome: Outcome
    /// Seconds from claim to end of this attempt.
    public var duration: Double
    /// The error of a failed or retrying attempt (already redacted).
    public var error: String?

    public init(id: Int64, type: String, provider: String, outcome: Outcome, duration: Double, error: String?) {
        self.id = id
        self.type = type
        self.provider = provider
        self.outcome = outcome
        self.duration = duration
        self.error = error
    }

    /// From what the scheduler logged when it recorded the end: the log event says whether
    /// a failure will be retried ("retry") or was final.
    init(id: Int64, fields: WorkerLog.Fields, outcome: JobOutcome, redactor: SecretRedactor) {
        var error: String?
        if case .failed(let failure) = outcome { error = redactor.redact(failure.message) }
        let ended: Outcome =
            switch fields.event {
            case "completed": .completed
            case "retry": .retrying
            case "held": .held
            default: .failed
            }
        self.init(
            id: id, type: fields.type ?? "", provider: fields.provider ?? "", outcome: ended,
            duration: fields.duration ?? 0, error: error)
    }
}
