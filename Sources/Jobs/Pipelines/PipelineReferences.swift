import Foundation
import JSON

/// `{"step": "id"}` and `{"step": "id", "index": n}` in a pipeline step's params: finding them
/// (they are what makes one step depend on another) and resolving them to the parent's files
/// once it has completed. Plain functions; any thread.
public enum PipelineReferences {
    /// One reference: the step it names, the file index it asks for (nil: the first file of the
    /// right kind), and where it sits, for messages (`params.inputs[0]`).
    public struct Reference: Sendable, Equatable {
        public var step: String
        public var index: Int?
        public var path: String
    }

    /// The kind of file a param takes: images for `image`, videos for `input` and `inputs`.
    static func kind(of key: String) -> InputResolver.Kind? {
        switch key {
        case "image": .image
        case "input", "inputs": .video
        default: nil
        }
    }

    /// Every step reference in `params`, in document order of keys (sorted) and array positions.
    public static func references(in params: JSONValue) throws(PipelineError) -> [Reference] {
        var found: [Reference] = []
        func walk(_ value: JSONValue, _ path: String) throws(PipelineError) {
            switch value {
            case .object(let object):
                if let step = object["step"] {
                    guard let name = step.stringValue else {
                        throw PipelineError("\(path).step must be the id of a step, got \(step.typeName)")
                    }
                    var index: Int?
                    if let raw = object["index"] {
                        guard let number = raw.intValue, number >= 0 else {
                            throw PipelineError("\(path).index must be a whole number from 0, got \(raw.jsonString())")
                        }
                        index = number
                    }
                    found.append(Reference(step: name, index: index, path: path))
                    return
                }
                for key in object.keys.sorted() { try walk(object[key]!, "\(path).\(key)") }
            case .array(let array):
                for (position, element) in array.enumerated() { try walk(element, "\(path)[\(position)]") }
            default:
                return
            }
        }
        try walk(params, "params")
        return found
    }

    /// `template` with every step reference replaced by a path: `files[step]` filtered by the kind
    /// its key takes, the reference's index (0 when absent); in an instance of a `for_each` step, a
    /// reference to the step it runs over without an index is that instance's file.
    static func resolve(
        _ template: JSONValue, files: [String: [String]], forEach: (step: String, file: String)?
    ) throws(PipelineError) -> JSONValue {
        func resolve(_ value: JSONValue, key: String, path: String) throws(PipelineError) -> JSONValue {
            switch value {
            case .object(let object):
                if let step = object["step"]?.stringValue {
                    let index = object["index"]?.intValue
                    if let forEach, forEach.step == step, index == nil { return .string(forEach.file) }
                    let all = files[step] ?? []
                    let kind = kind(of: key)
                    let matching =
                        kind.map { kind in all.filter { kind.extensions.contains(Self.extensionOf($0)) } }
                        ?? all
                    let wanted = index ?? 0
                    guard wanted < matching.count else {
                        let what = kind.map { "\($0.rawValue)" } ?? "file"
                        throw PipelineError(
                            "\(path): step '\(step)' has no \(what) at index \(wanted) (it made \(matching.count) \(what) file\(matching.count == 1 ? "" : "s"))"
                        )
                    }
                    return .string(matching[wanted])
                }
                var resolved: [String: JSONValue] = [:]
                for (name, child) in object { resolved[name] = try resolve(child, key: name, path: "\(path).\(name)") }
                return .object(resolved)
            case .array(let array):
                var resolved: [JSONValue] = []
                for (position, element) in array.enumerated() {
                    resolved.append(try resolve(element, key: key, path: "\(path)[\(position)]"))
                }
                return .array(resolved)
            default:
                return value
            }
        }
        return try resolve(template, key: "", path: "params")
    }

    static func extensionOf(_ path: String) -> String { (path as NSString).pathExtension.lowercased() }
}

/// What is wrong with a pipeline document or one of its steps, in words that name the step and
/// the key.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
