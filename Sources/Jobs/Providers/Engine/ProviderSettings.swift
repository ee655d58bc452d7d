import Foundation

/// The settings a provider description reads (keys, base URLs, tuning), by their environment
/// names. A value: any thread.
public struct ProviderSettings: Sendable {
    public let values: [String: String]

    public init(values: [String: String]) { self.values = values }

    /// A setting by name ("OPENAI_ORG_ID"); empty counts as missing.
    public func value(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// A required credential, or the failure that names the variable to set.
    public func credential(_ name: String) throws(JobFailure) -> String {
        guard let value = value(name) else {
            throw .permanent("\(name) is not set; add it to .env or the worker's environment")
        }
        return value
    }

    /// A base URL from `variable` without a trailing slash, or the provider's default.
    public func baseURL(_ variable: String, default fallback: String) -> String {
        var base = value(variable) ?? fallback
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// A positive number of seconds from `variable`, or `fallback` when it is not set.
    public func seconds(_ variable: String, default fallback: Double) throws(JobFailure) -> Double {
        guard let text = value(variable) else { return fallback }
        guard let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds > 0, seconds.isFinite else {
            throw .permanent("\(variable) must be a number of seconds above 0, got '\(text)'")
        }
        return seconds
    }
}
