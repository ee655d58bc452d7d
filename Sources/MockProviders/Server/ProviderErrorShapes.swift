/// One table per provider turning a `ProviderFailure` into that provider's status code and error body.
///
/// Shapes follow PROVIDERS.md; where it gives no body or status (Leonardo's 429 and out-of-credit answers, BRIA's
/// out-of-credit, Ark's 503, Kling's unknown task) the mock's choice is marked "assumed" and documented in
/// docs/mock-providers.md.
enum ProviderErrorShapes {
    /// The reply for `failure` in `provider`'s shape. Rate limits carry `Retry-After: retryAfter`.
    static func reply(
        _ failure: ProviderFailure, provider: Provider, requestID: String, retryAfter: Double
    ) -> MockReply {
        var reply: MockReply
        switch provider {
        case .openai: reply = openAI(failure)
        case .leonardo: reply = leonardo(failure)
        case .ark: reply = ark(failure, requestID: requestID)
        case .bria: reply = bria(failure, requestID: requestID)
        case .kling, .unknown: reply = kling(failure, requestID: requestID)
        }
        if case .rateLimited = failure {
            reply.headers.append((name: "Retry-After", value: formatSeconds(retryAfter)))
        }
        if provider == .openai || provider == .ark {
            reply.headers.append((name: "x-request-id", value: requestID))
        }
        return reply
    }

    /// Whole seconds as an integer ("1"), otherwise a decimal ("0.25"), which OpenAI's SDK also accepts.
    static func formatSeconds(_ seconds: Double) -> String {
        seconds.rounded() == seconds ? String(Int(seconds)) : String(seconds)
    }

    // MARK: OpenAI — {"error": {"message", "type", "param", "code"}}

    static func openAI(_ failure: ProviderFailure) -> MockReply {
        func body(_ status: Int, _ message: String, type: String, param: String? = nil, code: String? = nil)
            -> MockReply
        {
            .json(
                status,
                [
                    "error": [
                        "message": .string(message), "type": .string(type), "param": .optional(param),
                        "code": .optional(code),
                    ]
                ]
            )
        }
        switch failure {
        case .unauthorized(.missing):
            return body(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                    + "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                type: "invalid_request_error"
            )
        case .unauthorized:
            return body(
                401,
                "Incorrect API key provided: invalid***. You can find your API key at "
                    + "https://platform.openai.com/account/api-keys.",
                type: "invalid_request_error", code: "invalid_api_key"
            )
        case .missingField(let field):
            return body(
                400, "Missing required parameter: '\(field)'.", type: "invalid_request_error", param: field,
                code: "missing_required_parameter")
        case .wrongType(let field, let expected, let got):
            return body(
                400, "Invalid type for '\(field)': expected \(article(expected)), but got \(article(got)) instead.",
                type: "invalid_request_error", param: field, code: "invalid_type"
            )
        case .invalidValue(let field, let message):
            return body(400, message, type: "invalid_request_error", param: field, code: "invalid_value")
        case .malformedJSON:
            return body(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
                    + "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
                    + "valid JSON.)",
                type: "invalid_request_error"
            )
        case .notFound(let what):
            return body(404, "\(what) not found.", type: "invalid_request_error")
        case .contentPolicy:
            return body(
                400,
                "Your request was rejected as a result of our safety system. Your prompt may contain text that is "
                    + "not allowed by our safety system.",
                type: "invalid_request_error", code: "content_policy_violation"
            )
        case .serverError(503):
            return body(
                503, "The server is overloaded or not ready yet.", type: "server_error", code: "server_is_overloaded")
        case .serverError(let status):
            return body(
                status, "The server had an error while processing your request. Sorry about that!", type: "server_error"
            )
        case .rateLimited:
            return body(
                429,
                "Rate limit reached for requests per min (RPM): Limit 5, Used 5, Requested 1. Please try again later.",
                type: "requests", code: "rate_limit_exceeded"
            )
        case .insufficientQuota:
            return body(
                429, "You exceeded your current quota, please check your plan and billing details.",
                type: "insufficient_quota", code: "insufficient_quota"
            )
        case .duplicateID(let field, let value):
            return body(400, "'\(value)' is already in use.", type: "invalid_request_error", param: field)
        }
    }

    private static func article(_ type: String) -> String {
        type == "integer" || type == "object" || type == "array" ? "an \(type)" : "a \(type)"
    }

    // MARK: Leonardo — {"error", "path", "code"} (Hasura style); statuses assumed, see PROVIDERS.md §1

    static func leonardo(_ failure: ProviderFailure) -> MockReply {
        func body(_ status: Int, _ error: String, path: String = "$", code: String) -> MockReply {
            .json(status, ["error": .string(error), "path": .string(path), "code": .string(code)])
        }
        switch failure {
        case .unauthorized(.missing):
            return body(401, "Authentication hook unauthorized this request", code: "access-denied")
        case .unauthorized:
            return body(401, "Invalid response from authorization hook", code: "unexpected")
        case .missingField(let field):
            return body(400, "missing required field '\(field)'", path: "$.\(field)", code: "validation-failed")
        case .wrongType(let field, let expected, let got):
            return body(
                400, "expected \(expected) for '\(field)', got \(got)", path: "$.\(field)", code: "validation-failed")
        case .invalidValue(let field, let message):
            return body(400, message, path: "$.\(field)", code: "validation-failed")
        case .malformedJSON:
            return body(400, "Error in $: Failed reading: not a valid json value", code: "invalid-json")
        case .notFound(let what):
            return body(404, "\(what) not found", code: "not-found")
        case .contentPolicy:
            return body(400, "Prompt contains content that violates the content policy", code: "unexpected")
        case .serverError(let status):
            return body(status, status == 503 ? "service unavailable" : "internal error", code: "unexpected")
        case .rateLimited:  // assumed
            return body(429, "rate limit exceeded", code: "rate-limit-exceeded")
        case .insufficientQuota:  // assumed
            return body(402, "Not enough API credits to make this request", code: "insufficient-credits")
        case .duplicateID(let field, let value):
            return body(400, "\(field) \(value) already exists", code: "validation-failed")
        }
    }

    // MARK: Ark (Seedream, Seedance) — {"error": {"code", "message", "param", "type"}}

    static func ark(_ failure: ProviderFailure, requestID: String) -> MockReply {
        func body(_ status: Int, _ code: String, _ message: String, param: String = "", type: String) -> MockReply {
            .json(
                status,
                [
                    "error": [
                        "code": .string(code), "message": .string("\(message) Request id: \(requestID)"),
                        "param": .string(param), "type": .string(type),
                    ]
                ]
            )
        }
        switch failure {
        case .unauthorized:
            return body(
                401, "AuthenticationError", "The API key or AK/SK in the request is missing or invalid.",
                type: "Unauthorized")
        case .missingField(let field):
            return body(
                400, "MissingParameter",
                "The request failed because it is missing one or multiple required parameters: \(field).",
                param: field, type: "BadRequest"
            )
        case .wrongType(let field, let expected, let got):
            return body(
                400, "InvalidParameter",
                "The parameter `\(field)` specified in the request is not valid: expected \(expected), got \(got).",
                param: field, type: "BadRequest"
            )
        case .invalidValue(let field, let message):
            return body(
                400, "InvalidParameter", "The parameter `\(field)` specified in the request is not valid: \(message)",
                param: field, type: "BadRequest"
            )
        case .malformedJSON(let reason):
            return body(400, "InvalidParameter", "The request body is not valid JSON: \(reason).", type: "BadRequest")
        case .notFound(let what):
            return body(404, "ResourceNotFound", "The specified \(what) is not found.", param: "id", type: "NotFound")
        case .contentPolicy:
            return body(
                400, "OutputImageSensitiveContentDetected",
                "The request failed because the output image may contain sensitive information.", type: "BadRequest"
            )
        case .serverError(503):  // assumed: Ark documents no 503 code
            return body(
                503, "ServiceUnavailable", "The service is temporarily unavailable.", type: "ServiceUnavailable")
        case .serverError(let status):
            return body(
                status, "InternalServiceError", "The service encountered an unexpected internal error.",
                type: "InternalServerError")
        case .rateLimited:
            return body(
                429, "RateLimitExceeded.EndpointRPMExceeded",
                "The request has exceeded the RPM rate limit of the endpoint. Please try again later.",
                type: "TooManyRequests"
            )
        case .insufficientQuota:
            return body(
                403, "AccountOverdueError", "The request failed because your account has an overdue balance.",
                type: "Forbidden"
            )
        case .duplicateID(let field, let value):
            return body(
                400, "InvalidParameter",
                "The parameter `\(field)` specified in the request is not valid: \(value) is in use.",
                param: field, type: "BadRequest")
        }
    }

    // MARK: BRIA — {"error": {"code": int, "message", "details"}, "request_id"}

    static func bria(_ failure: ProviderFailure, requestID: String) -> MockReply {
        func body(_ status: Int, _ message: String, _ details: String) -> MockReply {
            .json(
                status,
                [
                    "error": ["code": .int(status), "message": .string(message), "details": .string(details)],
                    "request_id": .string(requestID),
                ]
            )
        }
        switch failure {
        case .unauthorized(.missing): return body(401, "Unauthorized", "The api_token header is missing.")
        case .unauthorized: return body(401, "Unauthorized", "The api_token is invalid.")
        case .missingField(let field): return body(400, "Bad Request", "Missing required field: \(field)")
        case .wrongType(let field, let expected, let got):
            return body(400, "Bad Request", "Field '\(field)' must be \(expected), got \(got)")
        case .invalidValue(let field, let message): return body(400, "Bad Request", "Field '\(field)': \(message)")
        case .malformedJSON(let reason):
            return body(400, "Bad Request", "The request body is not valid JSON: \(reason)")
        case .notFound(let what): return body(404, "Not Found", "\(what) was not found")
        case .contentPolicy: return body(422, "Unprocessable Entity", "The image failed content moderation.")
        case .serverError(503): return body(503, "Service Unavailable", "The service is temporarily unavailable.")
        case .serverError(let status): return body(status, "Internal Server Error", "An internal error occurred.")
        case .rateLimited: return body(429, "Too Many Requests", "Rate limit exceeded for this endpoint.")
        case .insufficientQuota:  // assumed: BRIA documents no out-of-credit answer
            return body(402, "Payment Required", "The organization has no remaining credit.")
        case .duplicateID(let field, let value): return body(400, "Bad Request", "Field '\(field)': \(value) is in use")
        }
    }

    // MARK: Kling — {"code": int, "message", "request_id"}

    static func kling(_ failure: ProviderFailure, requestID: String) -> MockReply {
        func body(_ status: Int, _ code: Int, _ message: String) -> MockReply {
            .json(status, ["code": .int(code), "message": .string(message), "request_id": .string(requestID)])
        }
        switch failure {
        case .unauthorized(.missing): return body(401, 1001, "Authorization is empty")
        case .unauthorized(.unknownIssuer): return body(401, 1000, "Authentication failed: unknown access key")
        case .unauthorized(.notYetValid): return body(401, 1003, "Authorization is not yet valid")
        case .unauthorized(.expired): return body(401, 1004, "Authorization has expired")
        case .unauthorized(.invalidToken(let reason)): return body(401, 1002, "Authorization is invalid: \(reason)")
        case .unauthorized(.invalidKey): return body(401, 1002, "Authorization is invalid")
        case .missingField(let field): return body(400, 1200, "Invalid request parameters: \(field) is required")
        case .wrongType(let field, let expected, let got):
            return body(400, 1201, "Invalid parameter value: \(field) must be \(article(expected)), got \(got)")
        case .invalidValue(let field, let message):
            return body(400, 1201, "Invalid parameter value: \(field): \(message)")
        case .malformedJSON: return body(400, 1200, "Invalid request parameters: the body is not valid JSON")
        case .notFound(let what):  // assumed status: Kling lists 1203 under "400 / 404"
            return body(404, 1203, "Requested resource does not exist: \(what)")
        case .contentPolicy: return body(400, 1301, "Failure to pass the risk control system")
        case .serverError(503): return body(503, 5001, "Server temporarily unavailable")
        case .serverError(let status): return body(status, 5000, "Server internal error")
        case .rateLimited: return body(429, 1302, "The API request is too fast, please slow down")
        case .insufficientQuota: return body(429, 1102, "Resource pack exhausted or expired")
        case .duplicateID(let field, let value):
            // Kling keeps external_task_id unique per account and refuses a repeat (PROVIDERS.md §6).
            return body(400, 1201, "Invalid parameter: \(field) \(value) already exists")
        }
    }
}
