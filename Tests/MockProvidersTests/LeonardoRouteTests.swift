import Foundation
import XCTest

final class LeonardoRouteTests: MockProviderTestCase {
    func testGenerationIsPendingUntilTaskSecondsThenCompleteWithImages() async throws {
        let started = Date()
        let submit = try await client.post(
            "/api/rest/v1/generations", headers: bearer.merging(["X-Mock-Task-Seconds": "1"]),
            json: ["prompt": "An oil painting of a cat", "width": 512, "height": 512, "num_images": 3]
        )
        XCTAssertEqual(submit.status, 200, submit.text)
        let id = try XCTUnwrap(value(submit.object, "sdGenerationJob", "generationId") as? String)
        XCTAssertNotNil(value(submit.object, "sdGenerationJob", "apiCreditCost") as? Int)

        let first = try await client.get("/api/rest/v1/generations/\(id)", headers: bearer)
        XCTAssertEqual(value(first.object, "generations_by_pk", "status") as? String, "PENDING")
        XCTAssertEqual((value(first.object, "generations_by_pk", "generated_images") as? [Any])?.count, 0)

        let done = try await eventually("Leonardo generation to complete") { () -> [String: Any]? in
            let poll = try await client.get("/api/rest/v1/generations/\(id)", headers: bearer.merging(pacedPoll))
            let generation = value(poll.object, "generations_by_pk") as? [String: Any]
            return generation?["status"] as? String == "PENDING" ? nil : generation
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.0)
        XCTAssertEqual(done["status"] as? String, "COMPLETE")
        let images = try XCTUnwrap(done["generated_images"] as? [[String: Any]])
        XCTAssertEqual(images.count, 3)
        let url = try XCTUnwrap(images[0]["url"] as? String)
        XCTAssertTrue(url.hasPrefix(client.baseURL + "/_mock/files/"), url)
        let download = try await client.get(url)
        let fixture = try await client.get("/_mock/fixtures/image.png").data
        XCTAssertEqual(download.data, fixture)
    }

    func testUnknownGenerationIsNull() async throws {
        let response = try await client.get(
            "/api/rest/v1/generations/00000000-0000-0000-0000-000000000000", headers: bearer)
        XCTAssertEqual(response.status, 200)
        XCTAssertTrue(response.object["generations_by_pk"] is NSNull, response.text)
    }

    func testMissingKeyIs401WithLeonardoErrorBody() async throws {
        let response = try await client.post("/api/rest/v1/generations", json: ["prompt": "x"])
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.object["code"] as? String, "access-denied")
        XCTAssertNotNil(response.object["error"] as? String)
    }

    func testMissingPromptIs400NamingTheField() async throws {
        let response = try await client.post("/api/rest/v1/generations", headers: bearer, json: ["width": 512])
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue((response.object["error"] as? String ?? "").contains("prompt"), response.text)
        XCTAssertEqual(response.object["path"] as? String, "$.prompt")
    }

    func testFailedTaskOutcomeEndsInFailed() async throws {
        let submit = try await client.post(
            "/api/rest/v1/generations",
            headers: bearer.merging(["X-Mock-Outcome": "failed_task", "X-Mock-Task-Seconds": "0.2"]),
            json: ["prompt": "x"]
        )
        let id = try XCTUnwrap(value(submit.object, "sdGenerationJob", "generationId") as? String)
        let status = try await eventually("Leonardo generation to fail") { () -> String? in
            let poll = try await client.get("/api/rest/v1/generations/\(id)", headers: bearer.merging(pacedPoll))
            let status = value(poll.object, "generations_by_pk", "status") as? String
            return status == "PENDING" ? nil : status
        }
        XCTAssertEqual(status, "FAILED")
    }
}
