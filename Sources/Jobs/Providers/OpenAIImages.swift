import Foundation
import JSON
import Reactor

/// `image_generation` with provider `openai`: the Images API,
/// `POST {OPENAI_BASE_URL}/images/generations` (PROVIDERS.md §2). Synchronous: the answer carries
/// the images, as base64 (gpt-image) or as URLs valid for an hour (dall-e), downloaded at once.
/// The Images API has no negative prompt or seed; `options` passes anything else through.
public struct OpenAIImages: ProviderAPI {
    public static let name = ProviderName(key: "openai", display: "OpenAI")
    public static let defaultModel = "gpt-image-1"

    public init() {}

    public var name: ProviderName { Self.name }
    public var errors: ProviderErrorTable { OpenAIErrors.table }
    public var submitKind: SubmitKind { .paid }
    public var brokenSubmitAnswer: JobFailure.Kind { .transient }

    public func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        try OpenAIConnection.connect(settings)
    }

    public func submitRequest(
        _ job: ProviderJob, images: [String: ProviderImageInput], _ connection: ProviderConnection
    )
        throws(JobFailure) -> HTTPRequest
    {
        let params = job.params
        let prompt = try params.requiredString("prompt", for: "image_generation")
        var body: [String: JSONValue] = [
            "model": .string(try params.string("model") ?? Self.defaultModel),
            "prompt": .string(prompt),
        ]
        if let count = try params.int("num_images", range: 1...10) { body["n"] = .number(Double(count)) }
        let width = try params.int("width", range: 1...8192)
        let height = try params.int("height", range: 1...8192)
        if let width, let height {
            body["size"] = .string("\(width)x\(height)")
        } else if width != nil || height != nil {
            throw .permanent("params.width and params.height must be given together for openai")
        }
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        return .postJSON(
            url: connection.base + "/images/generations", json: JSONValue.object(body).jsonData(),
            headers: connection.headers(), timeout: 600)
    }

    /// Each image of `data[]`: base64 (gpt-image) or a URL (dall-e with `response_format=url`). A
    /// broken answer is worth another attempt here, as it always was for OpenAI.
    public func readSubmit(_ answer: ProviderAnswer, _ job: ProviderJob) throws(JobFailure) -> SubmitOutcome {
        guard let data = answer.value("data")?.arrayValue, !data.isEmpty else {
            throw .transient("OpenAI answered HTTP \(answer.status) without data[] images: \(answer.excerpt)")
        }
        let files = try data.enumerated().map { (index, image) throws(JobFailure) -> ProviderFile in
            if let encoded = image["b64_json"]?.stringValue {
                return ProviderFile(.base64(encoded, field: "data[\(index)].b64_json", kind: .transient))
            }
            if let url = image["url"]?.stringValue { return ProviderFile(.url(url), fallbackExtension: "png") }
            throw .transient("OpenAI answered without data[\(index)].b64_json or data[\(index)].url")
        }
        var extra: [String: JSONValue] = [
            "model": answer.value("model") ?? .string((try? job.params.string("model")) ?? nil ?? Self.defaultModel)
        ]
        if let usage = answer.value("usage") { extra["usage"] = usage }
        if let revised = answer.string("data.0.revised_prompt") { extra["revised_prompt"] = .string(revised) }
        return .done(ProviderResult(files: files, taskID: answer.headers["x-request-id"], extra: extra))
    }
}

/// What both OpenAI APIs share: the base URL, the bearer key and the optional organisation and
/// project headers.
enum OpenAIConnection {
    static let defaultBaseURL = "https://api.openai.com/v1"

    static func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        let key = try settings.credential("OPENAI_API_KEY")
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(key)")]
        if let organization = settings.value("OPENAI_ORG_ID") { headers.append(("OpenAI-Organization", organization)) }
        if let project = settings.value("OPENAI_PROJECT_ID") { headers.append(("OpenAI-Project", project)) }
        return ProviderConnection(base: settings.baseURL("OPENAI_BASE_URL", default: defaultBaseURL), headers: headers)
    }
}

/// OpenAI's error body `{"error": {"message", "type", "code"}}` and its retry classes:
/// `insufficient_quota` is a 429 that waiting does not fix (PROVIDERS.md §2).
public enum OpenAIErrors {
    public static let table = ProviderErrorTable(
        provider: OpenAIImages.name,
        message: { body in
            guard let error = body["error"] else { return nil }
            let message = error["message"]?.stringValue ?? error.stringValue ?? ""
            let code = error["code"]?.stringValue ?? error["type"]?.stringValue
            return code.map { "\($0): \(message)" } ?? message
        },
        classify: { status, body in
            let code = body?["error"]?["code"]?.stringValue ?? body?["error"]?["type"]?.stringValue
            if status == 429 && code == "insufficient_quota" { return .permanent }
            return ProviderErrorTable.standard(status, body)
        })
}
