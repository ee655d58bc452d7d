import Foundation
import JSON
import Reactor

/// `animation` with provider `seedance`: Seedance video tasks on Ark (PROVIDERS.md §7).
/// `POST {ARK_BASE_URL}/contents/generations/tasks` with the prompt and, when given, the image as
/// the first frame; polled at `GET …/tasks/{id}` until `succeeded` (then `content.video_url`,
/// deleted after 24 h, is downloaded at once) or `failed` / `cancelled` / `expired`.
///
/// Output settings go as the 1.0 series' text commands appended to the prompt (`--dur`, `--rt`,
/// `--wm false`). Newer models take them as top-level fields instead (form B, not confirmed on
/// the vendor page); `options` passes such fields through. `mode` has no Seedance meaning.
///
/// Ark takes no caller's id for a task, but it keeps the `seed` each task was made with and
/// lists an account's tasks, newest first, with it. So every create carries a seed of the
/// worker's own choosing (`--seed`, derived from our `ExternalTaskID`; a random seed either way,
/// as the default `-1` is), and a submission whose task id was never recorded (a crash, a lost
/// answer) is found by it in the list instead of paid for again. A job whose own `options` or
/// prompt set a seed cannot be found that way.
public struct Seedance: ProviderAPI {
    public static let name = ProviderName(key: "seedance", display: "Seedance (Ark)")
    public static let defaultModel = "seedance-1-0-pro-250528"
    /// Tasks per page when looking for a lost one.
    static let findPageSize = 50

    public init() {}

    public var name: ProviderName { Self.name }
    public var errors: ProviderErrorTable { ArkErrors.seedance }
    public var submitKind: SubmitKind { .paid }
    public var polling: PollSchedule? { PollSchedule(base: 5, maximum: 30) }
    public var imageParams: [ImageParam] { [ImageParam("image", encoding: .dataURL, required: false)] }
    public var canFindTasks: Bool { true }

    public func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        let connection = try ArkErrors.connect(settings)
        return ProviderConnection(
            base: connection.base + "/contents/generations/tasks", headers: connection.headers,
            refreshCredentials: nil)
    }

    public func submitRequest(
        _ job: ProviderJob, images: [String: ProviderImageInput], _ connection: ProviderConnection
    )
        throws(JobFailure) -> HTTPRequest
    {
        .postJSON(
            url: connection.base, json: try Self.requestBody(job, image: images["image"]), headers: connection.headers()
        )
    }

    static func requestBody(_ job: ProviderJob, image: ProviderImageInput?) throws(JobFailure) -> Data {
        let params = job.params
        let prompt = image != nil ? try params.string("prompt") : try params.requiredString("prompt", for: "animation")
        var commands = ["--dur \(try params.int("duration", range: 1...60) ?? 5)"]
        if let ratio = try params.string("aspect_ratio") { commands.append("--rt \(ratio)") }
        commands.append("--wm false")
        if let seed = try findingSeed(job) { commands.append("--seed \(seed)") }
        let text = ([prompt].compactMap { $0 } + commands).joined(separator: " ")
        var content: [JSONValue] = [["type": "text", "text": .string(text)]]
        if let image {
            content.append(["type": "image_url", "image_url": ["url": .string(image.value)], "role": "first_frame"])
        }
        var body: [String: JSONValue] = [
            "model": .string(try params.string("model") ?? defaultModel),
            "content": .array(content),
        ]
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        return JSONValue.object(body).jsonData()
    }

    /// The seed that marks this submission's task, nil when the job sets its own.
    static func findingSeed(_ job: ProviderJob) throws(JobFailure) -> Int? {
        if try job.params.object("options")?["seed"] != nil { return nil }
        if try job.params.string("prompt")?.contains("--seed") == true { return nil }
        return seed(for: job.externalID)
    }

    /// A seed in 1…2³¹−1 from our key (FNV-1a), the same for every send of one submission.
    static func seed(for externalID: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in externalID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0100_0000_01b3
        }
        return Int(hash % 2_147_483_646) + 1
    }

    public func readSubmit(_ answer: ProviderAnswer, _ job: ProviderJob) throws(JobFailure) -> SubmitOutcome {
        .task(ProviderTask(id: try answer.requiredString("id"), state: "queued"))
    }

    public func pollRequest(_ task: ProviderTask, _ job: ProviderJob, _ connection: ProviderConnection)
        -> HTTPRequest
    {
        HTTPRequest(
            url: "\(connection.base)/\(task.id)", headers: connection.headers() + [("Accept", "application/json")])
    }

    public func readPoll(_ answer: ProviderAnswer, _ task: ProviderTask) throws(JobFailure) -> TaskPoll {
        try Self.readTask(answer, id: task.id)
    }

    /// Reads one poll: `queued`/`running` wait; `succeeded` gives `content.video_url`;
    /// `failed`, `cancelled` and `expired` end the job with Ark's `error.code: error.message`.
    static func readTask(_ answer: ProviderAnswer, id: String) throws(JobFailure) -> TaskPoll {
        let status = try answer.requiredString("status")
        switch status {
        case "queued", "running":
            return .pending(state: status)
        case "succeeded":
            let url = try answer.requiredString("content.video_url")
            return .done(ProviderResult(files: [ProviderFile(.url(url), name: "video.mp4")], taskID: id))
        case "failed", "cancelled", "expired":
            let code = answer.string("error.code")
            let message = answer.string("error.message") ?? "no error message given"
            let reason = code.map { "\($0): \(message)" } ?? message
            throw .permanent("Seedance task \(id) ended \(status) (HTTP \(answer.status)): \(reason)")
        default:
            throw .permanent("Seedance task \(id) has the unknown status '\(status)' (HTTP \(answer.status))")
        }
    }

    /// A page of the account's tasks of this model, newest first.
    public func findRequest(_ job: ProviderJob, page: Int, _ connection: ProviderConnection) -> HTTPRequest? {
        guard (try? Self.findingSeed(job)) ?? nil != nil else { return nil }
        let model = (try? job.params.string("model")) ?? nil ?? Self.defaultModel
        let encoded = model.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? model
        return HTTPRequest(
            url: "\(connection.base)?page_num=\(page)&page_size=\(Self.findPageSize)&filter.model=\(encoded)",
            headers: connection.headers() + [("Accept", "application/json")])
    }

    /// The task with our seed on this page; none on it and the page reaches back past the job's
    /// creation (or is the last) means none exists.
    public func readFind(_ answer: ProviderAnswer, _ job: ProviderJob, page: Int) throws(JobFailure) -> FindResult {
        guard let seed = try Self.findingSeed(job) else { return .notFound }
        guard let items = answer.value("items")?.arrayValue else { throw answer.missing("items[]") }
        for item in items where item["seed"]?.intValue == seed {
            guard let id = item["id"]?.stringValue else { continue }
            return .found(ProviderTask(id: id, state: item["status"]?.stringValue ?? "queued"))
        }
        let oldest = items.compactMap { $0["created_at"]?.doubleValue }.min()
        if items.count < Self.findPageSize { return .notFound }
        if let oldest, let created = job.createdAt, oldest < created - 60 { return .notFound }
        return .nextPage
    }
}
