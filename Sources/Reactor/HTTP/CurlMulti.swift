import CCurl
import CLibEv
import Foundation

/// curl-multi driven by the event loop through the socket API (REACTOR-NOTES.md A.1–A.6).
///
/// curl tells us which fds it wants watched (socket callback) and when it next needs a call
/// (timer callback); libev tells us when they are ready; each readiness or timeout becomes
/// one `curl_multi_socket_action`, after which every finished transfer is read. There is no
/// `curl_multi_perform` polling and no thread per request. Loop thread only.
final class CurlMulti {
    /// The two watchers of one fd: one for reading, one for writing, started and stopped as
    /// curl's wish changes, never re-initialised (the hiredis pattern, A.3).
    private final class SocketWatch {
        let read: IOWatcher
        let write: IOWatcher
        /// What curl last asked for reading, kept so that un-pausing `readingPaused` knows whom to restart.
        var wantsRead = false
        init(read: IOWatcher, write: IOWatcher) {
            self.read = read
            self.write = write
        }
        func stop() {
            read.stop()
            write.stop()
        }
    }

    private let loop: EventLoop
    private let multi: UnsafeMutableRawPointer
    private var sockets: [Int32: SocketWatch] = [:]
    private var timer: TimerWatcher!
    /// Called with each finished easy handle and its result, after it left the multi.
    var onDone: (UnsafeMutableRawPointer, CURLcode) -> Void = { _, _ in }
    /// Called after each of curl's actions, before the finished transfers are read: curl has
    /// begun every handle added before it.
    var onActed: () -> Void = {}
    /// Set when curl reports the multi itself broken; every transfer then fails.
    var onFatal: (String) -> Void = { _ in }
    /// While true no socket is watched for reading: answers wait in the kernel's socket
    /// buffers, not in this process. Writes (requests going out) and timeouts carry on.
    var readingPaused = false {
        didSet {
            guard readingPaused != oldValue else { return }
            for watch in sockets.values where watch.wantsRead {
                if readingPaused { watch.read.stop() } else { watch.read.start() }
            }
        }
    }

    private static let globalInit: Void = {
        // Once per process, before transfers (curl_global_init.3).
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    init(loop: EventLoop, maxConnections: Int) {
        _ = Self.globalInit
        self.loop = loop
        guard let multi = curl_multi_init() else { fatalError("libcurl could not create a multi handle") }
        self.multi = multi
        timer = TimerWatcher(loop: loop) { [unowned self] in self.timeoutFired() }
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = ccurl_multi_setopt_socket(multi, curlSocketCallback)
        _ = ccurl_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        _ = ccurl_multi_setopt_timer(multi, curlTimerCallback)
        // Keep an idle connection for every job that may run at once, so a finished request's
        // connection is reused by the next instead of closed and opened again.
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(maxConnections, 16))
        _ = ccurl_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
    }

    deinit {
        // Cleanup still calls the socket and timer callbacks (REMOVE for cached connections, a
        // last timer, A.2). They must not reach this object while it is being destroyed (a
        // retain in deinit is undefined), so the watchers are stopped here first and the
        // callbacks get no object to call.
        for watch in sockets.values { watch.stop() }
        timer.stop()
        _ = ccurl_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, nil)
        _ = ccurl_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, nil)
        curl_multi_cleanup(multi)
    }

    func add(_ easy: UnsafeMutableRawPointer) -> CURLMcode {
        loop.assertInLoop()
        // No kick-start needed: add_handle announces a 0 ms timeout through the timer callback.
        return curl_multi_add_handle(multi, easy)
    }

    func remove(_ easy: UnsafeMutableRawPointer) {
        loop.assertInLoop()
        _ = curl_multi_remove_handle(multi, easy)
    }

    // MARK: curl → loop

    fileprivate func socketChanged(fd: Int32, what: Int32, known: Bool) {
        if what == CURL_POLL_REMOVE {
            sockets.removeValue(forKey: fd)?.stop()
            return
        }
        var watch = sockets[fd]
        if !known, let stale = watch {
            // curl thinks this fd is new but we still watch that number: a REMOVE was missed or
            // the number was reused. Replace the watchers rather than trust the old ones (A.14).
            stale.stop()
            watch = nil
        }
        if watch == nil {
            let created = SocketWatch(
                read: IOWatcher(loop: loop, fd: fd, events: .read) { [unowned self] events in self.ready(fd: fd, events)
                },
                write: IOWatcher(loop: loop, fd: fd, events: .write) { [unowned self] events in
                    self.ready(fd: fd, events)
                })
            sockets[fd] = created
            watch = created
            _ = curl_multi_assign(multi, fd, Unmanaged.passUnretained(created).toOpaque())
        }
        guard let watch else { return }
        watch.wantsRead = what & CURL_POLL_IN != 0
        if watch.wantsRead && !readingPaused { watch.read.start() } else { watch.read.stop() }
        if what & CURL_POLL_OUT != 0 { watch.write.start() } else { watch.write.stop() }
    }

    fileprivate func timerChanged(milliseconds: Int) {
        if milliseconds < 0 {
            timer.stop()
        } else {
            // Floating point: integer division would turn sub-second waits into a spin (A.4).
            // 0 ms fires on the next iteration, never from inside this callback.
            timer.schedule(after: Double(milliseconds) / 1000)
        }
    }

    // MARK: loop → curl

    private func ready(fd: Int32, _ events: IOWatcher.Events) {
        var flags: Int32 = 0
        if events.contains(.read) { flags |= CURL_CSELECT_IN }
        if events.contains(.write) { flags |= CURL_CSELECT_OUT }
        if events.contains(.error) { flags |= CURL_CSELECT_ERR }
        act(on: fd, flags: flags)
    }

    private func timeoutFired() {
        act(on: CURL_SOCKET_TIMEOUT, flags: 0)
    }

    private func act(on socket: Int32, flags: Int32) {
        var running: Int32 = 0
        let code = curl_multi_socket_action(multi, socket, flags, &running)
        if code != CURLM_OK {
            onFatal(String(cString: curl_multi_strerror(code)))
        }
        onActed()
        // Always read finished transfers, whatever `running` says (A.5).
        drainFinished()
    }

    private func drainFinished() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            // The message dies with remove_handle: copy what we need first (A.5).
            let result = ccurl_msg_result(message)
            curl_multi_remove_handle(multi, easy)
            onDone(easy, result)
        }
    }
}

private let curlSocketCallback: curl_socket_callback = { _, fd, what, clientp, socketp in
    guard let clientp else { return 0 }
    let multi = Unmanaged<CurlMulti>.fromOpaque(clientp).takeUnretainedValue()
    multi.socketChanged(fd: fd, what: what, known: socketp != nil)
    return 0  // -1 would abort every transfer in the multi (A.2).
}

private let curlTimerCallback: curl_multi_timer_callback = { _, milliseconds, clientp in
    guard let clientp else { return 0 }
    Unmanaged<CurlMulti>.fromOpaque(clientp).takeUnretainedValue().timerChanged(milliseconds: milliseconds)
    return 0
}
