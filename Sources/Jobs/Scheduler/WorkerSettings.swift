import Reactor

/// What the worker runs with. Built by the executable from the environment, `.env` and
/// flags; the Jobs module never reads the environment itself.
public struct WorkerSettings: Sendable {
    /// The SQLite file or PostgreSQL database the jobs live in.
    public var store: JobStoreLocation
    public var outputDirectory: String
    public var maxConcurrentJobs: Int
    public var mediaPoolSize: Int
    /// The slow safety-net poll of the table, in seconds (change hints do the fast work).
    public var fallbackPollSeconds: Double
    public var leaseSeconds: Double
    /// Times a worker may stop while running one job (crash, kill, power loss) before the job
    /// fails instead of running again: a job that kills its worker must not do so forever.
    public var maxInterruptions: Int = 5
    public var shutdownTimeoutSeconds: Double
    /// Per job type (`job_type` word) or "default": seconds a job may run before it is stopped.
    public var jobTimeoutSeconds: [String: Double]
    /// Per gate key (provider name or "ffmpeg"): most jobs at once.
    public var providerCaps: [String: Int]
    /// Per provider: most requests per minute.
    public var providerRatesPerMinute: [String: Double]
    public var retryPolicy: RetryPolicy
    /// Upper bound on any single API request (a provider that never answers is cut off after
    /// this); nil keeps each client's own limit. Downloads are guarded by a stall timeout instead.
    public var requestTimeoutSeconds: Double?
    /// What the providers charge (the shipped table, or `PRICES_FILE`).
    public var prices: PriceTable = .shipped
    /// `<PROVIDER>_DAILY_BUDGET_USD` and `DAILY_BUDGET_USD`.
    public var budgets = DailyBudgets()
    /// Provider keys, base URLs and tuning by their environment names.
    public var values: [String: String]

    public init(
        store: JobStoreLocation = .sqlite(path: "./jobs.db"), outputDirectory: String = "./outputs",
        maxConcurrentJobs: Int = 3,
        mediaPoolSize: Int = 1, fallbackPollSeconds: Double = 5, leaseSeconds: Double = 60,
        shutdownTimeoutSeconds: Double = 60,
        jobTimeoutSeconds: [String: Double] = ["default": 3600], providerCaps: [String: Int] = [:],
        providerRatesPerMinute: [String: Double] = [:], retryPolicy: RetryPolicy = RetryPolicy(),
        values: [String: String] = [:]
    ) {
        self.store = store
        self.outputDirectory = outputDirectory
        self.maxConcurrentJobs = maxConcurrentJobs
        self.mediaPoolSize = mediaPoolSize
        self.fallbackPollSeconds = fallbackPollSeconds
        self.leaseSeconds = leaseSeconds
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
        self.jobTimeoutSeconds = jobTimeoutSeconds
        self.providerCaps = providerCaps
        self.providerRatesPerMinute = providerRatesPerMinute
        self.retryPolicy = retryPolicy
        self.values = values
    }

    /// The time limit for a job of `type`.
    public func timeout(for type: String) -> Double {
        jobTimeoutSeconds[type] ?? jobTimeoutSeconds["default"] ?? 3600
    }
}

extension WorkerSettings {
    /// The settings once, for every job's context to point to: inline they are 200 bytes in each
    /// context, 400 KB with 2,000 jobs in flight.
    public final class Shared: Sendable {
        public let value: WorkerSettings

        public init(_ value: WorkerSettings) { self.value = value }
    }
}
