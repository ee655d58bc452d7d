import Foundation
import Hummingbird
import JSON
import Jobs

/// `/api/jobs…`: list and search, one job, queue one or many, cancel, retry, and the bulk
/// version of cancel and retry over a filter (docs/api.md).
struct JobsAPI: Sendable {
    let database: WebDatabase
    let presenter: JobJSON

    /// Most jobs one POST may queue, and most a bulk action may touch.
    static let maxNewJobs = 500
    static let maxBulk = 10_000
    static let maxBodyBytes = 1 << 20

    func register(on router: Router<BasicRequestContext>) {
        router.get("/api/jobs") { request, _ in try await list(request) }
        router.post("/api/jobs") { request, _ in try await create(request) }
        router.post("/api/jobs/bulk") { request, _ in try await bulk(request) }
        router.get("/api/jobs/{id}") { _, context in try await job(try Self.id(context)) }
        router.post("/api/jobs/{id}/cancel") { _, context in try await cancel(try Self.id(context)) }
        router.post("/api/jobs/{id}/retry") { _, context in try await retry(try Self.id(context)) }
        router.get("/api/inputs") { request, _ in try await inputs(request) }
    }

    /// The statuses a bulk action can change.
    static func eligible(for action: String) -> [JobStatus]? {
        switch action {
        case "retry": [.failed, .cancelled]
        case "cancel": [.queued, .waiting, .processing, .keyingProcessing]
        default: nil
        }
    }

    func list(_ request: Request) async throws -> Response {
        let query = QueryString.parse(request.uri.query)
        let filter = try FilterQuery.filter(query)
        let counted = query["count"]?.last == "1"
        let presenter = presenter
        let answer = try await database.read { reader -> JSONValue in
            try Self.page(reader, filter: filter, presenter: presenter, counted: counted)
        }
        return JSONReply.response(answer)
    }

    /// One page as the API and the dashboard's first paint show it.
    static func page(_ reader: WebDatabase.Reader, filter: JobSearch.Filter, presenter: JobJSON, counted: Bool) throws
        -> JSONValue
    {
        let page = try reader.search.page(filter)
        let now = Date().timeIntervalSince1970
        var object: [String: JSONValue] = [
            "jobs": .array(page.jobs.map { presenter.summary($0, now: now) }),
            "next_cursor": page.nextCursor.map { .number(Double($0)) } ?? .null,
            "filter": FilterQuery.json(filter),
        ]
        if counted {
            object["count"] = .int(try reader.search.count(filter))
            object["bulk"] = [
                "retry": .int(try reader.search.count(filter, among: eligible(for: "retry")!)),
                "cancel": .int(try reader.search.count(filter, among: eligible(for: "cancel")!)),
            ]
        }
        return .object(object)
    }

    func job(_ id: Int64) async throws -> Response {
        let presenter = presenter
        let answer = try await database.read { reader in try reader.search.job(id: id).map { presenter.detail($0) } }
        guard let answer else { throw APIError.notFound("no job \(id)") }
        return JSONReply.response(answer)
    }

    func create(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: Self.maxBodyBytes)
        let jobs = try NewJobs.parse(body, limit: Self.maxNewJobs)
        let ids = try await database.enqueue(jobs)
        let answer: JSONValue = [
            "ids": .array(ids.map { .number(Double($0)) }),
            "jobs": .array(
                zip(ids, jobs).map { id, job in
                    ["id": .number(Double(id)), "type": .string(job.type), "url": .string("/jobs/\(id)")]
                }),
        ]
        return JSONReply.response(answer, status: .created)
    }

    func cancel(_ id: Int64) async throws -> Response {
        switch try await database.control({ try $0.cancel(id: id) }) {
        case .cancelled:
            return JSONReply.response(
                ["id": .number(Double(id)), "status": "cancelled", "message": "cancelled before it started"])
        case .cancelRequested:
            return JSONReply.response(
                [
                    "id": .number(Double(id)), "status": "cancel_requested",
                    "message": "its worker stops it within a second and marks it cancelled",
                ], status: .accepted)
        case .refused(let status, let reason):
            throw Self.refusal(id, "cancelled", status: status, reason: reason)
        case .requeued, .notFound:
            throw APIError.notFound("no job \(id)")
        }
    }

    func retry(_ id: Int64) async throws -> Response {
        switch try await database.control({ try $0.retry(id: id) }) {
        case .requeued(let was):
            return JSONReply.response(
                [
                    "id": .number(Double(id)), "status": "queued",
                    "message": .string("was \(was); queued to run again as new"),
                ])
        case .refused(let status, let reason):
            throw Self.refusal(id, "retried", status: status, reason: reason)
        case .cancelled, .cancelRequested, .notFound:
            throw APIError.notFound("no job \(id)")
        }
    }

    private static func refusal(_ id: Int64, _ verb: String, status: String, reason: String) -> APIError {
        var error = APIError(.conflict, "job \(id) cannot be \(verb): \(reason)")
        error.details["status"] = .string(status)
        error.details["id"] = .number(Double(id))
        return error
    }

    /// `{"action": "retry"|"cancel", "filter": {…}, "expected": N}`: every job the filter
    /// matches that the action applies to, one short transaction each (as the CLI does). With
    /// `expected`, the count must still be what the person confirmed (409 otherwise).
    func bulk(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: Self.maxBodyBytes)
        guard let action = body["action"]?.stringValue, let statuses = Self.eligible(for: action) else {
            throw APIError.badRequest("action must be \"retry\" or \"cancel\"", field: "action")
        }
        let filter = try FilterQuery.filter(json: body["filter"], field: "filter")
        let expected = body["expected"]
        if let expected, expected.intValue == nil {
            throw APIError.badRequest("expected must be a whole number (the count you confirmed)", field: "expected")
        }
        let (count, ids) = try await database.read { reader in
            (
                try reader.search.count(filter, among: statuses),
                try reader.search.ids(filter, among: statuses, limit: Self.maxBulk)
            )
        }
        if let wanted = expected?.intValue, wanted != count {
            var error = APIError(
                .conflict, "the filter now matches \(count) jobs to \(action), not \(wanted); look again and confirm")
            error.details["count"] = .int(count)
            throw error
        }
        let outcomes = try await database.control { control in
            try ids.map { id in action == "retry" ? try control.retry(id: id) : try control.cancel(id: id) }
        }
        let changed = outcomes.filter(\.succeeded).count
        return JSONReply.response([
            "action": .string(action), "matched": .int(count), "changed": .int(changed),
            "refused": .int(outcomes.count - changed), "limited": .bool(count > ids.count),
        ])
    }

    /// `GET /api/inputs?kind=image|video`: completed jobs whose outputs a form can pick as input.
    func inputs(_ request: Request) async throws -> Response {
        let kind = QueryString.parse(request.uri.query)["kind"]?.last ?? "image"
        let types: [JobType]
        switch kind {
        case "image": types = [.imageGeneration, .backgroundRemoval]
        case "video": types = [.animation, .videoKeying, .videoStitching]
        default: throw APIError.badRequest("kind must be image or video, got '\(kind)'", field: "kind")
        }
        let presenter = presenter
        let answer = try await database.read { reader -> JSONValue in
            let jobs = try reader.search.completedOutputs(types: types, limit: 60)
            return .array(
                jobs.compactMap { job -> JSONValue? in
                    let outputs = presenter.outputs(job).filter { $0["kind"]?.stringValue == kind }
                    guard let first = outputs.first else { return nil }
                    return [
                        "job": .number(Double(job.id)), "type": .string(job.type), "url": first["url"] ?? .null,
                        "name": first["name"] ?? .null, "summary": presenter.summary(job)["summary"] ?? .null,
                    ]
                })
        }
        return JSONReply.response(["inputs": answer])
    }

    static func id(_ context: BasicRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else {
            throw APIError.badRequest("a job id is a positive whole number, got '\(text)'", field: "id")
        }
        return id
    }
}
