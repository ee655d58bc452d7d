import JSON

/// Kling's error body `{"code": int, "message", "request_id"}` and its retry classes
/// (PROVIDERS.md §6). HTTP 429 means both "slow down" and "your account cannot pay", so the
/// verdict branches on `code`, not on the status.
public enum KlingErrors {
    /// Too many requests (1302) or tasks over the resource pack's concurrency (1303): wait.
    static let rateLimitCodes: Set<Int> = [1302, 1303]
    /// Account abnormal, in arrears, resource pack exhausted (1100–1102), IP not whitelisted (1304).
    static let accountCodes: Set<Int> = [1100, 1101, 1102, 1304]
    /// The JWT is not yet valid (1003) or expired (1004): a clock matter, cured by a new token.
    static let staleTokenCodes: Set<Int> = [1003, 1004]

    public static let table = ProviderErrorTable(
        provider: Kling.name,
        message: { body in
            let message = body["message"]?.stringValue
            guard let code = body["code"]?.intValue else { return message }
            return "code \(code): \(message ?? "")"
        },
        classify: { status, body in
            let code = body?["code"]?.intValue
            switch status {
            case 401:
                return code.map(staleTokenCodes.contains) == true ? .refreshCredentials : .permanent
            case 429:
                if let code, accountCodes.contains(code) { return .permanent }
                // 1302/1303, or a 429 whose code we do not know: waiting is the safe reading.
                return .rateLimited
            default:
                return ProviderErrorTable.standard(status, body)
            }
        })

    /// Kling answers HTTP 200 with `code` ≠ 0 for some refusals; such an answer is an error.
    static func checkCode(_ answer: ProviderAnswer) throws(JobFailure) {
        guard let code = answer.value("code")?.intValue, code != 0 else { return }
        let message = answer.string("message") ?? "no message"
        let kind: JobFailure.Kind = rateLimitCodes.contains(code) || code >= 5000 ? .transient : .permanent
        throw JobFailure("Kling API error (HTTP \(answer.status)): code \(code): \(message)", kind: kind)
    }
}
