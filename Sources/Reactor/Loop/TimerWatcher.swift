import CLibEv

/// A relative, monotonic timer on the loop (libev `ev_timer`). Loop thread only.
///
/// Verbs as libev's: `set(after:repeat:)`, `start()`, `stop()`, plus `schedule(after:)` which
/// re-arms in one step. The callback may stop or re-arm its own timer.
public final class TimerWatcher {
    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_timer>
    private var callback: () -> Void

    public init(loop: EventLoop, callback: @escaping () -> Void) {
        self.loop = loop
        self.callback = callback
        watcher = .allocate(capacity: 1)
        watcher.initialize(to: ev_timer())
        cev_timer_init(
            watcher,
            { _, watcher, _ in
                guard let watcher, let data = cev_data(watcher) else { return }
                Unmanaged<TimerWatcher>.fromOpaque(data).takeUnretainedValue().callback()
            }, 0, 0)
        cev_set_data(watcher, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        ev_timer_stop(loop.raw, watcher)
        watcher.deinitialize(count: 1)
        watcher.deallocate()
    }

    /// Replaces the callback (useful when the callback needs a reference to the timer).
    public func setCallback(_ callback: @escaping () -> Void) { self.callback = callback }

    /// Sets the delay and repeat interval in seconds. Stops the timer first, as libev requires.
    public func set(after: Double, repeat interval: Double = 0) {
        loop.assertInLoop()
        ev_timer_stop(loop.raw, watcher)
        cev_timer_set(watcher, max(0, after), max(0, interval))
    }

    public func start() {
        loop.assertInLoop()
        ev_timer_start(loop.raw, watcher)
    }

    public func stop() {
        loop.assertInLoop()
        ev_timer_stop(loop.raw, watcher)
    }

    /// Stops, sets a one-shot delay and starts again.
    public func schedule(after: Double) {
        set(after: after)
        start()
    }

    public var isActive: Bool { cev_is_active(watcher) != 0 }

}

@available(*, unavailable, message: "a timer belongs to its loop's thread")
extension TimerWatcher: Sendable {}
