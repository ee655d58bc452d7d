import Foundation
import XCTest

/// The bench knobs for studio-sized videos: `--video-bytes` pads every video, `--video-rate` caps
/// each download's rate, and `--video-task-seconds` spreads the video tasks' times.
final class VideoDownloadTests: MockProviderTestCase {
    override var serverArguments: [String] {
        ["--video-bytes", "1000000", "--video-rate", "2000000", "--video-task-seconds", "20:60", "--seed", "7"]
    }

    private let text2video: [String: Any] = ["model_name": "kling-v2-1-master", "prompt": "waves", "duration": "5"]

    func testEveryVideoIsTheSizeAskedForAndSentNoFasterThanTheCap() async throws {
        let started = Date()
        let first = try await client.get("/_mock/files/videos/kling-a.mp4")
        // At 2 MB/s, 1 MB cannot arrive in less than half a second (the cap is a floor on time).
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.45)
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.data.count, 1_000_000)
        XCTAssertEqual(first.headers["content-length"], "1000000")
        XCTAssertEqual(first.data.prefix(8).suffix(4), Data("ftyp".utf8), "still an MP4 from its first box")
        let second = try await client.get("/_mock/files/videos/kling-b.mp4")
        XCTAssertEqual(second.data, first.data, "untagged videos are one shared body")
    }

    func testVideoTasksTakeTimesSpreadOverTheRangeAndOthersKeepTheirs() async throws {
        for _ in 0..<8 {
            let submit = try await client.post(
                "/v1/videos/text2video", headers: ["Authorization": "Bearer \(KlingToken.valid())"], json: text2video)
            XCTAssertEqual(submit.status, 200, submit.text)
        }
        let removal = try await client.post(
            "/v2/image/edit/remove_background", headers: ["api_token": "test-bria-token"],
            json: ["image": "https://example.com/a.png"])
        XCTAssertEqual(removal.status, 202, removal.text)
        let tasks = try await client.get("/_mock/tasks")
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: tasks.data) as? [[String: Any]])
        let video = list.filter { $0["kind"] as? String == "text2video" }.compactMap { $0["seconds"] as? Double }
        XCTAssertEqual(video.count, 8)
        XCTAssertTrue(video.allSatisfy { (20...60).contains($0) }, "\(video)")
        XCTAssertGreaterThan(Set(video).count, 1, "drawn per task, not one value")
        let bria = list.filter { $0["kind"] as? String == "bria" }.compactMap { $0["seconds"] as? Double }
        XCTAssertEqual(bria, [1], "other tasks keep --task-seconds")
    }
}

/// A range the mock cannot use stops it at start with a line that names the flag.
final class VideoTaskSecondsValidationTests: XCTestCase {
    func testABackwardsRangeIsRefusedAtStart() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try MockServerProcess.binaryPath())
        process.arguments = ["--port", "0", "--video-task-seconds", "60:20"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(text.contains("--video-task-seconds must be seconds as MIN:MAX"), text)
    }
}
