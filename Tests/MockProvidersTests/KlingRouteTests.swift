import Foundation
import XCTest

final class KlingRouteTests: MockProviderTestCase {
    private func authorization(_ token: String) -> [String: String] {
        ["Authorization": "Bearer \(token)"]
    }

    private let image2video: [String: Any] = [
        "model_name": "kling-v2-1-master", "image": "https://example.com/frame.png", "prompt": "waves", "mode": "std",
        "duration": "5",
    ]

    func testGoodTokenIsAcceptedAndTaskGoesSubmittedThenSucceed() async throws {
        let started = Date()
        let submit = try await client.post(
            "/v1/videos/image2video",
            headers: authorization(KlingToken.valid()).merging(["X-Mock-Task-Seconds": "1"]), json: image2video
        )
        XCTAssertEqual(submit.status, 200, submit.text)
        XCTAssertEqual(submit.object["code"] as? Int, 0)
        XCTAssertEqual(value(submit.object, "data", "task_status") as? String, "submitted")
        let id = try XCTUnwrap(value(submit.object, "data", "task_id") as? String)

        let done = try await eventually("Kling task to finish") { () -> [String: Any]? in
            let poll = try await client.get(
                "/v1/videos/image2video/\(id)", headers: authorization(KlingToken.valid()).merging(pacedPoll)
            )
            let status = value(poll.object, "data", "task_status") as? String ?? ""
            return ["submitted", "processing"].contains(status) ? nil : poll.object
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.0)
        XCTAssertEqual(value(done, "data", "task_status") as? String, "succeed")
        let url = try XCTUnwrap(value(done, "data", "task_result", "videos", 0, "url") as? String)
        let download = try await client.get(url)
        let fixture = try await client.get("/_mock/fixtures/video.mp4")
        XCTAssertEqual(download.data, fixture.data)
    }

    func testExpiredTokenIsRejectedWith1004() async throws {
        let now = Int(Date().timeIntervalSince1970)
        let token = KlingToken.make(
            accessKey: "test-kling-access", secretKey: "test-kling-secret", exp: now - 60, nbf: now - 1900
        )
        let response = try await client.post("/v1/videos/image2video", headers: authorization(token), json: image2video)
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.object["code"] as? Int, 1004)
        XCTAssertNotNil(response.object["request_id"] as? String)
    }

    func testWrongSecretIsRejectedWith1002() async throws {
        let response = try await client.post(
            "/v1/videos/image2video", headers: authorization(KlingToken.valid(secretKey: "not-the-secret")),
            json: image2video
        )
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.object["code"] as? Int, 1002)
    }

    func testTokenNotYetValidIsRejectedWith1003() async throws {
        let now = Int(Date().timeIntervalSince1970)
        let token = KlingToken.make(
            accessKey: "test-kling-access", secretKey: "test-kling-secret", exp: now + 3600, nbf: now + 600
        )
        let response = try await client.get("/v1/videos/text2video/whatever", headers: authorization(token))
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.object["code"] as? Int, 1003)
    }

    func testUnknownAccessKeyAndMissingHeaderAreRejected() async throws {
        let now = Int(Date().timeIntervalSince1970)
        let stranger = KlingToken.make(
            accessKey: "someone-else", secretKey: "test-kling-secret", exp: now + 600, nbf: now)
        let unknown = try await client.post(
            "/v1/videos/text2video", headers: authorization(stranger), json: ["prompt": "x"])
        XCTAssertEqual(unknown.status, 401)
        XCTAssertEqual(unknown.object["code"] as? Int, 1000)

        let missing = try await client.post("/v1/videos/text2video", json: ["prompt": "x"])
        XCTAssertEqual(missing.status, 401)
        XCTAssertEqual(missing.object["code"] as? Int, 1001)
    }

    func testIntegerDurationAndMissingPromptAre400() async throws {
        let integer = try await client.post(
            "/v1/videos/text2video", headers: authorization(KlingToken.valid()), json: ["prompt": "x", "duration": 5]
        )
        XCTAssertEqual(integer.status, 400)
        XCTAssertEqual(integer.object["code"] as? Int, 1201)
        XCTAssertTrue((integer.object["message"] as? String ?? "").contains("duration"), integer.text)

        let missing = try await client.post(
            "/v1/videos/text2video", headers: authorization(KlingToken.valid()), json: ["duration": "5"]
        )
        XCTAssertEqual(missing.status, 400)
        XCTAssertEqual(missing.object["code"] as? Int, 1200)
        XCTAssertTrue((missing.object["message"] as? String ?? "").contains("prompt"), missing.text)
    }

    func testARepeatedExternalTaskIDIsRefusedWith1201AndTheQueryAndListFindTheTaskByIt() async throws {
        var body = image2video
        body["external_task_id"] = "job-42"
        let first = try await client.post(
            "/v1/videos/image2video", headers: authorization(KlingToken.valid()), json: body)
        let second = try await client.post(
            "/v1/videos/image2video", headers: authorization(KlingToken.valid()), json: body)
        let firstID = try XCTUnwrap(value(first.object, "data", "task_id") as? String)
        XCTAssertEqual(value(first.object, "data", "task_info", "external_task_id") as? String, "job-42")
        // Kling keeps external_task_id unique per account: the repeat is refused, not merged.
        XCTAssertEqual(second.status, 400)
        XCTAssertEqual(second.object["code"] as? Int, 1201)
        XCTAssertEqual(
            second.object["message"] as? String, "Invalid parameter: external_task_id job-42 already exists")
        XCTAssertNotNil(second.object["request_id"] as? String)
        let stats = try await client.stats()
        XCTAssertEqual(value(stats, "submits", "kling") as? Int, 2)
        XCTAssertEqual(stats["tasks"] as? Int, 1)

        let byKey = try await client.get("/v1/videos/image2video/job-42", headers: authorization(KlingToken.valid()))
        XCTAssertEqual(byKey.status, 200)
        XCTAssertEqual(value(byKey.object, "data", "task_id") as? String, firstID)
        let listed = try await client.get(
            "/v1/videos/image2video?pageNum=1&pageSize=30", headers: authorization(KlingToken.valid()))
        let tasks = try XCTUnwrap(listed.object["data"] as? [[String: Any]])
        XCTAssertEqual(tasks.map { $0["task_id"] as? String }, [firstID])
        XCTAssertEqual((tasks.first?["task_info"] as? [String: Any])?["external_task_id"] as? String, "job-42")
        let unknown = try await client.get("/v1/videos/image2video/job-43", headers: authorization(KlingToken.valid()))
        XCTAssertEqual(unknown.status, 404)
    }

    func testRateLimitUsesCode1302AndRetryAfter() async throws {
        let response = try await client.post(
            "/v1/videos/text2video",
            headers: authorization(KlingToken.valid()).merging(["X-Mock-Outcome": "rate_limit"]), json: ["prompt": "x"]
        )
        XCTAssertEqual(response.status, 429)
        XCTAssertEqual(response.object["code"] as? Int, 1302)
        XCTAssertEqual(response.headers["retry-after"], "1")
    }
}
