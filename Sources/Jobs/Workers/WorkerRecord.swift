import JSON

/// What a worker writes about itself into the `workers` table when it starts.
public struct WorkerRecord: Sendable, Equatable {
    /// "host:pid:start": the `lease_owner` of the jobs it holds.
    public var id: String
    public var host: String
    public var pid: Int32
    public var version: String
    /// MAX_CONCURRENT_JOBS: the size of its gate.
    public var maxConcurrentJobs: Int
    /// How long its leases (and so its heartbeat) last without renewal.
    public var leaseSeconds: Double
    /// `<PROVIDER>_MAX_CONCURRENT` by provider.
    public var providerCaps: [String: Int]
    /// The dashboard it serves, if any.
    public var webURL: String?

    public init(
        id: String, host: String, pid: Int32, version: String, maxConcurrentJobs: Int, leaseSeconds: Double,
        providerCaps: [String: Int] = [:], webURL: String? = nil
    ) {
        self.id = id
        self.host = host
        self.pid = pid
        self.version = version
        self.maxConcurrentJobs = maxConcurrentJobs
        self.leaseSeconds = leaseSeconds
        self.providerCaps = providerCaps
        self.webURL = webURL
    }
}

/// What a worker's heartbeat says about one provider right now.
public struct ProviderActivity: Sendable, Equatable {
    /// Jobs of this provider running now.
    public var inFlight = 0
    /// HTTP 429 answers from it since the worker started.
    public var rateLimited = 0
    /// Failed attempts (retried or final) since the worker started.
    public var errors = 0

    public init(inFlight: Int = 0, rateLimited: Int = 0, errors: Int = 0) {
        self.inFlight = inFlight
        self.rateLimited = rateLimited
        self.errors = errors
    }

    var json: JSONValue {
        [
            "in_flight": .number(Double(inFlight)), "rate_limited": .number(Double(rateLimited)),
            "errors": .number(Double(errors)),
        ]
    }

    init(json: JSONValue) {
        inFlight = json["in_flight"]?.intValue ?? 0
        rateLimited = json["rate_limited"]?.intValue ?? 0
        errors = json["errors"]?.intValue ?? 0
    }
}

/// The version this build reports in `workers.version` and `--version`.
public enum ReactorWorkerVersion {
    public static let text = "0.7.0"
}
