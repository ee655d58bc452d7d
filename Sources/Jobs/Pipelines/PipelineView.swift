import Foundation
import JSON
import Reactor

/// Pipelines as `pipeline show`, `pipeline list` and the dashboard read them: each pipeline with
/// its steps' jobs, statuses, times and files. Its own read-only connection.
public struct PipelineView {
    /// One pipeline: its name, when it was submitted, and its jobs in step order.
    public struct Pipeline: Sendable {
        public var id: Int64
        public var name: String
        public var createdAt: String
        public var jobs: [JobRecord]

        /// Counts by status word.
        public var statusCounts: [String: Int] {
            jobs.reduce(into: [:]) { $0[$1.status, default: 0] += 1 }
        }

        /// `running` while any job is held or queued, `waiting` while only waiting ones remain,
        /// else `failed` when any failed, `cancelled` when any was, `completed` otherwise.
        public var status: String {
            let statuses = Set(jobs.compactMap(\.jobStatus))
            if !statuses.isDisjoint(with: JobStatus.held + [.queued]) { return "running" }
            if statuses.contains(.waiting) { return "waiting" }
            if statuses.contains(.failed) { return "failed" }
            if statuses.contains(.cancelled) { return "cancelled" }
            return "completed"
        }

        public var json: JSONValue {
            [
                "id": .number(Double(id)), "name": .string(name), "created_at": .string(createdAt),
                "status": .string(status),
                "steps": .array(
                    jobs.map { job in
                        [
                            "step": .optional(job.step), "index": job.stepIndex.map { .number(Double($0)) } ?? .null,
                            "job": .number(Double(job.id)), "job_type": .string(job.type),
                            "status": .string(job.status), "error": .optional(job.error),
                            "run_seconds": job.runSeconds.map(JSONValue.number) ?? .null,
                            "needs": job.needs.map { (try? JSONValue.parse($0)) ?? .null } ?? .null,
                            "files": .array(job.files.map { .string($0) }),
                        ]
                    }),
            ]
        }
    }

    private let connection: any SQLConnection
    private let columnNames: [String]

    public init(store: JobStoreLocation) throws {
        try self.init(connection: OperationsDatabase.open(store, readOnly: true))
    }

    /// On a connection the caller owns and keeps on one thread (the dashboard's readers).
    public init(connection: any SQLConnection) throws {
        self.connection = connection
        columnNames = try connection.query(connection.dialect.columnNames("jobs")).compactMap { $0["name"]?.string }
    }

    /// Pipeline `id`, nil when there is none.
    public func pipeline(_ id: Int64) throws -> Pipeline? {
        guard let row = try connection.query("SELECT * FROM pipelines WHERE id = ?", [.integer(id)]).first else {
            return nil
        }
        let jobs = try connection.query(
            "SELECT \(JobRecord.selectList(connection.dialect)) FROM jobs WHERE pipeline_id = ? ORDER BY id",
            [.integer(id)]
        ).map { JobRecord(row: $0, columns: columnNames) }
        return Pipeline(
            id: id, name: row["name"]?.string ?? "", createdAt: row["created_at"]?.string ?? "", jobs: jobs)
    }

    /// The newest `limit` pipelines, newest first.
    public func list(limit: Int = 50) throws -> [Pipeline] {
        try connection.query("SELECT id FROM pipelines ORDER BY id DESC LIMIT ?", [.integer(Int64(limit))])
            .compactMap { $0["id"]?.int }.compactMap { try pipeline($0) }
    }
}
