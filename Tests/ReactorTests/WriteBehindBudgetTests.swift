import Synchronization
import XCTest

@testable import Reactor

/// The two marks: over only above the high one, and waiters told once, at the low one.
final class WriteBehindBudgetTests: XCTestCase {
    func testIsOverOnlyAboveTheHighMarkAndWaitersRunOnceAtTheLowMark() {
        let budget = WriteBehindBudget(highWater: 100, lowWater: 40)
        let runs = Atomic<Int>(0)
        budget.whenUnder { runs.add(1, ordering: .relaxed) }
        XCTAssertEqual(runs.load(ordering: .relaxed), 1, "under the low mark: at once")

        budget.add(100)
        XCTAssertFalse(budget.isOver, "at the high mark is not over it")
        budget.add(1)
        XCTAssertTrue(budget.isOver)
        budget.whenUnder { runs.add(1, ordering: .relaxed) }
        budget.whenUnder { runs.add(10, ordering: .relaxed) }
        XCTAssertEqual(runs.load(ordering: .relaxed), 1, "over the low mark: later")

        budget.remove(60)  // 41 left: under the high mark, still over the low one
        XCTAssertFalse(budget.isOver)
        XCTAssertEqual(runs.load(ordering: .relaxed), 1)
        budget.remove(1)  // 40: the low mark
        XCTAssertEqual(runs.load(ordering: .relaxed), 12, "both waiters ran")
        budget.remove(40)
        XCTAssertEqual(runs.load(ordering: .relaxed), 12, "and only once")
        XCTAssertEqual(budget.pending, 0)
    }
}
