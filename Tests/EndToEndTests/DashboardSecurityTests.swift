import Foundation
import Reactor
import TestSupport
import XCTest

/// What the dashboard refuses, against the real binary: each attempt gets its 4xx and
/// leaves jobs.db exactly as it was.
final class DashboardSecurityTests: DashboardEndToEndCase {
    private let token = "correct-horse-battery-staple-42"
    private let queueJob =
        ["job_type": "image_generation", "params": ["provider": "openai", "prompt": "x"]] as [String: Any]

    override func setUp() {
        super.setUp()
        XCTAssertNoThrow(try createDatabase())
    }

    func testANonLoopbackAddressNeedsAToken() throws {
        let refused = try WorkerProcess(
            workspace: workspace, arguments: ["web", "--web", "0.0.0.0:0"], environment: [:], name: "open")
        XCTAssertEqual(
            refused.child.waitForExit(timeout: 30), 2, "a dashboard open to the network without a token must not start")
        XCTAssertTrue(refused.child.stderr.contains("WEB_TOKEN"), refused.child.stderr)
        let worker = try WorkerProcess(
            workspace: workspace, arguments: ["run", "--web", "0.0.0.0:0"], environment: [:], name: "open-run")
        XCTAssertEqual(worker.child.waitForExit(timeout: 30), 2, "nor a worker that would serve it")
        let weak = try WorkerProcess(
            workspace: workspace, arguments: ["web", "--web", "0.0.0.0:0"], environment: ["WEB_TOKEN": "short"],
            name: "weak")
        XCTAssertEqual(weak.child.waitForExit(timeout: 30), 2, "a guessable token is refused too")
        XCTAssertTrue(weak.child.stderr.contains("at least 16"), weak.child.stderr)
    }

    func testEveryRequestNeedsTheTokenOnANonLoopbackBind() throws {
        let client = try startDashboard(["web", "--web", "0.0.0.0:0"], environment: ["WEB_TOKEN": token]).client
        let before = snapshot()
        let missing = try client.send("GET", "/api/jobs")
        XCTAssertEqual(missing.status, 401)
        XCTAssertEqual(missing.headers["www-authenticate"], "Bearer")
        XCTAssertEqual(
            try client.send("GET", "/api/jobs", headers: ["Authorization": "Bearer wrong-token-wrong-token"]).status,
            401)
        XCTAssertEqual(try client.send("GET", "/api/jobs", headers: ["Authorization": "Bearer \(token)x"]).status, 401)
        XCTAssertEqual(try client.send("GET", "/files/1/x.png").status, 401)
        let page = try client.send("GET", "/?status=failed")
        XCTAssertEqual(page.status, 303, "a page without the token goes to the login form")
        XCTAssertEqual(page.headers["location"], "/login?next=%2F")
        let post = try client.send("POST", "/api/jobs", headers: Self.jsonHeaders, body: json(queueJob))
        XCTAssertEqual(post.status, 401)
        let wrongPost = try client.send(
            "POST", "/api/jobs", headers: ["Content-Type": "application/json", "Authorization": "Bearer nope"],
            body: json(queueJob))
        XCTAssertEqual(wrongPost.status, 401)
        XCTAssertEqual(snapshot(), before, "nothing was queued without the token")

        XCTAssertEqual(try client.send("GET", "/api/jobs", headers: ["Authorization": "Bearer \(token)"]).status, 200)
        XCTAssertEqual(try client.send("GET", "/login").status, 200, "the login form is open")
        let form = ["Content-Type": "application/x-www-form-urlencoded"]
        let badLogin = try client.send("POST", "/login", headers: form, body: Data("token=guess&next=%2F".utf8))
        XCTAssertEqual(badLogin.status, 401)
        XCTAssertNil(badLogin.headers["set-cookie"])
        let login = try client.send("POST", "/login", headers: form, body: Data("token=\(token)&next=%2Fjobs%2F1".utf8))
        XCTAssertEqual(login.status, 303)
        XCTAssertEqual(login.headers["location"], "/jobs/1")
        let cookie = try XCTUnwrap(login.headers["set-cookie"])
        XCTAssertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie)
        XCTAssertFalse(cookie.contains(token), "the cookie holds an HMAC of the token, not the token")
        let session = String(cookie.split(separator: ";")[0])
        XCTAssertEqual(try client.send("GET", "/", headers: ["Cookie": session]).status, 200)
        XCTAssertEqual(try client.send("GET", "/", headers: ["Cookie": "rw_session=0000"]).status, 303)
        let queued = try client.send(
            "POST", "/api/jobs", headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"],
            body: json(queueJob))
        XCTAssertEqual(queued.status, 201, "a script with the Bearer token and a JSON body works")
        let offsite = try client.send(
            "POST", "/login",
            headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"],
            body: Data("token=\(token)".utf8))
        XCTAssertEqual(offsite.status, 403, "another site cannot post the login form")
    }

    func testAForeignHostIsRefused() throws {
        let client = try startDashboard(["web"]).client
        let before = snapshot()
        for host in [
            "evil.example:\(client.port)", "127.0.0.1.nip.io:\(client.port)", "127.0.0.1:1", "localhost.evil.example",
        ] {
            let read = try client.send("GET", "/api/jobs", headers: ["Host": host])
            XCTAssertEqual(read.status, 403, host)
            let write = try client.send(
                "POST", "/api/jobs", headers: ["Host": host, "Content-Type": "application/json"], body: json(queueJob))
            XCTAssertEqual(write.status, 403, host)
        }
        XCTAssertEqual(try client.send("GET", "/api/jobs", headers: ["Host": "localhost:\(client.port)"]).status, 200)
        XCTAssertEqual(snapshot(), before)
    }

    func testCrossOriginAndTokenlessFormPostsAreRefused() throws {
        let client = try startDashboard(["web"]).client
        try workspace.connection().run("UPDATE jobs SET status = 'failed', error = 'x' WHERE id = 1")
        let before = snapshot()
        let evil = ["Origin": "http://evil.example", "Content-Type": "application/json"]
        XCTAssertEqual(try client.send("POST", "/api/jobs", headers: evil, body: json(queueJob)).status, 403)
        XCTAssertEqual(try client.send("POST", "/api/jobs/1/retry", headers: evil, body: json([:])).status, 403)
        XCTAssertEqual(
            try client.send(
                "POST", "/api/jobs/1/retry",
                headers: ["Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"], body: json([:])
            ).status,
            403)
        // What a page on another site can send without a preflight: a form, text/plain, multipart.
        for type in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"] {
            XCTAssertEqual(
                try client.send("POST", "/api/jobs/1/retry", headers: ["Content-Type": type], body: Data("a=b".utf8))
                    .status, 403, type)
            XCTAssertEqual(
                try client.send("POST", "/api/uploads", headers: ["Content-Type": type], body: Data("--x--".utf8))
                    .status, 403, type)
            XCTAssertEqual(
                try client.send(
                    "POST", "/api/jobs/1/retry", headers: ["Content-Type": type, "X-CSRF-Token": "not-it"], body: Data()
                ).status,
                403, type)
        }
        XCTAssertEqual(snapshot(), before, "no refused request changed jobs.db")
        let sameOrigin = try client.send(
            "POST", "/api/jobs/1/retry",
            headers: ["Origin": "http://127.0.0.1:\(client.port)", "Content-Type": "application/json"], body: json([:]))
        XCTAssertEqual(sameOrigin.status, 200, "the page's own JSON request works")
        let script = try client.send("POST", "/api/jobs", headers: Self.jsonHeaders, body: json(queueJob))
        XCTAssertEqual(script.status, 201, "a script's JSON request with no cookie and no Origin works")
    }

    func testFilesNeverLeaveTheOutputFolder() throws {
        let client = try startDashboard(["web"]).client
        let outputs = workspace.outputDirectory
        try FileManager.default.createDirectory(atPath: outputs + "/1", withIntermediateDirectories: true)
        try Data("ok".utf8).write(to: URL(fileURLWithPath: outputs + "/1/image-1.png"))
        try Data("temp".utf8).write(to: URL(fileURLWithPath: outputs + "/1/.image-1.png.99.tmp"))
        if !FileManager.default.fileExists(atPath: workspace.databasePath) {  // PostgreSQL: a file to aim at.
            FileManager.default.createFile(atPath: workspace.databasePath, contents: Data("SQLite format 3".utf8))
        }
        try FileManager.default.createSymbolicLink(
            atPath: outputs + "/1/db.png", withDestinationPath: workspace.databasePath)
        try FileManager.default.createSymbolicLink(atPath: outputs + "/1/up.png", withDestinationPath: "../../jobs.db")
        try FileManager.default.createSymbolicLink(atPath: outputs + "/etc", withDestinationPath: "/etc")
        try FileManager.default.createDirectory(atPath: outputs + "/1/folder", withIntermediateDirectories: true)
        let before = snapshot()
        XCTAssertEqual(try client.send("GET", "/files/1/image-1.png").text, "ok")
        let refused = [
            "/files/../jobs.db", "/files/1/../../jobs.db", "/files/%2e%2e/jobs.db", "/files/1/..%2f..%2fjobs.db",
            "/files/1/%2E%2E%2F%2E%2E%2Fjobs.db", "/files/..%5cjobs.db/x", "/files/1/db.png", "/files/1/up.png",
            "/files/etc/passwd", "/files/1/.image-1.png.99.tmp", "/files/1/folder", "/files/1/image-1.png%00.txt",
            "/files/jobs.db", "/files/1/a/b",
        ]
        for path in refused {
            let reply = try client.send("GET", path)
            XCTAssertTrue([403, 404].contains(reply.status), "\(path) answered \(reply.status)")
            XCTAssertFalse(reply.text.contains("SQLite format"), "\(path) served the database")
            XCTAssertFalse(reply.text.contains("root:"), "\(path) served /etc/passwd")
        }
        XCTAssertEqual(try client.send("GET", "/files/1/db.png").status, 403, "a symlink out is refused, not missing")
        XCTAssertEqual(try client.send("GET", "/files/%2e%2e/jobs.db").status, 403)
        XCTAssertEqual(snapshot(), before)
    }

    func testReadOnlyHidesButtonsAndRefusesChanges() throws {
        let client = try startDashboard(["web"], environment: ["WEB_READ_ONLY": "1"]).client
        try workspace.connection().run("UPDATE jobs SET status = 'failed', error = 'x' WHERE id = 1")
        let before = snapshot()
        let page = try client.send("GET", "/")
        XCTAssertTrue(page.text.contains(#""read_only":true"#), "the page is told to hide its buttons")
        for (path, body) in [("/api/jobs", queueJob), ("/api/jobs/1/retry", [:]), ("/api/jobs/1/cancel", [:])] {
            let reply = try client.send("POST", path, headers: Self.jsonHeaders, body: json(body))
            XCTAssertEqual(reply.status, 403, path)
            XCTAssertTrue((reply.json["error"] as? String ?? "").contains("WEB_READ_ONLY"), reply.text)
        }
        XCTAssertEqual(try client.send("GET", "/api/jobs").status, 200, "reading still works")
        XCTAssertEqual(snapshot(), before)
    }

    func testKeysNeverReachTheDashboard() throws {
        let secret = "sk-test-openai-key-123"
        let client = try startDashboard(["web"], environment: ["OPENAI_API_KEY": secret]).client
        try workspace.connection().run(
            "INSERT INTO jobs (job_type, params, status, error, result) VALUES (?, ?, 'failed', ?, ?)",
            [
                "image_generation",
                .text(#"{"provider":"openai","prompt":"echo \#(secret)","options":{"token":"abc123456789"}}"#),
                .text("HTTP 401: key \(secret) is wrong"), .text(#"{"note":"\#(secret)"}"#),
            ])
        for path in ["/api/jobs", "/api/jobs/2", "/jobs/2", "/?q=echo"] {
            let reply = try client.send("GET", path)
            XCTAssertEqual(reply.status, 200, path)
            XCTAssertFalse(reply.text.contains(secret), "\(path) shows the key")
            XCTAssertFalse(reply.text.contains("abc123456789"), "\(path) shows a token param")
        }
    }
}
