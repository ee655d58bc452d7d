import Foundation
import Reactor

/// A few threads of the web side's own, each with its own state (an SQLite connection, a
/// `JobControl`) made and used only on that thread, and a queue of work for them.
///
/// SQLite calls block, so they must not run on Swift's cooperative pool (it has one thread
/// per core, shared by every request) nor anywhere near the worker's loop. Reading threads
/// run at nice 10: on a busy machine the worker's loop and writer get the CPU first, so a slow
/// query delays a page, not a job. (Not the writing thread: it holds SQLite's write lock, and a
/// low-priority holder would make the worker's writer wait.) `run` suspends the calling task
/// until its work is done.
final class DatabaseThreads<State>: Sendable {
    private typealias Work = @Sendable (Result<State, any Error>) -> Void

    private let condition = NSCondition()
    /// Guarded by `condition` (that lock, not the compiler, makes the class Sendable).
    nonisolated(unsafe) private var queue: [Work] = []
    /// How many items may wait before `run` answers "busy".
    private let queueLimit: Int

    /// Starts `count` threads named `name`; each calls `makeState` once, on itself, when its
    /// first work arrives (and again after a failure, so a database that appears later is found).
    init(
        count: Int, name: String, lowPriority: Bool, queueLimit: Int = 512,
        makeState: @escaping @Sendable () throws -> State
    ) {
        self.queueLimit = queueLimit
        for index in 0..<count {
            let thread = Thread { [self] in self.serve(makeState, lowPriority: lowPriority) }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `body` with one thread's state and returns its result. Throws `busy` when the queue
    /// is full (the page answers 503 rather than growing without bound).
    func run<T: Sendable>(_ body: @escaping @Sendable (State) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            condition.lock()
            guard queue.count < queueLimit else {
                condition.unlock()
                continuation.resume(throwing: APIError.busy)
                return
            }
            queue.append { state in
                continuation.resume(with: Result { try body(state.get()) })
            }
            condition.signal()
            condition.unlock()
        }
    }

    private func serve(_ makeState: () throws -> State, lowPriority: Bool) {
        if lowPriority { ThreadPriority.lower() }
        var state: Result<State, any Error>?
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let work = queue.removeFirst()
            condition.unlock()
            if state == nil || (try? state?.get()) == nil { state = Result { try makeState() } }
            work(state!)
        }
    }
}
