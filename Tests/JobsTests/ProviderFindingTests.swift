import Foundation
import JSON
import Reactor
import XCTest

@testable import Jobs

/// The descriptions' side of finding a submission's task by our own key: Kling's query by
/// `external_task_id` and its duplicate refusal, Seedance's list searched by the seed the worker
/// chose, and the keys and seeds themselves. Recorded answers, no network.
final class ProviderFindingTests: XCTestCase {
    private let connection = ProviderConnection(base: "https://provider.example", headers: [("Authorization", "x")])

    private func job(_ params: String = #"{"prompt":"a fox"}"#, id: Int64 = 12, submission: Int = 1) throws
        -> ProviderJob
    {
        ProviderJob(
            id: id, type: "animation", params: try JobParams.parse(params),
            externalID: ExternalTaskID(databaseID: "0a1b2c3d4e5f", jobID: id, submission: submission).description,
            createdAt: 1_700_000_000)
    }

    private func answer(_ body: String, status: Int = 200, api: String = "Kling") throws -> ProviderAnswer {
        try ProviderAnswer(HTTPResponse(status: status, body: Data(body.utf8)), api: api, kind: .transient)
    }

    func testTheExternalIDNamesTheDatabaseTheJobAndTheSubmission() {
        XCTAssertEqual(
            ExternalTaskID(databaseID: "0a1b2c3d4e5f", jobID: 128, submission: 2).description, "rw-0a1b2c3d4e5f-128-2")
        XCTAssertEqual(DatabaseID.random().count, 12)
        XCTAssertNotEqual(DatabaseID.random(), DatabaseID.random())
    }

    func testKlingSendsOurKeyAndFindsItsTaskByItOnTheSameFamily() throws {
        let kling = Kling()
        let text = try job()
        let submit = try kling.submitRequest(text, images: [:], connection)
        XCTAssertEqual(submit.url, "https://provider.example/v1/videos/text2video")
        let body = try JSONValue.parse(submit.body ?? Data())
        XCTAssertEqual(body["external_task_id"]?.stringValue, "rw-0a1b2c3d4e5f-12-1")

        let find = try XCTUnwrap(kling.findRequest(text, page: 1, connection))
        XCTAssertEqual(find.url, "https://provider.example/v1/videos/text2video/rw-0a1b2c3d4e5f-12-1")
        XCTAssertNil(kling.findRequest(text, page: 2, connection), "the query answers at once; there are no pages")
        let image = try job(#"{"image":"https://x/y.png"}"#)
        XCTAssertEqual(
            kling.findRequest(image, page: 1, connection)?.url,
            "https://provider.example/v1/videos/image2video/rw-0a1b2c3d4e5f-12-1")

        let found = try kling.readFind(
            answer(
                #"{"code":0,"data":{"task_id":"T9","task_status":"processing","task_info":{"external_task_id":"rw-0a1b2c3d4e5f-12-1"}}}"#
            ), text, page: 1)
        XCTAssertEqual(found, .found(ProviderTask(id: "T9", state: "processing")))
        let someoneElses = try kling.readFind(
            answer(#"{"code":0,"data":{"task_id":"T1","task_info":{"external_task_id":"reactor-job-12"}}}"#), text,
            page: 1)
        XCTAssertEqual(someoneElses, .notFound, "a task under another key is never adopted")
    }

    func testKlingCallsOnlyAnExternalIDRefusalADuplicate() {
        let kling = Kling()
        func refusal(_ status: Int, _ body: String) -> HTTPResponse {
            HTTPResponse(status: status, body: Data(body.utf8))
        }
        XCTAssertTrue(
            kling.isDuplicateSubmit(
                refusal(
                    400,
                    #"{"code":1201,"message":"Invalid parameter: external_task_id rw-0a1b2c3d4e5f-12-1 already exists"}"#
                )))
        XCTAssertFalse(kling.isDuplicateSubmit(refusal(400, #"{"code":1201,"message":"duration must be 5 or 10"}"#)))
        XCTAssertFalse(kling.isDuplicateSubmit(refusal(429, #"{"code":1302,"message":"too fast"}"#)))
        XCTAssertFalse(kling.isDuplicateSubmit(refusal(400, "not json")))
    }

    private func arkConnection() throws -> ProviderConnection {
        try Seedance().connect(
            ProviderSettings(values: ["ARK_API_KEY": "k", "ARK_BASE_URL": "https://provider.example"]))
    }

    func testSeedanceMarksItsTaskWithASeedOfOurOwnUnlessTheJobSetsOne() throws {
        let seedance = Seedance()
        let connection = try arkConnection()
        let first = try job()
        let seed = Seedance.seed(for: first.externalID)
        XCTAssertTrue((1...2_147_483_647).contains(seed))
        XCTAssertEqual(Seedance.seed(for: first.externalID), seed, "the same for every send of a submission")
        XCTAssertNotEqual(Seedance.seed(for: try job(submission: 2).externalID), seed, "a new submission, a new seed")
        let body = try JSONValue.parse(seedance.submitRequest(first, images: [:], connection).body ?? Data())
        XCTAssertEqual(body["content"]?[0]?["text"]?.stringValue, "a fox --dur 5 --wm false --seed \(seed)")

        let ownSeed = try job(#"{"prompt":"a fox","options":{"seed":7}}"#)
        let ownBody = try JSONValue.parse(seedance.submitRequest(ownSeed, images: [:], connection).body ?? Data())
        XCTAssertEqual(ownBody["content"]?[0]?["text"]?.stringValue, "a fox --dur 5 --wm false")
        XCTAssertEqual(ownBody["seed"], 7)
        XCTAssertNil(seedance.findRequest(ownSeed, page: 1, connection), "a seed the user chose marks nothing")
    }

    func testSeedanceSearchesItsTaskListByTheSeedUntilThePagesPassTheJobsCreation() throws {
        let seedance = Seedance()
        let connection = try arkConnection()
        let job = try job()
        let seed = Seedance.seed(for: job.externalID)
        let request = try XCTUnwrap(seedance.findRequest(job, page: 2, connection))
        XCTAssertEqual(
            request.url,
            "https://provider.example/contents/generations/tasks?page_num=2&page_size=50&filter.model=seedance-1-0-pro-250528"
        )
        let mine = #"{"id":"cgt-mine","status":"running","seed":\#(seed),"created_at":1700000005}"#
        let other = #"{"id":"cgt-other","status":"succeeded","seed":42,"created_at":1700000100}"#
        XCTAssertEqual(
            try seedance.readFind(answer(#"{"items":[\#(other),\#(mine)],"total":2}"#, api: "Seedance"), job, page: 1),
            .found(ProviderTask(id: "cgt-mine", state: "running")))
        XCTAssertEqual(
            try seedance.readFind(answer(#"{"items":[\#(other)],"total":1}"#, api: "Seedance"), job, page: 1),
            .notFound, "a short page is the last")
        let full = Array(repeating: other, count: Seedance.findPageSize).joined(separator: ",")
        XCTAssertEqual(
            try seedance.readFind(answer(#"{"items":[\#(full)],"total":500}"#, api: "Seedance"), job, page: 1),
            .nextPage)
        let old = #"{"id":"cgt-old","status":"succeeded","seed":1,"created_at":1600000000}"#
        let reachingBack = (Array(repeating: other, count: Seedance.findPageSize - 1) + [old]).joined(separator: ",")
        XCTAssertEqual(
            try seedance.readFind(answer(#"{"items":[\#(reachingBack)],"total":500}"#, api: "Seedance"), job, page: 1),
            .notFound, "tasks older than the job cannot be its")
        XCTAssertThrowsError(try seedance.readFind(answer(#"{"total":0}"#, api: "Seedance"), job, page: 1))
    }
}
