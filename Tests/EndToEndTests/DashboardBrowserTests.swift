import Foundation
import JSON
import Reactor
import TestSupport
import XCTest

/// The dashboard in a real headless Chromium (Debian's chromium and chromium-driver, driven
/// over WebDriver), against the real `reactor-worker` and `mock-providers`: the test guide's
/// steps as a person does them in the browser. Screenshots of every step are kept in
/// `$SCREENSHOT_DIR` (default: the temporary folder's `reactor-worker-screenshots/<test>`);
/// each test prints where.
final class DashboardBrowserTests: DashboardEndToEndCase {
    private var browser: WebDriver?

    override func tearDown() {
        browser?.quit()
        browser = nil
        super.tearDown()
    }

    /// Starts the mock (images take about 4 s, so several are seen running at once), the
    /// worker with its dashboard, and the browser on it.
    private func start(maxConcurrentJobs: Int = 3, extra: [String: String] = [:]) throws -> (
        url: String, mock: MockProvidersProcess
    ) {
        let mock = try startMock([
            "--latency-openai", "4", "--latency-ark", "4", "--latency-leonardo", "0.5", "--task-seconds", "4",
        ])
        var environment = self.environment(mock)
        environment["MAX_CONCURRENT_JOBS"] = "\(maxConcurrentJobs)"
        environment["WEB_NOTICE"] = "Demo mode: the providers are fake (mock-providers on this machine)."
        for (name, value) in extra { environment[name] = value }
        let dashboard = try startDashboard(["run"], environment: environment)
        let test = name.split(whereSeparator: { " .".contains($0) }).last.map { $0.filter { $0 != "]" } } ?? "browser"
        let shots =
            ProcessInfo.processInfo.environment["SCREENSHOT_DIR"].map { $0 + "/" + test }
            ?? FileManager.default.temporaryDirectory.path + "/reactor-worker-screenshots/" + test
        browser = try WebDriver(profileDirectory: workspace.directory + "/chromium", screenshotDirectory: shots)
        return (dashboard.url, mock)
    }

    private func count(_ css: String) throws -> Int {
        (try browser!.execute("return document.querySelectorAll(arguments[0]).length", [css]) as? Int) ?? 0
    }

    /// The ids of the rows the guide's query finds running, asked the way the guide asks: `sqlite3`.
    private func runningBySQLite() throws -> [String] {
        let answer = try workspace.runClient("SELECT id FROM jobs WHERE status IN ('processing','keying_processing')")
        XCTAssertEqual(answer.status, 0, answer.stderr)
        return answer.stdout.split(separator: "\n").map(String.init)
    }

    private func rowStatus(_ id: Int64) throws -> String {
        (try browser!.execute(
            "const row = document.querySelector(`#jobs tr[data-id='${arguments[0]}']`); return row ? row.dataset.status : null",
            [id]) as? String) ?? "not shown"
    }

    /// Test 1 of the guide: queue 5 images with different models from the form, see several
    /// processing at once (and `sqlite3` agrees), then all 5 completed with thumbnails.
    func testFiveImagesFromTheFormRunSeveralAtOnceAndShowTheirThumbnails() throws {
        let (url, _) = try start()
        let browser = try XCTUnwrap(browser)
        try browser.open(url)
        _ = try browser.element("#queue-form #q-prompt")
        XCTAssertTrue(
            try browser.text(browser.element("#notice")).contains("fake"), "the page says the providers are fake")
        try browser.screenshot("dashboard-empty")
        for box in try browser.findAll("#q-models input[type=checkbox]") {
            let checked = try browser.execute("return arguments[0].checked", [box.argument]) as? Bool ?? false
            if !checked { try browser.click(box) }
        }
        try browser.type("a lighthouse at dusk, oil painting", into: browser.element("#q-prompt"))
        let submit = try browser.element("#queue-submit")
        XCTAssertEqual(try browser.text(submit), "Queue 5 jobs")
        try browser.click(submit)
        try browser.wait("the 5 queued jobs in the table", timeout: 30) { try count("#jobs tr[data-id]") == 5 }
        let providers = Set(
            workspace.rows("SELECT params FROM jobs").compactMap {
                (try? JSONValue.parse($0["params"]?.string ?? ""))?["provider"]?.stringValue
            })
        XCTAssertEqual(providers, ["openai", "leonardo", "bytedance"], "five jobs with different providers")

        var shownRunning = 0
        try browser.wait("3 jobs shown as processing at once", timeout: 30, interval: 0.05) {
            shownRunning = try count("#jobs tr[data-status=processing]")
            return shownRunning >= 3
        }
        let running = try runningBySQLite()
        XCTAssertGreaterThanOrEqual(running.count, 3, "the guide's sqlite3 query agrees with the page: \(running)")
        try browser.wait("the header showing the worker's gate full", timeout: 3) {
            try browser.text(browser.element("#workers")).contains("3/3 active")
        }
        try browser.execute("document.getElementById('jobs-table').scrollIntoView({block: 'end'})")
        try browser.screenshot("three-processing")

        try browser.wait("all 5 completed with thumbnails", timeout: 90) {
            try count("#jobs tr[data-status=completed]") == 5
                && (browser.execute(
                    "return [...document.querySelectorAll('#jobs tr[data-status=completed] img.thumb')].filter(i => i.complete && i.naturalWidth > 0).length"
                ) as? Int ?? 0) >= 5
        }
        XCTAssertEqual(workspace.count(where: "status = 'completed'"), 5)
        try browser.wait("the bulk cancel button gone once nothing is left to cancel", timeout: 10) {
            try browser.execute("return document.getElementById('bulk-cancel').hidden") as? Bool == true
        }
        try browser.screenshot("five-completed")
        try browser.resize(width: 390, height: 844)
        try browser.screenshot("phone")
    }

    /// A budget that covers one image: the page shows the other jobs waiting for it, with the
    /// reason on the job's page, and the spend card shows the day's money and nothing left.
    func testJobsOverTheDailyBudgetWaitOnThePageSayingWhyAndTheSpendCardShowsTheDay() throws {
        let (url, _) = try start(extra: ["OPENAI_DAILY_BUDGET_USD": "0.05"])
        let browser = try XCTUnwrap(browser)
        let ids = try (1...3).map { take in
            try workspace.insert([
                "job_type": "image_generation",
                "params": .text(#"{"provider":"openai","prompt":"a fox, take \#(take)"}"#),
            ])
        }
        try browser.open(url)
        try browser.wait("two rows waiting for budget", timeout: 30) {
            try count("#jobs tr[data-id]") == 3
                && (browser.execute(
                    "return [...document.querySelectorAll('#jobs tr[data-id]')].filter(r => r.textContent.includes('waiting for budget')).length"
                ) as? Int ?? 0) == 2
        }
        try browser.wait("one image completed and paid for", timeout: 60) {
            try count("#jobs tr[data-status=completed]") == 1
                && (try browser.text(browser.element("#spend-today"))).hasPrefix("$")
                && (try browser.text(browser.element("#spend-today"))) != "$0.00"
        }
        XCTAssertEqual(try browser.text(browser.element("#held")), "2")
        let card = try browser.text(browser.element("#spend-card"))
        XCTAssertTrue(card.contains("openai"), card)
        // What is left is less than the next image's estimate ($0.042), so the other two wait.
        let left = try XCTUnwrap(
            card.range(of: #"\$0\.0[0-4] of \$0\.05"#, options: .regularExpression), "no budget left shown: \(card)")
        XCTAssertFalse(card[left].isEmpty)
        try browser.screenshot("spend-held")

        let held = try XCTUnwrap(
            workspace.rows("SELECT id FROM jobs WHERE hold IS NOT NULL ORDER BY id").first?["id"]?.int)
        XCTAssertTrue(ids.contains(held))
        try browser.open(url + "/jobs/\(held)")
        try browser.wait("the job page naming the budget", timeout: 10) {
            try browser.text(browser.element("#facts")).contains("openai has spent")
        }
        XCTAssertEqual(try browser.text(browser.element("#job-status")), "queued")
        try browser.screenshot("held-job")
    }

    /// Cancel a running animation from its row, and retry a failed image job from its row.
    func testCancelARunningAnimationAndRetryAFailedJobFromThePage() throws {
        let (url, mock) = try start()
        _ = try mock.control(
            "/_mock/config", method: "POST", json: ["task_seconds": 120, "next": ["openai": ["failed_task"]]])
        let browser = try XCTUnwrap(browser)
        try browser.open(url)
        try browser.click(browser.element("#queue-tabs button[data-type=animation]"))
        try browser.type("waves roll in at night", into: browser.element("#q-anim-prompt"))
        try browser.click(browser.element("#queue-submit"))
        try browser.wait("the animation queued", timeout: 30) {
            self.workspace.count(where: "job_type = 'animation'") == 1
        }
        try browser.click(browser.element("#queue-tabs button[data-type=image_generation]"))
        for box in try browser.findAll("#q-models input[type=checkbox]") {
            let model = try browser.execute("return arguments[0].value", [box.argument]) as? String
            let checked = try browser.execute("return arguments[0].checked", [box.argument]) as? Bool ?? false
            if checked != (model == "openai-gpt-image-1") { try browser.click(box) }
        }
        try browser.type("a fox the moderation dislikes", into: browser.element("#q-prompt"))
        try browser.click(browser.element("#queue-submit"))
        try browser.wait("the image queued", timeout: 30) {
            self.workspace.count(where: "job_type = 'image_generation'") == 1
        }
        let animation = try XCTUnwrap(
            workspace.rows("SELECT id FROM jobs WHERE job_type = 'animation'").first?["id"]?.int)
        let image = try XCTUnwrap(
            workspace.rows("SELECT id FROM jobs WHERE job_type = 'image_generation'").first?["id"]?.int)

        try browser.wait("the animation running on the page", timeout: 30) { try rowStatus(animation) == "processing" }
        try browser.wait("its provider task recorded", timeout: 30) {
            (try browser.execute("return document.querySelector(`#jobs tr[data-id='\(animation)']`).textContent")
                as? String ?? "")
                .contains("provider task")
        }
        try browser.screenshot("animation-running")
        try browser.click(browser.element("#jobs tr[data-id='\(animation)'] button[data-action=cancel]"))
        try browser.wait("the animation cancelled on the page", timeout: 30) { try rowStatus(animation) == "cancelled" }
        XCTAssertEqual(status(animation), "cancelled")
        try browser.screenshot("animation-cancelled")

        try browser.wait("the image failed on the page", timeout: 30) { try rowStatus(image) == "failed" }
        XCTAssertTrue(
            (workspace.rows("SELECT error FROM jobs WHERE id = ?", [.integer(image)]).first?["error"]?.string ?? "")
                .contains("moderation"))
        try browser.screenshot("image-failed")
        try browser.click(browser.element("#jobs tr[data-id='\(image)'] button[data-action=retry]"))
        try browser.wait("the retried image completed on the page", timeout: 60) { try rowStatus(image) == "completed" }
        XCTAssertEqual(status(image), "completed")
        XCTAssertEqual(
            workspace.rows("SELECT attempts FROM jobs WHERE id = ?", [.integer(image)]).first?["attempts"]?.int, 1)
        try browser.screenshot("image-retried")
    }

    /// Key a finished animation from the form, open the keyed job's page, and find its video
    /// playing from /files/ over the checkerboard.
    func testAKeyedVideosPagePlaysItFromFiles() throws {
        let (url, _) = try start()
        let animation = try XCTUnwrap(
            enqueue("animation", ["provider": "kling", "prompt": "a cat turns its head"]).first)
        waitForStatus(animation, ["completed"], timeout: 60)
        let browser = try XCTUnwrap(browser)
        try browser.open(url)
        try browser.click(browser.element("#queue-tabs button[data-type=video_keying]"))
        try browser.wait("the finished animation offered as input", timeout: 30) {
            (try browser.execute("return document.querySelector('#queue-form select.pick').value") as? String)
                == "\(animation)"
        }
        try browser.screenshot("keying-form")
        try browser.click(browser.element("#queue-submit"))
        try browser.wait("the keying job queued", timeout: 30) {
            self.workspace.count(where: "job_type = 'video_keying'") == 1
        }
        let keyed = try XCTUnwrap(
            workspace.rows("SELECT id FROM jobs WHERE job_type = 'video_keying'").first?["id"]?.int)
        try browser.wait("keying completed on the page", timeout: 60) { try rowStatus(keyed) == "completed" }
        try browser.click(browser.element("#queue-message a[href='/jobs/\(keyed)']"))
        let video = try browser.element("#outputs video")
        let source = try browser.execute("return arguments[0].currentSrc", [video.argument]) as? String ?? ""
        XCTAssertTrue(source.contains("/files/\(keyed)/keyed.webm"), source)
        XCTAssertEqual(
            try browser.execute("return arguments[0].parentElement.className", [video.argument]) as? String, "checker")
        try browser.execute("arguments[0].play()", [video.argument])
        try browser.wait("the video playing", timeout: 30) {
            (try browser.execute(
                "return arguments[0].readyState >= 2 && arguments[0].currentTime > 0 && !arguments[0].error",
                [video.argument])
                as? Bool) == true
        }
        try browser.execute("arguments[0].pause()", [video.argument])
        try browser.screenshot("keyed-video-playing")
        try browser.prefersColorScheme("dark")
        try browser.screenshot("keyed-video-dark")
    }
}
