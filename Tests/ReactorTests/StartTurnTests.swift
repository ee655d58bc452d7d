import Synchronization
import TestSupport
import XCTest

@testable import Reactor

/// curl is handed at most a share of new requests per loop iteration, and no more while it
/// has not begun them; the rest wait in order.
final class StartTurnTests: XCTestCase {
    private var runner: LoopThread!
    private let ids = (1...5).map { HTTPClient.TransferID(value: $0) }

    override func setUp() {
        runner = LoopThread()
    }

    override func tearDown() {
        runner.stop()
    }

    /// Runs `work` on the loop, then waits until that iteration has ended.
    private func inOneIteration<T>(_ work: @escaping () -> T) -> T {
        let ended = Atomic<Bool>(false)
        let result = runner.sync { [loop = runner.loop] () -> T in
            let value = work()
            loop.beforeSleep { ended.store(true, ordering: .relaxed) }
            return value
        }
        XCTAssertTrue(Wait.until(timeout: 10) { ended.load(ordering: .relaxed) })
        return result
    }

    func testPastTheShareRequestsWaitForALaterIterationAndForCurlToAct() {
        let box = ResultBox<StartTurn>()
        let handOvers = Atomic<Int>(0)
        let first = inOneIteration { [loop = runner.loop, ids] () -> ([Bool], HTTPClient.TransferID?) in
            let turn = StartTurn(loop: loop, limit: 2)
            turn.handOverSoon = { handOvers.add(1, ordering: .relaxed) }
            box.value = turn
            let admitted = ids.map { id -> Bool in
                guard turn.admit() else {
                    turn.wait(id)
                    return false
                }
                turn.handedOver()
                return true
            }
            // curl acts within the same iteration: the iteration's share is still spent.
            turn.curlActed()
            return (admitted, turn.nextWaiting())
        }
        XCTAssertEqual(first.0, [true, true, false, false, false])
        XCTAssertNil(first.1, "more than the share went to curl in one iteration")
        XCTAssertEqual(handOvers.load(ordering: .relaxed), 1, "waiting with nothing for curl to begin: not handed over")
        let second = inOneIteration { () -> [HTTPClient.TransferID?] in
            let turn = box.value!
            var taken = [turn.nextWaiting()]
            turn.handedOver()
            taken.append(turn.nextWaiting())
            turn.handedOver()
            taken.append(turn.nextWaiting())
            return taken
        }
        XCTAssertEqual(second, [ids[2], ids[3], nil], "the oldest waiting go first, a share at a time")
        XCTAssertEqual(handOvers.load(ordering: .relaxed), 1, "curl has handles to begin: its action hands over")
        let third = inOneIteration { () -> (HTTPClient.TransferID?, HTTPClient.TransferID?, Bool) in
            let turn = box.value!
            let before = turn.nextWaiting()
            turn.curlActed()
            let after = turn.nextWaiting()
            turn.handedOver()
            return (before, after, turn.admit())
        }
        XCTAssertNil(third.0, "curl has not begun the last share: nothing more may go")
        XCTAssertEqual(third.1, ids[4])
        XCTAssertTrue(third.2, "nothing waits and there is room: a new request goes at once")
        XCTAssertEqual(runner.sync { box.value!.largest }, 2)
        runner.sync { box.value = nil }
    }

    /// A full share of starts spends at least the iteration's default download share.
    func testAFullShareOfStartsCostsAtLeastAnIterationsReading() {
        XCTAssertGreaterThanOrEqual(
            StartTurn.defaultLimit * StartTurn.readingCost, DownloadTurn.defaultLimit,
            "a burst of starts and reading at full speed could land in one iteration")
    }
}
