import Foundation
import TestSupport
import XCTest

/// How media jobs share the worker and end: at most MEDIA_POOL_SIZE ffmpeg children beside
/// API jobs, cancellation, SIGTERM, and `kill -9` of the worker.
final class MediaLifecycleEndToEndTests: MediaEndToEndCase {
    /// Waits until `worker` runs an ffmpeg child and returns its pid.
    private func runningFfmpeg(_ worker: WorkerProcess, timeout: Double = 30) throws -> Int32 {
        var found: Int32?
        Wait.until(timeout: timeout) {
            found = Self.ffmpegChildren(of: worker.child.pid).first
            return found != nil || !worker.child.isRunning
        }
        return try XCTUnwrap(found, "no ffmpeg child appeared:\n\(worker.log)")
    }

    func testPoolOfTwoRunsAtMostTwoFfmpegsWhileImageJobsKeepCompleting() throws {
        let mock = try startMock()
        let clip = try greenScreenClip("pool.mp4", width: 320, height: 240, seconds: 6)
        let keying = try enqueue("video_keying", ["input": clip], count: 6)
        let images = try enqueue("image_generation", ["provider": "openai", "prompt": "a fox"], count: 8)
        let worker = try startWorker(
            ["run", "--drain"],
            environment: environment(mock, ["MEDIA_POOL_SIZE": "2", "MAX_CONCURRENT_JOBS": "4"]))
        let pid = worker.child.pid
        var most = 0
        var keyingDoneWhenImagesWere: Int?
        let imageList = images.map(String.init).joined(separator: ",")
        let keyingList = keying.map(String.init).joined(separator: ",")
        // Sample the worker's children until it exits (it drains the queue).
        Wait.until(timeout: 180, interval: 0.005) {
            most = max(most, Self.ffmpegChildren(of: pid).count)
            if keyingDoneWhenImagesWere == nil,
                workspace.count(where: "id IN (\(imageList)) AND status = 'completed'") == images.count
            {
                keyingDoneWhenImagesWere = workspace.count(where: "id IN (\(keyingList)) AND status = 'completed'")
            }
            return !worker.child.isRunning
        }
        XCTAssertEqual(worker.child.waitForExit(timeout: 5), 0, worker.log)
        XCTAssertEqual(most, 2, "most ffmpeg children seen at once")
        XCTAssertEqual(workspace.count(where: "status = 'completed'"), keying.count + images.count, worker.log)
        let doneThen = try XCTUnwrap(keyingDoneWhenImagesWere, "the image jobs never all completed")
        XCTAssertLessThan(
            doneThen, keying.count, "image jobs waited for the keying jobs instead of running beside them")
    }

    func testCancellingARunningKeyingJobEndsItsFfmpegWithinTwoSeconds() throws {
        let clip = try greenScreenClip("long.mp4", width: 320, height: 240, seconds: 30)
        let id = try XCTUnwrap(enqueue("video_keying", ["input": clip]).first)
        let worker = try startWorker(["run"], environment: mediaEnvironment())
        let ffmpeg = try runningFfmpeg(worker)
        XCTAssertTrue(Wait.until(timeout: 30) { progress(id) > 0 }, "no progress was reported:\n\(worker.log)")
        try workspace.connection().execute("UPDATE jobs SET status = 'cancel_requested' WHERE id = \(id)")
        let asked = Date()
        XCTAssertTrue(Wait.until(timeout: 2) { !Self.isAlive(ffmpeg) }, "ffmpeg \(ffmpeg) still runs after 2 s")
        XCTAssertLessThan(Date().timeIntervalSince(asked), 2)
        XCTAssertTrue(Wait.until(timeout: 5) { (try? row(id).status) == "cancelled" }, (try? row(id).status) ?? "")
        XCTAssertTrue(Wait.until(timeout: 5) { folder(id).isEmpty }, "partial output left: \(folder(id))")
        XCTAssertTrue(Self.ffmpegChildren(of: worker.child.pid).isEmpty)
        worker.child.signal(SIGTERM)
        XCTAssertEqual(worker.child.waitForExit(timeout: 10), 0, worker.log)
    }

    func testSigtermWhileKeyingLetsTheJobFinishAndExitsZero() throws {
        let clip = try greenScreenClip("term.mp4", width: 320, height: 240, seconds: 6)
        let id = try XCTUnwrap(enqueue("video_keying", ["input": clip]).first)
        let worker = try startWorker(["run"], environment: mediaEnvironment())
        _ = try runningFfmpeg(worker)
        XCTAssertEqual(try row(id).status, "keying_processing")
        worker.child.signal(SIGTERM)
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)
        let result = try completedResult(id)
        XCTAssertEqual(folder(id), ["keyed.webm"])
        XCTAssertEqual(result["duration"] as? Double ?? 0, 6, accuracy: 0.05)
    }

    /// No code runs on `kill -9`: the kernel's parent-death signal (setpriv) must end ffmpeg.
    func testKillMinusNineOfTheWorkerTakesItsFfmpegWithIt() throws {
        try XCTSkipUnless(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "setpriv (util-linux) is not installed")
        let clip = try greenScreenClip("orphan.mp4", width: 320, height: 240, seconds: 30)
        let id = try XCTUnwrap(enqueue("video_keying", ["input": clip]).first)
        let worker = try startWorker(["run"], environment: mediaEnvironment())
        let ffmpeg = try runningFfmpeg(worker)
        worker.child.signal(SIGKILL)
        XCTAssertTrue(Wait.until(timeout: 2) { !Self.isAlive(ffmpeg) }, "ffmpeg \(ffmpeg) outlived the worker")
        XCTAssertEqual(try row(id).status, "keying_processing", "the row waits for its lease to run out")
        XCTAssertTrue(folder(id).allSatisfy { $0.hasSuffix(".tmp") }, "\(folder(id))")
    }
}
