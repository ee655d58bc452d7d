import CLibEv
import Foundation
import Synchronization

/// One libev loop, owned by one thread.
///
/// Everything that touches the loop (watchers, curl, the scheduler's state) runs on the thread
/// that called `run()`. Other threads reach it only through `execute(_:)`, which appends to a
/// mutex-protected queue and wakes the loop with `ev_async_send` (REACTOR-NOTES.md B.2).
///
/// The loop is created with `ev_loop_new(EVFLAG_NOSIGMASK | EVFLAG_NOENV)`, never libev's
/// default loop: the default loop installs a SIGCHLD handler that reaps every child, which
/// would make a crashed ffmpeg look like a success to Foundation's `Process` (B.1).
public final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable: `raw` is only used on the loop thread (checked by `assertInLoop`),
    // except for `ev_async_send`, which libev documents as thread-safe; `pending` is a Mutex.

    let raw: OpaquePointer
    private let wakeup: UnsafeMutablePointer<ev_async>
    private let prepare: UnsafeMutablePointer<ev_prepare>
    /// Loop thread only: run once at the end of the iteration in which they were added.
    private var beforeSleepWork: [() -> Void] = []
    /// Loop thread only: run after all of `beforeSleepWork`, including what it added.
    private var handOverWork: [() -> Void] = []
    private let pending = Mutex<[@Sendable () -> Void]>([])
    private let loopThread = Mutex<pthread_t?>(nil)
    private let closed = Atomic<Bool>(false)
    /// Loop thread only: `stop()` was called. libev forgets an `ev_break` made before `ev_run`
    /// starts (it resets its flag on entry), and work handed over before `run()` is done in the
    /// drain that precedes `ev_run` — so a stop made there must be remembered here.
    private var stopRequested = false
    /// Loop thread only: the longest time one iteration spent between waking and waiting again,
    /// in seconds. No timer or socket can be served later than this, so it is the loop's worst
    /// stall. Start-up work done before `ev_run` is left out.
    public private(set) var longestIteration: Double = 0

    /// Creates a loop. Call `run()` on the thread that is to own it.
    public init() {
        guard let loop = ev_loop_new(UInt32(EVFLAG_NOSIGMASK) | UInt32(EVFLAG_NOENV)) else {
            fatalError("libev could not create an event loop (out of file descriptors?)")
        }
        raw = loop
        prepare = .allocate(capacity: 1)
        prepare.initialize(to: ev_prepare())
        wakeup = .allocate(capacity: 1)
        wakeup.initialize(to: ev_async())
        cev_async_init(wakeup) { _, watcher, _ in
            guard let watcher, let data = cev_data(watcher) else { return }
            Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().drainPending()
        }
        cev_set_data(wakeup, Unmanaged.passUnretained(self).toOpaque())
        // Started before any other thread can call `execute`, so no send is ever lost.
        ev_async_start(raw, wakeup)
        cev_prepare_init(prepare) { _, watcher, _ in
            guard let watcher, let data = cev_data(watcher) else { return }
            Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().runBeforeSleep()
        }
        cev_set_data(prepare, Unmanaged.passUnretained(self).toOpaque())
        ev_prepare_start(raw, prepare)
        // The prepare watcher is housekeeping; it must not count as a reason to keep running.
        ev_unref(raw)
    }

    deinit {
        ev_ref(raw)  // Balance the unref before stopping, as libev requires.
        ev_prepare_stop(raw, prepare)
        prepare.deinitialize(count: 1)
        prepare.deallocate()
        ev_async_stop(raw, wakeup)
        wakeup.deinitialize(count: 1)
        wakeup.deallocate()
        ev_loop_destroy(raw)
    }

    /// Runs the loop on the calling thread until `stop()`; the wake-up watcher keeps it alive meanwhile.
    public func run() {
        loopThread.withLock { $0 = pthread_self() }
        drainPending()
        // Start-up work handed over before now is not a stall: the first iteration counts from here.
        ev_now_update(raw)
        if !stopRequested { ev_run(raw, 0) }
        // Work handed over after the loop ended still runs, so callers waiting on it are not stranded.
        drainPending()
    }

    /// Makes `run()` return after the current iteration. Loop thread only.
    public func stop() {
        assertInLoop()
        stopRequested = true
        ev_break(raw, Int32(EVBREAK_ALL))
    }

    /// Runs `work` on the loop thread, soon. Safe from any thread; the only door into the loop.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(work) }
        ev_async_send(raw, wakeup)
    }

    /// True on the thread running this loop.
    public var inLoop: Bool {
        loopThread.withLock { thread in thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Crashes loudly when loop-owned state is touched from another thread: that is a bug, not
    /// a runtime condition. Before `run()` starts, the creating thread may still set things up.
    public func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        let owner = loopThread.withLock { $0 }
        if let owner {
            precondition(
                pthread_equal(owner, pthread_self()) != 0, "loop state touched off the loop thread", file: file,
                line: line)
        }
    }

    /// Runs `work` once, after the callbacks of this loop iteration and before the loop
    /// waits again (Redis's "beforeSleep"). Used to hand everything an iteration produced to
    /// another thread in one piece. Loop thread only.
    public func beforeSleep(_ work: @escaping () -> Void) {
        assertInLoop()
        beforeSleepWork.append(work)
    }

    /// Runs `work` once at the very end of this iteration: after every `beforeSleep` item,
    /// including those that items added. For handing what the iteration produced to another
    /// thread when `beforeSleep` work may still add to it: the jobs store hands its writes to
    /// the writer here, so a job's completion and the claim that refills its slot (made in
    /// `beforeSleep`) commit in one transaction and no reader sees the slot empty. Loop thread only.
    public func handOverBeforeSleep(_ work: @escaping () -> Void) {
        assertInLoop()
        handOverWork.append(work)
    }

    private func runBeforeSleep() {
        repeat {
            while !beforeSleepWork.isEmpty {
                let work = beforeSleepWork
                beforeSleepWork.removeAll()
                for item in work { item() }
            }
            let handOvers = handOverWork
            handOverWork.removeAll()
            for item in handOvers { item() }
        } while !beforeSleepWork.isEmpty || !handOverWork.isEmpty
        measureIteration()
    }

    /// `ev_now` is the time the loop woke at (libev refreshes it once per wake-up, and nothing
    /// calls `updateNow` inside an iteration), so the distance to the clock now is this iteration's work. One
    /// vDSO clock read per iteration.
    private func measureIteration() {
        let busy = ev_time() - ev_now(raw)
        if busy > longestIteration { longestIteration = busy }
    }

    /// The loop's cached time in seconds (monotonic), as used by its timers.
    public var now: Double { ev_now(raw) }

    /// Refreshes the loop's cached time after a long stretch of work (libev "time updates").
    public func updateNow() { ev_now_update(raw) }

    private func drainPending() {
        // Drain the whole queue: libev coalesces sends, so one callback may stand for many.
        while true {
            let batch = pending.withLock { queue -> [@Sendable () -> Void] in
                let taken = queue
                queue.removeAll(keepingCapacity: true)
                return taken
            }
            if batch.isEmpty { return }
            for work in batch { work() }
        }
    }
}
