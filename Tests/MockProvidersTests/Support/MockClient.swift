import Foundation
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP answer from the mock.
struct MockHTTPResponse: Sendable {
    let status: Int
    /// Header names lowercased.
    let headers: [String: String]
    let data: Data

    /// The body parsed as a JSON object; empty when it is not one.
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// The body parsed as a JSON array; empty when it is not one.
    var array: [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
    }

    var text: String { String(decoding: data, as: UTF8.self) }
}

/// A small URLSession client for the mock, Sendable so concurrent test tasks can share it.
struct MockClient: Sendable {
    let baseURL: String
    let session: URLSession

    /// A client for `baseURL`; `timeout` bounds each request (URLSession on Linux applies the session's value, not
    /// the per-request one).
    init(baseURL: String, timeout: TimeInterval = 60) {
        self.baseURL = baseURL
        let configuration = URLSessionConfiguration.ephemeral
        // The default of 6 connections per host would serialise the concurrency test.
        configuration.httpMaximumConnectionsPerHost = 256
        configuration.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: configuration)
    }

    /// Sends a request; `json` is encoded with JSONSerialization, `body` is sent as is.
    func send(
        _ method: String, _ path: String, headers: [String: String] = [:], json: Any? = nil, body: Data? = nil,
        timeout: TimeInterval = 60
    ) async throws -> MockHTTPResponse {
        let url = URL(string: path.hasPrefix("http") ? path : baseURL + path)!
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var lowered: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { lowered[name.lowercased()] = value }
        }
        return MockHTTPResponse(status: http.statusCode, headers: lowered, data: data)
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> MockHTTPResponse {
        try await send("GET", path, headers: headers)
    }

    func post(_ path: String, headers: [String: String] = [:], json: Any) async throws -> MockHTTPResponse {
        try await send("POST", path, headers: headers, json: json)
    }

    /// Changes the mock's runtime configuration, failing the test when the mock refuses it.
    func configure(_ json: [String: Any], file: StaticString = #filePath, line: UInt = #line) async throws {
        let response = try await post("/_mock/config", json: json)
        XCTAssertEqual(response.status, 200, "POST /_mock/config refused: \(response.text)", file: file, line: line)
    }

    /// `/_mock/stats` as an object.
    func stats(delay: Double? = nil) async throws -> [String: Any] {
        try await get("/_mock/stats" + (delay.map { "?delay=\($0)" } ?? "")).object
    }
}
