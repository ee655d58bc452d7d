import Foundation
import Reactor
import TestSupport
import XCTest

@testable import Jobs

/// The SQLite store on a real file: schema defaults, claim order, lease recovery, migration.
final class CoreStoreTests: XCTestCase {
    private var workspace: Workspace!
    private var runner: LoopThread!
    private var store: SQLiteJobStore!

    override func setUpWithError() throws {
        workspace = Workspace(name: "store")
        runner = LoopThread()
        let path = workspace.databasePath
        let loop = runner.loop
        store = try runner.sync { () -> Result<SQLiteJobStore, any Error> in
            Result {
                try SQLiteJobStore(path: path, loop: loop, log: .discarding(), owner: "test-host:1:1", leaseSeconds: 30)
            }
        }.get()
    }

    override func tearDown() {
        let done = DispatchSemaphore(value: 0)
        runner.sync { self.store.close { done.signal() } }
        done.wait()
        runner.sync { self.store = nil }
        runner.stop()
        workspace.remove()
    }

    private func claim(_ limit: Int, excluding keys: Set<String> = []) -> [ClaimedJob] {
        let box = ResultBox<[ClaimedJob]>()
        let done = DispatchSemaphore(value: 0)
        runner.sync {
            self.store.claim(limit: limit, excluding: keys, now: Date().timeIntervalSince1970) { jobs in
                box.value = jobs
                done.signal()
            }
        }
        done.wait()
        return box.value ?? []
    }

    private func flush() {
        let done = DispatchSemaphore(value: 0)
        runner.sync { self.store.flush { done.signal() } }
        done.wait()
    }

    func testARowWithOnlyTypeAndParamsIsARunnableQueuedJob() throws {
        try workspace.connection().run("INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}')")
        let row = try XCTUnwrap(workspace.rows("SELECT * FROM jobs").first)
        XCTAssertEqual(row["status"]?.string, "queued")
        XCTAssertEqual(row["attempts"]?.int, 0)
        XCTAssertEqual(row["max_attempts"]?.int, 3)
        XCTAssertEqual(row["priority"]?.int, 0)
        XCTAssertEqual(row["progress"]?.double, 0)
        XCTAssertNotNil(row["created_at"]?.string, "created_at must be filled in for rows other programs insert")
        XCTAssertTrue(
            runner.sync {
                // The loop's reader answers at once.
                var runnable = false
                self.store.hasRunnableJobs(now: Date().timeIntervalSince1970, excluding: []) { runnable = $0 }
                return runnable
            })
    }

    func testKeyingIsClaimedFirstThenHigherPriorityThenOldest() throws {
        let connection = try workspace.connection()
        for index in 0..<10 {
            try connection.run(
                "INSERT INTO jobs (job_type, params) VALUES ('image_generation', ?)", [.text("{\"n\":\(index)}")])
        }
        try connection.run("INSERT INTO jobs (job_type, params, priority) VALUES ('animation', '{}', 5)")
        try connection.run("INSERT INTO jobs (job_type, params) VALUES ('video_keying', '{}')")
        let claimed = claim(3)
        XCTAssertEqual(claimed.map(\.job.id), [12, 11, 1])
        XCTAssertEqual(claimed.first?.gateKey, "ffmpeg")
        let statuses = workspace.rows("SELECT id, status FROM jobs WHERE id IN (1, 11, 12) ORDER BY id").map {
            $0["status"]?.string
        }
        XCTAssertEqual(statuses, ["processing", "processing", "keying_processing"])
        XCTAssertEqual(workspace.count(where: "attempts = 1"), 3)
    }

    func testClaimLeavesOutProvidersAtTheirCapAndSurvivesMalformedParams() throws {
        let connection = try workspace.connection()
        try connection.run("INSERT INTO jobs (job_type, params) VALUES ('animation', '{\"provider\":\"kling\"}')")
        try connection.run("INSERT INTO jobs (job_type, params) VALUES ('image_generation', 'not json at all')")
        try connection.run(
            "INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{\"provider\":\"openai\"}')")
        let claimed = claim(5, excluding: ["kling"])
        XCTAssertEqual(claimed.map(\.job.id), [2, 3])
        XCTAssertEqual(claimed.map(\.gateKey), ["", "openai"])
    }

    func testFinishedRowsRecordResultErrorAndTimes() throws {
        try workspace.connection().run(
            "INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}'), ('image_generation', '{}')")
        _ = claim(2)
        runner.sync {
            self.store.record(.completed(id: 1, result: #"{"files":["/tmp/a.png"]}"#))
            self.store.record(.failed(id: 2, error: "params.prompt is required", attempts: 1))
        }
        flush()
        let rows = workspace.rows("SELECT * FROM jobs ORDER BY id")
        XCTAssertEqual(rows[0]["status"]?.string, "completed")
        XCTAssertEqual(rows[0]["result"]?.string, #"{"files":["/tmp/a.png"]}"#)
        XCTAssertEqual(rows[0]["progress"]?.double, 1)
        XCTAssertNotNil(rows[0]["finished_at"]?.string)
        XCTAssertEqual(rows[1]["status"]?.string, "failed")
        XCTAssertEqual(rows[1]["error"]?.string, "params.prompt is required")
        XCTAssertNil(rows[1]["lease_owner"]?.string)
    }

    /// A slot freed by a completion is refilled by a claim made before the loop sleeps; both
    /// must reach the writer in one hand-over (one transaction), or a reader in between sees
    /// fewer jobs processing than slots while jobs wait (issue 2's acceptance).
    func testACompletionAndTheClaimThatRefillsItsSlotReachTheWriterTogether() throws {
        try workspace.connection().run(
            "INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}'), ('image_generation', '{}')")
        _ = claim(1)
        let before = runner.sync { self.store.writeHandOvers }
        let refilled = DispatchSemaphore(value: 0)
        let loop = runner.loop
        runner.sync {
            self.store.record(.completed(id: 1, result: "{}"))
            loop.beforeSleep {
                self.store.claim(limit: 1, excluding: [], now: Date().timeIntervalSince1970) { _ in refilled.signal() }
            }
        }
        XCTAssertEqual(refilled.wait(timeout: .now() + 10), .success)

        XCTAssertEqual(runner.sync { self.store.writeHandOvers } - before, 1, "handed to the writer in two pieces")
        let statuses = workspace.rows("SELECT status FROM jobs ORDER BY id").map { $0["status"]?.string }
        XCTAssertEqual(statuses, ["completed", "processing"])
    }

    func testACancelRequestedWhileRunningWinsOverARetryOrARelease() throws {
        try workspace.connection().run(
            "INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}'), ('image_generation', '{}')")
        _ = claim(2)
        try workspace.connection().run("UPDATE jobs SET status = 'cancel_requested'")
        runner.sync {
            self.store.record(.retry(id: 1, error: "HTTP 503", runAfter: 0, attempts: 1))
            self.store.record(.release(id: 2, attemptCounted: true))
        }
        flush()
        XCTAssertEqual(
            workspace.rows("SELECT status FROM jobs ORDER BY id").map { $0["status"]?.string },
            ["cancelled", "cancelled"])
    }

    func testRowsOfADeadWorkerAreRequeuedWithoutSpendingAnAttemptUntilTooManyInterruptions() throws {
        let connection = try workspace.connection()
        // pid 999999 does not exist; the lease has not expired yet, so only the dead pid tells.
        let owner = "test-host:999999:1"
        let future = Date().timeIntervalSince1970 + 600
        try connection.run(
            "INSERT INTO jobs (job_type, params, status, attempts, lease_owner, lease_until) VALUES ('image_generation', '{}', 'processing', 1, ?, ?)",
            [.text(owner), .real(future)])
        // Its last attempt was running: an interruption does not fail the job.
        try connection.run(
            "INSERT INTO jobs (job_type, params, status, attempts, max_attempts, lease_owner, lease_until) VALUES ('image_generation', '{}', 'processing', 3, 3, ?, ?)",
            [.text(owner), .real(future)])
        // Four interruptions before this one: the fifth ends it, saying how often its worker stopped.
        try connection.run(
            "INSERT INTO jobs (job_type, params, status, attempts, interruptions, lease_owner, lease_until) VALUES ('image_generation', '{}', 'processing', 1, 4, ?, ?)",
            [.text(owner), .real(future)])
        // A live worker elsewhere with a valid lease keeps its job.
        try connection.run(
            "INSERT INTO jobs (job_type, params, status, attempts, lease_owner, lease_until) VALUES ('image_generation', '{}', 'processing', 1, 'other-host:5:1', ?)",
            [.real(future)])
        let box = ResultBox<Int>()
        let done = DispatchSemaphore(value: 0)
        runner.sync {
            self.store.recoverAbandonedJobs(now: Date().timeIntervalSince1970) { count in
                box.value = count
                done.signal()
            }
        }
        done.wait()
        XCTAssertEqual(box.value, 3)
        let rows = workspace.rows("SELECT status, attempts, interruptions, error FROM jobs ORDER BY id")
        XCTAssertEqual(rows.map { $0["status"]?.string }, ["queued", "queued", "failed", "processing"])
        // Image jobs keep the attempt their claim counted: the run may have paid for a submit.
        XCTAssertEqual(rows.map { $0["attempts"]?.int }, [1, 3, 1, 1])
        XCTAssertEqual(rows.map { $0["interruptions"]?.int }, [1, 1, 5, 0])
        let error = rows[2]["error"]?.string ?? ""
        XCTAssertTrue(error.contains("stopped 5 times"), error)
        XCTAssertTrue(error.contains("reactor-worker retry 3"), error)
        XCTAssertNil(rows[0]["error"]?.string)
    }

    func testAWorkerRegistersRenewsItsHeartbeatAndLeavesCleanly() throws {
        let worker = WorkerRecord(
            id: "test-host:1:1", host: "test-host", pid: 1, version: "9.9", maxConcurrentJobs: 4, leaseSeconds: 30,
            providerCaps: ["kling": 5])
        let flushed = DispatchSemaphore(value: 0)
        runner.sync {
            self.store.record(.registerWorker(worker))
            self.store.heartbeat(activeIDs: [], activity: ["kling": ProviderActivity(inFlight: 2, rateLimited: 1)])
            self.store.flush { flushed.signal() }
        }
        flushed.wait()
        let registered = try WorkerRow.readAll(workspace.connection())
        XCTAssertEqual(registered.count, 1)
        XCTAssertEqual(registered.first?.maxConcurrentJobs, 4)
        XCTAssertEqual(registered.first?.providerCaps, ["kling": 5])
        XCTAssertEqual(registered.first?.providerActivity["kling"], ProviderActivity(inFlight: 2, rateLimited: 1))
        XCTAssertEqual(registered.first?.status, "running")
        XCTAssertEqual(registered.first?.isGone, false)
        // Read a lease later, the same row counts as gone: its worker never renewed it.
        let later = try WorkerRow.readAll(workspace.connection(), now: Date().timeIntervalSince1970 + 31)
        XCTAssertEqual(later.first?.status, "gone")

        let removed = DispatchSemaphore(value: 0)
        runner.sync {
            self.store.record(.unregisterWorker(owner: worker.id))
            self.store.flush { removed.signal() }
        }
        removed.wait()
        XCTAssertTrue(try WorkerRow.readAll(workspace.connection()).isEmpty)
    }

    /// `workers`, `stats` and `watch` show what a worker holds now, not what its last heartbeat
    /// (up to a third of a lease ago) said: two jobs claimed since read as two.
    func testAWorkersActiveCountIsTheRowsItHoldsNowNotItsLastHeartbeat() throws {
        let worker = WorkerRecord(
            id: "test-host:1:1", host: "test-host", pid: 1, version: "9.9", maxConcurrentJobs: 4, leaseSeconds: 30,
            providerCaps: [:])
        try workspace.connection().run(
            "INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}'), ('image_generation', '{}')")
        let flushed = DispatchSemaphore(value: 0)
        runner.sync {
            self.store.record(.registerWorker(worker))
            self.store.heartbeat(activeIDs: [], activity: [:])
            self.store.flush { flushed.signal() }
        }
        flushed.wait()
        XCTAssertEqual(try WorkerRow.readAll(workspace.connection()).first?.activeJobs, 0)

        XCTAssertEqual(claim(2).count, 2)
        XCTAssertEqual(try WorkerRow.readAll(workspace.connection()).first?.activeJobs, 2)
    }

    func testEachDatabaseGetsItsOwnRandomIDOnce() throws {
        let other = Workspace(name: "dbid")
        defer { other.remove() }
        let first = try other.connection()
        try JobSchema.migrate(first)
        let id = try JobSchema.databaseID(first)
        XCTAssertEqual(id.count, 12)
        XCTAssertTrue(id.allSatisfy(\.isHexDigit), id)
        try JobSchema.migrate(first)
        XCTAssertEqual(try JobSchema.databaseID(first), id, "migrating again must keep the id")
        XCTAssertNotEqual(try JobSchema.databaseID(workspace.connection()), id, "two databases share an id")
    }

    func testATableFromAnOlderWorkerGainsTheMissingColumns() throws {
        let other = Workspace(name: "migrate")
        defer { other.remove() }
        let connection = try other.connection()
        try connection.execute(
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY, job_type TEXT, status TEXT DEFAULT 'queued', params TEXT, result TEXT, error TEXT)"
        )
        try connection.run("INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}')")
        try JobSchema.migrate(connection)
        let columns = Set(try connection.query("PRAGMA table_info(jobs)").compactMap { $0["name"]?.string })
        for column in [
            "priority", "attempts", "max_attempts", "progress", "created_at", "started_at", "finished_at", "run_after",
            "lease_owner",
        ] {
            XCTAssertTrue(columns.contains(column), "missing column \(column)")
        }
        XCTAssertEqual(try connection.query("SELECT max_attempts FROM jobs").first?["max_attempts"]?.int, 3)
    }

    /// The claim indexes hold the queued rows only, so a claim or a completion does not move
    /// entries in them; a database made by an older worker, whose claim indexes held every row,
    /// gets the new ones, and claims go on in the same order.
    func testAnOlderDatabasesClaimIndexesBecomeIndexesOfQueuedRowsOnly() throws {
        let other = Workspace(name: "claim-indexes")
        defer { other.remove() }
        let connection = try other.connection()
        try JobSchema.migrate(connection)
        try connection.execute(
            """
            DROP INDEX jobs_claim_order; DROP INDEX jobs_type_claim_order;
            CREATE INDEX jobs_claim_order ON jobs(status, priority DESC, id);
            CREATE INDEX jobs_type_claim_order ON jobs(status, job_type, priority DESC, id);
            """)
        try JobSchema.migrate(connection)
        for name in ["jobs_claim_order", "jobs_type_claim_order"] {
            let sql = try connection.query("SELECT sql FROM sqlite_master WHERE name = ?1", [.text(name)])
            XCTAssertTrue(
                sql.first?["sql"]?.string?.hasSuffix("WHERE status = 'queued'") ?? false, "\(name): \(sql)")
        }
        for (type, priority) in [("image_generation", 0), ("video_keying", 0), ("image_generation", 5)] {
            try connection.run(
                "INSERT INTO jobs (job_type, params, priority) VALUES (?1, '{}', ?2)",
                [.text(type), .integer(Int64(priority))])
        }
        try connection.run("UPDATE jobs SET status = 'completed' WHERE id = 1")
        XCTAssertEqual(
            try connection.query("SELECT count(*) AS n FROM jobs INDEXED BY jobs_claim_order WHERE status = 'queued'")
                .first?["n"]?.int, 2, "a completed row is still in the index of queued rows")
    }

    /// A worker writes only rows it holds: once another worker took a row over (after this
    /// one's lease ran out), a late completion from this one must leave the other's run alone.
    func testUpdatesOnlyTouchRowsThisWorkerHolds() throws {
        let connection = try workspace.connection()
        for _ in 0..<2 { try connection.run("INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}')") }
        let claimed = claim(2).map(\.job.id)
        XCTAssertEqual(claimed.count, 2)
        let (held, lost) = (claimed[0], claimed[1])
        try connection.run("UPDATE jobs SET lease_owner = 'other-host:9:1' WHERE id = ?1", [.integer(lost)])

        runner.sync {
            self.store.record(.completed(id: held, result: "{}"))
            self.store.record(.completed(id: lost, result: "{}"))
        }
        flush()

        let rows = workspace.rows("SELECT id, status, lease_owner FROM jobs ORDER BY id")
        XCTAssertEqual(rows.first { $0["id"]?.int == held }?["status"]?.string, "completed")
        let other = rows.first { $0["id"]?.int == lost }
        XCTAssertEqual(other?["status"]?.string, "processing")
        XCTAssertEqual(other?["lease_owner"]?.string, "other-host:9:1")
    }

    /// The owner is quoted into the update statements once, so a host name with a quote in it
    /// must still match its own rows (and not break the SQL).
    func testAnOwnerWithAQuoteInItsNameCompletesItsOwnRows() throws {
        let path = workspace.databasePath
        let loop = runner.loop
        let quoted = try runner.sync { () -> Result<SQLiteJobStore, any Error> in
            Result { try SQLiteJobStore(path: path, loop: loop, log: .discarding(), owner: "o'neil:2:1") }
        }.get()
        try workspace.connection().run("INSERT INTO jobs (job_type, params) VALUES ('image_generation', '{}')")
        let claimed = ResultBox<[ClaimedJob]>()
        let written = DispatchSemaphore(value: 0)
        runner.sync {
            quoted.claim(limit: 1, excluding: [], now: Date().timeIntervalSince1970) { jobs in
                claimed.value = jobs
                for job in jobs { quoted.record(.completed(id: job.job.id, result: "{}")) }
                quoted.flush { written.signal() }
            }
        }
        XCTAssertEqual(written.wait(timeout: .now() + 30), .success, "the completion was never committed")
        XCTAssertEqual(claimed.value?.count, 1)
        XCTAssertEqual(workspace.rows("SELECT status, lease_owner FROM jobs").first?["status"]?.string, "completed")
        let closed = DispatchSemaphore(value: 0)
        runner.sync { quoted.close { closed.signal() } }
        XCTAssertEqual(closed.wait(timeout: .now() + 30), .success)
    }
}
