import Dispatch
import Synchronization

/// Runs blocking media work — each item waits for one ffmpeg or ffprobe child — on Dispatch
/// threads, at most `size` items at once. Further items wait in submission order without
/// holding a thread. Thread-safe.
///
/// Items run on a private concurrent queue, whose threads come from libdispatch's
/// overcommitting pool (it adds a thread when one blocks). They never run on the loop thread
/// and never on Swift concurrency's cooperative pool, so a child that takes an hour starves
/// neither the loop nor any `async` code (REACTOR-NOTES.md C.7).
public final class MediaPool: Sendable {
    /// Most items running at once: MEDIA_POOL_SIZE.
    public let size: Int
    private let queue: DispatchQueue
    private let state = Mutex(State())

    private struct State {
        var running = 0
        var waiting: [@Sendable () -> Void] = []
        var mostAtOnce = 0
    }

    /// A pool of `size` (at least 1) concurrent items.
    public init(size: Int, label: String = "reactor-worker.media") {
        self.size = max(size, 1)
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    /// Runs `work` on a pool thread as soon as fewer than `size` items run. Any thread.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        let startNow = state.withLock { state -> Bool in
            guard state.running < size else {
                state.waiting.append(work)
                return false
            }
            state.running += 1
            state.mostAtOnce = max(state.mostAtOnce, state.running)
            return true
        }
        if startNow { queue.async { self.drain(startingWith: work) } }
    }

    /// Items running now and waiting for a turn.
    public var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiting.count) }
    }

    /// The most items that ever ran at once (for tests and the bench).
    public var mostAtOnce: Int { state.withLock { $0.mostAtOnce } }

    /// Runs `work`, then the waiting items one after another on the same thread, so a finished
    /// item hands its turn straight to the next one and the count never exceeds `size`.
    private func drain(startingWith work: @escaping @Sendable () -> Void) {
        var next: (@Sendable () -> Void)? = work
        while let current = next {
            current()
            next = state.withLock { state -> (@Sendable () -> Void)? in
                guard !state.waiting.isEmpty else {
                    state.running -= 1
                    return nil
                }
                return state.waiting.removeFirst()
            }
        }
    }
}
