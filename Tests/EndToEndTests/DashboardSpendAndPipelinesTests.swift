import Foundation
import Reactor
import TestSupport
import XCTest

/// The dashboard's view of spend (issue 17) and pipelines (issue 16): `/api/stats` money and
/// held jobs, a job's cost and hold, and `/api/pipelines` submitting and reading a document,
/// refusing a bad one with nothing inserted.
final class DashboardSpendAndPipelinesTests: DashboardEndToEndCase {
    private func start(_ environment: [String: String] = [:]) throws -> RawHTTP {
        try createDatabase()
        return try startDashboard(["web"], environment: environment).client
    }

    private func today() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }

    func testStatsShowTodaysSpendTheBudgetLeftAndJobsHeldByIt() throws {
        let client = try start(["KLING_DAILY_BUDGET_USD": "40", "DAILY_BUDGET_USD": "100"])
        let paid = try workspace.insert([
            "job_type": "animation", "params": #"{"provider":"kling","prompt":"waves"}"#,
            "status": "completed", "cost_usd": .real(12.25), "cost_units": .real(3.5), "cost_unit": "units",
        ])
        try workspace.connection().run(
            "INSERT INTO spend (job_id, submission, provider, model, day, usd, units, unit, state) VALUES (?1, 1, 'kling', 'kling-v1', ?2, 12.25, 3.5, 'units', 'charged')",
            [.integer(paid), .text(today())])
        let reason = "waiting for budget: kling has spent $12.25 of $40.00 today; resumes at 00:00 UTC"
        let held = try workspace.insert([
            "job_type": "animation", "params": #"{"provider":"kling","prompt":"more waves"}"#,
            "hold": .text(reason), "run_after": .real(Date().timeIntervalSince1970 + 3600),
        ])

        let stats = try client.send("GET", "/api/stats")
        XCTAssertEqual(stats.status, 200, stats.text)
        XCTAssertEqual((stats.json["queue"] as? [String: Any])?["held_by_budget"] as? Int, 1, stats.text)
        let spend = try XCTUnwrap(stats.json["spend"] as? [String: Any], stats.text)
        XCTAssertEqual(spend["today_usd"] as? Double, 12.25)
        XCTAssertEqual(spend["budget_usd"] as? Double, 100)
        XCTAssertEqual(spend["budget_left_usd"] as? Double, 87.75)
        let kling = try XCTUnwrap((spend["providers"] as? [String: Any])?["kling"] as? [String: Any])
        XCTAssertEqual(kling["budget_left_usd"] as? Double, 27.75)
        XCTAssertEqual((kling["today_units"] as? [String: Any])?["units"] as? Double, 3.5)

        let waiting = try client.send("GET", "/api/jobs/\(held)")
        XCTAssertEqual(waiting.status, 200, waiting.text)
        let job = (waiting.json["job"] as? [String: Any]) ?? waiting.json
        XCTAssertEqual(job["hold"] as? String, reason)
        XCTAssertEqual(job["phase"] as? String, "waiting for budget")
        XCTAssertEqual(job["status"] as? String, "queued", "a held job is still queued, not failed")
        let cost = try client.send("GET", "/api/jobs/\(paid)")
        let costed = (cost.json["job"] as? [String: Any]) ?? cost.json
        XCTAssertEqual(costed["cost_usd"] as? Double, 12.25)
        XCTAssertEqual(costed["cost_units"] as? Double, 3.5)
        XCTAssertEqual(costed["cost_unit"] as? String, "units")
        XCTAssertTrue(costed["hold"] is NSNull, "a finished job shows no hold")
    }

    func testAPipelineIsSubmittedAndReadBackWithItsStepsAndABadOneInsertsNothing() throws {
        let client = try start()
        let document: [String: Any] = [
            "name": "hero shot",
            "steps": [
                ["id": "still", "job_type": "image_generation", "params": ["provider": "openai", "prompt": "a fox"]],
                [
                    "id": "cutout", "job_type": "background_removal", "for_each": "still",
                    "params": ["image": ["step": "still"]],
                ],
                [
                    "id": "clip", "job_type": "animation",
                    "params": ["provider": "kling", "prompt": "the fox turns", "image": ["step": "still"]],
                ],
            ],
        ]
        let headers = ["Content-Type": "application/json"]
        let created = try client.send("POST", "/api/pipelines", headers: headers, body: json(document))
        XCTAssertEqual(created.status, 201, created.text)
        let pipeline = try XCTUnwrap(created.json["pipeline"] as? Int64, created.text)
        let jobs = try XCTUnwrap(created.json["jobs"] as? [String: Any], created.text)
        XCTAssertNotNil(jobs["still"] as? Int64)
        XCTAssertNotNil(jobs["clip"] as? Int64)
        XCTAssertEqual(created.json["url"] as? String, "/api/pipelines/\(pipeline)")

        let read = try client.send("GET", "/api/pipelines/\(pipeline)")
        XCTAssertEqual(read.status, 200, read.text)
        XCTAssertEqual(read.json["name"] as? String, "hero shot")
        let steps = try XCTUnwrap(read.json["steps"] as? [[String: Any]], read.text)
        XCTAssertEqual(Set(steps.compactMap { $0["step"] as? String }), ["still", "cutout", "clip"], read.text)
        let cutout = try XCTUnwrap(steps.first { $0["step"] as? String == "cutout" })
        XCTAssertEqual(cutout["status"] as? String, "waiting", "the for_each step waits for its parent: \(cutout)")
        XCTAssertEqual(steps.first { $0["step"] as? String == "still" }?["status"] as? String, "queued")
        let listed = try client.send("GET", "/api/pipelines")
        XCTAssertEqual((listed.json["pipelines"] as? [[String: Any]])?.first?["id"] as? Int64, pipeline)

        let before = snapshot()
        let unknownStep: [String: Any] = [
            "steps": [["id": "keyed", "job_type": "video_keying", "params": ["input": ["step": "nothing"]]]]
        ]
        let refused = try client.send("POST", "/api/pipelines", headers: headers, body: json(unknownStep))
        XCTAssertEqual(refused.status, 400, refused.text)
        XCTAssertTrue(refused.text.contains("keyed") && refused.text.contains("nothing"), refused.text)
        let garbage = try client.send("POST", "/api/pipelines", headers: headers, body: Data("{\"steps\": [".utf8))
        XCTAssertEqual(garbage.status, 400, garbage.text)
        XCTAssertEqual(snapshot(), before, "a refused pipeline wrote something")
        XCTAssertEqual(try client.send("GET", "/api/pipelines/999").status, 404)
        XCTAssertEqual(try client.send("GET", "/api/pipelines/abc").status, 400)
        XCTAssertEqual(try client.send("GET", "/api/pipelines?limit=0").status, 400)
    }
}
