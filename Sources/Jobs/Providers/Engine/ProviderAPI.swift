import JSON
import Reactor

/// What one provider's API is, apart from the life every paid task shares.
///
/// A description says only what differs per API: its name and error table, how to build the
/// submit request from a job and read its answer (a task to poll, or the outputs at once), how
/// to build and read a poll, and, where the provider offers it, how to find a task by our own
/// key. It does no I/O and keeps no state between calls (Kling's token cache aside, which only
/// saves signing work), so each one is unit-tested with recorded answers and no network.
/// `ProviderEngine` runs the life for all of them: credentials, throttle, resume or submit under
/// the billing rules, polling on its schedule, finding lost tasks, outputs and the result.
public protocol ProviderAPI {
    var name: ProviderName { get }
    var errors: ProviderErrorTable { get }
    /// What a lost submit answer means for paying twice (`SubmitKind`).
    var submitKind: SubmitKind { get }
    /// The poll interval's defaults (`<KEY>_POLL_SECONDS` and `_POLL_MAX_SECONDS` override them);
    /// nil for an API that answers a submit with the outputs.
    var polling: PollSchedule? { get }
    /// The image params a submit carries inline, and how a local file is encoded for this API.
    var imageParams: [ImageParam] { get }
    /// The job's phase word while its submit is out ("submitting", "generating", …).
    var submitPhase: String { get }
    /// What a submit answer that cannot be read means: `.permanent` (the default) when a task
    /// may exist and a second submit would pay twice; `.transient` where the API is synchronous and
    /// another attempt is the user's choice (OpenAI's images).
    var brokenSubmitAnswer: JobFailure.Kind { get }

    /// Where requests go and what authorises them; throws, naming the variable, when a key is missing.
    func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection
    /// The submit request. Throws for a param the API cannot take, before anything is paid.
    func submitRequest(_ job: ProviderJob, images: [String: ProviderImageInput], _ connection: ProviderConnection)
        throws(JobFailure) -> HTTPRequest
    /// Reads a 2xx submit answer (parsed with failures counting as final: a task may exist).
    func readSubmit(_ answer: ProviderAnswer, _ job: ProviderJob) throws(JobFailure) -> SubmitOutcome
    /// The request that asks how `task` stands.
    func pollRequest(_ task: ProviderTask, _ job: ProviderJob, _ connection: ProviderConnection) -> HTTPRequest
    /// Reads a 2xx poll answer; a `.permanent` failure is the provider's own "failed".
    func readPoll(_ answer: ProviderAnswer, _ task: ProviderTask) throws(JobFailure) -> TaskPoll
    /// The request that looks for the task of `job`'s submission by our own key, page `page` (from
    /// 1); nil when this API has no way to (then a lost submit cannot be matched to its task).
    func findRequest(_ job: ProviderJob, page: Int, _ connection: ProviderConnection) -> HTTPRequest?
    /// Reads a 2xx answer to `findRequest`.
    func readFind(_ answer: ProviderAnswer, _ job: ProviderJob, page: Int) throws(JobFailure) -> FindResult
    /// Whether a refused submit says a task with our key exists already (Kling's code 1201).
    func isDuplicateSubmit(_ response: HTTPResponse) -> Bool
    /// Whether `findRequest` can find a submission's task (then a lost submit answer, a crash
    /// between submit and record, or a duplicate refusal resumes the task instead of paying again).
    var canFindTasks: Bool { get }
}

extension ProviderAPI {
    public var polling: PollSchedule? { nil }
    public var imageParams: [ImageParam] { [] }
    public var submitPhase: String { polling == nil ? "generating" : "submitting" }
    public var brokenSubmitAnswer: JobFailure.Kind { .permanent }

    public func pollRequest(_ task: ProviderTask, _ job: ProviderJob, _ connection: ProviderConnection)
        -> HTTPRequest
    {
        preconditionFailure("\(name.display) answers submits at once; it has no task to poll")
    }

    public func readPoll(_ answer: ProviderAnswer, _ task: ProviderTask) throws(JobFailure) -> TaskPoll {
        preconditionFailure("\(name.display) answers submits at once; it has no task to poll")
    }

    public func findRequest(_ job: ProviderJob, page: Int, _ connection: ProviderConnection) -> HTTPRequest? { nil }

    public func readFind(_ answer: ProviderAnswer, _ job: ProviderJob, page: Int) throws(JobFailure) -> FindResult {
        .notFound
    }

    public func isDuplicateSubmit(_ response: HTTPResponse) -> Bool { false }

    public var canFindTasks: Bool { false }
}

/// Where a provider's requests go and what authorises them, for one job run.
public struct ProviderConnection {
    /// The base URL without a trailing slash.
    public var base: String
    /// The auth headers, built at each send so that a wait never sends stale credentials.
    public var headers: () -> [(name: String, value: String)]
    /// Forgets cached credentials the provider called stale (Kling's JWT), before a resend.
    public var refreshCredentials: (() -> Void)?

    public init(
        base: String, headers: @escaping () -> [(name: String, value: String)],
        refreshCredentials: (() -> Void)? = nil
    ) {
        self.base = base
        self.headers = headers
        self.refreshCredentials = refreshCredentials
    }

    /// Fixed headers.
    public init(base: String, headers: [(name: String, value: String)]) {
        self.init(base: base, headers: { headers })
    }
}

/// What a description needs of the job it builds requests for.
public struct ProviderJob: Sendable {
    public var id: Int64
    /// The `job_type` word.
    public var type: String
    public var params: JobParams
    /// Our idempotency key for this submission (`ExternalTaskID`), sent where the API takes one.
    public var externalID: String
    /// Unix seconds the row was created: no task of this job can be older.
    public var createdAt: Double?

    public init(id: Int64, type: String, params: JobParams, externalID: String, createdAt: Double? = nil) {
        self.id = id
        self.type = type
        self.params = params
        self.externalID = externalID
        self.createdAt = createdAt
    }
}

/// An image param a submit carries: its key, whether the job type needs it, and how a local
/// file is sent to this API (a URL is passed as given).
public struct ImageParam: Sendable {
    public var key: String
    public var encoding: ProviderImageInput.Encoding
    public var required: Bool

    public init(_ key: String, encoding: ProviderImageInput.Encoding, required: Bool) {
        self.key = key
        self.encoding = encoding
        self.required = required
    }
}

/// A task the provider runs for a job: its id and the provider's word for its state, and the
/// URL to poll when the submit answer named one (BRIA's `status_url`).
public struct ProviderTask: Sendable, Equatable {
    public var id: String
    public var state: String
    public var pollURL: String?

    public init(id: String, state: String, pollURL: String? = nil) {
        self.id = id
        self.state = state
        self.pollURL = pollURL
    }
}

/// What a submit answer gave.
public enum SubmitOutcome: Sendable {
    /// A task to poll; its id is recorded before the first poll.
    case task(ProviderTask)
    /// The outputs, at once.
    case done(ProviderResult)
}

/// What one poll found.
public enum TaskPoll: Sendable {
    /// Still running; `state` is the provider's own word ("PENDING", "processing", …).
    case pending(state: String)
    case done(ProviderResult)

    /// The result when done, nil while pending.
    public var result: ProviderResult? {
        if case .done(let result) = self { return result }
        return nil
    }
}

/// What looking for a submission's task found.
public enum FindResult: Sendable, Equatable {
    case found(ProviderTask)
    case notFound
    /// Not on this page of the provider's list; the next may hold it.
    case nextPage
}

/// A finished provider task as the job's result reports it.
public struct ProviderResult: Sendable {
    /// The output files to save, in order.
    public var files: [ProviderFile]
    /// The provider's id for the work (task, generation or request id), when it gives one.
    public var taskID: String?
    /// What the job type adds to `result` (`model`, `usage`, `palette`, …).
    public var extra: [String: JSONValue]

    public init(files: [ProviderFile], taskID: String? = nil, extra: [String: JSONValue] = [:]) {
        self.files = files
        self.taskID = taskID
        self.extra = extra
    }
}

/// One output file as a provider hands it over.
public struct ProviderFile: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// To download, in the same run (many providers' URLs live only hours).
        case url(String)
        /// Base64 text in the answer itself (`b64_json`), decoded on a writer thread. Text that is
        /// not base64 fails the job naming `field`, as `kind` (what the API treats a broken answer as).
        case base64(String, field: String, kind: JobFailure.Kind)
    }

    public var source: Source
    /// The file's name in the job's folder; nil names it `image-N` plus the extension its URL or
    /// bytes show (`fallbackExtension` when they show none), N counting from 1 in order.
    public var name: String?
    public var fallbackExtension: String

    public init(_ source: Source, name: String? = nil, fallbackExtension: String = "jpg") {
        self.source = source
        self.name = name
        self.fallbackExtension = fallbackExtension
    }

    /// The URL of a file to download, nil for base64 output.
    public var url: String? {
        if case .url(let url) = source { return url }
        return nil
    }
}
