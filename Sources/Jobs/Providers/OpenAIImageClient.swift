import Foundation
import JSON
import Reactor

/// `image_generation` with provider `openai`: the Images API, `POST {OPENAI_BASE_URL}/images/generations`
/// (PROVIDERS.md §2). Synchronous: the answer carries the images, as base64 (gpt-image) or as
/// URLs valid for an hour (dall-e), which are downloaded at once.
public struct OpenAIImageClient: JobHandler {
    public static let defaultModel = "gpt-image-1"

    public init() {}

    public func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) {
        let request: HTTPRequest
        do {
            request = try makeRequest(context)
        } catch {
            finish(.failed(error))
            return
        }
        let started = context.loop.now
        context.phase = "generating"
        context.callProvider(request, errors: OpenAIErrors.table, submit: .paid) { result in
            switch result {
            case .failure(let failure):
                finish(.failed(failure))
            case .success(let response):
                let seconds = context.loop.now - started
                self.save(response, context: context, providerSeconds: seconds, finish: finish)
            }
        }
    }

    func makeRequest(_ context: JobContext) throws(JobFailure) -> HTTPRequest {
        let params = context.params
        let prompt = try params.requiredString("prompt", for: "image_generation")
        let key = try context.credential("OPENAI_API_KEY")
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
        // The Images API has no negative prompt or seed; `options` passes anything else through.
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        let url = context.baseURL("OPENAI_BASE_URL", default: "https://api.openai.com/v1") + "/images/generations"
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(key)")]
        if let organization = context.setting("OPENAI_ORG_ID") { headers.append(("OpenAI-Organization", organization)) }
        if let project = context.setting("OPENAI_PROJECT_ID") { headers.append(("OpenAI-Project", project)) }
        return .postJSON(url: url, json: JSONValue.object(body).jsonData(), headers: headers, timeout: 600)
    }

    private func save(
        _ response: HTTPResponse, context: JobContext, providerSeconds: Double, finish: @escaping (JobOutcome) -> Void
    ) {
        let images: [ProviderOutput]
        var result: [String: JSONValue]
        do {
            let json = try context.decodeProviderJSON(response, provider: "OpenAI")
            guard let data = json["data"]?.arrayValue, !data.isEmpty else {
                throw JobFailure.transient(
                    "OpenAI answered HTTP \(response.status) without data[] images: \(response.bodyText(limit: 200))")
            }
            images = try Self.outputs(data)
            result = [
                "provider": "openai",
                "model": json["model"] ?? .string((try? context.params.string("model")) ?? nil ?? Self.defaultModel),
                "provider_seconds": .number((providerSeconds * 1000).rounded() / 1000),
            ]
            if let usage = json["usage"] { result["usage"] = usage }
            if let revised = data.first?["revised_prompt"], revised.stringValue != nil {
                result["revised_prompt"] = revised
            }
        } catch {
            return finish(.failed(error as? JobFailure ?? .transient("\(error)")))
        }
        context.saveImages(images, api: "OpenAI", urlFallback: "png") { [result] saved in
            switch saved {
            case .failure(let failure): finish(.failed(failure))
            case .success(let files):
                var result = result
                result["files"] = .array(files.map { .string($0) })
                finish(.completed(result: .object(result)))
            }
        }
    }

    /// Each image of `data[]`: base64 (gpt-image) or a URL (dall-e with `response_format=url`).
    static func outputs(_ data: [JSONValue]) throws(JobFailure) -> [ProviderOutput] {
        try data.enumerated().map { (index, image) throws(JobFailure) in
            if let encoded = image["b64_json"]?.stringValue {
                return .base64(encoded, field: "data[\(index)].b64_json", kind: .transient)
            }
            if let url = image["url"]?.stringValue { return .url(url) }
            throw .transient("OpenAI answered without data[\(index)].b64_json or data[\(index)].url")
        }
    }
}

/// OpenAI's error body `{"error": {"message", "type", "code"}}` and its retry classes:
/// `insufficient_quota` is a 429 that waiting does not fix (PROVIDERS.md §2).
public enum OpenAIErrors {
    public static let table = ProviderErrorTable(
        name: "OpenAI",
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
