import Jobs
import Reactor
import XCTest

final class SubmitKindTests: XCTestCase {
    private let timeout = HTTPTransportError(kind: .timeout, curlCode: 28, message: "Operation timed out")
    private let refused = HTTPTransportError(kind: .couldNotConnect, curlCode: 7, message: "Connection refused")

    func testALostAnswerToAPaidSubmitIsFinalUnlessTheUserAllowsResubmits() {
        let lost = SubmitKind.paid.failure(
            for: timeout, provider: "OpenAI", host: "api.openai.com", timeout: 600, resubmitAllowed: false)
        XCTAssertEqual(lost.kind, .permanent)
        XCTAssertTrue(lost.message.contains("resubmit_on_lost_submit"), lost.message)
        let allowed = SubmitKind.paid.failure(
            for: timeout, provider: "OpenAI", host: "api.openai.com", timeout: 600, resubmitAllowed: true)
        XCTAssertEqual(allowed.kind, .transient)
    }

    func testASubmitThatNeverReachedTheProviderOrCanBeDeduplicatedIsRetried() {
        XCTAssertEqual(
            SubmitKind.paid.failure(for: refused, provider: "OpenAI", host: "h", timeout: 1, resubmitAllowed: false)
                .kind, .transient)
        XCTAssertEqual(
            SubmitKind.paidDeduplicated.failure(
                for: timeout, provider: "Kling", host: "h", timeout: 1, resubmitAllowed: false
            ).kind, .transient)
        XCTAssertEqual(
            SubmitKind.retrySafe.failure(
                for: timeout, provider: "Leonardo", host: "h", timeout: 1, resubmitAllowed: false
            ).kind, .transient)
    }
}
