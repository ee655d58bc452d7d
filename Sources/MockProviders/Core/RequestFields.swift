import JSON

/// Typed, path-aware reads of a JSON request object, throwing the `ProviderFailure` a real API would answer with.
///
/// Every accessor names the full field path (`content[1].image_url.url`) so the provider's 400 names it too.
struct RequestFields: Sendable {
    /// The object being read.
    let object: JSONObject
    /// Path of `object` inside the request body, "" for the top level.
    let path: String

    init(_ object: JSONObject, path: String = "") {
        self.object = object
        self.path = path
    }

    /// The full path of member `key`.
    func fieldPath(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The raw member, treating JSON `null` like an absent key (the real APIs accept explicit nulls for optionals).
    func value(_ key: String) -> JSONValue? {
        switch object[key] {
        case .none, .null?: return nil
        case let value?: return value
        }
    }

    private func present(_ key: String, required: Bool) throws(ProviderFailure) -> JSONValue? {
        guard let value = value(key) else {
            if required { throw .missingField(fieldPath(key)) }
            return nil
        }
        return value
    }

    private func wrongType(_ key: String, _ expected: String, _ value: JSONValue) -> ProviderFailure {
        .wrongType(field: fieldPath(key), expected: expected, got: value.apiTypeName)
    }

    /// A string member; `required` strings must also be non-empty.
    func string(_ key: String, required: Bool = false) throws(ProviderFailure) -> String? {
        guard let value = try present(key, required: required) else { return nil }
        guard case .string(let text) = value else { throw wrongType(key, "string", value) }
        if required && text.isEmpty { throw .missingField(fieldPath(key)) }
        return text
    }

    /// A string member that must be one of `allowed`.
    func choice(_ key: String, _ allowed: [String], required: Bool = false) throws(ProviderFailure) -> String? {
        guard let text = try string(key, required: required) else { return nil }
        guard allowed.contains(text) else {
            let list = allowed.map { "'\($0)'" }.joined(separator: ", ")
            throw .invalidValue(
                field: fieldPath(key), message: "Invalid value: '\(text)'. Supported values are: \(list).")
        }
        return text
    }

    /// An integer member, optionally limited to `range`.
    func int(_ key: String, required: Bool = false, in range: ClosedRange<Int>? = nil) throws(ProviderFailure) -> Int? {
        guard let value = try present(key, required: required) else { return nil }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 9e15 else {
            throw wrongType(key, "integer", value)
        }
        let integer = Int(number)
        if let range, !range.contains(integer) {
            throw .invalidValue(
                field: fieldPath(key),
                message: "Invalid value \(integer) for '\(fieldPath(key))': "
                    + "expected \(range.lowerBound)…\(range.upperBound)."
            )
        }
        return integer
    }

    /// A number member (integer or fraction).
    func number(_ key: String, required: Bool = false) throws(ProviderFailure) -> Double? {
        guard let value = try present(key, required: required) else { return nil }
        guard case .number(let number) = value else { throw wrongType(key, "number", value) }
        return number
    }

    /// A boolean member.
    func bool(_ key: String, required: Bool = false) throws(ProviderFailure) -> Bool? {
        guard let value = try present(key, required: required) else { return nil }
        guard case .bool(let flag) = value else { throw wrongType(key, "boolean", value) }
        return flag
    }

    /// An array member; `required` arrays must also be non-empty.
    func array(_ key: String, required: Bool = false) throws(ProviderFailure) -> [JSONValue]? {
        guard let value = try present(key, required: required) else { return nil }
        guard case .array(let values) = value else { throw wrongType(key, "array", value) }
        if required && values.isEmpty { throw .missingField(fieldPath(key)) }
        return values
    }

    /// An object member, returned as fields rooted at its path.
    func object(_ key: String, required: Bool = false) throws(ProviderFailure) -> RequestFields? {
        guard let value = try present(key, required: required) else { return nil }
        guard case .object(let object) = value else { throw wrongType(key, "object", value) }
        return RequestFields(object, path: fieldPath(key))
    }

    /// Element `index` of an array member, which must be an object.
    func element(_ value: JSONValue, of key: String, at index: Int) throws(ProviderFailure) -> RequestFields {
        let elementPath = "\(fieldPath(key))[\(index)]"
        guard case .object(let object) = value else {
            throw .wrongType(field: elementPath, expected: "object", got: value.apiTypeName)
        }
        return RequestFields(object, path: elementPath)
    }

    /// Checks that only the listed members are present; real APIs reject unknown parameters in some places.
    func rejectUnknown(allowed: Set<String>) throws(ProviderFailure) {
        for key in object.keys.sorted() where !allowed.contains(key) {
            throw .invalidValue(field: fieldPath(key), message: "Unrecognized request argument supplied: \(key)")
        }
    }
}
