import Foundation
import JSON
import Reactor

/// `background_removal` with provider `bria`: BRIA's v2 asynchronous flow (PROVIDERS.md §5).
/// `POST {BRIA_BASE_URL}/v2/image/edit/remove_background` with the image as a URL or raw
/// base64 answers 202 `{request_id, status_url}`; the status is polled on loop timers until
/// `COMPLETED` (then the cut-out PNG, hosted for 3 days, is downloaded at once) or `ERROR` /
/// `UNKNOWN`. Auth is the header `api_token` (no Bearer), on polls too. Loop thread only.
///
/// Polls count against BRIA's per-endpoint rate limit, hence the 2 s default interval. Not
/// confirmed: the raw body of a `sync: true` answer (read like a COMPLETED status, from the
/// SDK's model); a 200 on submit is handled that way.
public struct BriaBackgroundRemovalClient: JobHandler {
    public static let defaultBaseURL = "https://engine.prod.bria-api.com"
    static let api = "BRIA"

    public init() {}

    public func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) {
        let token: String
        let schedule: PollSchedule
        let base = context.baseURL("BRIA_BASE_URL", default: Self.defaultBaseURL)
        do {
            token = try context.credential("BRIA_API_TOKEN")
            schedule = try PollSchedule.forProvider("BRIA", base: 2, maximum: 10, context: context)
        } catch {
            finish(.failed(error))
            return
        }
        let headers: [(name: String, value: String)] = [("api_token", token)]
        let started = context.loop.now
        let poll = { (id: String, statusURL: String, firstDelay: Double) in
            context.pollTaskThenDownload(
                id, schedule: schedule, errors: BriaErrors.table, firstDelay: firstDelay,
                request: { HTTPRequest(url: statusURL, headers: headers + [("Accept", "application/json")]) },
                read: { response throws(JobFailure) in try Self.readStatus(response, id: id) },
                saveAs: "cutout.png", api: Self.api, startedAt: started, finish: finish)
        }
        context.resumeOrSubmitTask(
            api: Self.api, resume: { poll($0, "\(base)/v2/status/\($0)", 0) },
            body: { () throws(JobFailure) in try Self.requestBody(context) },
            submit: { body, done in
                context.callProvider(
                    .postJSON(url: "\(base)/v2/image/edit/remove_background", json: body, headers: headers),
                    errors: BriaErrors.table, submit: .paid, completion: done)
            },
            task: { answer throws(JobFailure) in (try answer.requiredString("request_id"), "submitted") },
            submitted: { id, response, answer throws(JobFailure) in
                if response.status == 200, let done = try Self.readStatus(response, id: id).output {
                    // Answered synchronously after all.
                    context.completeWithDownload(
                        done, as: "cutout.png", provider: Self.api, taskID: id, startedAt: started, finish: finish)
                    return
                }
                poll(id, Self.statusURL(answer.string("status_url"), id: id, base: base), schedule.base)
            }, finish: finish)
    }

    /// The request body: the image as a URL or raw base64 (what BRIA's own clients send).
    static func requestBody(_ context: JobContext) throws(JobFailure) -> Data {
        let image = try ProviderImageInput.resolve("image", in: context, encoding: .rawBase64)
        var body: [String: JSONValue] = ["image": .string(image.value), "sync": false, "preserve_alpha": true]
        for (name, value) in try context.params.object("options") ?? [:] { body[name] = value }
        return JSONValue.object(body).jsonData()
    }

    /// BRIA's `status_url` when it points at the configured host, else `/v2/status/{id}` there:
    /// the `api_token` goes with every poll, so it is never sent to a host we were not told of.
    static func statusURL(_ given: String?, id: String, base: String) -> String {
        if let given, given.hasPrefix(base + "/") { return given }
        return "\(base)/v2/status/\(id)"
    }

    /// Reads one status answer: `IN_PROGRESS` waits, `COMPLETED` gives `result.image_url`,
    /// `ERROR` and `UNKNOWN` end the job with BRIA's error message.
    static func readStatus(_ response: HTTPResponse, id: String) throws(JobFailure) -> TaskPoll<String> {
        let answer = try ProviderAnswer(response, api: api, kind: .transient)
        let status: String
        if answer.value("status") == nil, answer.value("result.image_url") != nil {
            status = "COMPLETED"  // A synchronous answer carries the result without a status.
        } else {
            status = try answer.requiredString("status")
        }
        switch status {
        case "IN_PROGRESS":
            return .pending(state: status)
        case "COMPLETED":
            return .done(try answer.requiredString("result.image_url"))
        case "ERROR", "UNKNOWN":
            let detail = answer.value("error").flatMap(BriaErrors.describe) ?? "no error details given"
            throw .permanent("BRIA request \(id) ended \(status) (HTTP \(response.status)): \(detail)")
        default:
            throw .permanent("BRIA request \(id) has the unknown status '\(status)' (HTTP \(response.status))")
        }
    }
}

extension TaskPoll {
    /// The output when done, nil while pending.
    var output: Output? {
        if case .done(let output) = self { return output }
        return nil
    }
}

/// BRIA's error object `{"code": int, "message", "details"}`, at the top of a status answer or
/// under `error` in an HTTP error body. 422 (content moderation) and 415 (image type) are final.
public enum BriaErrors {
    public static let table = ProviderErrorTable(
        name: "BRIA",
        message: { body in
            if let error = body["error"] { return describe(error) }
            return body["message"]?.stringValue ?? body["detail"]?.stringValue
        })

    static func describe(_ error: JSONValue) -> String? {
        if let text = error.stringValue { return text }
        let parts = [error["message"]?.stringValue, error["details"]?.stringValue].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: ": ")
    }
}
