import Foundation
import Reactor
import Synchronization

/// An `EventLoop` running on its own thread, as the daemon runs it, for in-process tests.
public final class LoopThread: @unchecked Sendable {
    // @unchecked Sendable: `loop` is itself thread-safe for `execute`; everything else the
    // tests do with it goes through `sync`, which runs on the loop thread.
    public let loop = EventLoop()
    private let finished = Atomic<Bool>(false)

    public init() {
        let thread = Thread { [self] in
            loop.run()
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        thread.name = "test-loop"
        thread.start()
    }

    /// Runs `work` on the loop thread and returns its result.
    public func sync<T>(_ work: @escaping () -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let task = TestWork(work)
        loop.execute {
            box.value = task.value()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    /// Stops the loop and waits for its thread to end.
    public func stop() {
        loop.execute { [loop] in loop.stop() }
        Wait.until(timeout: 5) { self.finished.load(ordering: .sequentiallyConsistent) }
    }
}

/// The work `sync` hands to the loop thread. @unchecked Sendable: made on the test thread and
/// run once on the loop thread while the test thread waits; never touched by both at once.
private final class TestWork<T>: @unchecked Sendable {
    let value: () -> T
    init(_ value: @escaping () -> T) { self.value = value }
}

/// A value handed from the loop thread back to the test thread after a semaphore signal.
/// @unchecked Sendable: written before the signal, read after the wait.
public final class ResultBox<T>: @unchecked Sendable {
    public var value: T?
    public init() {}
}
