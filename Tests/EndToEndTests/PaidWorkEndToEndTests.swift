import Foundation
import Reactor
import TestSupport
import XCTest

/// Paid work survives every crash window: against the strict Kling mock (a repeated
/// `external_task_id` is refused with code 1201), a task the provider accepted is found again by our
/// key and resumed, never paid for twice and never failed for being "already there".
final class PaidWorkEndToEndTests: ProviderEndToEndCase {
    /// The tasks the mock accepted (its providers' creates that went through), newest first.
    private func acceptedTasks(_ mock: MockProvidersProcess) throws -> [[String: Any]] {
        try XCTUnwrap(try mock.control("/_mock/tasks") as? [[String: Any]])
    }

    private func creates(_ mock: MockProvidersProcess, path: String) throws -> [Recorded] {
        try requests(mock).filter { $0.method == "POST" && $0.path == path }
    }

    func testAKillBetweenKlingsAcceptingACreateAndItsRecordingResumesThatTask() throws {
        let mock = try startMock(["--task-seconds", "1"])
        // The first Kling request, the create, is accepted but its answer never leaves the mock.
        _ = try mock.control("/_mock/config", method: "POST", json: ["next": ["kling": ["hold_answer"]]])
        let id = try XCTUnwrap(try enqueue("animation", ["provider": "kling", "prompt": "a lantern sways"]).first)
        let first = try startWorker(["run"], environment: environment(mock))
        XCTAssertTrue(Wait.until(timeout: 30) { (try? self.acceptedTasks(mock).count) == 1 }, first.log)
        first.child.signal(SIGKILL)
        XCTAssertNotNil(first.child.waitForExit(timeout: 10))
        XCTAssertNil(try row(id).providerTaskID, "the kill came before the task id was recorded")

        let second = try drain(environment(mock))
        let result = try completedResult(id)
        let tasks = try acceptedTasks(mock)
        XCTAssertEqual(tasks.count, 1, "one task was paid for: \(tasks)")
        XCTAssertEqual(tasks.first?["external_id"] as? String, try externalID(id))
        XCTAssertEqual(result["provider_task_id"] as? String, tasks.first?["id"] as? String)
        XCTAssertEqual(try row(id).attempts, 1, "finding and resuming the task spends no attempt")
        XCTAssertTrue(second.log.contains("looking for its Kling task by \(try externalID(id))"), second.log)
        XCTAssertTrue(second.log.contains("found its Kling task"), second.log)
    }

    func testALostCreateAnswerIsFoundByOurKeyInTheSameRun() throws {
        let mock = try startMock(["--task-seconds", "1"])
        _ = try mock.control(
            "/_mock/config", method: "POST", json: ["next": ["kling": ["hold_answer"], "ark": ["hold_answer"]]])
        let kling = try XCTUnwrap(try enqueue("animation", ["provider": "kling", "prompt": "a kite rises"]).first)
        let seedance = try XCTUnwrap(try enqueue("animation", ["provider": "seedance", "prompt": "waves roll"]).first)
        let worker = try drain(environment(mock, ["REQUEST_TIMEOUT_SECONDS": "1.5"]))
        for id in [kling, seedance] {
            _ = try completedResult(id)
            XCTAssertEqual(try row(id).attempts, 1)
        }
        XCTAssertEqual(try acceptedTasks(mock).count, 2, "one task each, though neither create was answered")
        XCTAssertEqual(try creates(mock, path: "/v1/videos/text2video").count, 1)
        XCTAssertEqual(try creates(mock, path: "/api/v3/contents/generations/tasks").count, 1)
        XCTAssertEqual(worker.logLines(containing: "found its").count, 2, worker.log)
    }

    func testFortyKlingAndFortySeedanceJobsSurviveFiveKillsWithOneAcceptedCreateEach() throws {
        let mock = try startMock(["--task-seconds", "3", "--latency", "0.05"])
        // A few creates of each lose their answer too, so lost answers and kills meet.
        _ = try mock.control(
            "/_mock/config", method: "POST",
            json: [
                "next": [
                    "kling": ["ok", "hold_answer", "ok", "hold_answer"], "ark": ["hold_answer", "ok", "hold_answer"],
                ]
            ])
        var prompts: [Int64: String] = [:]
        for take in 0..<40 {
            for provider in ["kling", "seedance"] {
                let prompt = "take \(take) for \(provider)"
                let id = try XCTUnwrap(try enqueue("animation", ["provider": provider, "prompt": prompt]).first)
                prompts[id] = prompt
            }
        }
        let settings = environment(mock, ["MAX_CONCURRENT_JOBS": "20", "REQUEST_TIMEOUT_SECONDS": "2"])
        var generator = SeededGenerator(seed: 13)
        var kills = 0
        while kills < 5 && workspace.count(where: "status = 'completed'") < 80 {
            let worker = try startWorker(["run"], environment: settings)
            let before = (try? acceptedTasks(mock).count) ?? 0
            let done = workspace.count(where: "status = 'completed'")
            XCTAssertTrue(
                Wait.until(timeout: 60) {
                    ((try? self.acceptedTasks(mock).count) ?? 0) > before
                        || self.workspace.count(where: "status = 'completed'") > done
                }, "after \(kills) kills no progress:\n\(worker.log.suffix(2000))")
            Wait.pause(seconds: Double.random(in: 0.02...1.2, using: &generator))
            worker.child.signal(SIGKILL)
            XCTAssertNotNil(worker.child.waitForExit(timeout: 10))
            kills += 1
        }
        XCTAssertEqual(kills, 5, "the batch finished before the fifth kill; give it more work")
        let last = try drain(settings, timeout: 240)
        XCTAssertEqual(
            workspace.count(where: "status = 'completed'"), 80,
            "\(workspace.rows("SELECT id, status, error FROM jobs WHERE status <> 'completed' LIMIT 5"))\n\(last.log.suffix(3000))"
        )
        let tasks = try acceptedTasks(mock)
        XCTAssertEqual(tasks.count, 80, "one accepted create per job, not \(tasks.count)")
        for (id, prompt) in prompts {
            let theirs = tasks.filter {
                (($0["details"] as? [String: Any])?["prompt"] as? String)?.hasPrefix(prompt + " ") == true
                    || (($0["details"] as? [String: Any])?["prompt"] as? String) == prompt
            }
            XCTAssertEqual(theirs.count, 1, "job \(id) (\(prompt)) has \(theirs.count) tasks")
            XCTAssertEqual(
                try completedResult(id)["provider_task_id"] as? String, theirs.first?["id"] as? String,
                "job \(id) completed with another task than its own")
        }
        XCTAssertEqual(
            workspace.count(where: "error LIKE '%already exists%'"), 0, "no job may fail for its task existing")
    }

    func testTwoDatabasesOnOneAccountEachGetTheirOwnTaskForTheirJobOne() throws {
        let mock = try startMock(["--task-seconds", "0.5", "--tag-videos"])
        let other = Workspace(name: "second-studio")
        defer { other.remove() }
        let first = try XCTUnwrap(try enqueue("animation", ["provider": "kling", "prompt": "studio one"]).first)
        let added = try WorkerProcess.runCommand(
            ["enqueue", "animation", "--params", #"{"provider":"kling","prompt":"studio two"}"#], workspace: other)
        XCTAssertEqual(added.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "1")
        XCTAssertEqual(first, 1, "both databases number their first job 1")
        try drain(environment(mock))
        let second = try WorkerProcess(workspace: other, arguments: ["run", "--drain"], environment: environment(mock))
        XCTAssertEqual(second.child.waitForExit(timeout: 60), 0, second.log)

        let tasks = try acceptedTasks(mock)
        XCTAssertEqual(tasks.count, 2, "\(tasks)")
        XCTAssertNotEqual(tasks[0]["external_id"] as? String, tasks[1]["external_id"] as? String)
        let results = [
            try completedResult(first),
            try XCTUnwrap(
                (try? JSONSerialization.jsonObject(
                    with: Data((other.rows("SELECT result FROM jobs WHERE id = 1").first?["result"]?.string ?? "").utf8)
                ))
                    as? [String: Any]),
        ]
        let taskIDs = results.compactMap { $0["provider_task_id"] as? String }
        XCTAssertEqual(Set(taskIDs).count, 2, "each database resumed or made its own task: \(taskIDs)")
        for (result, taskID) in zip(results, taskIDs) {
            let file = try XCTUnwrap((result["files"] as? [String])?.first)
            let video = try XCTUnwrap(FileManager.default.contents(atPath: file))
            XCTAssertNotNil(
                video.range(of: Data("mock-providers video kling-\(taskID)\n".utf8)), "\(file) is not task \(taskID)'s")
        }
    }

    func testAKlingTaskThatFailedIsPaidForAgainUnderANewKeyAfterRetry() throws {
        let mock = try startMock(["--task-seconds", "0.5"])
        _ = try mock.control("/_mock/config", method: "POST", json: ["next": ["kling": ["failed_task"]]])
        let id = try XCTUnwrap(try enqueue("animation", ["provider": "kling", "prompt": "a door opens"]).first)
        try drain(environment(mock))
        let failed = try row(id)
        XCTAssertEqual(failed.status, "failed")
        XCTAssertTrue(failed.error?.contains("failed") == true, failed.error ?? "")

        let retry = try runReactorWorker(["retry", "\(id)"], in: workspace)
        XCTAssertEqual(retry.status, 0, retry.stderr)
        try drain(environment(mock))
        _ = try completedResult(id)
        let sent = try creates(mock, path: "/v1/videos/text2video").compactMap {
            $0.body["external_task_id"] as? String
        }
        XCTAssertEqual(sent, [try externalID(id, submission: 1), try externalID(id, submission: 2)])
        XCTAssertEqual(try acceptedTasks(mock).count, 2)
    }
}
