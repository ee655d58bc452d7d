import Foundation

/// One HTTP request for `HTTPClient`. A plain value; safe to build on any thread.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Sent in order; names as given (HTTP/1.1 is case-insensitive, curl sends them as is).
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// Whole-transfer limit in seconds (connect, send, wait, receive); 0 means none.
    public var timeout: Double
    /// When set, a successful (2xx) body streams into this file instead of memory, written off
    /// the loop thread (`DownloadFile`); the response comes once every byte is in the file (not
    /// flushed to disk). The file is created or truncated; on any failure it is removed. Callers
    /// pass a temporary name and rename on success, so a partial file never appears under the
    /// final name.
    public var downloadPath: String?

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: Data? = nil,
        timeout: Double = 60, downloadPath: String? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.downloadPath = downloadPath
    }

    /// A JSON POST with the usual headers.
    public static func postJSON(
        url: String, json: Data, headers: [(name: String, value: String)] = [], timeout: Double = 60
    ) -> HTTPRequest {
        HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")] + headers,
            body: json, timeout: timeout)
    }
}
