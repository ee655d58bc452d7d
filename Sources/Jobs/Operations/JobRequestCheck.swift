import Foundation
import JSON

/// Checks a job before it is inserted: the type is known, the provider is one that type has,
/// the required params are there, and every documented param has the right JSON type and
/// range (DESIGN.md "Params"). Pure: it reads no file, no database and no environment, so a
/// path that does not exist on this machine is still accepted (the worker may see another disk).
///
/// The web API answers 400 with these problems and `reactor-worker enqueue` refuses with them,
/// so a typo is caught before it becomes a failed row. The table below names every problem at
/// once, each with its field; what it passes then goes through `JobValidation`, the provider
/// engine's own check (the request it would build), so the two cannot drift apart silently.
public enum JobRequestCheck {
    /// One thing wrong with a request, naming the field (`job_type`, `params.width`).
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }

        public var description: String { message }
    }

    /// The providers each job type may name, as the provider engine describes them.
    public static var providers: [JobType: [String]] {
        Dictionary(uniqueKeysWithValues: JobType.allCases.map { ($0, ProviderCatalog.providers(for: $0)) })
    }

    /// Every problem with a job of `type` and these `params`; empty when it may be inserted.
    public static func validate(type: String, params: JSONValue) -> [Problem] {
        guard let jobType = JobType(rawValue: type) else {
            return [
                Problem(field: "job_type", message: "unknown job type '\(type)'; expected one of: \(JobType.allNames)")
            ]
        }
        guard case .object(let object) = params else {
            return [Problem(field: "params", message: "params must be a JSON object, got \(params.typeName)")]
        }
        var check = ParamsCheck(type: jobType, values: object.filter { !$0.value.isNull })
        check.run()
        guard check.problems.isEmpty else { return check.problems }
        // What the table does not know, the engine does: it builds the provider's request from
        // these params (JobValidation), as the worker will, and stops at the first problem.
        do {
            try JobValidation.check(type: type, params: JobParams(values: object))
        } catch {
            return [Problem(field: fieldNamed(in: error.message) ?? "params", message: error.message)]
        }
        return []
    }

    /// `params.width` from "params.width must be …".
    private static func fieldNamed(in message: String) -> String? {
        guard message.hasPrefix("params.") else { return nil }
        let name = message.dropFirst(7).prefix { $0.isLetter || $0.isNumber || "_[]".contains($0) }
        return name.isEmpty ? nil : "params." + name
    }
}

/// The checks of one job's params, collecting every problem rather than stopping at the first.
private struct ParamsCheck {
    let type: JobType
    let values: [String: JSONValue]
    var problems: [JobRequestCheck.Problem] = []

    init(type: JobType, values: [String: JSONValue]) {
        self.type = type
        self.values = values
    }

    mutating func run() {
        let provider = checkProvider()
        switch type {
        case .imageGeneration:
            requireText("prompt")
            text("negative_prompt", "model")
            object("options")
            guard let provider else { return }
            let limits = Self.imageLimits[provider] ?? Self.imageLimits["openai"]!
            integer("width", limits.side, for: provider)
            integer("height", limits.side, for: provider)
            integer("num_images", limits.count, for: provider)
            integer("seed", limits.seed, for: provider)
            if provider != "leonardo" { bothOrNeither("width", "height", for: provider) }
        case .backgroundRemoval:
            media("image", required: true)
            object("options")
        case .styleAnalysis:
            media("image", required: true)
            text("model")
            integer("palette_size", 1...32)
            object("options")
        case .animation:
            media("image", required: false)
            if values["image"] == nil { requireText("prompt", reason: "(or give an image)") } else { text("prompt") }
            text("model", "mode", "aspect_ratio", "negative_prompt")
            integer("duration", 1...60)
            object("options")
        case .videoKeying:
            media("input", required: true)
            hexColor("key_color")
            number("similarity", 0.01...1)
            number("blend", 0...1)
            flag("despill")
            choice("format", ["webm", "mov"])
        case .videoStitching:
            mediaList("inputs", minimum: 2)
            choice("transition", ["cut", "crossfade"])
            number("transition_seconds", 0.04...30)
            integer("width", 16...8192)
            integer("height", 16...8192)
            bothOrNeither("width", "height", for: nil)
            number("fps", 1...240)
        }
        flag("resubmit_on_lost_submit")
    }

    /// What each image provider accepts (as its client enforces it).
    private static let imageLimits:
        [String: (side: ClosedRange<Int>, count: ClosedRange<Int>, seed: ClosedRange<Int>)] = [
            "openai": (1...8192, 1...10, Int.min...Int.max),
            "leonardo": (32...4096, 1...8, Int.min...Int.max),
            "bytedance": (256...8192, 1...15, -1...2_147_483_647),
        ]

    /// The provider named (or the type's default), or nil after recording why it is wrong.
    private mutating func checkProvider() -> String? {
        let known = JobRequestCheck.providers[type] ?? []
        guard let value = values["provider"] else {
            if let fallback = type.defaultProvider { return fallback }
            add(
                "provider", "params.provider is required for \(type.rawValue); one of: \(known.joined(separator: ", "))"
            )
            return nil
        }
        guard let name = value.stringValue else {
            add("provider", "params.provider must be a string, got \(value.typeName)")
            return nil
        }
        guard known.contains(name) else {
            add(
                "provider",
                "params.provider '\(name)' does not do \(type.rawValue); one of: \(known.joined(separator: ", "))")
            return nil
        }
        return name
    }

    private mutating func add(_ key: String, _ message: String) {
        problems.append(.init(field: "params.\(key)", message: message))
    }

    private mutating func requireText(_ key: String, reason: String = "") {
        let text = values[key]?.stringValue
        guard let text, text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            let got = values[key].map { ", got \($0.typeName)" } ?? ""
            let why = reason.isEmpty ? "" : " " + reason
            add(key, "params.\(key) is required for \(type.rawValue) and must be a non-empty string\(why)\(got)")
            return
        }
    }

    private mutating func text(_ keys: String...) {
        for key in keys {
            guard let value = values[key], value.stringValue == nil else { continue }
            add(key, "params.\(key) must be a string, got \(value.typeName)")
        }
    }

    private mutating func object(_ key: String) {
        guard let value = values[key], value.objectValue == nil else { return }
        add(key, "params.\(key) must be a JSON object, got \(value.typeName)")
    }

    private mutating func flag(_ key: String) {
        guard let value = values[key], value.boolValue == nil else { return }
        add(key, "params.\(key) must be true or false, got \(value.typeName)")
    }

    private mutating func integer(_ key: String, _ range: ClosedRange<Int>, for provider: String? = nil) {
        guard let value = values[key] else { return }
        let suffix = provider.map { " for \($0)" } ?? ""
        guard let number = value.intValue else {
            add(key, "params.\(key) must be a whole number, got \(Self.shown(value))")
            return
        }
        if !range.contains(number) {
            add(
                key, "params.\(key) must be between \(range.lowerBound) and \(range.upperBound)\(suffix), got \(number)"
            )
        }
    }

    private mutating func number(_ key: String, _ range: ClosedRange<Double>) {
        guard let value = values[key] else { return }
        guard let number = value.doubleValue else {
            add(key, "params.\(key) must be a number, got \(value.typeName)")
            return
        }
        if !range.contains(number) {
            add(key, "params.\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
    }

    private mutating func choice(_ key: String, _ words: [String]) {
        guard let value = values[key] else { return }
        guard let word = value.stringValue, words.contains(word.lowercased()) else {
            add(key, "params.\(key) must be \(words.joined(separator: " or ")), got \(Self.shown(value))")
            return
        }
    }

    private mutating func hexColor(_ key: String) {
        guard let value = values[key] else { return }
        var digits = Substring(value.stringValue ?? "")
        if digits.hasPrefix("#") {
            digits = digits.dropFirst()
        } else if digits.lowercased().hasPrefix("0x") {
            digits = digits.dropFirst(2)
        }
        guard [3, 6].contains(digits.count), digits.allSatisfy(\.isHexDigit) else {
            add(key, "params.\(key) must be a hex colour such as #00FF00, got \(Self.shown(value))")
            return
        }
    }

    private mutating func bothOrNeither(_ first: String, _ second: String, for provider: String?) {
        guard (values[first] == nil) != (values[second] == nil) else { return }
        let suffix = provider.map { " for \($0)" } ?? ""
        add(
            values[first] == nil ? first : second,
            "params.\(first) and params.\(second) must be given together\(suffix)")
    }

    private mutating func media(_ key: String, required: Bool) {
        guard let value = values[key] else {
            if required {
                add(key, "params.\(key) is required for \(type.rawValue): a file path, an http(s) URL or {\"job\": ID}")
            }
            return
        }
        if let problem = Self.mediaProblem(value, key: key) { add(key, problem) }
    }

    private mutating func mediaList(_ key: String, minimum: Int) {
        guard let value = values[key] else {
            add(
                key,
                "params.\(key) is required for \(type.rawValue): a list of at least \(minimum) videos (paths, URLs or {\"job\": ID})"
            )
            return
        }
        guard let items = value.arrayValue else {
            add(key, "params.\(key) must be a JSON array, got \(value.typeName)")
            return
        }
        if items.count < minimum {
            add(key, "params.\(key) must list at least \(minimum) videos, got \(items.count)")
        }
        for (index, item) in items.enumerated() {
            if let problem = Self.mediaProblem(item, key: "\(key)[\(index)]") {
                problems.append(.init(field: "params.\(key)[\(index)]", message: problem))
            }
        }
    }

    /// Why `value` is not a path, an http(s) URL or `{"job": ID}`, or nil when it is one.
    private static func mediaProblem(_ value: JSONValue, key: String) -> String? {
        switch value {
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return "params.\(key) is empty; give a file path, an http(s) URL or {\"job\": ID}" }
            if trimmed.hasPrefix("data:") {
                return "params.\(key): data URLs are not accepted; give a file path, a URL or {\"job\": ID}"
            }
            if trimmed.contains("://"), !(trimmed.hasPrefix("http://") || trimmed.hasPrefix("https://")) {
                return "params.\(key): only http and https URLs are fetched, got '\(trimmed)'"
            }
            return nil
        case .object(let object):
            guard let id = object["job"]?.intValue, id >= 1 else {
                return "params.\(key) must be a path, a URL or {\"job\": ID}; the object has no whole-number \"job\""
            }
            return nil
        default:
            return "params.\(key) must be a path, a URL or {\"job\": ID}, got \(value.typeName)"
        }
    }

    /// A value as the message shows it: strings quoted, other types by name.
    private static func shown(_ value: JSONValue) -> String {
        if let text = value.stringValue { return "'\(text.count > 40 ? String(text.prefix(40)) + "…" : text)'" }
        if let whole = value.intValue { return "\(whole)" }
        if let number = value.doubleValue { return "\(number)" }
        return value.typeName
    }
}
