import Foundation
import XCTest

final class ArkRouteTests: MockProviderTestCase {
    func testSeedreamAnswersURLOrBase64() async throws {
        let byURL = try await client.post(
            "/api/v3/images/generations", headers: bearer,
            json: ["model": "seedream-4-0-250828", "prompt": "a lighthouse", "size": "2K", "watermark": false]
        )
        XCTAssertEqual(byURL.status, 200, byURL.text)
        let url = try XCTUnwrap(value(byURL.object, "data", 0, "url") as? String)
        XCTAssertTrue(url.hasPrefix(client.baseURL + "/_mock/files/"), url)
        XCTAssertEqual(value(byURL.object, "data", 0, "size") as? String, "2048x2048")
        XCTAssertEqual(value(byURL.object, "usage", "generated_images") as? Int, 1)

        let byBase64 = try await client.post(
            "/api/v3/images/generations", headers: bearer,
            json: ["model": "seedream-4-0-250828", "prompt": "a lighthouse", "response_format": "b64_json"]
        )
        let encoded = try XCTUnwrap(value(byBase64.object, "data", 0, "b64_json") as? String)
        let fixture = try await client.get("/_mock/fixtures/image.png").data
        XCTAssertEqual(Data(base64Encoded: encoded), fixture)
    }

    func testSeedreamMissingModelIs400WithArkErrorShape() async throws {
        let response = try await client.post("/api/v3/images/generations", headers: bearer, json: ["prompt": "x"])
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(value(response.object, "error", "code") as? String, "MissingParameter")
        XCTAssertEqual(value(response.object, "error", "param") as? String, "model")
        XCTAssertEqual(value(response.object, "error", "type") as? String, "BadRequest")
    }

    func testArkMissingKeyIs401() async throws {
        let response = try await client.post(
            "/api/v3/contents/generations/tasks", json: ["model": "m", "content": [["type": "text", "text": "x"]]]
        )
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(value(response.object, "error", "code") as? String, "AuthenticationError")
    }

    func testSeedanceTaskGoesQueuedThenSucceededWithVideoURL() async throws {
        let started = Date()
        let submit = try await client.post(
            "/api/v3/contents/generations/tasks", headers: bearer.merging(["X-Mock-Task-Seconds": "1"]),
            json: [
                "model": "seedance-1-0-pro-250528",
                "content": [
                    ["type": "text", "text": "A dog runs on the beach --rs 720p --dur 5"],
                    [
                        "type": "image_url", "image_url": ["url": "https://example.com/first.png"],
                        "role": "first_frame",
                    ],
                ],
            ]
        )
        XCTAssertEqual(submit.status, 200, submit.text)
        let id = try XCTUnwrap(submit.object["id"] as? String)
        let first = try await client.get("/api/v3/contents/generations/tasks/\(id)", headers: bearer)
        XCTAssertTrue(["queued", "running"].contains(first.object["status"] as? String ?? ""), first.text)

        let done = try await eventually("Seedance task to finish") { () -> [String: Any]? in
            let poll = try await client.get(
                "/api/v3/contents/generations/tasks/\(id)", headers: bearer.merging(pacedPoll))
            return ["queued", "running"].contains(poll.object["status"] as? String ?? "") ? nil : poll.object
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.0)
        XCTAssertEqual(done["status"] as? String, "succeeded")
        let url = try XCTUnwrap(value(done, "content", "video_url") as? String)
        let download = try await client.get(url)
        let fixture = try await client.get("/_mock/fixtures/video.mp4").data
        XCTAssertEqual(download.data, fixture)
        XCTAssertFalse(download.data.isEmpty)
        XCTAssertEqual(done["resolution"] as? String, "720p")
    }

    func testSeedanceMissingContentTextIs400NamingThePath() async throws {
        let response = try await client.post(
            "/api/v3/contents/generations/tasks", headers: bearer,
            json: ["model": "seedance-1-0-pro-250528", "content": [["type": "text"]]]
        )
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(value(response.object, "error", "param") as? String, "content[0].text")
    }

    func testUnknownSeedanceTaskIs404() async throws {
        let response = try await client.get("/api/v3/contents/generations/tasks/cgt-nope", headers: bearer)
        XCTAssertEqual(response.status, 404)
        XCTAssertNotNil(value(response.object, "error", "code") as? String)
    }
}
