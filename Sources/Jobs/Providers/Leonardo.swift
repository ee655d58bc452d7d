import Foundation
import JSON
import Reactor

/// `image_generation` with provider `leonardo`: Leonardo.ai's v1 REST API (PROVIDERS.md §1).
/// Submits `POST {LEONARDO_BASE_URL}/generations`, polls `GET /generations/{id}` until `COMPLETE`
/// or `FAILED`, then every generated image is downloaded.
///
/// Not confirmed (PROVIDERS.md §9.1): the HTTP status of each documented error body, whether
/// rate limiting is a 429 with Retry-After (treated like any 429), and how long the CDN URLs
/// live (downloaded at once either way). Leonardo takes no caller's id, so a crash between its
/// accepting a submit and the worker recording the generation id cannot be matched later.
public struct Leonardo: ProviderAPI {
    public static let name = ProviderName(key: "leonardo", display: "Leonardo")
    /// The model of Leonardo's own quick-start example, used when `params.model` is absent.
    public static let defaultModelID = "6bef9f1b-29cb-40c7-b9df-32b51c1f67d3"

    public init() {}

    public var name: ProviderName { Self.name }
    public var errors: ProviderErrorTable { LeonardoErrors.table }
    public var submitKind: SubmitKind { .paid }
    public var polling: PollSchedule? { PollSchedule(base: 3, maximum: 15) }

    public func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        let key = try settings.credential("LEONARDO_API_KEY")
        return ProviderConnection(
            base: settings.baseURL("LEONARDO_BASE_URL", default: "https://cloud.leonardo.ai/api/rest/v1"),
            headers: [("Authorization", "Bearer \(key)")])
    }

    public func submitRequest(
        _ job: ProviderJob, images: [String: ProviderImageInput], _ connection: ProviderConnection
    )
        throws(JobFailure) -> HTTPRequest
    {
        .postJSON(
            url: "\(connection.base)/generations", json: try Self.requestBody(job.params), headers: connection.headers()
        )
    }

    public func readSubmit(_ answer: ProviderAnswer, _ job: ProviderJob) throws(JobFailure) -> SubmitOutcome {
        .task(ProviderTask(id: try answer.requiredString("sdGenerationJob.generationId"), state: "submitted"))
    }

    public func pollRequest(_ task: ProviderTask, _ job: ProviderJob, _ connection: ProviderConnection)
        -> HTTPRequest
    {
        HTTPRequest(
            url: "\(connection.base)/generations/\(task.id)",
            headers: connection.headers() + [("Accept", "application/json")])
    }

    public func readPoll(_ answer: ProviderAnswer, _ task: ProviderTask) throws(JobFailure) -> TaskPoll {
        try Self.readGeneration(answer, id: task.id)
    }

    /// The create-generation body from the job's params; `options` passes anything else through.
    static func requestBody(_ params: JobParams) throws(JobFailure) -> Data {
        var body: [String: JSONValue] = [
            "prompt": .string(try params.requiredString("prompt", for: "image_generation")),
            "modelId": .string(try params.string("model") ?? defaultModelID),
        ]
        if let width = try params.int("width", range: 32...4096) { body["width"] = .number(Double(width)) }
        if let height = try params.int("height", range: 32...4096) { body["height"] = .number(Double(height)) }
        if let count = try params.int("num_images", range: 1...8) { body["num_images"] = .number(Double(count)) }
        if let negative = try params.string("negative_prompt") { body["negative_prompt"] = .string(negative) }
        if let seed = try params.int("seed") { body["seed"] = .number(Double(seed)) }
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        return JSONValue.object(body).jsonData()
    }

    /// Reads one poll: `PENDING` waits; `COMPLETE` gives the image URLs; `FAILED` or an unknown
    /// generation (`generations_by_pk: null`) ends the job.
    static func readGeneration(_ answer: ProviderAnswer, id: String) throws(JobFailure) -> TaskPoll {
        guard answer.value("generations_by_pk") != nil else {
            throw .permanent("Leonardo has no generation \(id) (HTTP \(answer.status), generations_by_pk is null)")
        }
        let status = try answer.requiredString("generations_by_pk.status")
        switch LeonardoStatus(rawValue: status) {
        case .pending:
            return .pending(state: status)
        case .failed:
            throw .permanent("Leonardo generation \(id) ended FAILED (HTTP \(answer.status)); no images were made")
        case .complete:
            let images = answer.value("generations_by_pk.generated_images")?.arrayValue ?? []
            guard !images.isEmpty else {
                throw answer.missing("generations_by_pk.generated_images[] for a COMPLETE generation")
            }
            var files: [ProviderFile] = []
            for index in images.indices {
                files.append(
                    ProviderFile(.url(try answer.requiredString("generations_by_pk.generated_images.\(index).url"))))
            }
            return .done(ProviderResult(files: files, taskID: id))
        case nil:
            throw .permanent("Leonardo generation \(id) has the unknown status '\(status)' (HTTP \(answer.status))")
        }
    }
}

/// Leonardo's generation status words (the SDK's `JobStatus`).
enum LeonardoStatus: String {
    case pending = "PENDING"
    case complete = "COMPLETE"
    case failed = "FAILED"
}

/// Leonardo's two documented error shapes: `{"error", "path", "code"}` (Hasura style) and the
/// GraphQL-style `{"message", "path": [...], "extensions"}` of the newer SDK; both are read.
public enum LeonardoErrors {
    public static let table = ProviderErrorTable(
        provider: Leonardo.name,
        message: { body in
            guard let text = body["error"]?.stringValue ?? body["message"]?.stringValue else { return nil }
            let code = body["code"]?.stringValue ?? body["extensions"]?["code"]?.stringValue
            return code.map { "\($0): \(text)" } ?? text
        })
}
