import Foundation
import Reactor
import TestSupport
import XCTest

/// REACTOR-NOTES.md B.1, "the default loop reaps children": libev's default loop installs a
/// SIGCHLD handler that reaps every child, so our `waitpid` would see ECHILD and report a
/// crashed ffmpeg as exit status 0. Our loop is `ev_loop_new`; a child's real status must survive.
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

        let failing = try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", "exit 7"])
        XCTAssertEqual(failing.wait(), .exited(7), "a child's non-zero exit must not be reported as success")

        let killed = try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", "kill -KILL $$"])
        XCTAssertEqual(killed.wait(), .signalled(SIGKILL))
    }

    /// The child starts clean: no descriptor of ours beyond 0–2, no blocked or ignored signals,
    /// the working directory and environment asked for, output where it was sent.
    func testSpawnedChildGetsOnlyWhatItWasGiven() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let leaked = open("/dev/null", O_RDONLY)  // no CLOEXEC: closefrom must still close it
        defer { close(leaked) }
        signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, SIG_DFL) }
        let script = """
            ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; pwd; echo "$GREETING"
            grep -E '^(SigBlk|SigIgn)' /proc/self/status
            """
        let child = try SpawnedProcess(
            executable: "/bin/sh", arguments: ["-c", script],
            environment: ["GREETING": "hello", "PATH": "/usr/bin:/bin"],
            directory: directory, stdout: .file(directory + "/out"))
        XCTAssertEqual(child.wait(), .exited(0))
        let lines = (try String(contentsOfFile: directory + "/out", encoding: .utf8)).split(separator: "\n")
        // ls itself opens one descriptor (3) to read the directory.
        XCTAssertEqual(lines.first, "0 1 2 3 ", "descriptors the child got")
        XCTAssertEqual(
            lines.dropFirst().first.map(String.init), URL(fileURLWithPath: directory).resolvingSymlinksInPath().path)
        XCTAssertEqual(lines.dropFirst(2).first, "hello")
        XCTAssertTrue(lines.contains("SigBlk:\t0000000000000000"), lines.joined(separator: "\n"))
        // SIGPIPE, which the worker ignores, is back to its default (glibc's own signals 32 and
        // 33 are outside sigfillset and may stay as they were).
        let ignored = lines.first { $0.hasPrefix("SigIgn:") }.flatMap { UInt64($0.dropFirst(8), radix: 16) }
        XCTAssertEqual(try XCTUnwrap(ignored) & (1 << UInt64(SIGPIPE - 1)), 0, lines.joined(separator: "\n"))

        XCTAssertThrowsError(try SpawnedProcess(executable: "/nonexistent/tool", arguments: [])) { error in
            XCTAssertEqual("\(error)", "cannot start /nonexistent/tool: No such file or directory")
        }
    }
}
