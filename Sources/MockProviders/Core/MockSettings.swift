import JSON

/// The fault-injection knobs, set by command-line flags at start and by `POST /_mock/config` at run time.
struct FaultConfig: Sendable {
    /// Seconds to wait before answering every provider request.
    var latency: Double = 0
    /// Per-provider overrides of `latency`.
    var latencyByProvider: [Provider: Double] = [:]
    /// Seconds from submit until an async task reaches its terminal state.
    var taskSeconds: Double = 1
    /// Kling and Seedance tasks instead take a time drawn evenly from this range, as real video
    /// renders vary (nil: `taskSeconds`).
    var videoTaskSeconds: ClosedRange<Double>?
    /// Fraction of provider requests answered with 500 or 503.
    var failRate: Double = 0
    /// Fraction answered with 429 and `Retry-After`.
    var rateLimitRate: Double = 0
    /// Seconds sent in `Retry-After`.
    var retryAfter: Double = 1
    /// Fraction never answered.
    var hangRate: Double = 0
    /// Fraction answered 200 with a body that is not JSON.
    var malformedRate: Double = 0
    /// Forced outcomes, consumed one per provider request (submits and polls alike) in order.
    var next: [Provider: [MockOutcome]] = [:]
}

/// How one provider request will be answered, decided before its body is read.
struct RequestPlan: Sendable {
    var outcome: MockOutcome
    var latency: Double
    var taskSeconds: Double
    var retryAfter: Double
}

/// A `/_mock/config` body or `X-Mock-*` header the mock cannot use; answered with 400 and this text.
struct ConfigError: Error {
    let message: String
}

/// Owns `FaultConfig` and turns it into a `RequestPlan` per request. Thread-safe; every call holds its lock briefly.
final class MockSettings: Sendable {
    private let config: LockedState<FaultConfig>
    private let random: RandomSource

    init(initial: FaultConfig, random: RandomSource) {
        config = LockedState(initial)
        self.random = random
    }

    /// Plans one provider request. Precedence: `X-Mock-Outcome` header, then the provider's `next` queue (consumed
    /// only when the header is absent), then the random rates, else `ok`. `X-Mock-Latency` and `X-Mock-Task-Seconds`
    /// override the configured values for this request only.
    func plan(for provider: Provider, headers: MockHeaders) -> RequestPlan {
        var queued: MockOutcome?
        var snapshot = config.withLock { state -> FaultConfig in
            if headers.outcome == nil, var queue = state.next[provider], !queue.isEmpty {
                queued = queue.removeFirst()
                state.next[provider] = queue.isEmpty ? nil : queue
            }
            // Copy without the queues: they can be long and the caller does not need them.
            var copy = state
            copy.next = [:]
            return copy
        }
        let outcome = headers.outcome ?? queued ?? drawOutcome(&snapshot)
        return RequestPlan(
            outcome: outcome,
            latency: headers.latency ?? snapshot.latencyByProvider[provider] ?? snapshot.latency,
            taskSeconds: headers.taskSeconds ?? videoTaskSeconds(provider, snapshot) ?? snapshot.taskSeconds,
            retryAfter: snapshot.retryAfter
        )
    }

    /// A video task's time from `videoTaskSeconds`, for the two providers that render videos (Ark's
    /// images answer at once, so its task time only ever applies to Seedance).
    private func videoTaskSeconds(_ provider: Provider, _ config: FaultConfig) -> Double? {
        guard let range = config.videoTaskSeconds, provider == .kling || provider == .ark else { return nil }
        return range.lowerBound + random.unit() * (range.upperBound - range.lowerBound)
    }

    /// One uniform draw split across the fault rates in a fixed order (hang, 5xx, 429, malformed).
    private func drawOutcome(_ config: inout FaultConfig) -> MockOutcome {
        let total = config.hangRate + config.failRate + config.rateLimitRate + config.malformedRate
        guard total > 0 else { return .ok }
        var draw = random.unit()
        if draw < config.hangRate { return .hang }
        draw -= config.hangRate
        if draw < config.failRate {
            // Split the failures between 500 and 503 so clients see both kinds of retryable server error.
            return draw < config.failRate / 2 ? .status500 : .status503
        }
        draw -= config.failRate
        if draw < config.rateLimitRate { return .rateLimit }
        draw -= config.rateLimitRate
        if draw < config.malformedRate { return .malformed }
        return .ok
    }

    /// Seconds of the currently configured `Retry-After`.
    var retryAfter: Double { config.withLock { $0.retryAfter } }

    /// Applies a `/_mock/config` body. All fields are validated first, so a bad body changes nothing.
    /// A `next` entry replaces that provider's queue; `latency_by_provider` entries set or (with null) remove one
    /// override; `seed` restarts the random sequence.
    func apply(_ body: JSONObject) throws(ConfigError) {
        var seed: UInt64?
        // Validated changes are collected first and applied under one lock, so a request planned concurrently
        // sees either the old or the new configuration, never half of it.
        var changes: [(inout FaultConfig) -> Void] = []
        for (key, value) in body.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "latency":
                let seconds = try Self.seconds(value, key)
                changes.append { $0.latency = seconds }
            case "task_seconds":
                let seconds = try Self.seconds(value, key)
                changes.append { $0.taskSeconds = seconds }
            case "retry_after":
                let seconds = try Self.seconds(value, key)
                changes.append { $0.retryAfter = seconds }
            case "fail_rate":
                let rate = try Self.rate(value, key)
                changes.append { $0.failRate = rate }
            case "rate_limit_rate":
                let rate = try Self.rate(value, key)
                changes.append { $0.rateLimitRate = rate }
            case "hang_rate":
                let rate = try Self.rate(value, key)
                changes.append { $0.hangRate = rate }
            case "malformed_rate":
                let rate = try Self.rate(value, key)
                changes.append { $0.malformedRate = rate }
            case "latency_by_provider":
                guard let object = value.objectValue else {
                    throw ConfigError(message: "latency_by_provider must be an object of provider: seconds")
                }
                for (name, entry) in object.sorted(by: { $0.key < $1.key }) {
                    let provider = try Self.provider(name)
                    let seconds: Double? =
                        if case .null = entry { nil } else {
                            try Self.seconds(entry, "latency_by_provider.\(name)")
                        }
                    changes.append { $0.latencyByProvider[provider] = seconds }
                }
            case "next":
                guard let object = value.objectValue else {
                    throw ConfigError(message: "next must be an object of provider: [outcome, …]")
                }
                for (name, list) in object.sorted(by: { $0.key < $1.key }) {
                    let provider = try Self.provider(name)
                    let outcomes = try Self.outcomes(list, name)
                    changes.append { $0.next[provider] = outcomes.isEmpty ? nil : outcomes }
                }
            case "seed":
                guard let number = value.doubleValue, number >= 0, number < 1.8e19, number.rounded() == number else {
                    throw ConfigError(message: "seed must be a non-negative integer")
                }
                seed = UInt64(number)
            default:
                throw ConfigError(message: "unknown config key '\(key)'")
            }
        }
        config.withLock { state in
            for change in changes { change(&state) }
        }
        if let seed { random.reseed(seed) }
    }

    private static func outcomes(_ list: JSONValue, _ name: String) throws(ConfigError) -> [MockOutcome] {
        guard let items = list.arrayValue else { throw ConfigError(message: "next.\(name) must be an array") }
        var outcomes: [MockOutcome] = []
        for item in items {
            guard let word = item.stringValue, let outcome = MockOutcome(rawValue: word) else {
                throw ConfigError(
                    message: "next.\(name): unknown outcome \(item.encodedText); use one of \(MockOutcome.list)"
                )
            }
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// The current configuration as `GET`/`POST /_mock/config` report it.
    func snapshotJSON() -> JSONValue {
        let current = config.withLock { $0 }
        var latencies = JSONObject()
        for provider in Provider.allCases {
            if let value = current.latencyByProvider[provider] { latencies[provider.rawValue] = .number(value) }
        }
        var queues = JSONObject()
        for provider in Provider.allCases {
            if let queue = current.next[provider] {
                queues[provider.rawValue] = .array(queue.map { .string($0.rawValue) })
            }
        }
        return [
            "latency": .number(current.latency), "latency_by_provider": .object(latencies),
            "task_seconds": .number(current.taskSeconds), "fail_rate": .number(current.failRate),
            "rate_limit_rate": .number(current.rateLimitRate), "retry_after": .number(current.retryAfter),
            "hang_rate": .number(current.hangRate), "malformed_rate": .number(current.malformedRate),
            "next": .object(queues),
        ]
    }

    private static func seconds(_ value: JSONValue, _ key: String) throws(ConfigError) -> Double {
        guard let number = value.doubleValue, number >= 0, number.isFinite else {
            throw ConfigError(message: "\(key) must be a number of seconds >= 0")
        }
        return number
    }

    private static func rate(_ value: JSONValue, _ key: String) throws(ConfigError) -> Double {
        guard let number = value.doubleValue, (0...1).contains(number) else {
            throw ConfigError(message: "\(key) must be a fraction between 0 and 1")
        }
        return number
    }

    private static func provider(_ name: String) throws(ConfigError) -> Provider {
        guard let provider = Provider(rawValue: name), provider != .unknown else {
            throw ConfigError(message: "unknown provider '\(name)'; use openai, leonardo, ark, bria or kling")
        }
        return provider
    }
}

extension MockOutcome {
    /// All outcome words, comma-separated, for error messages.
    static var list: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
