import Foundation
import JSON

/// BRIA v2 background removal: `POST /v2/image/edit/remove_background` answers 202 `{request_id, status_url}` (or
/// 200 with the result when `sync: true`); `GET /v2/status/{request_id}` polls `IN_PROGRESS` → `COMPLETED` |
/// `ERROR`. Auth: header `api_token: <token>` — not `Authorization`, no `Bearer` — on submits and polls alike.
enum BriaRoutes {
    static let routes: [ProviderRoute] = [
        ProviderRoute(.post, "/v2/image/edit/remove_background", .bria, submit: true, removeBackground),
        ProviderRoute(.get, "/v2/status/*", .bria, submit: false, status),
    ]

    /// Checks the `api_token` header; a token starting with `invalid` is rejected.
    private static func requireToken(_ call: ProviderCall) throws(ProviderFailure) {
        guard let token = call.header("api_token"), !token.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .unauthorized(.missing)
        }
        if token.hasPrefix("invalid") { throw .unauthorized(.invalidKey) }
    }

    @Sendable static func removeBackground(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try requireToken(call)
        let fields = try call.jsonObject()
        _ = try fields.string("image", required: true)
        let sync = try fields.bool("sync") ?? false
        for flag in ["preserve_alpha", "visual_input_content_moderation", "visual_output_content_moderation"] {
            _ = try fields.bool(flag)
        }
        _ = try fields.string("webhook_url")

        let id = call.services.random.hex(32)
        if sync {
            if call.wantsFailure { throw .contentPolicy }
            var result = JSONObject()
            if call.outcome != .missingField { result["image_url"] = .string(call.imageURL("bria-\(id)")) }
            return .json(200, ["result": .object(result), "request_id": .string(id)])
        }
        let task = MockTask(
            id: id, kind: .bria, createdAt: call.now, started: .now, duration: call.taskSeconds,
            fails: call.wantsFailure, count: 1, externalID: nil, details: [:]
        )
        _ = call.services.tasks.insert(task)
        var body: JSONObject = [:]
        if call.outcome != .missingField {
            body["request_id"] = .string(id)
            body["status_url"] = .string("\(call.baseURL)/v2/status/\(id)")
        }
        return .json(202, .object(body))
    }

    @Sendable static func status(_ call: ProviderCall) async throws(ProviderFailure) -> MockReply {
        try requireToken(call)
        let id = call.parameters[0]
        let tasks = call.services.tasks
        guard let task = call.wantsFailure ? tasks.markFailing(id, kind: .bria) : tasks.task(id, kind: .bria) else {
            throw .notFound("request_id \(id)")
        }
        let phase = task.phase()
        var body: JSONObject = ["request_id": .string(id)]
        let status: String
        switch phase {
        case .queued, .running: status = "IN_PROGRESS"
        case .succeeded: status = "COMPLETED"
        case .failed, .cancelled: status = "ERROR"
        }
        if !(call.outcome == .missingField && phase != .succeeded) { body["status"] = .string(status) }
        switch phase {
        case .succeeded:
            var result = JSONObject()
            if call.outcome != .missingField { result["image_url"] = .string(call.imageURL("bria-\(id)")) }
            body["result"] = .object(result)
        case .failed, .cancelled:
            body["error"] = [
                "code": 422, "message": "Unprocessable Entity",
                "details": "The image failed visual content moderation.",
            ]
        case .queued, .running:
            break
        }
        return .json(200, .object(body))
    }
}
