import Crypto
import Foundation
import JSON

/// Kling's bearer token: a JWT signed HS256 with the account's secret key (PROVIDERS.md §6,
/// Kling's official sample): header `{"alg":"HS256","typ":"JWT"}`, claims `iss` = access key,
/// `exp` = now + 30 min, `nbf` = now − 5 s (whole seconds), base64url without padding.
public enum KlingJWT {
    public static let lifetime: Double = 1800
    /// `nbf` lies this far in the past, so a server clock slightly behind ours still accepts it.
    public static let notBeforeSkew: Double = 5

    /// A token valid from `now − 5 s` to `now + lifetime`.
    public static func make(accessKey: String, secretKey: String, now: Double, lifetime: Double = lifetime)
        -> String
    {
        let issued = Int64(now.rounded(.down))
        let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let claims: JSONValue = [
            "iss": .string(accessKey),
            "exp": .number(Double(issued + Int64(lifetime))),
            "nbf": .number(Double(issued - Int64(notBeforeSkew))),
        ]
        let payload = base64URL(claims.jsonData())
        let signingInput = "\(header).\(payload)"
        let key = SymmetricKey(data: Data(secretKey.utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return "\(signingInput).\(base64URL(Data(signature)))"
    }

    /// Base64url without padding (RFC 7515 §2).
    public static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// The worker's current Kling token, rebuilt when less than `refreshMargin` of its life is
/// left — so a task polled for longer than a token lives gets a fresh one, and no request
/// leaves with a token that could expire on the way. One per worker; loop thread only.
public final class KlingTokenCache {
    private let clock: () -> Double
    private let lifetime: Double
    private let refreshMargin: Double
    private var current: (token: String, expires: Double, keys: String)?

    /// - Parameter clock: wall-clock Unix seconds (the claims are absolute times).
    public init(
        lifetime: Double = KlingJWT.lifetime, refreshMargin: Double = 300,
        clock: @escaping () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.lifetime = lifetime
        self.refreshMargin = refreshMargin
        self.clock = clock
    }

    /// A token for these keys with at least `refreshMargin` seconds of life left.
    public func token(accessKey: String, secretKey: String) -> String {
        let now = clock()
        // The keys are part of the cache key, so a changed key pair never reuses an old token.
        let keys = "\(accessKey)\u{0}\(secretKey)"
        if let current, current.keys == keys, current.expires - now > refreshMargin { return current.token }
        let token = KlingJWT.make(accessKey: accessKey, secretKey: secretKey, now: now, lifetime: lifetime)
        current = (token, now.rounded(.down) + lifetime, keys)
        return token
    }

    /// Forgets the token (Kling said it expired or is not yet valid: our clock moved).
    public func invalidate() { current = nil }
}

@available(*, unavailable, message: "the token cache belongs to the loop thread")
extension KlingTokenCache: Sendable {}
