import Foundation
import JSON
import Reactor

/// `animation` with provider `kling`: Kling AI video tasks (PROVIDERS.md §6).
/// `POST {KLING_BASE_URL}/v1/videos/image2video` when `params.image` is given, else
/// `/v1/videos/text2video`; polled at `GET /v1/videos/{family}/{task_id}` until `succeed` (then
/// `data.task_result.videos[0].url` is downloaded) or `failed`. Every request carries a JWT built
/// from `KLING_ACCESS_KEY` / `KLING_SECRET_KEY`, fresh for each send.
///
/// Every create carries our own key as `external_task_id` (`ExternalTaskID`), which Kling keeps
/// unique per account: a second create with it is refused (HTTP 400, code 1201), and the query
/// endpoint answers for it as for a task id. So a create whose answer was lost, or whose task id
/// a crash kept from being recorded, is found by that key and resumed, never paid for twice.
/// Kling documents no Retry-After (not confirmed); codes 1302/1303 are waited out with back-off.
public struct Kling: ProviderAPI {
    public static let name = ProviderName(key: "kling", display: "Kling")
    public static let defaultBaseURL = "https://api-singapore.klingai.com"
    /// Kling's documented default model.
    public static let defaultModel = "kling-v1"

    let tokens: KlingTokenCache

    public init(tokens: KlingTokenCache = KlingTokenCache()) { self.tokens = tokens }

    public var name: ProviderName { Self.name }
    public var errors: ProviderErrorTable { KlingErrors.table }
    public var submitKind: SubmitKind { .paidDeduplicated }
    public var polling: PollSchedule? { PollSchedule(base: 5, maximum: 30) }
    public var imageParams: [ImageParam] { [ImageParam("image", encoding: .rawBase64, required: false)] }
    public var canFindTasks: Bool { true }

    public func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        let accessKey = try settings.credential("KLING_ACCESS_KEY")
        let secretKey = try settings.credential("KLING_SECRET_KEY")
        let tokens = tokens
        return ProviderConnection(
            base: settings.baseURL("KLING_BASE_URL", default: Self.defaultBaseURL),
            headers: { [("Authorization", "Bearer \(tokens.token(accessKey: accessKey, secretKey: secretKey))")] },
            refreshCredentials: tokens.invalidate)
    }

    /// The family decides the create and the poll path, so a resumed job derives it the same way.
    static func family(_ params: JobParams) -> String { params["image"] == nil ? "text2video" : "image2video" }

    public func submitRequest(
        _ job: ProviderJob, images: [String: ProviderImageInput], _ connection: ProviderConnection
    )
        throws(JobFailure) -> HTTPRequest
    {
        .postJSON(
            url: "\(connection.base)/v1/videos/\(Self.family(job.params))",
            json: try Self.requestBody(job, image: images["image"]), headers: connection.headers())
    }

    public func readSubmit(_ answer: ProviderAnswer, _ job: ProviderJob) throws(JobFailure) -> SubmitOutcome {
        try KlingErrors.checkCode(answer)
        return .task(
            ProviderTask(
                id: try answer.requiredString("data.task_id"), state: answer.string("data.task_status") ?? "submitted"))
    }

    public func pollRequest(_ task: ProviderTask, _ job: ProviderJob, _ connection: ProviderConnection)
        -> HTTPRequest
    {
        HTTPRequest(
            url: "\(connection.base)/v1/videos/\(Self.family(job.params))/\(task.id)",
            headers: connection.headers() + [("Accept", "application/json")])
    }

    public func readPoll(_ answer: ProviderAnswer, _ task: ProviderTask) throws(JobFailure) -> TaskPoll {
        try Self.readTask(answer, id: task.id)
    }

    /// The query endpoint takes our `external_task_id` in place of a task id.
    public func findRequest(_ job: ProviderJob, page: Int, _ connection: ProviderConnection) -> HTTPRequest? {
        guard page == 1 else { return nil }
        return HTTPRequest(
            url: "\(connection.base)/v1/videos/\(Self.family(job.params))/\(job.externalID)",
            headers: connection.headers() + [("Accept", "application/json")])
    }

    /// The task the query answered with, when it is the one under our key (an unknown key is a 404).
    public func readFind(_ answer: ProviderAnswer, _ job: ProviderJob, page: Int) throws(JobFailure) -> FindResult {
        try KlingErrors.checkCode(answer)
        guard let id = answer.string("data.task_id") else { return .notFound }
        if let external = answer.string("data.task_info.external_task_id"), external != job.externalID {
            return .notFound
        }
        return .found(ProviderTask(id: id, state: answer.string("data.task_status") ?? "submitted"))
    }

    /// Kling refuses a create whose `external_task_id` it has seen with HTTP 400, code 1201
    /// ("Invalid parameter"), naming the key; 1201 for any other parameter is not this.
    public func isDuplicateSubmit(_ response: HTTPResponse) -> Bool {
        guard response.status == 400, let body = try? JSONValue.parse(response.body), body["code"]?.intValue == 1201
        else { return false }
        return body["message"]?.stringValue?.contains("external_task_id") == true
    }

    /// The create-task body. `duration` is a string ("5"), as Kling rejects a number.
    static func requestBody(_ job: ProviderJob, image: ProviderImageInput?) throws(JobFailure) -> Data {
        let params = job.params
        var body: [String: JSONValue] = [
            "model_name": .string(try params.string("model") ?? defaultModel),
            "duration": .string(String(try params.int("duration", range: 1...60) ?? 5)),
            "mode": .string(try params.string("mode") ?? "std"),
            "external_task_id": .string(job.externalID),
        ]
        if let image {
            // Kling takes a URL or raw base64 without a data: prefix (PROVIDERS.md §8).
            body["image"] = .string(image.value)
            if let prompt = try params.string("prompt") { body["prompt"] = .string(prompt) }
        } else {
            body["prompt"] = .string(try params.requiredString("prompt", for: "animation without an image"))
            if let ratio = try params.string("aspect_ratio") { body["aspect_ratio"] = .string(ratio) }
        }
        if let negative = try params.string("negative_prompt") { body["negative_prompt"] = .string(negative) }
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        return JSONValue.object(body).jsonData()
    }

    /// Reads one poll: `submitted`/`processing` wait; `succeed` gives the video URL; `failed`
    /// ends the job with Kling's `task_status_msg`.
    static func readTask(_ answer: ProviderAnswer, id: String) throws(JobFailure) -> TaskPoll {
        try KlingErrors.checkCode(answer)
        let status = try answer.requiredString("data.task_status")
        switch status {
        case "submitted", "processing":
            return .pending(state: status)
        case "succeed":
            let url = try answer.requiredString("data.task_result.videos.0.url")
            return .done(ProviderResult(files: [ProviderFile(.url(url), name: "video.mp4")], taskID: id))
        case "failed":
            let reason = answer.string("data.task_status_msg") ?? "no reason given"
            throw .permanent("Kling task \(id) failed (HTTP \(answer.status)): \(reason)")
        default:
            throw .permanent("Kling task \(id) has the unknown status '\(status)' (HTTP \(answer.status))")
        }
    }
}
