import Foundation
import JSON
import Reactor
import Synchronization
import TestSupport
import XCTest

@testable import Jobs

/// A loop iteration's completions written as one statement, and a writer batch that isolates a
/// failing write only when one fails, on both stores (PostgreSQL on the suite's own server, in
/// either pass): the same rows as writing them one at a time.
final class StoreBatchedWritesTests: XCTestCase {
    private var runner: LoopThread!
    private var workspaces: [Workspace] = []

    override func setUp() { runner = LoopThread() }

    override func tearDown() {
        runner.stop()
        for workspace in workspaces { workspace.remove() }
    }

    private static let owner = "batch-host:1:1"

    private func eachStore(_ body: (Workspace, any JobStore) throws -> Void) throws {
        for kind in [Workspace.StoreKind.sqlite, .postgres] {
            let workspace = Workspace(name: "batched-\(kind.rawValue)", store: kind)
            workspaces.append(workspace)
            let loop = runner.loop
            let location = workspace.store
            let store = try runner.sync { () -> Result<any JobStore, any Error> in
                Result {
                    switch location {
                    case .sqlite(let path):
                        return try SQLiteJobStore(path: path, loop: loop, log: .discarding(), owner: Self.owner)
                    case .postgres(let url):
                        let store = try PostgresJobStore(
                            url: url, loop: loop, log: .discarding(), owner: Self.owner, startupWait: 0)
                        store.start()
                        return store
                    }
                }
            }.get()
            defer {
                let closed = DispatchSemaphore(value: 0)
                runner.sync { store.close { closed.signal() } }
                closed.wait()
            }
            try body(workspace, store)
        }
    }

    private func claim(_ limit: Int, from store: any JobStore) -> [Int64] {
        let box = ResultBox<[ClaimedJob]>()
        let done = DispatchSemaphore(value: 0)
        runner.sync {
            store.claim(limit: limit, excluding: [], now: Date().timeIntervalSince1970) { jobs in
                box.value = jobs
                done.signal()
            }
        }
        done.wait()
        return (box.value ?? []).map(\.job.id).sorted()
    }

    private func flush(_ store: any JobStore) {
        let done = DispatchSemaphore(value: 0)
        runner.sync { store.flush { done.signal() } }
        done.wait()
    }

    func testAnIterationsCompletionsLandWithTheirExactResultsAndOnlyOnRowsThisWorkerHolds() throws {
        try eachStore { workspace, store in
            let connection = try workspace.connection()
            defer { connection.close() }
            for _ in 0..<40 {
                try connection.run("INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}')")
            }
            let claimed = claim(40, from: store)
            XCTAssertEqual(claimed.count, 40)
            let taken = claimed[7]
            try connection.run("UPDATE jobs SET lease_owner = 'other-host:9:1' WHERE id = ?1", [.integer(taken)])
            // Quotes, backslashes, an escaped NUL and text outside ASCII must come back byte for byte.
            func result(_ id: Int64) -> String { #"{"files":["/out/\#(id).png"],"note":"it's \"ok\" \\ \u0000 ✓ 🎬"}"# }

            runner.sync { for id in claimed { store.record(.completed(id: id, result: result(id))) } }
            flush(store)

            for row in workspace.rows("SELECT id, status, result, progress, lease_owner FROM jobs ORDER BY id") {
                let id = try XCTUnwrap(row["id"]?.int)
                if id == taken {
                    XCTAssertEqual(row["status"]?.string, "processing", "another worker's run was overwritten")
                    XCTAssertEqual(row["lease_owner"]?.string, "other-host:9:1")
                    continue
                }
                XCTAssertEqual(row["status"]?.string, "completed", "job \(id)")
                XCTAssertEqual(row["result"]?.string, result(id), "job \(id)")
                XCTAssertEqual(row["progress"]?.double, 1)
                XCTAssertNil(row["lease_owner"]?.string)
            }
        }
    }

    private func entry(
        _ job: Int64, _ submission: Int, usd: Double?, estimated: Bool, state: SpendEntry.State = .charged
    )
        -> SpendEntry
    {
        SpendEntry(
            jobID: job, submission: submission, provider: "openai", model: "gpt-image-1", day: "2026-12-03", usd: usd,
            units: 1, unit: "images", note: usd == nil ? "no price for openai gpt-image-1" : nil, estimated: estimated,
            state: state)
    }

    /// Spend rows of several jobs written in one statement: each job's cost is the sum of its
    /// charged rows, a reported figure is kept over a later estimate, and money that went down
    /// lets held jobs look again.
    func testAnIterationsSpendRowsLandTogetherWithEachJobsCost() throws {
        try eachStore { workspace, store in
            let connection = try workspace.connection()
            defer { connection.close() }
            for _ in 0..<3 {
                try connection.run("INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}')")
            }
            try connection.run(
                "INSERT INTO jobs (job_type, params, hold, run_after) VALUES ('image_generation', '{}', 'over budget', 9e12)"
            )
            runner.sync { store.record(.spend(self.entry(1, 0, usd: 0.08, estimated: true, state: .reserved))) }
            flush(store)

            runner.sync {
                store.record(.spend(self.entry(1, 0, usd: 0.04, estimated: false)))
                store.record(.spend(self.entry(2, 0, usd: 0.04, estimated: true)))
                store.record(.spend(self.entry(2, 1, usd: 0.05, estimated: true)))
                store.record(.spend(self.entry(3, 0, usd: nil, estimated: true)))
            }
            flush(store)
            runner.sync { store.record(.spend(self.entry(1, 0, usd: 0.08, estimated: true))) }
            flush(store)

            let jobs = workspace.rows("SELECT id, cost_usd, cost_units, cost_note, run_after FROM jobs ORDER BY id")
            XCTAssertEqual(try XCTUnwrap(jobs[0]["cost_usd"]?.double), 0.04, accuracy: 1e-9, "the report was kept")
            XCTAssertEqual(try XCTUnwrap(jobs[1]["cost_usd"]?.double), 0.09, accuracy: 1e-9)
            XCTAssertEqual(jobs[1]["cost_units"]?.double, 2)
            XCTAssertNil(jobs[2]["cost_usd"]?.double, "a submission without a price leaves no money figure")
            XCTAssertEqual(jobs[2]["cost_note"]?.string, "no price for openai gpt-image-1")
            XCTAssertEqual(jobs[3]["run_after"]?.double, 0, "the held job was not let go when money went down")
            let spend = workspace.rows(
                "SELECT job_id, submission, usd, estimated, state FROM spend ORDER BY job_id, submission")
            XCTAssertEqual(spend.count, 4)
            XCTAssertEqual(spend[0]["state"]?.string, "charged")
            XCTAssertEqual(spend[0]["estimated"]?.int, 0)
        }
    }

    /// Both parents of a `for_each` step complete in one batch: the step is released once, into
    /// one job per parent file, as when they complete in separate batches.
    func testAStepWhoseParentsCompleteInOneBatchIsReleasedOnce() throws {
        try eachStore { workspace, store in
            let connection = try workspace.connection()
            defer { connection.close() }
            try connection.run(
                """
                INSERT INTO jobs (job_type, params, pipeline_id, step, step_index) VALUES
                    ('image_generation', '{}', 1, 'draw', 0), ('image_generation', '{}', 1, 'draw', 1)
                """)
            try connection.run(
                """
                INSERT INTO jobs (job_type, params, template, status, pipeline_id, step, needs, for_each) VALUES
                    ('background_removal', '{}', '{"image":{"step":"draw"}}', 'waiting', 1, 'cut', '{"steps":["draw"]}', 'draw')
                """)
            let parents = claim(2, from: store)
            XCTAssertEqual(parents.count, 2)

            runner.sync {
                for id in parents { store.record(.completed(id: id, result: #"{"files":["/out/\#(id).png"]}"#)) }
            }
            flush(store)

            let cuts = workspace.rows(
                "SELECT status, params, step_index FROM jobs WHERE step = 'cut' ORDER BY step_index")
            XCTAssertEqual(cuts.map { $0["status"]?.string }, ["queued", "queued"])
            XCTAssertEqual(cuts.map { $0["step_index"]?.int }, [0, 1])
            let images = try cuts.map { try JSONValue.parse(XCTUnwrap($0["params"]?.string))["image"]?.stringValue }
            XCTAssertEqual(images, parents.map { "/out/\($0).png" })
        }
    }

    /// A batch runs without a savepoint per item; when one item fails on its own, the batch is
    /// run again with each item, and each piece of a many-row item, alone: only that one is
    /// skipped, and a write that answers answers with what committed.
    func testOneFailingWriteIsSkippedAloneAndAnswersComeFromTheRunThatCommitted() throws {
        try eachStore { workspace, _ in
            let logPath = workspace.directory + "/writer.log"
            let log = try WorkerLog(path: logPath)
            let location = workspace.store
            let writer = WriterQueue(storeName: "test store", loop: runner.loop, log: log) {
                let connection = try location.connect()
                try connection.execute("CREATE TABLE IF NOT EXISTS marks (name text PRIMARY KEY)")
                return connection
            }
            try writer.start()
            @Sendable func insert(_ name: String) -> @Sendable (any SQLConnection) throws -> Void {
                { try $0.run("INSERT INTO marks (name) VALUES (?1)", [.text(name)]) }
            }
            let broken: @Sendable (any SQLConnection) throws -> Void = {
                try $0.run("INSERT INTO no_such_table (name) VALUES ('x')", [])
            }
            let counted = Answer()
            let count = counted.item(on: runner.loop) { connection in
                Int(try connection.query("SELECT count(*) AS n FROM marks", []).first?["n"]?.int ?? -2)
            }
            // Answers 42 the first time it runs, then fails on its own: skipped in the run that
            // commits, its reply must not carry the 42 of the run that was rolled back.
            let runs = Mutex(0)
            let flaky = Answer()
            let flakyItem = flaky.item(on: runner.loop) { connection in
                let run = runs.withLock { runs in
                    runs += 1
                    return runs
                }
                if run > 1 { try broken(connection) }
                return 42
            }
            let stopped = DispatchSemaphore(value: 0)
            writer.submit([
                WriterQueue.Item(apply: insert("before"), afterCommit: nil),
                flakyItem,
                WriterQueue.Item(
                    apply: { connection in
                        try insert("piece one")(connection)
                        try broken(connection)
                    }, afterCommit: nil, pieces: [insert("piece one"), broken, insert("piece three")]),
                count,
                WriterQueue.Item(apply: insert("after"), afterCommit: nil),
            ])
            XCTAssertEqual(counted.answered.wait(timeout: .now() + 30), .success)
            XCTAssertEqual(flaky.answered.wait(timeout: .now() + 30), .success)
            writer.stop { stopped.signal() }
            XCTAssertEqual(stopped.wait(timeout: .now() + 30), .success)
            log.flush()

            let names = workspace.rows("SELECT name FROM marks ORDER BY name").compactMap { $0["name"]?.string }
            XCTAssertEqual(names, ["after", "before", "piece one", "piece three"])
            XCTAssertEqual(counted.value, 3, "the count must come from the run that committed")
            let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(flaky.value, -1, "a skipped write answered with a rolled-back run's value")
            XCTAssertEqual(lines.filter { $0.contains("a database write was skipped") }.count, 2, "\(lines)")
        }
    }
}

/// What a writer item answered, and a signal once it did.
private final class Answer: @unchecked Sendable {
    // @unchecked Sendable: `value` is set on the loop before `answered` is signalled, and read after.
    var value: Int?
    let answered = DispatchSemaphore(value: 0)

    func item(on loop: EventLoop, _ work: @escaping @Sendable (any SQLConnection) throws -> Int) -> WriterQueue.Item {
        .answering(
            -1, on: loop,
            reply: { value in
                self.value = value
                self.answered.signal()
            }, work)
    }
}
