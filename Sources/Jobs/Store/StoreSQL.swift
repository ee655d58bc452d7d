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
    /// Malformed params must not break the claim query, hence `json_valid`.
    public static let gateKey: String = {
        let defaults = JobType.allCases.compactMap { type in
            type.defaultProvider.map { "WHEN '\(type.rawValue)' THEN '\($0)'" }
        }.joined(separator: " ")
        return """
            coalesce(CASE WHEN json_valid(params) AND json_type(params, '$.provider') = 'text' \
            THEN json_extract(params, '$.provider') END, CASE job_type \(defaults) ELSE '' END)
            """
    }()
}
