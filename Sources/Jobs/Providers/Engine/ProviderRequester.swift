import Foundation
import Reactor

/// How one provider request ended, as `ProviderRequester` hands it back.
enum ProviderReply {
    /// A 2xx answer.
    case answered(HTTPResponse)
    /// An error answer, after every rate limit was waited out: the provider's words as a failure.
    case refused(HTTPResponse, JobFailure)
    /// No HTTP answer. `mayHaveArrived` is false only when nothing can have reached the provider
    /// (the name did not resolve, the connection was refused); after that, a timeout or a reset
    /// leaves open whether the provider got the request.
    case unanswered(HTTPTransportError, mayHaveArrived: Bool, host: String, timeout: Double)
    /// The request could not be built (a missing key, say); nothing was sent.
    case notSent(JobFailure)
}

/// Sends one job's requests to its provider. Loop thread only, like the job's context.
///
/// Every send first takes its turn from the worker's `ProviderThrottle` for this provider
/// (`<PROVIDER>_RATE_PER_MIN`, and pauses after a 429 with Retry-After). A 429 is waited out and
/// sent again, up to `maxRateLimitWaits` times, without counting as a failed attempt: with a
/// Retry-After every job of the provider holds back until then; without one only this job backs
/// off. The request is rebuilt at each send, so a wait never sends stale credentials, and a
/// "refresh credentials" verdict (Kling's expired JWT) rebuilds them once and sends again.
final class ProviderRequester {
    let context: JobContext
    let provider: ProviderName
    let errors: ProviderErrorTable
    let throttle: ProviderThrottle

    /// 429s one call waits out before it gives up (the attempt then fails, to be retried later).
    static let maxRateLimitWaits = 20
    /// Longest Retry-After the job waits out while holding its slot; a longer one sends the job
    /// back to the queue with the provider's delay instead (the provider stays paused).
    static let longestRateLimitPause: Double = 300

    init(context: JobContext, provider: ProviderName, errors: ProviderErrorTable, throttle: ProviderThrottle) {
        self.context = context
        self.provider = provider
        self.errors = errors
        self.throttle = throttle
    }

    /// Sends the request `build` makes, and calls `completion` once with how it ended.
    func call(
        refreshCredentials: (() -> Void)? = nil, build: @escaping () throws(JobFailure) -> HTTPRequest,
        completion: @escaping (ProviderReply) -> Void
    ) {
        take(Call(build: build, refreshCredentials: refreshCredentials, completion: completion))
    }

    /// One call in progress: what to send and how often it waited. A class so the resends of
    /// one call share their counters. Loop thread only.
    private final class Call {
        let build: () throws(JobFailure) -> HTTPRequest
        let refreshCredentials: (() -> Void)?
        let completion: (ProviderReply) -> Void
        var rateLimitWaits = 0
        var refreshedCredentials = false

        init(
            build: @escaping () throws(JobFailure) -> HTTPRequest, refreshCredentials: (() -> Void)?,
            completion: @escaping (ProviderReply) -> Void
        ) {
            self.build = build
            self.refreshCredentials = refreshCredentials
            self.completion = completion
        }
    }

    private func take(_ call: Call) {
        let wait = throttle.reserve(provider.key)
        guard wait > 0 else { return send(call) }
        context.after(wait) { [weak self] in
            guard let self else { return }
            // A 429 may have paused the provider after this turn was reserved: queue again.
            if self.throttle.remainingPause(self.provider.key) > 0 { self.take(call) } else { self.send(call) }
        }
    }

    private func send(_ call: Call) {
        let request: HTTPRequest
        do {
            request = try call.build()
        } catch {
            return call.completion(.notSent(error))
        }
        context.send(request) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                let host = URL(string: request.url)?.host ?? request.url
                let neverDelivered = error.kind == .couldNotResolve || error.kind == .couldNotConnect
                call.completion(
                    .unanswered(error, mayHaveArrived: !neverDelivered, host: host, timeout: request.timeout))
            case .success(let response) where response.isSuccess:
                call.completion(.answered(response))
            case .success(let response):
                self.handleError(response, call: call)
            }
        }
    }

    private func handleError(_ response: HTTPResponse, call: Call) {
        let verdict = errors.verdict(on: response)
        if verdict == .rateLimited { throttle.countRateLimitAnswer(provider.key) }
        switch verdict {
        case .rateLimited where call.rateLimitWaits < Self.maxRateLimitWaits:
            call.rateLimitWaits += 1
            let retryAfter = RetryAfter.seconds(in: response.headers)
            if let retryAfter, retryAfter > Self.longestRateLimitPause {
                throttle.pause(provider.key, for: retryAfter)
                return call.completion(.refused(response, errors.failure(for: response, verdict: verdict)))
            }
            context.phase = "rate limited"
            if let retryAfter {
                // The provider said when: hold back every job of this provider until then.
                throttle.pause(provider.key, for: retryAfter)
                logRateLimit(wait: retryAfter, wholeProvider: true)
                take(call)
            } else {
                // No Retry-After: only this job backs off; the others keep their pace.
                let wait = min(2 * pow(2, Double(call.rateLimitWaits - 1)), 60)
                logRateLimit(wait: wait, wholeProvider: false)
                context.after(wait) { [weak self] in self?.take(call) }
            }
        case .refreshCredentials where !call.refreshedCredentials && call.refreshCredentials != nil:
            call.refreshedCredentials = true
            call.refreshCredentials?()
            take(call)
        default:
            call.completion(.refused(response, errors.failure(for: response, verdict: verdict)))
        }
    }

    private func logRateLimit(wait: Double, wholeProvider: Bool) {
        let scope = wholeProvider ? "pausing all \(provider.key) requests for" : "waiting"
        context.logJob(
            "\(errors.name) is rate limiting (HTTP 429); \(scope) \(DurationText.seconds(wait))", event: "rate_limited")
    }
}

@available(*, unavailable, message: "a requester belongs to the loop thread")
extension ProviderRequester: Sendable {}
