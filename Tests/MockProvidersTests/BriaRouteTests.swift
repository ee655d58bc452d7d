import Foundation
import XCTest

final class BriaRouteTests: MockProviderTestCase {
    private let token = ["api_token": "test-bria-token"]

    func testAsyncRemovalIs202ThenCompletedWithImageURL() async throws {
        let submit = try await client.post(
            "/v2/image/edit/remove_background", headers: token.merging(["X-Mock-Task-Seconds": "0.5"]),
            json: ["image": "https://example.com/cat.png", "preserve_alpha": true]
        )
        XCTAssertEqual(submit.status, 202, submit.text)
        let id = try XCTUnwrap(submit.object["request_id"] as? String)
        let statusURL = try XCTUnwrap(submit.object["status_url"] as? String)
        XCTAssertEqual(statusURL, "\(client.baseURL)/v2/status/\(id)")

        let first = try await client.get(statusURL, headers: token)
        XCTAssertEqual(first.object["status"] as? String, "IN_PROGRESS")
        let done = try await eventually("BRIA request to complete") { () -> [String: Any]? in
            let poll = try await client.get(statusURL, headers: token.merging(pacedPoll))
            return poll.object["status"] as? String == "IN_PROGRESS" ? nil : poll.object
        }
        XCTAssertEqual(done["status"] as? String, "COMPLETED")
        let url = try XCTUnwrap(value(done, "result", "image_url") as? String)
        let download = try await client.get(url).data
        let fixture = try await client.get("/_mock/fixtures/image.png").data
        XCTAssertEqual(download, fixture)
    }

    func testSyncRemovalAnswers200WithResult() async throws {
        let response = try await client.post(
            "/v2/image/edit/remove_background", headers: token, json: ["image": "aGVsbG8=", "sync": true]
        )
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertNotNil(value(response.object, "result", "image_url") as? String)
    }

    func testBearerInsteadOfApiTokenIs401WithBriaErrorBody() async throws {
        let response = try await client.post(
            "/v2/image/edit/remove_background", headers: ["Authorization": "Bearer test"], json: ["image": "x"]
        )
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(value(response.object, "error", "code") as? Int, 401)
        XCTAssertNotNil(value(response.object, "error", "message") as? String)
    }

    func testMissingImageIs400NamingTheField() async throws {
        let response = try await client.post("/v2/image/edit/remove_background", headers: token, json: ["sync": true])
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue((value(response.object, "error", "details") as? String ?? "").contains("image"), response.text)
    }

    func testWrongTypeIs400() async throws {
        let response = try await client.post(
            "/v2/image/edit/remove_background", headers: token, json: ["image": "x", "sync": "yes"]
        )
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue((value(response.object, "error", "details") as? String ?? "").contains("sync"), response.text)
    }
}
