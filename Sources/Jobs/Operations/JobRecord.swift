import Foundation
import JSON
import Reactor

/// One row of `jobs` as the operations commands show it: every column, plus the provider
/// and the ages that SQLite computed at read time (so no date parsing happens in Swift).
public struct JobRecord: Sendable {
    public var id: Int64
    public var type: String
    public var status: String
    /// The provider the job uses (params.provider, or the type's default; "ffmpeg" for media).
    public var provider: String
    public var params: String
    public var result: String?
    public var error: String?
    public var priority: Int
    public var attempts: Int
    public var maxAttempts: Int
    public var progress: Double
    public var createdAt: String?
    public var startedAt: String?
    public var finishedAt: String?
    /// Unix seconds before which a queued job is not claimed (0 = now).
    public var runAfter: Double
    public var providerState: String?
    /// The pipeline and step this job runs, when it is a pipeline's (`step_index`: its instance of
    /// a `for_each` step), and what it waits for.
    public var pipelineID: Int64?
    public var step: String?
    public var stepIndex: Int?
    public var needs: String?
    /// Seconds since the row was created.
    public var ageSeconds: Double?
    /// Seconds the last attempt ran: until now while running, until `finished_at` after.
    public var runSeconds: Double?
    /// Seconds since the job finished, for finished jobs.
    public var finishedSecondsAgo: Double?
    /// Every column of the row in table order, for `show`, including ones added later.
    public var columns: [(name: String, value: SQLiteValue)]

    /// The output files its result lists.
    public var files: [String] {
        (result.flatMap { try? JSONValue.parse($0) })?["files"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// The typed status, or nil for a word this build does not know.
    public var jobStatus: JobStatus? { JobStatus(rawValue: status) }

    /// The select list that goes with `init(row:columns:)`.
    static func selectList(table: String = "jobs") -> String {
        let held = StoreSQL.held
        return """
            \(table).*, (\(StoreSQL.gateKey)) AS _provider,
            \(OperationsDatabase.secondsSince("created_at")) AS _age,
            \(OperationsDatabase.secondsSince("finished_at")) AS _ended,
            CASE WHEN started_at IS NULL THEN NULL
                WHEN status IN \(held) THEN \(OperationsDatabase.secondsSince("started_at"))
                WHEN finished_at IS NOT NULL AND finished_at >= started_at
                THEN \(OperationsDatabase.secondsSince("started_at", until: "finished_at"))
                END AS _run
            """
    }

    init(row: [String: SQLiteValue], columns names: [String]) {
        id = row["id"]?.int ?? 0
        type = row["job_type"]?.string ?? ""
        status = row["status"]?.string ?? ""
        provider = row["_provider"]?.string ?? ""
        params = row["params"]?.string ?? ""
        result = row["result"]?.string
        error = row["error"]?.string
        priority = Int(row["priority"]?.int ?? 0)
        attempts = Int(row["attempts"]?.int ?? 0)
        maxAttempts = Int(row["max_attempts"]?.int ?? 0)
        progress = row["progress"]?.double ?? 0
        createdAt = row["created_at"]?.string
        startedAt = row["started_at"]?.string
        finishedAt = row["finished_at"]?.string
        runAfter = row["run_after"]?.double ?? 0
        providerState = row["provider_state"]?.string
        pipelineID = row["pipeline_id"]?.int
        step = row["step"]?.string
        stepIndex = row["step_index"]?.int.map(Int.init)
        needs = row["needs"]?.string
        ageSeconds = row["_age"]?.double
        runSeconds = row["_run"]?.double
        finishedSecondsAgo = row["_ended"]?.double
        columns = names.map { ($0, row[$0] ?? .null) }
    }

    /// The row as JSON for `--json`: columns by name, params and result as parsed JSON when
    /// they parse (text otherwise), plus the computed `provider`, `age_seconds`, `run_seconds`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        for (name, value) in columns {
            switch value {
            case .null: object[name] = .null
            case .integer(let number): object[name] = .number(Double(number))
            case .real(let number): object[name] = .number(number)
            case .text(let text):
                if name == "params" || name == "result", let parsed = try? JSONValue.parse(text) {
                    object[name] = parsed
                } else {
                    object[name] = .string(text)
                }
            case .blob(let data): object[name] = .string(data.base64EncodedString())
            }
        }
        object["provider"] = .string(provider)
        object["age_seconds"] = ageSeconds.map(JSONValue.number) ?? .null
        object["run_seconds"] = runSeconds.map(JSONValue.number) ?? .null
        return .object(object)
    }
}
