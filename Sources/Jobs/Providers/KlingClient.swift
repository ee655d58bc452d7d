import Foundation
import JSON
import Reactor

/// `animation` with provider `kling`: Kling AI video tasks (PROVIDERS.md §6).
/// `POST {KLING_BASE_URL}/v1/videos/image2video` when `params.image` is given, else
/// `/v1/videos/text2video`; polled at `GET /v1/videos/{family}/{task_id}` on loop timers until
/// `succeed` (then `data.task_result.videos[0].url` is downloaded) or `failed`. Every request
/// carries a JWT built from `KLING_ACCESS_KEY` / `KLING_SECRET_KEY`, fresh for each send.
/// Loop thread only.
///
/// `external_task_id` is "reactor-job-<id>", the same on every attempt: Kling says it is
/// unique per account, but not what a repeated one gets (not confirmed); the worker only sends
/// it again when a submit's answer was lost. Kling documents no Retry-After (not confirmed);
/// codes 1302/1303 are waited out with back-off when it is absent.
public struct KlingClient: JobHandler {
    public static let defaultBaseURL = "https://api-singapore.klingai.com"
    /// Kling's documented default model.
    public static let defaultModel = "kling-v1"
    static let api = "Kling"

    let tokens: KlingTokenCache

    public init(tokens: KlingTokenCache = KlingTokenCache()) { self.tokens = tokens }

    public func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) {
        let accessKey: String
        let secretKey: String
        let schedule: PollSchedule
        let base = context.baseURL("KLING_BASE_URL", default: Self.defaultBaseURL)
        // The family decides the poll path too, so a resumed job derives it the same way.
        let family = context.params["image"] == nil ? "text2video" : "image2video"
        do {
            accessKey = try context.credential("KLING_ACCESS_KEY")
            secretKey = try context.credential("KLING_SECRET_KEY")
            schedule = try PollSchedule.forProvider("KLING", base: 5, maximum: 30, context: context)
        } catch {
            finish(.failed(error))
            return
        }
        let tokens = tokens
        let authorization = { () -> (name: String, value: String) in
            ("Authorization", "Bearer \(tokens.token(accessKey: accessKey, secretKey: secretKey))")
        }
        let started = context.loop.now
        let poll = { (id: String, firstDelay: Double) in
            context.pollTaskThenDownload(
                id, schedule: schedule, errors: KlingErrors.table, firstDelay: firstDelay,
                refreshCredentials: tokens.invalidate,
                request: {
                    HTTPRequest(
                        url: "\(base)/v1/videos/\(family)/\(id)",
                        headers: [authorization(), ("Accept", "application/json")])
                },
                read: { response throws(JobFailure) in try Self.readTask(response, id: id) },
                saveAs: "video.mp4", api: Self.api, startedAt: started, finish: finish)
        }
        context.resumeOrSubmitTask(
            api: Self.api, resume: { poll($0, 0) },
            body: { () throws(JobFailure) in try Self.requestBody(context, family: family) },
            submit: { body, done in
                context.callProvider(
                    errors: KlingErrors.table, submit: .paidDeduplicated, refreshCredentials: tokens.invalidate,
                    build: { .postJSON(url: "\(base)/v1/videos/\(family)", json: body, headers: [authorization()]) },
                    completion: done)
            },
            task: { answer throws(JobFailure) in
                try KlingErrors.checkCode(answer)
                return (try answer.requiredString("data.task_id"), answer.string("data.task_status") ?? "submitted")
            },
            submitted: { id, _, _ in poll(id, schedule.base) }, finish: finish)
    }

    /// The create-task body. `duration` is a string ("5"), as Kling rejects a number.
    static func requestBody(_ context: JobContext, family: String) throws(JobFailure) -> Data {
        let params = context.params
        var body: [String: JSONValue] = [
            "model_name": .string(try params.string("model") ?? defaultModel),
            "duration": .string(String(try params.int("duration", range: 1...60) ?? 5)),
            "mode": .string(try params.string("mode") ?? "std"),
            "external_task_id": .string("reactor-job-\(context.job.id)"),
        ]
        if family == "image2video" {
            // Kling takes a URL or raw base64 without a data: prefix (PROVIDERS.md §8).
            body["image"] = .string(try ProviderImageInput.resolve("image", in: context, encoding: .rawBase64).value)
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
    static func readTask(_ response: HTTPResponse, id: String) throws(JobFailure) -> TaskPoll<String> {
        let answer = try ProviderAnswer(response, api: api, kind: .transient)
        try KlingErrors.checkCode(answer)
        let status = try answer.requiredString("data.task_status")
        switch status {
        case "submitted", "processing":
            return .pending(state: status)
        case "succeed":
            return .done(try answer.requiredString("data.task_result.videos.0.url"))
        case "failed":
            let reason = answer.string("data.task_status_msg") ?? "no reason given"
            throw .permanent("Kling task \(id) failed (HTTP \(response.status)): \(reason)")
        default:
            throw .permanent("Kling task \(id) has the unknown status '\(status)' (HTTP \(response.status))")
        }
    }
}
