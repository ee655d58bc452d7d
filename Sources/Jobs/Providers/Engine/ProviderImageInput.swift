import Foundation
import JSON

/// An input image as a provider's JSON body carries it: a URL as given, or a local file (a path
/// or `{"job": ID}`) read and base64-encoded, as a `data:` URL or raw, per the provider
/// (PROVIDERS.md §8 "Image inputs").
public struct ProviderImageInput: Sendable, Equatable {
    public enum Encoding: Sendable {
        /// `data:image/png;base64,…`, lower-case format (OpenAI, Ark).
        case dataURL
        /// Plain base64 without a `data:` prefix (Kling, BRIA).
        case rawBase64
    }

    /// Largest local image sent inline. Kling takes 10 MB, OpenAI 20 MB, Ark 30 MB; the base64
    /// copy lives in memory for the whole request, so the worker draws one line for all.
    static let largestInlineBytes = 20 << 20

    /// The text to put in the request.
    public let value: String
    /// True when `value` is the caller's URL rather than inline bytes.
    public let isURL: Bool

    public init(value: String, isURL: Bool) {
        self.value = value
        self.isURL = isURL
    }

    /// Resolves an image param and encodes a local file as `encoding`. Reading the file blocks the
    /// loop for the few milliseconds a 20 MB read takes at most; the cap keeps it at that.
    static func resolve(_ raw: JSONValue, key: String, inputs: InputResolver, encoding: Encoding) throws(JobFailure)
        -> ProviderImageInput
    {
        switch try inputs.resolve(raw, key: key, kind: .image) {
        case .url(let url):
            return ProviderImageInput(value: url, isURL: true)
        case .file(let path):
            let data = try read(path, key: key)
            guard let mime = mimeType(of: data) else {
                throw .permanent("params.\(key): \(path) is not a PNG, JPEG, WebP or GIF image")
            }
            let base64 = data.base64EncodedString()
            switch encoding {
            case .dataURL: return ProviderImageInput(value: "data:\(mime);base64,\(base64)", isURL: false)
            case .rawBase64: return ProviderImageInput(value: base64, isURL: false)
            }
        }
    }

    private static func read(_ path: String, key: String) throws(JobFailure) -> Data {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= largestInlineBytes else {
            throw .permanent(
                "params.\(key): \(path) is \(size >> 20) MB; images sent inline must be at most \(largestInlineBytes >> 20) MB (give a URL instead)"
            )
        }
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else {
            throw .permanent("params.\(key): cannot read \(path) (or it is empty)")
        }
        return data
    }

    /// The MIME type from the first bytes; nil for what providers do not take.
    static func mimeType(of data: Data) -> String? {
        let bytes = [UInt8](data.prefix(12))
        if bytes.starts(with: [0x47, 0x49, 0x46, 0x38]) { return "image/gif" }
        switch MediaSniffer.fileExtension(for: data, default: "") {
        case "png": return "image/png"
        case "jpg": return "image/jpeg"
        case "webp": return "image/webp"
        default: return nil
        }
    }
}
