import Foundation
import Reactor
import TestSupport

/// Prepares a test's `jobs.db` for the operations commands: the schema from one real
/// `reactor-worker enqueue`, then rows inserted directly, as another program or an earlier
/// worker would have left them. Times are seconds before now.
struct OperationsWorkspaceRows {
    let workspace: Workspace
    let connection: any SQLConnection

    /// Creates the schema by running `enqueue` once, and deletes the row it added.
    init(_ workspace: Workspace) throws {
        self.workspace = workspace
        let result = try WorkerProcess.runCommand(
            ["enqueue", "image_generation", "--params", #"{"provider":"openai","prompt":"schema"}"#],
            workspace: workspace)
        guard result.status == 0 else { throw TestSupportError("enqueue failed: \(result.stderr)") }
        connection = try workspace.connection()
        try connection.execute("DELETE FROM jobs")
    }

    @discardableResult
    func insert(
        type: String = "image_generation", status: String = "queued", params: String? = nil, error: String? = nil,
        result: String? = nil, progress: Double = 0, attempts: Int = 0, createdAgo: Double = 60,
        startedAgo: Double? = nil, finishedAgo: Double? = nil
    ) throws -> Int64 {
        return try connection.query(
            """
            INSERT INTO jobs (job_type, status, params, error, result, progress, attempts, created_at, updated_at,
                started_at, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            [
                .text(type), .text(status), .text(params ?? #"{"provider":"openai","prompt":"a red fox"}"#),
                error.map(SQLiteValue.text) ?? .null, result.map(SQLiteValue.text) ?? .null, .real(progress),
                .integer(Int64(attempts)), Self.time(createdAgo), Self.time(createdAgo), Self.time(startedAgo),
                Self.time(finishedAgo),
            ]
        )
        .first?["id"]?.int ?? 0
    }

    func setProgress(_ id: Int64, _ progress: Double) throws {
        try connection.run("UPDATE jobs SET progress = ? WHERE id = ?", [.real(progress), .integer(id)])
    }

    /// ISO-8601 UTC with milliseconds, the worker's own timestamp format.
    static func time(_ secondsAgo: Double?) -> SQLiteValue {
        guard let secondsAgo else { return .null }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return .text(formatter.string(from: Date(timeIntervalSinceNow: -secondsAgo)))
    }
}

/// Runs a `reactor-worker` subcommand in the workspace (JOBS_DB points at its database).
func runReactorWorker(_ arguments: [String], in workspace: Workspace, environment: [String: String] = [:]) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    try WorkerProcess.runCommand(arguments, workspace: workspace, environment: environment)
}

/// Parses JSON printed by a `--json` command.
func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}
