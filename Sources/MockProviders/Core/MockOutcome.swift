/// The five provider families the mock imitates; the raw value is the name used in flags, `/_mock/config`,
/// `/_mock/stats` and the request log. Seedream and Seedance share `ark`; OpenAI Images and vision share `openai`.
enum Provider: String, Sendable, CaseIterable {
    case openai
    case leonardo
    case ark
    case bria
    case kling
    /// A request that matched no provider route; logged and counted, never fault-injected.
    case unknown
}

/// What the mock does with one provider request, chosen before the request is handled.
///
/// The raw values are the words accepted in `X-Mock-Outcome` and in `/_mock/config`'s `next` queues.
enum MockOutcome: String, Sendable, CaseIterable {
    /// Answer normally (auth, validation and the provider's logic all apply).
    case ok
    /// HTTP 500 in the provider's error shape.
    case status500 = "status_500"
    /// HTTP 503 in the provider's error shape.
    case status503 = "status_503"
    /// HTTP 429 with `Retry-After` and the provider's rate-limit body (Kling code 1302).
    case rateLimit = "rate_limit"
    /// HTTP 200 whose body is not valid JSON.
    case malformed
    /// HTTP 200 JSON with the field the client needs (ID, status or result URL) removed.
    case missingField = "missing_field"
    /// The async task ends in the provider's failed state; sync APIs answer their content-policy error.
    case failedTask = "failed_task"
    /// Never answer; wait until the client goes away (at most one hour).
    case hang
    /// Do the work (a submit creates its task, and is paid for) but never send the answer: the
    /// client's view of a connection that died after the provider accepted the request.
    case holdAnswer = "hold_answer"
    /// HTTP 401 in the provider's error shape, whatever credentials were sent.
    case unauthorized
    /// The provider's "out of credit" answer (OpenAI: 429 `insufficient_quota`).
    case insufficientQuota = "insufficient_quota"
    /// OpenAI vision only: 200 with `message.refusal` set and no content. Elsewhere it acts as `failed_task`.
    case refusal

    /// Outcomes that still run the provider handler, which then adjusts its answer.
    var reachesHandler: Bool {
        switch self {
        case .ok, .missingField, .failedTask, .refusal, .holdAnswer: return true
        default: return false
        }
    }
}
