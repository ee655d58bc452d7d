import Synchronization

/// Bytes handed to a writer thread and not yet written, between two marks: whoever hands them
/// over should stop once the count is above `highWater`, and `whenUnder` tells it when the
/// writers have brought the count back to `lowWater`. The gap between the marks keeps a
/// producer from stopping and starting on every chunk.
///
/// Any thread: `add` runs where the bytes are produced (the loop), `remove` where they are
/// written (a download queue); the count and the waiters are behind a Mutex, and waiters run
/// outside it, on the thread whose `remove` crossed the low mark.
final class WriteBehindBudget: Sendable {
    let highWater: Int
    let lowWater: Int

    private struct State {
        var pending = 0
        var waiters: [@Sendable () -> Void] = []
    }
    private let state = Mutex(State())

    init(highWater: Int, lowWater: Int) {
        precondition(0 <= lowWater && lowWater <= highWater, "need 0 <= lowWater <= highWater")
        self.highWater = highWater
        self.lowWater = lowWater
    }

    /// Bytes added and not yet removed.
    var pending: Int { state.withLock { $0.pending } }

    /// Whether the producer should stop: more than `highWater` bytes wait.
    var isOver: Bool { state.withLock { $0.pending > highWater } }

    func add(_ bytes: Int) {
        state.withLock { $0.pending += bytes }
    }

    /// Counts `bytes` as written (or dropped); at or under `lowWater`, runs and forgets every waiter.
    func remove(_ bytes: Int) {
        let ready = state.withLock { state -> [@Sendable () -> Void] in
            state.pending -= bytes
            guard state.pending <= lowWater, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in ready { waiter() }
    }

    /// Runs `action` once the count is at or under `lowWater`: at once, on this thread, if it
    /// already is.
    func whenUnder(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.pending <= lowWater { return true }
            state.waiters.append(action)
            return false
        }
        if now { action() }
    }
}
