import Crypto
import Foundation
import TestSupport
import XCTest

/// Each of the seven provider clients, run by the built worker against `mock-providers`: the
/// job completes, its files are the mock's bytes, and the request the mock recorded carries
/// the method, path, auth header and body fields PROVIDERS.md describes.
final class ProviderClientsEndToEndTests: ProviderEndToEndCase {
    func testLeonardoGeneratesPollsAndDownloadsEveryImage() throws {
        let mock = try startMock()
        let id = try XCTUnwrap(
            enqueue(
                "image_generation",
                [
                    "provider": "leonardo", "prompt": "An oil painting of a cat", "width": 512, "height": 512,
                    "num_images": 2, "negative_prompt": "blurry",
                ]
            ).first)
        try drain(environment(mock))

        let result = try completedResult(id)
        assertFiles(result, of: id, equal: try mock.fixture("image.png"), count: 2)
        let taskID = try XCTUnwrap(result["provider_task_id"] as? String)
        XCTAssertEqual(try row(id).providerTaskID, taskID)
        XCTAssertEqual(result["provider"] as? String, "leonardo")
        XCTAssertNotNil(result["provider_seconds"] as? Double)

        let submit = try onlyRequest(mock, "POST", "/api/rest/v1/generations")
        XCTAssertEqual(submit.headers["authorization"], "Bearer test-leonardo-key-456")
        XCTAssertEqual(submit.headers["content-type"], "application/json")
        XCTAssertEqual(submit.body["prompt"] as? String, "An oil painting of a cat")
        XCTAssertEqual(submit.body["modelId"] as? String, "6bef9f1b-29cb-40c7-b9df-32b51c1f67d3")
        XCTAssertEqual(submit.body["width"] as? Int, 512)
        XCTAssertEqual(submit.body["height"] as? Int, 512)
        XCTAssertEqual(submit.body["num_images"] as? Int, 2)
        XCTAssertEqual(submit.body["negative_prompt"] as? String, "blurry")
        let polls = try requests(mock).filter { $0.method == "GET" && $0.path == "/api/rest/v1/generations/\(taskID)" }
        XCTAssertFalse(polls.isEmpty, "the generation was never polled")
        XCTAssertTrue(polls.allSatisfy { $0.headers["authorization"] == "Bearer test-leonardo-key-456" })
    }

    func testOpenAIImagesSendsTheDocumentedBody() throws {
        let mock = try startMock()
        let id = try XCTUnwrap(
            enqueue("image_generation", ["provider": "openai", "prompt": "a red fox in the snow"]).first)
        try drain(environment(mock))

        assertFiles(try completedResult(id), of: id, equal: try mock.fixture("image.png"))
        let request = try onlyRequest(mock, "POST", "/v1/images/generations")
        XCTAssertEqual(request.headers["authorization"], "Bearer sk-test-openai-key-123")
        XCTAssertEqual(request.body["model"] as? String, "gpt-image-1")
        XCTAssertEqual(request.body["prompt"] as? String, "a red fox in the snow")
    }

    /// dall-e answers with short-lived URLs; each image is downloaded into `image-N.png` and the
    /// revised prompt is kept.
    func testOpenAIDallEDownloadsEachURLImage() throws {
        let mock = try startMock()
        let id = try XCTUnwrap(
            enqueue(
                "image_generation", ["provider": "openai", "prompt": "a fox", "model": "dall-e-2", "num_images": 2]
            )
            .first)
        try drain(environment(mock))

        let result = try completedResult(id)
        assertFiles(result, of: id, equal: try mock.fixture("image.png"), count: 2)
        XCTAssertEqual(
            (result["files"] as? [String])?.map { ($0 as NSString).lastPathComponent }, ["image-1.png", "image-2.png"])
        XCTAssertEqual(try onlyRequest(mock, "POST", "/v1/images/generations").body["model"] as? String, "dall-e-2")
    }

    /// Garbage from a provider: a 200 answer whose image is not base64 fails the job with the
    /// field named (after the retries a transient answer gets), and no file is left behind.
    func testOpenAIImageThatIsNotBase64FailsTheJobNamingTheField() throws {
        let mock = try startMock()
        let server = try TinyHTTPServer(body: #"{"created":1,"data":[{"b64_json":"%%% not base64 %%%"}]}"#)
        defer { server.stop() }
        let id = try XCTUnwrap(enqueue("image_generation", ["provider": "openai", "prompt": "a fox"]).first)
        try drain(environment(mock, ["OPENAI_BASE_URL": server.url, "RETRY_BASE_DELAY_SECONDS": "0.05"]))

        let failed = try row(id)
        XCTAssertEqual(failed.status, "failed")
        XCTAssertEqual(
            failed.error, "OpenAI sent data[0].b64_json that is not valid base64 (gave up after 3 attempts)")
        let folder = workspace.outputDirectory + "/\(id)"
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [], [])
    }

    func testSeedreamGeneratesAndDownloadsItsShortLivedURL() throws {
        let mock = try startMock()
        let id = try XCTUnwrap(
            enqueue(
                "image_generation",
                ["provider": "bytedance", "prompt": "a lighthouse at dusk", "width": 1024, "height": 1024]
            ).first)
        try drain(environment(mock))

        let result = try completedResult(id)
        assertFiles(result, of: id, equal: try mock.fixture("image.png"))
        XCTAssertEqual(result["provider"] as? String, "bytedance")
        let request = try onlyRequest(mock, "POST", "/api/v3/images/generations")
        XCTAssertEqual(request.headers["authorization"], "Bearer test-ark-key-789")
        XCTAssertEqual(request.body["model"] as? String, "seedream-4-0-250828")
        XCTAssertEqual(request.body["prompt"] as? String, "a lighthouse at dusk")
        XCTAssertEqual(request.body["size"] as? String, "1024x1024")
        XCTAssertEqual(request.body["watermark"] as? Bool, false)
        XCTAssertEqual(request.body["response_format"] as? String, "url")
    }

    /// Seedream answers with base64 when the params' options ask for it; the image is decoded
    /// (off the loop) into the same `image-1.png` a URL answer gives.
    func testSeedreamKeepsABase64AnswerAsTheSameImage() throws {
        let mock = try startMock()
        let id = try XCTUnwrap(
            enqueue(
                "image_generation",
                ["provider": "bytedance", "prompt": "a lighthouse", "options": ["response_format": "b64_json"]]
            ).first)
        try drain(environment(mock))

        let result = try completedResult(id)
        assertFiles(result, of: id, equal: try mock.fixture("image.png"))
        XCTAssertEqual(result["files"] as? [String], [workspace.outputDirectory + "/\(id)/image-1.png"])
        XCTAssertEqual(
            try onlyRequest(mock, "POST", "/api/v3/images/generations").body["response_format"] as? String, "b64_json")
    }

    /// Garbage in a paid answer: Seedream's image that is not base64 fails the job naming the
    /// field, at once (the answer's kind: another attempt would be billed again), no file left.
    func testSeedreamImageThatIsNotBase64FailsAtOnceNamingTheField() throws {
        let mock = try startMock()
        let server = try TinyHTTPServer(
            body: #"{"model":"seedream-4-0-250828","data":[{"b64_json":"%%% not base64 %%%"}]}"#)
        defer { server.stop() }
        let id = try XCTUnwrap(enqueue("image_generation", ["provider": "bytedance", "prompt": "a fox"]).first)
        try drain(environment(mock, ["ARK_BASE_URL": server.url, "RETRY_BASE_DELAY_SECONDS": "0.05"]))

        let failed = try row(id)
        XCTAssertEqual(failed.status, "failed")
        XCTAssertEqual(failed.error, "Seedream (Ark) sent data[0].b64_json that is not valid base64")
        XCTAssertEqual(server.requests.load(ordering: .relaxed), 1, "a paid generation must not be sent again")
        let folder = workspace.outputDirectory + "/\(id)"
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [], [])
    }

    func testBriaSendsALocalImageAsBase64AndDownloadsTheCutOut() throws {
        let mock = try startMock()
        let image = try localImage(mock)
        let id = try XCTUnwrap(enqueue("background_removal", ["image": image.path]).first)
        try drain(environment(mock))

        let result = try completedResult(id)
        assertFiles(result, of: id, equal: try mock.fixture("image.png"))
        XCTAssertEqual(result["provider"] as? String, "bria")
        let submit = try onlyRequest(mock, "POST", "/v2/image/edit/remove_background")
        XCTAssertEqual(submit.headers["api_token"], "test-bria-token-abc")
        XCTAssertNil(submit.headers["authorization"], "BRIA takes api_token, not Authorization")
        XCTAssertEqual(submit.body["image"] as? String, image.bytes.base64EncodedString())
        XCTAssertEqual(submit.body["sync"] as? Bool, false)
        let taskID = try XCTUnwrap(result["provider_task_id"] as? String)
        let polls = try requests(mock).filter { $0.method == "GET" && $0.path == "/v2/status/\(taskID)" }
        XCTAssertFalse(polls.isEmpty)
        XCTAssertTrue(polls.allSatisfy { $0.headers["api_token"] == "test-bria-token-abc" })
    }

    func testStyleAnalysisForcesTheSchemaAndStoresStyleAndPaletteInTheResult() throws {
        let mock = try startMock()
        let image = try localImage(mock)
        let id = try XCTUnwrap(enqueue("style_analysis", ["image": image.path, "palette_size": 4]).first)
        try drain(environment(mock))

        let result = try completedResult(id)
        XCTAssertEqual(result["files"] as? [String], [])
        XCTAssertFalse((result["style"] as? String ?? "").isEmpty)
        let palette = try XCTUnwrap(result["palette"] as? [[String: Any]])
        XCTAssertEqual(palette.count, 4)
        for entry in palette {
            let hex = entry["hex"] as? String ?? ""
            XCTAssertNotNil(hex.range(of: "^#[0-9A-F]{6}$", options: .regularExpression), hex)
            XCTAssertNotNil(entry["weight"] as? Double)
        }
        XCTAssertTrue((result["provider_task_id"] as? String ?? "").hasPrefix("chatcmpl-"))

        let request = try onlyRequest(mock, "POST", "/v1/chat/completions")
        XCTAssertEqual(request.headers["authorization"], "Bearer sk-test-openai-key-123")
        XCTAssertEqual(request.body["model"] as? String, "gpt-4o-mini")
        let messages = try XCTUnwrap(request.body["messages"] as? [[String: Any]])
        let parts = try XCTUnwrap(messages.last?["content"] as? [[String: Any]])
        let imagePart = try XCTUnwrap(parts.first { $0["type"] as? String == "image_url" })
        let url = (imagePart["image_url"] as? [String: Any])?["url"] as? String
        XCTAssertEqual(url, "data:image/png;base64," + image.bytes.base64EncodedString())
        let format = try XCTUnwrap(request.body["response_format"] as? [String: Any])
        XCTAssertEqual(format["type"] as? String, "json_schema")
        let schema = try XCTUnwrap(format["json_schema"] as? [String: Any])
        XCTAssertEqual(schema["strict"] as? Bool, true)
        let properties = (schema["schema"] as? [String: Any])?["properties"] as? [String: Any]
        let items = (properties?["palette"] as? [String: Any])?["items"] as? [String: Any]
        XCTAssertEqual(items?["required"] as? [String], ["hex", "weight"])
    }

    func testKlingImageToVideoSignsAJWTAndDownloadsTheVideo() throws {
        let mock = try startMock()
        let imageURL = mock.baseURL + "/_mock/fixtures/image.png"
        let id = try XCTUnwrap(
            enqueue("animation", ["provider": "kling", "image": imageURL, "prompt": "the cat turns its head"]).first)
        try drain(environment(mock))

        let result = try completedResult(id)
        assertFiles(result, of: id, equal: try mock.fixture("video.mp4"))
        let submit = try onlyRequest(mock, "POST", "/v1/videos/image2video")
        try assertKlingJWT(submit.headers["authorization"])
        XCTAssertEqual(submit.body["image"] as? String, imageURL)
        XCTAssertEqual(submit.body["prompt"] as? String, "the cat turns its head")
        XCTAssertEqual(submit.body["model_name"] as? String, "kling-v1")
        XCTAssertEqual(submit.body["duration"] as? String, "5", "Kling wants the duration as a string")
        XCTAssertEqual(submit.body["mode"] as? String, "std")
        // Our own key: this database's random id, the job and its submission number.
        XCTAssertEqual(submit.body["external_task_id"] as? String, try externalID(id))
        let taskID = try XCTUnwrap(result["provider_task_id"] as? String)
        let polls = try requests(mock).filter { $0.method == "GET" && $0.path == "/v1/videos/image2video/\(taskID)" }
        XCTAssertFalse(polls.isEmpty)
        for poll in polls { try assertKlingJWT(poll.headers["authorization"]) }
    }

    func testKlingTextToVideoSendsPromptRatioAndDurationAsString() throws {
        let mock = try startMock()
        let id = try XCTUnwrap(
            enqueue(
                "animation",
                [
                    "provider": "kling", "prompt": "waves at night", "aspect_ratio": "9:16", "duration": 10,
                    "mode": "pro",
                ]
            ).first)
        try drain(environment(mock))

        assertFiles(try completedResult(id), of: id, equal: try mock.fixture("video.mp4"))
        let submit = try onlyRequest(mock, "POST", "/v1/videos/text2video")
        try assertKlingJWT(submit.headers["authorization"])
        XCTAssertEqual(submit.body["prompt"] as? String, "waves at night")
        XCTAssertEqual(submit.body["aspect_ratio"] as? String, "9:16")
        XCTAssertEqual(submit.body["duration"] as? String, "10")
        XCTAssertEqual(submit.body["mode"] as? String, "pro")
        XCTAssertNil(submit.body["image"])
    }

    func testSeedanceCreatesATaskWithTextCommandsAndAFirstFrame() throws {
        let mock = try startMock()
        let imageURL = mock.baseURL + "/_mock/fixtures/image.png"
        let id = try XCTUnwrap(
            enqueue(
                "animation",
                [
                    "provider": "seedance", "prompt": "A dog runs on the beach", "image": imageURL,
                    "aspect_ratio": "16:9",
                ]
            ).first)
        try drain(environment(mock))

        let result = try completedResult(id)
        assertFiles(result, of: id, equal: try mock.fixture("video.mp4"))
        let submit = try onlyRequest(mock, "POST", "/api/v3/contents/generations/tasks")
        XCTAssertEqual(submit.headers["authorization"], "Bearer test-ark-key-789")
        XCTAssertEqual(submit.body["model"] as? String, "seedance-1-0-pro-250528")
        let content = try XCTUnwrap(submit.body["content"] as? [[String: Any]])
        XCTAssertEqual(content.first?["type"] as? String, "text")
        // The seed marks the task, so that a submission whose task id was lost can be found.
        let text = try XCTUnwrap(content.first?["text"] as? String)
        XCTAssertTrue(text.hasPrefix("A dog runs on the beach --dur 5 --rt 16:9 --wm false --seed "), text)
        XCTAssertEqual(content.last?["type"] as? String, "image_url")
        XCTAssertEqual((content.last?["image_url"] as? [String: Any])?["url"] as? String, imageURL)
        XCTAssertEqual(content.last?["role"] as? String, "first_frame")
        let taskID = try XCTUnwrap(result["provider_task_id"] as? String)
        XCTAssertFalse(
            try requests(mock).filter {
                $0.method == "GET" && $0.path == "/api/v3/contents/generations/tasks/\(taskID)"
            }
            .isEmpty)
    }

    /// Checks a Kling `Authorization` value: Bearer, a JWT that verifies with the test secret,
    /// `iss` = the test access key, valid now.
    private func assertKlingJWT(_ header: String?, file: StaticString = #filePath, line: UInt = #line) throws {
        let value = try XCTUnwrap(header, "no Authorization header", file: file, line: line)
        XCTAssertTrue(value.hasPrefix("Bearer "), value, file: file, line: line)
        let parts = value.dropFirst("Bearer ".count).split(separator: ".").map(String.init)
        XCTAssertEqual(parts.count, 3, file: file, line: line)
        guard parts.count == 3 else { return }
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(parts[0]).\(parts[1])".utf8), using: SymmetricKey(data: Data("test-kling-secret".utf8)))
        let signature = Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        XCTAssertEqual(parts[2], signature, "the JWT must verify with KLING_SECRET_KEY", file: file, line: line)
        var payload = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let claims = try XCTUnwrap(
            Data(base64Encoded: payload).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] },
            file: file, line: line)
        XCTAssertEqual(claims["iss"] as? String, "test-kling-access", file: file, line: line)
        let now = Date().timeIntervalSince1970
        let exp = try XCTUnwrap(claims["exp"] as? Double, file: file, line: line)
        let nbf = try XCTUnwrap(claims["nbf"] as? Double, file: file, line: line)
        XCTAssertGreaterThan(exp, now + 1500, file: file, line: line)
        XCTAssertLessThan(nbf, now, file: file, line: line)
    }
}
