import Foundation
import Jobs
import Reactor
import TestSupport
import XCTest

/// The core issue's acceptance, on the built `reactor-worker` and `mock-providers`.
final class CoreEndToEndTests: XCTestCase {
    private var workspace: Workspace!
    private var processes: [AnyObject] = []

    override func setUp() {
        workspace = Workspace(name: name.split(separator: " ").last.map(String.init) ?? "core")
    }

    override func tearDown() {
        for case let worker as WorkerProcess in processes { worker.child.stop() }
        for case let mock as MockProvidersProcess in processes { mock.child.stop() }
        processes.removeAll()
        workspace.remove()
    }

    private func startMock(_ arguments: [String] = []) throws -> MockProvidersProcess {
        let mock = try MockProvidersProcess(arguments: arguments, workspace: workspace)
        processes.append(mock)
        return mock
    }

    private func startWorker(_ arguments: [String] = ["run"], environment: [String: String]) throws -> WorkerProcess {
        let worker = try WorkerProcess(workspace: workspace, arguments: arguments, environment: environment)
        processes.append(worker)
        return worker
    }

    @discardableResult
    private func enqueue(_ type: String, _ params: String, count: Int = 1, extra: [String] = []) throws -> [Int64] {
        let result = try WorkerProcess.runCommand(
            ["enqueue", type, "--params", params, "--count", "\(count)"] + extra, workspace: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").compactMap { Int64($0) }
    }

    private func statuses() -> [Int64: String] {
        var result: [Int64: String] = [:]
        for row in workspace.rows("SELECT id, status FROM jobs") {
            if let id = row["id"]?.int { result[id] = row["status"]?.string }
        }
        return result
    }

    private static let fox = #"{"provider":"openai","prompt":"a red fox in the snow"}"#

    func testFiftyImageJobsCompleteWithTheMocksImagesAndOneLogLinePairEach() throws {
        let mock = try startMock()
        let ids = try enqueue("image_generation", Self.fox, count: 50)
        XCTAssertEqual(ids.count, 50)
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "10"
        let worker = try startWorker(["run", "--drain"], environment: environment)
        XCTAssertEqual(worker.child.waitForExit(timeout: 120), 0, worker.log)

        let image = try mock.fixture("image.png")
        for row in workspace.rows("SELECT id, status, result FROM jobs") {
            let id = try XCTUnwrap(row["id"]?.int)
            XCTAssertEqual(row["status"]?.string, "completed", "job \(id)")
            let result =
                try JSONSerialization.jsonObject(with: Data((row["result"]?.string ?? "{}").utf8)) as? [String: Any]
            let files = try XCTUnwrap(result?["files"] as? [String], "job \(id) lists no files")
            XCTAssertEqual(files.count, 1)
            for file in files {
                XCTAssertTrue(file.hasPrefix(workspace.outputDirectory + "/\(id)/"), file)
                XCTAssertEqual(
                    FileManager.default.contents(atPath: file), image, "job \(id)'s file is not the mock's image")
            }
        }
        let submitted = worker.logLines(containing: "Submitted job ")
        let processing = worker.logLines(containing: "] Processing job ")
        XCTAssertEqual(submitted.count, 50)
        XCTAssertEqual(processing.count, 50)
        for id in ids {
            let submittedPattern =
                #"^\d{4}-\d\d-\d\dT[\d:.]+Z INFO Submitted job \#(id) to worker thread pool \(\d+/10 active\)$"#
            XCTAssertEqual(
                submitted.filter { $0.range(of: submittedPattern, options: .regularExpression) != nil }.count, 1,
                "job \(id)")
            let processingPattern =
                #"^\d{4}-\d\d-\d\dT[\d:.]+Z INFO \[Thread-JobWorker-\d\] Processing job \#(id)\.\.\.$"#
            XCTAssertEqual(
                processing.filter { $0.range(of: processingPattern, options: .regularExpression) != nil }.count, 1,
                "job \(id)")
        }
    }

    func testNeverMoreThanThreeProcessingAndThreeWhileThreeOrMoreRemain() throws {
        let mock = try startMock(["--latency", "0.4"])
        try enqueue("image_generation", Self.fox, count: 12)
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "3"
        let worker = try startWorker(["run", "--drain"], environment: environment)
        var maxProcessing = 0
        var samples = 0
        var reachedThree = false
        while worker.child.isRunning {
            let row = workspace.rows(
                """
                SELECT count(*) FILTER (WHERE status = 'processing') AS running,
                    count(*) FILTER (WHERE status IN ('queued','processing')) AS remaining FROM jobs
                """
            ).first
            let running = Int(row?["running"]?.int ?? 0)
            let remaining = Int(row?["remaining"]?.int ?? 0)
            maxProcessing = max(maxProcessing, running)
            if running == 3 { reachedThree = true }
            if reachedThree && remaining >= 3 {
                XCTAssertEqual(running, 3, "with \(remaining) jobs left, only \(running) were processing")
            }
            samples += 1
            Wait.pause(seconds: 0.01)
        }
        XCTAssertEqual(worker.child.waitForExit(timeout: 5), 0, worker.log)
        XCTAssertGreaterThan(samples, 20, "too few samples to judge")
        XCTAssertEqual(maxProcessing, 3)
        XCTAssertEqual(try mock.stats()["max_open"] as? Int, 3, "the mock saw other than 3 requests open at most")
        XCTAssertEqual(workspace.count(where: "status = 'completed'"), 12)
    }

    func testKeyingRowQueuedAfterTenOthersIsClaimedFirst() throws {
        let mock = try startMock()
        try enqueue("image_generation", Self.fox, count: 10)
        let keying = try XCTUnwrap(enqueue("video_keying", #"{"input":"/nonexistent/clip.mp4"}"#).first)
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "1"
        let worker = try startWorker(["run", "--drain"], environment: environment)
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)
        let first = worker.logLines(containing: "] Processing job ").first
        XCTAssertTrue(first?.hasSuffix("Processing job \(keying)...") ?? false, "first claimed: \(first ?? "none")")
    }

    func testRowsInsertedByAnotherProcessStartLongBeforeTheFallbackPoll() throws {
        let mock = try startMock()
        try enqueue("image_generation", Self.fox)  // Creates the schema; runs first.
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "30"
        environment["FALLBACK_POLL_SECONDS"] = "60"
        let worker = try startWorker(environment: environment)
        XCTAssertTrue(Wait.until(timeout: 30) { self.workspace.count(where: "status = 'completed'") == 1 }, worker.log)

        // One row from another process (the sqlite3 or psql shell), then 20 committed one by one within
        // a second: ev_stat's whole-second mtimes would miss all but the first of those.
        try runAsAnotherProgram("INSERT INTO jobs (job_type, params) VALUES ('image_generation', '\(Self.fox)');")
        XCTAssertTrue(
            Wait.until(timeout: 10) { self.workspace.count(where: "status = 'completed'") == 2 },
            "single insert not picked up")
        let twenty = String(
            repeating: "INSERT INTO jobs (job_type, params) VALUES ('image_generation', '\(Self.fox)');\n", count: 20)
        try runAsAnotherProgram(twenty)
        XCTAssertTrue(
            Wait.until(timeout: 10) { self.workspace.count(where: "status = 'completed'") == 22 },
            "rows committed one by one were not all started well before the 60 s poll")
        worker.child.signal(SIGTERM)
        XCTAssertEqual(worker.child.waitForExit(timeout: 30), 0)
    }

    func testSigtermWhileThreeJobsAreActiveLetsThemFinishAndExitsZero() throws {
        let mock = try startMock(["--latency", "1.5"])
        try enqueue("image_generation", Self.fox, count: 5)
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "3"
        let worker = try startWorker(environment: environment)
        XCTAssertTrue(Wait.until(timeout: 30) { self.workspace.count(where: "status = 'processing'") == 3 }, worker.log)
        let active = Set(workspace.rows("SELECT id FROM jobs WHERE status = 'processing'").compactMap { $0["id"]?.int })
        worker.child.signal(SIGTERM)
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)
        let after = statuses()
        for id in active { XCTAssertEqual(after[id], "completed", "active job \(id) did not finish") }
        XCTAssertEqual(workspace.count(where: "status IN ('processing','keying_processing')"), 0)
        XCTAssertEqual(workspace.count(where: "status = 'queued'"), 2, "jobs not yet started stay queued")
    }

    func testBadInputFailsOnlyThatJobWithAReasonAndTheRestComplete() throws {
        let mock = try startMock()
        let connection = try workspace.connection()
        try JobSchemaSetup.ensure(workspace)
        try connection.run("INSERT INTO jobs (job_type, params) VALUES ('image_generation', 'this is not json')")
        try connection.run("INSERT INTO jobs (job_type, params) VALUES ('teleportation', '{}')")
        try connection.run(
            "INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{\"provider\":\"openai\"}')")
        try connection.run(
            "INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{\"provider\":\"openai\",\"prompt\":\"x\",\"width\":\"wide\"}')"
        )
        let good = try enqueue("image_generation", Self.fox, count: 3)
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "2"
        let worker = try startWorker(["run", "--drain"], environment: environment)
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)
        let errors = Dictionary(
            uniqueKeysWithValues: workspace.rows("SELECT id, status, error FROM jobs").compactMap {
                row -> (Int64, String)? in
                guard let id = row["id"]?.int else { return nil }
                return (id, "\(row["status"]?.string ?? ""): \(row["error"]?.string ?? "")")
            })
        XCTAssertTrue(errors[1]?.hasPrefix("failed: params is not valid JSON") ?? false, errors[1] ?? "")
        XCTAssertTrue(
            errors[2]?.hasPrefix("failed: unknown job_type 'teleportation'; expected one of: image_generation")
                ?? false, errors[2] ?? "")
        XCTAssertEqual(
            errors[3], "failed: params.prompt is required for image_generation and must be a non-empty string")
        XCTAssertEqual(errors[4], "failed: params.width must be a whole number, got a string")
        for id in good { XCTAssertEqual(errors[id], "completed: ") }
    }

    func testMissingAPIKeyFailsTheJobNamingTheVariableWithoutARequest() throws {
        let mock = try startMock()
        let missing = try XCTUnwrap(enqueue("image_generation", Self.fox).first)
        var environment = mock.providerEnvironment
        environment["OPENAI_API_KEY"] = nil
        let worker = try startWorker(["run", "--drain"], environment: environment)
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)
        let row = workspace.rows("SELECT status, error FROM jobs WHERE id = ?", [.integer(missing)]).first
        XCTAssertEqual(row?["status"]?.string, "failed")
        XCTAssertEqual(row?["error"]?.string, "OPENAI_API_KEY is not set; add it to .env or the worker's environment")
        XCTAssertEqual(try mock.requests().count, 0, "no request may be sent without a key")

        // The worker keeps going: a job queued behind it, with the key back, completes.
        let next = try XCTUnwrap(enqueue("image_generation", Self.fox).first)
        let again = try startWorker(["run", "--drain"], environment: mock.providerEnvironment)
        XCTAssertEqual(again.child.waitForExit(timeout: 60), 0, again.log)
        XCTAssertEqual(statuses()[next], "completed")
    }

    func testASettingThatMakesNoSenseStopsTheWorkerWithOneLineNamingIt() throws {
        let notAFolder = workspace.directory + "/plain-file"
        XCTAssertTrue(FileManager.default.createFile(atPath: notAFolder, contents: Data("x".utf8)))
        let cases: [([String: String], String)] = [
            (["MAX_CONCURRENT_JOBS": "0"], "MAX_CONCURRENT_JOBS"),
            (["MAX_CONCURRENT_JOBS": "abc"], "MAX_CONCURRENT_JOBS"),
            (["OUTPUT_DIR": notAFolder + "/outputs"], "OUTPUT_DIR"),
            (["MEDIA_POOL_SIZE": "-2"], "MEDIA_POOL_SIZE"),
        ]
        for (environment, setting) in cases {
            let result = try WorkerProcess.runCommand(
                ["run", "--drain"], workspace: workspace, environment: environment)
            XCTAssertNotEqual(result.status, 0, "\(environment) was accepted")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "expected one line, got: \(result.stderr)")
            XCTAssertTrue(
                lines.first?.contains(setting) ?? false, "the error does not name \(setting): \(result.stderr)")
        }
    }

    func testEnqueuePrintsTheNewIdsOnePerLineWithTheirPriority() throws {
        let ids = try enqueue("image_generation", Self.fox, count: 3, extra: ["--priority", "7"])
        XCTAssertEqual(ids, [1, 2, 3])
        XCTAssertEqual(workspace.count(where: "priority = 7 AND status = 'queued'"), 3)
        let rejected = try WorkerProcess.runCommand(
            ["enqueue", "image_generation", "--params", "{oops"], workspace: workspace)
        XCTAssertNotEqual(rejected.status, 0)
        XCTAssertTrue(rejected.stderr.contains("params is not valid JSON"), rejected.stderr)
    }

    private func runAsAnotherProgram(_ sql: String) throws {
        let answer = try workspace.runClient(sql)
        XCTAssertEqual(answer.status, 0, answer.stderr)
    }
}

/// Creates the schema the way an operator would: the worker's own `enqueue` migrates it.
enum JobSchemaSetup {
    static func ensure(_ workspace: Workspace) throws {
        let connection = try workspace.connection()
        try JobSchema.migrate(connection)
    }
}
