import JSON

/// Leonardo.ai v1 generations: `POST /api/rest/v1/generations` submits, `GET /api/rest/v1/generations/{id}` polls.
/// Status words `PENDING` → `COMPLETE` | `FAILED`; `generated_images` stays empty until `COMPLETE`.
enum LeonardoRoutes {
    static let routes: [ProviderRoute] = [
        ProviderRoute(.post, "/api/rest/v1/generations", .leonardo, submit: true, submit),
        ProviderRoute(.get, "/api/rest/v1/generations/*", .leonardo, submit: false, poll),
    ]

    /// Default model when `modelId` is absent (Leonardo's quick-start model).
    static let defaultModelID = "6bef9f1b-29cb-40c7-b9df-32b51c1f67d3"

    @Sendable static func submit(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let fields = try call.jsonObject()
        let prompt = try fields.string("prompt", required: true) ?? ""
        let modelID = try fields.string("modelId") ?? defaultModelID
        let width = try fields.int("width", in: 32...4096) ?? 1024
        let height = try fields.int("height", in: 32...4096) ?? 1024
        let count = try fields.int("num_images", in: 1...8) ?? 4
        if count > 4 && max(width, height) > 768 {
            throw .invalidValue(
                field: "num_images", message: "num_images must be between 1 and 4 when width or height is over 768")
        }
        let negativePrompt = try fields.string("negative_prompt")
        _ = try fields.number("guidance_scale")
        _ = try fields.int("num_inference_steps")
        let seed = try fields.int("seed")
        let presetStyle = try fields.string("presetStyle")
        for flag in ["alchemy", "photoReal", "tiling", "public", "nsfw", "promptMagic", "enhancePrompt"] {
            _ = try fields.bool(flag)
        }
        _ = try fields.string("init_image_id")
        _ = try fields.number("init_strength")

        let id = call.services.random.uuid()
        let details: JSONObject = [
            "prompt": .string(prompt), "negativePrompt": .optional(negativePrompt), "modelId": .string(modelID),
            "imageWidth": .int(width), "imageHeight": .int(height), "seed": seed.map(JSONValue.int) ?? .null,
            "presetStyle": .optional(presetStyle),
        ]
        let task = MockTask(
            id: id, kind: .leonardo, createdAt: call.now, started: .now, duration: call.taskSeconds,
            fails: call.wantsFailure, count: count, externalID: nil, details: details
        )
        _ = call.services.tasks.insert(task)
        var job: JSONObject = ["generationId": .string(id), "apiCreditCost": .int(8 * count)]
        if call.outcome == .missingField { job["generationId"] = nil }
        return .json(200, ["sdGenerationJob": .object(job)])
    }

    @Sendable static func poll(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let id = call.parameters[0]
        let found =
            call.wantsFailure
            ? call.services.tasks.markFailing(id, kind: .leonardo) : call.services.tasks.task(id, kind: .leonardo)
        // PROVIDERS.md §1: an unknown id yields `"generations_by_pk": null` (secondary sources), with HTTP 200.
        guard let task = found else { return .json(200, ["generations_by_pk": nil]) }

        let phase = task.phase()
        let status: String
        switch phase {
        case .queued, .running: status = "PENDING"
        case .succeeded: status = "COMPLETE"
        case .failed, .cancelled: status = "FAILED"
        }
        var images: [JSONValue] = []
        if phase == .succeeded {
            for index in 0..<task.count {
                var image: JSONObject = ["id": .string("\(task.id)-\(index)")]
                if call.outcome != .missingField {
                    image["url"] = .string(call.imageURL("leonardo-\(task.id)-\(index)"))
                }
                image["nsfw"] = false
                image["likeCount"] = 0
                image["generated_image_variation_generics"] = []
                images.append(.object(image))
            }
        }
        var generation: JSONObject = ["id": .string(task.id)]
        // missing_field removes what the client reads next: the URLs once complete, the status before that.
        if !(call.outcome == .missingField && phase != .succeeded) { generation["status"] = .string(status) }
        generation["createdAt"] = .string(Timestamps.iso8601(task.createdAt))
        for (key, value) in task.details { generation[key] = value }
        generation["public"] = false
        generation["generated_images"] = .array(images)
        return .json(200, ["generations_by_pk": .object(generation)])
    }
}
