import Foundation
import Reactor
import TestSupport
import XCTest

/// The dashboard's end-to-end tests: the real `reactor-worker` serving the dashboard on a free
/// loopback port (`run`, or `web` alone) in a provider test's workspace, and a raw HTTP client for it.
class DashboardEndToEndCase: ProviderEndToEndCase {
    /// Starts `reactor-worker <command>` with the dashboard on 127.0.0.1:0 (unless `environment`
    /// sets WEB_ADDRESS) and returns it with the URL it logged.
    @discardableResult
    func startDashboard(_ command: [String] = ["run"], environment: [String: String] = [:]) throws -> (
        worker: WorkerProcess, url: String, client: RawHTTP
    ) {
        var env = ["WEB_ADDRESS": "127.0.0.1:0"]
        for (name, value) in environment { env[name] = value }
        let worker = try startWorker(command, environment: env)
        var url: String?
        Wait.until(timeout: 60) {
            if let range = worker.log.range(of: #"Dashboard on (http://[^ ]+/)"#, options: .regularExpression) {
                url = String(worker.log[range].dropFirst("Dashboard on ".count))
            }
            return url != nil || !worker.child.isRunning
        }
        guard let url else { throw TestSupportError("the dashboard did not start: \(worker.log)") }
        let port = Int(url.split(separator: ":").last?.dropLast() ?? "") ?? 0
        return (worker, url, RawHTTP(port: port))
    }
    /// Makes jobs.db (and its schema) the way another program would start: one enqueue.
    func createDatabase() throws {
        let result = try WorkerProcess.runCommand(
            ["enqueue", "image_generation", "--params", #"{"provider":"openai","prompt":"seed row"}"#],
            workspace: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    /// A JSON request's body.
    func json(_ object: Any) -> Data { (try? JSONSerialization.data(withJSONObject: object)) ?? Data() }

    static let jsonHeaders = ["Content-Type": "application/json"]

    /// Every row of `jobs` as text, to compare before and after a refused request.
    func snapshot() -> [String] {
        workspace.rows("SELECT * FROM jobs ORDER BY id").map { row in
            row.keys.sorted().map { "\($0)=\(row[$0].map { "\($0)" } ?? "")" }.joined(separator: "|")
        }
    }

    func status(_ id: Int64) -> String {
        workspace.rows("SELECT status FROM jobs WHERE id = ?", [.integer(id)]).first?["status"]?.string ?? "missing"
    }

    /// Waits until job `id` has `status` (or any of several), failing the test after `timeout`.
    func waitForStatus(
        _ id: Int64, _ wanted: Set<String>, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line
    ) {
        let reached = Wait.until(timeout: timeout) { wanted.contains(self.status(id)) }
        XCTAssertTrue(reached, "job \(id) is \(status(id)), not \(wanted.sorted())", file: file, line: line)
    }
}
