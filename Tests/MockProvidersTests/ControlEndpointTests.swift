import Foundation
import XCTest

final class ControlEndpointTests: MockProviderTestCase {
    func testRequestLogRecordsEachProviderRequest() async throws {
        _ = try await client.post(
            "/api/rest/v1/generations", headers: bearer.merging(["X-Extra": "yes"]), json: ["prompt": "a cat"]
        )
        _ = try await client.post("/api/rest/v1/generations", json: ["prompt": "no key"])
        let log = try await client.get("/_mock/requests").array
        XCTAssertEqual(log.count, 2)
        let first = try XCTUnwrap(log.first)
        XCTAssertEqual(first["seq"] as? Int, 1)
        XCTAssertEqual(first["provider"] as? String, "leonardo")
        XCTAssertEqual(first["method"] as? String, "POST")
        XCTAssertEqual(first["path"] as? String, "/api/rest/v1/generations")
        XCTAssertEqual(value(first, "headers", "x-extra") as? String, "yes")
        XCTAssertEqual(value(first, "headers", "authorization") as? String, "Bearer test-key")
        XCTAssertEqual(value(first, "body", "prompt") as? String, "a cat")
        XCTAssertGreaterThan(first["body_size"] as? Int ?? 0, 0)
        XCTAssertGreaterThan(first["time"] as? Double ?? 0, 1_600_000_000)
        XCTAssertEqual(first["status"] as? Int, 200)
        XCTAssertEqual(log[1]["status"] as? Int, 401)
    }

    func testStatsCountByProviderAndSubmits() async throws {
        _ = try await client.post("/v2/image/edit/remove_background", headers: ["api_token": "t"], json: ["image": "x"])
        _ = try await client.get("/v2/status/unknown", headers: ["api_token": "t"])
        _ = try await client.post("/v1/images/generations", headers: bearer, json: ["prompt": "x"])
        let stats = try await client.stats()
        XCTAssertEqual(stats["requests"] as? Int, 3)
        XCTAssertEqual(value(stats, "by_provider", "bria") as? Int, 2)
        XCTAssertEqual(value(stats, "by_provider", "openai") as? Int, 1)
        XCTAssertEqual(value(stats, "submits", "bria") as? Int, 1)
        XCTAssertEqual(stats["open"] as? Int, 0)
        XCTAssertEqual(stats["max_open"] as? Int, 1)
    }

    func testResetClearsLogAndCounters() async throws {
        _ = try await client.post("/v1/images/generations", headers: bearer, json: ["prompt": "x"])
        let reset = try await client.send("POST", "/_mock/reset")
        XCTAssertEqual(reset.status, 200)
        let stats = try await client.stats()
        XCTAssertEqual(stats["requests"] as? Int, 0)
        XCTAssertEqual((stats["by_provider"] as? [String: Any])?.count, 0)
        let log = try await client.get("/_mock/requests").array
        XCTAssertEqual(log.count, 0)
    }

    func testConfigRejectsUnknownKeysAndOutcomes() async throws {
        let unknownKey = try await client.post("/_mock/config", json: ["fail_rat": 0.5])
        XCTAssertEqual(unknownKey.status, 400)
        XCTAssertTrue((unknownKey.object["mock_error"] as? String ?? "").contains("fail_rat"))
        let unknownOutcome = try await client.post("/_mock/config", json: ["next": ["openai": ["explode"]]])
        XCTAssertEqual(unknownOutcome.status, 400)
        let badHeader = try await client.post(
            "/v1/images/generations", headers: bearer.merging(["X-Mock-Outcome": "explode"]), json: ["prompt": "x"]
        )
        XCTAssertEqual(badHeader.status, 400)
    }

    func testConfigChangesAreReportedBack() async throws {
        try await client.configure(["latency": 0.01, "latency_by_provider": ["kling": 0.02], "task_seconds": 3])
        let config = try await client.get("/_mock/config").object
        XCTAssertEqual(config["latency"] as? Double, 0.01)
        XCTAssertEqual(value(config, "latency_by_provider", "kling") as? Double, 0.02)
        XCTAssertEqual(config["task_seconds"] as? Int, 3)
    }

    func testFixturesAreAValidPNGAndANonEmptyVideo() async throws {
        let png = try await client.get("/_mock/fixtures/image.png")
        XCTAssertEqual(png.status, 200)
        XCTAssertEqual(png.headers["content-type"], "image/png")
        XCTAssertEqual(png.data.prefix(8), Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // IHDR: 64×64, 8-bit RGB.
        XCTAssertEqual(Array(png.data[16..<26]), [0, 0, 0, 64, 0, 0, 0, 64, 8, 2])
        let again = try await client.get("/_mock/fixtures/image.png")
        XCTAssertEqual(png.data, again.data)
        let video = try await client.get("/_mock/fixtures/video.mp4")
        XCTAssertEqual(video.headers["content-type"], "video/mp4")
        XCTAssertEqual(String(decoding: video.data[4..<8], as: UTF8.self), "ftyp")
    }

    func testUnknownProviderPathIs404InTheProviderShape() async throws {
        let response = try await client.post("/v1/images/edits", headers: bearer, json: ["prompt": "x"])
        XCTAssertEqual(response.status, 404)
        XCTAssertTrue((value(response.object, "error", "message") as? String ?? "").contains("Invalid URL"))
    }
}
