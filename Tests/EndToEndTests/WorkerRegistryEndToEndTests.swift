import Foundation
import Reactor
import TestSupport
import XCTest

/// The `workers` table as people see it: `watch` in a pseudo-terminal and `workers --json` show a
/// running worker with its own MAX_CONCURRENT_JOBS, and a `kill -9`'d one as gone once its
/// heartbeat is older than its lease.
final class WorkerRegistryEndToEndTests: ProviderEndToEndCase {
    /// Runs `watch` in a pty (python3's pty module) until `pattern` shows up or 30 s pass, then
    /// presses q. Prints `{"found": bool, "screen": last 4000 characters}`.
    private static let ptyWatch = #"""
        import fcntl, json, os, pty, re, select, struct, sys, termios, time

        binary, db, pattern = sys.argv[1], sys.argv[2], re.compile(sys.argv[3])
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(binary, [binary, "watch", "--db", db, "--interval", "0.1"])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 150, 0, 0))
        output = b""
        found = False
        deadline = time.time() + 30
        while time.time() < deadline and not found:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
                found = pattern.search(output.decode("utf-8", "replace")) is not None
        os.write(fd, b"q")
        deadline = time.time() + 10
        while time.time() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    os.read(fd, 65536)
                except OSError:
                    pass
        print(json.dumps({"found": found, "screen": output.decode("utf-8", "replace")[-4000:]}))
        """#

    private func watchInTerminal(until pattern: String) throws -> (found: Bool, screen: String) {
        let binary = try XCTUnwrap(Products.path("reactor-worker"))
        let script = workspace.directory + "/pty_watch.py"
        try Self.ptyWatch.write(toFile: script, atomically: true, encoding: .utf8)
        let python = try ChildProcess(
            executable: "/usr/bin/env", arguments: ["python3", script, binary, workspace.storeArgument, pattern],
            outputPrefix: workspace.directory + "/pty-\(UUID().uuidString.prefix(6))")
        XCTAssertEqual(python.waitForExit(timeout: 60), 0, python.stderr)
        let result = try XCTUnwrap(
            try parseJSON(python.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) as? [String: Any],
            python.stdout + python.stderr)
        return (result["found"] as? Bool ?? false, result["screen"] as? String ?? "")
    }

    private func workersJSON() throws -> [[String: Any]] {
        let result = try runReactorWorker(["workers", "--json"], in: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(try parseJSON(result.stdout) as? [[String: Any]], result.stdout)
    }

    func testWatchAndWorkersShowTheWorkersOwnLimitAndAKilledWorkerAsGone() throws {
        // Answers that take a minute keep both jobs running while we look.
        let mock = try startMock(["--latency-openai", "60"])
        try enqueue("image_generation", ["provider": "openai", "prompt": "a slow lighthouse"], count: 2)
        let worker = try startWorker(
            ["run"], environment: environment(mock, ["MAX_CONCURRENT_JOBS": "4", "LEASE_SECONDS": "2"]))
        XCTAssertTrue(
            Wait.until(timeout: 30) { self.workspace.count(where: "status = 'processing'") == 2 }, worker.log)

        let live = try watchInTerminal(until: #"2/4 active \(1 worker\)[\s\S]*WORKERS[\s\S]*2/4 active  running"#)
        XCTAssertTrue(live.found, "watch did not show the worker's own limit:\n\(live.screen)")
        var listed = try workersJSON()
        XCTAssertEqual(listed.count, 1)
        XCTAssertEqual(listed.first?["max_concurrent_jobs"] as? Int, 4)
        XCTAssertEqual(listed.first?["status"] as? String, "running")
        XCTAssertEqual(listed.first?["pid"] as? Int, Int(worker.child.pid))
        // The heartbeat carries the active count, renewed every LEASE_SECONDS / 3.
        XCTAssertTrue(Wait.until(timeout: 10) { (try? self.workersJSON().first?["active_jobs"] as? Int) == 2 })

        worker.child.signal(SIGKILL)
        XCTAssertNotNil(worker.child.waitForExit(timeout: 10))
        XCTAssertTrue(
            Wait.until(timeout: 20) { (try? self.workersJSON().first?["status"] as? String) == "gone" },
            "the killed worker never showed as gone")
        listed = try workersJSON()
        XCTAssertGreaterThanOrEqual(listed.first?["heartbeat_age_seconds"] as? Double ?? 0, 2)
        let gone = try watchInTerminal(
            until: #"no live worker \(2 jobs held by gone workers\)[\s\S]*gone \(last heartbeat"#)
        XCTAssertTrue(gone.found, "watch did not show the killed worker as gone:\n\(gone.screen)")
    }

    func testAWorkerThatStopsCleanlyRemovesItsRow() throws {
        let mock = try startMock()
        try enqueue("image_generation", ["provider": "openai", "prompt": "a quick fox"])
        try drain(environment(mock, ["MAX_CONCURRENT_JOBS": "2"]))
        XCTAssertEqual(try workersJSON().count, 0)
        let table = try runReactorWorker(["workers"], in: workspace)
        XCTAssertTrue(table.stdout.contains("No worker is registered"), table.stdout)
    }
}
