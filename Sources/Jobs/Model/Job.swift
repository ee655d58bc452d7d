/// A job as claimed from the store: what a handler needs to run it.
public struct Job: Sendable {
    public var id: Int64
    /// The raw `job_type` text; may name a type this worker does not know.
    public var typeName: String
    /// The raw `params` text; may be malformed (the handler fails the job, naming why).
    public var paramsText: String
    public var priority: Int
    /// Attempts including this one.
    public var attempts: Int
    public var maxAttempts: Int
    /// The provider's task id recorded by an earlier attempt, to resume instead of resubmitting.
    public var providerTaskID: String?
    /// The provider's last word recorded for the job (its task's state, or that a submit's fate
    /// is unknown: `ProviderState.unconfirmedSubmit`).
    public var providerState: String?
    /// Times a worker stopped while running this job.
    public var interruptions: Int
    /// Which paid submission this is (part of `ExternalTaskID`).
    public var submission: Int
    /// Unix seconds the row was created, when the row says.
    public var createdAt: Double?

    public init(
        id: Int64, typeName: String, paramsText: String, priority: Int = 0, attempts: Int = 1, maxAttempts: Int = 3,
        providerTaskID: String? = nil, providerState: String? = nil, interruptions: Int = 0, submission: Int = 1,
        createdAt: Double? = nil
    ) {
        self.id = id
        self.typeName = typeName
        self.paramsText = paramsText
        self.priority = priority
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.providerTaskID = providerTaskID
        self.providerState = providerState
        self.interruptions = interruptions
        self.submission = submission
        self.createdAt = createdAt
    }

    public var type: JobType? { JobType(rawValue: typeName) }

    /// The claim order every store keeps: types claimed first (keying), then higher priority,
    /// then the older job.
    public static func claimsBefore(_ a: Job, _ b: Job) -> Bool {
        let aFirst = a.type?.isClaimedFirst ?? false
        let bFirst = b.type?.isClaimedFirst ?? false
        if aFirst != bFirst { return aFirst }
        if a.priority != b.priority { return a.priority > b.priority }
        return a.id < b.id
    }

    /// Whether claiming this run counted an attempt: it did unless the run resumes a provider
    /// task an earlier run paid for (polling is free; the paid part happened once). A failure of a
    /// run that counted none counts one then.
    public var attemptCounted: Bool { providerTaskID == nil }
}
