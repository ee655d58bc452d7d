import Foundation
import JSON
import Reactor
import XCTest

@testable import Jobs

/// Each provider's error table (PROVIDERS.md §8): which answers are waited out, retried or
/// final, and that the failure text carries the provider's own words and the HTTP status.
final class ProviderErrorTableTests: XCTestCase {
    private func verdict(_ table: ProviderErrorTable, _ status: Int, _ body: String) -> ProviderErrorTable.Verdict {
        table.classify(status, try? JSONValue.parse(body))
    }

    private func failure(_ table: ProviderErrorTable, _ status: Int, _ body: String) -> JobFailure {
        let response = HTTPResponse(status: status, body: Data(body.utf8))
        return table.failure(for: response, verdict: table.classify(status, try? JSONValue.parse(body)))
    }

    func testKlingRateLimitCodesAreWaitedOutButAccountCodesAreFinal() {
        for code in [1302, 1303] {
            XCTAssertEqual(verdict(KlingErrors.table, 429, #"{"code":\#(code),"message":"slow"}"#), .rateLimited)
        }
        for code in [1100, 1101, 1102, 1304] {
            XCTAssertEqual(
                verdict(KlingErrors.table, 429, #"{"code":\#(code),"message":"arrears"}"#), .permanent, "code \(code)")
        }
        XCTAssertEqual(verdict(KlingErrors.table, 429, "not json"), .rateLimited, "a 429 without a code waits")
    }

    func testKlingStaleTokensAreRebuiltOnceOtherAuthFailuresAreFinal() {
        XCTAssertEqual(verdict(KlingErrors.table, 401, #"{"code":1004,"message":"expired"}"#), .refreshCredentials)
        XCTAssertEqual(
            verdict(KlingErrors.table, 401, #"{"code":1003,"message":"not yet valid"}"#), .refreshCredentials)
        XCTAssertEqual(verdict(KlingErrors.table, 401, #"{"code":1002,"message":"invalid"}"#), .permanent)
        XCTAssertEqual(verdict(KlingErrors.table, 403, #"{"code":1103,"message":"no permission"}"#), .permanent)
        XCTAssertEqual(verdict(KlingErrors.table, 400, #"{"code":1301,"message":"risk control"}"#), .permanent)
        XCTAssertEqual(verdict(KlingErrors.table, 503, #"{"code":5001,"message":"unavailable"}"#), .transient)
    }

    func testKlingFailureQuotesCodeMessageAndStatus() {
        let invalid = failure(
            KlingErrors.table, 401, #"{"code":1002,"message":"Authorization is invalid","request_id":"r"}"#)
        XCTAssertEqual(invalid.kind, .permanent)
        XCTAssertEqual(invalid.message, "Kling API error (HTTP 401): code 1002: Authorization is invalid")
        // A stale token that could not be cured by a rebuild is final too.
        XCTAssertEqual(failure(KlingErrors.table, 401, #"{"code":1004,"message":"expired"}"#).kind, .permanent)
    }

    func testKlingAnswerWithNonZeroCodeIsAnError() throws {
        let answer = try ProviderAnswer(
            HTTPResponse(status: 200, body: Data(#"{"code":1201,"message":"bad value","data":null}"#.utf8)),
            api: "Kling", kind: .permanent)
        XCTAssertThrowsError(try KlingErrors.checkCode(answer)) { error in
            XCTAssertEqual((error as? JobFailure)?.message, "Kling API error (HTTP 200): code 1201: bad value")
        }
    }

    func testOpenAIQuotaIsFinalButRateLimitsAreWaitedOut() {
        let quota =
            #"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#
        XCTAssertEqual(verdict(OpenAIErrors.table, 429, quota), .permanent)
        XCTAssertEqual(
            failure(OpenAIErrors.table, 429, quota).message,
            "OpenAI API error (HTTP 429): insufficient_quota: You exceeded your current quota")
        let rate = #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#
        XCTAssertEqual(verdict(OpenAIErrors.table, 429, rate), .rateLimited)
        XCTAssertEqual(verdict(OpenAIErrors.table, 503, #"{"error":{"code":"server_is_overloaded"}}"#), .transient)
        XCTAssertEqual(verdict(OpenAIErrors.table, 401, #"{"error":{"code":"invalid_api_key"}}"#), .permanent)
    }

    func testArkRateLimitsWaitOverdueAndSensitiveContentAreFinal() {
        let rate =
            #"{"error":{"code":"RateLimitExceeded.EndpointRPMExceeded","message":"slow down","type":"TooManyRequests"}}"#
        XCTAssertEqual(verdict(ArkErrors.seedream, 429, rate), .rateLimited)
        let overdue = #"{"error":{"code":"AccountOverdueError","message":"overdue","type":"Forbidden"}}"#
        XCTAssertEqual(verdict(ArkErrors.seedance, 403, overdue), .permanent)
        let sensitive = #"{"error":{"code":"InputTextSensitiveContentDetected","message":"no","type":"BadRequest"}}"#
        XCTAssertEqual(verdict(ArkErrors.seedance, 400, sensitive), .permanent)
        XCTAssertEqual(verdict(ArkErrors.seedream, 500, #"{"error":{"code":"InternalServiceError"}}"#), .transient)
        let invalid = #"{"error":{"code":"InvalidParameter","message":"bad size","param":"size","type":"BadRequest"}}"#
        XCTAssertEqual(
            failure(ArkErrors.seedream, 400, invalid).message,
            "Seedream (Ark) API error (HTTP 400): InvalidParameter: bad size (param size)")
    }

    func testBriaErrorObjectIsQuotedAndModerationIsFinal() {
        let moderation = #"{"error":{"code":422,"message":"Unprocessable Entity","details":"failed moderation"}}"#
        XCTAssertEqual(verdict(BriaErrors.table, 422, moderation), .permanent)
        XCTAssertEqual(
            failure(BriaErrors.table, 422, moderation).message,
            "BRIA API error (HTTP 422): Unprocessable Entity: failed moderation")
        XCTAssertEqual(verdict(BriaErrors.table, 429, #"{"error":{"code":429}}"#), .rateLimited)
        XCTAssertEqual(verdict(BriaErrors.table, 502, ""), .transient)
    }

    func testLeonardoBothDocumentedErrorShapesAreRead() {
        let hasura = #"{"error":"Authentication hook unauthorized this request","path":"$","code":"access-denied"}"#
        XCTAssertEqual(
            failure(LeonardoErrors.table, 401, hasura).message,
            "Leonardo API error (HTTP 401): access-denied: Authentication hook unauthorized this request")
        let graphQL = #"{"message":"internal error","path":["generations"],"extensions":{"code":"unexpected"}}"#
        XCTAssertEqual(
            failure(LeonardoErrors.table, 500, graphQL).message,
            "Leonardo API error (HTTP 500): unexpected: internal error")
        XCTAssertEqual(failure(LeonardoErrors.table, 500, graphQL).kind, .transient)
    }

    func testAnUnreadableErrorBodyIsQuotedAsText() {
        let gateway = failure(LeonardoErrors.table, 502, "<html>Bad gateway</html>")
        XCTAssertEqual(gateway.message, "Leonardo API error (HTTP 502): <html>Bad gateway</html>")
        XCTAssertEqual(gateway.kind, .transient)
    }

    func testRetryAfterIsCarriedOnRateLimitFailures() {
        let response = HTTPResponse(status: 429, headers: ["retry-after": "2"], body: Data("{}".utf8))
        XCTAssertEqual(BriaErrors.table.failure(for: response, verdict: .rateLimited).retryAfter, 2)
    }
}
