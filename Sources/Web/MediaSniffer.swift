/// What an uploaded file really is, from its first bytes, whatever its name or the browser
/// says: only images and videos the jobs can use are kept.
enum MediaSniffer {
    struct Kind: Equatable, Sendable {
        let fileExtension: String
        let mimeType: String
        let media: MediaKind
    }

    /// The kind of file that starts with `bytes` (at least 32 bytes are best), or nil.
    static func kind(of bytes: [UInt8]) -> Kind? {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<offset + prefix.count]) == prefix
        }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return Kind("png", "image/png", .image) }
        if starts([0xFF, 0xD8, 0xFF]) { return Kind("jpg", "image/jpeg", .image) }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return Kind("gif", "image/gif", .image) }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return Kind("webp", "image/webp", .image) }
        if starts(Array("ftyp".utf8), at: 4) {
            let brand = bytes.count >= 12 ? String(decoding: bytes[8..<12], as: UTF8.self) : ""
            return brand == "qt  " ? Kind("mov", "video/quicktime", .video) : Kind("mp4", "video/mp4", .video)
        }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) {
            let header = String(decoding: bytes.prefix(64), as: UTF8.self)
            return header.contains("webm")
                ? Kind("webm", "video/webm", .video) : Kind("mkv", "video/x-matroska", .video)
        }
        return nil
    }

    static let acceptedNames = "PNG, JPEG, WebP, GIF, MP4, MOV, WebM or MKV"
}

extension MediaSniffer.Kind {
    fileprivate init(_ fileExtension: String, _ mimeType: String, _ media: MediaKind) {
        self.init(fileExtension: fileExtension, mimeType: mimeType, media: media)
    }
}
