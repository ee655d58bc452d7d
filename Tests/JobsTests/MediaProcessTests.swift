import Foundation
import Synchronization
import TestSupport
import XCTest

@testable import Jobs

/// Child processes as the media pool runs them: real exit statuses, stopping, a clean start.
final class MediaProcessTests: XCTestCase {
    private let tools = MediaTools(
        ffmpeg: "/usr/bin/ffmpeg", ffprobe: "/usr/bin/ffprobe", environment: ["PATH": "/usr/bin:/bin", "LC_ALL": "C"],
        launcher: MediaChildren.deathSignalLauncher(path: "/usr/bin:/bin"))

    /// Runs `process` on a pool thread, as the worker does, and waits for its end.
    private func runOnPool(
        _ process: MediaProcess, stop: StopRequest = StopRequest(), timeout: Double = 30
    ) throws -> ChildTermination {
        let pool = MediaPool(size: 1)
        let outcome = Mutex<Result<ChildTermination, JobFailure>?>(nil)
        pool.submit {
            let result = Result { () throws(JobFailure) in try process.run(stop: stop) }
            outcome.withLock { $0 = result }
        }
        XCTAssertTrue(Wait.until(timeout: timeout) { outcome.withLock { $0 != nil } }, "the child did not end")
        return try XCTUnwrap(outcome.withLock { $0 }).get()
    }

    private func shell(_ script: String, grace: Double = 2) -> MediaProcess {
        var process = tools.process("/bin/sh", ["-c", script])
        process.grace = grace
        return process
    }

    func testFailingFfmpegIsReportedAsFailedWithItsLastStderrLines() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: tools.ffmpeg), "ffmpeg is not installed")
        let ending = try runOnPool(
            tools.process(
                tools.ffmpeg,
                [
                    "-hide_banner", "-nostdin", "-f", "lavfi", "-i", "nullsrc=d=1", "-vf", "nosuchfilter", "-f", "null",
                    "-",
                ]))
        XCTAssertFalse(ending.succeeded)
        XCTAssertNotEqual(ending.reason, .exited(0))
        XCTAssertTrue(ending.stderrTail.contains("nosuchfilter"), ending.stderrTail)
    }

    /// REACTOR-NOTES.md B.1: nothing may reap the child before Foundation reads its status.
    func testChildKilledBySignalIsNotReportedAsSuccess() throws {
        let ending = try runOnPool(shell("echo about to crash >&2; kill -SEGV $$"))
        XCTAssertEqual(ending.reason, .signalled(SIGSEGV))
        XCTAssertFalse(ending.succeeded)
        XCTAssertEqual(ending.stderrTail, "about to crash")
        XCTAssertEqual(try runOnPool(shell("exit 3")).reason, .exited(3))
        XCTAssertTrue(try runOnPool(shell("exit 0")).succeeded)
    }

    func testStopSendsSigtermAndTheChildEnds() throws {
        let stop = StopRequest()
        let before = MediaChildren.pids
        DispatchQueue.global().async {
            // Ask for the stop once the child is running.
            Wait.until(timeout: 10) { !MediaChildren.pids.subtracting(before).isEmpty }
            stop.request()
        }
        let ending = try runOnPool(shell("exec sleep 30"), stop: stop, timeout: 5)
        XCTAssertEqual(ending.reason, .signalled(SIGTERM))
        XCTAssertTrue(ending.wasStopped)
        XCTAssertFalse(ending.succeeded)
    }

    func testAChildThatIgnoresSigtermIsKilledAfterTheGrace() throws {
        let stop = StopRequest()
        let before = MediaChildren.pids
        DispatchQueue.global().async {
            Wait.until(timeout: 10) { !MediaChildren.pids.subtracting(before).isEmpty }
            stop.request()
        }
        let ending = try runOnPool(shell("trap '' TERM; exec sleep 30", grace: 0.3), stop: stop, timeout: 5)
        XCTAssertEqual(ending.reason, .signalled(SIGKILL))
        XCTAssertTrue(ending.wasStopped)
    }

    func testChildStartsWithNoBlockedSignalsAndNoInheritedDescriptor() throws {
        // A descriptor of ours without CLOEXEC, as curl 7.88 opens its sockets.
        let leaky = open("/dev/zero", O_RDONLY)
        defer { close(leaky) }
        var lines: [String] = []
        let pool = MediaPool(size: 1)
        let done = DispatchSemaphore(value: 0)
        let process = shell("grep SigBlk /proc/self/status; ls -l /proc/self/fd/")
        let collected = Mutex<[String]>([])
        pool.submit {
            _ = try? process.run(stop: StopRequest()) { line in collected.withLock { $0.append(line) } }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        lines = collected.withLock { $0 }
        XCTAssertTrue(lines.contains { $0.hasPrefix("SigBlk:") && $0.hasSuffix("0000000000000000") }, "\(lines)")
        XCTAssertFalse(lines.contains { $0.hasSuffix("/dev/zero") }, "the child inherited fd \(leaky): \(lines)")
    }

    func testPoolRunsAtMostItsSizeAtOnceAndTheRestInOrder() {
        let pool = MediaPool(size: 2)
        let gates = (0..<6).map { _ in DispatchSemaphore(value: 0) }
        let started = Mutex<[Int]>([])
        let finished = Mutex<Int>(0)
        for index in 0..<6 {
            pool.submit {
                started.withLock { $0.append(index) }
                gates[index].wait()
                finished.withLock { $0 += 1 }
            }
        }
        XCTAssertTrue(Wait.until(timeout: 5) { started.withLock { $0.count } == 2 })
        XCTAssertEqual(Set(started.withLock { $0 }), [0, 1], "the first two start at once, in either order")
        XCTAssertEqual(pool.load.running, 2)
        XCTAssertEqual(pool.load.waiting, 4)
        for next in 2..<6 {
            // One slot at a time is freed, so exactly the oldest waiting item takes it.
            gates[next - 2].signal()
            XCTAssertTrue(Wait.until(timeout: 5) { started.withLock { $0.count } == next + 1 })
            XCTAssertEqual(started.withLock { $0.last }, next)
        }
        gates[4].signal()
        gates[5].signal()
        XCTAssertTrue(Wait.until(timeout: 5) { finished.withLock { $0 } == 6 })
        XCTAssertEqual(pool.mostAtOnce, 2)
        XCTAssertTrue(Wait.until(timeout: 5) { pool.load.running == 0 })
    }

    func testToolsNotFoundNameTheDebianPackage() {
        var settings = WorkerSettings()
        settings.values = ["PATH": "/nonexistent"]
        XCTAssertThrowsError(try MediaTools.locate(settings: settings)) { error in
            let message = (error as? JobFailure)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("ffmpeg is not installed: it is not on PATH (/nonexistent)"), message)
            XCTAssertTrue(message.contains("apt-get install ffmpeg"), message)
        }
        settings.values["FFMPEG_PATH"] = "/nonexistent/ffmpeg"
        XCTAssertThrowsError(try MediaTools.locate(settings: settings)) { error in
            XCTAssertTrue((error as? JobFailure)?.message.hasPrefix("FFMPEG_PATH is /nonexistent/ffmpeg") ?? false)
        }
    }
}
