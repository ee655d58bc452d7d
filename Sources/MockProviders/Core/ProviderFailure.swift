/// Why the mock refuses a provider request, independent of how each provider words it.
///
/// Handlers throw these; `ProviderErrorShapes` turns each into the provider's own status code and body, so the
/// provider-specific wording lives in one table per provider instead of in every handler.
enum ProviderFailure: Error, Sendable {
    /// Credentials missing or rejected.
    case unauthorized(AuthProblem)
    /// A required field is absent (the associated value is its path, e.g. `prompt` or `content[0].text`).
    case missingField(String)
    /// A field has the wrong JSON type.
    case wrongType(field: String, expected: String, got: String)
    /// A field has the right type but a value the provider does not accept.
    case invalidValue(field: String, message: String)
    /// The body is not JSON, or not a JSON object.
    case malformedJSON(String)
    /// An ID that the provider does not know.
    case notFound(String)
    /// A sync API's content-policy / moderation refusal.
    case contentPolicy
    /// A 5xx answer; the associated value is the status (500 or 503).
    case serverError(Int)
    /// Too many requests; the caller adds `Retry-After`.
    case rateLimited
    /// The account has no credit left.
    case insufficientQuota
    /// A caller's id the provider keeps unique per account was used before (Kling's `external_task_id`).
    case duplicateID(field: String, value: String)
}

/// The ways credentials can be wrong; Kling distinguishes them by code (1000–1004), the others only by text.
enum AuthProblem: Sendable, Equatable {
    /// No credential header at all (Kling 1001).
    case missing
    /// A key the provider does not accept, e.g. one starting with `invalid` (Kling 1002).
    case invalidKey
    /// Kling: the JWT cannot be decoded, has the wrong algorithm or a bad signature (1002).
    case invalidToken(String)
    /// Kling: `iss` is not a known access key (1000).
    case unknownIssuer
    /// Kling: `nbf` lies in the future (1003).
    case notYetValid
    /// Kling: `exp` has passed (1004).
    case expired
}
