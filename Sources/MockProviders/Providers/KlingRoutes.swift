import JSON

/// Kling video generation: `POST /v1/videos/{image2video|text2video}` submits, `GET /v1/videos/{family}/{task_id}`
/// polls (`submitted` → `processing` → `succeed` | `failed`). Every answer is `{code, message, request_id, data}`
/// with `code` 0 on success. Auth: `Authorization: Bearer <JWT>` signed HS256 with the account's secret key,
/// verified by `KlingJWT` on every request.
enum KlingRoutes {
    static let routes: [ProviderRoute] = [
        ProviderRoute(.post, "/v1/videos/image2video", .kling, submit: true) { (call) async throws(ProviderFailure) in
            try await submit(call, kind: .klingImage2Video)
        },
        ProviderRoute(.post, "/v1/videos/text2video", .kling, submit: true) { (call) async throws(ProviderFailure) in
            try await submit(call, kind: .klingText2Video)
        },
        ProviderRoute(.get, "/v1/videos/image2video/*", .kling, submit: false) { (call) async throws(ProviderFailure) in
            try await poll(call, kind: .klingImage2Video)
        },
        ProviderRoute(.get, "/v1/videos/text2video/*", .kling, submit: false) { (call) async throws(ProviderFailure) in
            try await poll(call, kind: .klingText2Video)
        },
        ProviderRoute(.get, "/v1/videos/image2video", .kling, submit: false) { (call) async throws(ProviderFailure) in
            try await list(call, kind: .klingImage2Video)
        },
        ProviderRoute(.get, "/v1/videos/text2video", .kling, submit: false) { (call) async throws(ProviderFailure) in
            try await list(call, kind: .klingText2Video)
        },
    ]

    private static func authenticate(_ call: ProviderCall) throws(ProviderFailure) {
        try KlingJWT.verify(
            authorization: call.header("Authorization"), credentials: call.services.kling, now: call.now)
    }

    static func submit(_ call: ProviderCall, kind: TaskKind) async throws(ProviderFailure) -> MockReply {
        try authenticate(call)
        let fields = try call.jsonObject()
        let isImage = kind == .klingImage2Video
        let model = try fields.string("model_name") ?? "kling-v1"
        let prompt = try fields.string("prompt", required: !isImage)
        for key in ["prompt", "negative_prompt"] {
            if let text = try fields.string(key), text.count > 2500 {
                throw .invalidValue(field: key, message: "must be at most 2500 characters, got \(text.count)")
            }
        }
        if isImage {
            let image = try fields.string("image")
            let tail = try fields.string("image_tail")
            if image == nil && tail == nil { throw .missingField("image") }
            for (key, value) in [("image", image), ("image_tail", tail)] where value?.hasPrefix("data:") == true {
                // Kling takes raw base64 (or a URL); a data: URL is refused (PROVIDERS.md §8).
                throw .invalidValue(field: key, message: "send a URL or raw base64 without a data: prefix")
            }
            _ = try fields.string("static_mask")
            _ = try fields.array("dynamic_masks")
        } else {
            _ = try fields.choice("aspect_ratio", ["16:9", "9:16", "1:1"])
        }
        if let scale = try fields.number("cfg_scale"), !(0...1).contains(scale) {
            throw .invalidValue(field: "cfg_scale", message: "must be between 0 and 1, got \(scale)")
        }
        let mode = try fields.choice("mode", ["std", "pro"]) ?? "std"
        // `duration` is a string ("5", "10"); an integer is rejected (PROVIDERS.md §6).
        let duration = try fields.string("duration") ?? "5"
        guard let seconds = Int(duration), (1...60).contains(seconds) else {
            throw .invalidValue(
                field: "duration", message: "must be a string number of seconds such as \"5\" or \"10\"")
        }
        _ = try fields.object("camera_control")
        _ = try fields.choice("sound", ["on", "off"])
        _ = try fields.string("callback_url")
        let externalID = try fields.string("external_task_id")

        let requestID = call.services.random.uuid()
        let task = MockTask(
            id: call.services.random.alphanumeric(22), kind: kind, createdAt: call.now, started: .now,
            duration: call.taskSeconds, fails: call.wantsFailure, count: 1, externalID: externalID,
            details: [
                "model_name": .string(model), "mode": .string(mode), "duration": .string(duration),
                "prompt": .optional(prompt),
            ]
        )
        // Kling keeps external_task_id unique per account: a repeat is refused, not merged (PROVIDERS.md §6).
        guard call.services.tasks.insert(task) else {
            throw .duplicateID(field: "external_task_id", value: externalID ?? "")
        }
        var data = taskData(task, phase: .queued, call: call, isPoll: false)
        if call.outcome == .missingField { data["task_id"] = nil }
        return .json(200, ["code": 0, "message": "SUCCEED", "request_id": .string(requestID), "data": .object(data)])
    }

    static func poll(_ call: ProviderCall, kind: TaskKind) async throws(ProviderFailure) -> MockReply {
        try authenticate(call)
        let id = call.parameters[0]
        let tasks = call.services.tasks
        // Polls accept the task_id or the caller's external_task_id, as Kling's query endpoint does (secondary).
        let found =
            call.wantsFailure
            ? tasks.markFailing(id, kind: kind, allowExternal: true) : tasks.task(id, kind: kind, allowExternal: true)
        guard let task = found else { throw .notFound("task \(id)") }
        let data = taskData(task, phase: task.phase(), call: call, isPoll: true)
        return .json(
            200,
            [
                "code": 0, "message": "SUCCEED", "request_id": .string(call.services.random.uuid()),
                "data": .object(data),
            ]
        )
    }

    /// `GET /v1/videos/{family}?pageNum=1&pageSize=30`: the account's tasks of that family, newest first, each as a
    /// query answers it (with `task_info.external_task_id`).
    static func list(_ call: ProviderCall, kind: TaskKind) async throws(ProviderFailure) -> MockReply {
        try authenticate(call)
        let query = call.query
        let page = try pageNumber(query["pageNum"], name: "pageNum", default: 1, range: 1...100_000)
        let size = try pageNumber(query["pageSize"], name: "pageSize", default: 30, range: 1...500)
        let tasks = call.services.tasks.list(kind: kind).dropFirst((page - 1) * size).prefix(size)
        let data = tasks.map { JSONValue.object(taskData($0, phase: $0.phase(), call: call, isPoll: true)) }
        return .json(
            200,
            [
                "code": 0, "message": "SUCCEED", "request_id": .string(call.services.random.uuid()),
                "data": .array(Array(data)),
            ])
    }

    static func pageNumber(_ text: String?, name: String, default fallback: Int, range: ClosedRange<Int>)
        throws(ProviderFailure) -> Int
    {
        guard let text else { return fallback }
        guard let number = Int(text), range.contains(number) else {
            throw .invalidValue(
                field: name, message: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// The `data` object of submit and poll answers; polls add the status message and, once done, the result.
    private static func taskData(_ task: MockTask, phase: TaskPhase, call: ProviderCall, isPoll: Bool) -> JSONObject {
        let status: String
        switch phase {
        case .queued: status = "submitted"
        case .running: status = "processing"
        case .succeeded: status = "succeed"
        case .failed, .cancelled: status = "failed"
        }
        var data: JSONObject = ["task_id": .string(task.id)]
        if !(call.outcome == .missingField && isPoll && phase != .succeeded) {
            data["task_status"] = .string(status)
        }
        if isPoll {
            data["task_status_msg"] = .string(phase == .failed ? "Failure to pass the risk control system" : "")
        }
        var info = JSONObject()
        if let external = task.externalID { info["external_task_id"] = .string(external) }
        data["task_info"] = .object(info)
        data["created_at"] = .int(Int(task.createdAt * 1000))
        data["updated_at"] = .int(Int(task.updatedAt() * 1000))
        if isPoll && phase == .succeeded {
            var video: JSONObject = ["id": .string("\(task.id)-0")]
            if call.outcome != .missingField { video["url"] = .string(call.videoURL("kling-\(task.id)")) }
            video["duration"] = task.details["duration"] ?? "5"
            data["final_unit_deduction"] = "1"
            data["task_result"] = ["videos": [.object(video)]]
        }
        return data
    }
}
