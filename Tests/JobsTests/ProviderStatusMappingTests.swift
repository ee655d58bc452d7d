import Foundation
import JSON
import Reactor
import XCTest

@testable import Jobs

/// Each async provider's status words mapped onto pending / done / failed (PROVIDERS.md §8),
/// and answers with missing fields or bodies that are not JSON failing with words that name
/// what was missing and the HTTP status.
final class ProviderStatusMappingTests: XCTestCase {
    private func response(_ body: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, body: Data(body.utf8))
    }

    private func failure<T>(_ work: () throws -> T) -> JobFailure? {
        do {
            _ = try work()
            return nil
        } catch {
            return error as? JobFailure
        }
    }

    private func state(_ poll: TaskPoll) -> String? {
        if case .pending(let state) = poll { return state }
        return nil
    }

    /// What the engine does with a 2xx poll answer: parse it (a broken one is asked again),
    /// then let the description read it.
    private func poll(_ api: any ProviderAPI, _ response: HTTPResponse, id: String) throws -> TaskPoll {
        try api.readPoll(
            ProviderAnswer(response, api: api.name.display, kind: .transient), ProviderTask(id: id, state: ""))
    }

    // MARK: Leonardo

    func testLeonardoPendingCompleteAndFailed() throws {
        let pending = try poll(
            Leonardo(),
            response(#"{"generations_by_pk":{"id":"g","status":"PENDING","generated_images":[]}}"#), id: "g")
        XCTAssertEqual(state(pending), "PENDING")
        let complete = try poll(
            Leonardo(),
            response(
                #"{"generations_by_pk":{"status":"COMPLETE","generated_images":[{"url":"https://cdn/a.jpg"},{"url":"https://cdn/b.jpg"}]}}"#
            ), id: "g")
        XCTAssertEqual(complete.result?.files.map(\.url), ["https://cdn/a.jpg", "https://cdn/b.jpg"])
        let failed = failure {
            try poll(Leonardo(), response(#"{"generations_by_pk":{"status":"FAILED"}}"#), id: "g")
        }
        XCTAssertEqual(failed?.kind, .permanent)
        XCTAssertEqual(failed?.message, "Leonardo generation g ended FAILED (HTTP 200); no images were made")
    }

    func testLeonardoUnknownGenerationAndMissingFields() {
        let unknown = failure { try poll(Leonardo(), response(#"{"generations_by_pk":null}"#), id: "g") }
        XCTAssertEqual(unknown?.kind, .permanent)
        XCTAssertTrue(unknown?.message.contains("no generation g") == true, unknown?.message ?? "")
        let noStatus = failure {
            try poll(Leonardo(), response(#"{"generations_by_pk":{"id":"g"}}"#), id: "g")
        }
        XCTAssertEqual(noStatus?.kind, .transient, "a broken poll is asked again")
        XCTAssertTrue(
            noStatus?.message.hasPrefix("Leonardo answered HTTP 200 without generations_by_pk.status") == true)
        let noURL = failure {
            try poll(
                Leonardo(),
                response(#"{"generations_by_pk":{"status":"COMPLETE","generated_images":[{"id":"x"}]}}"#), id: "g")
        }
        XCTAssertTrue(noURL?.message.contains("without generations_by_pk.generated_images.0.url") == true)
    }

    // MARK: BRIA

    func testBriaInProgressCompletedErrorAndUnknown() throws {
        XCTAssertEqual(
            state(try poll(Bria(), response(#"{"status":"IN_PROGRESS"}"#), id: "r")),
            "IN_PROGRESS")
        let done = try poll(
            Bria(),
            response(#"{"status":"COMPLETED","result":{"image_url":"https://b/cut.png"}}"#), id: "r")
        XCTAssertEqual(done.result?.files.first?.url, "https://b/cut.png")
        let error = failure {
            try poll(
                Bria(),
                response(
                    #"{"status":"ERROR","error":{"code":422,"message":"Unprocessable Entity","details":"moderation"}}"#),
                id: "r")
        }
        XCTAssertEqual(error?.kind, .permanent)
        XCTAssertEqual(error?.message, "BRIA request r ended ERROR (HTTP 200): Unprocessable Entity: moderation")
        XCTAssertEqual(
            failure { try poll(Bria(), response(#"{"status":"UNKNOWN"}"#), id: "r") }?.kind,
            .permanent)
    }

    func testBriaStatusURLIsOnlyFollowedOnTheConfiguredHost() {
        let base = "https://engine.prod.bria-api.com"
        XCTAssertEqual(
            Bria.statusURL("\(base)/v2/status/abc", id: "abc", base: base),
            "\(base)/v2/status/abc")
        XCTAssertEqual(
            Bria.statusURL("https://elsewhere.example/v2/status/abc", id: "abc", base: base),
            "\(base)/v2/status/abc", "the api_token must not go to another host")
        XCTAssertEqual(Bria.statusURL(nil, id: "abc", base: base), "\(base)/v2/status/abc")
    }

    // MARK: Kling

    func testKlingSubmittedProcessingSucceedAndFailed() throws {
        for word in ["submitted", "processing"] {
            let poll = try poll(Kling(), response(#"{"code":0,"data":{"task_status":"\#(word)"}}"#), id: "t")
            XCTAssertEqual(state(poll), word)
        }
        let done = try poll(
            Kling(),
            response(
                #"{"code":0,"data":{"task_status":"succeed","task_result":{"videos":[{"url":"https://k/v.mp4"}]}}}"#),
            id: "t")
        XCTAssertEqual(done.result?.files.first?.url, "https://k/v.mp4")
        let failed = failure {
            try poll(
                Kling(),
                response(
                    #"{"code":0,"data":{"task_status":"failed","task_status_msg":"Failure to pass the risk control system"}}"#
                ),
                id: "t")
        }
        XCTAssertEqual(failed?.kind, .permanent)
        XCTAssertEqual(failed?.message, "Kling task t failed (HTTP 200): Failure to pass the risk control system")
        let noVideo = failure {
            try poll(
                Kling(),
                response(#"{"code":0,"data":{"task_status":"succeed","task_result":{"videos":[]}}}"#), id: "t")
        }
        XCTAssertTrue(noVideo?.message.contains("without data.task_result.videos.0.url") == true)
    }

    // MARK: Seedance

    func testSeedanceQueuedRunningSucceededAndTheThreeFailures() throws {
        for word in ["queued", "running"] {
            XCTAssertEqual(state(try poll(Seedance(), response(#"{"status":"\#(word)"}"#), id: "cgt")), word)
        }
        let done = try poll(
            Seedance(),
            response(#"{"status":"succeeded","content":{"video_url":"https://ark/v.mp4"}}"#), id: "cgt")
        XCTAssertEqual(done.result?.files.first?.url, "https://ark/v.mp4")
        for word in ["failed", "cancelled", "expired"] {
            let ended = failure {
                try poll(
                    Seedance(),
                    response(
                        #"{"status":"\#(word)","error":{"code":"OutputVideoSensitiveContentDetected","message":"sensitive"}}"#
                    ),
                    id: "cgt")
            }
            XCTAssertEqual(ended?.kind, .permanent)
            XCTAssertEqual(
                ended?.message,
                "Seedance task cgt ended \(word) (HTTP 200): OutputVideoSensitiveContentDetected: sensitive")
        }
    }

    // MARK: Sync answers

    func testSeedreamKeepsGoodImagesOfAGroupAndFailsWhenNoneIsLeft() throws {
        let mixed = try ProviderAnswer(
            response(
                #"{"model":"m","data":[{"url":"https://ark/1.jpeg"},{"error":{"code":"OutputImageSensitiveContentDetected","message":"no"}}]}"#
            ),
            api: "Seedream (Ark)", kind: .permanent)
        let read = try Seedream.readImages(mixed)
        XCTAssertEqual(read.images, [ProviderFile(.url("https://ark/1.jpeg"))])
        XCTAssertEqual(read.errors, ["OutputImageSensitiveContentDetected: no"])
        let none = try ProviderAnswer(
            response(#"{"data":[{"error":{"code":"OutputImageSensitiveContentDetected","message":"no"}}]}"#),
            api: "Seedream (Ark)", kind: .permanent)
        XCTAssertEqual(failure { try Seedream.readImages(none) }?.kind, .permanent)
        let empty = try ProviderAnswer(response(#"{"data":[]}"#), api: "Seedream (Ark)", kind: .permanent)
        XCTAssertTrue(failure { try Seedream.readImages(empty) }?.message.contains("without data[]") == true)
    }

    func testStyleAnalysisReadsStyleAndPaletteAndRefusesBrokenAnswers() throws {
        let content =
            ##"{\"style\":\"flat vector\",\"palette\":[{\"hex\":\"#e63946\",\"weight\":0.6},{\"hex\":\"2a9d8f\",\"weight\":0.4}]}"##
        let good = try ProviderAnswer(
            response(
                #"{"id":"c","choices":[{"finish_reason":"stop","message":{"content":"\#(content)","refusal":null}}]}"#),
            api: "OpenAI", kind: .permanent)
        let read = try OpenAIStyleAnalysis.readAnalysis(good)
        XCTAssertEqual(read["style"], "flat vector")
        XCTAssertEqual(read["palette"], [["hex": "#E63946", "weight": 0.6], ["hex": "#2A9D8F", "weight": 0.4]])

        let refusal = try ProviderAnswer(
            response(#"{"choices":[{"finish_reason":"stop","message":{"content":null,"refusal":"I can't help"}}]}"#),
            api: "OpenAI", kind: .permanent)
        XCTAssertEqual(
            failure { try OpenAIStyleAnalysis.readAnalysis(refusal) }?.message,
            "OpenAI declined to analyse the image (HTTP 200): I can't help")
        let cut = try ProviderAnswer(
            response(#"{"choices":[{"finish_reason":"length","message":{"content":"{\"style\":"}}]}"#), api: "OpenAI",
            kind: .permanent)
        XCTAssertTrue(
            failure { try OpenAIStyleAnalysis.readAnalysis(cut) }?.message.contains("finish_reason length")
                == true)
        let noContent = try ProviderAnswer(
            response(#"{"choices":[{"finish_reason":"stop","message":{"refusal":null}}]}"#), api: "OpenAI",
            kind: .permanent)
        XCTAssertTrue(
            failure { try OpenAIStyleAnalysis.readAnalysis(noContent) }?.message.hasPrefix(
                "OpenAI answered HTTP 200 without choices.0.message.content") == true)
        XCTAssertNil(OpenAIStyleAnalysis.normalisedHex("#GG0000"))
        XCTAssertEqual(OpenAIStyleAnalysis.normalisedHex("#abc"), "#AABBCC")
    }

    func testANonJSONBodyFailsQuotingTheStatusAndTheBody() {
        let submit = failure { try ProviderAnswer(response("<html>oops</html>"), api: "Kling", kind: .permanent) }
        XCTAssertEqual(submit?.kind, .permanent, "a broken submit answer is not submitted again")
        XCTAssertEqual(submit?.message, "Kling answered HTTP 200 with a body that is not JSON: <html>oops</html>")
        let broken = failure { try poll(Kling(), response(""), id: "t") }
        XCTAssertEqual(broken?.kind, .transient, "a broken poll answer is asked again")
        XCTAssertEqual(broken?.message, "Kling answered HTTP 200 with an empty body")
    }

    // MARK: Request bodies that need only params

    func testLeonardoBodyMapsParamsAndPassesOptionsThrough() throws {
        let params = try JobParams.parse(
            #"{"prompt":"a cat","width":512,"height":768,"num_images":2,"negative_prompt":"dogs","seed":7,"options":{"alchemy":true}}"#
        )
        let body = try JSONValue.parse(Leonardo.requestBody(params))
        XCTAssertEqual(body["prompt"], "a cat")
        XCTAssertEqual(body["modelId"]?.stringValue, Leonardo.defaultModelID)
        XCTAssertEqual(body["width"], 512)
        XCTAssertEqual(body["height"], 768)
        XCTAssertEqual(body["num_images"], 2)
        XCTAssertEqual(body["negative_prompt"], "dogs")
        XCTAssertEqual(body["seed"], 7)
        XCTAssertEqual(body["alchemy"], true)
        XCTAssertEqual(
            failure { try Leonardo.requestBody(JobParams.parse(#"{"prompt":"x","num_images":9}"#)) }?.message,
            "params.num_images must be between 1 and 8, got 9")
    }

    func testSeedreamBodyAsksForURLsWithoutWatermarkAndGroupsForSeveralImages() throws {
        let params = try JobParams.parse(#"{"prompt":"a cat","width":1024,"height":2048,"num_images":3}"#)
        let body = try JSONValue.parse(Seedream.requestBody(params))
        XCTAssertEqual(body["model"]?.stringValue, Seedream.defaultModel)
        XCTAssertEqual(body["size"], "1024x2048")
        XCTAssertEqual(body["watermark"], false)
        XCTAssertEqual(body["response_format"], "url")
        XCTAssertEqual(body["sequential_image_generation"], "auto")
        XCTAssertEqual(body["sequential_image_generation_options"]?["max_images"], 3)
    }
}
