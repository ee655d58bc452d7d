import Foundation

/// What a server answered, whatever the status: a 404 or a 500 is a response, not an error.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lower-cased; repeated headers joined with ", ".
    public var headers: [String: String]
    /// The body, unless it was streamed to `HTTPRequest.downloadPath`.
    public var body: Data
    /// Bytes written to `downloadPath` (0 when the body stayed in memory).
    public var downloadedBytes: Int64

    public init(status: Int, headers: [String: String] = [:], body: Data = Data(), downloadedBytes: Int64 = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.downloadedBytes = downloadedBytes
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body as text, for error messages; invalid UTF-8 is replaced, long bodies cut.
    public func bodyText(limit: Int = 500) -> String {
        let text = String(decoding: body.prefix(limit), as: UTF8.self)
        return body.count > limit ? text + "…" : text
    }
}
