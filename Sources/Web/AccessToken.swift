import Crypto
import Foundation

/// `WEB_TOKEN`, and the session cookie the login form sets from it.
///
/// Comparisons hash both sides with SHA-256 and compare the digests byte by byte without an
/// early exit, so the time taken says nothing about how much of a guess was right (nor about
/// the token's length). The cookie holds an HMAC of the token, not the token itself.
struct AccessToken: Sendable {
    private let digest: [UInt8]
    /// The cookie value that proves a login: HMAC-SHA256(token, "reactor-worker session"), hex.
    let sessionValue: String

    static let cookieName = "rw_session"

    init(_ token: String) {
        digest = Array(SHA256.hash(data: Data(token.utf8)))
        let key = SymmetricKey(data: Data(token.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("reactor-worker session".utf8), using: key)
        sessionValue = mac.map { String(format: "%02x", $0) }.joined()
    }

    /// True when `candidate` is the token.
    func matches(_ candidate: String) -> Bool {
        Self.sameBytes(Array(SHA256.hash(data: Data(candidate.utf8))), digest)
    }

    /// True when `cookie` is this token's session value.
    func matchesSession(_ cookie: String) -> Bool {
        Self.sameBytes(
            Array(SHA256.hash(data: Data(cookie.utf8))), Array(SHA256.hash(data: Data(sessionValue.utf8))))
    }

    /// Constant-time equality of two digests of the same length.
    static func sameBytes(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    /// A random token for CSRF protection: 32 bytes, hex.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
