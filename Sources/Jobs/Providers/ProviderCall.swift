import Foundation
import Reactor

/// How one provider's error answers read: its display name, where its message sits in an
/// error body, and which answers are worth retrying (PROVIDERS.md §8). One table per provider.
public struct ProviderErrorTable: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Wait (Retry-After or back-off) and send again; not a failed attempt.
        case rateLimited
        /// The attempt failed; a later attempt may succeed.
        case transient
        /// Retrying cannot help.
        case permanent
    }

    public let name: String
    /// Pulls "code: message" (or just the message) from an error body; nil when unreadable.
    public let message: @Sendable (JSONValue) -> String?
    /// Decides from the status and the parsed body (nil when it was not JSON).
    public let classify: @Sendable (Int, JSONValue?) -> Verdict

    public init(
        name: String, message: @escaping @Sendable (JSONValue) -> String?, classify: @escaping @Sendable (Int, JSONValue?) -> Verdict = Self.standard
    ) {
        self.name = name
        self.message = message
        self.classify = classify
    }

    /// 408/409/5xx transient, 429 rate-limited, other 4xx permanent.
    public static let standard: @Sendable (Int, JSONValue?) -> Verdict = { status, _ in
        switch status {
        case 429: .rateLimited
        case 408, 409, 500...599: .transient
        default: .permanent
        }
    }

    /// The failure for an error answer, carrying the provider's own words and the status.
    func failure(for response: HTTPResponse, verdict: Verdict) -> JobFailure {
        let body = try? JSONValue.parse(response.body)
        let detail = body.flatMap(message) ?? (response.body.isEmpty ? "empty body" : response.bodyText(limit: 300))
        let text = "\(name) API error (HTTP \(response.status)): \(detail)"
        switch verdict {
        case .permanent: return .permanent(text)
        case .transient, .rateLimited: return .transient(text, retryAfter: RetryAfter.seconds(in: response.headers))
        }
    }
}

/// Reads how long a provider asked us to wait.
public enum RetryAfter {
    /// `retry-after-ms`, else `retry-after` in seconds or as an HTTP date.
    public static func seconds(in headers: [String: String]) -> Double? {
        if let ms = headers["retry-after-ms"].flatMap(Double.init), ms >= 0 { return ms / 1000 }
        guard let value = headers["retry-after"]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: value) { return max(0, date.timeIntervalSinceNow) }
        return nil
    }
}

extension JobContext {
    /// Sends a provider request and sorts the answer: 2xx to `completion(.success)`, a rate
    /// limit waited out and sent again (up to `maxRateLimitWaits` times, each honouring
    /// Retry-After), anything else to a `JobFailure` in the provider's words.
    public func callProvider(
        _ request: HTTPRequest, errors: ProviderErrorTable, maxRateLimitWaits: Int = 20, waited: Int = 0,
        completion: @escaping (Result<HTTPResponse, JobFailure>) -> Void
    ) {
        send(request) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                let host = URL(string: request.url)?.host ?? request.url
                let what = error.kind == .timeout ? "timed out after \(Int(request.timeout)) s" : error.message
                completion(.failure(.transient("could not reach \(errors.name) at \(host): \(what)")))
            case .success(let response) where response.isSuccess:
                completion(.success(response))
            case .success(let response):
                let verdict = errors.classify(response.status, try? JSONValue.parse(response.body))
                if verdict == .rateLimited && waited < maxRateLimitWaits {
                    let wait = RetryAfter.seconds(in: response.headers) ?? min(2 * pow(2, Double(waited)), 60)
                    self.log.info(
                        "[Thread-JobWorker-\(self.slot)] job \(self.job.id): \(errors.name) is rate limiting (HTTP 429); waiting \(Scheduler.seconds(wait))",
                        WorkerLog.Fields(jobID: self.job.id, slot: self.slot, event: "rate_limited"))
                    self.phase = "rate limited"
                    self.after(wait) {
                        self.callProvider(request, errors: errors, maxRateLimitWaits: maxRateLimitWaits, waited: waited + 1, completion: completion)
                    }
                    return
                }
                completion(.failure(errors.failure(for: response, verdict: verdict)))
            }
        }
    }

    /// Parses a 2xx provider body as JSON, or fails saying the provider sent something else.
    public func decodeProviderJSON(_ response: HTTPResponse, provider: String) throws(JobFailure) -> JSONValue {
        do {
            return try JSONValue.parse(response.body)
        } catch {
            throw .transient("\(provider) answered HTTP \(response.status) with a body that is not JSON: \(response.bodyText(limit: 200))")
        }
    }

    /// Downloads `url` into this job's folder as `name` (temporary name, then rename).
    public func download(_ url: String, as name: String, provider: String, completion: @escaping (Result<String, JobFailure>) -> Void) {
        do {
            try outputs.prepare()
        } catch {
            completion(.failure(error))
            return
        }
        let temporary = outputs.temporaryPath(name)
        phase = "downloading"
        send(HTTPRequest(url: url, timeout: 0, downloadPath: temporary)) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                completion(.failure(.transient("could not download the \(provider) output from \(url): \(error.message)")))
            case .success(let response) where !response.isSuccess:
                completion(.failure(.transient("downloading the \(provider) output from \(url) failed with HTTP \(response.status): \(response.bodyText(limit: 200))")))
            case .success:
                completion(Result { () throws(JobFailure) in try self.outputs.commit(temporary: temporary, as: name) })
            }
        }
    }

    /// A base URL from settings without a trailing slash, or the provider's default.
    public func baseURL(_ variable: String, default fallback: String) -> String {
        var value = setting(variable) ?? fallback
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }
}
