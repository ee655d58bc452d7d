import Foundation
import JSON
import Reactor

/// `prune`: deletes finished rows older than a given age and their output folders
/// (`OUTPUT_DIR/<id>/`). Queued and running jobs are never touched.
public struct JobPruner {
    /// One pruned (or, in a dry run, prunable) job.
    public struct Entry: Sendable {
        public var id: Int64
        public var type: String
        public var status: String
        /// Seconds since the job finished.
        public var finishedSecondsAgo: Double
        /// The job's output folder, when it exists.
        public var folder: String?
        /// Why the folder could not be removed, if it could not.
        public var folderError: String?
    }

    private let connection: any SQLConnection
    private let outputDirectory: String

    /// Opens `path` for writing; outputs live under `outputDirectory` (`OUTPUT_DIR`).
    public init(store: JobStoreLocation, outputDirectory: String) throws {
        connection = try OperationsDatabase.open(store, readOnly: false)
        self.outputDirectory = outputDirectory
    }

    /// Finds finished jobs that ended more than `seconds` ago (a pipeline's only when every job of
    /// that pipeline has, so a pipeline is never half pruned) and, unless `dryRun`, deletes the
    /// rows (one transaction) and then their folders. Rows go first: a folder left behind
    /// by a failed removal is only disk space, but a row whose files were deleted would
    /// promise outputs that are gone.
    public func prune(olderThan seconds: Double, dryRun: Bool) throws -> [Entry] {
        let finished = StoreSQL.finished
        let ended = "coalesce(finished_at, updated_at, created_at)"
        let dialect = connection.dialect
        let otherEnded = "coalesce(other.finished_at, other.updated_at, other.created_at)"
        try connection.execute(dialect.beginWrite)
        var entries: [Entry]
        do {
            let rows = try connection.query(
                """
                SELECT id, job_type, status, \(dialect.secondsBetween(ended)) AS ago FROM jobs
                WHERE status IN \(finished) AND \(dialect.secondsBetween(ended)) > ?1
                  AND (pipeline_id IS NULL OR NOT EXISTS (
                      SELECT 1 FROM jobs other WHERE other.pipeline_id = jobs.pipeline_id
                        AND (other.status NOT IN \(finished) OR \(dialect.secondsBetween(otherEnded)) <= ?1)))
                ORDER BY id
                """, [.real(seconds)])
            entries = rows.map { row in
                Entry(
                    id: row["id"]?.int ?? 0, type: row["job_type"]?.string ?? "", status: row["status"]?.string ?? "",
                    finishedSecondsAgo: row["ago"]?.double ?? 0, folder: nil, folderError: nil)
            }
            if !dryRun && !entries.isEmpty {
                let ids = JSONValue.array(entries.map { .number(Double($0.id)) }).jsonString()
                try connection.run("DELETE FROM jobs WHERE \(dialect.member("id", ofIntegers: "?1"))", [.text(ids)])
                // A pipeline goes with its last job: prune takes a pipeline only when all of it is old.
                try connection.run(
                    "DELETE FROM pipelines WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.pipeline_id = pipelines.id)")
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
        for index in entries.indices {
            let folder = JobOutputs(root: outputDirectory, jobID: entries[index].id).directory
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue
            else { continue }
            entries[index].folder = folder
            guard !dryRun else { continue }
            do {
                try FileManager.default.removeItem(atPath: folder)
            } catch {
                entries[index].folderError = error.localizedDescription
            }
        }
        return entries
    }
}
