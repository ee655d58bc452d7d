import JSON

/// A JSON object as request fields and answers are built: the shared `JSONValue`'s dictionary.
/// Answers are written with sorted keys, so they read the same way every time.
typealias JSONObject = [String: JSONValue]

extension JSONValue {
    /// The JSON type as a real API names it in a 400 ("string", "integer", "number", …).
    var apiTypeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let value): return value.rounded() == value ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The compact JSON text, as a string (for messages and the vision model's content).
    var encodedText: String { jsonString() }
}
