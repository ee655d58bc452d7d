import JSON

/// What the mock needs from a Chat Completions request: the text it was asked, how many images it saw, and the
/// response format. Building it validates the fields the real API validates.
struct VisionRequest: Sendable {
    enum Format: Sendable {
        case text
        case jsonObject
        case jsonSchema(JSONValue?)
    }

    /// All text parts of all messages, joined, for reading the requested palette size.
    let text: String
    let textLength: Int
    let imageCount: Int
    let format: Format
    let maxTokens: Int?

    init(_ fields: RequestFields) throws(ProviderFailure) {
        let messages = try fields.array("messages", required: true) ?? []
        var texts: [String] = []
        var images = 0
        for (index, value) in messages.enumerated() {
            let message = try fields.element(value, of: "messages", at: index)
            _ = try message.choice("role", ["system", "developer", "user", "assistant", "tool"], required: true)
            switch message.value("content") {
            case nil: break
            case .string(let text)?: texts.append(text)
            case .array(let parts)?:
                for (partIndex, partValue) in parts.enumerated() {
                    let part = try message.element(partValue, of: "content", at: partIndex)
                    switch try part.choice(
                        "type", ["text", "image_url", "input_audio", "file", "refusal"], required: true)
                    {
                    case "text": texts.append(try part.string("text", required: true) ?? "")
                    case "image_url":
                        let image = try part.object("image_url", required: true)
                        _ = try image?.string("url", required: true)
                        _ = try image?.choice("detail", ["auto", "low", "high"])
                        images += 1
                    default: break
                    }
                }
            case let other?:
                throw .wrongType(
                    field: message.fieldPath("content"), expected: "string or array", got: other.apiTypeName)
            }
        }
        text = texts.joined(separator: "\n")
        textLength = text.utf8.count
        imageCount = images
        let legacyMaxTokens = try fields.int("max_tokens", in: 1...1_000_000)
        maxTokens = try fields.int("max_completion_tokens", in: 1...1_000_000) ?? legacyMaxTokens

        if let responseFormat = try fields.object("response_format") {
            switch try responseFormat.choice("type", ["text", "json_object", "json_schema"], required: true) {
            case "json_object": format = .jsonObject
            case "json_schema":
                let schema = try responseFormat.object("json_schema", required: true)
                _ = try schema?.string("name", required: true)
                _ = try schema?.bool("strict")
                format = .jsonSchema(try schema?.object("schema").map { JSONValue.object($0.object) })
            default: format = .text
            }
        } else {
            format = .text
        }
    }
}

/// Produces the assistant's answer: a style description and a colour palette, shaped by the request's JSON schema
/// when it gives one. Deterministic: the same request always gets the same answer.
enum VisionAnalysis {
    static let style =
        "Flat vector illustration with bold saturated colour bands, soft vertical shading and a warm-to-cool palette."

    /// Palette size when the prompt does not name one.
    static let defaultPaletteSize = 6

    private static let names = ["crimson", "sandy orange", "saffron", "teal", "deep slate", "lavender"]

    /// The message content for `request`.
    static func answer(for request: VisionRequest) -> String {
        let size = paletteSize(in: request.text)
        switch request.format {
        case .text:
            let hexes = (0..<size).map(hex).joined(separator: ", ")
            return "Style: \(style) Dominant colours: \(hexes)."
        case .jsonObject, .jsonSchema(nil):
            return defaultAnswer(size: size).encodedText
        case .jsonSchema(let schema?):
            var generator = SchemaAnswer(root: schema, paletteSize: size)
            return generator.value(for: schema, key: nil, index: nil).encodedText
        }
    }

    /// `{"style": …, "palette": [{"hex", "weight"}…]}`, the shape the worker asks for.
    static func defaultAnswer(size: Int) -> JSONValue {
        let palette = (0..<size).map { index -> JSONValue in
            ["hex": .string(hex(index)), "weight": .number(weight(index, of: size))]
        }
        return ["style": .string(style), "palette": .array(palette)]
    }

    /// The palette size the prompt asks for ("the 8 dominant colours", "a palette of five"), else 6. Clamped 1…32.
    static func paletteSize(in text: String) -> Int {
        let words = text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        let colourWords: Set<String> = [
            "colour", "colours", "color", "colors", "hues", "swatches", "shades", "tones", "palette", "entries",
        ]
        for (index, word) in words.enumerated() {
            guard let number = number(word) else { continue }
            // "<n> [dominant|main|…] colours" — allow up to two words in between.
            for ahead in words.dropFirst(index + 1).prefix(3) where colourWords.contains(ahead) {
                return min(max(number, 1), 32)
            }
            // "palette of <n>"
            if index >= 2, words[index - 1] == "of", words[index - 2] == "palette" { return min(max(number, 1), 32) }
        }
        return defaultPaletteSize
    }

    private static let numberWords = [
        "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
        "eleven": 11, "twelve": 12, "sixteen": 16, "twenty": 20,
    ]

    private static func number(_ word: String) -> Int? {
        if let value = Int(word), value > 0, value < 1000 { return value }
        return numberWords[word]
    }

    /// Colour `index` as `#RRGGBB`: the fixture's six band colours, then hue-rotated variants.
    static func hex(_ index: Int) -> String {
        let base = Fixtures.bandColours[index % Fixtures.bandColours.count]
        let round = index / Fixtures.bandColours.count
        // Later rounds rotate the channels and darken, so every entry differs.
        var channels = [base.0, base.1, base.2]
        for _ in 0..<(round % 3) { channels = [channels[2], channels[0], channels[1]] }
        let factor = max(0.3, 1.0 - 0.15 * Double(round))
        let digits = channels.map { channel -> String in
            let value = UInt8(Double(channel) * factor)
            let text = String(value, radix: 16, uppercase: true)
            return value < 16 ? "0" + text : text
        }
        return "#" + digits.joined()
    }

    /// Colour name for `index`.
    static func name(_ index: Int) -> String {
        let base = names[index % names.count]
        return index < names.count ? base : "\(base) \(index / names.count + 1)"
    }

    /// Share of colour `index` among `count`: linearly decreasing, rounded to 3 decimals, summing to exactly 1.
    static func weight(_ index: Int, of count: Int) -> Double {
        let total = Double(count * (count + 1) / 2)
        let rounded = (0..<count).map { ((Double(count - $0) / total) * 1000).rounded() / 1000 }
        if index == count - 1 {
            // Give rounding error to the last entry so the weights add up to 1.
            let rest = rounded.dropLast().reduce(0, +)
            return ((1 - rest) * 1000).rounded() / 1000
        }
        return rounded[index]
    }
}
