import Foundation
import JSON
import Reactor

/// `style_analysis` with provider `openai`: vision through Chat Completions,
/// `POST {OPENAI_BASE_URL}/chat/completions` (PROVIDERS.md §3a), with a strict JSON schema that
/// forces `{"style": string, "palette": [{"hex", "weight"}]}`. The image goes as a URL, or as a
/// `data:` URL when it is a local file. The answer is stored in `result` (`style`, `palette`),
/// not as a file. Synchronous, and cheap enough that a lost answer is simply asked again.
///
/// Strict structured outputs may not enforce `minItems`/`maxItems` (not confirmed for every
/// model), so the palette size is asked for in words and the answer kept as the model gave it.
public struct OpenAIStyleAnalysis: ProviderAPI {
    public static let defaultModel = "gpt-4o-mini"
    public static let defaultPaletteSize = 6

    public init() {}

    public var name: ProviderName { OpenAIImages.name }
    public var errors: ProviderErrorTable { OpenAIErrors.table }
    public var submitKind: SubmitKind { .retrySafe }
    public var imageParams: [ImageParam] { [ImageParam("image", encoding: .dataURL, required: true)] }
    public var submitPhase: String { "analysing" }

    public func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        try OpenAIConnection.connect(settings)
    }

    public func submitRequest(
        _ job: ProviderJob, images: [String: ProviderImageInput], _ connection: ProviderConnection
    )
        throws(JobFailure) -> HTTPRequest
    {
        guard let image = images["image"] else { throw .permanent("params.image is required for style_analysis") }
        return .postJSON(
            url: connection.base + "/chat/completions", json: try Self.requestBody(job.params, image: image),
            headers: connection.headers(), timeout: 300)
    }

    public func readSubmit(_ answer: ProviderAnswer, _ job: ProviderJob) throws(JobFailure) -> SubmitOutcome {
        var extra = try Self.readAnalysis(answer)
        extra["model"] = answer.value("model") ?? .string(Self.defaultModel)
        if let usage = answer.value("usage") { extra["usage"] = usage }
        return .done(ProviderResult(files: [], taskID: answer.string("id"), extra: extra))
    }

    /// The chat request: the instruction, the image, and the strict schema of the answer.
    static func requestBody(_ params: JobParams, image: ProviderImageInput) throws(JobFailure) -> Data {
        let size = try params.int("palette_size", range: 1...32) ?? defaultPaletteSize
        let instruction = """
            Describe the visual style of this image in one or two sentences (medium, technique, lighting, mood). \
            Then give its \(size) dominant colours as hex codes (#RRGGBB), each with its weight: the share of the \
            image it covers, from 0 to 1, the weights adding up to 1, largest first.
            """
        var body: [String: JSONValue] = [
            "model": .string(try params.string("model") ?? defaultModel),
            "messages": [
                [
                    "role": "system",
                    "content": "You analyse images for art direction. Answer only with the JSON asked for.",
                ],
                [
                    "role": "user",
                    "content": [
                        ["type": "text", "text": .string(instruction)],
                        ["type": "image_url", "image_url": ["url": .string(image.value), "detail": "auto"]],
                    ],
                ],
            ],
            "response_format": ["type": "json_schema", "json_schema": responseSchema],
            "max_completion_tokens": .number(Double(400 + 40 * size)),
        ]
        for (name, value) in try params.object("options") ?? [:] { body[name] = value }
        return JSONValue.object(body).jsonData()
    }

    /// The strict schema: every property required, no others allowed (strict mode's rules).
    static let responseSchema: JSONValue = [
        "name": "style_palette",
        "strict": true,
        "schema": [
            "type": "object",
            "additionalProperties": false,
            "required": ["style", "palette"],
            "properties": [
                "style": ["type": "string"],
                "palette": [
                    "type": "array",
                    "items": [
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["hex", "weight"],
                        "properties": ["hex": ["type": "string"], "weight": ["type": "number"]],
                    ],
                ],
            ],
        ],
    ]

    /// `style` and `palette` from the first choice. A refusal, a cut-off (`finish_reason:
    /// length`) or filtered answer, or content that breaks the schema fails the job.
    static func readAnalysis(_ answer: ProviderAnswer) throws(JobFailure) -> [String: JSONValue] {
        guard answer.value("choices.0") != nil else { throw answer.missing("choices[0]") }
        if let refusal = answer.string("choices.0.message.refusal") {
            throw .permanent("OpenAI declined to analyse the image (HTTP \(answer.status)): \(refusal)")
        }
        switch answer.string("choices.0.finish_reason") {
        case "length":
            throw .permanent(
                "OpenAI cut the analysis off at its token limit (HTTP \(answer.status), finish_reason length); raise options.max_completion_tokens"
            )
        case "content_filter":
            throw .permanent("OpenAI filtered the analysis (HTTP \(answer.status), finish_reason content_filter)")
        default: break
        }
        let content = try answer.requiredString("choices.0.message.content")
        guard let analysis = try? JSONValue.parse(content) else {
            throw .permanent(
                "OpenAI answered HTTP \(answer.status) with content that is not JSON: \(content.prefix(200))")
        }
        guard let style = analysis["style"]?.stringValue else { throw answer.missing("style in the message content") }
        guard let entries = analysis["palette"]?.arrayValue else {
            throw answer.missing("palette in the message content")
        }
        var palette: [JSONValue] = []
        for (index, entry) in entries.enumerated() {
            guard let hex = entry["hex"]?.stringValue.flatMap(normalisedHex) else {
                throw .permanent(
                    "OpenAI answered HTTP \(answer.status) with palette[\(index)].hex that is not a #RRGGBB colour: \(entry.jsonString())"
                )
            }
            guard let weight = entry["weight"]?.doubleValue else { throw answer.missing("palette[\(index)].weight") }
            palette.append(["hex": .string(hex), "weight": .number(weight)])
        }
        return ["style": .string(style), "palette": .array(palette)]
    }

    /// `#RRGGBB` in upper case from "#rrggbb", "rrggbb" or "#rgb"; nil for anything else.
    static func normalisedHex(_ text: String) -> String? {
        var digits = text.trimmingCharacters(in: .whitespaces)
        if digits.hasPrefix("#") { digits.removeFirst() }
        guard digits.allSatisfy(\.isHexDigit) else { return nil }
        if digits.count == 3 { digits = digits.map { "\($0)\($0)" }.joined() }
        guard digits.count == 6 else { return nil }
        return "#" + digits.uppercased()
    }
}
