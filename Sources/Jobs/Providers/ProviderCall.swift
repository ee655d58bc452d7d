import Foundation
import JSON
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
        /// The credentials were refused as expired or not yet valid (Kling's JWT): rebuild them
        /// once and send again; permanent when that was already done.
        case refreshCredentials
    }

    public let name: String
    /// Pulls "code: message" (or just the message) from an error body; nil when unreadable.
    public let message: @Sendable (JSONValue) -> String?
    /// Decides from the status and the parsed body (nil when it was not JSON).
    public let classify: @Sendable (Int, JSONValue?) -> Verdict

    public init(
        name: String, message: @escaping @Sendable (JSONValue) -> String?,
        classify: @escaping @Sendable (Int, JSONValue?) -> Verdict = Self.standard
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
        case .permanent, .refreshCredentials: return .permanent(text)
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
        _ request: HTTPRequest, errors: ProviderErrorTable, submit: SubmitKind = .retrySafe,
        maxRateLimitWaits: Int = 20,
        waited: Int = 0, completion: @escaping (Result<HTTPResponse, JobFailure>) -> Void
    ) {
        let call = ProviderCallState(
            errors: errors, maxRateLimitWaits: maxRateLimitWaits, build: { request }, refreshCredentials: nil,
            completion: completion)
        call.submit = submit
        call.rateLimitWaits = waited
        attemptProviderCall(call)
    }

    /// Like `callProvider(_:errors:…)`, but builds the request at each send, so a wait (rate
    /// limit, pause) never sends stale credentials; `refreshCredentials`, when given, runs once
    /// on a `.refreshCredentials` verdict before the request is rebuilt and sent again.
    ///
    /// Every send first takes its turn from the worker's `ProviderThrottle` for this job's
    /// provider (`<PROVIDER>_RATE_PER_MIN`, and pauses after a 429 with Retry-After). Waiting
    /// out a 429 is not a failed attempt.
    public func callProvider(
        errors: ProviderErrorTable, submit: SubmitKind = .retrySafe, maxRateLimitWaits: Int = 20,
        refreshCredentials: (() -> Void)? = nil, build: @escaping () throws(JobFailure) -> HTTPRequest,
        completion: @escaping (Result<HTTPResponse, JobFailure>) -> Void
    ) {
        let call = ProviderCallState(
            errors: errors, maxRateLimitWaits: maxRateLimitWaits, build: build,
            refreshCredentials: refreshCredentials, completion: completion)
        call.submit = submit
        attemptProviderCall(call)
    }

    /// Longest Retry-After the job waits out while holding its slot; a longer one sends the job
    /// back to the queue with the provider's delay instead (the provider stays paused).
    static let longestRateLimitPause: Double = 300

    private func attemptProviderCall(_ call: ProviderCallState) {
        let wait = throttle.reserve(provider)
        if wait > 0 {
            after(wait) { [weak self] in
                guard let self else { return }
                // A 429 may have paused the provider after this turn was reserved: queue again.
                if self.throttle.remainingPause(self.provider) > 0 {
                    self.attemptProviderCall(call)
                } else {
                    self.sendProviderCall(call)
                }
            }
            return
        }
        sendProviderCall(call)
    }

    private func sendProviderCall(_ call: ProviderCallState) {
        let request: HTTPRequest
        do {
            request = try call.build()
        } catch {
            call.completion(.failure(error))
            return
        }
        send(request) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                let host = URL(string: request.url)?.host ?? request.url
                let allowed = (try? self.params.bool("resubmit_on_lost_submit")) == true
                call.completion(
                    .failure(
                        call.submit.failure(
                            for: error, provider: call.errors.name, host: host, timeout: request.timeout,
                            resubmitAllowed: allowed)))
            case .success(let response) where response.isSuccess:
                call.completion(.success(response))
            case .success(let response):
                self.handleProviderError(response, call: call)
            }
        }
    }

    private func handleProviderError(_ response: HTTPResponse, call: ProviderCallState) {
        let verdict = call.errors.classify(response.status, try? JSONValue.parse(response.body))
        switch verdict {
        case .rateLimited where call.rateLimitWaits < call.maxRateLimitWaits:
            throttle.countRateLimitAnswer(provider)
            call.rateLimitWaits += 1
            let retryAfter = RetryAfter.seconds(in: response.headers)
            if let retryAfter, retryAfter > Self.longestRateLimitPause {
                throttle.pause(provider, for: retryAfter)
                call.completion(.failure(call.errors.failure(for: response, verdict: verdict)))
                return
            }
            phase = "rate limited"
            if let retryAfter {
                // The provider said when: hold back every job of this provider until then.
                throttle.pause(provider, for: retryAfter)
                logRateLimit(call.errors.name, wait: retryAfter, wholeProvider: true)
                attemptProviderCall(call)
            } else {
                // No Retry-After: only this job backs off; the others keep their pace.
                let wait = min(2 * pow(2, Double(call.rateLimitWaits - 1)), 60)
                logRateLimit(call.errors.name, wait: wait, wholeProvider: false)
                after(wait) { [weak self] in self?.attemptProviderCall(call) }
            }
        case .refreshCredentials where !call.refreshedCredentials && call.refreshCredentials != nil:
            call.refreshedCredentials = true
            call.refreshCredentials?()
            attemptProviderCall(call)
        default:
            call.completion(.failure(call.errors.failure(for: response, verdict: verdict)))
        }
    }

    private func logRateLimit(_ name: String, wait: Double, wholeProvider: Bool) {
        let scope = wholeProvider ? "pausing all \(provider) requests for" : "waiting"
        log.info(
            "[Thread-JobWorker-\(slot)] job \(job.id): \(name) is rate limiting (HTTP 429); \(scope) \(DurationText.seconds(wait))",
            WorkerLog.Fields(jobID: job.id, provider: provider, slot: slot, event: "rate_limited"))
    }

    /// Parses a 2xx provider body as JSON, or fails saying the provider sent something else.
    public func decodeProviderJSON(_ response: HTTPResponse, provider: String) throws(JobFailure) -> JSONValue {
        do {
            return try JSONValue.parse(response.body)
        } catch {
            throw .transient(
                "\(provider) answered HTTP \(response.status) with a body that is not JSON: \(response.bodyText(limit: 200))"
            )
        }
    }

    /// Downloads `url` into this job's folder as `name` (temporary name, then fsync and rename).
    /// Nothing of it touches the disk from the loop: the folder is made and the finished file
    /// flushed and renamed on the job's writer queue, and the HTTP client writes the bytes on
    /// its download queues.
    public func download(
        _ url: String, as name: String, provider: String, completion: @escaping (Result<String, JobFailure>) -> Void
    ) {
        let outputs = outputs
        let temporary = outputs.temporaryPath(name)
        phase = "downloading"
        prepareFolder { [weak self] prepared in
            guard let self else { return }
            if case .failure(let failure) = prepared { return completion(.failure(failure)) }
            self.send(HTTPRequest(url: url, timeout: 0, downloadPath: temporary)) { [weak self] result in
                guard let self else { return }
                switch result {
                case .failure(let error):
                    completion(
                        .failure(.transient("could not download the \(provider) output from \(url): \(error.message)")))
                case .success(let response) where !response.isSuccess:
                    completion(
                        .failure(
                            .transient(
                                "downloading the \(provider) output from \(url) failed with HTTP \(response.status): \(response.bodyText(limit: 200))"
                            )))
                case .success:
                    let flushAndRename = { @Sendable () throws(JobFailure) -> String in
                        try outputs.commitDurably(temporary: temporary, as: name)
                    }
                    self.onWriterQueue(bytes: 0, flushAndRename, completion: completion)
                }
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

/// One provider call in progress: what to send, how to read errors, and how often it waited.
/// A class so the retries of one call share their counters. Loop thread only.
final class ProviderCallState {
    let errors: ProviderErrorTable
    let maxRateLimitWaits: Int
    let build: () throws(JobFailure) -> HTTPRequest
    let refreshCredentials: (() -> Void)?
    let completion: (Result<HTTPResponse, JobFailure>) -> Void
    var rateLimitWaits = 0
    var refreshedCredentials = false
    var submit = SubmitKind.retrySafe

    init(
        errors: ProviderErrorTable, maxRateLimitWaits: Int, build: @escaping () throws(JobFailure) -> HTTPRequest,
        refreshCredentials: (() -> Void)?, completion: @escaping (Result<HTTPResponse, JobFailure>) -> Void
    ) {
        self.errors = errors
        self.maxRateLimitWaits = maxRateLimitWaits
        self.build = build
        self.refreshCredentials = refreshCredentials
        self.completion = completion
    }
}
