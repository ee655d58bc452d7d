import Foundation
import Hummingbird
import JSON

/// `POST /api/uploads`: an image or video for a job's input, kept under `OUTPUT_DIR/uploads/`.
///
/// The body is the file itself (what the page sends, `?name=` giving its name) or a
/// `multipart/form-data` form with one file. It is streamed to a hidden file as it arrives and
/// cut off past `WEB_MAX_UPLOAD_MB` (413); its first bytes must say PNG, JPEG, WebP, GIF, MP4,
/// MOV, WebM or MKV (415), whatever its name claims. The kept name is made here (time, random
/// part, the original name reduced to letters and digits, the real extension), so no name a
/// client sends can point anywhere else.
struct UploadsRoute: Sendable {
    let outputDirectory: String
    let maxBytes: Int

    /// A multipart form carries a few headers and boundaries beside the file.
    static let multipartSlack = 64 << 10

    func respond(to request: Request) async throws -> Response {
        let contentType = request.headers[.contentType] ?? ""
        let boundary = MultipartBody.boundary(contentType: contentType)
        let limit = maxBytes + (boundary == nil ? 0 : Self.multipartSlack)
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw tooBig(declared)
        }
        let folder = outputDirectory + "/uploads"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw APIError(.internalServerError, "cannot create \(folder): \(error.localizedDescription)")
        }
        let spool = folder + "/.incoming-\(Self.randomPart()).part"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let received = try await receive(request.body, into: spool, limit: limit)
        guard received > 0 else { throw APIError.badRequest("the upload is empty; send the file as the request body") }
        var source = spool
        var originalName = request.uri.queryParameters["name"].map(String.init)
        var extracted: String?
        defer { if let extracted { try? FileManager.default.removeItem(atPath: extracted) } }
        if let boundary {
            let body = try Data(contentsOf: URL(fileURLWithPath: spool), options: .alwaysMapped)
            guard let part = MultipartBody.firstFile(in: body, boundary: boundary) else {
                throw APIError.badRequest(
                    "the multipart form has no file part (a field with a filename)", field: "file")
            }
            guard part.range.count <= maxBytes else { throw tooBig(part.range.count) }
            let path = folder + "/.incoming-\(Self.randomPart()).part"
            try body[part.range].write(to: URL(fileURLWithPath: path))
            extracted = path
            source = path
            originalName = part.fileName ?? originalName
        }
        let head = try Self.firstBytes(of: source, count: 64)
        guard let kind = MediaSniffer.kind(of: head) else {
            throw APIError(
                .unsupportedMediaType,
                "\(originalName ?? "the upload") is not a \(MediaSniffer.acceptedNames) file (checked by its first bytes, not its name)"
            )
        }
        let name = Self.keptName(original: originalName, extension: kind.fileExtension)
        let final = folder + "/" + name
        guard rename(source, final) == 0 else {
            throw APIError(
                .internalServerError, "cannot keep the upload as \(final): \(String(cString: strerror(errno)))")
        }
        if source == extracted { extracted = nil }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: final)[.size] as? Int) ?? nil
        let answer: JSONValue = [
            "path": .string(final), "url": .string("/files/uploads/" + FileURL.encode(name)),
            "kind": .string(kind.media.rawValue), "type": .string(kind.mimeType), "bytes": .int(bytes ?? received),
            "name": .string(name),
        ]
        return JSONReply.response(answer, status: .created)
    }

    /// Writes the body to `path` as it arrives; 413 past `limit`. Returns the bytes written.
    private func receive(_ body: RequestBody, into path: String, limit: Int) async throws -> Int {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw APIError(.internalServerError, "cannot write \(path)") }
        defer { try? handle.close() }
        var total = 0
        for try await buffer in body {
            total += buffer.readableBytes
            if total > limit { throw tooBig(total) }
            try handle.write(contentsOf: Data(buffer.readableBytesView))
        }
        return total
    }

    private func tooBig(_ bytes: Int) -> APIError {
        var error = APIError(
            .contentTooLarge,
            "the upload is larger than WEB_MAX_UPLOAD_MB (\(maxBytes >> 20) MB); \(bytes > maxBytes ? "it is at least \(bytes >> 20) MB" : "")"
                .trimmingCharacters(in: CharacterSet(charactersIn: "; ")))
        error.details["limit_bytes"] = .int(maxBytes)
        return error
    }

    private static func firstBytes(of path: String, count: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return Array(try handle.read(upToCount: count) ?? Data())
    }

    /// `20261202-143012-a1b2c3-my-clip.mp4`: sortable, unique, and only safe characters.
    static func keptName(original: String?, extension fileExtension: String, now: Date = Date()) -> String {
        let base = ((original ?? "upload") as NSString).lastPathComponent
        let stem = (base as NSString).deletingPathExtension
        var cleaned = String(
            stem.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_" || scalar == "-")
                    ? Character(scalar) : "-"
            }
        ).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        if cleaned.isEmpty { cleaned = "upload" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return "\(formatter.string(from: now))-\(randomPart())-\(cleaned.prefix(40)).\(fileExtension)"
    }

    static func randomPart() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }
}
