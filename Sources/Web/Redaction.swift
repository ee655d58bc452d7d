import JSON
import Jobs

/// Takes secrets out of what a page or the API shows: the values of the worker's keys
/// (`SecretRedactor`, as for logs), and any param whose name says it holds one
/// (`api_key`, `token`, `password`, … at any depth, e.g. inside `options`).
struct Redaction: Sendable {
    let redactor: SecretRedactor

    init(secrets: [String]) { redactor = SecretRedactor(secrets: secrets) }

    static let replacement = "[redacted]"

    /// True for a key that names a credential.
    static func isSecretKey(_ key: String) -> Bool {
        let name = key.lowercased().replacingOccurrences(of: "-", with: "_")
        return ["key", "token", "secret", "password", "authorization", "credential", "cookie"].contains { word in
            name == word || name.hasSuffix("_" + word) || name.hasSuffix(word + "s") || name.contains("apikey")
        }
    }

    func json(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(redactor.redact(text))
        case .array(let items): .array(items.map(json))
        case .object(let object):
            .object(
                Dictionary(
                    uniqueKeysWithValues: object.map { key, item in
                        (key, Self.isSecretKey(key) ? .string(Self.replacement) : json(item))
                    }))
        default: value
        }
    }

    func text(_ text: String) -> String { redactor.redact(text) }
}
