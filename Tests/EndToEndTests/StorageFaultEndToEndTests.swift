import Foundation
import Jobs
import Reactor
import TestSupport
import XCTest

/// Issue 5 "storage faults": the database on a full or read-only filesystem. Each test gives the
/// worker a private mount namespace with `jobs.db` on a small tmpfs (root ignores file
/// permissions, so a real read-only or full filesystem is the honest way to test this). The test
/// reaches that filesystem through `/proc/<pid>/root`.
final class StorageFaultEndToEndTests: XCTestCase {
    private var workspace: Workspace!
    private var children: [ChildProcess] = []

    override func setUpWithError() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            throw XCTSkip("needs root and unshare(1) to give the worker its own small filesystem")
        }
        workspace = Workspace(name: "storage")
    }

    override func tearDown() {
        for child in children { child.stop() }
        children.removeAll()
        workspace?.remove()
    }

    /// Starts `reactor-worker` inside a mount namespace where `<workspace>/db` is a tmpfs of
    /// `size`, after running `prepare` (shell) there.
    private func startIsolatedWorker(size: String, prepare: String, environment: [String: String]) throws
        -> ChildProcess
    {
        let worker = try XCTUnwrap(Products.path("reactor-worker"), "reactor-worker is not built")
        let dbDirectory = workspace.directory + "/db"
        try FileManager.default.createDirectory(atPath: dbDirectory, withIntermediateDirectories: true)
        var env = [
            "PATH": "/usr/bin:/bin", "JOBS_DB": dbDirectory + "/jobs.db", "OUTPUT_DIR": workspace.outputDirectory,
        ]
        for (key, value) in environment { env[key] = value }
        let script = "mount -t tmpfs -o size=\(size) tmpfs \"$1\" && \(prepare) && exec \"$2\" run"
        let child = try ChildProcess(
            executable: "/usr/bin/unshare", arguments: ["-m", "/bin/sh", "-c", script, "sh", dbDirectory, worker],
            environment: env, directory: workspace.directory, outputPrefix: workspace.directory + "/isolated")
        children.append(child)
        return child
    }

    func testAFullDiskDelaysWritesAndLosesNoneOnceSpaceIsBack() throws {
        let mock = try MockProvidersProcess(arguments: ["--latency", "0.5"], workspace: workspace)
        children.append(mock.child)
        let worker = try XCTUnwrap(Products.path("reactor-worker"))
        let prepare =
            "\"$2\" enqueue image_generation --params '{\"provider\":\"openai\",\"prompt\":\"full disk\"}' --count 40 >/dev/null"
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "10"
        let child = try startIsolatedWorker(
            size: "4m", prepare: prepare.replacingOccurrences(of: "\"$2\"", with: "\"\(worker)\""),
            environment: environment)
        let database = workspace.directory + "/db/jobs.db"
        // SQLite resolves /proc/<pid>/root links back into our own namespace, so look from inside.
        let inside = { (command: String) -> String in
            let probe = try? ChildProcess(
                executable: "/usr/bin/nsenter", arguments: ["-t", "\(child.pid)", "-m", "/bin/sh", "-c", command],
                outputPrefix: self.workspace.directory + "/probe")
            probe?.waitForExit(timeout: 30)
            return probe?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        let count = { (clause: String) -> Int in
            Int(inside("sqlite3 '\(database)' \"SELECT count(*) FROM jobs WHERE \(clause)\"")) ?? -1
        }
        XCTAssertTrue(Wait.until(timeout: 30) { count("status = 'processing'") == 10 }, child.stderr)

        // Fill the filesystem while ten jobs are waiting on the provider.
        let filler = workspace.directory + "/db/filler"
        _ = inside("cat /dev/zero > '\(filler)' 2>/dev/null; true")
        XCTAssertTrue(
            Wait.until(timeout: 30) { child.stderr.contains("cannot write to jobs.db") },
            "no clear storage error:\n\(child.stderr)")
        XCTAssertTrue(child.isRunning, "the worker must keep running on a full disk")

        _ = inside("rm -f '\(filler)'")
        XCTAssertTrue(Wait.until(timeout: 60) { count("status = 'completed'") == 40 }, child.stderr)
        XCTAssertTrue(child.stderr.contains("jobs.db is writable again"), child.stderr)
        child.signal(SIGTERM)
        XCTAssertEqual(child.waitForExit(timeout: 30), 0, child.stderr)
    }

    func testAReadOnlyDatabaseStopsTheWorkerWithOneClearLine() throws {
        let worker = try XCTUnwrap(Products.path("reactor-worker"))
        let params = #"'{"provider":"openai","prompt":"x"}'"#
        let prepare =
            "\"\(worker)\" enqueue image_generation --params \(params) >/dev/null && mount -o remount,ro \"$1\""
        let child = try startIsolatedWorker(size: "4m", prepare: prepare, environment: [:])
        let status = child.waitForExit(timeout: 30)
        XCTAssertNotNil(status)
        XCTAssertNotEqual(status, 0)
        let lines = child.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, child.stderr)
        XCTAssertTrue(lines.first?.contains("JOBS_DB") ?? false, child.stderr)
        XCTAssertTrue(lines.first?.contains("read-only") ?? false, child.stderr)
    }
}
