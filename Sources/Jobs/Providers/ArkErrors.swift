import JSON

/// What Seedream and Seedance share on Ark (PROVIDERS.md §4): the base URL, the bearer key, and
/// the error body `{"error": {"code", "message", "param", "type"}}`.
///
/// Every documented 429 code (`RateLimitExceeded.*`, `ServerOverloaded`, `RequestBurstTooFast`,
/// …) is worth waiting out; an overdue account is a 403 (`AccountOverdueError`), permanent, as
/// are the 400 content-safety codes (`*SensitiveContentDetected*`). Ark documents no
/// Retry-After header (not confirmed either way); without one the job backs off on its own.
public enum ArkErrors {
    /// Seedream image generation's errors, named so in job errors.
    public static let seedream = table(Seedream.name)
    /// Seedance video tasks' errors.
    public static let seedance = table(Seedance.name)

    static func table(_ provider: ProviderName) -> ProviderErrorTable {
        ProviderErrorTable(
            provider: provider,
            message: { body in
                guard let error = body["error"] else { return nil }
                let message = error["message"]?.stringValue ?? error.stringValue ?? ""
                var text = error["code"]?.stringValue.map { "\($0): \(message)" } ?? message
                if let param = error["param"]?.stringValue, !param.isEmpty { text += " (param \(param))" }
                return text
            },
            classify: { status, body in
                // A content-safety refusal is final whatever status it comes with.
                if let code = body?["error"]?["code"]?.stringValue, code.contains("SensitiveContentDetected") {
                    return .permanent
                }
                return ProviderErrorTable.standard(status, body)
            })
    }

    /// Ark's base URL: BytePlus ModelArk (international) unless `ARK_BASE_URL` says otherwise.
    static let defaultBaseURL = "https://ark.ap-southeast.bytepluses.com/api/v3"

    /// `ARK_BASE_URL` and the bearer `ARK_API_KEY`, for both Ark APIs.
    static func connect(_ settings: ProviderSettings) throws(JobFailure) -> ProviderConnection {
        let key = try settings.credential("ARK_API_KEY")
        return ProviderConnection(
            base: settings.baseURL("ARK_BASE_URL", default: defaultBaseURL),
            headers: [("Authorization", "Bearer \(key)")])
    }
}
