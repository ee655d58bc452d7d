import XCTest

@testable import Jobs

/// The per-provider request pacing and Retry-After pauses, and the poll schedule, with an
/// injected clock: no test here waits.
final class ProviderThrottleTests: XCTestCase {
    func testAProviderWithoutARateIsNeverHeldBack() {
        let throttle = ProviderThrottle(clock: { 100 })
        for _ in 0..<50 { XCTAssertEqual(throttle.reserve("openai"), 0) }
    }

    func testRequestsAreSpacedToTheRatePerMinute() {
        var now = 0.0
        let throttle = ProviderThrottle(ratesPerMinute: ["bria": 30], clock: { now })
        XCTAssertEqual(throttle.spacing(for: "bria"), 2)
        XCTAssertEqual(throttle.reserve("bria"), 0)
        XCTAssertEqual(throttle.reserve("bria"), 2, "the second request waits one spacing")
        XCTAssertEqual(throttle.reserve("bria"), 4, "the third queues behind the second")
        XCTAssertEqual(throttle.reserve("leonardo"), 0, "other providers are not affected")
        now = 10
        XCTAssertEqual(throttle.reserve("bria"), 0, "after a quiet spell the next request goes at once")
        XCTAssertEqual(throttle.reserve("bria"), 2)
    }

    func testNoMinuteEverHoldsMoreRequestsThanTheRate() {
        var now = 0.0
        let throttle = ProviderThrottle(ratesPerMinute: ["kling": 12], clock: { now })
        var sendTimes: [Double] = []
        for _ in 0..<100 {
            sendTimes.append(now + throttle.reserve("kling"))
            now += 0.1  // 100 requests wanted within 10 s.
        }
        for start in sendTimes {
            let inWindow = sendTimes.filter { $0 >= start && $0 < start + 60 }.count
            XCTAssertLessThanOrEqual(inWindow, 12)
        }
    }

    func testAPauseHoldsBackEveryRequestToThatProviderOnly() {
        var now = 1000.0
        let throttle = ProviderThrottle(clock: { now })
        throttle.pause("leonardo", for: 2)
        XCTAssertEqual(throttle.remainingPause("leonardo"), 2)
        XCTAssertEqual(throttle.reserve("leonardo"), 2)
        XCTAssertEqual(throttle.reserve("leonardo"), 2, "every job of the provider waits for the same moment")
        XCTAssertEqual(throttle.reserve("kling"), 0)
        now += 1.5
        XCTAssertEqual(throttle.remainingPause("leonardo"), 0.5, accuracy: 1e-9)
        now += 0.5
        XCTAssertEqual(throttle.remainingPause("leonardo"), 0)
        XCTAssertEqual(throttle.reserve("leonardo"), 0)
    }

    func testAShorterPauseNeverCutsALongerOne() {
        var now = 0.0
        let throttle = ProviderThrottle(clock: { now })
        throttle.pause("bria", for: 10)
        now = 1
        throttle.pause("bria", for: 2)
        XCTAssertEqual(throttle.remainingPause("bria"), 9)
    }

    func testPausedRequestsKeepTheirSpacingWhenThePauseEnds() {
        var now = 0.0
        let throttle = ProviderThrottle(ratesPerMinute: ["seedance": 60], clock: { now })
        throttle.pause("seedance", for: 5)
        XCTAssertEqual(throttle.reserve("seedance"), 5)
        XCTAssertEqual(throttle.reserve("seedance"), 6)
        now = 3
        XCTAssertEqual(throttle.reserve("seedance"), 4, "queued behind the others: sent at 7")
    }

    func testPollIntervalIsSteadyThenGrowsWithTheWaitUpToItsCap() {
        let schedule = PollSchedule(base: 5, maximum: 30, steadySeconds: 30)
        XCTAssertEqual(schedule.interval(afterWaiting: 0), 5)
        XCTAssertEqual(schedule.interval(afterWaiting: 30), 5)
        XCTAssertEqual(schedule.interval(afterWaiting: 60), 10)
        XCTAssertEqual(schedule.interval(afterWaiting: 120), 20)
        XCTAssertEqual(schedule.interval(afterWaiting: 1200), 30)
        XCTAssertEqual(PollSchedule(base: 60, maximum: 30).maximum, 60, "a base above the cap raises the cap")
    }
}
