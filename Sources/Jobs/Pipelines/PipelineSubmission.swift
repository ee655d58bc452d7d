import Foundation
import JSON
import Reactor

/// Inserts a pipeline: its row and one job per step, in one transaction, so a pipeline is there
/// whole or not at all. A step that needs nothing (or only jobs already completed) is `queued`;
/// the others are `waiting` until `PipelineRelease` lets them go.
public struct PipelineSubmission {
    /// What `submit` prints: the pipeline and each step's job id.
    public struct Submitted: Sendable {
        public var pipeline: Int64
        public var jobs: [(step: String, id: Int64)]

        public var json: JSONValue {
            [
                "pipeline": .number(Double(pipeline)),
                "jobs": .object(
                    Dictionary(uniqueKeysWithValues: jobs.map { ($0.step, JSONValue.number(Double($0.id))) })),
            ]
        }
    }

    private let connection: any SQLConnection

    /// Opens `path` for writing, creating and migrating the schema when needed.
    public init(store: JobStoreLocation) throws {
        connection = try store.connect()
        try JobSchema.migrate(connection)
    }

    public func submit(_ document: PipelineDocument, text: String) throws -> Submitted {
        try connection.execute(connection.dialect.beginWrite)
        do {
            let submitted = try insert(document, text: text)
            try connection.execute("COMMIT")
            return submitted
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    private func insert(_ document: PipelineDocument, text: String) throws -> Submitted {
        // Existing jobs a step depends on must exist and must not have ended without completing.
        var externalStatus: [Int64: String] = [:]
        for step in document.steps {
            for id in step.needsJobs where externalStatus[id] == nil {
                guard
                    let status = try connection.query("SELECT status FROM jobs WHERE id = ?", [.integer(id)]).first?[
                        "status"]?.string
                else { throw PipelineError("step '\(step.id)' depends on job \(id), which does not exist") }
                if status == JobStatus.failed.rawValue || status == JobStatus.cancelled.rawValue {
                    throw PipelineError(
                        "step '\(step.id)' depends on job \(id), which is \(status); retry it first or leave it out")
                }
                externalStatus[id] = status
            }
        }
        let pipeline =
            try connection.query(
                "INSERT INTO pipelines (name, document) VALUES (?, ?) RETURNING id",
                [.text(document.name), .text(text)]
            ).first?["id"]?.int ?? 0
        var jobs: [(step: String, id: Int64)] = []
        for step in document.steps {
            let pendingJobs = step.needsJobs.filter { externalStatus[$0] != JobStatus.completed.rawValue }
            let status: JobStatus = step.needs.isEmpty && pendingJobs.isEmpty ? .queued : .waiting
            let needs: JSONValue = [
                "steps": .array(step.needs.map { .string($0) }),
                "jobs": .array(pendingJobs.map { .number(Double($0)) }),
            ]
            let inserted = try connection.query(
                """
                INSERT INTO jobs (job_type, params, template, status, priority, max_attempts, pipeline_id, step, needs,
                    for_each)
                VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id
                """,
                [
                    .text(step.type.rawValue), .text(step.params.jsonString()), .text(status.rawValue),
                    .integer(Int64(step.priority)), .integer(Int64(step.maxAttempts)), .integer(pipeline),
                    .text(step.id), .text(needs.jsonString()), step.forEach.map(SQLiteValue.text) ?? .null,
                ])
            jobs.append((step.id, inserted.first?["id"]?.int ?? 0))
        }
        return Submitted(pipeline: pipeline, jobs: jobs)
    }
}
