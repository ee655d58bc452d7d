import Foundation
import Reactor
import TestSupport
import XCTest

/// The ways people already watch the queue, against a running worker: the seed-style
/// `sqlite3` query, `grep Thread-JobWorker` on the log file, `ps`, and JSON logs; plus
/// `cancel` of a job the worker is running.
final class OperationsMonitoringTests: XCTestCase {
    private var workspace: Workspace!
    private var processes: [AnyObject] = []

    override func setUp() {
        workspace = Workspace(name: "ops-monitoring")
    }

    override func tearDown() {
        for case let worker as WorkerProcess in processes { worker.child.stop() }
        for case let mock as MockProvidersProcess in processes { mock.child.stop() }
        processes.removeAll()
        workspace.remove()
    }

    private static let fox = #"{"provider":"openai","prompt":"a red fox in the snow"}"#

    private func enqueue(count: Int) throws -> [Int64] {
        let result = try runReactorWorker(
            ["enqueue", "image_generation", "--params", Self.fox, "--count", "\(count)"], in: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").compactMap { Int64($0) }
    }

    /// Runs a program to its end and returns what it printed.
    private func output(of executable: String, _ arguments: [String]) throws -> String {
        let child = try ChildProcess(
            executable: executable, arguments: arguments,
            outputPrefix: workspace.directory + "/tool-\(UUID().uuidString.prefix(6))")
        XCTAssertNotNil(child.waitForExit(timeout: 30), "\(executable) did not finish")
        return child.stdout
    }

    func testSeedStyleSqliteQueryGrepAndPsWorkAgainstARunningWorkerAndCancelStopsARunningJob() throws {
        let client = workspace.clientExecutable
        guard FileManager.default.isExecutableFile(atPath: client) else {
            return XCTFail("\(client) is not installed; scripts/install-deps installs it")
        }
        // Slow answers keep jobs in `processing` while we look.
        let mock = try MockProvidersProcess(arguments: ["--latency", "5"], workspace: workspace)
        processes.append(mock)
        let ids = try enqueue(count: 6)
        let logFile = workspace.directory + "/worker_current.log"
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "3"
        environment["LOG_FILE"] = logFile
        let worker = try WorkerProcess(workspace: workspace, environment: environment)
        processes.append(worker)

        let query = "SELECT id, job_type, status FROM jobs WHERE status IN ('processing','keying_processing')"
        var running: [String] = []
        XCTAssertTrue(
            Wait.until(timeout: 30) {
                running = ((try? self.workspace.runClient(query).stdout) ?? "").split(separator: "\n").map(String.init)
                XCTAssertLessThanOrEqual(running.count, 3, "more rows running than MAX_CONCURRENT_JOBS")
                return running.count == 3
            }, "\(client) never listed 3 running jobs; last saw \(running)")
        for line in running { XCTAssertTrue(line.hasSuffix("|image_generation|processing"), line) }

        let slotLines = try output(of: "/bin/grep", ["Thread-JobWorker", logFile]).split(separator: "\n")
        XCTAssertEqual(slotLines.count, 3, slotLines.joined(separator: "\n"))
        for line in slotLines {
            XCTAssertNotNil(
                line.range(of: #"\[Thread-JobWorker-[0-2]\] Processing job \d+\.\.\.$"#, options: .regularExpression),
                String(line))
        }
        let name = try output(of: "/bin/ps", ["-p", "\(worker.child.pid)", "-o", "comm="])
        XCTAssertEqual(name.trimmingCharacters(in: .whitespacesAndNewlines), "reactor-worker")

        // Cancel one running job through the command line: the worker ends it within a poll.
        let victim = try XCTUnwrap(running.first.flatMap { Int64($0.split(separator: "|")[0]) })
        let cancel = try runReactorWorker(["cancel", "\(victim)"], in: workspace)
        XCTAssertEqual(cancel.status, 0, cancel.stdout + cancel.stderr)
        XCTAssertTrue(cancel.stdout.contains("cancel requested"), cancel.stdout)
        XCTAssertTrue(
            Wait.until(timeout: 10) {
                self.workspace.rows("SELECT status FROM jobs WHERE id = ?", [.integer(victim)]).first?["status"]?
                    .string == "cancelled"
            }, "job \(victim) was not cancelled by its worker")
        func log() -> String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }
        XCTAssertTrue(Wait.until(timeout: 10) { log().contains("] Cancelled job \(victim)") }, log())
        // Its slot goes to the next queued job: a fourth "Processing" line.
        XCTAssertTrue(Wait.until(timeout: 10) { log().components(separatedBy: "] Processing job ").count >= 5 }, log())
        XCTAssertLessThanOrEqual(workspace.count(where: "status IN ('processing','keying_processing')"), 3)
        XCTAssertEqual(ids.count, 6)

        worker.child.signal(SIGTERM)
        // A second signal, once the first was seen (signals may coalesce): requeue at once.
        XCTAssertTrue(Wait.until(timeout: 10) { log().contains("Shutting down") }, log())
        worker.child.signal(SIGTERM)
        XCTAssertEqual(worker.child.waitForExit(timeout: 30), 0, worker.log)
    }

    func testJSONLogLinesEachParseWithTimeLevelMessageAndTheJobFields() throws {
        let mock = try MockProvidersProcess(workspace: workspace)
        processes.append(mock)
        let ids = try enqueue(count: 3)
        let logFile = workspace.directory + "/worker.jsonl"
        var environment = mock.providerEnvironment
        environment["LOG_FORMAT"] = "json"
        environment["LOG_FILE"] = logFile
        let worker = try WorkerProcess(workspace: workspace, arguments: ["run", "--drain"], environment: environment)
        processes.append(worker)
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)

        let lines = try String(contentsOfFile: logFile, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 3 * 2)
        var events: [Int64: Set<String>] = [:]
        for line in lines {
            let object = try XCTUnwrap(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            let time = try XCTUnwrap(object["time"] as? String, String(line))
            XCTAssertNotNil(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression))
            XCTAssertNotNil(object["level"] as? String, String(line))
            XCTAssertNotNil(object["message"] as? String, String(line))
            guard let id = (object["job_id"] as? NSNumber)?.int64Value else { continue }
            XCTAssertEqual(object["type"] as? String, "image_generation", String(line))
            XCTAssertEqual(object["provider"] as? String, "openai", String(line))
            XCTAssertNotNil(object["slot"] as? Int, String(line))
            let event = try XCTUnwrap(object["event"] as? String, String(line))
            events[id, default: []].insert(event)
            if event == "completed" { XCTAssertNotNil(object["duration"] as? Double, String(line)) }
        }
        for id in ids {
            XCTAssertTrue(
                events[id, default: []].isSuperset(of: ["claimed", "started", "completed"]), "job \(id): \(events)")
        }
    }
}
