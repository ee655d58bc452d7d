import Foundation
import Reactor
import TestSupport
import XCTest

/// Every endpoint of docs/api.md against the real binary (`reactor-worker web` on a jobs.db
/// whose rows the tests write directly), including the bad input each must refuse with a 4xx
/// that names the field.
final class DashboardAPITests: DashboardEndToEndCase {
    private var client: RawHTTP!
    private var dashboard: WorkerProcess?

    override func setUp() {
        super.setUp()
        XCTAssertNoThrow(try createDatabase())
        let started = try? startDashboard(["web"])
        client = started?.client
        dashboard = started?.worker
    }

    /// Inserts a row as another program would, with the given columns; returns its id.
    @discardableResult
    private func insert(_ type: String, _ params: String, _ columns: [String: SQLiteValue] = [:]) throws -> Int64 {
        var all = columns
        all["job_type"] = .text(type)
        all["params"] = .text(params)
        return try workspace.insert(all)
    }

    private func post(_ path: String, _ body: Any) throws -> RawHTTP.Reply {
        try client.send("POST", path, headers: Self.jsonHeaders, body: json(body))
    }

    func testListFiltersSearchesAndPagesNewestFirst() throws {
        let failed = try insert(
            "animation", #"{"provider":"kling","prompt":"waves at night"}"#,
            ["status": .text("failed"), "error": .text("HTTP 429 rate limit from kling")])
        let fox = try insert("image_generation", #"{"provider":"leonardo","prompt":"a red fox"}"#)
        let keyed = try insert("video_keying", #"{"input":{"job":1}}"#, ["status": .text("completed")])

        let all = try client.send("GET", "/api/jobs")
        XCTAssertEqual(all.status, 200, all.text)
        let everything = (all.json["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int64 }
        XCTAssertEqual(everything, [keyed, fox, failed, 1])

        func ids(_ query: String) throws -> [Int64] {
            let reply = try client.send("GET", "/api/jobs?" + query)
            XCTAssertEqual(reply.status, 200, "\(query): \(reply.text)")
            return (reply.json["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int64 }
        }
        XCTAssertEqual(try ids("status=failed"), [failed])
        XCTAssertEqual(try ids("status=failed,completed"), [keyed, failed])
        XCTAssertEqual(try ids("type=video_keying"), [keyed])
        XCTAssertEqual(try ids("provider=leonardo"), [fox])
        XCTAssertEqual(try ids("provider=ffmpeg"), [keyed])
        XCTAssertEqual(try ids("q=RED%20FOX"), [fox], "search is case-insensitive in prompts")
        XCTAssertEqual(try ids("q=429"), [failed], "search finds errors")
        XCTAssertEqual(try ids("q=100%25"), [Int64](), "a % in the search is a literal")
        XCTAssertEqual(try ids("status=running"), [Int64]())

        let first = try client.send("GET", "/api/jobs?limit=2&count=1")
        XCTAssertEqual((first.json["jobs"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual(first.json["count"] as? Int, 4)
        XCTAssertEqual((first.json["bulk"] as? [String: Any])?["retry"] as? Int, 1)
        XCTAssertEqual((first.json["bulk"] as? [String: Any])?["cancel"] as? Int, 2)
        let cursor = try XCTUnwrap(first.json["next_cursor"] as? Int64)
        XCTAssertEqual(cursor, fox)
        XCTAssertEqual(try ids("limit=2&before=\(cursor)"), [failed, 1])
        let last = try client.send("GET", "/api/jobs?limit=2&before=\(cursor)")
        XCTAssertTrue(last.json["next_cursor"] is NSNull, "the last page has no cursor")
    }

    func testListRefusesUnknownFilterWordsNamingTheField() throws {
        for (query, field) in [
            ("status=finished", "status"), ("type=video", "type"), ("provider=midjourney", "provider"),
            ("limit=0", "limit"), ("limit=x", "limit"), ("before=-3", "before"),
        ] {
            let reply = try client.send("GET", "/api/jobs?" + query)
            XCTAssertEqual(reply.status, 400, query)
            XCTAssertEqual(reply.json["field"] as? String, field, query)
            XCTAssertFalse((reply.json["error"] as? String ?? "").isEmpty, query)
        }
    }

    func testOneJobShowsEverythingWithSecretsRemoved() throws {
        let id = try insert(
            "image_generation",
            #"{"provider":"openai","prompt":"a fox","options":{"api_key":"sk-live-abcdef123456","quality":"high"}}"#,
            [
                "status": .text("failed"), "error": .text("boom"), "provider_task_id": .text("task-42"),
                "attempts": .integer(2),
            ])
        let reply = try client.send("GET", "/api/jobs/\(id)")
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.json["status"] as? String, "failed")
        XCTAssertEqual(reply.json["error"] as? String, "boom")
        XCTAssertEqual(reply.json["provider_task_id"] as? String, "task-42")
        XCTAssertEqual(reply.json["attempts"] as? Int, 2)
        let options = (reply.json["params"] as? [String: Any])?["options"] as? [String: Any]
        XCTAssertEqual(options?["api_key"] as? String, "[redacted]")
        XCTAssertEqual(options?["quality"] as? String, "high")
        XCTAssertFalse(reply.text.contains("sk-live-abcdef123456"))
        let page = try client.send("GET", "/jobs/\(id)")
        XCTAssertEqual(page.status, 200)
        XCTAssertFalse(page.text.contains("sk-live-abcdef123456"), "the job page shows no key either")

        XCTAssertEqual(try client.send("GET", "/api/jobs/999").status, 404)
        XCTAssertEqual(try client.send("GET", "/jobs/999").status, 404)
        let bad = try client.send("GET", "/api/jobs/abc")
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.json["field"] as? String, "id")
    }

    func testQueueingOneOrManyAndRefusingBadInputWritesNothing() throws {
        let one = try post(
            "/api/jobs", ["job_type": "image_generation", "params": ["provider": "openai", "prompt": "a fox"]])
        XCTAssertEqual(one.status, 201, one.text)
        XCTAssertEqual((one.json["ids"] as? [Int64])?.count, 1)
        let many = try post(
            "/api/jobs",
            [
                "jobs": [
                    [
                        "job_type": "image_generation", "params": ["provider": "leonardo", "prompt": "a cat"],
                        "count": 2,
                    ],
                    ["type": "animation", "params": ["provider": "kling", "prompt": "waves"], "priority": 5],
                ]
            ])
        XCTAssertEqual(many.status, 201, many.text)
        let ids = try XCTUnwrap(many.json["ids"] as? [Int64])
        XCTAssertEqual(ids.count, 3)
        XCTAssertEqual(
            workspace.rows("SELECT priority FROM jobs WHERE id = ?", [.integer(ids[2])]).first?["priority"]?.int, 5)

        let before = snapshot()
        let cases: [(String, Data, String?)] = [
            ("malformed JSON", Data(#"{"job_type": "image_generation", "params": {"#.utf8), nil),
            ("unknown type", json(["job_type": "video_upscale", "params": [:]]), "job_type"),
            (
                "missing prompt", json(["job_type": "image_generation", "params": ["provider": "openai"]]),
                "params.prompt"
            ),
            ("missing provider", json(["job_type": "animation", "params": ["prompt": "x"]]), "params.provider"),
            (
                "wrong type",
                json([
                    "job_type": "image_generation",
                    "params": ["provider": "openai", "prompt": "x", "width": "big", "height": 5],
                ]), "params.width"
            ),
            (
                "out of range", json(["job_type": "video_keying", "params": ["input": "/a.mp4", "similarity": 7]]),
                "params.similarity"
            ),
            (
                "bad input", json(["job_type": "background_removal", "params": ["image": ["job": "one"]]]),
                "params.image"
            ),
            (
                "one stitch input", json(["job_type": "video_stitching", "params": ["inputs": ["/a.mp4"]]]),
                "params.inputs"
            ),
            (
                "one bad in a list",
                json([
                    "jobs": [
                        ["job_type": "image_generation", "params": ["provider": "openai", "prompt": "ok"]],
                        ["job_type": "nope"],
                    ]
                ]), "jobs[1].job_type"
            ),
            ("not an object", json([1, 2]), "jobs[0].job_type"),
            ("empty body", Data(), nil),
        ]
        for (what, body, field) in cases {
            let reply = try client.send("POST", "/api/jobs", headers: Self.jsonHeaders, body: body)
            XCTAssertEqual(reply.status, 400, "\(what): \(reply.text)")
            XCTAssertFalse((reply.json["error"] as? String ?? "").isEmpty, what)
            if let field { XCTAssertEqual(reply.json["field"] as? String, field, "\(what): \(reply.text)") }
        }
        let wrongType = try client.send(
            "POST", "/api/jobs", headers: ["Content-Type": "text/plain", "X-CSRF-Token": try csrfToken()],
            body: Data("{}".utf8))
        XCTAssertEqual(wrongType.status, 415, wrongType.text)
        XCTAssertEqual(snapshot(), before, "no refused request wrote a row")
    }

    func testCancelAndRetryAnswerWhatHappenedOrWhyNot() throws {
        let queued = try insert("image_generation", #"{"provider":"openai","prompt":"x"}"#)
        let running = try insert("animation", #"{"provider":"kling","prompt":"x"}"#, ["status": .text("processing")])
        let failed = try insert(
            "animation", #"{"provider":"kling","prompt":"x"}"#, ["status": .text("failed"), "error": .text("no")])
        let done = try insert(
            "image_generation", #"{"provider":"openai","prompt":"x"}"#, ["status": .text("completed")])

        XCTAssertEqual(try post("/api/jobs/\(queued)/cancel", [:]).status, 200)
        XCTAssertEqual(status(queued), "cancelled")
        XCTAssertEqual(try post("/api/jobs/\(running)/cancel", [:]).status, 202)
        XCTAssertEqual(status(running), "cancel_requested")
        let finished = try post("/api/jobs/\(done)/cancel", [:])
        XCTAssertEqual(finished.status, 409)
        XCTAssertEqual(finished.json["status"] as? String, "completed")

        XCTAssertEqual(try post("/api/jobs/\(failed)/retry", [:]).status, 200)
        XCTAssertEqual(status(failed), "queued")
        let busy = try post("/api/jobs/\(running)/retry", [:])
        XCTAssertEqual(busy.status, 409, "retrying a running job is a conflict")
        XCTAssertTrue((busy.json["error"] as? String ?? "").contains("running"), busy.text)
        XCTAssertEqual(try post("/api/jobs/\(done)/retry", [:]).status, 409)
        XCTAssertEqual(try post("/api/jobs/4242/retry", [:]).status, 404)
        XCTAssertEqual(try post("/api/jobs/4242/cancel", [:]).status, 404)
    }

    func testBulkActionsNeedTheConfirmedCount() throws {
        for _ in 0..<3 {
            try insert(
                "animation", #"{"provider":"kling","prompt":"x"}"#,
                ["status": .text("failed"), "error": .text("HTTP 500")])
        }
        try insert(
            "animation", #"{"provider":"seedance","prompt":"x"}"#,
            ["status": .text("failed"), "error": .text("HTTP 500")])
        let filter = ["status": "failed", "provider": "kling"]
        let stale = try post("/api/jobs/bulk", ["action": "retry", "filter": filter, "expected": 2])
        XCTAssertEqual(stale.status, 409, stale.text)
        XCTAssertEqual(stale.json["count"] as? Int, 3)
        XCTAssertEqual(workspace.count(where: "status = 'queued'"), 1, "nothing changed")
        let done = try post("/api/jobs/bulk", ["action": "retry", "filter": filter, "expected": 3])
        XCTAssertEqual(done.status, 200, done.text)
        XCTAssertEqual(done.json["changed"] as? Int, 3)
        XCTAssertEqual(workspace.count(where: "status = 'queued'"), 4)
        XCTAssertEqual(workspace.count(where: "status = 'failed'"), 1, "the seedance job was not in the filter")
        let cancelled = try post("/api/jobs/bulk", ["action": "cancel", "filter": ["type": "animation"]])
        XCTAssertEqual(cancelled.json["changed"] as? Int, 3)
        let bad = try post("/api/jobs/bulk", ["action": "delete"])
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.json["field"] as? String, "action")
        let badFilter = try post("/api/jobs/bulk", ["action": "retry", "filter": ["status": "gone"]])
        XCTAssertEqual(badFilter.json["field"] as? String, "filter.status")
    }

    func testStatsWorkersInputsAndPages() throws {
        let stats = try client.send("GET", "/api/stats")
        XCTAssertEqual(stats.status, 200, stats.text)
        XCTAssertEqual((stats.json["queue"] as? [String: Any])?["queued_now"] as? Int, 1)
        XCTAssertEqual((stats.json["per_minute"] as? [Any])?.count, 60)
        XCTAssertNotNil(stats.json["durations"] as? [String: Any])
        let workers = try client.send("GET", "/api/workers")
        XCTAssertEqual(workers.status, 200)
        XCTAssertEqual((workers.json["workers"] as? [Any])?.count, 0, "`web` alone is no worker")

        try FileManager.default.createDirectory(
            atPath: workspace.outputDirectory + "/7", withIntermediateDirectories: true)
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: URL(fileURLWithPath: workspace.outputDirectory + "/7/image-1.png"))
        let image = try insert(
            "image_generation", #"{"provider":"openai","prompt":"a fox"}"#,
            [
                "status": .text("completed"),
                "result": .text(#"{"files":["\#(workspace.outputDirectory)/7/image-1.png"]}"#),
            ])
        let inputs = try client.send("GET", "/api/inputs?kind=image")
        let listed = inputs.json["inputs"] as? [[String: Any]] ?? []
        XCTAssertEqual(listed.first?["job"] as? Int64, image)
        XCTAssertEqual(listed.first?["url"] as? String, "/files/7/image-1.png")
        XCTAssertEqual(try client.send("GET", "/api/inputs?kind=audio").status, 400)

        let page = try client.send("GET", "/?status=completed")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.headers["content-security-policy"]?.contains("script-src 'self'") ?? false)
        XCTAssertTrue(page.text.contains(#""summary":"a fox""#), "the first page of jobs is in the HTML")
        let css = try client.send("GET", "/assets/app.css")
        XCTAssertEqual(css.status, 200)
        let etag = try XCTUnwrap(css.headers["etag"])
        XCTAssertEqual(try client.send("GET", "/assets/app.css", headers: ["If-None-Match": etag]).status, 304)
        XCTAssertEqual(try client.send("GET", "/assets/nothing.js").status, 404)
        XCTAssertEqual(try client.send("GET", "/api/nothing").status, 404)
    }

    func testFilesAreServedWithRanges() throws {
        let folder = workspace.outputDirectory + "/12"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let bytes = Data((0..<1000).map { UInt8($0 % 251) })
        try bytes.write(to: URL(fileURLWithPath: folder + "/clip.mp4"))
        let whole = try client.send("GET", "/files/12/clip.mp4")
        XCTAssertEqual(whole.status, 200)
        XCTAssertEqual(whole.body, bytes)
        XCTAssertEqual(whole.headers["content-type"], "video/mp4")
        XCTAssertEqual(whole.headers["accept-ranges"], "bytes")
        let part = try client.send("GET", "/files/12/clip.mp4", headers: ["Range": "bytes=100-199"])
        XCTAssertEqual(part.status, 206)
        XCTAssertEqual(part.headers["content-range"], "bytes 100-199/1000")
        XCTAssertEqual(part.body, bytes[100..<200])
        let tail = try client.send("GET", "/files/12/clip.mp4", headers: ["Range": "bytes=-10"])
        XCTAssertEqual(tail.body, bytes.suffix(10))
        let open = try client.send("GET", "/files/12/clip.mp4", headers: ["Range": "bytes=990-"])
        XCTAssertEqual(open.body, bytes.suffix(10))
        let outside = try client.send("GET", "/files/12/clip.mp4", headers: ["Range": "bytes=5000-"])
        XCTAssertEqual(outside.status, 416)
        XCTAssertEqual(outside.headers["content-range"], "bytes */1000")
        XCTAssertEqual(try client.send("GET", "/files/12/missing.mp4").status, 404)
    }

    func testUploadsKeepImagesAndVideosAndRefuseTheRest() throws {
        let token = try csrfToken()
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        png.append(Data(repeating: 7, count: 200))
        let raw = try client.send(
            "POST", "/api/uploads?name=My%20Photo.PNG", headers: ["Content-Type": "image/png", "X-CSRF-Token": token],
            body: png)
        XCTAssertEqual(raw.status, 201, raw.text)
        let path = try XCTUnwrap(raw.json["path"] as? String)
        XCTAssertTrue(path.hasPrefix(workspace.outputDirectory + "/uploads/"), path)
        XCTAssertTrue(path.hasSuffix("-My-Photo.png"), path)
        XCTAssertEqual(FileManager.default.contents(atPath: path), png)
        XCTAssertEqual(raw.json["kind"] as? String, "image")
        XCTAssertEqual(try client.send("GET", raw.json["url"] as? String ?? "").body, png, "the upload is served back")

        var video = Data([0, 0, 0, 0x18]) + Data("ftypisom".utf8)
        video.append(Data(repeating: 1, count: 100))
        var form = Data(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"take 1.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
                .utf8)
        form.append(video)
        form.append(Data("\r\n--XyZ--\r\n".utf8))
        let multipart = try client.send(
            "POST", "/api/uploads",
            headers: ["Content-Type": "multipart/form-data; boundary=XyZ", "X-CSRF-Token": token],
            body: form)
        XCTAssertEqual(multipart.status, 201, multipart.text)
        XCTAssertEqual(FileManager.default.contents(atPath: multipart.json["path"] as? String ?? ""), video)
        XCTAssertEqual(multipart.json["kind"] as? String, "video")

        let text = try client.send(
            "POST", "/api/uploads?name=notes.png", headers: ["Content-Type": "image/png", "X-CSRF-Token": token],
            body: Data("just some text, not a picture".utf8))
        XCTAssertEqual(text.status, 415, "the type is read from the bytes, not the name")
        let empty = try client.send(
            "POST", "/api/uploads", headers: ["Content-Type": "image/png", "X-CSRF-Token": token], body: Data())
        XCTAssertEqual(empty.status, 400)
        let kept = try FileManager.default.contentsOfDirectory(atPath: workspace.outputDirectory + "/uploads")
        XCTAssertEqual(kept.count, 2, "refused uploads leave nothing behind: \(kept)")
    }

    func testAnUploadOverTheLimitIsRefused() throws {
        dashboard?.child.stop()
        let small = try startDashboard(["web"], environment: ["WEB_MAX_UPLOAD_MB": "1"]).client
        let token = try csrfToken(small)
        var big = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        big.append(Data(repeating: 0, count: 3 << 20))
        let reply = try small.send(
            "POST", "/api/uploads?name=big.png", headers: ["Content-Type": "image/png", "X-CSRF-Token": token],
            body: big)
        XCTAssertEqual(reply.status, 413, reply.text)
        XCTAssertTrue((reply.json["error"] as? String ?? "").contains("WEB_MAX_UPLOAD_MB"), reply.text)
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: workspace.outputDirectory + "/uploads")) ?? []
        XCTAssertEqual(kept, [], "nothing of a refused upload is kept")
    }

    func testEventsStreamStatsAndChangedJobsPastAStalledPage() throws {
        let opened = try client.stream("/api/events", timeout: 10) { $0.contains("event: stats") }
        XCTAssertTrue(opened.contains("text/event-stream"), opened)
        XCTAssertTrue(opened.contains("retry: 2000"))
        XCTAssertTrue(opened.contains("event: stats"))
        // A page that opened the stream and stopped reading holds nobody up.
        let stalled = try client.stall("/api/events")
        defer { close(stalled) }
        let id = try insert("image_generation", #"{"provider":"openai","prompt":"x"}"#)
        // Once the stream is open (its first stats event), a change arrives as a jobs event naming the row.
        var cancelled = false
        let streamed = try client.stream("/api/events", timeout: 15) { text in
            if !cancelled && text.contains("event: stats") {
                cancelled = true
                _ = try? client.send("POST", "/api/jobs/\(id)/cancel", headers: Self.jsonHeaders, body: Data("{}".utf8))
            }
            return text.contains(#""id":\#(id)"#) && text.contains(#""status":"cancelled""#)
        }
        XCTAssertTrue(streamed.contains("event: jobs"), streamed)
        XCTAssertTrue(streamed.contains(#""status":"cancelled""#), streamed)
    }

    func testASecondWorkerOnATakenPortRunsItsJobsWithoutADashboard() throws {
        let worker = try startWorker(
            ["run", "--drain", "--web", "127.0.0.1:\(client.port)"], environment: ["FALLBACK_POLL_SECONDS": "0.5"])
        XCTAssertEqual(worker.child.waitForExit(timeout: 60), 0, worker.log)
        XCTAssertTrue(worker.log.contains("Dashboard not started"), worker.log)
        XCTAssertTrue(worker.log.contains("already in use"), worker.log)
        XCTAssertEqual(status(1), "failed", "the queued job ran (and failed: no OPENAI_API_KEY)")
        XCTAssertEqual(try client.send("GET", "/api/jobs").status, 200, "the first dashboard still answers")
    }

    /// The CSRF token the dashboard's page carries.
    private func csrfToken(_ client: RawHTTP? = nil) throws -> String {
        let page = try (client ?? self.client).send("GET", "/")
        let range = try XCTUnwrap(page.text.range(of: #""csrf":"[0-9a-f]+""#, options: .regularExpression), page.text)
        return String(page.text[range].dropFirst(8).dropLast())
    }
}
