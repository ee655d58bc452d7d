import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The `mock-providers` executable started on a free port for one test.
public final class MockProvidersProcess {
    public let child: ChildProcess
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(arguments: [String] = [], workspace: Workspace) throws {
        guard let executable = Products.path("mock-providers") else {
            throw TestSupportError("mock-providers is not built in \(Products.directory); run `swift build` first")
        }
        let child = try ChildProcess(
            executable: executable, arguments: ["--port", "0"] + arguments, outputPrefix: workspace.directory + "/mock")
        self.child = child
        let found = child.announcedPort(#"listening on http://127\.0\.0\.1:(\d+)"#)
        guard let found else { throw TestSupportError("mock-providers did not start: \(child.stderr)") }
        port = found
    }

    deinit { child.stop() }

    /// Environment that points every provider client at this mock, with test keys.
    public var providerEnvironment: [String: String] {
        [
            "OPENAI_BASE_URL": baseURL + "/v1", "OPENAI_API_KEY": "sk-test-openai-key-123",
            "LEONARDO_BASE_URL": baseURL + "/api/rest/v1", "LEONARDO_API_KEY": "test-leonardo-key-456",
            "ARK_BASE_URL": baseURL + "/api/v3", "ARK_API_KEY": "test-ark-key-789",
            "BRIA_BASE_URL": baseURL, "BRIA_API_TOKEN": "test-bria-token-abc",
            "KLING_BASE_URL": baseURL, "KLING_ACCESS_KEY": "test-kling-access", "KLING_SECRET_KEY": "test-kling-secret",
        ]
    }

    /// GET or POST a control endpoint and parse the JSON answer.
    public func control(_ path: String, method: String = "GET", json: Any? = nil) throws -> Any {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data = try HTTP.send(request).body
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    public func stats() throws -> [String: Any] { (try control("/_mock/stats") as? [String: Any]) ?? [:] }
    public func requests() throws -> [[String: Any]] { (try control("/_mock/requests") as? [[String: Any]]) ?? [] }
    public func fixture(_ name: String) throws -> Data {
        try HTTP.send(URLRequest(url: URL(string: baseURL + "/_mock/fixtures/" + name)!)).body
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Blocking HTTP for tests (never used by the worker itself).
public enum HTTP {
    public static func send(_ request: URLRequest, timeout: Double = 30) throws -> (status: Int, body: Data) {
        final class Box: @unchecked Sendable {
            var result: Result<(Int, Data), any Error> = .failure(TestSupportError("no answer"))
        }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        var request = request
        request.timeoutInterval = timeout
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                box.result = .failure(error)
            } else {
                box.result = .success(((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
            }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + timeout + 5)
        let (status, body) = try box.result.get()
        return (status, body)
    }
}
