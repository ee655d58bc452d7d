/// Replaces known secret values (API keys, tokens) with "[redacted]" wherever text leaves the
/// worker: log lines, `error`, `result`. Providers sometimes echo a key back in an error body.
public struct SecretRedactor: Sendable {
    private let secrets: [String]

    /// Secrets shorter than 6 characters are ignored: replacing them would mangle ordinary text.
    public init(secrets: [String] = []) {
        self.secrets = secrets.filter { $0.count >= 6 }.sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return result
    }
}
