import JSON
import Jobs
import XCTest

/// What `JobRequestCheck` accepts and refuses, per DESIGN.md's params table.
final class JobRequestCheckTests: XCTestCase {
    private func fields(_ type: String, _ params: JSONValue) -> [String] {
        JobRequestCheck.validate(type: type, params: params).map(\.field)
    }

    func testTheDocumentedJobsPass() {
        let good: [(String, JSONValue)] = [
            (
                "image_generation",
                ["provider": "openai", "prompt": "a fox", "width": 1024, "height": 1024, "num_images": 2]
            ),
            (
                "image_generation",
                ["provider": "leonardo", "prompt": "a fox", "width": 512, "seed": 7, "options": ["alchemy": true]]
            ),
            ("image_generation", ["provider": "bytedance", "prompt": "a fox", "seed": -1]),
            ("background_removal", ["image": "/in/cat.png"]),
            ("background_removal", ["image": ["job": 3], "provider": "bria"]),
            ("style_analysis", ["image": "https://example.com/a.png", "palette_size": 8, "model": "gpt-4o"]),
            ("animation", ["provider": "kling", "prompt": "waves", "duration": 10, "mode": "pro"]),
            ("animation", ["provider": "seedance", "image": ["job": 1]]),
            (
                "video_keying",
                [
                    "input": "/a.mp4", "key_color": "#0F0", "similarity": 0.2, "blend": 0, "despill": false,
                    "format": "MOV",
                ]
            ),
            (
                "video_stitching",
                ["inputs": ["/a.mp4", ["job": 2]], "transition": "crossfade", "transition_seconds": 0.5, "fps": 30]
            ),
            ("image_generation", ["provider": "openai", "prompt": "x", "unknown_key": [1, 2]]),
        ]
        for (type, params) in good { XCTAssertEqual(fields(type, params), [], "\(type) \(params)") }
    }

    func testEachProblemNamesItsKey() {
        XCTAssertEqual(fields("video_upscale", [:]), ["job_type"])
        XCTAssertEqual(fields("image_generation", "x"), ["params"])
        XCTAssertEqual(fields("image_generation", ["prompt": "x"]), ["params.provider"])
        XCTAssertEqual(fields("image_generation", ["provider": "kling", "prompt": "x"]), ["params.provider"])
        XCTAssertEqual(fields("image_generation", ["provider": "openai", "prompt": "  "]), ["params.prompt"])
        XCTAssertEqual(
            fields("image_generation", ["provider": "openai", "prompt": "x", "width": 10]), ["params.height"])
        XCTAssertEqual(
            fields("image_generation", ["provider": "leonardo", "prompt": "x", "width": 5000]), ["params.width"])
        XCTAssertEqual(
            fields("image_generation", ["provider": "leonardo", "prompt": "x", "num_images": 1.5]),
            ["params.num_images"])
        XCTAssertEqual(
            fields("image_generation", ["provider": "openai", "prompt": 3, "options": "x"]),
            ["params.prompt", "params.options"])
        XCTAssertEqual(fields("background_removal", [:]), ["params.image"])
        XCTAssertEqual(fields("background_removal", ["image": "data:image/png;base64,xx"]), ["params.image"])
        XCTAssertEqual(fields("background_removal", ["image": "ftp://x/y.png"]), ["params.image"])
        XCTAssertEqual(fields("background_removal", ["image": ["job": 0]]), ["params.image"])
        XCTAssertEqual(fields("style_analysis", ["image": "/a.png", "palette_size": 99]), ["params.palette_size"])
        XCTAssertEqual(fields("animation", ["provider": "kling"]), ["params.prompt"])
        XCTAssertEqual(fields("animation", ["provider": "kling", "prompt": "x", "duration": 0]), ["params.duration"])
        XCTAssertEqual(fields("video_keying", ["input": "/a.mp4", "key_color": "green"]), ["params.key_color"])
        XCTAssertEqual(
            Set(fields("video_keying", ["input": "/a.mp4", "format": "gif", "despill": "yes"])),
            ["params.despill", "params.format"])
        XCTAssertEqual(fields("video_stitching", ["inputs": ["/a.mp4"]]), ["params.inputs"])
        XCTAssertEqual(fields("video_stitching", ["inputs": ["/a.mp4", 5]]), ["params.inputs[1]"])
        XCTAssertEqual(fields("video_stitching", ["inputs": ["/a", "/b"], "width": 640]), ["params.height"])
        XCTAssertEqual(
            fields("image_generation", ["provider": "openai", "prompt": "x", "resubmit_on_lost_submit": "yes"]),
            ["params.resubmit_on_lost_submit"])
    }

    func testMessagesSayWhatToDo() {
        let problems = JobRequestCheck.validate(
            type: "image_generation", params: ["provider": "leonardo", "prompt": "x", "width": 5000])
        XCTAssertEqual(problems.first?.message, "params.width must be between 32 and 4096 for leonardo, got 5000")
    }
}
