import CLibEv

/// Readiness of a file descriptor (libev `ev_io`, level-triggered). Loop thread only.
public final class IOWatcher {
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let read = Events(rawValue: Int32(EV_READ))
        public static let write = Events(rawValue: Int32(EV_WRITE))
        /// libev stopped the watcher because the fd is bad (ev(3) "fd_kill").
        public static let error = Events(rawValue: Int32(truncatingIfNeeded: EV_ERROR))
    }

    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_io>
    private let callback: (Events) -> Void
    public let fd: Int32

    public init(loop: EventLoop, fd: Int32, events: Events, callback: @escaping (Events) -> Void) {
        self.loop = loop
        self.fd = fd
        self.callback = callback
        watcher = .allocate(capacity: 1)
        watcher.initialize(to: ev_io())
        cev_io_init(
            watcher,
            { _, watcher, revents in
                guard let watcher, let data = cev_data(watcher) else { return }
                Unmanaged<IOWatcher>.fromOpaque(data).takeUnretainedValue().callback(Events(rawValue: revents))
            }, fd, events.rawValue)
        cev_set_data(watcher, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        ev_io_stop(loop.raw, watcher)
        watcher.deinitialize(count: 1)
        watcher.deallocate()
    }

    public func start() {
        loop.assertInLoop()
        ev_io_start(loop.raw, watcher)
    }

    public func stop() {
        loop.assertInLoop()
        ev_io_stop(loop.raw, watcher)
    }

    public var isActive: Bool { cev_is_active(watcher) != 0 }

}
