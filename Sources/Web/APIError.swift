import Hummingbird
import JSON
import Jobs

/// An answer that is not a success, as JSON a person can act on:
/// `{"error": "params.width must be …", "field": "params.width", "problems": […]}`.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    var field: String?
    /// Every problem, when there were several (a list of jobs, several bad params).
    var problems: [JobRequestCheck.Problem] = []
    /// Extra keys for the caller (`status` of the job a retry was refused for, a `count`).
    var details: [String: JSONValue] = [:]
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil) {
        self.status = status
        self.message = message
        self.field = field
    }

    static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, message, field: field)
    }

    static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }

    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, message) }

    static let busy = APIError(
        .serviceUnavailable, "the dashboard is busy with other requests; try again in a moment")

    var json: JSONValue {
        var object: [String: JSONValue] = ["error": .string(message)]
        if let field { object["field"] = .string(field) }
        if !problems.isEmpty {
            object["problems"] = .array(
                problems.map { ["field": .string($0.field), "message": .string($0.message)] })
        }
        for (key, value) in details { object[key] = value }
        return .object(object)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONReply.response(json, status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}

/// JSON answers: one content type, never cached (they describe a queue that moves).
enum JSONReply {
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var bytes = value.jsonBytes()
        bytes.append(UInt8(ascii: "\n"))
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
