import CLibEv

/// A POSIX signal delivered on the loop thread (libev `ev_signal`). Loop thread only.
///
/// libev installs a handler that only records the signal; the callback runs later in loop
/// context, whichever thread the kernel interrupted (REACTOR-NOTES.md B.4).
public final class SignalWatcher {
    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_signal>
    private let callback: () -> Void
    public let signal: Int32

    public init(loop: EventLoop, signal: Int32, callback: @escaping () -> Void) {
        self.loop = loop
        self.signal = signal
        self.callback = callback
        watcher = .allocate(capacity: 1)
        watcher.initialize(to: ev_signal())
        cev_signal_init(
            watcher,
            { _, watcher, _ in
                guard let watcher, let data = cev_data(watcher) else { return }
                Unmanaged<SignalWatcher>.fromOpaque(data).takeUnretainedValue().callback()
            }, signal)
        cev_set_data(watcher, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        ev_signal_stop(loop.raw, watcher)
        watcher.deinitialize(count: 1)
        watcher.deallocate()
    }

    public func start() {
        loop.assertInLoop()
        ev_signal_start(loop.raw, watcher)
    }

    public func stop() {
        loop.assertInLoop()
        ev_signal_stop(loop.raw, watcher)
    }

}
