import Foundation
import TestSupport
import XCTest

/// Provider limits and failures on the built worker and mock: Retry-After pauses the provider,
/// bad answers fail only their own job with the provider's words, per-provider caps hold while
/// other providers flow, and a restarted job resumes its provider task.
final class ProviderLimitsEndToEndTests: ProviderEndToEndCase {
    func testA429WithRetryAfterPausesTheProviderAndTheJobsStillComplete() throws {
        let mock = try startMock(["--task-seconds", "1", "--retry-after", "2"])
        _ = try mock.control("/_mock/config", method: "POST", json: ["next": ["leonardo": ["ok", "rate_limit"]]])
        let ids = try enqueue("image_generation", ["provider": "leonardo", "prompt": "a cat"], count: 3)
        // Spaced requests (one per 0.5 s), so none is in flight when the 429 arrives.
        try drain(environment(mock, ["LEONARDO_RATE_PER_MIN": "120"]))

        for id in ids {
            _ = try completedResult(id)
            XCTAssertEqual(try row(id).attempts, 1, "waiting out a 429 is not a failed attempt")
        }
        let leonardo = try requests(mock, provider: "leonardo")
        let limited = try XCTUnwrap(leonardo.first { $0.outcome == "rate_limit" }, "the mock never sent the 429")
        XCTAssertEqual(limited.status, 429)
        let later = leonardo.filter { $0.seq > limited.seq }
        XCTAssertFalse(later.isEmpty)
        for request in later {
            XCTAssertGreaterThanOrEqual(
                request.time - limited.time, 2,
                "\(request.method) \(request.path) was sent during the Retry-After pause")
        }
        let spacing = zip(leonardo.dropFirst(), leonardo).map { $0.time - $1.time }
        XCTAssertTrue(spacing.allSatisfy { $0 >= 0.45 }, "LEONARDO_RATE_PER_MIN=120 spaces requests 0.5 s: \(spacing)")
    }

    func testBadProviderAnswersFailOnlyTheirJobWithTheProvidersWordsAndStatus() throws {
        let mock = try startMock()
        _ = try mock.control(
            "/_mock/config", method: "POST",
            json: [
                "next": [
                    "kling": ["unauthorized"], "leonardo": ["malformed"], "bria": ["missing_field"],
                    "ark": ["failed_task"],
                ]
            ])
        let kling = try XCTUnwrap(enqueue("animation", ["provider": "kling", "prompt": "waves"]).first)
        let leonardo = try XCTUnwrap(enqueue("image_generation", ["provider": "leonardo", "prompt": "a cat"]).first)
        let image = try localImage(mock)
        let bria = try XCTUnwrap(enqueue("background_removal", ["image": image.path]).first)
        let seedance = try XCTUnwrap(enqueue("animation", ["provider": "seedance", "prompt": "a dog runs"]).first)
        let healthy = try enqueue("image_generation", ["provider": "openai", "prompt": "a fox"], count: 4)
        try drain(environment(mock, ["MAX_CONCURRENT_JOBS": "8"]))

        let expectations: [(Int64, [String])] = [
            (kling, ["Kling API error (HTTP 401)", "code 1002", "Authorization is invalid"]),
            (leonardo, ["Leonardo answered HTTP 200 with a body that is not JSON", "<html>502"]),
            (bria, ["BRIA answered HTTP 202 without request_id"]),
            (
                seedance,
                [
                    "ended failed (HTTP 200)", "OutputVideoSensitiveContentDetected",
                    "the output video may contain sensitive information",
                ]
            ),
        ]
        for (id, fragments) in expectations {
            let failed = try row(id)
            XCTAssertEqual(failed.status, "failed", "job \(id)")
            XCTAssertEqual(failed.attempts, 1, "job \(id) must fail at once, not be retried")
            for fragment in fragments {
                XCTAssertTrue(
                    failed.error?.contains(fragment) == true,
                    "job \(id) error lacks '\(fragment)': \(failed.error ?? "nil")")
            }
        }
        for id in healthy { _ = try completedResult(id) }
        let submits = try mock.stats()["submits"] as? [String: Int]
        XCTAssertEqual(submits?["bria"], 1, "a submit whose answer was unreadable is not sent twice")
    }

    func testAMissingKeyFailsAtOnceNamingTheVariableWithoutARequest() throws {
        let mock = try startMock()
        let id = try XCTUnwrap(enqueue("animation", ["provider": "kling", "prompt": "waves"]).first)
        var environment = environment(mock)
        environment["KLING_SECRET_KEY"] = nil
        try drain(environment)

        let failed = try row(id)
        XCTAssertEqual(failed.status, "failed")
        XCTAssertTrue(failed.error?.contains("KLING_SECRET_KEY is not set") == true, failed.error ?? "")
        XCTAssertTrue(try requests(mock, provider: "kling").isEmpty)
    }

    func testKlingCapOfTwoHoldsWhileOtherProvidersKeepFlowing() throws {
        let mock = try startMock(["--task-seconds", "1"])
        let klingIDs = try enqueue("animation", ["provider": "kling", "prompt": "waves"], count: 6)
        let leonardoIDs = try enqueue("image_generation", ["provider": "leonardo", "prompt": "a cat"], count: 6)
        try drain(environment(mock, ["KLING_MAX_CONCURRENT": "2", "MAX_CONCURRENT_JOBS": "10"]))

        for id in klingIDs + leonardoIDs { _ = try completedResult(id) }
        let kling = try requests(mock, provider: "kling")
        // A task is open at Kling from its submit until the poll that found it done.
        var intervals: [(start: Double, end: Double)] = []
        for id in klingIDs {
            let submit = try XCTUnwrap(
                kling.first { $0.method == "POST" && $0.body["external_task_id"] as? String == (try? externalID(id)) })
            let taskID = try XCTUnwrap(try row(id).providerTaskID)
            let lastPoll = try XCTUnwrap(kling.last { $0.method == "GET" && $0.path.hasSuffix("/\(taskID)") })
            intervals.append((submit.time, lastPoll.time))
        }
        let mostOpen = mostOpenAtOnce(intervals)
        XCTAssertLessThanOrEqual(mostOpen, 2, "more than 2 Kling tasks were open at once")
        XCTAssertEqual(mostOpen, 2, "the cap of 2 should have been used")
        // Leonardo did not queue behind Kling: all its jobs were submitted before the last Kling task began.
        let lastKlingStart = intervals.map(\.start).max() ?? 0
        let leonardoSubmits = try requests(mock, provider: "leonardo").filter { $0.method == "POST" }
        XCTAssertEqual(leonardoSubmits.count, 6)
        XCTAssertTrue(leonardoSubmits.allSatisfy { $0.time < lastKlingStart }, "Leonardo jobs waited for Kling")
    }

    func testARestartedJobResumesItsProviderTaskInsteadOfSubmittingAgain() throws {
        let mock = try startMock(["--task-seconds", "4"])
        let id = try XCTUnwrap(enqueue("animation", ["provider": "kling", "prompt": "waves"]).first)
        let first = try startWorker(["run"], environment: environment(mock))
        XCTAssertTrue(
            Wait.until(timeout: 30) { (try? self.row(id).providerTaskID) != nil }, "the task id was never recorded")
        first.child.signal(SIGKILL)
        first.child.waitForExit(timeout: 10)

        try drain(environment(mock))
        let result = try completedResult(id)
        assertFiles(result, of: id, equal: try mock.fixture("video.mp4"))
        XCTAssertEqual((try mock.stats()["submits"] as? [String: Int])?["kling"], 1, "the task was submitted twice")
    }

    func testTwoHundredAnimationsWaitOnTheProviderAtOnceOnAHandfulOfThreads() throws {
        let mock = try startMock(["--task-seconds", "20"])
        let ids = try enqueue("animation", ["provider": "kling", "prompt": "waves"], count: 200)
        XCTAssertEqual(ids.count, 200)
        var environment = environment(mock, ["MAX_CONCURRENT_JOBS": "200"])
        environment["KLING_POLL_SECONDS"] = "2"
        let worker = try startWorker(["run", "--drain"], environment: environment)
        let pid = worker.child.pid

        var mostThreads = 0
        let allSubmitted = Wait.until(timeout: 18, interval: 0.2) {
            mostThreads = max(mostThreads, Self.threadCount(pid))
            return ((try? mock.stats()["submits"] as? [String: Int])?["kling"] ?? 0) >= 200
        }
        XCTAssertTrue(allSubmitted, "200 tasks were not all submitted before the first could finish")
        XCTAssertTrue(
            Wait.until(timeout: 3) {
                self.workspace.count(where: "status = 'processing' AND provider_task_id IS NOT NULL") == 200
            }, "200 jobs should be processing with their task recorded")
        XCTAssertEqual(workspace.count(where: "status = 'completed'"), 0, "all 200 wait on the provider at once")
        // Keep sampling while all 200 wait: threads must not grow with jobs.
        Wait.until(timeout: 5, interval: 0.2) {
            mostThreads = max(mostThreads, Self.threadCount(pid))
            return false
        }
        XCTAssertGreaterThan(mostThreads, 0)
        XCTAssertLessThan(mostThreads, 20, "the worker used \(mostThreads) threads for 200 jobs")

        XCTAssertEqual(worker.child.waitForExit(timeout: 120), 0, worker.log)
        XCTAssertEqual(workspace.count(where: "status = 'completed'"), 200)
    }

    /// Threads of a process: entries of /proc/<pid>/task (0 once it is gone).
    static func threadCount(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? 0
    }
}
