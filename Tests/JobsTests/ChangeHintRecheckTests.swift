import Dispatch
import Reactor
import TestSupport
import XCTest

@testable import Jobs

final class ChangeHintRecheckTests: XCTestCase {
    /// A hint is followed by three looks, in order, after the delays; a new hint after the
    /// series starts a new one of three.
    func testEachHintIsFollowedByThreeLooksAtTheRecheckDelays() {
        let runner = LoopThread()
        defer { runner.stop() }
        let looks = DispatchSemaphore(value: 0)
        let times = ResultBox<[Double]>()
        let owned = ResultBox<(recheck: ChangeHintRecheck, started: Double)>()
        runner.sync {
            times.value = []
            let recheck = ChangeHintRecheck(loop: runner.loop) {
                times.value!.append(runner.loop.now)
                looks.signal()
            }
            owned.value = (recheck, runner.loop.now)
            recheck.start()
        }
        for look in 1...3 { XCTAssertEqual(looks.wait(timeout: .now() + 10), .success, "look \(look)") }
        // A look-alike timer long after the last delay: a fourth look would have come first.
        let quiet = DispatchSemaphore(value: 0)
        let fence = ResultBox<TimerWatcher>()
        runner.sync {
            fence.value = TimerWatcher(loop: runner.loop) { quiet.signal() }
            fence.value!.schedule(after: 0.2)
        }
        XCTAssertEqual(quiet.wait(timeout: .now() + 10), .success)
        let seen = runner.sync { times.value! }
        XCTAssertEqual(seen.count, 3, "one hint, three looks")
        let started = runner.sync { owned.value!.started }
        XCTAssertEqual(seen, seen.sorted())
        XCTAssertGreaterThanOrEqual(seen[2] - started, ChangeHintRecheck.delays[2] - 0.002)

        runner.sync { owned.value!.recheck.start() }
        for look in 4...6 { XCTAssertEqual(looks.wait(timeout: .now() + 10), .success, "look \(look)") }
        runner.sync {
            owned.value!.recheck.stop()
            owned.value = nil
            fence.value = nil
        }
    }
}
