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

    public init(
        id: Int64, typeName: String, paramsText: String, priority: Int = 0, attempts: Int = 1, maxAttempts: Int = 3,
        providerTaskID: String? = nil
    ) {
        self.id = id
        self.typeName = typeName
        self.paramsText = paramsText
        self.priority = priority
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.providerTaskID = providerTaskID
    }

    public var type: JobType? { JobType(rawValue: typeName) }

    /// Whether claiming this run counted an attempt: it did unless the run resumes a provider
    /// task an earlier run paid for (polling is free; the paid part happened once). A failure of a
    /// run that counted none counts one then.
    public var attemptCounted: Bool { providerTaskID == nil }
}
