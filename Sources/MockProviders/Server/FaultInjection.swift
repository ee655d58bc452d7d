import Hummingbird

/// The per-request knobs a test can send directly: `X-Mock-Outcome`, `X-Mock-Latency`, `X-Mock-Task-Seconds`.
struct MockHeaders: Sendable {
    var outcome: MockOutcome?
    var latency: Double?
    var taskSeconds: Double?

    /// Reads the three headers; an unknown outcome or a bad number is a `ConfigError` (answered 400 by the mock).
    init(_ fields: HTTPFields) throws(ConfigError) {
        if let word = fields[Self.outcomeName] {
            guard let outcome = MockOutcome(rawValue: word.trimmingSpaces) else {
                throw ConfigError(message: "X-Mock-Outcome: unknown outcome '\(word)'; use one of \(MockOutcome.list)")
            }
            self.outcome = outcome
        }
        latency = try Self.seconds(fields[Self.latencyName], "X-Mock-Latency")
        taskSeconds = try Self.seconds(fields[Self.taskSecondsName], "X-Mock-Task-Seconds")
    }

    private static let outcomeName = HeaderField.Name("X-Mock-Outcome")!
    private static let latencyName = HeaderField.Name("X-Mock-Latency")!
    private static let taskSecondsName = HeaderField.Name("X-Mock-Task-Seconds")!

    private static func seconds(_ text: String?, _ name: String) throws(ConfigError) -> Double? {
        guard let text else { return nil }
        guard let value = Double(text.trimmingSpaces), value >= 0, value.isFinite else {
            throw ConfigError(message: "\(name) must be a number of seconds >= 0, got '\(text)'")
        }
        return value
    }
}

/// The answers for outcomes that never reach a provider handler.
enum FaultInjection {
    /// Longest a `hang` waits for the client to leave before answering 504 anyway.
    static let maximumHang: Duration = .seconds(3600)

    /// The reply for a fault outcome, or nil when the outcome must run the provider handler.
    static func reply(for plan: RequestPlan, provider: Provider, random: RandomSource) -> MockReply? {
        let failure: ProviderFailure
        switch plan.outcome {
        case .status500: failure = .serverError(500)
        case .status503: failure = .serverError(503)
        case .rateLimit: failure = .rateLimited
        case .unauthorized: failure = .unauthorized(.invalidKey)
        case .insufficientQuota: failure = .insufficientQuota
        case .malformed: return .raw(200, malformedBody)
        case .hang, .ok, .missingField, .failedTask, .refusal, .holdAnswer: return nil
        }
        return ProviderErrorShapes.reply(
            failure, provider: provider, requestID: random.uuid(), retryAfter: plan.retryAfter
        )
    }

    /// A 200 body that starts like JSON and then breaks off, the way a response cut by a proxy looks.
    static let malformedBody = Array(
        #"{"created": 1713833628, "data": [{"url": "http://127.0.0.1/_mock/fi<html>502"#.utf8)

    /// Waits as a `hang` outcome does: until `Task.sleep` is cancelled (the client closed the connection, which
    /// cancels the handler) or an hour has passed. Never blocks a thread. Returns true when the hour ran out.
    static func waitForClientToLeave() async -> Bool {
        do {
            try await Task.sleep(for: maximumHang)
            return true
        } catch {
            return false
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
