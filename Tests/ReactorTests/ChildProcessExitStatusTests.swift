import Foundation
import Reactor
import TestSupport
import XCTest

/// REACTOR-NOTES.md B.1, "the default loop reaps children": libev's default loop installs a
/// SIGCHLD handler that reaps every child, so Foundation's `waitpid` would see ECHILD and report
/// a crashed ffmpeg as exit status 0. Our loop is `ev_loop_new`; a child's real status must survive.
final class ChildProcessExitStatusTests: XCTestCase {
    func testChildExitStatusSurvivesARunningLoop() throws {
        let runner = LoopThread()
        defer { runner.stop() }
        // Keep the loop busy with a timer so it is really running while the child exits.
        let timer = runner.sync { () -> TimerWatcher in
            let timer = TimerWatcher(loop: runner.loop) {}
            timer.set(after: 0.001, repeat: 0.001)
            timer.start()
            return timer
        }
        defer { runner.sync { timer.stop() } }

        let failing = Process()
        failing.executableURL = URL(fileURLWithPath: "/bin/sh")
        failing.arguments = ["-c", "exit 7"]
        try failing.run()
        failing.waitUntilExit()
        XCTAssertEqual(failing.terminationStatus, 7, "a child's non-zero exit must not be reported as success")

        let killed = Process()
        killed.executableURL = URL(fileURLWithPath: "/bin/sh")
        killed.arguments = ["-c", "kill -KILL $$"]
        try killed.run()
        killed.waitUntilExit()
        XCTAssertEqual(killed.terminationReason, .uncaughtSignal)
        XCTAssertEqual(killed.terminationStatus, SIGKILL)
    }
}
