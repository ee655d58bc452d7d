import Foundation
import JSON

/// A job's `params` object with typed accessors whose errors name the key and what was
/// wrong, in words for the user ("params.width must be a whole number, got a string").
/// Unknown keys are ignored, as DESIGN.md promises.
public struct JobParams: Sendable {
    public let values: [String: JSONValue]

    public init(values: [String: JSONValue]) { self.values = values }

    /// Parses the raw `params` text; fails naming the problem when it is not a JSON object.
    public static func parse(_ text: String) throws(JobFailure) -> JobParams {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            let shown = text.count > 80 ? String(text.prefix(80)) + "…" : text
            throw .permanent(
                "params is not valid JSON (\(shown)); it must be a JSON object such as {\"prompt\": \"…\"}")
        }
        guard case .object(let object) = value else {
            throw .permanent("params must be a JSON object, got \(value.typeName)")
        }
        return JobParams(values: object)
    }

    public subscript(key: String) -> JSONValue? {
        guard let value = values[key], !value.isNull else { return nil }
        return value
    }

    public func string(_ key: String) throws(JobFailure) -> String? {
        guard let value = self[key] else { return nil }
        guard let text = value.stringValue else { throw wrongType(key, "a string", value) }
        return text
    }

    public func requiredString(_ key: String, for type: String) throws(JobFailure) -> String {
        // Not `trimmingCharacters`: that went through Foundation's character sets per job.
        guard let text = try string(key), text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            throw .permanent("params.\(key) is required for \(type) and must be a non-empty string")
        }
        return text
    }

    public func int(_ key: String, range: ClosedRange<Int>? = nil) throws(JobFailure) -> Int? {
        guard let value = self[key] else { return nil }
        guard let number = value.intValue else { throw wrongType(key, "a whole number", value) }
        if let range, !range.contains(number) {
            throw .permanent("params.\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    public func double(_ key: String, range: ClosedRange<Double>? = nil) throws(JobFailure) -> Double? {
        guard let value = self[key] else { return nil }
        guard let number = value.doubleValue else { throw wrongType(key, "a number", value) }
        if let range, !range.contains(number) {
            throw .permanent("params.\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    public func bool(_ key: String) throws(JobFailure) -> Bool? {
        guard let value = self[key] else { return nil }
        guard let flag = value.boolValue else { throw wrongType(key, "true or false", value) }
        return flag
    }

    public func object(_ key: String) throws(JobFailure) -> [String: JSONValue]? {
        guard let value = self[key] else { return nil }
        guard let object = value.objectValue else { throw wrongType(key, "a JSON object", value) }
        return object
    }

    public func array(_ key: String) throws(JobFailure) -> [JSONValue]? {
        guard let value = self[key] else { return nil }
        guard let array = value.arrayValue else { throw wrongType(key, "a JSON array", value) }
        return array
    }

    private func wrongType(_ key: String, _ expected: String, _ value: JSONValue) -> JobFailure {
        .permanent("params.\(key) must be \(expected), got \(value.typeName)")
    }
}
