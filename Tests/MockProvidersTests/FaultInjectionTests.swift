import Foundation
import XCTest

final class FaultInjectionTests: MockProviderTestCase {
    private let imageRequest: [String: Any] = ["model": "gpt-image-1", "prompt": "x"]

    func testNextOutcomesAreConsumedOnePerRequestInOrder() async throws {
        try await client.configure([
            "next": [
                "openai": ["status_500", "status_503", "rate_limit", "insufficient_quota", "malformed", "unauthorized"]
            ]
        ])
        var statuses: [Int] = []
        var bodies: [MockHTTPResponse] = []
        for _ in 0..<7 {
            let response = try await client.post("/v1/images/generations", headers: bearer, json: imageRequest)
            statuses.append(response.status)
            bodies.append(response)
        }
        XCTAssertEqual(statuses, [500, 503, 429, 429, 200, 401, 200])
        XCTAssertEqual(value(bodies[0].object, "error", "type") as? String, "server_error")
        XCTAssertEqual(value(bodies[2].object, "error", "code") as? String, "rate_limit_exceeded")
        XCTAssertNotNil(bodies[2].headers["retry-after"])
        XCTAssertEqual(value(bodies[3].object, "error", "code") as? String, "insufficient_quota")
        XCTAssertNil(try? JSONSerialization.jsonObject(with: bodies[4].data), "malformed must not parse")
        XCTAssertNotNil(value(bodies[6].object, "data", 0, "b64_json") as? String)
    }

    func testNextQueuesArePerProviderAndCountPolls() async throws {
        try await client.configure(["next": ["leonardo": ["status_503"], "ark": ["rate_limit"]]])
        let poll = try await client.get("/api/rest/v1/generations/unknown", headers: bearer)
        XCTAssertEqual(poll.status, 503)
        XCTAssertEqual(poll.object["code"] as? String, "unexpected")
        let openAI = try await client.post("/v1/images/generations", headers: bearer, json: imageRequest)
        XCTAssertEqual(openAI.status, 200)
        let ark = try await client.post(
            "/api/v3/images/generations", headers: bearer, json: ["model": "m", "prompt": "x"]
        )
        XCTAssertEqual(ark.status, 429)
        XCTAssertEqual(value(ark.object, "error", "type") as? String, "TooManyRequests")
        let config = try await client.get("/_mock/config").object
        XCTAssertEqual((config["next"] as? [String: Any])?.count, 0)
    }

    func testMissingFieldRemovesTheResultField() async throws {
        let response = try await client.post(
            "/v1/images/generations", headers: bearer.merging(["X-Mock-Outcome": "missing_field"]), json: imageRequest
        )
        XCTAssertEqual(response.status, 200)
        let first = try XCTUnwrap(value(response.object, "data", 0) as? [String: Any])
        XCTAssertNil(first["b64_json"])
    }

    func testFailedTaskOnSyncAPIIsContentPolicy400() async throws {
        let response = try await client.post(
            "/v1/images/generations", headers: bearer.merging(["X-Mock-Outcome": "failed_task"]), json: imageRequest
        )
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(value(response.object, "error", "code") as? String, "moderation_blocked")
    }

    func testHangIsReleasedWhenTheClientGoesAway() async throws {
        // The client goes away only once the mock holds the request: a client timeout alone
        // could fire before a loaded machine delivered the request at all.
        let impatient = MockClient(baseURL: client.baseURL)
        let hanging = Task {
            try await impatient.send(
                "POST", "/v2/image/edit/remove_background",
                headers: ["api_token": "t", "X-Mock-Outcome": "hang"], body: Data(#"{"image":"x"}"#.utf8))
        }
        _ = try await eventually("the hung request to reach the mock") { () -> Bool? in
            try await client.stats(delay: 0.05)["open"] as? Int == 1 ? true : nil
        }
        impatient.session.invalidateAndCancel()
        if let answered = try? await hanging.value {
            XCTFail("a hang outcome must not be answered, got HTTP \(answered.status)")
        }
        let stats = try await eventually("the hung request to close") { () -> [String: Any]? in
            let stats = try await client.stats(delay: 0.05)
            return stats["open"] as? Int == 0 ? stats : nil
        }
        XCTAssertEqual(stats["requests"] as? Int, 1)
        let log = try await client.get("/_mock/requests").array
        XCTAssertEqual(log.first?["outcome"] as? String, "hang")
        XCTAssertTrue(log.first?["status"] is NSNull)
    }

    func testMaxOpenReachesTheNumberOfConcurrentRequests() async throws {
        let concurrent = 50
        let client = self.client!
        let body = Data(#"{"model":"gpt-image-1","prompt":"x"}"#.utf8)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrent {
                group.addTask {
                    try await client.send(
                        "POST", "/v1/images/generations",
                        headers: ["Authorization": "Bearer k", "X-Mock-Latency": "0.3"], body: body
                    ).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        XCTAssertEqual(statuses, Array(repeating: 200, count: concurrent))
        let stats = try await client.stats()
        XCTAssertEqual(stats["requests"] as? Int, concurrent)
        XCTAssertEqual(stats["max_open"] as? Int, concurrent)
        XCTAssertEqual(stats["open"] as? Int, 0)
    }

    func testRandomRatesWithSeedAreReproducible() async throws {
        try await client.configure(["fail_rate": 0.5, "seed": 7])
        var first: [Int] = []
        for _ in 0..<10 {
            first.append(try await client.post("/v1/images/generations", headers: bearer, json: imageRequest).status)
        }
        try await client.configure(["seed": 7])
        var second: [Int] = []
        for _ in 0..<10 {
            second.append(try await client.post("/v1/images/generations", headers: bearer, json: imageRequest).status)
        }
        XCTAssertEqual(first, second)
        XCTAssertTrue(first.contains(200) && first.contains { $0 >= 500 }, "\(first)")
    }
}

final class FlagsTests: MockProviderTestCase {
    override var serverArguments: [String] {
        ["--rate-limit-rate", "1", "--retry-after", "3", "--latency-ark", "0"]
    }

    func testRateLimitFlagAnswers429WithConfiguredRetryAfter() async throws {
        let response = try await client.post(
            "/api/rest/v1/generations", headers: bearer, json: ["prompt": "x"]
        )
        XCTAssertEqual(response.status, 429)
        XCTAssertEqual(response.headers["retry-after"], "3")
    }
}
