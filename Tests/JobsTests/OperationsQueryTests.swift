import Foundation
import Jobs
import Reactor
import TestSupport
import XCTest

/// The queries and writes behind `list`, `show`, `cancel`, `retry`, `stats` and `prune`,
/// on a real `jobs.db` with rows inserted directly.
final class OperationsQueryTests: XCTestCase {
    private var workspace: Workspace!
    private var rows: OperationsTestRows!

    override func setUpWithError() throws {
        workspace = Workspace(name: "operations")
        rows = try OperationsTestRows(workspace)
    }

    override func tearDown() {
        workspace.remove()
    }

    func testListIsNewestFirstAndFiltersByStatusAndType() throws {
        let queued = try rows.insert(status: .queued)
        let failed = try rows.insert(status: .failed, error: "boom", finishedAgo: 5)
        let keying = try rows.insert(type: "video_keying", status: .keyingProcessing, provider: nil, startedAgo: 3)
        let listing = try JobListing(store: workspace.store)

        XCTAssertEqual(try listing.list(.init()).map(\.id), [keying, failed, queued])
        XCTAssertEqual(try listing.list(.init(statuses: [.failed])).map(\.id), [failed])
        XCTAssertEqual(try listing.list(.init(types: ["video_keying"])).map(\.id), [keying])
        XCTAssertEqual(try listing.list(.init(limit: 2)).map(\.id), [keying, failed])
        XCTAssertEqual(try listing.count(.init(limit: 2)), 3)
        let keyingJob = try XCTUnwrap(try listing.job(id: keying))
        XCTAssertEqual(keyingJob.provider, "ffmpeg", "media jobs show the ffmpeg gate key as their provider")
        XCTAssertEqual(try XCTUnwrap(keyingJob.runSeconds), 3, accuracy: 1)
        XCTAssertNil(try listing.job(id: 999))
    }

    func testCancelEndsQueuedJobAtOnceAndAsksTheWorkerToStopARunningOne() throws {
        let queued = try rows.insert(status: .queued)
        let running = try rows.insert(status: .processing, startedAgo: 2)
        let control = try JobControl(store: workspace.store)

        XCTAssertEqual(try control.cancel(id: queued), .cancelled)
        XCTAssertEqual(try rows.status(queued), "cancelled")
        XCTAssertNotNil(try rows.row(queued)["finished_at"]?.string)
        XCTAssertEqual(try control.cancel(id: running), .cancelRequested(was: "processing"))
        XCTAssertEqual(try rows.status(running), "cancel_requested")
    }

    func testCancelRefusesFinishedAndMissingJobs() throws {
        let completed = try rows.insert(status: .completed, finishedAgo: 1)
        let control = try JobControl(store: workspace.store)
        guard case .refused(let status, let reason) = try control.cancel(id: completed) else {
            return XCTFail("a completed job must not be cancelled")
        }
        XCTAssertEqual(status, "completed")
        XCTAssertTrue(reason.contains("finished"), reason)
        XCTAssertEqual(try control.cancel(id: 12345), .notFound)
        XCTAssertEqual(try rows.status(completed), "completed")
    }

    func testRetryRequeuesFailedAndCancelledJobsWithAttemptsResetAndRefusesOthers() throws {
        let failed = try rows.insert(
            status: .failed, error: "OpenAI API error (HTTP 500)", progress: 0.5, attempts: 3, finishedAgo: 1,
            runAfter: 4_000_000_000)
        try rows.connection.run("UPDATE jobs SET provider_task_id = 'task-1' WHERE id = ?", [.integer(failed)])
        let cancelled = try rows.insert(status: .cancelled, attempts: 1, finishedAgo: 1)
        let running = try rows.insert(status: .processing, startedAgo: 1)
        let completed = try rows.insert(status: .completed, finishedAgo: 1)
        let control = try JobControl(store: workspace.store)

        XCTAssertEqual(try control.retry(id: failed), .requeued(was: "failed"))
        XCTAssertEqual(try control.retry(id: cancelled), .requeued(was: "cancelled"))
        let row = try rows.row(failed)
        XCTAssertEqual(row["status"]?.string, "queued")
        XCTAssertEqual(row["attempts"]?.int, 0)
        XCTAssertEqual(row["run_after"]?.double, 0)
        XCTAssertEqual(row["error"], .null)
        XCTAssertEqual(row["provider_task_id"], .null, "a retried job must submit afresh, not poll the failed task")
        XCTAssertEqual(row["progress"]?.double, 0)
        for id in [running, completed] {
            guard case .refused = try control.retry(id: id) else { return XCTFail("job \(id) must be refused") }
        }
        XCTAssertEqual(try rows.status(running), "processing")
        XCTAssertEqual(try rows.status(completed), "completed")
    }

    func testStatsCountStatusesThroughputDurationsAndProviderErrors() throws {
        // Ten completed openai jobs that ran 1…10 s, one an hour and a half ago.
        for seconds in 1...10 {
            let finishedAgo = seconds == 10 ? 5400.0 : 60
            try rows.insert(status: .completed, startedAgo: finishedAgo + Double(seconds), finishedAgo: finishedAgo)
        }
        try rows.insert(status: .failed, error: "OpenAI API error (HTTP 429): slow down", finishedAgo: 30)
        try rows.insert(
            type: "background_removal", status: .failed, provider: nil, error: "Bria API error (HTTP 400)",
            finishedAgo: 30)
        try rows.insert(status: .queued)
        let stats = try QueueStatistics.read(store: workspace.store)

        XCTAssertEqual(stats.total, 13)
        XCTAssertEqual(stats.byStatus["completed"], 10)
        XCTAssertEqual(stats.byStatus["failed"], 2)
        XCTAssertEqual(stats.byStatus["keying_processing"], 0, "known statuses are listed with zero")
        XCTAssertEqual(stats.byType["image_generation"]?["completed"], 10)
        XCTAssertEqual(stats.byType["background_removal"]?["failed"], 1)
        XCTAssertEqual(stats.finishedLastHour["completed"], 9)
        XCTAssertEqual(stats.jobsPerMinute, 11.0 / 60, accuracy: 1e-9)
        let durations = try XCTUnwrap(stats.durations["image_generation"])
        XCTAssertEqual(durations.count, 10)
        XCTAssertEqual(durations.averageSeconds, 5.5, accuracy: 0.05)
        XCTAssertEqual(durations.p95Seconds, 10, accuracy: 0.05)
        XCTAssertEqual(stats.providerErrors["openai"], .init(failed: 1, rateLimited: 1))
        XCTAssertEqual(stats.providerErrors["bria"], .init(failed: 1, rateLimited: 0))
    }

    func testPercentileIsNearestRank() {
        XCTAssertEqual(QueueStatistics.percentile(0.95, of: Array(1...20).map(Double.init)), 19)
        XCTAssertEqual(QueueStatistics.percentile(0.95, of: [4]), 4)
        XCTAssertEqual(QueueStatistics.percentile(0.95, of: []), 0)
    }

    func testPruneDeletesOnlyOldFinishedRowsAndTheirFoldersAndDryRunChangesNothing() throws {
        let old = try rows.insert(status: .completed, finishedAgo: 8 * 86400)
        let oldFailed = try rows.insert(status: .failed, error: "x", finishedAgo: 9 * 86400)
        let recent = try rows.insert(status: .completed, finishedAgo: 3600)
        let oldQueued = try rows.insert(status: .queued, createdAgo: 30 * 86400)
        for id in [old, recent] {
            try FileManager.default.createDirectory(
                atPath: workspace.outputDirectory + "/\(id)", withIntermediateDirectories: true)
            XCTAssertTrue(
                FileManager.default.createFile(
                    atPath: workspace.outputDirectory + "/\(id)/out.png", contents: Data([1])))
        }
        let pruner = try JobPruner(store: workspace.store, outputDirectory: workspace.outputDirectory)

        let planned = try pruner.prune(olderThan: 7 * 86400, dryRun: true)
        XCTAssertEqual(planned.map(\.id), [old, oldFailed])
        XCTAssertEqual(planned.first?.folder, workspace.outputDirectory + "/\(old)")
        XCTAssertEqual(workspace.count(where: "true"), 4, "a dry run deletes nothing")
        XCTAssertTrue(FileManager.default.fileExists(atPath: workspace.outputDirectory + "/\(old)"))

        let pruned = try pruner.prune(olderThan: 7 * 86400, dryRun: false)
        XCTAssertEqual(pruned.map(\.id), [old, oldFailed])
        XCTAssertEqual(
            workspace.rows("SELECT id FROM jobs ORDER BY id").compactMap { $0["id"]?.int }, [recent, oldQueued])
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.outputDirectory + "/\(old)"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: workspace.outputDirectory + "/\(recent)/out.png"))
    }

    func testReadOnlyViewsRefuseAMissingDatabaseWithAHint() {
        XCTAssertThrowsError(try JobListing(store: .sqlite(path: workspace.directory + "/missing.db"))) { error in
            XCTAssertTrue("\(error)".contains("--db"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.directory + "/missing.db"))
    }

    func testOverviewShowsActiveJobsQueueDepthAndRecentFinishes() throws {
        let running = try rows.insert(status: .processing, progress: 0.4, startedAgo: 5, providerState: "polling")
        try rows.insert(status: .queued)
        try rows.insert(status: .queued, runAfter: Date().timeIntervalSince1970 + 600)
        let done = try rows.insert(status: .completed, startedAgo: 20, finishedAgo: 10)
        let overview = try QueueOverview.Reader(store: workspace.store).read(now: Date().timeIntervalSince1970)

        XCTAssertEqual(overview.active.map(\.id), [running])
        XCTAssertEqual(overview.active.first?.progress, 0.4)
        XCTAssertEqual(overview.active.first?.providerState, "polling")
        XCTAssertEqual(overview.queuedNow, 1)
        XCTAssertEqual(overview.queuedLater, 1)
        XCTAssertEqual(overview.recent.map(\.id), [done])
        XCTAssertEqual(overview.finishedLastHour["completed"], 1)
    }
}
