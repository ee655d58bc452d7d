import Foundation
import Hummingbird
import NIOPosix

/// `GET /files/{folder}/{name}`: a job's output (or an upload) from OUTPUT_DIR, with HTTP
/// Range so a `<video>` can seek. Read in 256 KiB chunks on NIO's blocking-I/O pool, so a
/// large video costs one chunk of memory per viewer, not the file.
struct FilesRoute: Sendable {
    let outputDirectory: String

    static let chunkSize = 256 << 10

    /// Answers a request whose raw path starts with `/files/`. The raw path, not a decoded one:
    /// an encoded `%2F` or `%2e%2e` must be seen as what it is.
    func respond(to request: Request) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            throw APIError(.methodNotAllowed, "files are read with GET")
        }
        let rawPath = request.uri.path.dropFirst("/files/".count)
        let segments = rawPath.split(separator: "/", omittingEmptySubsequences: false)
        let file: ServedFile
        switch ServedFile.open(root: outputDirectory, rawSegments: segments) {
        case .success(let opened): file = opened
        case .failure(.badName(let reason)):
            throw APIError.forbidden("refused: \(reason); files are served only from OUTPUT_DIR")
        case .failure(.outside): throw APIError.forbidden("refused: that path leads outside OUTPUT_DIR")
        case .failure(.notRegular): throw APIError.forbidden("refused: not a regular file")
        case .failure(.notFound): throw APIError.notFound("no file \(request.uri.path) under OUTPUT_DIR")
        }
        var headers: HTTPFields = [
            .contentType: Self.contentType(file.name), .acceptRanges: "bytes", .cacheControl: "private, max-age=60",
            .lastModified: Self.httpDate(file.modified),
            .contentSecurityPolicy: "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'",
        ]
        let range: ClosedRange<Int>
        var status = HTTPResponse.Status.ok
        switch ByteRange.parse(request.headers[.range], size: file.size) {
        case .whole:
            range = 0...max(file.size - 1, 0)
        case .part(let part):
            range = part
            status = .partialContent
            headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound)/\(file.size)"
        case .unsatisfiable:
            var error = APIError(.rangeNotSatisfiable, "the range is outside the file's \(file.size) bytes")
            error.headers[.contentRange] = "bytes */\(file.size)"
            throw error
        }
        let length = file.size == 0 ? 0 : range.count
        if request.method == .head || length == 0 {
            headers[.contentLength] = String(length)
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        let body = ResponseBody(contentLength: length) { writer in
            var offset = range.lowerBound
            while offset <= range.upperBound {
                let count = min(Self.chunkSize, range.upperBound - offset + 1)
                let at = offset
                let chunk = try await NIOThreadPool.singleton.runIfActive { try file.read(offset: at, count: count) }
                if chunk.isEmpty { break }
                try await writer.write(ByteBuffer(bytes: chunk))
                offset += chunk.count
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func contentType(_ name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "webp": "image/webp"
        case "gif": "image/gif"
        case "mp4", "m4v": "video/mp4"
        case "webm": "video/webm"
        case "mov": "video/quicktime"
        case "mkv": "video/x-matroska"
        case "json": "application/json"
        case "txt", "log": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
