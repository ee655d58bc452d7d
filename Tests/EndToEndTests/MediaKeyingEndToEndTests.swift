import Foundation
import TestSupport
import XCTest

/// `video_keying` on the built worker with real ffmpeg: real alpha, inputs from paths, URLs
/// and earlier jobs, and errors a user can act on.
final class MediaKeyingEndToEndTests: MediaEndToEndCase {
    /// Alpha of pixel (x, y) in an RGBA frame `width` pixels wide.
    private func alpha(_ frame: [UInt8], x: Int, y: Int, width: Int = 160) -> UInt8 { frame[(y * width + x) * 4 + 3] }

    func testKeyedOutputHasAlphaZeroOnTheGreenAndOpaqueOnTheMovingBox() throws {
        let clip = try greenScreenClip("green.mp4", tone: true)
        let webm = try XCTUnwrap(enqueue("video_keying", ["input": clip]).first)
        let mov = try XCTUnwrap(
            enqueue("video_keying", ["input": clip, "format": "mov", "key_color": "#00ff00"]).first)
        try drain(mediaEnvironment())

        let webmResult = try completedResult(webm)
        let webmFile = try XCTUnwrap((webmResult["files"] as? [String])?.first)
        XCTAssertEqual(webmFile, workspace.outputDirectory + "/\(webm)/keyed.webm")
        XCTAssertEqual(folder(webm), ["keyed.webm"], "only the output is left in the job folder")
        XCTAssertEqual(progress(webm), 1)
        // ffprobe's own VP9 decoder skips the alpha plane and says yuv420p; the stream's tag and
        // libvpx's decoder show the alpha.
        let webmStream = try videoStream(webmFile)
        XCTAssertEqual(webmStream["codec_name"] as? String, "vp9")
        XCTAssertEqual((webmStream["tags"] as? [String: String])?["alpha_mode"], "1")
        XCTAssertEqual(try decodedPixelFormat(webmFile, decoder: "libvpx-vp9"), "yuva420p")

        let movFile = try XCTUnwrap((try completedResult(mov)["files"] as? [String])?.first)
        XCTAssertTrue(movFile.hasSuffix("/\(mov)/keyed.mov"))
        let movStream = try videoStream(movFile)
        XCTAssertEqual(movStream["codec_name"] as? String, "prores")
        XCTAssertTrue((movStream["pix_fmt"] as? String ?? "").hasPrefix("yuva444p"), "\(movStream)")

        // At t = 1 s (frame 25) the 40×40 box spans x 30…70, y 40…80.
        for (file, decoder) in [(webmFile, "libvpx-vp9"), (movFile, nil)] {
            let frame = try rgbaFrame(file, index: 25, decoder: decoder)
            XCTAssertEqual(frame.count, 160 * 120 * 4, file)
            guard frame.count == 160 * 120 * 4 else { continue }
            for (x, y) in [(2, 2), (150, 10), (10, 110), (100, 60), (157, 117)] {
                XCTAssertEqual(alpha(frame, x: x, y: y), 0, "green background at (\(x), \(y)) in \(file)")
            }
            for (x, y) in [(40, 50), (50, 60), (60, 70)] {
                XCTAssertEqual(alpha(frame, x: x, y: y), 255, "box at (\(x), \(y)) in \(file)")
                XCTAssertGreaterThan(frame[(y * 160 + x) * 4], 200, "the box stays red at (\(x), \(y)) in \(file)")
            }
        }
    }

    func testURLAndEarlierJobInputsAreFetchedAndTheirDownloadsRemoved() throws {
        let clip = try greenScreenClip("fixture.mp4", seconds: 1)
        let mock = try startMock(["--video-fixture", clip])
        let fromURL = try XCTUnwrap(
            enqueue("video_keying", ["input": mock.baseURL + "/_mock/fixtures/video.mp4"]).first)
        let missingURL = try XCTUnwrap(
            enqueue("video_keying", ["input": mock.baseURL + "/_mock/fixtures/gone.mp4"]).first)
        try drain(mediaEnvironment())
        let keyed = try XCTUnwrap((try completedResult(fromURL)["files"] as? [String])?.first)
        XCTAssertEqual(folder(fromURL), ["keyed.webm"], "the downloaded input was not removed")
        let missing = try row(missingURL)
        XCTAssertEqual(missing.status, "failed")
        XCTAssertTrue(missing.error?.contains("HTTP 404") ?? false, missing.error ?? "")
        XCTAssertTrue(missing.error?.hasPrefix("params.input: downloading http://") ?? false, missing.error ?? "")

        // The keyed output of a completed job is a valid input for the next.
        let chained = try XCTUnwrap(enqueue("video_keying", ["input": ["job": fromURL], "format": "mov"]).first)
        try drain(mediaEnvironment())
        XCTAssertEqual(try completedResult(chained)["format"] as? String, "mov")
        XCTAssertNotEqual((try completedResult(chained)["files"] as? [String])?.first, keyed)
    }

    func testUnusableInputsFailWithAReasonAndTheWorkerGoesOn() throws {
        let text = workspace.directory + "/notes.txt"
        try "not a video".write(toFile: text, atomically: true, encoding: .utf8)
        let missing = try XCTUnwrap(enqueue("video_keying", ["input": workspace.directory + "/none.mp4"]).first)
        let notVideo = try XCTUnwrap(enqueue("video_keying", ["input": text]).first)
        let queued = try XCTUnwrap(enqueue("image_generation", ["provider": "openai", "prompt": "x"]).first)
        try workspace.connection().execute("UPDATE jobs SET status = 'failed' WHERE id = \(queued)")
        let notDone = try XCTUnwrap(enqueue("video_keying", ["input": ["job": queued]]).first)
        let image = try XCTUnwrap(enqueue("image_generation", ["provider": "openai", "prompt": "y"]).first)
        try workspace.connection().execute(
            "UPDATE jobs SET status = 'completed', result = '{\"files\":[\"/tmp/a.png\"]}' WHERE id = \(image)")
        let noVideo = try XCTUnwrap(enqueue("video_keying", ["input": ["job": image]]).first)
        let badColour = try XCTUnwrap(
            enqueue("video_keying", ["input": text, "key_color": "grün"], checked: false).first)
        let noInput = try XCTUnwrap(enqueue("video_keying", [:], checked: false).first)
        try drain(mediaEnvironment())

        let expected: [(Int64, String)] = [
            (missing, "params.input: file \(workspace.directory)/none.mp4 does not exist"),
            (notVideo, "params.input: \(text) is not a video ffprobe can read: "),
            (notDone, "params.input: job \(queued) is failed, not completed; its output is not ready"),
            (noVideo, "params.input: job \(image) has no video file in its result"),
            (badColour, "params.key_color must be a hex colour such as #00FF00, got 'grün'"),
            (noInput, "params.input is required for video_keying"),
        ]
        for (id, prefix) in expected {
            let row = try row(id)
            XCTAssertEqual(row.status, "failed", "job \(id)")
            XCTAssertTrue(
                row.error?.hasPrefix(prefix) ?? false, "job \(id): \(row.error ?? "nil")\nexpected: \(prefix)")
            XCTAssertEqual(row.attempts, 1, "a permanent failure is not retried (job \(id))")
        }
    }

    /// REACTOR-NOTES.md B.1 end to end: an ffmpeg that fails or crashes makes a failed row,
    /// never a completed one, with its last stderr lines in `error`.
    func testFailingOrCrashingFfmpegIsReportedAsFailedWithItsStderr() throws {
        let clip = try greenScreenClip("fail.mp4", seconds: 1)
        let crashing = workspace.directory + "/crash.mp4"
        try FileManager.default.copyItem(atPath: clip, toPath: crashing)
        let fake = workspace.directory + "/fake-ffmpeg"
        try """
        #!/bin/sh
        case "$*" in
          *crash.mp4*) echo "about to crash" >&2; kill -SEGV $$ ;;
          *) echo "Error while filtering: simulated encoder failure" >&2; exit 1 ;;
        esac
        """.write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let failing = try XCTUnwrap(enqueue("video_keying", ["input": clip]).first)
        let crashed = try XCTUnwrap(
            WorkerProcess.runCommand(
                ["enqueue", "video_keying", "--params", #"{"input":"\#(crashing)"}"#, "--max-attempts", "1"],
                workspace: workspace
            ).stdout.split(separator: "\n").compactMap { Int64($0) }.first)
        try drain(mediaEnvironment(["FFMPEG_PATH": fake]))

        let failed = try row(failing)
        XCTAssertEqual(failed.status, "failed")
        XCTAssertEqual(failed.error, "ffmpeg exited with status 1:\nError while filtering: simulated encoder failure")
        let crash = try row(crashed)
        XCTAssertEqual(crash.status, "failed")
        XCTAssertTrue(
            crash.error?.hasPrefix("ffmpeg was killed by signal 11:\nabout to crash") ?? false, crash.error ?? "")
        XCTAssertEqual(folder(failing), [], "no partial output is left")
    }

    func testMissingFfmpegFailsNamingTheDebianPackage() throws {
        let clip = try greenScreenClip("clip.mp4", seconds: 1)
        let id = try XCTUnwrap(enqueue("video_keying", ["input": clip]).first)
        try drain(mediaEnvironment(["PATH": workspace.directory + "/no-tools"]))
        let row = try row(id)
        XCTAssertEqual(row.status, "failed")
        XCTAssertTrue(row.error?.hasPrefix("ffmpeg is not installed: it is not on PATH") ?? false, row.error ?? "")
        XCTAssertTrue(row.error?.contains("install Debian's ffmpeg package (apt-get install ffmpeg") ?? false)
    }
}
