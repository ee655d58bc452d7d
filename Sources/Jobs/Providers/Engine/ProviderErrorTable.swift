import Foundation
import JSON
import Reactor

/// How one provider's error answers read: where its message sits in an error body, and which
/// answers are worth retrying (PROVIDERS.md §8). One table per provider, named by it.
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

    /// The provider's display name, as error messages begin ("Kling API error (HTTP 429): …").
    public let name: String
    /// Pulls "code: message" (or just the message) from an error body; nil when unreadable.
    public let message: @Sendable (JSONValue) -> String?
    /// Decides from the status and the parsed body (nil when it was not JSON).
    public let classify: @Sendable (Int, JSONValue?) -> Verdict

    public init(
        provider: ProviderName, message: @escaping @Sendable (JSONValue) -> String?,
        classify: @escaping @Sendable (Int, JSONValue?) -> Verdict = Self.standard
    ) {
        name = provider.display
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

    /// The verdict on an error answer.
    func verdict(on response: HTTPResponse) -> Verdict {
        classify(response.status, try? JSONValue.parse(response.body))
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
