import Foundation
import Reactor
import TestSupport
import XCTest

/// Pipelines on the real binary with the mock providers and real ffmpeg: one submission, each
/// step a job, files passed by reference, failures stopping what depends on them.
final class PipelineEndToEndTests: MediaEndToEndCase {
    private func submit(_ document: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let file = workspace.directory + "/pipeline-\(UUID().uuidString.prefix(6)).json"
        try document.write(toFile: file, atomically: true, encoding: .utf8)
        return try runReactorWorker(["submit", file, "--json"], in: workspace)
    }

    /// The `{"pipeline": P, "jobs": {step: id}}` of a successful submit.
    private func submitted(_ document: String) throws -> (pipeline: Int64, jobs: [String: Int64]) {
        let result = try submit(document)
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try parseJSON(result.stdout) as? [String: Any], result.stdout)
        let jobs = try XCTUnwrap(object["jobs"] as? [String: Any]).mapValues { Int64($0 as? Int ?? 0) }
        return (Int64(object["pipeline"] as? Int ?? 0), jobs)
    }

    private func rows(step: String) -> [[String: SQLiteValue]] {
        workspace.rows("SELECT * FROM jobs WHERE step = ? ORDER BY coalesce(step_index, 0)", [.text(step)])
    }

    private func files(_ row: [String: SQLiteValue]) -> [String] {
        let result = (try? parseJSON(row["result"]?.string ?? "{}")) as? [String: Any]
        return result?["files"] as? [String] ?? []
    }

    private static func heroShot(intro: String) -> String {
        """
        {"name": "hero shot",
         "steps": [
           {"id": "still", "job_type": "image_generation",
            "params": {"provider": "leonardo", "prompt": "a fox in snow", "num_images": 2}},
           {"id": "cutout", "job_type": "background_removal", "for_each": "still",
            "params": {"image": {"step": "still"}}},
           {"id": "clip", "job_type": "animation",
            "params": {"provider": "kling", "prompt": "the fox turns its head", "image": {"step": "still", "index": 1}}},
           {"id": "keyed", "job_type": "video_keying", "params": {"input": {"step": "clip"}}},
           {"id": "intro", "job_type": "video_keying", "params": {"input": "\(intro)"}},
           {"id": "reel", "job_type": "video_stitching",
            "params": {"inputs": [{"step": "intro"}, {"step": "keyed"}], "transition": "crossfade",
                       "transition_seconds": 0.5}}
         ]}
        """
    }

    func testTheHeroShotRunsEveryStepWithTheFilesOfItsParents() throws {
        let mock = try startMock(["--task-seconds", "0.5"])
        let intro = try greenScreenClip("intro.mp4", seconds: 2)
        let (pipeline, jobs) = try submitted(Self.heroShot(intro: intro))
        XCTAssertEqual(Set(jobs.keys), ["still", "cutout", "clip", "keyed", "intro", "reel"])
        XCTAssertEqual(workspace.count(where: "status = 'waiting'"), 4, "every step with a parent waits")
        try drain(environment(mock, ["MAX_CONCURRENT_JOBS": "4"]), timeout: 240)

        let unfinished = workspace.rows("SELECT id, step, status, error FROM jobs WHERE status <> 'completed'")
        XCTAssertTrue(unfinished.isEmpty, "\(unfinished)")
        let stills = files(rows(step: "still")[0])
        XCTAssertEqual(stills.count, 2)
        let cutouts = rows(step: "cutout")
        XCTAssertEqual(cutouts.count, 2, "for_each made one cut-out per still")
        for (index, cutout) in cutouts.enumerated() {
            let params = try XCTUnwrap(try parseJSON(cutout["params"]?.string ?? "") as? [String: Any])
            XCTAssertEqual(params["image"] as? String, stills[index], "cut-out \(index) got its own still")
        }
        let clip = try XCTUnwrap(rows(step: "clip").first)
        let clipParams = try XCTUnwrap(try parseJSON(clip["params"]?.string ?? "") as? [String: Any])
        XCTAssertEqual(clipParams["image"] as? String, stills[1], "index 1 is the second still")
        let keyed = files(try XCTUnwrap(rows(step: "keyed").first))
        let introKeyed = files(try XCTUnwrap(rows(step: "intro").first))
        let reel = try XCTUnwrap(rows(step: "reel").first)
        let reelParams = try XCTUnwrap(try parseJSON(reel["params"]?.string ?? "") as? [String: Any])
        XCTAssertEqual(reelParams["inputs"] as? [String], [introKeyed[0], keyed[0]], "the reel's inputs are recorded")
        let reelFile = try XCTUnwrap(files(reel).first)
        func seconds(_ path: String) throws -> Double {
            Double((try probe(path)["format"] as? [String: Any])?["duration"] as? String ?? "") ?? -1
        }
        let expected = try seconds(introKeyed[0]) + seconds(keyed[0]) - 0.5
        XCTAssertEqual(
            try seconds(reelFile), expected, accuracy: 0.1, "the reel plays the two clips less the crossfade")

        let shown = try runReactorWorker(["pipeline", "show", "\(pipeline)"], in: workspace)
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains("pipeline \(pipeline) \"hero shot\": completed"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("cutout[1]"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains(reelFile), shown.stdout)
        let listed = try runReactorWorker(["pipeline", "list", "--json"], in: workspace)
        let pipelines = try XCTUnwrap(try parseJSON(listed.stdout) as? [[String: Any]])
        XCTAssertEqual(pipelines.first?["status"] as? String, "completed")
        XCTAssertEqual((pipelines.first?["steps"] as? [Any])?.count, 7)
    }

    func testAFailedFirstStepCancelsItsDependantsAndRetryRunsTheWholePipeline() throws {
        let mock = try startMock(["--task-seconds", "0.3"])
        _ = try mock.control("/_mock/config", method: "POST", json: ["next": ["leonardo": ["failed_task"]]])
        let (_, jobs) = try submitted(
            """
            {"name": "fails first", "steps": [
              {"id": "still", "job_type": "image_generation", "params": {"provider": "leonardo", "prompt": "a hare"}},
              {"id": "cutout", "job_type": "background_removal", "params": {"image": {"step": "still"}}},
              {"id": "clip", "job_type": "animation",
               "params": {"provider": "kling", "prompt": "it hops", "image": {"step": "cutout"}}}]}
            """)
        try drain(environment(mock))
        let still = try XCTUnwrap(jobs["still"])
        XCTAssertEqual(try row(still).status, "failed")
        for step in ["cutout", "clip"] {
            let dependant = try row(try XCTUnwrap(jobs[step]))
            XCTAssertEqual(dependant.status, "cancelled", step)
            XCTAssertTrue(
                dependant.error?.hasPrefix("upstream step 'still' (job \(still)) failed: Leonardo generation") == true,
                dependant.error ?? "")
        }
        XCTAssertTrue(try requests(mock).allSatisfy { $0.provider == "leonardo" }, "no provider saw the dependants")

        let retry = try runReactorWorker(["retry", "\(still)"], in: workspace)
        XCTAssertEqual(retry.status, 0, retry.stderr)
        XCTAssertEqual(try row(try XCTUnwrap(jobs["cutout"])).status, "waiting", "its dependants wait again")
        try drain(environment(mock))
        for id in jobs.values { _ = try completedResult(id) }
    }

    func testAKillWhileHalfDoneResumesWithoutRunningAStepTwiceOrPayingAgain() throws {
        let mock = try startMock(["--task-seconds", "1.5"])
        let (_, jobs) = try submitted(
            """
            {"name": "kill", "steps": [
              {"id": "still", "job_type": "image_generation",
               "params": {"provider": "leonardo", "prompt": "an owl", "num_images": 2}},
              {"id": "cutout", "job_type": "background_removal", "for_each": "still", "params": {"image": {"step": "still"}}},
              {"id": "clip", "job_type": "animation",
               "params": {"provider": "kling", "prompt": "it blinks", "image": {"step": "still"}}}]}
            """)
        let first = try startWorker(["run"], environment: environment(mock))
        // Killed once every paid step has its task recorded: BRIA offers no way to find a task whose
        // id a crash kept from being recorded (docs/operations.md), so a kill inside that window
        // may pay twice by design, and this test is about what the worker can cover.
        XCTAssertTrue(
            Wait.until(timeout: 60) {
                self.workspace.count(where: "step IN ('clip', 'cutout') AND provider_task_id IS NOT NULL") == 3
            }, first.log)
        first.child.signal(SIGKILL)
        XCTAssertNotNil(first.child.waitForExit(timeout: 10))
        try drain(environment(mock))
        XCTAssertEqual(workspace.count(where: "status = 'completed'"), 4, "still, two cut-outs and the clip")
        let creates = try requests(mock).filter { $0.method == "POST" }
        XCTAssertEqual(creates.filter { $0.provider == "leonardo" }.count, 1, "the still was paid for once")
        XCTAssertEqual(creates.filter { $0.provider == "kling" }.count, 1, "the clip was paid for once")
        XCTAssertEqual(creates.filter { $0.provider == "bria" }.count, 2, "one cut-out each, none twice")
        _ = jobs
    }

    func testAnInvalidDocumentInsertsNothingAndNamesWhatIsWrong() throws {
        let cases: [(String, String)] = [
            (
                #"{"steps": [{"id": "a", "job_type": "background_removal", "params": {"image": {"step": "b"}}}, {"id": "b", "job_type": "background_removal", "params": {"image": {"step": "a"}}}]}"#,
                "the steps form a cycle"
            ),
            (
                #"{"steps": [{"id": "reel", "job_type": "video_stitching", "params": {"inputs": [{"step": "intro"}, "/x.mp4"]}}]}"#,
                "step 'reel' refers to unknown step 'intro'"
            ),
            (
                #"{"steps": [{"id": "still", "job_type": "image_generation", "params": {"provider": "leonardo", "prompt": "x", "num_images": 9}}]}"#,
                "step 'still': params.num_images must be between 1 and 8, got 9"
            ),
            (#"{"steps": [{"id": "x", "job_type": "painting"}]}"#, "step 'x': unknown job_type 'painting'"),
            (
                #"{"steps": [{"id": "x", "job_type": "animation", "params": {"provider": "kling"}}]}"#,
                "step 'x': params.prompt"
            ),
            (#"{"steps": []}"#, "steps must be a non-empty list"),
            ("{not json", "the pipeline is not valid JSON"),
        ]
        for (document, words) in cases {
            let result = try submit(document)
            XCTAssertEqual(result.status, 1, document)
            XCTAssertTrue(result.stderr.contains(words), "\(document)\n\(result.stderr)")
        }
        let connection = try workspace.connection()
        let tables = try connection.query(connection.dialect.tableExists("jobs"))
        if !tables.isEmpty {
            XCTAssertEqual(workspace.count(where: "true"), 0, "nothing was inserted")
        }
    }

    func testCancellingAPipelineEndsEverythingNotFinished() throws {
        let (pipeline, jobs) = try submitted(
            """
            {"steps": [
              {"id": "still", "job_type": "image_generation", "params": {"provider": "openai", "prompt": "a moth"}},
              {"id": "cutout", "job_type": "background_removal", "params": {"image": {"step": "still"}}}]}
            """)
        let result = try runReactorWorker(["cancel", "--pipeline", "\(pipeline)"], in: workspace)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("2 jobs cancelled"), result.stdout)
        for id in jobs.values { XCTAssertEqual(try row(id).status, "cancelled") }
    }
}
