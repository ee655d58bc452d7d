import XCTest

@testable import Reactor

final class ConcurrencyGateTests: XCTestCase {
    /// Thousands of random takes and releases: the gate must always hand out the lowest free
    /// slot, exactly as a scan of every slot would (the log lines name slots, monitoring reads them).
    func testAlwaysHandsOutTheLowestFreeSlotLikeAScan() {
        let capacity = 64
        let gate = ConcurrencyGate(capacity: capacity)
        var taken = Array(repeating: false, count: capacity)
        var generator = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            let holders = taken.indices.filter { taken[$0] }
            if holders.isEmpty || (holders.count < capacity && Bool.random(using: &generator)) {
                let expected = taken.firstIndex(of: false)
                XCTAssertEqual(gate.acquire(key: nil), expected, "step \(step)")
                if let expected { taken[expected] = true }
            } else {
                let slot = holders.randomElement(using: &generator)!
                gate.release(slot: slot)
                taken[slot] = false
            }
            XCTAssertEqual(gate.freeSlots, taken.filter { !$0 }.count)
        }
        for slot in taken.indices where taken[slot] { gate.release(slot: slot) }
        XCTAssertEqual((0..<capacity).map { _ in gate.acquire(key: nil) }, Array(0..<capacity))
        XCTAssertNil(gate.acquire(key: nil), "full")
    }
}
