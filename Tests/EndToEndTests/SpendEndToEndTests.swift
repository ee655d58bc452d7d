import Foundation
import Reactor
import TestSupport
import XCTest

/// Spend and daily budgets on the real binary against the mock, which reports costs in each
/// provider's own fields (Leonardo's `apiCreditCost`, Kling's `final_unit_deduction`, …).
///
/// Leonardo with `num_images: 1` costs 8 credits; the shipped table prices a credit at $0.0025,
/// so each such job is $0.02.
final class SpendEndToEndTests: ProviderEndToEndCase {
    private let oneImage: [String: Any] = ["provider": "leonardo", "prompt": "a paper crane", "num_images": 1]

    private func leonardoSubmits(_ mock: MockProvidersProcess) throws -> Int {
        try requests(mock).count { $0.method == "POST" && $0.path == "/api/rest/v1/generations" }
    }

    private func sumOfCostColumns() -> Double {
        workspace.rows("SELECT coalesce(sum(cost_usd), 0) AS usd FROM jobs").first?["usd"]?.double ?? -1
    }

    private func statsSpend(_ environment: [String: String] = [:]) throws -> [String: Any] {
        let result = try WorkerProcess.runCommand(["stats", "--json"], workspace: workspace, environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        let stats = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        return try XCTUnwrap(stats["spend"] as? [String: Any], result.stdout)
    }

    /// `name{provider="p"} value` from the metrics file.
    private func metric(_ name: String, provider: String, in directory: String) throws -> Double? {
        let text = try String(contentsOfFile: directory + "/reactor_worker.prom", encoding: .utf8)
        let prefix = "\(name){provider=\"\(provider)\"} "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
    }

    func testABudgetForTwelveOfTwentyJobsPaysForTwelveHoldsEightAndARaisedBudgetRunsThem() throws {
        let mock = try startMock()
        let ids = try enqueue("image_generation", oneImage, count: 20)
        let metrics = workspace.directory + "/metrics"
        var settings = environment(
            mock, ["MAX_CONCURRENT_JOBS": "4", "LEONARDO_DAILY_BUDGET_USD": "0.24", "METRICS_DIR": metrics])
        let first = try drain(settings)

        XCTAssertEqual(workspace.count(where: "status = 'completed'"), 12, first.log)
        XCTAssertEqual(try leonardoSubmits(mock), 12, "the mock saw exactly the submits the budget covers")
        let held = workspace.rows("SELECT id, hold, attempts, error FROM jobs WHERE status = 'queued' ORDER BY id")
        XCTAssertEqual(held.count, 8)
        for row in held {
            XCTAssertEqual(
                row["hold"]?.string,
                "waiting for budget: leonardo has spent $0.24 of $0.24 today; resumes at 00:00 UTC")
            XCTAssertEqual(row["attempts"]?.int, 0, "a held job spends no attempt")
            XCTAssertNil(row["error"]?.string, "a held job has not failed")
        }
        XCTAssertTrue(first.log.contains("jobs wait for a daily budget"), first.log)
        XCTAssertTrue(first.log.contains("Holding job"), first.log)
        let heldID = try XCTUnwrap(held.first?["id"]?.int)
        let list = try WorkerProcess.runCommand(["list", "--status", "queued"], workspace: workspace)
        XCTAssertTrue(list.stdout.contains("waiting for budget: leonardo has spent"), list.stdout)
        XCTAssertTrue(list.stdout.contains("held for"), list.stdout)
        let show = try WorkerProcess.runCommand(["show", "\(heldID)"], workspace: workspace)
        XCTAssertTrue(show.stdout.contains("hold:"), show.stdout)
        XCTAssertTrue(show.stdout.contains("resumes at 00:00 UTC"), show.stdout)

        // Every completed job carries what Leonardo reported, and the money from the table.
        for row in workspace.rows(
            "SELECT cost_usd, cost_units, cost_unit, cost_note FROM jobs WHERE status = 'completed'")
        {
            XCTAssertEqual(row["cost_usd"]?.double ?? -1, 0.02, accuracy: 1e-9)
            XCTAssertEqual(row["cost_units"]?.double, 8)
            XCTAssertEqual(row["cost_unit"]?.string, "credits")
            XCTAssertNil(row["cost_note"]?.string, "Leonardo reported its credits: no estimate note")
        }
        var spend = try statsSpend(["LEONARDO_DAILY_BUDGET_USD": "0.24"])
        var leonardo = try XCTUnwrap((spend["providers"] as? [String: Any])?["leonardo"] as? [String: Any])
        XCTAssertEqual(leonardo["today_usd"] as? Double ?? -1, 0.24, accuracy: 1e-9)
        XCTAssertEqual(leonardo["budget_left_usd"] as? Double ?? -1, 0, accuracy: 1e-9)
        XCTAssertEqual((leonardo["today_units"] as? [String: Any])?["credits"] as? Double, 96)
        XCTAssertEqual(try metric("reactor_worker_budget_left_usd", provider: "leonardo", in: metrics) ?? -1, 0)

        settings["LEONARDO_DAILY_BUDGET_USD"] = "0.40"
        let second = try drain(settings)
        for id in ids { _ = try completedResult(id) }
        XCTAssertEqual(try leonardoSubmits(mock), 20, second.log)
        XCTAssertEqual(workspace.rows("SELECT count(*) AS n FROM spend").first?["n"]?.int, 20)

        // stats --json, the metrics file and the rows tell the same sum.
        let rows = sumOfCostColumns()
        XCTAssertEqual(rows, 0.40, accuracy: 1e-9)
        spend = try statsSpend(["LEONARDO_DAILY_BUDGET_USD": "0.40"])
        leonardo = try XCTUnwrap((spend["providers"] as? [String: Any])?["leonardo"] as? [String: Any])
        XCTAssertEqual(spend["total_usd"] as? Double ?? -1, rows, accuracy: 1e-6)
        XCTAssertEqual(spend["today_usd"] as? Double ?? -1, rows, accuracy: 1e-6)
        XCTAssertEqual(leonardo["month_usd"] as? Double ?? -1, rows, accuracy: 1e-6)
        XCTAssertEqual(
            try metric("reactor_worker_spend_usd_total", provider: "leonardo", in: metrics) ?? -1, rows, accuracy: 1e-6)
        XCTAssertEqual(try metric("reactor_worker_budget_left_usd", provider: "leonardo", in: metrics) ?? -1, 0)
        let text = try WorkerProcess.runCommand(
            ["stats"], workspace: workspace, environment: ["LEONARDO_DAILY_BUDGET_USD": "0.40"])
        XCTAssertTrue(text.stdout.contains("$0.00 of $0.40"), text.stdout)
        XCTAssertTrue(text.stdout.contains("160 credits"), text.stdout)
    }

    func testTwoWorkersOnOneDatabaseNeverPayPastTheirSharedBudget() throws {
        let mock = try startMock(["--task-seconds", "0.3"])
        try enqueue("image_generation", oneImage, count: 24)
        // $0.10 is five jobs; both workers race for the last dollar.
        let settings = environment(mock, ["MAX_CONCURRENT_JOBS": "6", "LEONARDO_DAILY_BUDGET_USD": "0.10"])
        let first = try startWorker(["run", "--drain"], environment: settings)
        let second = try WorkerProcess(
            workspace: workspace, arguments: ["run", "--drain"], environment: settings, name: "worker-b")
        XCTAssertEqual(first.child.waitForExit(timeout: 120), 0, first.log)
        XCTAssertEqual(second.child.waitForExit(timeout: 120), 0, second.log)

        XCTAssertEqual(workspace.count(where: "status = 'completed'"), 5, first.log + second.log)
        XCTAssertEqual(workspace.count(where: "status = 'queued' AND hold IS NOT NULL"), 19)
        XCTAssertEqual(try leonardoSubmits(mock), 5)
        XCTAssertLessThanOrEqual(sumOfCostColumns(), 0.10 + 1e-9)
        let ran = [first, second].map { $0.logLines(containing: "Completed job").count }
        XCTAssertEqual(ran.reduce(0, +), 5, "completions per worker: \(ran)")
    }

    func testAKlingJobResumedAfterKillMinusNineIsChargedOnceAndNotHeldForItsPolling() throws {
        let mock = try startMock(["--task-seconds", "3"])
        let id = try XCTUnwrap(try enqueue("animation", ["provider": "kling", "prompt": "a lantern sways"]).first)
        // Exactly one 5-second std video's worth ($0.14): a second charge or check would not fit.
        let settings = environment(mock, ["KLING_DAILY_BUDGET_USD": "0.14"])
        let first = try startWorker(["run"], environment: settings)
        XCTAssertTrue(Wait.until(timeout: 30) { (try? self.row(id).providerTaskID) != nil }, first.log)
        let paid = workspace.rows("SELECT usd, state, estimated FROM spend WHERE job_id = ?", [.integer(id)])
        XCTAssertEqual(paid.count, 1)
        XCTAssertEqual(paid.first?["state"]?.string, "charged")
        XCTAssertEqual(paid.first?["estimated"]?.int, 1, "Kling reports its units when the video is done")
        first.child.signal(SIGKILL)
        XCTAssertNotNil(first.child.waitForExit(timeout: 10))

        let second = try drain(settings)
        _ = try completedResult(id)
        XCTAssertTrue(second.logLines(containing: "Holding job").isEmpty, second.log)
        XCTAssertEqual(try creates(mock), 1, "one Kling task paid for")
        let spend = workspace.rows("SELECT usd, units, estimated FROM spend WHERE job_id = ?", [.integer(id)])
        XCTAssertEqual(spend.count, 1, "one charge for one submission")
        XCTAssertEqual(spend.first?["estimated"]?.int, 0, "the final poll's final_unit_deduction replaced the estimate")
        let job = try XCTUnwrap(
            workspace.rows("SELECT cost_usd, cost_units, cost_unit, hold FROM jobs WHERE id = ?", [.integer(id)]).first)
        XCTAssertEqual(job["cost_usd"]?.double ?? -1, 0.14, accuracy: 1e-9)
        XCTAssertEqual(job["cost_units"]?.double, 1)
        XCTAssertEqual(job["cost_unit"]?.string, "units")
        XCTAssertNil(job["hold"]?.string)
    }

    private func creates(_ mock: MockProvidersProcess) throws -> Int {
        try requests(mock).count { $0.method == "POST" && $0.path == "/v1/videos/text2video" }
    }

    func testAModelTheTableCannotPriceSaysSoAndIsNotPaidForUnderABudget() throws {
        let mock = try startMock()
        let prices = workspace.directory + "/prices.json"
        try Data(
            """
            {"prices": [{"provider": "leonardo", "model": "known-model", "unit": "credit", "usd": 0.01,
                         "taken": "2026-12-01", "source": "our Leonardo plan"}]}
            """.utf8
        ).write(to: URL(fileURLWithPath: prices))
        var known = oneImage
        known["model"] = "known-model"
        var mystery = oneImage
        mystery["model"] = "mystery-model"
        let priced = try XCTUnwrap(try enqueue("image_generation", known).first)
        let unpriced = try XCTUnwrap(try enqueue("image_generation", mystery).first)
        try drain(environment(mock, ["PRICES_FILE": prices]))
        let rows = workspace.rows("SELECT id, cost_usd, cost_units, cost_note FROM jobs ORDER BY id")
        XCTAssertEqual(rows[0]["id"]?.int, priced)
        XCTAssertEqual(rows[0]["cost_usd"]?.double ?? -1, 0.08, accuracy: 1e-9)
        XCTAssertEqual(rows[1]["id"]?.int, unpriced)
        XCTAssertNil(rows[1]["cost_usd"]?.double, "no silent zero")
        XCTAssertEqual(rows[1]["cost_units"]?.double, 8, "the provider's own units are still recorded")
        XCTAssertEqual(rows[1]["cost_note"]?.string, "no price known for leonardo mystery-model (per credit)")
        let spend = try statsSpend()
        let leonardo = try XCTUnwrap((spend["providers"] as? [String: Any])?["leonardo"] as? [String: Any])
        XCTAssertEqual(leonardo["unpriced_jobs"] as? Int, 1)

        // Under a budget, a job the worker cannot price is not paid for: it waits, saying why.
        let held = try XCTUnwrap(try enqueue("image_generation", mystery).first)
        let worker = try drain(environment(mock, ["PRICES_FILE": prices, "LEONARDO_DAILY_BUDGET_USD": "5"]))
        let row = try XCTUnwrap(
            workspace.rows("SELECT status, hold FROM jobs WHERE id = ?", [.integer(held)]).first, worker.log)
        XCTAssertEqual(row["status"]?.string, "queued")
        XCTAssertTrue(
            row["hold"]?.string?.hasPrefix("waiting for a price: no price known for leonardo mystery-model") == true,
            row["hold"]?.string ?? "no hold")
        XCTAssertEqual(try leonardoSubmits(mock), 2, "the third job was never submitted")
        let show = try WorkerProcess.runCommand(["show", "\(unpriced)"], workspace: workspace)
        XCTAssertTrue(show.stdout.contains("no price known for leonardo mystery-model"), show.stdout)
    }

    func testOtherProvidersGoOnWhileOneProvidersBudgetIsSpent() throws {
        let mock = try startMock()
        try enqueue("image_generation", oneImage, count: 3)
        let openai = try enqueue("image_generation", ["provider": "openai", "prompt": "a lighthouse"], count: 3)
        try drain(environment(mock, ["LEONARDO_DAILY_BUDGET_USD": "0.02"]))
        for id in openai { _ = try completedResult(id) }
        XCTAssertEqual(
            workspace.count(where: "status = 'completed' AND params LIKE '%leonardo%'"), 1, "one Leonardo job fits")
        XCTAssertEqual(workspace.count(where: "status = 'queued' AND hold IS NOT NULL"), 2)
        // OpenAI reported tokens for gpt-image-1, priced per token.
        let costs = workspace.rows("SELECT cost_unit, cost_usd FROM jobs WHERE params LIKE '%openai%'")
        for cost in costs {
            XCTAssertEqual(cost["cost_unit"]?.string, "tokens")
            XCTAssertGreaterThan(cost["cost_usd"]?.double ?? 0, 0)
        }
    }

    func testBadSpendSettingsStopTheWorkerWithTheSettingNamed() throws {
        let prices = workspace.directory + "/prices.json"
        try Data(#"{"prices": [{"provider": "kling", "model": "*", "unit": "unit", "usd": 0.1, "taken": "x"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: prices))
        let cases: [([String: String], String)] = [
            (["PRICES_FILE": prices], "PRICES_FILE \(prices): prices[0].source is required"),
            (["PRICES_FILE": workspace.directory + "/none.json"], "PRICES_FILE: cannot read"),
            (["KLING_DAILY_BUDGET_USD": "forty"], "KLING_DAILY_BUDGET_USD must be a number of US dollars"),
            (["DAILY_BUDGET_USD": "-1"], "DAILY_BUDGET_USD must be a number of US dollars"),
        ]
        for (settings, message) in cases {
            let worker = try startWorker(["run"], environment: settings)
            XCTAssertEqual(worker.child.waitForExit(timeout: 20), 2, worker.log)
            XCTAssertTrue(worker.log.contains(message), "\(settings): \(worker.log)")
        }
        let listed = try WorkerProcess.runCommand(["prices", "--json"], workspace: workspace)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let document = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
        XCTAssertFalse((document["prices"] as? [Any] ?? []).isEmpty)
    }
}
