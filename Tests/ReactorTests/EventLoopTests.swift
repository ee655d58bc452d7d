import Foundation
import Reactor
import Synchronization
import TestSupport
import XCTest

final class EventLoopTests: XCTestCase {
    func testWorkFromManyThreadsRunsOnTheLoopThreadInFull() {
        let runner = LoopThread()
        defer { runner.stop() }
        let ran = Atomic<Int>(0)
        let offLoop = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 {
                runner.loop.execute { [loop = runner.loop] in
                    if !loop.inLoop { offLoop.add(1, ordering: .relaxed) }
                    ran.add(1, ordering: .relaxed)
                }
            }
        }
        XCTAssertTrue(
            Wait.until(timeout: 10) { ran.load(ordering: .relaxed) == 8000 },
            "coalesced wake-ups must still drain every item")
        XCTAssertEqual(offLoop.load(ordering: .relaxed), 0)
    }

    /// The special problem of a stop before `ev_run`: work handed to a loop before `run()` is done
    /// in the drain that precedes `ev_run`, and libev resets its break flag on entry, so a stop made
    /// there used to be forgotten and the loop ran on.
    func testAStopRequestedBeforeTheLoopRunsEndsIt() {
        let loop = EventLoop()
        loop.execute { [loop] in loop.stop() }
        let finished = Atomic<Bool>(false)
        let thread = Thread {
            loop.run()
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        thread.start()
        XCTAssertTrue(Wait.until(timeout: 5) { finished.load(ordering: .sequentiallyConsistent) })
    }

    /// The loop's stall figure: a callback that holds the loop for 100 ms shows as an iteration
    /// at least that long, which is what monitoring and the download bench read.
    func testTheLongestIterationCountsWorkThatHeldTheLoop() {
        let runner = LoopThread()
        defer { runner.stop() }
        // From a timer, which fires only inside the running loop (work handed over before the
        // loop starts is start-up and is not counted).
        let timer = runner.sync { () -> TimerWatcher in
            let timer = TimerWatcher(loop: runner.loop) {
                // Deliberately holding the loop (never done in the worker): spin rather than sleep,
                // as a busy handler would.
                let start = ContinuousClock.now
                while ContinuousClock.now - start < .milliseconds(100) {}
            }
            timer.schedule(after: 0.01)
            return timer
        }
        XCTAssertTrue(
            Wait.until(timeout: 10) { runner.sync { runner.loop.longestIteration } >= 0.1 },
            "\(runner.sync { runner.loop.longestIteration })")
        XCTAssertLessThan(runner.sync { runner.loop.longestIteration }, 10, "seconds, not a raw clock value")
        runner.sync { timer.stop() }
    }

    func testTimerFiresAndCanRearmItselfFromItsCallback() {
        let runner = LoopThread()
        defer { runner.stop() }
        let fired = Atomic<Int>(0)
        let timer = runner.sync { () -> TimerWatcher in
            let timer = TimerWatcher(loop: runner.loop) {}
            timer.setCallback { [unowned timer] in
                if fired.add(1, ordering: .relaxed).newValue < 3 { timer.schedule(after: 0.01) }
            }
            timer.schedule(after: 0.01)
            return timer
        }
        XCTAssertTrue(Wait.until(timeout: 5) { fired.load(ordering: .relaxed) == 3 })
        runner.sync { timer.stop() }
    }

    func testSignalIsDeliveredToItsWatcherOnTheLoop() {
        let runner = LoopThread()
        defer { runner.stop() }
        let received = Atomic<Bool>(false)
        let watcher = runner.sync { () -> SignalWatcher in
            let watcher = SignalWatcher(loop: runner.loop, signal: SIGUSR2) {
                received.store(runner.loop.inLoop, ordering: .relaxed)
            }
            watcher.start()
            return watcher
        }
        kill(getpid(), SIGUSR2)
        XCTAssertTrue(Wait.until(timeout: 5) { received.load(ordering: .relaxed) })
        runner.sync { watcher.stop() }
    }

    func testIOWatcherReportsAReadablePipe() {
        let runner = LoopThread()
        defer { runner.stop() }
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let readable = Atomic<Bool>(false)
        let watcher = runner.sync { () -> IOWatcher in
            let watcher = IOWatcher(loop: runner.loop, fd: fds[0], events: .read) { events in
                if events.contains(.read) { readable.store(true, ordering: .relaxed) }
            }
            watcher.start()
            return watcher
        }
        XCTAssertFalse(readable.load(ordering: .relaxed))
        _ = write(fds[1], "x", 1)
        XCTAssertTrue(Wait.until(timeout: 5) { readable.load(ordering: .relaxed) })
        runner.sync { watcher.stop() }
    }

    func testBeforeSleepWorkRunsOnceAfterTheIterationsCallbacks() {
        let runner = LoopThread()
        defer { runner.stop() }
        let order = Mutex<[String]>([])
        runner.sync {
            runner.loop.beforeSleep { order.withLock { $0.append("before-sleep") } }
            order.withLock { $0.append("callback") }
        }
        XCTAssertTrue(Wait.until(timeout: 5) { order.withLock { $0.count } == 2 })
        XCTAssertEqual(order.withLock { $0 }, ["callback", "before-sleep"])
    }

    /// The jobs store hands its writes over last: a completion recorded in a callback and the
    /// claim that `beforeSleep` work makes for the freed slot must reach the writer together.
    func testHandOverRunsAfterAllBeforeSleepWorkIncludingWhatItAdded() {
        let runner = LoopThread()
        defer { runner.stop() }
        let order = Mutex<[String]>([])
        let loop = runner.loop
        runner.sync {
            loop.handOverBeforeSleep { order.withLock { $0.append("hand over") } }
            loop.beforeSleep {
                order.withLock { $0.append("before-sleep") }
                loop.beforeSleep { order.withLock { $0.append("added by before-sleep") } }
            }
            order.withLock { $0.append("callback") }
        }
        XCTAssertTrue(Wait.until(timeout: 5) { order.withLock { $0.count } == 4 })
        XCTAssertEqual(order.withLock { $0 }, ["callback", "before-sleep", "added by before-sleep", "hand over"])
    }
}
