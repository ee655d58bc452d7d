import JSON
import Reactor

/// SQL fragments built from the Swift rules (`JobStatus`, `JobType`), so that each rule — the
/// status words, which statuses are held or finished, the default provider per type, which types
/// are claimed first, what status a claim sets — is written once. Every fragment is made of fixed
/// words from those enums, never of user text.
public enum StoreSQL {
    /// `'queued'`.
    public static func word(_ status: JobStatus) -> String { "'\(status.rawValue)'" }

    /// `('processing','keying_processing')`, for `status IN …`.
    public static func list(_ statuses: [JobStatus]) -> String {
        "(" + statuses.map(word).joined(separator: ",") + ")"
    }

    /// `('video_keying','video_stitching')`, for `job_type IN …`.
    public static func list(_ types: [JobType]) -> String {
        "(" + types.map { "'\($0.rawValue)'" }.joined(separator: ",") + ")"
    }

    public static let held = list(JobStatus.held)
    public static let running = list(JobStatus.running)
    public static let finished = list(JobStatus.finished)
    public static let mediaTypes = list(JobType.allCases.filter(\.isMedia))
    public static let claimedFirstTypes = list(JobType.claimedFirst)

    /// The status a claimed row gets: its type's `runningStatus`.
    public static let runningStatusOfType: String = {
        let special = JobType.allCases.filter { $0.runningStatus != .processing }
        let cases = special.map { "WHEN '\($0.rawValue)' THEN \(word($0.runningStatus))" }.joined(separator: " ")
        return "CASE job_type \(cases) ELSE \(word(.processing)) END"
    }()

    /// The SQL expression for a row's gate key: its provider, or the type's default provider.
    /// Malformed params must not break the claim query (`SQLDialect.jsonText` yields NULL).
    /// On PostgreSQL a trigger keeps it in the `gate_key` column (`PostgresSchema`).
    public static func gateKey(_ dialect: SQLDialect) -> String {
        switch dialect {
        case .sqlite: gateKeyExpression(params: "params", jobType: "job_type", dialect: .sqlite)
        case .postgres: "gate_key"
        }
    }

    public static let gateKey = gateKey(.sqlite)

    /// The gate key computed from a row's `params` and `job_type` columns.
    static func gateKeyExpression(params: String, jobType: String, dialect: SQLDialect) -> String {
        let defaults = JobType.allCases.compactMap { type in
            type.defaultProvider.map { "WHEN '\(type.rawValue)' THEN '\($0)'" }
        }.joined(separator: " ")
        return "coalesce(\(dialect.jsonText(params, key: "provider")), CASE \(jobType) \(defaults) ELSE '' END)"
    }

    /// A queued row that may run now (`run_after <= ?1`), its gate key not among the full ones
    /// (a JSON list in `?2`).
    public static func runnable(_ dialect: SQLDialect) -> String {
        "run_after <= ?1 AND (\(gateKey(dialect))) NOT IN \(dialect.texts(in: "?2"))"
    }

    /// What a claim sets on a row, under this worker's lease (`?2` owner, `?3` lease end). It
    /// counts an attempt unless the row has a provider task to resume (`Job.attemptCounted`).
    static func claimedSet(_ dialect: SQLDialect) -> String {
        """
        status = \(runningStatusOfType),
            attempts = attempts + CASE WHEN provider_task_id IS NULL THEN 1 ELSE 0 END, progress = 0, hold = NULL,
            started_at = \(dialect.now), updated_at = \(dialect.now), lease_owner = ?2, lease_until = ?3
        """
    }

    /// What a claim returns of each row (`SQLiteJobStore.claimedJob` reads it).
    static func claimedColumns(_ dialect: SQLDialect) -> String {
        """
        id, job_type, params, priority, attempts, max_attempts, provider_task_id, provider_state,
            interruptions, submission, \(dialect.unixSeconds("created_at")) AS created_unix,
            (\(gateKey(dialect))) AS gate_key
        """
    }

    /// `AND (lease_owner IS NULL OR lease_owner = '<owner>')`: an update that touches only rows
    /// `owner` holds (or nobody does), so a worker whose lease ran out cannot overwrite the run
    /// that took the job over.
    static func ownLeaseCondition(_ owner: String) -> String {
        "AND (lease_owner IS NULL OR lease_owner = '\(owner.replacingOccurrences(of: "'", with: "''"))')"
    }

    /// A JSON array of ids, for `SQLDialect.member(_:ofIntegers:)`.
    public static func jsonIDs(_ ids: [Int64]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    /// A JSON array of strings, for `SQLDialect.texts(in:)`.
    public static func jsonList(_ keys: Set<String>) -> String {
        JSONValue.array(keys.sorted().map { .string($0) }).jsonString()
    }

    /// `attempts` less `amount` (a parameter or number), never below zero.
    public static func attemptsLess(_ amount: String) -> String {
        "CASE WHEN attempts > \(amount) THEN attempts - \(amount) ELSE 0 END"
    }
}
