import Foundation
import Synchronization
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

    func testWriteMakesMissingFoldersAndLeavesOnlyTheFinalFile() throws {
        let nested = JobOutputs(root: workspace.outputDirectory + "/not/made/yet", jobID: 9)

        let final = try nested.write(Data("png bytes".utf8), as: "image-1.png")

        XCTAssertEqual(final, nested.path("image-1.png"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: final)), Data("png bytes".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: nested.directory), ["image-1.png"])
    }

    /// Something that is not a file at the temporary name (here a FIFO nobody reads) must fail
    /// that one job with the path, not block the writer thread every later job queues behind.
    func testWriteFailsInsteadOfHangingWhenTheTemporaryNameIsAFIFO() throws {
        let temporary = outputs.temporaryPath("image-1.png")
        XCTAssertEqual(mkfifo(temporary, 0o600), 0)
        let outputs = outputs!
        let finished = expectation(description: "write returned")
        let result = Mutex<Result<String, JobFailure>?>(nil)
        Thread.detachNewThread {
            let outcome = Result { () throws(JobFailure) in try outputs.write(Data("png".utf8), as: "image-1.png") }
            result.withLock { $0 = outcome }
            finished.fulfill()
        }
        wait(for: [finished], timeout: 30)

        guard case .failure(let failure) = result.withLock({ $0 }) else {
            return XCTFail("expected the write to fail, got \(String(describing: result.withLock { $0 }))")
        }
        XCTAssertTrue(failure.message.contains("cannot write \(temporary)"), failure.message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: outputs.path("image-1.png")))
    }

    /// Temporaries of a killed earlier process go; this process's own (a download still being
    /// written) and finished outputs stay. A folder that does not exist yet is no error.
    func testRemoveStaleTemporariesKeepsThisProcesssOwnAndFinishedFiles() throws {
        let names = [".image-1.png.1.tmp", ".clip.mp4.999999.tmp", "image-1.png", ".video.mp4.\(getpid()).tmp"]
        for name in names { XCTAssertTrue(FileManager.default.createFile(atPath: outputs.path(name), contents: nil)) }

        outputs.removeStaleTemporaries()
        JobOutputs(root: workspace.outputDirectory, jobID: 404).removeStaleTemporaries()

        let left = try FileManager.default.contentsOfDirectory(atPath: outputs.directory).sorted()
        XCTAssertEqual(left, [".video.mp4.\(getpid()).tmp", "image-1.png"])
    }
}
