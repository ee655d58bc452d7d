import Foundation

/// A value that many request tasks share, guarded by a lock that is held only for the length of one closure.
///
/// Why not an actor: every provider request touches the counters, the request log and the fault settings, and an
/// actor hop per touch costs a suspension plus an executor switch; a short critical section is cheaper and never
/// suspends. Why not `Synchronization.Mutex`: the package still declares macOS 14, where `Mutex` is unavailable.
///
/// Rule for callers: never `await` inside `withLock` (the closure is synchronous, so the compiler enforces it), and
/// keep the work inside small — no JSON encoding, no I/O.
final class LockedState<Value: Sendable>: @unchecked Sendable {
    // @unchecked is sound: `value` is only read or written while `lock` is held, so no two threads see it at once.
    private let lock = NSLock()
    private var value: Value

    /// Wraps `value`; any thread may call the methods below.
    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value and returns what it returns.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
