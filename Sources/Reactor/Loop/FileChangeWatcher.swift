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
public final class FileChangeWatcher {
    private let loop: EventLoop
    private let fd: Int32
    private var io: IOWatcher?
    private let names: Set<String>
    private let callback: () -> Void

    /// Returns nil when inotify is unavailable (the fallback poll then does all the work).
    public init?(loop: EventLoop, directory: String, names: Set<String>, callback: @escaping () -> Void) {
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
        io = IOWatcher(loop: loop, fd: fd, events: .read) { [unowned self] _ in self.readEvents() }
    }

    deinit {
        io?.stop()
        io = nil
        close(fd)
    }

    public func start() { io?.start() }
    public func stop() { io?.stop() }

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
        if matched { callback() }
    }
}
