import Foundation
import XCTest

final class OpenAIRouteTests: MockProviderTestCase {
    func testGptImageAnswersBase64OfTheFixturePNG() async throws {
        let response = try await client.post(
            "/v1/images/generations", headers: bearer,
            json: ["model": "gpt-image-1", "prompt": "a red fox", "size": "1024x1024", "n": 2]
        )
        XCTAssertEqual(response.status, 200, response.text)
        let data = try XCTUnwrap(response.object["data"] as? [[String: Any]])
        XCTAssertEqual(data.count, 2)
        let fixture = try await client.get("/_mock/fixtures/image.png").data
        XCTAssertEqual(fixture.prefix(8), Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        let decoded = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(data[0]["b64_json"] as? String)))
        XCTAssertEqual(decoded, fixture)
        XCTAssertNotNil(value(response.object, "usage", "total_tokens") as? Int)
        XCTAssertEqual(response.object["output_format"] as? String, "png")
    }

    func testDallEURLPointsAtTheMockAndServesTheFixture() async throws {
        let response = try await client.post(
            "/v1/images/generations", headers: bearer,
            json: ["model": "dall-e-3", "prompt": "a red fox", "response_format": "url"]
        )
        XCTAssertEqual(response.status, 200, response.text)
        let url = try XCTUnwrap(value(response.object, "data", 0, "url") as? String)
        XCTAssertTrue(url.hasPrefix(client.baseURL + "/_mock/files/"), url)
        XCTAssertNotNil(value(response.object, "data", 0, "revised_prompt") as? String)
        let download = try await client.get(url)
        let fixture = try await client.get("/_mock/fixtures/image.png")
        XCTAssertEqual(download.data, fixture.data)
        XCTAssertEqual(download.headers["content-type"], "image/png")
    }

    func testMissingOrInvalidKeyIs401WithOpenAIErrorBody() async throws {
        let body: [String: Any] = ["model": "gpt-image-1", "prompt": "x"]
        let missing = try await client.post("/v1/images/generations", json: body)
        XCTAssertEqual(missing.status, 401)
        XCTAssertEqual(value(missing.object, "error", "type") as? String, "invalid_request_error")
        XCTAssertTrue(
            (value(missing.object, "error", "message") as? String ?? "").contains("didn't provide an API key"))

        let invalid = try await client.post(
            "/v1/chat/completions", headers: ["Authorization": "Bearer invalid-key"],
            json: ["model": "gpt-4o-mini", "messages": [["role": "user", "content": "hi"]]]
        )
        XCTAssertEqual(invalid.status, 401)
        XCTAssertEqual(value(invalid.object, "error", "code") as? String, "invalid_api_key")
    }

    func testMissingPromptIs400NamingTheField() async throws {
        let response = try await client.post("/v1/images/generations", headers: bearer, json: ["model": "gpt-image-1"])
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(value(response.object, "error", "param") as? String, "prompt")
        XCTAssertEqual(value(response.object, "error", "code") as? String, "missing_required_parameter")
    }

    func testWrongTypeIs400NamingTheField() async throws {
        let response = try await client.post(
            "/v1/images/generations", headers: bearer, json: ["model": "gpt-image-1", "prompt": "x", "n": "two"]
        )
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(value(response.object, "error", "param") as? String, "n")
        XCTAssertEqual(value(response.object, "error", "code") as? String, "invalid_type")
    }

    func testGptImageRejectsResponseFormat() async throws {
        let response = try await client.post(
            "/v1/images/generations", headers: bearer,
            json: ["model": "gpt-image-1", "prompt": "x", "response_format": "url"]
        )
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(value(response.object, "error", "param") as? String, "response_format")
    }

    func testMalformedJSONIs400() async throws {
        let response = try await client.send(
            "POST", "/v1/images/generations", headers: bearer, body: Data(#"{"prompt": "x",}"#.utf8)
        )
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(
            (value(response.object, "error", "message") as? String ?? "").contains("could not parse the JSON"))
    }

    func testVisionAnswerFollowsTheSchemaAndRequestedPaletteSize() async throws {
        let schema: [String: Any] = [
            "type": "object", "additionalProperties": false, "required": ["style", "palette"],
            "properties": [
                "style": ["type": "string"],
                "palette": [
                    "type": "array",
                    "items": [
                        "type": "object", "additionalProperties": false, "required": ["hex", "weight"],
                        "properties": ["hex": ["type": "string"], "weight": ["type": "number"]],
                    ],
                ],
            ],
        ]
        func ask(_ prompt: String) async throws -> MockHTTPResponse {
            try await client.post(
                "/v1/chat/completions", headers: bearer,
                json: [
                    "model": "gpt-4o-mini",
                    "messages": [
                        [
                            "role": "user",
                            "content": [
                                ["type": "text", "text": prompt],
                                [
                                    "type": "image_url",
                                    "image_url": ["url": "data:image/png;base64,iVBOR", "detail": "low"],
                                ],
                            ],
                        ]
                    ],
                    "response_format": [
                        "type": "json_schema",
                        "json_schema": ["name": "style_palette", "strict": true, "schema": schema],
                    ],
                    "max_completion_tokens": 800,
                ]
            )
        }
        let eight = try await ask("Describe the style and give the 8 dominant colours.")
        XCTAssertEqual(eight.status, 200, eight.text)
        XCTAssertEqual(value(eight.object, "choices", 0, "finish_reason") as? String, "stop")
        XCTAssertNotNil(value(eight.object, "usage", "total_tokens") as? Int)
        let content = try XCTUnwrap(value(eight.object, "choices", 0, "message", "content") as? String)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(content.utf8)) as? [String: Any])
        XCTAssertFalse((answer["style"] as? String ?? "").isEmpty)
        let palette = try XCTUnwrap(answer["palette"] as? [[String: Any]])
        XCTAssertEqual(palette.count, 8)
        for entry in palette {
            let hex = try XCTUnwrap(entry["hex"] as? String)
            XCTAssertTrue(hex.range(of: "^#[0-9A-F]{6}$", options: .regularExpression) != nil, hex)
            XCTAssertNotNil(entry["weight"] as? Double)
            XCTAssertEqual(Set(entry.keys), ["hex", "weight"])
        }
        let total = palette.compactMap { $0["weight"] as? Double }.reduce(0, +)
        XCTAssertEqual(total, 1, accuracy: 0.0001)

        let unspecified = try await ask("Describe the style and the dominant colours.")
        let defaultContent = try XCTUnwrap(value(unspecified.object, "choices", 0, "message", "content") as? String)
        let defaultAnswer = try JSONSerialization.jsonObject(with: Data(defaultContent.utf8))
        XCTAssertEqual((value(defaultAnswer, "palette") as? [Any])?.count, 6)
    }

    func testVisionRejectsMissingMessages() async throws {
        let response = try await client.post("/v1/chat/completions", headers: bearer, json: ["model": "gpt-4o-mini"])
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(value(response.object, "error", "param") as? String, "messages")
    }
}
