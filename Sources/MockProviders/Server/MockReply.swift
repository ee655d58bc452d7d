import Hummingbird
import JSON

/// `HTTPField`, named through `HTTPFields` because Hummingbird re-exports only `HTTPFields` and this target does not
/// declare swift-http-types as a dependency of its own.
typealias HeaderField = HTTPFields.Element

/// One answer the mock is about to send, kept simple so fault injection and the log can read its status.
struct MockReply: Sendable {
    var status: Int
    var headers: [(name: String, value: String)] = []
    var contentType = "application/json"
    var body: ByteBuffer

    /// A JSON answer.
    static func json(_ status: Int, _ value: JSONValue, headers: [(name: String, value: String)] = []) -> MockReply {
        MockReply(status: status, headers: headers, body: ByteBuffer(bytes: value.jsonBytes()))
    }

    /// A JSON answer from bytes that are already encoded (or deliberately not JSON at all).
    static func raw(_ status: Int, _ bytes: [UInt8], contentType: String = "application/json") -> MockReply {
        MockReply(status: status, contentType: contentType, body: ByteBuffer(bytes: bytes))
    }

    /// The mock's own error (bad control request, unknown route): `{"mock_error": message}`.
    static func mockError(_ status: Int, _ message: String) -> MockReply {
        json(status, ["mock_error": .string(message)])
    }

    /// The Hummingbird response for this reply.
    var response: Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for header in headers {
            if let name = HeaderField.Name(header.name) { fields.append(HeaderField(name: name, value: header.value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields, body: ResponseBody(byteBuffer: body))
    }
}
