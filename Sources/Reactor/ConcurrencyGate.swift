/// Admission control for the loop: at most `capacity` holders at once, each given a slot
/// number (0 … capacity−1, lowest free first), and at most `caps[key]` holders per key
/// (per provider, for example). Loop thread only; pure bookkeeping, no I/O, no clock.
public final class ConcurrencyGate {
    public let capacity: Int
    private var caps: [String: Int]
    private var slotKeys: [String?]
    private var slotTaken: [Bool]
    private var free: FreeSlots
    private var perKey: [String: Int] = [:]
    public private(set) var active = 0

    public init(capacity: Int, caps: [String: Int] = [:]) {
        precondition(capacity > 0, "a gate needs at least one slot")
        self.capacity = capacity
        self.caps = caps
        slotKeys = Array(repeating: nil, count: capacity)
        slotTaken = Array(repeating: false, count: capacity)
        free = FreeSlots(capacity: capacity)
    }

    public var freeSlots: Int { capacity - active }

    /// Holders under `key` right now.
    public func count(for key: String) -> Int { perKey[key, default: 0] }

    /// The cap for `key`, if one was set.
    public func cap(for key: String) -> Int? { caps[key] }

    /// The keys that have a cap, sorted.
    public var cappedKeys: [String] { caps.keys.sorted() }

    /// Whether `acquire(key:)` would succeed now.
    public func canAcquire(key: String?) -> Bool {
        guard active < capacity else { return false }
        guard let key, let cap = caps[key] else { return true }
        return perKey[key, default: 0] < cap
    }

    /// Takes the lowest free slot, or returns nil when the gate or the key is full.
    public func acquire(key: String?) -> Int? {
        guard canAcquire(key: key), let slot = free.takeLowest() else { return nil }
        slotTaken[slot] = true
        slotKeys[slot] = key
        active += 1
        if let key { perKey[key, default: 0] += 1 }
        return slot
    }

    /// Frees a slot taken by `acquire`.
    public func release(slot: Int) {
        precondition(slotTaken[slot], "release of a free slot \(slot)")
        slotTaken[slot] = false
        free.giveBack(slot)
        if let key = slotKeys[slot] { perKey[key, default: 1] -= 1 }
        slotKeys[slot] = nil
        active -= 1
    }
}
