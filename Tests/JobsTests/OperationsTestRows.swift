import Foundation
import JSON
import Jobs
import Reactor
import TestSupport

/// Rows written straight into a test's `jobs.db`, the way another program (or a worker that
/// ran earlier) would leave them. Times are given as seconds before now.
struct OperationsTestRows {
    let connection: any SQLConnection

    init(_ workspace: Workspace) throws {
        connection = try workspace.connection()
        try JobSchema.migrate(connection)
    }

    /// Inserts one job and returns its id.
    @discardableResult
    func insert(
        type: String = "image_generation", status: JobStatus = .queued, provider: String? = "openai",
        error: String? = nil, progress: Double = 0, attempts: Int = 0, createdAgo: Double = 60,
        startedAgo: Double? = nil, finishedAgo: Double? = nil, runAfter: Double = 0, providerState: String? = nil
    ) throws -> Int64 {
        let params: JSONValue = provider.map { ["provider": .string($0), "prompt": "a red fox"] } ?? ["prompt": "x"]
        func ago(_ seconds: Double?) -> SQLiteValue {
            guard let seconds else { return .null }
            let date = Date(timeIntervalSinceNow: -seconds)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            formatter.timeZone = TimeZone(identifier: "UTC")
            return .text(formatter.string(from: date))
        }
        return try connection.query(
            """
            INSERT INTO jobs (job_type, status, params, error, progress, attempts, created_at, updated_at,
                started_at, finished_at, run_after, provider_state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            [
                .text(type), .text(status.rawValue), .text(params.jsonString()), error.map(SQLiteValue.text) ?? .null,
                .real(progress), .integer(Int64(attempts)), ago(createdAgo), ago(createdAgo), ago(startedAgo),
                ago(finishedAgo), .real(runAfter), providerState.map(SQLiteValue.text) ?? .null,
            ]
        )
        .first?["id"]?.int ?? 0
    }

    /// The status word of job `id`.
    func status(_ id: Int64) throws -> String? {
        try connection.query("SELECT status FROM jobs WHERE id = ?", [.integer(id)]).first?["status"]?.string
    }

    func row(_ id: Int64) throws -> [String: SQLiteValue] {
        try connection.query("SELECT * FROM jobs WHERE id = ?", [.integer(id)]).first ?? [:]
    }
}
