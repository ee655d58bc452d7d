import Foundation
import TestSupport
import XCTest

/// `video_stitching` on the built worker with real ffmpeg.
final class MediaStitchingEndToEndTests: MediaEndToEndCase {
    private func duration(_ stream: [String: Any]) -> Double { Double(stream["duration"] as? String ?? "") ?? -1 }

    func testThreeClipsOfDifferentSizesJoinAtTheFirstSizeWithCutsOrCrossfades() throws {
        // 2 s at 25 fps with audio, 2 s at 30 fps without, 1 s at 25 fps with: 5 s in all.
        let first = try greenScreenClip("first.mp4", width: 160, height: 120, seconds: 2, tone: true)
        let second = try greenScreenClip("second.mp4", width: 320, height: 240, seconds: 2, rate: 30, box: "blue")
        let third = try greenScreenClip("third.mp4", width: 96, height: 96, seconds: 1, box: "white", tone: true)
        let inputs = [first, second, third]
        let cut = try XCTUnwrap(enqueue("video_stitching", ["inputs": inputs]).first)
        let faded = try XCTUnwrap(
            enqueue("video_stitching", ["inputs": inputs, "transition": "crossfade", "transition_seconds": 0.5]).first)
        try drain(mediaEnvironment())

        let frame = 1.0 / 25
        for (id, expected) in [(cut, 5.0), (faded, 5.0 - 2 * 0.5)] {
            let result = try completedResult(id)
            let file = try XCTUnwrap((result["files"] as? [String])?.first)
            XCTAssertEqual(file, workspace.outputDirectory + "/\(id)/stitched.mp4")
            XCTAssertEqual(folder(id), ["stitched.mp4"])
            let streams = try probe(file)["streams"] as? [[String: Any]] ?? []
            let video = try XCTUnwrap(streams.first { $0["codec_type"] as? String == "video" })
            XCTAssertEqual(video["width"] as? Int, 160, "job \(id) takes the first clip's width")
            XCTAssertEqual(video["height"] as? Int, 120, "job \(id) takes the first clip's height")
            XCTAssertEqual(video["r_frame_rate"] as? String, "25/1", "job \(id) takes the first clip's frame rate")
            XCTAssertEqual(duration(video), expected, accuracy: frame + 1e-6, "job \(id) video duration")
            // The second clip has no audio: its part is silence, so the track runs the whole length.
            let audio = try XCTUnwrap(streams.first { $0["codec_type"] as? String == "audio" }, "job \(id) has audio")
            XCTAssertEqual(duration(audio), expected, accuracy: 0.05, "job \(id) audio duration")
            XCTAssertEqual(result["duration"] as? Double ?? -1, expected, accuracy: 1e-6)
            XCTAssertEqual(progress(id), 1)
        }
        // The middle of the second (blue) clip, scaled to 160×120: blue, not stretched green.
        let pixels = try rgbaFrame(workspace.outputDirectory + "/\(cut)/stitched.mp4", index: 75)
        let blueBox = pixels[((120 / 3 + 10) * 160 + 60) * 4..<((120 / 3 + 10) * 160 + 60) * 4 + 3]
        XCTAssertGreaterThan(blueBox[blueBox.startIndex + 2], 150, "\(Array(blueBox))")
    }

    func testCrossfadeLongerThanAClipFailsNamingTheParam() throws {
        let first = try greenScreenClip("a.mp4", seconds: 1)
        let second = try greenScreenClip("b.mp4", seconds: 1)
        let id = try XCTUnwrap(
            enqueue(
                "video_stitching", ["inputs": [first, second], "transition": "crossfade", "transition_seconds": 2]
            )
            .first)
        let single = try XCTUnwrap(enqueue("video_stitching", ["inputs": [first]], checked: false).first)
        try drain(mediaEnvironment())
        let error = try row(id).error ?? ""
        XCTAssertTrue(error.hasPrefix("params.transition_seconds (2 s) is too long for inputs[0]"), error)
        XCTAssertTrue(try row(single).error?.hasPrefix("params.inputs is required for video_stitching") ?? false)
    }
}
