import Foundation
import JSON
import Reactor

/// `background_removal` with provider `bria`: BRIA's v2 asynchronous flow (PROVIDERS.md §5).
/// `POST {BRIA_BASE_URL}/v2/image/edit/remove_background` with the image as a URL or raw
/// base64 answers 202 `{request_id, status_url}`; the status is polled until `COMPLETED` (then
/// the cut-out PNG, hosted for 3 days, is downloaded at once) or `ERROR` / `UNKNOWN`. Auth is
/// the header `api_token` (no Bearer), on polls too.
///
/// Polls count against BRIA's per-endpoint rate limit, hence the 2 s default interval. Not
/// confirmed: the raw body of a `sync: true` answer (read like a COMPLETED status, from the
/// SDK's model); a 200 on submit is handled that way. BRIA takes no caller's id, so a submit
/// whose request id was never recorded cannot be found again.
public struct Bria: ProviderAPI {
    public static let name = ProviderName(key: "bria", display: "BRIA")
    public static let defaultBaseURL = "https://engine.prod.bria-api.com"

    public init() {}

    public var name: ProviderName { Self.name }
    public var errors: ProviderErrorTable { BriaErrors.table }
    public var submitKind: SubmitKind { .paid }
    public var polling: PollSchedule? { PollSchedule(base: 2, maximum: 10) }
    public var imageParams: [ImageParam] { [ImageParam("image", encoding: .rawBase64, required: true)] }

    public func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        let token = try settings.credential("BRIA_API_TOKEN")
        return ProviderConnection(
            base: settings.baseURL("BRIA_BASE_URL", default: Self.defaultBaseURL), headers: [("api_token", token)])
    }

    public func submitRequest(
        _ job: ProviderJob, images: [String: ProviderImageInput], _ connection: ProviderConnection
    )
        throws(JobFailure) -> HTTPRequest
    {
        guard let image = images["image"] else { throw .permanent("params.image is required for \(job.type)") }
        return .postJSON(
            url: "\(connection.base)/v2/image/edit/remove_background",
            json: try Self.requestBody(job.params, image: image), headers: connection.headers())
    }

    /// The request body: the image as a URL or raw base64 (what BRIA's own clients send).
    static func requestBody(_ params: JobParams, image: ProviderImageInput) throws(JobFailure) -> Data {
        var body: [String: JSONValue] = ["image": .string(image.value), "sync": false, "preserve_alpha": true]
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        return JSONValue.object(body).jsonData()
    }

    public func readSubmit(_ answer: ProviderAnswer, _ job: ProviderJob) throws(JobFailure) -> SubmitOutcome {
        let id = try answer.requiredString("request_id")
        if answer.status == 200, case .done(let result) = try Self.readStatus(answer, id: id) {
            return .done(result)  // Answered synchronously after all.
        }
        return .task(ProviderTask(id: id, state: "submitted", pollURL: answer.string("status_url")))
    }

    public func pollRequest(_ task: ProviderTask, _ job: ProviderJob, _ connection: ProviderConnection)
        -> HTTPRequest
    {
        HTTPRequest(
            url: Self.statusURL(task.pollURL, id: task.id, base: connection.base),
            headers: connection.headers() + [("Accept", "application/json")])
    }

    public func readPoll(_ answer: ProviderAnswer, _ task: ProviderTask) throws(JobFailure) -> TaskPoll {
        try Self.readStatus(answer, id: task.id)
    }

    /// BRIA's `status_url` when it points at the configured host, else `/v2/status/{id}` there:
    /// the `api_token` goes with every poll, so it is never sent to a host we were not told of.
    static func statusURL(_ given: String?, id: String, base: String) -> String {
        if let given, given.hasPrefix(base + "/") { return given }
        return "\(base)/v2/status/\(id)"
    }

    /// Reads one status answer: `IN_PROGRESS` waits, `COMPLETED` gives `result.image_url`,
    /// `ERROR` and `UNKNOWN` end the job with BRIA's error message.
    static func readStatus(_ answer: ProviderAnswer, id: String) throws(JobFailure) -> TaskPoll {
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
            let url = try answer.requiredString("result.image_url")
            return .done(ProviderResult(files: [ProviderFile(.url(url), name: "cutout.png")], taskID: id))
        case "ERROR", "UNKNOWN":
            let detail = answer.value("error").flatMap(BriaErrors.describe) ?? "no error details given"
            throw .permanent("BRIA request \(id) ended \(status) (HTTP \(answer.status)): \(detail)")
        default:
            throw .permanent("BRIA request \(id) has the unknown status '\(status)' (HTTP \(answer.status))")
        }
    }
}

/// BRIA's error object `{"code": int, "message", "details"}`, at the top of a status answer or
/// under `error` in an HTTP error body. 422 (content moderation) and 415 (image type) are final.
public enum BriaErrors {
    public static let table = ProviderErrorTable(
        provider: Bria.name,
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
