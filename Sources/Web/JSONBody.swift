import Hummingbird
import JSON

/// A request's JSON body, read up to a limit and parsed strictly (RFC 8259), with errors that
/// say what is wrong and where.
enum JSONBody {
    static func read(_ request: Request, limit: Int) async throws -> JSONValue {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/json") else {
            throw APIError(
                .unsupportedMediaType,
                "send the body as JSON with Content-Type: application/json (got \(type.isEmpty ? "none" : type))")
        }
        var buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "the JSON body is larger than \(limit >> 10) KiB")
        }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        guard !bytes.isEmpty else { throw APIError.badRequest("the body is empty; send a JSON object") }
        do {
            return try JSONValue.parse(bytes, options: .strict)
        } catch {
            throw APIError.badRequest("the body is not valid JSON: \(error)")
        }
    }
}
