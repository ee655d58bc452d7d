import Foundation
import Reactor
import TestSupport
import XCTest

/// The Prometheus textfile `run` writes to METRICS_DIR: present while the worker runs,
/// matching jobs.db, and valid Prometheus text format by Prometheus's own Python parser.
final class MetricsTextfileTests: XCTestCase {
    private var workspace: Workspace!
    private var processes: [AnyObject] = []

    override func setUp() {
        workspace = Workspace(name: "metrics")
    }

    override func tearDown() {
        for case let worker as WorkerProcess in processes { worker.child.stop() }
        for case let mock as MockProvidersProcess in processes { mock.child.stop() }
        processes.removeAll()
        workspace.remove()
    }

    private var metricsDirectory: String { workspace.directory + "/metrics" }
    private var metricsFile: String { metricsDirectory + "/reactor_worker.prom" }

    /// Samples of the file by a plain reading of the text format: "name{labels}" → value.
    private func samples() -> [String: Double] {
        guard let text = try? String(contentsOfFile: metricsFile, encoding: .utf8) else { return [:] }
        var result: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            result[String(line[..<space])] = value
        }
        return result
    }

    /// jobs.db counts in the file's own series names.
    private func databaseCounts() -> [String: Double] {
        var counts: [String: Double] = [:]
        for row in workspace.rows("SELECT job_type, status, count(*) AS n FROM jobs GROUP BY job_type, status") {
            let key =
                "reactor_worker_jobs{status=\"\(row["status"]?.string ?? "")\",type=\"\(row["job_type"]?.string ?? "")\"}"
            counts[key] = Double(row["n"]?.int ?? 0)
        }
        return counts
    }

    /// The file's non-zero job counts equal jobs.db's.
    private func jobCountsMatchDatabase(_ samples: [String: Double]) -> Bool {
        let fileCounts = samples.filter { $0.key.hasPrefix("reactor_worker_jobs{") && $0.value != 0 }
        return !fileCounts.isEmpty && fileCounts == databaseCounts()
    }

    func testMetricsFileTracksTheRunningWorkerMatchesTheDatabaseAndParsesAsPrometheusText() throws {
        let mock = try MockProvidersProcess(arguments: ["--latency", "1"], workspace: workspace)
        processes.append(mock)
        let rows = try OperationsWorkspaceRows(workspace)
        try rows.insert(status: "completed", startedAgo: 20, finishedAgo: 10)
        try rows.insert(status: "failed", error: "OpenAI API error (HTTP 429): Rate limit reached", finishedAgo: 5)
        for _ in 0..<5 { try rows.insert() }
        var environment = mock.providerEnvironment
        environment["MAX_CONCURRENT_JOBS"] = "3"
        environment["METRICS_DIR"] = metricsDirectory
        environment["METRICS_INTERVAL_SECONDS"] = "0.2"
        let worker = try WorkerProcess(workspace: workspace, arguments: ["run", "--drain"], environment: environment)
        processes.append(worker)

        // While jobs run: three slots in use, and the file's counts agree with the table.
        var seen: [String: Double] = [:]
        XCTAssertTrue(
            Wait.until(timeout: 30) {
                seen = self.samples()
                return seen["reactor_worker_active_jobs"] == 3
                    && seen["reactor_worker_jobs{status=\"processing\",type=\"image_generation\"}"] == 3
            }, "the metrics never showed 3 active jobs: \(seen)")
        XCTAssertEqual(seen["reactor_worker_capacity"], 3)
        XCTAssertEqual(seen["reactor_worker_active_jobs_by_provider{provider=\"openai\"}"], 3)
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)

        // After the drain the last file written shows the final table exactly.
        let final = samples()
        XCTAssertTrue(
            jobCountsMatchDatabase(final),
            "file \(final.filter { $0.key.hasPrefix("reactor_worker_jobs{") && $0.value != 0 }) vs db \(databaseCounts())"
        )
        XCTAssertEqual(final["reactor_worker_jobs{status=\"completed\",type=\"image_generation\"}"], 6)
        XCTAssertEqual(final["reactor_worker_jobs{status=\"queued\",type=\"video_keying\"}"], 0, "zero-filled")
        XCTAssertEqual(final["reactor_worker_active_jobs"], 0)
        XCTAssertEqual(final["reactor_worker_queue_depth"], 0)
        XCTAssertEqual(final["reactor_worker_output_bytes_waiting"], 0, "every output is on the disk")
        XCTAssertEqual(final["reactor_worker_downloads_waiting_for_disk"], 0)
        XCTAssertNotNil(final["reactor_worker_answer_pauses_total"])
        let stall = try XCTUnwrap(final["reactor_worker_loop_longest_iteration_seconds"])
        XCTAssertTrue(stall > 0 && stall < 60, "the loop worked, in seconds: \(stall)")
        let series = "type=\"image_generation\",provider=\"openai\""
        XCTAssertEqual(final["reactor_worker_job_runs_total{\(series),outcome=\"completed\"}"], 5)
        XCTAssertEqual(final["reactor_worker_job_duration_seconds_count{\(series)}"], 5)
        XCTAssertEqual(final["reactor_worker_job_duration_seconds_bucket{\(series),le=\"+Inf\"}"], 5)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: metricsDirectory), ["reactor_worker.prom"],
            "no temporary files are left beside the textfile")

        try checkWithPrometheusParser(expectedJobSamples: databaseCounts())
    }

    /// Parses the file with prometheus_client's text parser (what Prometheus's Python
    /// tooling uses) and compares its job counts with the database.
    private func checkWithPrometheusParser(expectedJobSamples: [String: Double]) throws {
        let script = """
            import json, sys
            try:
                from prometheus_client.parser import text_string_to_metric_families
            except ImportError:
                print("NO_MODULE"); sys.exit(0)
            families = list(text_string_to_metric_families(open(sys.argv[1]).read()))
            out = {"types": {f.name: f.type for f in families}, "samples": []}
            for family in families:
                for sample in family.samples:
                    out["samples"].append([sample.name, sample.labels, sample.value])
            print(json.dumps(out))
            """
        let path = workspace.directory + "/parse_metrics.py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let python = try ChildProcess(
            executable: "/usr/bin/env", arguments: ["python3", path, metricsFile],
            outputPrefix: workspace.directory + "/parser")
        XCTAssertEqual(python.waitForExit(timeout: 60), 0, "the Prometheus parser rejected the file: \(python.stderr)")
        if python.stdout.contains("NO_MODULE") {
            throw XCTSkip(
                "prometheus_client is not installed (python3 -m pip install prometheus_client; scripts/install-deps does); "
                    + "the file's counts were checked, its format by Prometheus's parser was not")
        }
        let parsed = try XCTUnwrap(try parseJSON(python.stdout) as? [String: Any])
        let types = try XCTUnwrap(parsed["types"] as? [String: String])
        XCTAssertEqual(types["reactor_worker_jobs"], "gauge")
        XCTAssertEqual(types["reactor_worker_job_duration_seconds"], "histogram")
        XCTAssertEqual(types["reactor_worker_job_runs"], "counter", "counters keep their _total suffix in samples")
        var jobSamples: [String: Double] = [:]
        for case let sample as [Any] in try XCTUnwrap(parsed["samples"] as? [Any]) {
            guard sample[0] as? String == "reactor_worker_jobs", let labels = sample[1] as? [String: String],
                let value = (sample[2] as? NSNumber)?.doubleValue, value != 0
            else { continue }
            jobSamples["reactor_worker_jobs{status=\"\(labels["status"] ?? "")\",type=\"\(labels["type"] ?? "")\"}"] =
                value
        }
        XCTAssertEqual(jobSamples, expectedJobSamples)
    }
}
