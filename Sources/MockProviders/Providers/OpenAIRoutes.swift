import JSON

/// OpenAI Images (`POST /v1/images/generations`) and vision via Chat Completions (`POST /v1/chat/completions`).
/// Both are synchronous: the answer carries the result. Auth: `Authorization: Bearer <key>`.
enum OpenAIRoutes {
    static let routes: [ProviderRoute] = [
        ProviderRoute(.post, "/v1/images/generations", .openai, submit: true, generateImages),
        ProviderRoute(.post, "/v1/chat/completions", .openai, submit: true, chatCompletion),
    ]

    /// The request fields openai-python's `image_generate_params.py` defines; anything else is rejected like the
    /// real API rejects unknown parameters.
    private static let imageFields: Set<String> = [
        "prompt", "model", "n", "size", "quality", "response_format", "output_format", "output_compression",
        "background", "moderation", "style", "user", "stream", "partial_images",
    ]

    private enum ImageModel {
        case gptImage, dallE3, dallE2

        var sizes: [String] {
            switch self {
            case .gptImage: return ["1024x1024", "1536x1024", "1024x1536", "auto"]
            case .dallE3: return ["1024x1024", "1792x1024", "1024x1792"]
            case .dallE2: return ["256x256", "512x512", "1024x1024"]
            }
        }

        var maxPromptLength: Int {
            switch self {
            case .gptImage: return 32_000
            case .dallE3: return 4_000
            case .dallE2: return 1_000
            }
        }
    }

    @Sendable static func generateImages(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let fields = try call.jsonObject()
        try fields.rejectUnknown(allowed: imageFields)
        let prompt = try fields.string("prompt", required: true) ?? ""
        let modelName = try fields.string("model") ?? "dall-e-2"
        let model: ImageModel
        if modelName.hasPrefix("gpt-image") {
            model = .gptImage
        } else if modelName == "dall-e-3" {
            model = .dallE3
        } else if modelName == "dall-e-2" {
            model = .dallE2
        } else {
            throw .invalidValue(
                field: "model",
                message:
                    "Invalid value: '\(modelName)'. Supported values are: 'gpt-image-1', 'dall-e-2' and 'dall-e-3'.")
        }
        if prompt.count > model.maxPromptLength {
            throw .invalidValue(
                field: "prompt",
                message: "Invalid 'prompt': string too long. Expected a string with maximum length "
                    + "\(model.maxPromptLength), but got a string with length \(prompt.count) instead."
            )
        }
        let count = try fields.int("n", in: 1...10) ?? 1
        if model == .dallE3 && count != 1 {
            throw .invalidValue(field: "n", message: "Invalid 'n': dall-e-3 only supports n=1.")
        }
        let size = try fields.choice("size", model.sizes) ?? (model == .gptImage ? "auto" : "1024x1024")
        let quality: String?
        switch model {
        case .gptImage: quality = try fields.choice("quality", ["low", "medium", "high", "auto"]) ?? "auto"
        case .dallE3: quality = try fields.choice("quality", ["standard", "hd"]) ?? "standard"
        case .dallE2: quality = try fields.choice("quality", ["standard"])
        }
        let format: String
        if model == .gptImage {
            if fields.value("response_format") != nil {
                throw .invalidValue(field: "response_format", message: "Unknown parameter: 'response_format'.")
            }
            format = "b64_json"
            _ = try fields.choice("background", ["transparent", "opaque", "auto"])
            _ = try fields.choice("moderation", ["low", "auto"])
            _ = try fields.choice("output_format", ["png", "jpeg", "webp"])
            _ = try fields.int("output_compression", in: 0...100)
        } else {
            format = try fields.choice("response_format", ["url", "b64_json"]) ?? "url"
            for gptOnly in ["background", "moderation", "output_format", "output_compression"]
            where fields.value(gptOnly) != nil {
                throw .invalidValue(field: gptOnly, message: "Unknown parameter: '\(gptOnly)'.")
            }
        }
        if model == .dallE3 {
            _ = try fields.choice("style", ["vivid", "natural"])
        }
        if try fields.bool("stream") == true {
            throw .invalidValue(
                field: "stream", message: "mock-providers does not implement streaming image generation.")
        }
        _ = try fields.string("user")

        if call.wantsFailure {
            return contentPolicyRefusal(model: model)
        }
        var images: [JSONValue] = []
        for _ in 0..<count {
            var image = JSONObject()
            if call.outcome != .missingField {
                if format == "b64_json" {
                    image["b64_json"] = .string(call.services.fixtures.pngBase64)
                } else {
                    image["url"] = .string(call.imageURL("img-\(call.services.random.alphanumeric(24))"))
                }
            }
            if model == .dallE3 { image["revised_prompt"] = .string("A detailed rendering of: \(prompt)") }
            images.append(.object(image))
        }
        var body: JSONObject = ["created": .int(Int(call.now)), "data": .array(images)]
        if model == .gptImage {
            let promptTokens = max(1, prompt.utf8.count / 4)
            body["background"] = "opaque"
            body["output_format"] = "png"
            body["quality"] = .optional(quality == "auto" ? "high" : quality)
            body["size"] = .string(size == "auto" ? "1024x1024" : size)
            body["usage"] = [
                "input_tokens": .int(promptTokens), "output_tokens": .int(272 * count),
                "total_tokens": .int(promptTokens + 272 * count),
                "input_tokens_details": ["text_tokens": .int(promptTokens), "image_tokens": 0],
            ]
        }
        return .json(200, .object(body), headers: openAIHeaders(call))
    }

    /// gpt-image models refuse with `image_generation_user_error`/`moderation_blocked`; dall-e with
    /// `content_policy_violation` (PROVIDERS.md §2).
    private static func contentPolicyRefusal(model: ImageModel) -> MockReply {
        guard model == .gptImage else { return ProviderErrorShapes.openAI(.contentPolicy) }
        return .json(
            400,
            [
                "error": [
                    "message": .string(
                        "Your request was rejected by the safety system. If you believe this is an error, "
                            + "contact us at help.openai.com."
                    ),
                    "type": "image_generation_user_error", "param": nil, "code": "moderation_blocked",
                ]
            ]
        )
    }

    @Sendable static func chatCompletion(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let fields = try call.jsonObject()
        let model = try fields.string("model", required: true) ?? ""
        let request = try VisionRequest(fields)
        if call.outcome == .failedTask {
            return ProviderErrorShapes.openAI(.contentPolicy)
        }
        var message: JSONObject = ["role": "assistant"]
        var finishReason = "stop"
        let completionText: String
        if call.outcome == .refusal {
            completionText = "I'm sorry, I can't help with analysing this image."
            message["content"] = JSONValue.null
            message["refusal"] = .string(completionText)
        } else {
            var text = VisionAnalysis.answer(for: request)
            if let limit = request.maxTokens, text.utf8.count / 4 > limit {
                // A real model stops mid-answer at the token limit; the JSON is then cut off and finish_reason says so.
                text = String(decoding: text.utf8.prefix(limit * 4), as: UTF8.self)
                finishReason = "length"
            }
            completionText = text
            if call.outcome != .missingField { message["content"] = .string(text) }
            message["refusal"] = JSONValue.null
            message["annotations"] = []
        }
        let promptTokens = max(1, request.textLength / 4) + 85 * request.imageCount
        let completionTokens = max(1, completionText.utf8.count / 4)
        let body: JSONValue = [
            "id": .string("chatcmpl-\(call.services.random.alphanumeric(29))"), "object": "chat.completion",
            "created": .int(Int(call.now)), "model": .string(model),
            "choices": [
                ["index": 0, "message": .object(message), "logprobs": nil, "finish_reason": .string(finishReason)]
            ],
            "usage": [
                "prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens),
                "total_tokens": .int(promptTokens + completionTokens),
                "prompt_tokens_details": ["cached_tokens": 0], "completion_tokens_details": ["reasoning_tokens": 0],
            ],
            "system_fingerprint": "fp_mock",
        ]
        return .json(200, body, headers: openAIHeaders(call))
    }

    private static func openAIHeaders(_ call: ProviderCall) -> [(name: String, value: String)] {
        [
            (name: "x-request-id", value: "req_\(call.services.random.hex(32))"),
            (name: "openai-processing-ms", value: String(Int(call.plan.latency * 1000))),
            (name: "x-ratelimit-limit-requests", value: "500"), (name: "x-ratelimit-remaining-requests", value: "499"),
            (name: "x-ratelimit-reset-requests", value: "120ms"),
        ]
    }
}
