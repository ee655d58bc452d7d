import Foundation
import XCTest

@testable import Jobs

/// How keying and stitching params become ffmpeg arguments and filter graphs, without ffmpeg.
final class MediaArgumentsTests: XCTestCase {
    private func params(_ json: String) throws -> JobParams { try JobParams.parse(json) }

    private func failure(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return (error as? JobFailure)?.message ?? "\(error)"
        }
    }

    func testKeyingDefaultsAreVP9WithAlphaGreenKeyAndDespill() throws {
        let options = try KeyingOptions.parse(params("{}"))
        XCTAssertEqual(options, KeyingOptions(keyColor: "0x00FF00", despill: true, format: .webm))
        XCTAssertEqual(
            options.filterGraph,
            "[0:v]chromakey=color=0x00FF00:similarity=0.1:blend=0.05,despill=type=green,format=yuva420p[keyed]")
        let arguments = options.arguments(input: "/in/clip.mp4", output: "/out/.keyed.webm.1.tmp")
        XCTAssertEqual(arguments.first, "-hide_banner")
        XCTAssertEqual(Array(arguments.suffix(3)), ["-progress", "pipe:1", "/out/.keyed.webm.1.tmp"])
        XCTAssertTrue(contains(arguments, ["-i", "/in/clip.mp4"]))
        XCTAssertTrue(contains(arguments, ["-map", "[keyed]", "-map", "0:a?"]))
        XCTAssertTrue(contains(arguments, ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p"]))
        // The temporary name has no known extension, so the muxer must be named.
        XCTAssertTrue(contains(arguments, ["-f", "webm"]))
        XCTAssertTrue(arguments.contains("-nostdin"))
        XCTAssertEqual(options.outputName, "keyed.webm")
    }

    func testKeyingMovIsProRes4444WithTenBitAlpha() throws {
        let options = try KeyingOptions.parse(
            params(##"{"format":"MOV","key_color":"#0000ff","similarity":0.3,"blend":0,"despill":false}"##))
        XCTAssertEqual(options.format, .mov)
        XCTAssertEqual(
            options.filterGraph, "[0:v]chromakey=color=0x0000FF:similarity=0.3:blend=0,format=yuva444p10le[keyed]")
        let arguments = options.arguments(input: "/a.mp4", output: "/b.tmp")
        XCTAssertTrue(contains(arguments, ["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le"]))
        XCTAssertTrue(contains(arguments, ["-f", "mov"]))
        XCTAssertEqual(options.outputName, "keyed.mov")
    }

    func testKeyColourAcceptsHashShortAndPrefixedFormsAndDespillFollowsIt() throws {
        XCTAssertEqual(try KeyingOptions.hexColor("#0f0", key: "key_color"), "0x00FF00")
        XCTAssertEqual(try KeyingOptions.hexColor("0x1a2B3c", key: "key_color"), "0x1A2B3C")
        XCTAssertEqual(try KeyingOptions.hexColor(" 00ff00 ", key: "key_color"), "0x00FF00")
        XCTAssertEqual(try KeyingOptions.parse(params(##"{"key_color":"#1020F0"}"##)).spillType, "blue")
        let magenta = try KeyingOptions.parse(params(##"{"key_color":"#FF00FF"}"##))
        XCTAssertNil(magenta.spillType)
        XCTAssertFalse(magenta.filterGraph.contains("despill"), "despill knows only green and blue screens")
    }

    func testBadKeyingParamsNameTheKey() throws {
        XCTAssertEqual(
            failure { _ = try KeyingOptions.parse(params(#"{"key_color":"green"}"#)) },
            "params.key_color must be a hex colour such as #00FF00, got 'green'")
        XCTAssertEqual(
            failure { _ = try KeyingOptions.parse(params(#"{"format":"gif"}"#)) },
            "params.format must be webm or mov, got 'gif'")
        XCTAssertTrue(
            failure { _ = try KeyingOptions.parse(params(#"{"similarity":2}"#)) }.hasPrefix("params.similarity"))
        XCTAssertTrue(failure { _ = try KeyingOptions.parse(params(#"{"blend":"x"}"#)) }.hasPrefix("params.blend"))
        XCTAssertTrue(failure { _ = try KeyingOptions.parse(params(#"{"despill":1}"#)) }.hasPrefix("params.despill"))
    }

    // MARK: Stitching

    private let big = MediaInfo(width: 320, height: 240, frameRate: "25/1", duration: 2, hasAudio: true)
    private let wide = MediaInfo(width: 640, height: 360, frameRate: "30/1", duration: 1.5, hasAudio: false)
    private let small = MediaInfo(width: 100, height: 100, frameRate: "25/1", duration: 1, hasAudio: true)

    func testCutScalesAndPadsEveryInputToTheFirstAndGivesSilenceToTheSilentOne() throws {
        let plan = try StitchingPlan(options: StitchingOptions(), inputs: [big, wide, small])
        XCTAssertEqual([plan.width, plan.height], [320, 240])
        XCTAssertEqual(plan.frameRate, "25/1")
        XCTAssertTrue(plan.hasAudio)
        // 1.5 s at 30 fps becomes 37.5 frames at 25 fps; fps rounds that to 38 (1.52 s).
        XCTAssertEqual(plan.segmentDurations, [2, 1.52, 1])
        XCTAssertEqual(plan.duration, 4.52, accuracy: 1e-9)
        let graph = plan.filterGraph
        XCTAssertTrue(
            graph.contains(
                "[1:v]setpts=PTS-STARTPTS,scale=320:240:force_original_aspect_ratio=decrease,"
                    + "pad=320:240:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=25/1,format=yuv420p[v1]"), graph)
        XCTAssertTrue(
            graph.contains(
                "anullsrc=channel_layout=stereo:sample_rate=48000,aformat=sample_fmts=fltp,atrim=duration=1.52[a1]"),
            graph)
        XCTAssertTrue(graph.contains("[2:a]asetpts=PTS-STARTPTS,aresample=48000,"), graph)
        XCTAssertTrue(graph.hasSuffix("[v0][a0][v1][a1][v2][a2]concat=n=3:v=1:a=1[v][a]"), graph)
        XCTAssertFalse(graph.contains("tpad"))
        let arguments = plan.arguments(paths: ["/a", "/b", "/c"], output: "/o.tmp")
        XCTAssertTrue(contains(arguments, ["-i", "/a", "-i", "/b", "-i", "/c"]))
        XCTAssertTrue(contains(arguments, ["-map", "[v]", "-map", "[a]"]))
        XCTAssertTrue(contains(arguments, ["-f", "mp4", "-progress", "pipe:1", "/o.tmp"]))
    }

    func testCrossfadeOffsetsEachFadeAndShortensTheOutputByThem() throws {
        var options = StitchingOptions(transition: .crossfade, transitionSeconds: 0.5)
        options.width = 640
        options.height = 360
        options.fps = 30
        let plan = try StitchingPlan(options: options, inputs: [big, wide, small])
        XCTAssertEqual(plan.frameRate, "30")
        XCTAssertEqual(plan.duration, 2 + 1.5 + 1 - 2 * 0.5, accuracy: 1e-9)
        let graph = plan.filterGraph
        XCTAssertTrue(graph.contains("[v0][v1]xfade=transition=fade:duration=0.5:offset=1.5[vx1]"), graph)
        XCTAssertTrue(graph.contains("[vx1][v2]xfade=transition=fade:duration=0.5:offset=2.5[v]"), graph)
        XCTAssertTrue(graph.contains("[a0][a1]acrossfade=d=0.5[ax1];[ax1][a2]acrossfade=d=0.5[a]"), graph)
        // Every clip but the last holds two cloned frames past its end (ffmpeg 5.1's xfade gap).
        XCTAssertEqual(graph.components(separatedBy: "tpad=stop_mode=clone:stop=2").count - 1, 2)
    }

    func testNoAudioAnywhereMeansNoAudioStream() throws {
        var silent = big
        silent.hasAudio = false
        let plan = try StitchingPlan(options: StitchingOptions(), inputs: [silent, wide])
        XCTAssertFalse(plan.hasAudio)
        XCTAssertTrue(plan.filterGraph.hasSuffix("[v0][v1]concat=n=2:v=1:a=0[v]"), plan.filterGraph)
        XCTAssertFalse(plan.arguments(paths: ["/a", "/b"], output: "/o").contains("[a]"))
    }

    func testCrossfadeLongerThanAMiddleClipCanGiveFailsNamingIt() throws {
        let options = StitchingOptions(transition: .crossfade, transitionSeconds: 0.8)
        let message = failure { _ = try StitchingPlan(options: options, inputs: [big, wide, small]) }
        XCTAssertTrue(message.hasPrefix("params.transition_seconds (0.8 s) is too long for inputs[1]"), message)
    }

    func testOddFirstSizeBecomesEvenAndSizeParamsGoTogether() throws {
        let odd = MediaInfo(width: 161, height: 121, frameRate: "30000/1001", duration: 1, hasAudio: false)
        let plan = try StitchingPlan(options: StitchingOptions(), inputs: [odd, big])
        XCTAssertEqual([plan.width, plan.height], [160, 120])
        XCTAssertEqual(plan.frameRate, "30000/1001")
        XCTAssertEqual(
            failure { _ = try StitchingOptions.parse(params(#"{"width":640}"#)) },
            "params.width and params.height must be given together (or neither, for the first input's size)")
        XCTAssertEqual(
            failure { _ = try StitchingOptions.parse(params(#"{"transition":"wipe"}"#)) },
            "params.transition must be cut or crossfade, got 'wipe'")
        XCTAssertEqual(
            failure { _ = try StitchingPlan(options: StitchingOptions(), inputs: [big]) },
            "params.inputs must list at least 2 videos to stitch, got 1")
    }

    // MARK: ffprobe answers

    func testProbeReadsSizeRateDurationAndAudio() throws {
        let json = """
            {"streams":[{"codec_type":"video","width":160,"height":120,"pix_fmt":"yuv420p","r_frame_rate":"25/1",
            "avg_frame_rate":"25/1","disposition":{"attached_pic":0}},{"codec_type":"audio","r_frame_rate":"0/0"}],
            "format":{"format_name":"matroska,webm","duration":"2.028000"}}
            """
        let info = try MediaProbe.info(fromJSON: json, path: "/a.webm", key: "input")
        XCTAssertEqual(info, MediaInfo(width: 160, height: 120, frameRate: "25/1", duration: 2.028, hasAudio: true))
        XCTAssertEqual(Array(MediaProbe.arguments(for: "/a.webm").suffix(3)), ["-of", "json", "/a.webm"])
    }

    func testProbeRejectsStillImagesAndFilesWithoutVideo() throws {
        let png = """
            {"streams":[{"codec_type":"video","width":64,"height":48,"r_frame_rate":"25/1"}],
            "format":{"format_name":"png_pipe"}}
            """
        XCTAssertEqual(
            failure { _ = try MediaProbe.info(fromJSON: png, path: "/i.png", key: "inputs[2]") },
            "params.inputs[2]: /i.png is a still image (png_pipe), not a video")
        let wav = #"{"streams":[{"codec_type":"audio","duration":"1.0"}],"format":{"format_name":"wav"}}"#
        XCTAssertEqual(
            failure { _ = try MediaProbe.info(fromJSON: wav, path: "/a.wav", key: "input") },
            "params.input: /a.wav has no video stream; give a video file (mp4, webm, mov, …)")
    }

    func testLoggedCommandQuotesWhatAShellWouldSplit() {
        XCTAssertEqual(MediaWork.quoted("-c:v"), "-c:v")
        XCTAssertEqual(MediaWork.quoted("[0:v]a,b[keyed]"), "'[0:v]a,b[keyed]'")
        XCTAssertEqual(MediaWork.quoted("it's"), #"'it'\''s'"#)
    }

    /// True when `needle` appears in `haystack` as consecutive elements.
    private func contains(_ haystack: [String], _ needle: [String]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
