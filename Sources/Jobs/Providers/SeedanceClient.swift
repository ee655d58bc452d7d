import Foundation
import JSON
import Reactor

/// `animation` with provider `seedance`: Seedance video tasks on Ark (PROVIDERS.md §7).
/// `POST {ARK_BASE_URL}/contents/generations/tasks` with the prompt and, when given, the image as
/// the first frame; polled at `GET …/tasks/{id}` on loop timers until `succeeded` (then
/// `content.video_url`, deleted after 24 h, is downloaded at once) or `failed` / `cancelled` /
/// `expired`. Loop thread only.
///
/// Output settings go as the 1.0 series' text commands appended to the prompt (`--dur`, `--rt`,
/// `--wm false`). Newer models take them as top-level fields instead (form B, not confirmed on
/// the vendor page); `options` passes such fields through. `mode` has no Seedance meaning.
public struct SeedanceClient: JobHandler {
    public static let defaultModel = "seedance-1-0-pro-250528"
    static let api = "Seedance (Ark)"

    public init() {}

    public func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) {
        let key: String
        let schedule: PollSchedule
        let base = context.baseURL("ARK_BASE_URL", default: ArkErrors.defaultBaseURL) + "/contents/generations/tasks"
        do {
            key = try context.credential("ARK_API_KEY")
            schedule = try PollSchedule.forProvider("SEEDANCE", base: 5, maximum: 30, context: context)
        } catch {
            finish(.failed(error))
            return
        }
        let headers: [(name: String, value: String)] = [("Authorization", "Bearer \(key)")]
        let started = context.loop.now
        let poll = { (id: String, firstDelay: Double) in
            context.pollTaskThenDownload(
                id, schedule: schedule, errors: ArkErrors.seedance, firstDelay: firstDelay,
                request: { HTTPRequest(url: "\(base)/\(id)", headers: headers + [("Accept", "application/json")]) },
                read: { response throws(JobFailure) in try Self.readTask(response, id: id) },
                saveAs: "video.mp4", api: Self.api, startedAt: started, finish: finish)
        }
        context.resumeOrSubmitTask(
            api: Self.api, resume: { poll($0, 0) },
            body: { () throws(JobFailure) in try Self.requestBody(context) },
            submit: { body, done in
                context.callProvider(
                    .postJSON(url: base, json: body, headers: headers), errors: ArkErrors.seedance, submit: .paid,
                    completion: done)
            },
            task: { answer throws(JobFailure) in (try answer.requiredString("id"), "queued") },
            submitted: { id, _, _ in poll(id, schedule.base) }, finish: finish)
    }

    static func requestBody(_ context: JobContext) throws(JobFailure) -> Data {
        let params = context.params
        let hasImage = context.params["image"] != nil
        let prompt = hasImage ? try params.string("prompt") : try params.requiredString("prompt", for: "animation")
        var commands = ["--dur \(try params.int("duration", range: 1...60) ?? 5)"]
        if let ratio = try params.string("aspect_ratio") { commands.append("--rt \(ratio)") }
        commands.append("--wm false")
        let text = ([prompt].compactMap { $0 } + commands).joined(separator: " ")
        var content: [JSONValue] = [["type": "text", "text": .string(text)]]
        if hasImage {
            let image = try ProviderImageInput.resolve("image", in: context, encoding: .dataURL)
            content.append(["type": "image_url", "image_url": ["url": .string(image.value)], "role": "first_frame"])
        }
        var body: [String: JSONValue] = [
            "model": .string(try params.string("model") ?? defaultModel),
            "content": .array(content),
        ]
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        return JSONValue.object(body).jsonData()
    }

    /// Reads one poll: `queued`/`running` wait; `succeeded` gives `content.video_url`;
    /// `failed`, `cancelled` and `expired` end the job with Ark's `error.code: error.message`.
    static func readTask(_ response: HTTPResponse, id: String) throws(JobFailure) -> TaskPoll<String> {
        let answer = try ProviderAnswer(response, api: api, kind: .transient)
        let status = try answer.requiredString("status")
        switch status {
        case "queued", "running":
            return .pending(state: status)
        case "succeeded":
            return .done(try answer.requiredString("content.video_url"))
        case "failed", "cancelled", "expired":
            let code = answer.string("error.code")
            let message = answer.string("error.message") ?? "no error message given"
            let reason = code.map { "\($0): \(message)" } ?? message
            throw .permanent("Seedance task \(id) ended \(status) (HTTP \(response.status)): \(reason)")
        default:
            throw .permanent("Seedance task \(id) has the unknown status '\(status)' (HTTP \(response.status))")
        }
    }
}
