import Reactor
import TestSupport
import XCTest

@testable import Jobs

final class OutputBackPressureTests: XCTestCase {
    func testPausesAboveTheHighWaterMarkAndResumesOnlyUnderTheLowOne() {
        let runner = LoopThread()
        defer { runner.stop() }
        let calls = runner.sync { () -> [Bool] in
            var calls: [Bool] = []
            let budget = OutputBackPressure(loop: runner.loop, highWater: 100, lowWater: 40) { calls.append($0) }
            budget.reserve(60)
            budget.reserve(40)  // exactly at the mark: not above it
            XCTAssertFalse(budget.isPaused)
            budget.reserve(30)
            XCTAssertTrue(budget.isPaused)
            budget.reserve(500)  // already paused: no second call
            budget.release(500)
            budget.release(60)  // 70 left, above the low mark
            XCTAssertTrue(budget.isPaused)
            budget.release(30)
            XCTAssertFalse(budget.isPaused)
            XCTAssertEqual(budget.pendingBytes, 40)
            budget.reserve(61)
            budget.release(61)
            XCTAssertEqual(budget.pauses, 2)
            return calls
        }
        XCTAssertEqual(calls, [true, false, true, false])
    }
}

/// The budget wired into `JobFiles.writeBase64` and the HTTP client: a write past the high
/// water mark pauses receiving at once, and its completion on the loop resumes it.
final class OutputWriteBackPressureTests: XCTestCase {
    func testAnOutputWritePastTheBudgetPausesReceivingUntilItIsWritten() throws {
        let workspace = Workspace(name: "backpressure")
        defer { workspace.remove() }
        let runner = LoopThread()
        defer { runner.stop() }
        let loop = runner.loop
        let path = workspace.databasePath
        let store = ResultBox<SQLiteJobStore>()
        store.value = try runner.sync { () -> Result<SQLiteJobStore, any Error> in
            Result {
                try SQLiteJobStore(path: path, loop: loop, log: .discarding(), owner: "test:1:1", leaseSeconds: 30)
            }
        }.get()
        let seen = ResultBox<[Bool]>()
        let written = ResultBox<Result<String, JobFailure>>()
        let done = DispatchSemaphore(value: 0)
        // Loop-owned objects live in a box that is emptied on the loop thread at the end.
        let owned = ResultBox<(http: HTTPClient, context: JobContext)>()
        runner.sync {
            let http = HTTPClient(loop: loop)
            seen.value = []
            let budget = OutputBackPressure(loop: loop, highWater: 10, lowWater: 0) {
                seen.value!.append($0)
                http.receivingPaused = $0
            }
            let context = JobContext(
                job: Job(id: 7, typeName: "image_generation", paramsText: "{}"), params: JobParams(values: [:]),
                slot: 0, loop: loop,
                settings: WorkerSettings.Shared(WorkerSettings(outputDirectory: workspace.outputDirectory)),
                log: .discarding(), http: http, store: store.value!, inputs: InputResolver { _ in nil },
                outputBudget: budget)
            context.files.writeBase64(
                Data(repeating: 1, count: 100).base64EncodedString(), stem: "image-1", fallbackExtension: "png",
                invalid: .transient("not base64")
            ) { result in
                written.value = result
                done.signal()
            }
            XCTAssertTrue(http.receivingPaused, "136 bytes of base64 queued against a 10-byte budget")
            owned.value = (http, context)
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        runner.sync {
            XCTAssertFalse(owned.value!.http.receivingPaused, "resumed once the file was written")
            XCTAssertEqual(seen.value, [true, false])
            XCTAssertEqual(try? written.value?.get(), workspace.outputDirectory + "/7/image-1.png")
            XCTAssertEqual(owned.value!.context.outputBudget.pendingBytes, 0)
        }
        let closed = DispatchSemaphore(value: 0)
        runner.sync { store.value!.close { closed.signal() } }
        closed.wait()
        runner.sync {
            owned.value = nil
            store.value = nil
        }
    }
}
