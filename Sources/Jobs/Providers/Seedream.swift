import Foundation
import JSON
import Reactor

/// `image_generation` with provider `bytedance`: Seedream on Ark,
/// `POST {ARK_BASE_URL}/images/generations` (PROVIDERS.md §4). Synchronous: the answer lists the
/// images as URLs that expire after 24 h, downloaded at once.
///
/// Mapping choices: `width`×`height` become `size` "WxH"; `num_images` > 1 asks for a group
/// (`sequential_image_generation: "auto"` with `max_images`), which lets the model return fewer;
/// Seedream has no negative prompt, so `negative_prompt` is not sent; `seed` is sent as given
/// (only 3.0-t2i honours it). The watermark is turned off unless `options` turns it on.
public struct Seedream: ProviderAPI {
    public static let name = ProviderName(key: "bytedance", display: "Seedream (Ark)")
    public static let defaultModel = "seedream-4-0-250828"

    public init() {}

    public var name: ProviderName { Self.name }
    public var errors: ProviderErrorTable { ArkErrors.seedream }
    public var submitKind: SubmitKind { .paid }

    public func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        try ArkErrors.connect(settings)
    }

    public func submitRequest(
        _ job: ProviderJob, images: [String: ProviderImageInput], _ connection: ProviderConnection
    )
        throws(JobFailure) -> HTTPRequest
    {
        .postJSON(
            url: connection.base + "/images/generations", json: try Self.requestBody(job.params),
            headers: connection.headers(), timeout: 300)
    }

    public func readSubmit(_ answer: ProviderAnswer, _ job: ProviderJob) throws(JobFailure) -> SubmitOutcome {
        let read = try Self.readImages(answer)
        var extra: [String: JSONValue] = [:]
        if !read.errors.isEmpty { extra["image_errors"] = .array(read.errors.map { .string($0) }) }
        if let model = read.model { extra["model"] = .string(model) }
        return .done(ProviderResult(files: read.images, taskID: answer.headers["x-request-id"], extra: extra))
    }

    static func requestBody(_ params: JobParams) throws(JobFailure) -> Data {
        var body: [String: JSONValue] = [
            "model": .string(try params.string("model") ?? defaultModel),
            "prompt": .string(try params.requiredString("prompt", for: "image_generation")),
            "response_format": "url",
            "watermark": false,
        ]
        let width = try params.int("width", range: 256...8192)
        let height = try params.int("height", range: 256...8192)
        if let width, let height {
            body["size"] = .string("\(width)x\(height)")
        } else if width != nil || height != nil {
            throw .permanent("params.width and params.height must be given together for bytedance")
        }
        if let count = try params.int("num_images", range: 1...15), count > 1 {
            body["sequential_image_generation"] = "auto"
            body["sequential_image_generation_options"] = ["max_images": .number(Double(count))]
        }
        if let seed = try params.int("seed", range: -1...2_147_483_647) { body["seed"] = .number(Double(seed)) }
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        return JSONValue.object(body).jsonData()
    }

    /// The images of an answer (`url`, or `b64_json` when `options` asked for it). An entry may
    /// be `{"error": {…}}` for one image of a group that failed (moderation); the job keeps the
    /// others, and fails only when none is left.
    static func readImages(_ answer: ProviderAnswer) throws(JobFailure) -> (
        images: [ProviderFile], errors: [String], model: String?
    ) {
        guard let data = answer.value("data")?.arrayValue, !data.isEmpty else { throw answer.missing("data[]") }
        var images: [ProviderFile] = []
        var errors: [String] = []
        for (index, item) in data.enumerated() {
            if let url = item["url"]?.stringValue, !url.isEmpty {
                images.append(ProviderFile(.url(url)))
            } else if let encoded = item["b64_json"]?.stringValue {
                images.append(ProviderFile(.base64(encoded, field: "data[\(index)].b64_json", kind: answer.kind)))
            } else if let error = item["error"] {
                let code = error["code"]?.stringValue ?? "error"
                errors.append("\(code): \(error["message"]?.stringValue ?? "")")
            } else {
                throw answer.missing("data[\(index)].url")
            }
        }
        guard !images.isEmpty else {
            throw .permanent("Seedream made no image (HTTP \(answer.status)): \(errors.joined(separator: "; "))")
        }
        return (images, errors, answer.string("model"))
    }
}
