import Foundation
import XCTest

/// Base class: each test gets a fresh `mock-providers` process (so counters and tasks start empty) and a client.
class MockProviderTestCase: XCTestCase {
    private var server: MockServerProcess?
    /// A client for the running mock.
    private(set) var client: MockClient!

    /// Extra command-line arguments for the mock in this test class.
    var serverArguments: [String] { [] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        let server = try MockServerProcess(arguments: serverArguments)
        self.server = server
        client = MockClient(baseURL: server.baseURL)
    }

    override func tearDownWithError() throws {
        server?.stop()
        server = nil
        try super.tearDownWithError()
    }

    /// Headers carrying a valid OpenAI/Leonardo/Ark bearer key.
    let bearer = ["Authorization": "Bearer test-key"]

    /// Polls `check` until it returns a value or `timeout` passes. Each round must itself wait (tests pass
    /// `X-Mock-Latency` or `?delay=` so the mock paces the loop); there is no client-side sleep.
    func eventually<T>(
        _ what: String, timeout: TimeInterval = 15, file: StaticString = #filePath, line: UInt = #line,
        _ check: () async throws -> T?
    ) async throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = try await check() { return value }
        }
        XCTFail("timed out after \(timeout) s waiting for \(what)", file: file, line: line)
        throw MockServerError(message: "timed out waiting for \(what)")
    }

    /// Header that makes the mock hold a poll for 50 ms, pacing `eventually` loops server-side.
    let pacedPoll = ["X-Mock-Latency": "0.05"]
}

extension Dictionary where Key == String, Value == String {
    /// This header set plus `other` (other wins).
    func merging(_ other: [String: String]) -> [String: String] {
        merging(other) { _, new in new }
    }
}

/// Digs into parsed JSON: `value(json, "data", 0, "url")`.
func value(_ root: Any?, _ path: Any...) -> Any? {
    var node = root
    for step in path {
        if let key = step as? String {
            node = (node as? [String: Any])?[key]
        } else if let index = step as? Int {
            guard let array = node as? [Any], index < array.count else { return nil }
            node = array[index]
        }
    }
    return node
}
