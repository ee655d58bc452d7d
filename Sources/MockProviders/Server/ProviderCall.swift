import Foundation
import Hummingbird
import JSON

/// A request body as read: absent, JSON, or bytes that are not JSON.
enum ParsedBody: Sendable {
    case empty
    case json(JSONValue)
    case invalid(String)

    /// Parses `bytes`, classifying rather than throwing, so the log records every body.
    init(_ bytes: [UInt8]) {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            self = .empty
            return
        }
        do {
            self = .json(try JSONValue.parse(bytes, options: .strict))
        } catch {
            self = .invalid(error.description)
        }
    }

    var json: JSONValue? {
        if case .json(let value) = self { return value }
        return nil
    }
}

/// One provider request as a handler sees it: the parsed request, the plan fault injection made for it, and the
/// shared services. Handlers throw `ProviderFailure` for anything the real API would refuse.
struct ProviderCall: Sendable {
    let head: HTTPRequest
    /// Path segments that matched `*` in the route pattern, in order (e.g. the task ID).
    let parameters: [String]
    let body: ParsedBody
    let plan: RequestPlan
    let services: MockServices
    /// `http://127.0.0.1:PORT`, for URLs that point back at the mock.
    let baseURL: String
    /// Unix seconds when handling began.
    let now: Double

    /// The query's parameters by name (the last of repeated ones), decoded.
    var query: [String: String] {
        var values: [String: String] = [:]
        for item in queryItems { values[item.name] = item.value }
        return values
    }

    /// Every value of query parameter `name`, in order (for repeatable filters such as `filter.task_ids`).
    func queryValues(_ name: String) -> [String] {
        queryItems.filter { $0.name == name }.map(\.value)
    }

    private var queryItems: [(name: String, value: String)] {
        guard let path = head.path, let start = path.firstIndex(of: "?") else { return [] }
        return path[path.index(after: start)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring?) -> String {
                let plain = String(text ?? "").replacingOccurrences(of: "+", with: " ")
                return plain.removingPercentEncoding ?? plain
            }
            return (decode(parts.first), decode(parts.count > 1 ? parts[1] : nil))
        }
    }

    /// The value of header `name` (case-insensitive), nil when absent.
    func header(_ name: String) -> String? {
        guard let field = HeaderField.Name(name) else { return nil }
        return head.headerFields[field]
    }

    /// Checks `Authorization: Bearer <key>` the way OpenAI, Leonardo and Ark do: absent or empty → `.missing`;
    /// a key starting with `invalid` → `.invalidKey`. Returns the key.
    @discardableResult
    func requireBearerKey() throws(ProviderFailure) -> String {
        guard let value = header("Authorization") else { throw .unauthorized(.missing) }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw .unauthorized(.missing) }
        let key = parts[1].trimmed(" ")
        guard !key.isEmpty else { throw .unauthorized(.missing) }
        if key.hasPrefix("invalid") { throw .unauthorized(.invalidKey) }
        return key
    }

    /// The body as a JSON object, or the provider's malformed-body failure.
    func jsonObject() throws(ProviderFailure) -> RequestFields {
        switch body {
        case .empty: throw .malformedJSON("the request body is empty")
        case .invalid(let reason): throw .malformedJSON(reason)
        case .json(.object(let object)): return RequestFields(object)
        case .json(let other): throw .malformedJSON("the request body must be a JSON object, not \(other.apiTypeName)")
        }
    }

    /// A URL on the mock that serves the PNG fixture.
    func imageURL(_ name: String) -> String { "\(baseURL)/_mock/files/images/\(name).png" }

    /// A URL on the mock that serves the video fixture.
    func videoURL(_ name: String) -> String { "\(baseURL)/_mock/files/videos/\(name).mp4" }

    /// Seconds until a task submitted by this request completes.
    var taskSeconds: Double { plan.taskSeconds }

    /// The forced outcome this handler must honour (`ok`, `missing_field`, `failed_task` or `refusal`).
    var outcome: MockOutcome { plan.outcome }

    /// True when the async task this request creates or polls must end failed.
    var wantsFailure: Bool { plan.outcome == .failedTask || plan.outcome == .refusal }
}

extension Substring {
    fileprivate func trimmed(_ character: Character) -> String {
        var text = self
        while text.first == character { text.removeFirst() }
        while text.last == character { text.removeLast() }
        return String(text)
    }
}
