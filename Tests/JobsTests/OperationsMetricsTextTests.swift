import Jobs
import XCTest

/// The Prometheus text the worker writes: format details a scraper depends on.
final class OperationsMetricsTextTests: XCTestCase {
    func testHistogramBucketsAreCumulativeAndEndWithInfinity() {
        var histogram = DurationHistogram(bounds: [1, 5])
        for value in [0.5, 1, 3, 60] { histogram.observe(value) }
        XCTAssertEqual(histogram.cumulativeBuckets.map(\.1), [2, 3, 4])
        XCTAssertEqual(histogram.cumulativeBuckets.last?.0, .infinity)
        XCTAssertEqual(histogram.count, 4)
        XCTAssertEqual(histogram.sum, 64.5)
    }

    func testLabelValuesAreEscaped() {
        var text = PrometheusText()
        text.family("x_total", .counter, help: "Help with \\ backslash.")
        text.sample("x_total", [("provider", "a\"b\\c\nd")], 2)
        XCTAssertEqual(
            text.text,
            "# HELP x_total Help with \\\\ backslash.\n# TYPE x_total counter\nx_total{provider=\"a\\\"b\\\\c\\nd\"} 2\n"
        )
    }

    func testRenderedFileHasHelpAndTypeForEveryFamilyAndZeroFilledJobCounts() {
        var counters = WorkerCounters()
        counters.record(
            JobRunEnded(
                id: 1, type: "image_generation", provider: "openai", outcome: .completed, duration: 2, error: nil))
        counters.record(
            JobRunEnded(
                id: 2, type: "image_generation", provider: "openai", outcome: .retrying, duration: 1,
                error: "OpenAI API error (HTTP 429): too many requests"))
        let snapshot = SchedulerSnapshot(
            active: [
                .init(
                    id: 3, slot: 0, type: "video_keying", provider: "ffmpeg", progress: 0.5, phase: "keying",
                    startedAt: 0)
            ], capacity: 3)
        var withDisk = snapshot
        withDisk.outputBytesWaiting = 3_145_728
        withDisk.downloadsWaitingForDisk = 2
        withDisk.answerPauses = 5
        withDisk.loopLongestIteration = 0.25
        var sample = MetricsSample(scheduler: withDisk, counters: counters, startedAt: 100, takenAt: 200)
        sample.jobCounts = [("image_generation", "completed", 7)]
        sample.queuedNow = 4
        let text = MetricsTextfile.render(sample)

        XCTAssertTrue(text.contains("reactor_worker_jobs{status=\"completed\",type=\"image_generation\"} 7\n"))
        XCTAssertTrue(text.contains("reactor_worker_jobs{status=\"queued\",type=\"animation\"} 0\n"))
        XCTAssertTrue(text.contains("reactor_worker_active_jobs 1\n"))
        XCTAssertTrue(text.contains("reactor_worker_capacity 3\n"))
        XCTAssertTrue(text.contains("reactor_worker_queue_depth 4\n"))
        XCTAssertTrue(text.contains("reactor_worker_output_bytes_waiting 3145728\n"))
        XCTAssertTrue(text.contains("reactor_worker_downloads_waiting_for_disk 2\n"))
        XCTAssertTrue(
            text.contains("# TYPE reactor_worker_answer_pauses_total counter\nreactor_worker_answer_pauses_total 5\n"))
        XCTAssertTrue(text.contains("reactor_worker_loop_longest_iteration_seconds 0.25\n"))
        XCTAssertTrue(
            text.contains(
                "reactor_worker_job_duration_seconds_bucket{type=\"image_generation\",provider=\"openai\",le=\"2.5\"} 1\n"
            ))
        XCTAssertTrue(text.contains("reactor_worker_provider_rate_limited_total{provider=\"openai\"} 1\n"))
        let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map {
            $0.split(separator: " ")[2]
        }
        let helps = text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] }
        XCTAssertEqual(families, helps)
        XCTAssertEqual(Set(families).count, families.count, "each family is declared once")
    }

    func testTextfileIsWrittenAtomicallyWithoutLeavingTemporaryFiles() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try MetricsTextfile.write("a 1\n", directory: directory)
        try MetricsTextfile.write("a 2\n", directory: directory)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["reactor_worker.prom"])
        XCTAssertEqual(try String(contentsOfFile: directory + "/reactor_worker.prom", encoding: .utf8), "a 2\n")
    }
}
