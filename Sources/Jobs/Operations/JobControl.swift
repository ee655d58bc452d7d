import Reactor

/// `cancel` and `retry`: status changes asked for from the command line, one short
/// transaction per job so a running worker is never held up for long.
///
/// A queued job is cancelled at once. A running job belongs to the worker that runs it, so
/// it is only marked `cancel_requested`; that worker checks every 0.5 s, stops the job's
/// requests and processes and writes `cancelled`. (A request for a job whose worker died is
/// ended by the next worker's recovery of abandoned rows.)
public struct JobControl {
    /// What happened to one id, in words for the person who asked.
    public enum Outcome: Sendable, Equatable {
        case cancelled
        case cancelRequested(was: String)
        case requeued(was: String)
        case refused(status: String, reason: String)
        case notFound

        /// True when the job was changed as asked (or will be, for a running job).
        public var succeeded: Bool {
            switch self {
            case .cancelled, .cancelRequested, .requeued: true
            case .refused, .notFound: false
            }
        }
    }

    private let connection: any SQLConnection

    /// Opens `path` for writing (schema migrated first).
    public init(store: JobStoreLocation) throws {
        connection = try OperationsDatabase.open(store, readOnly: false)
    }

    /// Cancels job `id`: queued → `cancelled`; running → `cancel_requested`.
    public func cancel(id: Int64) throws -> Outcome {
        try inTransaction {
            guard let status = try currentStatus(id) else { return .notFound }
            switch JobStatus(rawValue: status) {
            case .queued:
                try connection.run(
                    """
                    UPDATE jobs SET status = '\(JobStatus.cancelled.rawValue)',
                        error = 'cancelled with reactor-worker cancel before it started',
                        finished_at = \(connection.dialect.now), updated_at = \(connection.dialect.now)
                    WHERE id = ?
                    """, [.integer(id)])
                try PipelineRelease.afterEnded(id, on: connection)
                return .cancelled
            case .waiting:
                try connection.run(
                    """
                    UPDATE jobs SET status = '\(JobStatus.cancelled.rawValue)',
                        error = 'cancelled with reactor-worker cancel while it waited for its pipeline',
                        finished_at = \(connection.dialect.now), updated_at = \(connection.dialect.now)
                    WHERE id = ?
                    """, [.integer(id)])
                try PipelineRelease.afterEnded(id, on: connection)
                return .cancelled
            case .processing, .keyingProcessing:
                try connection.run(
                    """
                    UPDATE jobs SET status = '\(JobStatus.cancelRequested.rawValue)',
                        updated_at = \(connection.dialect.now) WHERE id = ?
                    """, [.integer(id)])
                return .cancelRequested(was: status)
            case .cancelRequested:
                return .refused(status: status, reason: "cancellation was already requested; its worker ends it soon")
            case .completed, .failed, .cancelled:
                return .refused(status: status, reason: "it has already finished; nothing to cancel")
            case nil:
                return .refused(status: status, reason: "its status '\(status)' is not one this worker knows")
            }
        }
    }

    /// Puts a failed or cancelled job back in the queue as if new: attempts and interruptions 0,
    /// runnable now, error, result, progress, times and the provider's old task id cleared, and
    /// the next submission number: the next run pays for a new task under a new idempotency key
    /// instead of polling (or being matched to) the one that failed.
    public func retry(id: Int64) throws -> Outcome {
        try inTransaction {
            guard let status = try currentStatus(id) else { return .notFound }
            switch JobStatus(rawValue: status) {
            case .failed, .cancelled:
                try connection.run(
                    """
                    UPDATE jobs SET status = '\(JobStatus.queued.rawValue)', attempts = 0, interruptions = 0,
                        submission = submission + 1, run_after = 0,
                        error = NULL, result = NULL, progress = 0, started_at = NULL, finished_at = NULL,
                        provider_task_id = NULL, provider_state = NULL, lease_owner = NULL, lease_until = NULL, hold = NULL,
                        updated_at = \(connection.dialect.now)
                    WHERE id = ?
                    """, [.integer(id)])
                try PipelineRelease.retried(id, on: connection)
                return .requeued(was: status)
            case .queued, .waiting:
                return .refused(status: status, reason: "it is already queued")
            case .processing, .keyingProcessing, .cancelRequested:
                return .refused(status: status, reason: "it is running; cancel it first or wait for it to end")
            case .completed:
                return .refused(
                    status: status,
                    reason: "it completed; to run it again, enqueue a new job with its params (see `show \(id)`)")
            case nil:
                return .refused(status: status, reason: "its status '\(status)' is not one this worker knows")
            }
        }
    }

    /// `cancel --pipeline`: every job of pipeline `pipeline` that has not finished — waiting and
    /// queued ones at once, running ones asked to stop. Answers with each job's outcome.
    public func cancel(pipeline: Int64) throws -> [(id: Int64, outcome: Outcome)] {
        let ids = try connection.query(
            "SELECT id FROM jobs WHERE pipeline_id = ? AND status NOT IN \(StoreSQL.finished) ORDER BY id",
            [.integer(pipeline)]
        ).compactMap { $0["id"]?.int }
        let exists = try !connection.query("SELECT 1 FROM pipelines WHERE id = ?", [.integer(pipeline)]).isEmpty
        guard exists else {
            throw OperationsError("there is no pipeline \(pipeline); see `reactor-worker pipeline list`")
        }
        var outcomes: [(id: Int64, outcome: Outcome)] = []
        for id in ids { outcomes.append((id, try cancel(id: id))) }
        return outcomes
    }

    private func currentStatus(_ id: Int64) throws -> String? {
        try connection.query("SELECT status FROM jobs WHERE id = ?", [.integer(id)]).first?["status"]?.string
    }

    /// IMMEDIATE takes the write lock before the status is read, so the worker cannot claim
    /// or finish the job between our read and our write.
    private func inTransaction(_ body: () throws -> Outcome) throws -> Outcome {
        try connection.execute(connection.dialect.beginWrite)
        do {
            let outcome = try body()
            try connection.execute("COMMIT")
            return outcome
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
