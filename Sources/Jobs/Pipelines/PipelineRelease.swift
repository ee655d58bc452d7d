import Foundation
import JSON
import Reactor

/// What a step's end means for the steps that wait on it, written in the same transaction as
/// that end: a crash between the two can lose nothing, and a released step can be claimed in the
/// same writer batch. On the connection's own thread (the writer, or a command's connection).
///
/// - A completion releases every waiting step whose needs are all met now: its `{"step": …}`
///   references are resolved to the parents' files and written into `params` (so `show` tells
///   exactly what went in), and it becomes `queued` — or, for a `for_each` step, one queued job
///   per file of the step it runs over.
/// - A failure for good or a cancellation ends every step that depends on it, directly or through
///   others, as `cancelled` with the upstream error.
enum PipelineRelease {
    private static let waiting = StoreSQL.word(.waiting)

    /// Whether any row waits at all: most completions belong to no pipeline and nothing waits, and
    /// one indexed probe then spares looking for each one's dependants.
    private static func anyWaiting(on connection: any SQLConnection) throws -> Bool {
        !(try connection.query("SELECT 1 FROM jobs WHERE status = \(waiting) LIMIT 1", [])).isEmpty
    }

    /// The waiting rows job `id` may hold up: in its pipeline, or naming it among their jobs.
    private static func dependants(of id: Int64, on connection: any SQLConnection) throws -> [[String: SQLiteValue]] {
        guard try anyWaiting(on: connection) else { return [] }
        return try waitingOn(id, on: connection)
    }

    private static func waitingOn(_ id: Int64, on connection: any SQLConnection) throws -> [[String: SQLiteValue]] {
        try connection.query(
            """
            SELECT w.* FROM jobs w, (SELECT pipeline_id FROM jobs WHERE id = ?1) j
            WHERE w.status = \(waiting)
              AND (w.pipeline_id = j.pipeline_id OR \(connection.dialect.jsonArray("w.needs", key: "jobs", contains: "?1")))
            ORDER BY w.id
            """, [.integer(id)])
    }

    /// After jobs `ids` completed (in the same transaction, all of them before any release: a
    /// step that needs several of them is released once).
    static func afterCompleted(_ ids: [Int64], on connection: any SQLConnection) throws {
        guard !ids.isEmpty, try anyWaiting(on: connection) else { return }
        for id in ids {
            for row in try waitingOn(id, on: connection) {
                try releaseIfReady(row, on: connection)
            }
        }
    }

    /// After job `id` ended without completing (failed for good, or cancelled).
    static func afterEnded(_ id: Int64, on connection: any SQLConnection) throws {
        guard
            let ended = try connection.query(
                "SELECT step, status, error FROM jobs WHERE id = ?", [.integer(id)]
            ).first
        else { return }
        let verb = ended["status"]?.string == JobStatus.cancelled.rawValue ? "was cancelled" : "failed"
        let step = ended["step"]?.string
        let name = step.map { "upstream step '\($0)' (job \(id))" } ?? "upstream job \(id)"
        let detail = ended["error"]?.string.map { ": \($0)" } ?? ""
        try cancelDependants(of: id, step: step, reason: "\(name) \(verb)\(detail)", on: connection)
    }

    /// Cancels, with `reason`, every waiting row that needs job `id` (or its step), and theirs.
    private static func cancelDependants(of id: Int64, step: String?, reason: String, on connection: any SQLConnection)
        throws
    {
        for row in try dependants(of: id, on: connection) {
            guard let dependant = row["id"]?.int else { continue }
            let needs = Needs(row["needs"]?.string)
            let sameStepNeeded = step.map { needs.steps.contains($0) } ?? false
            guard needs.jobs.contains(id) || sameStepNeeded else { continue }
            try connection.run(
                """
                UPDATE jobs SET status = \(StoreSQL.word(.cancelled)), error = ?2, finished_at = \(connection.dialect.now),
                    updated_at = \(connection.dialect.now) WHERE id = ?1 AND status = \(waiting)
                """, [.integer(dependant), .text(reason)])
            try cancelDependants(of: dependant, step: row["step"]?.string, reason: reason, on: connection)
        }
    }

    /// What a waiting row needs: the steps of its pipeline and other jobs.
    struct Needs {
        var steps: [String] = []
        var jobs: [Int64] = []

        init(_ text: String?) {
            guard let text, let value = try? JSONValue.parse(text) else { return }
            steps = value["steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
            jobs = value["jobs"]?.arrayValue?.compactMap(\.intValue).map(Int64.init) ?? []
        }
    }

    /// Releases a waiting row when every step and job it needs has completed.
    private static func releaseIfReady(_ row: [String: SQLiteValue], on connection: any SQLConnection) throws {
        guard let id = row["id"]?.int else { return }
        let needs = Needs(row["needs"]?.string)
        let pipeline = row["pipeline_id"] ?? .null
        var files: [String: [String]] = [:]
        for step in needs.steps {
            let rows = try connection.query(
                "SELECT status, result FROM jobs WHERE pipeline_id = ?1 AND step = ?2 ORDER BY coalesce(step_index, 0), id",
                [pipeline, .text(step)])
            guard !rows.isEmpty, rows.allSatisfy({ $0["status"]?.string == JobStatus.completed.rawValue }) else {
                return
            }
            files[step] = rows.flatMap { row -> [String] in
                let result = row["result"]?.string.flatMap { try? JSONValue.parse($0) }
                return result?["files"]?.arrayValue?.compactMap(\.stringValue) ?? []
            }
        }
        for job in needs.jobs {
            let status = try connection.query("SELECT status FROM jobs WHERE id = ?", [.integer(job)]).first?[
                "status"]?.string
            guard status == JobStatus.completed.rawValue else { return }
        }
        let step = row["step"]?.string ?? "step"
        let template = (try? JSONValue.parse(row["template"]?.string ?? row["params"]?.string ?? "{}")) ?? [:]
        do {
            if let parent = row["for_each"]?.string {
                let each = files[parent] ?? []
                guard !each.isEmpty else {
                    throw PipelineError("step '\(step)': upstream step '\(parent)' made no files to run over")
                }
                for (index, file) in each.enumerated() {
                    let params = try PipelineReferences.resolve(template, files: files, forEach: (parent, file))
                    if index == 0 {
                        try queue(id, params: params, index: 0, on: connection)
                    } else {
                        try connection.run(
                            """
                            INSERT INTO jobs (job_type, params, template, status, priority, max_attempts, pipeline_id,
                                step, step_index, needs, for_each)
                            SELECT job_type, ?2, template, \(StoreSQL.word(.queued)), priority, max_attempts,
                                pipeline_id, step, ?3, needs, for_each
                            FROM jobs WHERE id = ?1
                            """, [.integer(id), .text(params.jsonString()), .integer(Int64(index))])
                    }
                }
            } else {
                try queue(
                    id, params: PipelineReferences.resolve(template, files: files, forEach: nil), index: nil,
                    on: connection)
            }
        } catch let error as PipelineError {
            // The parents' files cannot fill this step's params: it cannot run, nor what needs it.
            let reason = error.message.hasPrefix("step '") ? error.message : "step '\(step)': \(error.message)"
            try connection.run(
                """
                UPDATE jobs SET status = \(StoreSQL.word(.cancelled)), error = ?2, finished_at = \(connection.dialect.now),
                    updated_at = \(connection.dialect.now) WHERE id = ?1
                """, [.integer(id), .text(reason)])
            try cancelDependants(
                of: id, step: step, reason: "upstream step '\(step)' (job \(id)) could not start: \(reason)",
                on: connection)
        }
    }

    private static func queue(_ id: Int64, params: JSONValue, index: Int?, on connection: any SQLConnection) throws {
        try connection.run(
            """
            UPDATE jobs SET status = \(StoreSQL.word(.queued)), params = ?2, step_index = ?3, run_after = 0,
                updated_at = \(connection.dialect.now) WHERE id = ?1 AND status = \(waiting)
            """, [.integer(id), .text(params.jsonString()), index.map { .integer(Int64($0)) } ?? .null])
    }

    /// A retried pipeline step: it waits for its needs and is released as its first run was (its
    /// references resolved again from the template), unless it is one instance of a `for_each`
    /// step, which keeps its file. Then the rows cancelled because it ended wait again.
    static func retried(_ id: Int64, on connection: any SQLConnection) throws {
        if let row = try connection.query("SELECT * FROM jobs WHERE id = ?", [.integer(id)]).first,
            row["pipeline_id"]?.int != nil, row["step_index"]?.int == nil,
            !(Needs(row["needs"]?.string).steps.isEmpty && Needs(row["needs"]?.string).jobs.isEmpty)
        {
            try connection.run("UPDATE jobs SET status = \(waiting) WHERE id = ?", [.integer(id)])
            var waitingRow = row
            waitingRow["status"] = .text(JobStatus.waiting.rawValue)
            try releaseIfReady(waitingRow, on: connection)
        }
        try afterRetry(id, on: connection)
    }

    /// Back from a retry: the rows cancelled because job `id` failed wait again.
    static func afterRetry(_ id: Int64, on connection: any SQLConnection) throws {
        try connection.run(
            """
            UPDATE jobs SET status = \(waiting), error = NULL, finished_at = NULL, updated_at = \(connection.dialect.now)
            WHERE status = \(StoreSQL.word(.cancelled)) AND error LIKE ?1 AND error LIKE 'upstream %'
            """, [.text("%(job \(id))%")])
    }

    /// Whether every step and job row `id` needs has completed (a retried step with unmet needs
    /// waits instead of being queued).
    static func needsMet(_ id: Int64, on connection: any SQLConnection) throws -> Bool {
        guard let row = try connection.query("SELECT pipeline_id, needs FROM jobs WHERE id = ?", [.integer(id)]).first
        else { return true }
        let needs = Needs(row["needs"]?.string)
        for step in needs.steps {
            let counts = try connection.query(
                "SELECT count(*) AS n, count(*) FILTER (WHERE status = \(StoreSQL.word(.completed))) AS done FROM jobs WHERE pipeline_id = ?1 AND step = ?2",
                [row["pipeline_id"] ?? .null, .text(step)]
            ).first
            guard let total = counts?["n"]?.int, total > 0, counts?["done"]?.int == total else { return false }
        }
        for job in needs.jobs {
            let status = try connection.query("SELECT status FROM jobs WHERE id = ?", [.integer(job)]).first?[
                "status"]?.string
            if status != JobStatus.completed.rawValue { return false }
        }
        return true
    }
}
