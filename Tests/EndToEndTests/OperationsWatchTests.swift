import Foundation
import Reactor
import TestSupport
import XCTest

/// `watch` under a real pseudo-terminal (python3's pty module) and through a pipe.
final class OperationsWatchTests: XCTestCase {
    private var workspace: Workspace!
    private var rows: OperationsWorkspaceRows!

    override func setUpWithError() throws {
        workspace = Workspace(name: "ops-watch")
        rows = try OperationsWorkspaceRows(workspace)
    }

    override func tearDown() {
        workspace.remove()
    }

    /// Drives `watch` in a pty: waits for the job's bar at 25 %, sets the row's progress to
    /// 75 % (as the worker's progress writes would), waits for the bar to follow, presses q.
    /// Every wait is for output, with a deadline; none is a fixed sleep.
    private static let ptyDriver = #"""
        import fcntl, json, os, pty, re, select, struct, subprocess, sys, termios, time

        # The store's own client (sqlite3 or psql) and its arguments come as JSON, last.
        binary, db, job, client = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(binary, [binary, "watch", "--db", db, "--interval", "0.1", "--max-concurrent-jobs", "3"])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 130, 0, 0))
        output = b""
        bar = re.compile(r"\s" + job + r"\s+image_generation\s+openai\s+\[(█*)(░*)\]\s+(\d+)%")

        def read_until(predicate, timeout=20):
            global output
            deadline = time.time() + timeout
            while time.time() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError:
                        return predicate()
                    if not chunk:
                        return predicate()
                    output += chunk
                    if predicate():
                        return True
            return False

        def last_bar():
            found = bar.findall(output.decode("utf-8", "replace"))
            return (len(found[-1][0]), int(found[-1][2])) if found else None

        result = {}
        result["saw_25"] = read_until(lambda: last_bar() is not None and last_bar()[1] == 25)
        result["bar_at_25"] = last_bar()
        result["gate"] = "1/3 active" in output.decode("utf-8", "replace")
        subprocess.run(client + ["UPDATE jobs SET progress = 0.75 WHERE id = %d" % int(job)], check=True)
        result["saw_75"] = read_until(lambda: last_bar() is not None and last_bar()[1] == 75)
        result["bar_at_75"] = last_bar()
        os.write(fd, b"q")
        read_until(lambda: b"\x1b[?1049l" in output)
        deadline = time.time() + 10
        status = None
        while time.time() < deadline and status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
            else:
                select.select([fd], [], [], 0.05)
        result["exit"] = status
        text = output.decode("utf-8", "replace")
        result["alternate_screen"] = "\x1b[?1049h" in text and "\x1b[?1049l" in text
        result["cursor_shown_again"] = text.rfind("\x1b[?25h") > text.rfind("\x1b[?25l")
        print(json.dumps(result))
        """#

    /// The store's command-line client, ready for one statement, as a JSON array.
    private func clientCommand() throws -> String {
        let command =
            workspace.isPostgres
            ? ["/usr/bin/psql", workspace.storeArgument, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c"]
            : ["/usr/bin/sqlite3", "-cmd", ".timeout 10000", workspace.storeArgument]
        return String(decoding: try JSONSerialization.data(withJSONObject: command), as: UTF8.self)
    }

    func testWatchInATerminalShowsAProgressBarThatAdvancesAndQuitsOnQ() throws {
        guard let binary = Products.path("reactor-worker") else { throw XCTSkip("reactor-worker is not built") }
        let running = try rows.insert(status: "processing", progress: 0.25, attempts: 1, startedAgo: 3)
        try rows.insert(status: "completed", startedAgo: 20, finishedAgo: 15)
        let script = workspace.directory + "/pty_driver.py"
        try Self.ptyDriver.write(toFile: script, atomically: true, encoding: .utf8)
        let python = try ChildProcess(
            executable: "/usr/bin/env",
            arguments: ["python3", script, binary, workspace.storeArgument, "\(running)", try clientCommand()],
            outputPrefix: workspace.directory + "/pty")
        XCTAssertEqual(python.waitForExit(timeout: 60), 0, python.stderr)

        let result = try XCTUnwrap(
            try parseJSON(python.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) as? [String: Any],
            python.stdout + python.stderr)
        XCTAssertEqual(result["saw_25"] as? Bool, true, "no bar at 25 %: \(result)")
        XCTAssertEqual(result["saw_75"] as? Bool, true, "the bar did not follow the row to 75 %: \(result)")
        let before = try XCTUnwrap(result["bar_at_25"] as? [Int])
        let after = try XCTUnwrap(result["bar_at_75"] as? [Int])
        XCTAssertGreaterThan(after[0], before[0], "the bar's filled part grows")
        XCTAssertEqual(result["gate"] as? Bool, true, "the gate's use is shown as 1/3 active")
        XCTAssertEqual(result["exit"] as? Int, 0, "q quits cleanly")
        XCTAssertEqual(result["alternate_screen"] as? Bool, true)
        XCTAssertEqual(result["cursor_shown_again"] as? Bool, true, "the terminal is restored on exit")
    }

    func testWatchPrintsPlainLinesWhenOutputIsNotATerminal() throws {
        let running = try rows.insert(status: "processing", progress: 0.5, attempts: 1, startedAgo: 3)
        try rows.insert()
        let watch = try WorkerProcess(
            workspace: workspace, arguments: ["watch", "--interval", "0.1", "--max-concurrent-jobs", "4"],
            name: "watch-plain")
        defer { watch.child.stop() }
        XCTAssertTrue(
            Wait.until(timeout: 20) { watch.child.stdout.split(separator: "\n").count >= 2 }, watch.child.stderr)
        let first = String(watch.child.stdout.split(separator: "\n")[0])
        XCTAssertTrue(first.contains("1/4 active"), first)
        XCTAssertTrue(first.contains("queue 1"), first)
        XCTAssertTrue(first.contains("#\(running) image_generation openai 50%"), first)
        XCTAssertFalse(watch.child.stdout.contains("\u{1B}["), "no escape sequences in a pipe")

        let once = try runReactorWorker(["watch", "--once"], in: workspace)
        XCTAssertEqual(once.status, 0, once.stderr)
        XCTAssertTrue(once.stdout.contains("ACTIVE (1)") && once.stdout.contains("50%"), once.stdout)
    }
}
