import Crypto
import Foundation
import JSON

/// Verifies the HS256 JWT that Kling clients build from their access key (AK) and secret key (SK).
///
/// Checks what Kling's servers check (PROVIDERS.md §6): header `alg` is HS256; `iss` equals the configured AK;
/// `exp` has not passed; `nbf` is not in the future beyond a 5 s skew allowance; the HMAC-SHA256 signature over
/// `base64url(header).base64url(payload)` matches the SK. The signature is compared in constant time.
enum KlingJWT {
    /// Tolerated clock difference for `nbf`: the official sample itself sets `nbf = now - 5`.
    static let allowedSkew: Double = 5

    /// Checks the `Authorization` header value; throws the `AuthProblem` Kling would report.
    static func verify(authorization: String?, credentials: KlingCredentials, now: Double) throws(ProviderFailure) {
        guard let authorization, !authorization.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .unauthorized(.missing)
        }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw .unauthorized(.invalidToken("expected 'Bearer <JWT>'"))
        }
        let token = String(parts[1]).trimmingCharacters(in: .whitespaces)
        if token.hasPrefix("invalid") { throw .unauthorized(.invalidKey) }

        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else { throw .unauthorized(.invalidToken("not a JWT (expected three segments)")) }
        guard let headerData = base64URLDecode(segments[0]),
            let header = try? JSONValue.parse([UInt8](headerData), options: .strict)
        else { throw .unauthorized(.invalidToken("header is not base64url JSON")) }
        guard let payloadData = base64URLDecode(segments[1]),
            let payload = try? JSONValue.parse([UInt8](payloadData), options: .strict)
        else { throw .unauthorized(.invalidToken("payload is not base64url JSON")) }
        guard header["alg"]?.stringValue == "HS256" else {
            throw .unauthorized(.invalidToken("alg must be HS256"))
        }
        guard let signature = base64URLDecode(segments[2]) else {
            throw .unauthorized(.invalidToken("signature is not base64url"))
        }
        guard payload["iss"]?.stringValue == credentials.accessKey else { throw .unauthorized(.unknownIssuer) }

        let signingInput = Data("\(segments[0]).\(segments[1])".utf8)
        let key = SymmetricKey(data: Data(credentials.secretKey.utf8))
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
            throw .unauthorized(.invalidToken("signature does not match the secret key"))
        }
        // Time checks come after the signature so a forged token learns nothing about the clock.
        guard let exp = payload["exp"]?.doubleValue else { throw .unauthorized(.invalidToken("exp is missing")) }
        if now >= exp { throw .unauthorized(.expired) }
        if let nbf = payload["nbf"]?.doubleValue, nbf > now + allowedSkew { throw .unauthorized(.notYetValid) }
    }

    /// Decodes unpadded base64url; nil when the text is not base64url.
    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = base64.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { base64 += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: base64)
    }
}
