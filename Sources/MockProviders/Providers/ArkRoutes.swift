import JSON

/// ByteDance Ark (BytePlus ModelArk / Volcengine): Seedream images, synchronous, at
/// `POST /api/v3/images/generations`; Seedance video tasks at `POST /api/v3/contents/generations/tasks`, polled at
/// `GET …/tasks/{id}` (`queued` → `running` → `succeeded` | `failed` | `cancelled`) and cancelled with `DELETE`.
/// Auth: `Authorization: Bearer <ARK key>`.
enum ArkRoutes {
    static let routes: [ProviderRoute] = [
        ProviderRoute(.post, "/api/v3/images/generations", .ark, submit: true, generateImages),
        ProviderRoute(.post, "/api/v3/contents/generations/tasks", .ark, submit: true, createVideoTask),
        ProviderRoute(.get, "/api/v3/contents/generations/tasks/*", .ark, submit: false, pollVideoTask),
        ProviderRoute(.get, "/api/v3/contents/generations/tasks", .ark, submit: false, listVideoTasks),
        ProviderRoute(.delete, "/api/v3/contents/generations/tasks/*", .ark, submit: false, cancelVideoTask),
    ]

    // MARK: Seedream

    @Sendable static func generateImages(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let fields = try call.jsonObject()
        let model = try fields.string("model", required: true) ?? ""
        _ = try fields.string("prompt", required: true)
        switch fields.value("image") {
        case nil, .string?: break
        case .array(let references)?:
            for (index, reference) in references.enumerated() where reference.stringValue == nil {
                throw .wrongType(field: "image[\(index)]", expected: "string", got: reference.apiTypeName)
            }
        case let other?: throw .wrongType(field: "image", expected: "string or array", got: other.apiTypeName)
        }
        let size = try outputSize(try fields.string("size"))
        let format = try fields.choice("response_format", ["url", "b64_json"]) ?? "url"
        _ = try fields.bool("watermark")
        _ = try fields.int("seed", in: -1...2_147_483_647)
        _ = try fields.number("guidance_scale")
        let sequential = try fields.choice("sequential_image_generation", ["auto", "disabled"]) ?? "disabled"
        let maxImages = try fields.object("sequential_image_generation_options")?.int("max_images", in: 1...15)
        if try fields.bool("stream") == true {
            throw .invalidValue(field: "stream", message: "mock-providers does not implement streamed image output")
        }
        if call.wantsFailure { throw .contentPolicy }

        let count = sequential == "auto" ? (maxImages ?? 1) : 1
        let images: [JSONValue] = (0..<count).map { _ in
            var image = JSONObject()
            if call.outcome != .missingField {
                if format == "b64_json" {
                    image["b64_json"] = .string(call.services.fixtures.pngBase64)
                } else {
                    image["url"] = .string(call.imageURL("seedream-\(call.services.random.alphanumeric(20))"))
                }
            }
            image["size"] = .string(size)
            return .object(image)
        }
        return .json(
            200,
            [
                "model": .string(model), "created": .int(Int(call.now)), "data": .array(images),
                "usage": [
                    "generated_images": .int(count), "output_tokens": .int(16_384 * count),
                    "total_tokens": .int(16_384 * count),
                ],
            ]
        )
    }

    /// `size` as Seedream echoes it: `"1K"`/`"2K"`/`"4K"` become squares, `"WxH"` stays; default 2048x2048.
    private static func outputSize(_ size: String?) throws(ProviderFailure) -> String {
        guard let size else { return "2048x2048" }
        switch size.uppercased() {
        case "1K": return "1024x1024"
        case "2K": return "2048x2048"
        case "4K": return "4096x4096"
        default:
            let sides = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard sides.count == 2, sides.allSatisfy({ (256...8192).contains($0) }) else {
                throw .invalidValue(field: "size", message: "size must be 1K, 2K, 4K or WIDTHxHEIGHT, got \(size)")
            }
            return "\(sides[0])x\(sides[1])"
        }
    }

    // MARK: Seedance

    @Sendable static func createVideoTask(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let fields = try call.jsonObject()
        let model = try fields.string("model", required: true) ?? ""
        let content = try fields.array("content", required: true) ?? []
        var prompt = ""
        for (index, value) in content.enumerated() {
            let item = try fields.element(value, of: "content", at: index)
            switch try item.choice("type", ["text", "image_url"], required: true) {
            case "text": prompt = try item.string("text", required: true) ?? ""
            default:
                _ = try item.object("image_url", required: true)?.string("url", required: true)
                _ = try item.choice("role", ["first_frame", "last_frame", "reference_image"])
            }
        }
        _ = try fields.string("callback_url")
        let returnLastFrame = try fields.bool("return_last_frame") ?? false
        let commands = textCommands(prompt)
        let resolution = try fields.choice("resolution", ["480p", "720p", "1080p"]) ?? commands["resolution"] ?? "720p"
        let ratio = try fields.string("ratio") ?? commands["ratio"] ?? "16:9"
        let duration = try fields.int("duration", in: -1...60) ?? commands["duration"].flatMap { Int($0) } ?? 5
        let seed = try fields.int("seed") ?? commands["seed"].flatMap { Int($0) } ?? 10
        for flag in ["camera_fixed", "watermark", "generate_audio", "draft"] { _ = try fields.bool(flag) }
        _ = try fields.int("frames")
        _ = try fields.int("execution_expires_after")
        _ = try fields.choice("service_tier", ["default", "flex"])

        let stamp = Timestamps.iso8601(call.now).filter(\.isNumber).prefix(14)
        let id = "cgt-\(stamp)-\(call.services.random.alphanumeric(5).lowercased())"
        let details: JSONObject = [
            "model": .string(model), "seed": .int(seed), "resolution": .string(resolution), "ratio": .string(ratio),
            "duration": .int(duration), "framespersecond": .int(Int(commands["fps"] ?? "") ?? 24),
            "return_last_frame": .bool(returnLastFrame), "prompt": .string(prompt),
        ]
        let task = MockTask(
            id: id, kind: .seedance, createdAt: call.now, started: .now, duration: call.taskSeconds,
            fails: call.wantsFailure, count: 1, externalID: nil, details: details
        )
        _ = call.services.tasks.insert(task)
        return .json(200, call.outcome == .missingField ? [:] : ["id": .string(id)])
    }

    /// `GET …/tasks?page_num=&page_size=&filter.status=&filter.task_ids=&filter.model=`: the account's video tasks,
    /// newest first, each as a poll answers it, with the total that matched: `{"items": […], "total": N}`.
    @Sendable static func listVideoTasks(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let query = call.query
        let page = try KlingRoutes.pageNumber(query["page_num"], name: "page_num", default: 1, range: 1...100_000)
        let size = try KlingRoutes.pageNumber(query["page_size"], name: "page_size", default: 10, range: 1...500)
        let statuses = ["queued", "running", "succeeded", "failed", "cancelled", "expired"]
        if let status = query["filter.status"], !statuses.contains(status) {
            throw .invalidValue(field: "filter.status", message: "must be one of \(statuses.joined(separator: ", "))")
        }
        let ids = Set(call.queryValues("filter.task_ids").flatMap { $0.split(separator: ",").map(String.init) })
        let matching = call.services.tasks.list(kind: .seedance).filter { task in
            (ids.isEmpty || ids.contains(task.id))
                && (query["filter.model"].map { task.details["model"]?.stringValue == $0 } ?? true)
                && (query["filter.status"].map { videoTaskBody(task, call: call)["status"]?.stringValue == $0 } ?? true)
        }
        let items = matching.dropFirst((page - 1) * size).prefix(size).map {
            JSONValue.object(videoTaskBody($0, call: call))
        }
        return .json(200, ["items": .array(Array(items)), "total": .int(matching.count)])
    }

    /// The `--rs 720p --rt 16:9 --dur 5 --fps 24 --seed 7` commands of the 1.0-series prompt form, by long name.
    static func textCommands(_ prompt: String) -> [String: String] {
        let aliases = [
            "rs": "resolution", "resolution": "resolution", "rt": "ratio", "ratio": "ratio", "dur": "duration",
            "duration": "duration", "fps": "fps", "framespersecond": "fps", "seed": "seed",
        ]
        var commands: [String: String] = [:]
        let words = prompt.split(separator: " ")
        for (index, word) in words.enumerated() where word.hasPrefix("--") && index + 1 < words.count {
            if let name = aliases[String(word.dropFirst(2))] { commands[name] = String(words[index + 1]) }
        }
        return commands
    }

    @Sendable static func pollVideoTask(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let id = call.parameters[0]
        let tasks = call.services.tasks
        guard let task = call.wantsFailure ? tasks.markFailing(id, kind: .seedance) : tasks.task(id, kind: .seedance)
        else { throw .notFound("task \(id)") }
        return .json(200, .object(videoTaskBody(task, call: call)))
    }

    @Sendable static func cancelVideoTask(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try call.requireBearerKey()
        let id = call.parameters[0]
        guard let task = call.services.tasks.cancelIfQueued(id, kind: .seedance) else { throw .notFound("task \(id)") }
        if task.phase() == .running {
            throw .invalidValue(field: "id", message: "task \(id) is running and cannot be cancelled")
        }
        return .json(200, [:])
    }

    private static func videoTaskBody(_ task: MockTask, call: ProviderCall) -> JSONObject {
        let phase = task.phase()
        let status: String
        switch phase {
        case .queued: status = "queued"
        case .running: status = "running"
        case .succeeded: status = "succeeded"
        case .failed: status = "failed"
        case .cancelled: status = "cancelled"
        }
        var body: JSONObject = ["id": .string(task.id), "model": task.details["model"] ?? ""]
        if !(call.outcome == .missingField && phase != .succeeded) { body["status"] = .string(status) }
        if phase == .failed {
            body["error"] = [
                "code": "OutputVideoSensitiveContentDetected",
                "message": "The request failed because the output video may contain sensitive information.",
            ]
        } else {
            body["error"] = JSONValue.null
        }
        if phase == .succeeded {
            var content = JSONObject()
            if call.outcome != .missingField { content["video_url"] = .string(call.videoURL("seedance-\(task.id)")) }
            if task.details["return_last_frame"]?.boolValue == true {
                content["last_frame_url"] = .string(call.imageURL("seedance-\(task.id)-last-frame"))
            }
            body["content"] = .object(content)
            body["usage"] = ["completion_tokens": 108_900, "total_tokens": 108_900]
        }
        for key in ["seed", "resolution", "ratio", "duration", "framespersecond"] { body[key] = task.details[key] }
        body["created_at"] = .int(Int(task.createdAt))
        body["updated_at"] = .int(Int(task.updatedAt()))
        return body
    }
}
