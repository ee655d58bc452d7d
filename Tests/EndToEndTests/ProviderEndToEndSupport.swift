import Foundation
import Reactor
import TestSupport
import XCTest

/// Shared set-up for the provider end-to-end tests: a workspace, the built `mock-providers` and
/// `reactor-worker`, and readers for rows and for the requests the mock recorded.
class ProviderEndToEndCase: XCTestCase {
    var workspace: Workspace!
    private var mocks: [MockProvidersProcess] = []
    private var workers: [WorkerProcess] = []

    override func setUp() {
        workspace = Workspace(name: name.split(separator: " ").last.map { String($0.dropLast()) } ?? "providers")
    }

    override func tearDown() {
        for worker in workers { worker.child.stop() }
        for mock in mocks { mock.child.stop() }
        workers.removeAll()
        mocks.removeAll()
        workspace.remove()
    }

    /// Starts the mock with fast tasks unless `arguments` say otherwise.
    func startMock(_ arguments: [String] = ["--task-seconds", "1"]) throws -> MockProvidersProcess {
        let mock = try MockProvidersProcess(arguments: arguments, workspace: workspace)
        mocks.append(mock)
        return mock
    }

    /// The environment pointing every provider at `mock`, polling fast so tests stay short.
    func environment(_ mock: MockProvidersProcess, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = mock.providerEnvironment
        for provider in ["LEONARDO", "BRIA", "KLING", "SEEDANCE"] { environment["\(provider)_POLL_SECONDS"] = "0.2" }
        environment["FALLBACK_POLL_SECONDS"] = "0.5"
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    /// Runs `reactor-worker run --drain` to its end (or `timeout`) and returns it.
    @discardableResult
    func drain(_ environment: [String: String], timeout: Double = 120) throws -> WorkerProcess {
        let worker = try startWorker(["run", "--drain"], environment: environment)
        XCTAssertEqual(worker.child.waitForExit(timeout: timeout), 0, "worker did not drain cleanly:\n\(worker.log)")
        return worker
    }

    /// Starts a worker; each one's output goes to its own files (`worker`, `worker-2`, …).
    func startWorker(_ arguments: [String], environment: [String: String]) throws -> WorkerProcess {
        let name = workers.isEmpty ? "worker" : "worker-\(workers.count + 1)"
        let worker = try WorkerProcess(workspace: workspace, arguments: arguments, environment: environment, name: name)
        workers.append(worker)
        return worker
    }

    /// Adds `count` jobs through `reactor-worker enqueue` and returns their ids. `checked: false`
    /// inserts params the command would refuse, to see how the worker fails them.
    @discardableResult
    func enqueue(_ type: String, _ params: [String: Any], count: Int = 1, checked: Bool = true) throws -> [Int64] {
        let text = String(
            decoding: try JSONSerialization.data(withJSONObject: params, options: [.sortedKeys]), as: UTF8.self)
        let result = try WorkerProcess.runCommand(
            ["enqueue", type, "--params", text, "--count", "\(count)"] + (checked ? [] : ["--no-check"]),
            workspace: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").compactMap { Int64($0) }
    }

    /// One row as strings and numbers (`result` parsed).
    struct Row {
        let status: String
        let error: String?
        let result: [String: Any]
        let attempts: Int64
        let providerTaskID: String?
    }

    func row(_ id: Int64) throws -> Row {
        let rows = workspace.rows(
            "SELECT status, error, result, attempts, provider_task_id FROM jobs WHERE id = ?", [.integer(id)])
        let row = try XCTUnwrap(rows.first, "job \(id) is missing")
        let resultText = row["result"]?.string ?? "{}"
        return Row(
            status: row["status"]?.string ?? "", error: row["error"]?.string,
            result: (try? JSONSerialization.jsonObject(with: Data(resultText.utf8))) as? [String: Any] ?? [:],
            attempts: row["attempts"]?.int ?? -1, providerTaskID: row["provider_task_id"]?.string)
    }

    /// Asserts job `id` completed and returns its result.
    func completedResult(_ id: Int64, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let row = try row(id)
        XCTAssertEqual(row.status, "completed", "job \(id): \(row.error ?? "")", file: file, line: line)
        return row.result
    }

    /// Asserts the result's files sit under OUTPUT_DIR/<id>/ and hold exactly `bytes`.
    func assertFiles(
        _ result: [String: Any], of id: Int64, equal bytes: Data, count: Int = 1, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let files = result["files"] as? [String] ?? []
        XCTAssertEqual(files.count, count, "job \(id) files: \(files)", file: file, line: line)
        for path in files {
            XCTAssertTrue(path.hasPrefix(workspace.outputDirectory + "/\(id)/"), path, file: file, line: line)
            XCTAssertEqual(
                FileManager.default.contents(atPath: path), bytes, "\(path) is not the mock's bytes", file: file,
                line: line)
        }
        let leftovers =
            (try? FileManager.default.contentsOfDirectory(atPath: workspace.outputDirectory + "/\(id)")) ?? []
        XCTAssertTrue(
            leftovers.allSatisfy { !$0.hasSuffix(".tmp") }, "temporary files left: \(leftovers)", file: file, line: line
        )
    }

    /// A request the mock recorded.
    struct Recorded {
        let seq: Int
        let time: Double
        let provider: String
        let method: String
        let path: String
        let headers: [String: String]
        let body: [String: Any]
        let outcome: String
        let status: Int?
    }

    func requests(_ mock: MockProvidersProcess, provider: String? = nil) throws -> [Recorded] {
        try mock.requests().compactMap { record in
            guard let seq = record["seq"] as? Int, let time = record["time"] as? Double else { return nil }
            let recorded = Recorded(
                seq: seq, time: time, provider: record["provider"] as? String ?? "",
                method: record["method"] as? String ?? "", path: record["path"] as? String ?? "",
                headers: record["headers"] as? [String: String] ?? [:], body: record["body"] as? [String: Any] ?? [:],
                outcome: record["outcome"] as? String ?? "", status: record["status"] as? Int)
            return provider == nil || recorded.provider == provider ? recorded : nil
        }
    }

    /// The one request with `method` and `path`, failing the test when there is not exactly one.
    func onlyRequest(
        _ mock: MockProvidersProcess, _ method: String, _ path: String, file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> Recorded {
        let matching = try requests(mock).filter { $0.method == method && $0.path == path }
        XCTAssertEqual(matching.count, 1, "\(method) \(path) requests: \(matching.count)", file: file, line: line)
        return try XCTUnwrap(matching.first, file: file, line: line)
    }

    /// Our key for job `id`'s submission `submission` ("rw-<database id>-<job>-<submission>"), as
    /// providers that take a caller's id (Kling's `external_task_id`) see it.
    func externalID(_ id: Int64, submission: Int = 1) throws -> String {
        let database = try XCTUnwrap(
            workspace.rows("SELECT value FROM meta WHERE key = 'database_id'").first?["value"]?.string)
        return "rw-\(database)-\(id)-\(submission)"
    }

    /// A PNG on disk for jobs that take a local image: the mock's own fixture.
    func localImage(_ mock: MockProvidersProcess) throws -> (path: String, bytes: Data) {
        let bytes = try mock.fixture("image.png")
        let path = workspace.directory + "/input.png"
        try bytes.write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }
}
