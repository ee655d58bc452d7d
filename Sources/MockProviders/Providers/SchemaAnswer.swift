import JSON

/// Builds a JSON value that fits a (strict-mode) JSON schema, filled with the mock's style and palette.
///
/// Field meaning is guessed from property names: `hex`/`color` strings get `#RRGGBB`, `name` gets a colour name,
/// `weight`/`share`/`percent`/`ratio` numbers get the palette share; arrays named like a palette get the requested
/// number of entries (bounded by `minItems`/`maxItems`). Supports `$ref` into `$defs`/`definitions`, `anyOf`/`oneOf`,
/// type lists such as `["string", "null"]`, `enum` and `const`.
struct SchemaAnswer {
    let root: JSONValue
    let paletteSize: Int
    /// How many entries the innermost palette-like array has, for computing shares.
    private var currentCount: Int
    private var depth = 0

    init(root: JSONValue, paletteSize: Int) {
        self.root = root
        self.paletteSize = paletteSize
        self.currentCount = paletteSize
    }

    /// A value for `schema`, found under property `key` and at array position `index`.
    mutating func value(for schema: JSONValue, key: String?, index: Int?) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth < 32 else { return .null }
        let schema = resolve(schema)
        if let constant = schema["const"] { return constant }
        if let options = schema["enum"]?.arrayValue, let first = options.first { return first }
        for combinator in ["anyOf", "oneOf"] {
            if let options = schema[combinator]?.arrayValue {
                let chosen = options.first { resolve($0)["type"]?.stringValue != "null" } ?? options.first
                if let chosen { return value(for: chosen, key: key, index: index) }
            }
        }
        if let all = schema["allOf"]?.arrayValue, let first = all.first {
            return value(for: first, key: key, index: index)
        }
        switch typeName(of: schema) {
        case "object": return object(schema, index: index)
        case "array": return array(schema, key: key)
        case "string": return .string(string(key: key, index: index))
        case "number": return .number(number(key: key, index: index))
        case "integer": return .number(number(key: key, index: index).rounded())
        case "boolean": return .bool(true)
        case "null": return .null
        default:
            return key == nil
                ? VisionAnalysis.defaultAnswer(size: paletteSize) : .string(string(key: key, index: index))
        }
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        guard let reference = schema["$ref"]?.stringValue, reference.hasPrefix("#/") else { return schema }
        var node = root
        for part in reference.dropFirst(2).split(separator: "/") {
            guard let next = node[String(part)] else { return schema }
            node = next
        }
        return node
    }

    private func typeName(of schema: JSONValue) -> String? {
        if let name = schema["type"]?.stringValue { return name }
        if let names = schema["type"]?.arrayValue?.compactMap(\.stringValue) {
            return names.first { $0 != "null" } ?? names.first
        }
        if schema["properties"] != nil { return "object" }
        if schema["items"] != nil { return "array" }
        return nil
    }

    private mutating func object(_ schema: JSONValue, index: Int?) -> JSONValue {
        guard let properties = schema["properties"]?.objectValue, !properties.isEmpty else {
            return index == nil
                ? VisionAnalysis.defaultAnswer(size: paletteSize)
                : ["hex": .string(VisionAnalysis.hex(index ?? 0)), "weight": .number(share(index ?? 0))]
        }
        var out = JSONObject()
        for (name, propertySchema) in properties.sorted(by: { $0.key < $1.key }) {
            out[name] = value(for: propertySchema, key: name, index: index)
        }
        return .object(out)
    }

    private mutating func array(_ schema: JSONValue, key: String?) -> JSONValue {
        let name = key?.lowercased() ?? ""
        let paletteLike = ["palette", "colour", "color", "swatch", "hue", "shade"].contains { name.contains($0) }
        var count = paletteLike ? paletteSize : 3
        if let minimum = schema["minItems"]?.doubleValue { count = max(count, Int(minimum)) }
        if let maximum = schema["maxItems"]?.doubleValue { count = min(count, Int(maximum)) }
        let items = schema["items"] ?? ["type": "string"]
        let outer = currentCount
        currentCount = count
        defer { currentCount = outer }
        return .array((0..<count).map { value(for: items, key: paletteLike ? "colour" : key, index: $0) })
    }

    private func string(key: String?, index: Int?) -> String {
        let name = key?.lowercased() ?? ""
        let position = index ?? 0
        if name.contains("hex") || name == "colour" || name == "color" || name.hasSuffix("_color")
            || name.hasSuffix("_colour") || name == "rgb" || name == "value"
        {
            return VisionAnalysis.hex(position)
        }
        if name.contains("name") || name.contains("label") { return VisionAnalysis.name(position) }
        if name.contains("style") || name.contains("description") || name.contains("summary") {
            return VisionAnalysis.style
        }
        if name.contains("mood") { return "energetic and warm" }
        return index == nil ? "mock \(name.isEmpty ? "value" : name)" : VisionAnalysis.name(position)
    }

    private func number(key: String?, index: Int?) -> Double {
        let name = key?.lowercased() ?? ""
        let position = index ?? 0
        if name.contains("percent") || name.hasSuffix("_pct") { return (share(position) * 1000).rounded() / 10 }
        if index != nil
            || ["weight", "share", "ratio", "fraction", "proportion", "coverage"].contains(where: name.contains)
        {
            return share(position)
        }
        return 1
    }

    private func share(_ index: Int) -> Double {
        VisionAnalysis.weight(min(index, currentCount - 1), of: max(currentCount, 1))
    }
}
