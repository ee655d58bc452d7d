import Foundation
import JSON
import Reactor

/// Checks a job's type and params the way its handler will read them, before a row is written or
/// anything paid: the provider's own description builds its submit request from the params (with
/// a stand-in for each image), and the media jobs parse their options. Pure: no file, network,
/// database or key is touched, so a path that exists only on the worker's disk is accepted.
public enum JobValidation {
    /// Input params that name images or videos, which may be a path, a URL, `{"job": ID}` or, in a
    /// pipeline, `{"step": "id"}`.
    static let mediaKeys: [JobType: [(key: String, list: Bool)]] = [
        .backgroundRemoval: [("image", false)], .styleAnalysis: [("image", false)], .animation: [("image", false)],
        .videoKeying: [("input", false)], .videoStitching: [("inputs", true)],
    ]

    /// Throws the first problem, in words that name the key (`params.width must be …`).
    public static func check(type typeName: String, params: JobParams) throws(JobFailure) {
        guard let type = JobType(rawValue: typeName) else {
            throw .permanent("unknown job_type '\(typeName)'; expected one of: \(JobType.allNames)")
        }
        for (key, list) in mediaKeys[type] ?? [] {
            guard let value = params[key] else { continue }
            if list {
                guard let items = value.arrayValue else {
                    throw .permanent("params.\(key) must be a list of videos (paths, URLs or {\"job\": ID})")
                }
                for (index, item) in items.enumerated() { try checkInput(item, key: "\(key)[\(index)]") }
            } else {
                try checkInput(value, key: key)
            }
        }
        let known = ProviderCatalog.providers(for: type)
        guard let provider = try params.string("provider") ?? type.defaultProvider else {
            throw .permanent(
                "params.provider is required for \(type.rawValue); one of: \(known.joined(separator: ", "))")
        }
        switch type {
        case .videoKeying:
            guard params["input"] != nil else { throw .permanent("params.input is required for video_keying") }
            _ = try KeyingOptions.parse(params)
        case .videoStitching:
            guard let inputs = try params.array("inputs"), inputs.count >= 2 else {
                throw .permanent("params.inputs is required for video_stitching: a list of at least 2 videos")
            }
            _ = try StitchingOptions.parse(params)
        default:
            guard let api = ProviderCatalog.api(for: type, provider: provider) else {
                throw .permanent(
                    "unknown provider '\(provider)' for \(type.rawValue); expected one of: \(known.joined(separator: ", "))"
                )
            }
            var images: [String: ProviderImageInput] = [:]
            for param in api.imageParams {
                if params[param.key] != nil {
                    images[param.key] = ProviderImageInput(value: "https://validation.invalid/image.png", isURL: true)
                } else if param.required {
                    throw .permanent("params.\(param.key) is required for \(type.rawValue)")
                }
            }
            let job = ProviderJob(id: 0, type: type.rawValue, params: params, externalID: "rw-validation-0-1")
            _ = try api.submitRequest(
                job, images: images, ProviderConnection(base: "https://validation.invalid", headers: []))
        }
    }

    /// An input is a path or URL (text), or `{"job": ID}` / `{"step": "id"}`.
    private static func checkInput(_ value: JSONValue, key: String) throws(JobFailure) {
        switch value {
        case .string(let text) where !text.isEmpty: return
        case .object(let object) where object["job"]?.intValue != nil || object["step"]?.stringValue != nil: return
        default:
            throw .permanent("params.\(key) must be a path, a URL or {\"job\": ID}, got \(value.typeName)")
        }
    }
}
