import Crypto
import Foundation
import JSON
import XCTest

@testable import Jobs

/// Kling's JWT, decoded and verified with the secret as Kling's servers do, and the cache that
/// rebuilds it before it expires — with an injected clock, never waiting.
final class KlingJWTTests: XCTestCase {
    private let accessKey = "ak-test-123"
    private let secretKey = "sk-test-secret-456"

    private struct Decoded {
        let header: JSONValue
        let claims: JSONValue
    }

    /// Splits, verifies the HS256 signature with `secret`, and parses header and claims.
    private func verify(_ token: String, secret: String) throws -> Decoded {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(parts.count, 3, "a JWT has three segments")
        guard parts.count == 3 else { throw JobFailure("not a JWT") }
        for part in parts {
            XCTAssertNil(part.rangeOfCharacter(from: CharacterSet(charactersIn: "+/=")), "base64url without padding")
        }
        let expected = HMAC<SHA256>.authenticationCode(
            for: Data("\(parts[0]).\(parts[1])".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        XCTAssertEqual(parts[2], KlingJWT.base64URL(Data(expected)), "signature must verify with the secret key")
        return Decoded(header: try JSONValue.parse(decode(parts[0])), claims: try JSONValue.parse(decode(parts[1])))
    }

    private func decode(_ segment: String) throws -> Data {
        var base64 = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { throw JobFailure("segment is not base64url") }
        return data
    }

    func testTokenVerifiesWithTheSecretAndCarriesIssuerExpiryAndNotBefore() throws {
        let now = 1_722_769_557.8
        let token = KlingJWT.make(accessKey: accessKey, secretKey: secretKey, now: now)
        let decoded = try verify(token, secret: secretKey)
        XCTAssertEqual(decoded.header, ["alg": "HS256", "typ": "JWT"])
        XCTAssertEqual(decoded.claims["iss"]?.stringValue, accessKey)
        XCTAssertEqual(decoded.claims["exp"]?.intValue, 1_722_769_557 + 1800, "exp = now + 30 min, whole seconds")
        XCTAssertEqual(decoded.claims["nbf"]?.intValue, 1_722_769_557 - 5, "nbf = now - 5 s")
    }

    func testATokenSignedWithAnotherSecretDoesNotVerify() throws {
        let token = KlingJWT.make(accessKey: accessKey, secretKey: "another-secret", now: 1000)
        let parts = token.split(separator: ".").map(String.init)
        let withOurs = HMAC<SHA256>.authenticationCode(
            for: Data("\(parts[0]).\(parts[1])".utf8), using: SymmetricKey(data: Data(secretKey.utf8)))
        XCTAssertNotEqual(parts[2], KlingJWT.base64URL(Data(withOurs)))
    }

    func testCacheReusesTheTokenUntilFiveMinutesAreLeftThenRebuildsIt() throws {
        var now = 10_000.0
        let cache = KlingTokenCache(clock: { now })
        let first = cache.token(accessKey: accessKey, secretKey: secretKey)
        now += 1800 - 301  // 301 s of life left: still good.
        XCTAssertEqual(cache.token(accessKey: accessKey, secretKey: secretKey), first)
        now += 2  // 299 s left: a task polled this long gets a fresh token.
        let second = cache.token(accessKey: accessKey, secretKey: secretKey)
        XCTAssertNotEqual(second, first)
        let claims = try verify(second, secret: secretKey).claims
        XCTAssertEqual(claims["exp"]?.intValue, Int(now.rounded(.down)) + 1800)
        XCTAssertEqual(claims["nbf"]?.intValue, Int(now.rounded(.down)) - 5)
    }

    func testATaskThatOutlivesSeveralTokensAlwaysSendsAValidOne() throws {
        var now = 50_000.0
        let cache = KlingTokenCache(clock: { now })
        // Poll every 30 s for two hours: every token sent must be valid for at least 5 more minutes.
        for _ in 0..<240 {
            let claims = try verify(cache.token(accessKey: accessKey, secretKey: secretKey), secret: secretKey).claims
            let exp = try XCTUnwrap(claims["exp"]?.doubleValue)
            let nbf = try XCTUnwrap(claims["nbf"]?.doubleValue)
            XCTAssertGreaterThan(exp - now, 300)
            XCTAssertLessThanOrEqual(nbf, now)
            now += 30
        }
    }

    func testInvalidateAndChangedKeysForceANewToken() {
        var now = 1000.0
        let cache = KlingTokenCache(clock: { now })
        let first = cache.token(accessKey: accessKey, secretKey: secretKey)
        now += 1
        cache.invalidate()
        XCTAssertNotEqual(cache.token(accessKey: accessKey, secretKey: secretKey), first)
        let other = cache.token(accessKey: "other-ak", secretKey: secretKey)
        XCTAssertTrue(other.hasPrefix(first.split(separator: ".")[0] + "."), "same header")
        XCTAssertNotEqual(other, cache.token(accessKey: accessKey, secretKey: secretKey))
    }
}
