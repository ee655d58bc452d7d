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
