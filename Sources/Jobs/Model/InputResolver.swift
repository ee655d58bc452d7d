import Foundation
import JSON

/// An image or video given to a job, after resolving what the user wrote in params.
public enum MediaInput: Sendable, Equatable {
    case file(path: String)
    case url(String)
}

/// Turns an input param — a local path, an `http(s)` URL, or `{"job": ID}` (the output file of
/// a completed earlier job) — into a `MediaInput`, or a failure that says what to fix.
/// Loop thread only (it reads the store).
public struct InputResolver {
    public enum Kind: String, Sendable {
        case image, video
        var extensions: Set<String> {
            self == .image ? ["png", "jpg", "jpeg", "webp", "gif"] : ["mp4", "webm", "mov", "mkv", "m4v", "avi"]
        }
    }

    let lookup: (Int64) -> JobSummary?

    /// `lookup` answers for the jobs `referencedJobs(in:)` named (the scheduler reads them first).
    public init(lookup: @escaping (Int64) -> JobSummary?) {
        self.lookup = lookup
    }

    /// The ids of every `{"job": ID}` anywhere in `params`, so they can be read before a handler
    /// resolves its inputs.
    public static func referencedJobs(in params: JobParams) -> [Int64] {
        var ids: [Int64] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let object):
                if let id = object["job"]?.intValue { ids.append(Int64(id)) }
                object.values.forEach(walk)
            case .array(let array): array.forEach(walk)
            default: break
            }
        }
        params.values.values.forEach(walk)
        return ids
    }

    public func resolve(_ value: JSONValue, key: String, kind: Kind) throws(JobFailure) -> MediaInput {
        switch value {
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("http://") || trimmed.hasPrefix("https://") { return .url(trimmed) }
            if trimmed.hasPrefix("data:") {
                throw .permanent("params.\(key): data URLs are not accepted; give a file path, a URL or {\"job\": ID}")
            }
            let path = URL(fileURLWithPath: trimmed).standardizedFileURL.path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw .permanent("params.\(key): file \(path) does not exist")
            }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw .permanent("params.\(key): file \(path) is not readable")
            }
            return .file(path: path)
        case .object(let object):
            guard let id = object["job"]?.intValue else {
                throw .permanent(
                    "params.\(key) must be a path, a URL or {\"job\": ID}; the object has no whole-number \"job\"")
            }
            return try output(ofJob: Int64(id), key: key, kind: kind)
        default:
            throw .permanent("params.\(key) must be a path, a URL or {\"job\": ID}, got \(value.typeName)")
        }
    }

    private func output(ofJob id: Int64, key: String, kind: Kind) throws(JobFailure) -> MediaInput {
        guard let record = lookup(id) else { throw .permanent("params.\(key): job \(id) does not exist") }
        guard record.status == JobStatus.completed.rawValue else {
            throw .permanent("params.\(key): job \(id) is \(record.status), not completed; its output is not ready")
        }
        let files = record.result?["files"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let matching = files.filter { kind.extensions.contains(($0 as NSString).pathExtension.lowercased()) }
        guard let path = matching.first else {
            throw .permanent("params.\(key): job \(id) has no \(kind.rawValue) file in its result")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw .permanent("params.\(key): the \(kind.rawValue) of job \(id) (\(path)) is gone from disk")
        }
        return .file(path: path)
    }
}
