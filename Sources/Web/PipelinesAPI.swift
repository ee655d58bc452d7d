import Foundation
import Hummingbird
import JSON
import Jobs

/// `/api/pipelines…`: submit a pipeline document (docs/pipelines.md) as one transaction, and read
/// pipelines with their steps' jobs as the jobs table shows them (docs/api.md).
struct PipelinesAPI: Sendable {
    let database: WebDatabase
    let presenter: JobJSON

    static let maxBodyBytes = 1 << 20

    func register(on router: Router<BasicRequestContext>) {
        router.post("/api/pipelines") { request, _ in try await submit(request) }
        router.get("/api/pipelines") { request, _ in try await list(request) }
        router.get("/api/pipelines/{id}") { _, context in try await pipeline(try Self.id(context)) }
    }

    /// 201 with the pipeline's id and each step's job; 400 naming the step and key that is wrong,
    /// with nothing inserted.
    func submit(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: Self.maxBodyBytes)
        let document: PipelineDocument
        do {
            document = try PipelineDocument.parse(body)
        } catch {
            throw APIError.badRequest(error.message)
        }
        let submitted: PipelineSubmission.Submitted
        do {
            submitted = try await database.submit(document, text: body.jsonString())
        } catch let error as PipelineError {
            throw APIError.badRequest(error.message)
        }
        var answer = submitted.json
        if case .object(var object) = answer {
            object["url"] = .string("/api/pipelines/\(submitted.pipeline)")
            answer = .object(object)
        }
        return JSONReply.response(answer, status: .created)
    }

    func pipeline(_ id: Int64) async throws -> Response {
        let presenter = presenter
        let answer = try await database.read { reader in
            try PipelineView(connection: reader.connection).pipeline(id).map { Self.json($0, presenter: presenter) }
        }
        guard let answer else { throw APIError.notFound("no pipeline \(id)") }
        return JSONReply.response(answer)
    }

    func list(_ request: Request) async throws -> Response {
        let text = QueryString.parse(request.uri.query)["limit"]?.last ?? "50"
        guard let limit = Int(text), (1...500).contains(limit) else {
            throw APIError.badRequest("limit must be a whole number from 1 to 500, got '\(text)'", field: "limit")
        }
        let presenter = presenter
        let answer = try await database.read { reader in
            try PipelineView(connection: reader.connection).list(limit: limit).map {
                Self.json($0, presenter: presenter)
            }
        }
        return JSONReply.response(["pipelines": .array(answer)])
    }

    /// A pipeline with each step's job as the jobs table shows it (outputs as `/files/` URLs,
    /// params redacted), plus the step's name and instance.
    static func json(_ pipeline: PipelineView.Pipeline, presenter: JobJSON) -> JSONValue {
        let now = Date().timeIntervalSince1970
        let steps: [JSONValue] = pipeline.jobs.map { job in
            guard case .object(var object) = presenter.summary(job, now: now) else { return .null }
            object["index"] = job.stepIndex.map { .number(Double($0)) } ?? .null
            return .object(object)
        }
        return [
            "id": .number(Double(pipeline.id)), "name": .string(pipeline.name),
            "created_at": .string(pipeline.createdAt),
            "status": .string(pipeline.status), "steps": .array(steps),
        ]
    }

    static func id(_ context: BasicRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else {
            throw APIError.badRequest("a pipeline id is a positive whole number, got '\(text)'", field: "id")
        }
        return id
    }
}
