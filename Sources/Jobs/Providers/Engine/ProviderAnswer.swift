import Foundation
import JSON
import Reactor

/// A successful (2xx) provider answer read as JSON, with accessors whose failures name the
/// provider, the HTTP status and the field that was missing — the words a user reads in the
/// job's `error`. Plain value; any thread.
public struct ProviderAnswer: Sendable {
    /// The provider's display name ("Leonardo", "Kling", …).
    let api: String
    let status: Int
    /// Header names lower-cased, as `HTTPResponse` has them (`x-request-id`, …).
    let headers: [String: String]
    let json: JSONValue
    /// Whether a broken answer is worth another attempt: not after a submit (the task may exist
    /// already and a second submit pays twice), yes after a poll (asking again is free).
    let kind: JobFailure.Kind
    /// The start of the body, for error messages.
    let excerpt: String

    /// Parses `response`; a body that is not JSON fails with `kind`, quoting the start of it.
    init(_ response: HTTPResponse, api: String, kind: JobFailure.Kind) throws(JobFailure) {
        self.api = api
        status = response.status
        headers = response.headers
        self.kind = kind
        excerpt = response.bodyText(limit: 200)
        do {
            json = try JSONValue.parse(response.body)
        } catch {
            let shown = response.body.isEmpty ? "an empty body" : "a body that is not JSON: \(excerpt)"
            throw JobFailure("\(api) answered HTTP \(response.status) with \(shown)", kind: kind)
        }
    }

    /// The value at a dotted path ("data.task_result.videos.0.url"; numbers index arrays).
    func value(_ path: String) -> JSONValue? {
        var node: JSONValue? = json
        for part in path.split(separator: ".") {
            guard let current = node else { return nil }
            if let index = Int(part), case .array = current {
                node = current[index]
            } else {
                node = current[String(part)]
            }
        }
        if let node, node.isNull { return nil }
        return node
    }

    /// The non-empty string at `path`, or nil.
    func string(_ path: String) -> String? {
        guard let text = value(path)?.stringValue, !text.isEmpty else { return nil }
        return text
    }

    /// The non-empty string at `path`, or the failure naming what was missing.
    func requiredString(_ path: String) throws(JobFailure) -> String {
        guard let text = string(path) else { throw missing(path) }
        return text
    }

    /// The failure for an answer without `what`.
    func missing(_ what: String) -> JobFailure {
        JobFailure("\(api) answered HTTP \(status) without \(what): \(excerpt)", kind: kind)
    }
}
