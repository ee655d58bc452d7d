import Foundation

/// Replaces known secret values (API keys, tokens) with "[redacted]" wherever text leaves the
/// worker: log lines, `error`, `result`. Providers sometimes echo a key back in an error body.
///
/// Every log line and result passes through here, so the search is a byte search (`memchr`,
/// `memcmp`): linear in the text per secret, with no Unicode work. Foundation's `contains` would
/// normalise both strings on every call.
public struct SecretRedactor: Sendable {
    private let secrets: [[UInt8]]

    /// Secrets shorter than 6 characters are ignored: replacing them would mangle ordinary text.
    public init(secrets: [String] = []) {
        self.secrets = secrets.filter { $0.count >= 6 }.sorted { $0.utf8.count > $1.utf8.count }.map { Array($0.utf8) }
    }

    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets {
            while let range = Self.firstRange(of: secret, in: &result) {
                var bytes = Array(result.utf8)
                bytes.replaceSubrange(range, with: "[redacted]".utf8)
                result = String(decoding: bytes, as: UTF8.self)
            }
        }
        return result
    }

    /// The first occurrence of `secret` in `text`'s UTF-8: `memchr` for its first byte, then `memcmp`.
    private static func firstRange(of secret: [UInt8], in text: inout String) -> Range<Int>? {
        text.withUTF8 { haystack in
            secret.withUnsafeBufferPointer { needle in
                guard let base = haystack.baseAddress, let needleBase = needle.baseAddress else { return nil }
                var start = 0
                while haystack.count - start >= needle.count {
                    guard let hit = memchr(base + start, Int32(needle[0]), haystack.count - start - needle.count + 1)
                    else { return nil }
                    start = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + start, needleBase, needle.count) == 0 { return start..<start + needle.count }
                    start += 1
                }
                return nil
            }
        }
    }
}
