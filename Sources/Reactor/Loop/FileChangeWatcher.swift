import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Calls back on the loop when any of `names` in `directory` is written, created or moved in.
///
/// A raw inotify fd under an `IOWatcher`: one event per `write(2)`, so two SQLite commits in
/// the same second are both seen, which libev's `ev_stat` (whole-second mtimes) cannot do
/// (REACTOR-NOTES.md B.6). A change is only a hint: the caller confirms it and keeps a slow
/// fallback poll, because inotify can overflow and mmap writes are invisible to it.
///
/// After a change is reported the fd is not watched for `quietPeriod`; what came meanwhile is
/// read, and reported once, when it ends. The worker's own writer writes the watched WAL: at
/// C = 2,000 that was 2,648 reports in a 6.5 s run, each a query on the loop, and 70 % of the
/// loop's iterations woke for inotify. A change after a quiet stretch is still reported at once.
public final class FileChangeWatcher {
    /// 5 ms: at most 200 reports a second, and another program's row waits at most that much
    /// longer while this worker is writing (the pickup target is 10 ms at the median).
    public static let defaultQuietPeriod = 0.005

    private let loop: EventLoop
    private let fd: Int32
    private var io: IOWatcher?
    private let names: Set<String>
    private let callback: () -> Void
    private let quietPeriod: Double
    /// Ends the quiet period: watching again reads what came during it.
    private var quiet: TimerWatcher?
    /// Between `start()` and `stop()`: whether the quiet period's end may watch again.
    private var started = false

    /// Returns nil when inotify is unavailable (the fallback poll then does all the work).
    public init?(
        loop: EventLoop, directory: String, names: Set<String>, quietPeriod: Double = defaultQuietPeriod,
        callback: @escaping () -> Void
    ) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            close(fd)
            return nil
        }
        self.loop = loop
        self.fd = fd
        self.names = names
        self.callback = callback
        self.quietPeriod = quietPeriod
        io = IOWatcher(loop: loop, fd: fd, events: .read) { [unowned self] _ in self.readEvents() }
        quiet = TimerWatcher(loop: loop) { [unowned self] in
            if self.started { self.io?.start() }
        }
    }

    deinit {
        quiet?.stop()
        io?.stop()
        io = nil
        close(fd)
    }

    public func start() {
        started = true
        io?.start()
    }

    public func stop() {
        started = false
        quiet?.stop()
        io?.stop()
    }

    private func readEvents() {
        var matched = false
        let capacity = 16 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = read(fd, buffer, capacity)
            if count <= 0 { break }  // EAGAIN: drained.
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    matched = true
                } else if event.len > 0 {
                    let name = String(cString: (buffer + offset + header).assumingMemoryBound(to: CChar.self))
                    if names.contains(name) { matched = true }
                }
                offset += header + Int(event.len)
            }
        }
        guard matched else { return }
        callback()
        if quietPeriod > 0 {
            io?.stop()
            quiet?.schedule(after: quietPeriod)
        }
    }
}
