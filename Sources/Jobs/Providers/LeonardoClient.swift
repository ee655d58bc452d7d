import Foundation
import JSON
import Reactor

/// `image_generation` with provider `leonardo`: Leonardo.ai's v1 REST API (PROVIDERS.md §1).
/// Submits `POST {LEONARDO_BASE_URL}/generations`, polls `GET /generations/{id}` on loop timers
/// until `COMPLETE` or `FAILED`, then downloads every generated image. Loop thread only.
///
/// Not confirmed (PROVIDERS.md §9.1): the HTTP status of each documented error body, whether
/// rate limiting is a 429 with Retry-After (treated like any 429), and how long the CDN URLs
/// live (downloaded at once either way).
public struct LeonardoClient: JobHandler {
    /// The model of Leonardo's own quick-start example, used when `params.model` is absent.
    public static let defaultModelID = "6bef9f1b-29cb-40c7-b9df-32b51c1f67d3"
    static let api = "Leonardo"

    public init() {}

    public func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) {
        let key: String
        let schedule: PollSchedule
        let base = context.baseURL("LEONARDO_BASE_URL", default: "https://cloud.leonardo.ai/api/rest/v1")
        do {
            key = try context.credential("LEONARDO_API_KEY")
            schedule = try PollSchedule.forProvider("LEONARDO", base: 3, maximum: 15, context: context)
        } catch {
            finish(.failed(error))
            return
        }
        let headers: [(name: String, value: String)] = [("Authorization", "Bearer \(key)")]
        let started = context.loop.now
        let poll = { (id: String, firstDelay: Double) in
            context.pollProviderTask(
                taskID: id, schedule: schedule, errors: LeonardoErrors.table, firstDelay: firstDelay,
                request: {
                    HTTPRequest(url: "\(base)/generations/\(id)", headers: headers + [("Accept", "application/json")])
                },
                read: { response throws(JobFailure) in try Self.readGeneration(response, id: id) }
            ) { outcome in
                switch outcome {
                case .failure(let failure):
                    finish(.failed(failure))
                case .success(let urls):
                    let waited = context.loop.now - started
                    context.saveImages(urls.map(ProviderOutput.url), api: Self.api) {
                        downloaded in
                        switch downloaded {
                        case .failure(let failure): finish(.failed(failure))
                        case .success(let files):
                            finish(
                                .completed(
                                    result: context.providerResult(files: files, taskID: id, providerSeconds: waited)))
                        }
                    }
                }
            }
        }
        context.resumeOrSubmitTask(
            api: Self.api, resume: { poll($0, 0) },
            body: { () throws(JobFailure) in try Self.requestBody(context.params) },
            submit: { body, done in
                context.callProvider(
                    .postJSON(url: "\(base)/generations", json: body, headers: headers), errors: LeonardoErrors.table,
                    submit: .paid, completion: done)
            },
            task: { answer throws(JobFailure) in
                (try answer.requiredString("sdGenerationJob.generationId"), "submitted")
            },
            submitted: { id, _, _ in poll(id, schedule.base) }, finish: finish)
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
    static func readGeneration(_ response: HTTPResponse, id: String) throws(JobFailure) -> TaskPoll<[String]> {
        let answer = try ProviderAnswer(response, api: api, kind: .transient)
        guard answer.value("generations_by_pk") != nil else {
            throw .permanent("Leonardo has no generation \(id) (HTTP \(response.status), generations_by_pk is null)")
        }
        let status = try answer.requiredString("generations_by_pk.status")
        switch LeonardoStatus(rawValue: status) {
        case .pending:
            return .pending(state: status)
        case .failed:
            throw .permanent("Leonardo generation \(id) ended FAILED (HTTP \(response.status)); no images were made")
        case .complete:
            let images = answer.value("generations_by_pk.generated_images")?.arrayValue ?? []
            guard !images.isEmpty else {
                throw answer.missing("generations_by_pk.generated_images[] for a COMPLETE generation")
            }
            var urls: [String] = []
            for index in images.indices {
                urls.append(try answer.requiredString("generations_by_pk.generated_images.\(index).url"))
            }
            return .done(urls)
        case nil:
            throw .permanent("Leonardo generation \(id) has the unknown status '\(status)' (HTTP \(response.status))")
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
        name: "Leonardo",
        message: { body in
            guard let text = body["error"]?.stringValue ?? body["message"]?.stringValue else { return nil }
            let code = body["code"]?.stringValue ?? body["extensions"]?["code"]?.stringValue
            return code.map { "\($0): \(text)" } ?? text
        })
}
