import Foundation
import JSON
import Reactor
import XCTest

@testable import Jobs

final class CoreModelTests: XCTestCase {
    func testParamsErrorsNameTheKeyAndWhatWasWrong() {
        XCTAssertThrowsError(try JobParams.parse("not json")) { error in
            XCTAssertTrue("\(error)".contains("params is not valid JSON"), "\(error)")
        }
        XCTAssertThrowsError(try JobParams.parse("[1,2]")) { error in
            XCTAssertTrue("\(error)".contains("must be a JSON object, got an array"), "\(error)")
        }
        let params = try! JobParams.parse(#"{"width":"big","prompt":"","n":3.5,"extra":{"ignored":true}}"#)
        XCTAssertThrowsError(try params.int("width")) {
            XCTAssertEqual("\($0)", "params.width must be a whole number, got a string")
        }
        XCTAssertThrowsError(try params.int("n")) {
            XCTAssertEqual("\($0)", "params.n must be a whole number, got a number")
        }
        XCTAssertThrowsError(try params.requiredString("prompt", for: "image_generation")) {
            XCTAssertEqual("\($0)", "params.prompt is required for image_generation and must be a non-empty string")
        }
        XCTAssertNil(try params.string("missing"))
    }

    func testRetryDelayGrowsExponentiallyWithJitterAndHonoursRetryAfter() {
        let policy = RetryPolicy(baseDelay: 2, multiplier: 2, maxDelay: 30, jitter: 0.25)
        XCTAssertEqual(policy.delay(afterAttempt: 1, random: 0), 2)
        XCTAssertEqual(policy.delay(afterAttempt: 2, random: 0), 4)
        XCTAssertEqual(policy.delay(afterAttempt: 3, random: 0.999_999), 6, accuracy: 0.001)
        XCTAssertEqual(policy.delay(afterAttempt: 10, random: 0), 30, "capped")
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 9, random: 0), 9)
        XCTAssertTrue(policy.shouldRetry(.transient("5xx"), attempts: 2, maxAttempts: 3))
        XCTAssertFalse(policy.shouldRetry(.transient("5xx"), attempts: 3, maxAttempts: 3))
        XCTAssertFalse(policy.shouldRetry(.permanent("bad params"), attempts: 1, maxAttempts: 3))
    }

    func testGateHandsOutLowestSlotsAndHonoursPerKeyCaps() {
        let gate = ConcurrencyGate(capacity: 3, caps: ["kling": 1])
        XCTAssertEqual(gate.acquire(key: "kling"), 0)
        XCTAssertNil(gate.acquire(key: "kling"), "kling is at its cap")
        XCTAssertEqual(gate.acquire(key: "openai"), 1)
        XCTAssertEqual(gate.acquire(key: nil), 2)
        XCTAssertNil(gate.acquire(key: "openai"), "the gate is full")
        gate.release(slot: 0)
        XCTAssertEqual(gate.count(for: "kling"), 0)
        XCTAssertEqual(gate.acquire(key: "openai"), 0, "the freed lowest slot is reused")
        XCTAssertEqual(gate.active, 3)
    }

    func testRedactorRemovesSecretsButLeavesShortValuesAlone() {
        let redactor = SecretRedactor(secrets: ["sk-live-abcdef123456", "abc"])
        XCTAssertEqual(
            redactor.redact("Incorrect API key provided: sk-live-abcdef123456."),
            "Incorrect API key provided: [redacted].")
        XCTAssertEqual(redactor.redact("abc stays"), "abc stays")
        XCTAssertEqual(
            redactor.redact("😀 sk-live-abcdef123456 then sk-live-abcdef123456é"), "😀 [redacted] then [redacted]é")
        let overlapping = SecretRedactor(secrets: ["secret-key", "secret-key-long"])
        XCTAssertEqual(overlapping.redact("x secret-key-long y secret-key"), "x [redacted] y [redacted]")
    }

    func testDurationsReadAsSecondsWithTwoDecimalsBelowTenAndWholeAbove() {
        XCTAssertEqual(DurationText.seconds(0), "0.00 s")
        XCTAssertEqual(DurationText.seconds(0.004), "0.00 s")
        XCTAssertEqual(DurationText.seconds(1.5), "1.50 s")
        XCTAssertEqual(DurationText.seconds(2.345), "2.35 s")
        XCTAssertEqual(DurationText.seconds(9.994), "9.99 s")
        XCTAssertEqual(DurationText.seconds(9.996), "10 s")
        XCTAssertEqual(DurationText.seconds(600), "600 s")
        XCTAssertEqual(DurationText.seconds(61.6), "62 s")
    }

    func testLogTimestampsAreUTCWithMilliseconds() throws {
        let stamp = WorkerLog.timestamp()
        XCTAssertNotNil(stamp.wholeMatch(of: /20\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\d\.\d{3}Z/), stamp)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try XCTUnwrap(formatter.date(from: stamp))
        XCTAssertLessThan(abs(parsed.timeIntervalSinceNow), 60)
    }

    func testOpenAIErrorTableTreatsInsufficientQuotaAsFinal() {
        let quota: JSONValue = [
            "error": [
                "message": "You exceeded your current quota", "type": "insufficient_quota",
                "code": "insufficient_quota",
            ]
        ]
        XCTAssertEqual(OpenAIErrors.table.classify(429, quota), .permanent)
        XCTAssertEqual(OpenAIErrors.table.classify(429, ["error": ["code": "rate_limit_exceeded"]]), .rateLimited)
        XCTAssertEqual(OpenAIErrors.table.classify(503, nil), .transient)
        XCTAssertEqual(OpenAIErrors.table.classify(401, nil), .permanent)
        XCTAssertEqual(OpenAIErrors.table.message(quota), "insufficient_quota: You exceeded your current quota")
    }
}
