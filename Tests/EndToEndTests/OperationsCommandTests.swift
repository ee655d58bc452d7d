import Foundation
import Reactor
import TestSupport
import XCTest

/// `list`, `show`, `cancel`, `retry`, `stats` and `prune` run as the built binary on a
/// prepared `jobs.db`, checked by what they print.
final class OperationsCommandTests: XCTestCase {
    private var workspace: Workspace!
    private var rows: OperationsWorkspaceRows!

    override func setUpWithError() throws {
        workspace = Workspace(name: "ops-commands")
        rows = try OperationsWorkspaceRows(workspace)
    }

    override func tearDown() {
        workspace.remove()
    }

    /// The table line of job `id`: it starts with the right-aligned id.
    private func tableLine(_ output: String, id: Int64) -> String? {
        output.split(separator: "\n").map(String.init).first {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(id) ")
        }
    }

    func testListPrintsANewestFirstTableWithEachJobsStatusProgressAndError() throws {
        let queued = try rows.insert()
        let running = try rows.insert(status: "processing", progress: 0.42, attempts: 1, startedAgo: 12)
        let failed = try rows.insert(
            status: "failed", error: "OpenAI API error (HTTP 400): Your prompt was rejected by the safety system",
            attempts: 3, startedAgo: 30, finishedAgo: 20)
        let result = try runReactorWorker(["list"], in: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)

        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " ").first, "ID")
        XCTAssertEqual(
            lines.dropFirst().compactMap { Int64($0.split(separator: " ").first ?? "") }, [failed, running, queued])
        let runningLine = try XCTUnwrap(tableLine(result.stdout, id: running))
        XCTAssertTrue(
            runningLine.contains("processing") && runningLine.contains("42%") && runningLine.contains("1/3"),
            runningLine)
        let failedLine = try XCTUnwrap(tableLine(result.stdout, id: failed))
        XCTAssertTrue(failedLine.contains("failed") && failedLine.contains("OpenAI API error (HTTP 400)"), failedLine)
        XCTAssertTrue(try XCTUnwrap(tableLine(result.stdout, id: queued)).contains("queued"))
        // Columns line up: every row's STATUS starts where the header's does.
        let column = try XCTUnwrap(lines[0].range(of: "STATUS")).lowerBound.utf16Offset(in: lines[0])
        for (line, status) in [(runningLine, "processing"), (failedLine, "failed")] {
            XCTAssertEqual(line.range(of: status)?.lowerBound.utf16Offset(in: line), column, line)
        }
    }

    func testListFiltersByStatusAndTypeAndPrintsJSON() throws {
        try rows.insert()
        let failed = try rows.insert(status: "failed", error: "x", finishedAgo: 1)
        let keying = try rows.insert(
            type: "video_keying", status: "keying_processing", params: #"{"input":"/tmp/in.mp4"}"#, startedAgo: 1)
        let result = try runReactorWorker(["list", "--status", "failed,keying_processing", "--json"], in: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)
        let jobs = try XCTUnwrap(try parseJSON(result.stdout) as? [[String: Any]])
        XCTAssertEqual(jobs.compactMap { ($0["id"] as? NSNumber)?.int64Value }, [keying, failed])
        XCTAssertEqual(jobs.first?["provider"] as? String, "ffmpeg")
        XCTAssertEqual((jobs.first?["params"] as? [String: Any])?["input"] as? String, "/tmp/in.mp4")

        let byType = try runReactorWorker(
            ["list", "--type", "video_keying", "--db", workspace.storeArgument], in: workspace)
        XCTAssertNotNil(tableLine(byType.stdout, id: keying))
        XCTAssertNil(tableLine(byType.stdout, id: failed))

        let wrong = try runReactorWorker(["list", "--status", "done"], in: workspace)
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(
            wrong.stderr.contains("unknown status 'done'") && wrong.stderr.contains("completed"), wrong.stderr)
    }

    func testShowPrintsEveryFieldWithParamsAndResultPrettyPrintedAndTheWholeError() throws {
        let longError =
            "Leonardo API error (HTTP 500): " + String(repeating: "the upstream renderer fell over; ", count: 6)
        let id = try rows.insert(
            status: "failed", params: #"{"provider":"openai","prompt":"a lighthouse","width":1024}"#, error: longError,
            result: #"{"files":["/out/1.png"],"provider_task_id":"t-9"}"#, attempts: 3, startedAgo: 9, finishedAgo: 4)
        let result = try runReactorWorker(["show", "\(id)"], in: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)

        for field in [
            "id:", "job_type:", "status:", "provider:", "priority:", "attempts:", "max_attempts:", "progress:",
            "created_at:", "started_at:", "finished_at:", "run_after:", "lease_owner:", "provider_task_id:",
        ] {
            XCTAssertTrue(result.stdout.contains("\n" + field), "show lacks \(field):\n\(result.stdout)")
        }
        XCTAssertTrue(result.stdout.contains("\n    \"prompt\" : \"a lighthouse\""), result.stdout)
        XCTAssertTrue(result.stdout.contains("\n    \"files\" : ["), result.stdout)
        XCTAssertTrue(result.stdout.contains(longError), "the error is shown in full")

        let json = try XCTUnwrap(
            try parseJSON(try runReactorWorker(["show", "\(id)", "--json"], in: workspace).stdout) as? [String: Any])
        XCTAssertEqual(json["error"] as? String, longError)
        XCTAssertEqual((json["result"] as? [String: Any])?["provider_task_id"] as? String, "t-9")

        let missing = try runReactorWorker(["show", "999"], in: workspace)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no job 999"), missing.stderr)
    }

    func testCancelSaysWhatHappenedToEachIdAndFailsWhenOneCouldNotBeCancelled() throws {
        let queued = try rows.insert()
        let running = try rows.insert(status: "processing", attempts: 1, startedAgo: 1)
        let completed = try rows.insert(status: "completed", finishedAgo: 1)
        let result = try runReactorWorker(["cancel", "\(queued)", "\(running)", "\(completed)", "404"], in: workspace)

        XCTAssertEqual(result.status, 1, "one id could not be cancelled")
        XCTAssertTrue(result.stdout.contains("job \(queued): cancelled"), result.stdout)
        XCTAssertTrue(result.stdout.contains("job \(running): cancel requested"), result.stdout)
        XCTAssertTrue(result.stdout.contains("job \(completed): not cancelled"), result.stdout)
        XCTAssertTrue(result.stdout.contains("job 404: not cancelled: there is no such job"), result.stdout)
        XCTAssertEqual(
            workspace.rows("SELECT status FROM jobs ORDER BY id").compactMap { $0["status"]?.string },
            [
                "cancelled", "cancel_requested", "completed",
            ])
        XCTAssertEqual(try runReactorWorker(["cancel", "\(running)"], in: workspace).status, 1, "asked twice")
    }

    func testRetryQueuesFailedAndCancelledJobsAgainAndRefusesOthersWithAReason() throws {
        let failed = try rows.insert(status: "failed", error: "boom", attempts: 3, finishedAgo: 1)
        let cancelled = try rows.insert(status: "cancelled", finishedAgo: 1)
        let result = try runReactorWorker(["retry", "\(failed)", "\(cancelled)"], in: workspace)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("job \(failed): queued again"), result.stdout)
        let row = try XCTUnwrap(workspace.rows("SELECT * FROM jobs WHERE id = ?", [.integer(failed)]).first)
        XCTAssertEqual(row["status"]?.string, "queued")
        XCTAssertEqual(row["attempts"]?.int, 0)
        XCTAssertEqual(row["error"], .null)

        let queuedNow = try runReactorWorker(["retry", "\(failed)"], in: workspace)
        XCTAssertEqual(queuedNow.status, 1)
        XCTAssertTrue(queuedNow.stdout.contains("not retried: it is already queued"), queuedNow.stdout)
        let notAnID = try runReactorWorker(["retry", "abc"], in: workspace)
        XCTAssertNotEqual(notAnID.status, 0)
        XCTAssertTrue(notAnID.stderr.contains("'abc' is not a job id"), notAnID.stderr)
    }

    func testStatsJSONCountsStatusesTypesThroughputDurationsAndProviderErrors() throws {
        for seconds in [2.0, 4, 6] {
            try rows.insert(status: "completed", startedAgo: 100 + seconds, finishedAgo: 100)
        }
        try rows.insert(status: "failed", error: "OpenAI API error (HTTP 429): Rate limit reached", finishedAgo: 10)
        try rows.insert(type: "background_removal", params: #"{"image":"/tmp/a.png"}"#)
        let result = try runReactorWorker(["stats", "--json"], in: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)
        let stats = try XCTUnwrap(try parseJSON(result.stdout) as? [String: Any])

        XCTAssertEqual(stats["total"] as? Int, 5)
        let byStatus = try XCTUnwrap(stats["by_status"] as? [String: Int])
        XCTAssertEqual(byStatus["completed"], 3)
        XCTAssertEqual(byStatus["failed"], 1)
        XCTAssertEqual(byStatus["queued"], 1)
        XCTAssertEqual(byStatus["processing"], 0)
        let byType = try XCTUnwrap(stats["by_type"] as? [String: [String: Int]])
        XCTAssertEqual(byType["image_generation"]?["total"], 4)
        XCTAssertEqual(byType["background_removal"]?["queued"], 1)
        let hour = try XCTUnwrap(stats["last_hour"] as? [String: Any])
        XCTAssertEqual(hour["completed"] as? Int, 3)
        XCTAssertEqual(try XCTUnwrap(hour["jobs_per_minute"] as? Double), 4.0 / 60, accuracy: 0.001)
        let durations = try XCTUnwrap((stats["durations"] as? [String: [String: Any]])?["image_generation"])
        XCTAssertEqual(durations["count"] as? Int, 3)
        XCTAssertEqual(try XCTUnwrap(durations["average_seconds"] as? Double), 4, accuracy: 0.05)
        XCTAssertEqual(try XCTUnwrap(durations["p95_seconds"] as? Double), 6, accuracy: 0.05)
        let errors = try XCTUnwrap(stats["provider_errors"] as? [String: [String: Int]])
        XCTAssertEqual(errors["openai"], ["failed": 1, "rate_limited": 1])

        let text = try runReactorWorker(["stats"], in: workspace)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("completed 3"), text.stdout)
        XCTAssertTrue(text.stdout.contains("jobs per minute"), text.stdout)
    }

    func testPruneDryRunListsOldFinishedJobsAndPruneDeletesThemAndTheirFolders() throws {
        let old = try rows.insert(status: "completed", startedAgo: 9 * 86400, finishedAgo: 9 * 86400)
        let recent = try rows.insert(status: "completed", finishedAgo: 60)
        let queued = try rows.insert(createdAgo: 30 * 86400)
        let folder = workspace.outputDirectory + "/\(old)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder + "/image.png", contents: Data([0x89]))
        let environment = ["OUTPUT_DIR": workspace.outputDirectory]

        let dryRun = try runReactorWorker(
            ["prune", "--older-than", "7d", "--dry-run"], in: workspace, environment: environment)
        XCTAssertEqual(dryRun.status, 0, dryRun.stderr)
        XCTAssertTrue(dryRun.stdout.contains("would delete job \(old) "), dryRun.stdout)
        XCTAssertTrue(dryRun.stdout.contains(folder), dryRun.stdout)
        XCTAssertFalse(dryRun.stdout.contains("job \(recent) "), dryRun.stdout)
        XCTAssertEqual(workspace.count(where: "true"), 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder))

        let prune = try runReactorWorker(["prune", "--older-than", "7d"], in: workspace, environment: environment)
        XCTAssertEqual(prune.status, 0, prune.stderr)
        XCTAssertTrue(prune.stdout.contains("deleted job \(old) "), prune.stdout)
        XCTAssertEqual(
            workspace.rows("SELECT id FROM jobs ORDER BY id").compactMap { $0["id"]?.int }, [recent, queued])
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder))

        let badDuration = try runReactorWorker(["prune", "--older-than", "7x"], in: workspace)
        XCTAssertNotEqual(badDuration.status, 0)
        XCTAssertTrue(badDuration.stderr.contains("e.g. 7d, 12h, 30m"), badDuration.stderr)
    }

    func testEverySubcommandsHelpExplainsItAndGivesAnExample() throws {
        for command in ["run", "enqueue", "list", "show", "cancel", "retry", "stats", "prune", "watch"] {
            let result = try runReactorWorker([command, "--help"], in: workspace)
            XCTAssertEqual(result.status, 0, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains("reactor-worker \(command)"), "\(command) --help:\n\(result.stdout)")
            XCTAssertTrue(result.stdout.lowercased().contains("example"), "\(command) --help has no example")
        }
        let root = try runReactorWorker(["--help"], in: workspace)
        for command in ["list", "show", "cancel", "retry", "stats", "prune", "watch"] {
            XCTAssertTrue(root.stdout.contains("  \(command) "), "the root help lists \(command):\n\(root.stdout)")
        }
    }

    func testViewsExplainAMissingDatabaseInsteadOfCreatingOne() throws {
        let missing = workspace.directory + "/elsewhere/jobs.db"
        for command in [["list"], ["stats"], ["show", "1"], ["cancel", "1"], ["watch", "--once"]] {
            let result = try runReactorWorker(command + ["--db", missing], in: workspace)
            XCTAssertEqual(result.status, 1, command.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains("no jobs database at \(missing)"), result.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }
}
