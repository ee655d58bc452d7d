import Foundation
import JSON
import XCTest

@testable import Jobs

/// A pipeline document's parsing and the resolution of its step references, without a database.
final class PipelineDocumentTests: XCTestCase {
    func testStepsComeAfterWhatTheyNeedWhateverTheirOrderInTheDocument() throws {
        let document = try PipelineDocument.parse(
            """
            {"name": "n", "steps": [
              {"id": "reel", "job_type": "video_stitching", "params": {"inputs": [{"step": "a"}, {"step": "b"}]}},
              {"id": "b", "job_type": "video_keying", "params": {"input": {"step": "a"}}},
              {"id": "a", "job_type": "animation", "params": {"provider": "kling", "prompt": "x"}},
              {"id": "tail", "job_type": "image_generation", "after": ["reel"],
               "params": {"provider": "openai", "prompt": "y", "image": {"job": 7}}}]}
            """)
        XCTAssertEqual(document.steps.map(\.id), ["a", "b", "reel", "tail"])
        XCTAssertEqual(document.steps.first { $0.id == "reel" }?.needs, ["a", "b"])
        XCTAssertEqual(document.steps.first { $0.id == "tail" }?.needs, ["reel"])
        XCTAssertEqual(document.steps.first { $0.id == "tail" }?.needsJobs, [7])
    }

    func testProblemsNameTheStepAndTheKey() {
        func problem(_ text: String) -> String? {
            do {
                _ = try PipelineDocument.parse(text)
                return nil
            } catch {
                return error.message
            }
        }
        XCTAssertEqual(
            problem(#"{"steps":[{"id":"a","job_type":"video_keying","params":{"input":{"step":"a","index":-1}}}]}"#),
            "params.input.index must be a whole number from 0, got -1")
        XCTAssertEqual(
            problem(
                #"{"steps":[{"id":"a","job_type":"video_keying","params":{"input":"/x"}},{"id":"a","job_type":"video_keying","params":{"input":"/y"}}]}"#
            ),
            "steps[1]: the id 'a' is used by another step")
        XCTAssertEqual(
            problem(#"{"steps":[{"id":"a b","job_type":"video_keying"}]}"#),
            "steps[0]: id 'a b' may hold only letters, digits, _ and - (64 at most)")
        XCTAssertEqual(
            problem(#"{"steps":[{"id":"k","job_type":"video_keying","params":{"input":"/x","similarity":3}}]}"#),
            "step 'k': params.similarity must be between 0.01 and 1.0, got 3.0")
        XCTAssertEqual(
            problem(
                #"{"steps":[{"id":"c","job_type":"background_removal","for_each":"c","params":{"image":"/x.png"}}]}"#),
            "step 'c': for_each cannot name the step itself")
    }

    func testReferencesResolveToTheRightKindOfFileAndForEachGetsItsOwn() throws {
        let template: JSONValue = [
            "image": ["step": "still", "index": 1], "input": ["step": "clip"],
            "inputs": [["step": "clip"], "/intro.mp4"],
        ]
        let files = ["still": ["/s/image-1.png", "/s/image-2.png"], "clip": ["/c/frame.png", "/c/video.mp4"]]
        let resolved = try PipelineReferences.resolve(template, files: files, forEach: nil)
        XCTAssertEqual(resolved["image"], "/s/image-2.png")
        XCTAssertEqual(resolved["input"], "/c/video.mp4", "a video param takes the first video, not the first file")
        XCTAssertEqual(resolved["inputs"], ["/c/video.mp4", "/intro.mp4"])
        let each = try PipelineReferences.resolve(
            ["image": ["step": "still"]], files: files, forEach: ("still", "/s/image-2.png"))
        XCTAssertEqual(each["image"], "/s/image-2.png")
        XCTAssertThrowsError(
            try PipelineReferences.resolve(["image": ["step": "still", "index": 5]], files: files, forEach: nil)
        ) { error in
            XCTAssertEqual(
                (error as? PipelineError)?.message,
                "params.image: step 'still' has no image at index 5 (it made 2 image files)")
        }
    }
}
