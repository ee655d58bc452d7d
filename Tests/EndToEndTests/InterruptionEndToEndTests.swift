import Foundation
import Reactor
import TestSupport
import XCTest

/// A job that stops its worker every time it runs (here: an ffprobe that kills its parent, as an
/// out-of-memory kill would) must not do so forever: after MAX_INTERRUPTIONS restarts it fails
/// naming how often its worker stopped, and the jobs queued behind it run.
final class InterruptionEndToEndTests: ProviderEndToEndCase {
    func testAJobThatKillsItsWorkerFailsAfterFiveInterruptionsAndTheOthersComplete() throws {
        let mock = try startMock()
        let killer = workspace.directory + "/kill-parent-ffprobe"
        try "#!/bin/sh\nkill -9 $PPID\nsleep 5\n".write(toFile: killer, atomically: true, encoding: .utf8)
        chmod(killer, 0o755)
        let clip = workspace.directory + "/clip.mp4"
        try Data("not really a video".utf8).write(to: URL(fileURLWithPath: clip))
        let keying = try enqueue("video_keying", ["input": clip])
        let images = try enqueue("image_generation", ["provider": "openai", "prompt": "a calm lake"], count: 3)
        // One slot: keying jobs are claimed first, so only the keying job runs when its worker dies.
        let settings = environment(mock, ["MAX_CONCURRENT_JOBS": "1", "FFPROBE_PATH": killer])

        for start in 1...5 {
            let worker = try startWorker(["run", "--drain"], environment: settings)
            XCTAssertEqual(worker.child.waitForExit(timeout: 60), 128 + SIGKILL, "start \(start):\n\(worker.log)")
            let row = try row(keying[0])
            XCTAssertEqual(row.status, "keying_processing", "start \(start): \(row.error ?? "")")
            XCTAssertEqual(row.attempts, 1, "an interruption must not spend an attempt (start \(start))")
        }
        let last = try drain(settings)
        let failed = try row(keying[0])
        XCTAssertEqual(failed.status, "failed")
        XCTAssertTrue(failed.error?.contains("stopped 5 times") == true, failed.error ?? "")
        XCTAssertTrue(failed.error?.contains("reactor-worker retry \(keying[0])") == true, failed.error ?? "")
        XCTAssertEqual(
            workspace.rows("SELECT interruptions FROM jobs WHERE id = ?", [.integer(keying[0])]).first?[
                "interruptions"]?
                .int, 5)
        for id in images { _ = try completedResult(id) }
        XCTAssertTrue(last.log.contains("Recovered 1 jobs"), last.log)
    }
}
