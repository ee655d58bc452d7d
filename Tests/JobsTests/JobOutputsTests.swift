import Foundation
import TestSupport
import XCTest

@testable import Jobs

/// The temporary-then-rename discipline for files the worker did not write itself (curl's
/// downloads, ffmpeg's outputs): flushed before they get their final name, or no file at all.
final class JobOutputsTests: XCTestCase {
    private var workspace: Workspace!
    private var outputs: JobOutputs!

    override func setUpWithError() throws {
        workspace = Workspace(name: "outputs")
        outputs = JobOutputs(root: workspace.outputDirectory, jobID: 7)
        try outputs.prepare()
    }

    override func tearDown() { workspace.remove() }

    func testCommitDurablyMovesAFinishedFileToItsFinalName() throws {
        let temporary = outputs.temporaryPath("clip.mp4")
        try Data("video bytes".utf8).write(to: URL(fileURLWithPath: temporary))

        let final = try outputs.commitDurably(temporary: temporary, as: "clip.mp4")

        XCTAssertEqual(final, outputs.path("clip.mp4"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: final)), Data("video bytes".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: temporary))
    }

    /// fsync of a FIFO fails (EINVAL), which stands in for a disk that cannot flush: the file
    /// must not appear under its final name, and the error says what could not be done.
    func testAFileThatCannotBeFlushedNeverGetsItsFinalName() throws {
        let temporary = outputs.temporaryPath("clip.mp4")
        XCTAssertEqual(mkfifo(temporary, 0o600), 0)

        XCTAssertThrowsError(try outputs.commitDurably(temporary: temporary, as: "clip.mp4")) { error in
            let message = (error as? JobFailure)?.message ?? ""
            XCTAssertTrue(message.contains("cannot flush \(temporary) to disk"), message)
            XCTAssertEqual((error as? JobFailure)?.kind, .transient)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: outputs.path("clip.mp4")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: temporary), "the unusable temporary is removed")
    }

    func testAMissingTemporaryFailsNamingIt() {
        let temporary = outputs.temporaryPath("gone.png")

        XCTAssertThrowsError(try outputs.commitDurably(temporary: temporary, as: "gone.png")) { error in
            let message = (error as? JobFailure)?.message ?? ""
            XCTAssertTrue(message.contains("cannot open \(temporary)"), message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: outputs.path("gone.png")))
    }
}
