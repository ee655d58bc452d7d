import JSON

/// How a run of a job ended, as its handler reports it.
public enum JobOutcome: Sendable {
    case completed(result: JSONValue)
    case failed(JobFailure)
    /// Not paid for and not run: paying now would go over a daily budget. The job waits, queued,
    /// until `until` (unix seconds; the next UTC day), with `reason` for the user, and the attempt
    /// is given back.
    case held(reason: String, until: Double)
}

/// Why a run failed, in words for the user, and whether trying again may help.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Bad params, unknown type, missing key, a provider's final "no": retrying cannot help.
        case permanent
        /// Transport errors, timeouts, 5xx, 408: the next attempt may succeed.
        case transient
    }

    public var message: String
    public var kind: Kind
    /// A delay the provider asked for (Retry-After), if any.
    public var retryAfter: Double?

    public init(_ message: String, kind: Kind = .permanent, retryAfter: Double? = nil) {
        self.message = message
        self.kind = kind
        self.retryAfter = retryAfter
    }

    public static func permanent(_ message: String) -> JobFailure { JobFailure(message, kind: .permanent) }
    public static func transient(_ message: String, retryAfter: Double? = nil) -> JobFailure {
        JobFailure(message, kind: .transient, retryAfter: retryAfter)
    }

    public var description: String { message }
}
