import Foundation
import Jobs
import Reactor
import TestSupport
import XCTest

/// Issue 18's scale tests: several `reactor-worker` processes sharing one PostgreSQL job table,
/// against `mock-providers`, always on PostgreSQL (the suite's throwaway server) whichever store
/// the rest of the suite runs on.
final class PostgresScaleEndToEndTests: XCTestCase {
    private var workspace: Workspace!
    private var children: [ChildProcess] = []

    override func setUp() {
        workspace = Workspace(name: "pgscale", store: .postgres)
    }

    override func tearDown() {
        for child in children { child.stop() }
        children.removeAll()
        if let server = try? PostgresServer.shared, !server.isRunning { try? server.start() }
        workspace.remove()
    }

    private func startMock(_ arguments: [String]) throws -> MockProvidersProcess {
        let mock = try MockProvidersProcess(arguments: arguments, workspace: workspace)
        children.append(mock.child)
        return mock
    }

    private func startWorker(
        _ arguments: [String] = ["run"], environment: [String: String], name: String
    ) throws -> WorkerProcess {
        let worker = try WorkerProcess(workspace: workspace, arguments: arguments, environment: environment, name: name)
        children.append(worker.child)
        return worker
    }

    private func environment(_ mock: MockProvidersProcess, _ extra: [String: String]) -> [String: String] {
        var environment = mock.providerEnvironment
        environment["KLING_POLL_SECONDS"] = "0.3"
        environment["FALLBACK_POLL_SECONDS"] = "1"
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    /// Inserts `count` jobs in one statement, as a studio's app would; each prompt ends with its
    /// number ("… take 17"), so the mock's request log tells them apart.
    private func insertJobs(_ count: Int, type: String, provider: String, prompt: String) throws {
        let connection = try workspace.connection()
        defer { connection.close() }
        try JobSchema.migrate(connection)
        try connection.run(
            """
            INSERT INTO jobs (job_type, params)
            SELECT ?1, '{"provider":"' || ?2 || '","prompt":"' || ?3 || ' take ' || n || '"}'
            FROM generate_series(1, ?4::int) AS n
            """, [.text(type), .text(provider), .text(prompt), .integer(Int64(count))])
    }

    private func completed() -> Int { workspace.count(where: "status = 'completed'") }

    /// Accepted creates per take number, from the mock's log: every POST that was answered 200.
    private func acceptedCreates(_ mock: MockProvidersProcess, provider: String) throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for request in try mock.requests()
        where request["provider"] as? String == provider && request["method"] as? String == "POST"
            && request["status"] as? Int == 200
        {
            let body = request["body"] as? [String: Any] ?? [:]
            guard let prompt = body["prompt"] as? String, let take = prompt.range(of: " take "),
                let number = Int(prompt[take.upperBound...])
            else { continue }
            counts[number, default: 0] += 1
        }
        return counts
    }

    /// Job ids from a worker's "[Thread-JobWorker-N] Processing job 12..." lines.
    private static func processedJobs(_ worker: WorkerProcess) -> [Int64] {
        worker.logLines(containing: "] Processing job ").compactMap { line in
            line.split(separator: " ").last.flatMap { Int64($0.dropLast(3)) }
        }
    }

    func testThreeWorkersShareThreeThousandJobsAndEachCompletesExactlyOnceInAnEvenSplit() throws {
        // Half a second per image keeps every worker's 200 slots busy for a dozen rounds, long
        // enough that the moment each process starts does not decide the split.
        let mock = try startMock(["--latency", "0.5"])
        try insertJobs(3000, type: "image_generation", provider: "openai", prompt: "a lighthouse")
        let settings = environment(mock, ["MAX_CONCURRENT_JOBS": "200"])
        let workers = try (1...3).map {
            try startWorker(["run", "--drain"], environment: settings, name: "worker-\($0)")
        }
        for worker in workers {
            XCTAssertEqual(worker.child.waitForExit(timeout: 300), 0, String(worker.log.suffix(3000)))
        }

        XCTAssertEqual(workspace.count(where: "status = 'completed' AND attempts = 1"), 3000)
        var starts: [Int64: Int] = [:]
        var split: [Int] = []
        for worker in workers {
            let jobs = Self.processedJobs(worker)
            split.append(jobs.count)
            for id in jobs { starts[id, default: 0] += 1 }
        }
        XCTAssertEqual(starts.count, 3000, "jobs started by some worker")
        XCTAssertTrue(starts.values.allSatisfy { $0 == 1 }, "started twice: \(starts.filter { $0.value > 1 }.keys)")
        let creates = try acceptedCreates(mock, provider: "openai")
        XCTAssertEqual(creates.count, 3000)
        XCTAssertTrue(creates.values.allSatisfy { $0 == 1 }, "an image was paid for twice")
        for share in split {
            XCTAssertEqual(Double(share), 1000, accuracy: 200, "the split was \(split), not within 20 % of even")
        }
    }

    func testKillNineOfOneWorkerMidBatchLeavesItsJobsToTheOthersWithoutPayingAnyKlingTaskTwice() throws {
        let mock = try startMock(["--task-seconds", "4"])
        try insertJobs(60, type: "animation", provider: "kling", prompt: "a kite over dunes")
        let settings = environment(mock, ["MAX_CONCURRENT_JOBS": "200", "LEASE_SECONDS": "3"])
        let victim = try startWorker(environment: settings, name: "victim")
        // The victim claims first, so it holds paid, polling tasks when it dies.
        XCTAssertTrue(
            Wait.until(timeout: 30, interval: 0.2) {
                self.workspace.count(where: "provider_task_id IS NOT NULL AND status = 'processing'") >= 20
            }, String(victim.log.suffix(3000)))
        let survivors = try (1...2).map { try startWorker(environment: settings, name: "survivor-\($0)") }
        let victimJobs = Set(Self.processedJobs(victim))
        XCTAssertFalse(victimJobs.isEmpty)
        victim.child.signal(SIGKILL)
        XCTAssertNotNil(victim.child.waitForExit(timeout: 10))

        XCTAssertTrue(
            Wait.until(timeout: 120, interval: 0.2) { self.completed() == 60 },
            "\(workspace.rows("SELECT id, status, error FROM jobs WHERE status <> 'completed' LIMIT 5"))\n"
                + survivors.map { String($0.log.suffix(2000)) }.joined(separator: "\n---\n"))
        let finishedBySurvivors = Set(survivors.flatMap(Self.processedJobs))
        let unfinishedByVictim = victimJobs.filter { !victim.log.contains("Completed job \($0) in") }
        XCTAssertFalse(unfinishedByVictim.isEmpty, "the victim finished everything before it was killed")
        XCTAssertTrue(
            unfinishedByVictim.isSubset(of: finishedBySurvivors),
            "jobs the victim left that no survivor ran: \(unfinishedByVictim.subtracting(finishedBySurvivors))")
        let creates = try acceptedCreates(mock, provider: "kling")
        XCTAssertEqual(creates.count, 60, "Kling tasks created")
        XCTAssertTrue(
            creates.values.allSatisfy { $0 == 1 }, "paid twice: \(creates.filter { $0.value > 1 })")
        XCTAssertEqual(workspace.count(where: "error IS NOT NULL AND status = 'failed'"), 0)
    }

    func testAGlobalKlingCapOfFiveAcrossThreeWorkersIsNeverExceededAsTheMockSeesIt() throws {
        let mock = try startMock(["--task-seconds", "1"])
        try insertJobs(30, type: "animation", provider: "kling", prompt: "rain on a window")
        let settings = environment(mock, ["MAX_CONCURRENT_JOBS": "50", "KLING_MAX_CONCURRENT": "5"])
        let workers = try (1...3).map { try startWorker(environment: settings, name: "worker-\($0)") }
        XCTAssertTrue(
            Wait.until(timeout: 120, interval: 0.2) { self.completed() == 30 },
            workers.map { String($0.log.suffix(2000)) }.joined(separator: "\n---\n"))

        // A task is open at Kling from its accepted create until the poll that found it done.
        var opened: [String: Double] = [:]
        var lastPoll: [String: Double] = [:]
        var taskOfCreate: [String: String] = [:]
        for request in try mock.requests() where request["provider"] as? String == "kling" {
            let time = request["time"] as? Double ?? 0
            let path = request["path"] as? String ?? ""
            if request["method"] as? String == "POST", request["status"] as? Int == 200,
                let external = (request["body"] as? [String: Any])?["external_task_id"] as? String
            {
                opened[external] = time
            } else if request["method"] as? String == "GET", let last = path.split(separator: "/").last {
                lastPoll[String(last)] = time
            }
        }
        for row in workspace.rows("SELECT id, provider_task_id FROM jobs") {
            guard let id = row["id"]?.int, let task = row["provider_task_id"]?.string else { continue }
            let database = workspace.rows("SELECT value FROM meta WHERE key = 'database_id'").first?["value"]?.string
            taskOfCreate["rw-\(database ?? "")-\(id)-1"] = task
        }
        var intervals: [(start: Double, end: Double)] = []
        for (external, start) in opened {
            let task = try XCTUnwrap(taskOfCreate[external], "no job holds the task of \(external)")
            intervals.append((start, try XCTUnwrap(lastPoll[task], "task \(task) was never polled")))
        }
        XCTAssertEqual(intervals.count, 30)
        let mostOpen = mostOpenAtOnce(intervals)
        XCTAssertLessThanOrEqual(mostOpen, 5, "more than 5 Kling tasks were open at once across the workers")
        XCTAssertEqual(mostOpen, 5, "the cap of 5 should have been used")
        // Each worker alone had room for 5 (50 slots, 30 queued): with caps per worker, the three
        // would have opened up to 15. Which worker takes a freed slot is a race (usually the one
        // that freed it), so the split among them is not asserted.
        for worker in workers { XCTAssertTrue(worker.child.isRunning, String(worker.log.suffix(2000))) }
    }

    func testAPostgresRestartMidBatchLosesNothingAndRunsNothingTwice() throws {
        let server = try PostgresServer.shared
        let mock = try startMock(["--latency", "0.3", "--task-seconds", "8"])
        // The videos first, so they are claimed first and still polling when the server goes down.
        try insertJobs(20, type: "animation", provider: "kling", prompt: "a bicycle wheel spinning")
        try insertJobs(400, type: "image_generation", provider: "openai", prompt: "a red bicycle")
        // The suite's server trades durability for speed; a crash there would lose commits a
        // studio's server keeps. This database commits durably, as production does.
        let database = try XCTUnwrap(URL(string: workspace.storeArgument)?.path.dropFirst())
        XCTAssertEqual(try workspace.runClient("ALTER DATABASE \(database) SET synchronous_commit = on").status, 0)
        let settings = environment(mock, ["MAX_CONCURRENT_JOBS": "40"])
        let workers = try (1...2).map { try startWorker(environment: settings, name: "worker-\($0)") }
        XCTAssertTrue(
            Wait.until(timeout: 60, interval: 0.2) { self.completed() >= 100 },
            String(workers[0].log.suffix(2000)))

        try server.stop(mode: .immediate)  // As a crash would: every session dies at once.
        // Meanwhile the workers keep their provider calls going; they cannot record them.
        let requestsBefore = try mock.requests().count
        XCTAssertTrue(
            Wait.until(timeout: 30, interval: 0.2) { ((try? mock.requests().count) ?? 0) > requestsBefore + 20 },
            "provider calls stopped while the database was down")
        try server.start()

        XCTAssertTrue(
            Wait.until(timeout: 180, interval: 0.3) { self.completed() == 420 },
            "\(workspace.rows("SELECT status, count(*) AS n FROM jobs GROUP BY status"))\n"
                + workers.map { String($0.log.suffix(3000)) }.joined(separator: "\n---\n"))
        for worker in workers {
            XCTAssertTrue(worker.log.contains("reconnected to PostgreSQL"), String(worker.log.suffix(2000)))
            XCTAssertTrue(worker.child.isRunning, "a worker died with the database")
        }
        let images = try acceptedCreates(mock, provider: "openai")
        XCTAssertEqual(images.count, 400)
        XCTAssertTrue(images.values.allSatisfy { $0 == 1 }, "images paid twice: \(images.filter { $0.value > 1 })")
        let videos = try acceptedCreates(mock, provider: "kling")
        XCTAssertEqual(videos.count, 20)
        XCTAssertTrue(videos.values.allSatisfy { $0 == 1 }, "videos paid twice: \(videos.filter { $0.value > 1 })")
        XCTAssertEqual(workspace.count(where: "attempts > 1"), 0, "a job ran a second attempt")
        var finishedFiles = 0
        for row in workspace.rows("SELECT result FROM jobs") {
            let result = try JSONSerialization.jsonObject(with: Data((row["result"]?.string ?? "{}").utf8))
            for file in ((result as? [String: Any])?["files"] as? [String]) ?? [] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: file), file)
                finishedFiles += 1
            }
        }
        XCTAssertGreaterThanOrEqual(finishedFiles, 420)
    }

    func testAWrongPasswordEndsTheStartWithOneClearLineThatNeverShowsThePassword() throws {
        let server = try PostgresServer.shared
        let database = try XCTUnwrap(URL(string: workspace.storeArgument)?.path.dropFirst())
        let url = server.url(database: String(database), user: PostgresServer.passwordUser, password: "not-the-secret")
        let worker = try startWorker(environment: ["JOBS_DATABASE_URL": url], name: "wrong-password")
        XCTAssertEqual(worker.child.waitForExit(timeout: 30), 1, worker.log)
        let lines = worker.log.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, worker.log)
        XCTAssertTrue(worker.log.contains("password authentication failed"), worker.log)
        XCTAssertTrue(worker.log.contains("127.0.0.1:\(server.port)/\(database)"), worker.log)
        XCTAssertFalse(worker.log.contains("not-the-secret"), worker.log)
        XCTAssertFalse(worker.log.contains("retrying"), "a wrong password is not worth retrying: \(worker.log)")
    }

    func testAPasswordInTheURLNeverReachesTheLogTheWorkersTableOrTheCommands() throws {
        let server = try PostgresServer.shared
        let database = try XCTUnwrap(URL(string: workspace.storeArgument)?.path.dropFirst())
        XCTAssertEqual(
            try workspace.runClient("ALTER DATABASE \(database) OWNER TO \(PostgresServer.passwordUser)").status, 0)
        let url = server.url(
            database: String(database), user: PostgresServer.passwordUser, password: PostgresServer.passwordUserPassword
        )
        let mock = try startMock(["--latency", "0.05"])
        var settings = environment(mock, ["JOBS_DATABASE_URL": url])
        settings["WEB_ADDRESS"] = "127.0.0.1:0"
        let worker = try startWorker(environment: settings, name: "with-password")
        XCTAssertTrue(
            Wait.until(timeout: 30, interval: 0.2) { worker.log.contains("Dashboard on") }, worker.log)
        let listed = try WorkerProcess.runCommand(["workers", "--db", url], workspace: workspace)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let stats = try WorkerProcess.runCommand(["stats", "--db", url], workspace: workspace)
        XCTAssertEqual(stats.status, 0, stats.stderr)
        worker.child.signal(SIGTERM)
        XCTAssertEqual(worker.child.waitForExit(timeout: 30), 0, worker.log)
        XCTAssertTrue(worker.log.contains("127.0.0.1:\(server.port)/\(database)"), worker.log)
        let everything =
            [worker.log, listed.stdout, listed.stderr, stats.stdout, stats.stderr]
            + workspace.rows("SELECT * FROM workers").map { "\($0)" }
        for text in everything {
            XCTAssertFalse(text.contains(PostgresServer.passwordUserPassword), "the password leaked: \(text)")
        }
    }

    func testAServerThatIsDownAtStartIsWaitedForWithAMessageThenTheQueueRuns() throws {
        let server = try PostgresServer.shared
        let mock = try startMock(["--latency", "0.05"])
        try insertJobs(5, type: "image_generation", provider: "openai", prompt: "a quiet harbour")
        try server.stop()
        let worker = try startWorker(["run", "--drain"], environment: environment(mock, [:]), name: "early")
        XCTAssertTrue(
            Wait.until(timeout: 30, interval: 0.1) { worker.logLines(containing: "retrying in").count >= 2 },
            worker.log)
        XCTAssertTrue(worker.log.contains("cannot connect to PostgreSQL at 127.0.0.1:\(server.port)"), worker.log)
        XCTAssertTrue(worker.child.isRunning)
        try server.start()
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)
        XCTAssertEqual(completed(), 5)
    }
}
