import Foundation
import Synchronization

/// A request to stop a media job's children: made on the loop (cancel, timeout, shutdown),
/// acted on by the pool thread that waits for the child. Thread-safe.
public final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Asks the running child (and any child not started yet) to stop. Idempotent.
    public func request() { flag.store(true, ordering: .sequentiallyConsistent) }

    public var isRequested: Bool { flag.load(ordering: .sequentiallyConsistent) }
}

/// How a child process ended, read from its real wait status.
public struct ChildTermination: Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    public var reason: Reason
    /// The last lines it wrote to stderr.
    public var stderrTail: String
    /// True when it was told to stop (SIGTERM, then SIGKILL) because of a `StopRequest`.
    public var wasStopped: Bool

    public var succeeded: Bool { reason == .exited(0) && !wasStopped }

    /// "exited with status 1" or "was killed by signal 9 (SIGKILL)".
    public var summary: String {
        switch reason {
        case .exited(let status): return "exited with status \(status)"
        case .signalled(let number):
            let name = number == SIGKILL ? " (SIGKILL)" : number == SIGTERM ? " (SIGTERM)" : ""
            return "was killed by signal \(number)\(name)"
        }
    }
}

/// One child process — ffmpeg or ffprobe — run to its end on the calling thread, which it
/// blocks: call it only from a `MediaPool` thread.
///
/// The child gets `/dev/null` as stdin, pipes for stdout (handed over line by line) and
/// stderr (its tail kept for errors), a default signal mask, and no other descriptors
/// (Foundation's `Process` closes every fd above 2 in the child; curl's sockets are CLOEXEC
/// as well). Its exit status is the real one: our loop is not libev's default loop, so no
/// SIGCHLD handler reaps it before Foundation does (REACTOR-NOTES.md B.1).
public struct MediaProcess: Sendable {
    public var executable: String
    public var arguments: [String]
    /// The child's whole environment (provider keys never reach it).
    public var environment: [String: String]
    /// Seconds between SIGTERM and SIGKILL when stopping.
    public var grace: Double = 2
    /// `setpriv` to start the child with a parent-death signal (see `MediaChildren`), or nil.
    public var launcher: String?

    public init(executable: String, arguments: [String], environment: [String: String], launcher: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.launcher = launcher
    }

    /// The program's name for messages ("ffmpeg").
    public var name: String { (executable as NSString).lastPathComponent }

    /// Starts the child and waits for it, calling `onLine` for each stdout line on this thread.
    /// Stops it (SIGTERM, SIGKILL after `grace`) once `stop` is requested.
    public func run(stop: StopRequest, onLine: (String) -> Void = { _ in }) throws(JobFailure) -> ChildTermination {
        let process = Process()
        if let launcher {
            process.executableURL = URL(fileURLWithPath: launcher)
            process.arguments = ["--pdeathsig", "KILL", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        guard !stop.isRequested else { throw .permanent("\(name) was not started: the job was stopped") }
        do {
            try Self.withDefaultSignalMask { try process.run() }
        } catch {
            throw .permanent("could not start \(executable): \(error.localizedDescription)")
        }
        let pid = process.processIdentifier
        MediaChildren.register(pid)
        defer { MediaChildren.unregister(pid) }

        var reader = PipeReader(output: output, errors: errors)
        var stopping = StopEscalation(grace: grace)
        while true {
            if stop.isRequested, let signal = stopping.signalDue(now: Self.monotonicSeconds()), process.isRunning {
                kill(pid, signal)
            }
            if reader.isOpen {
                reader.readAvailable(timeoutMilliseconds: 100, onLine: onLine)
            } else if exited.wait(timeout: .now() + .milliseconds(100)) == .success {
                break
            }
        }
        withExtendedLifetime((output, errors)) {}
        let reason: ChildTermination.Reason =
            process.terminationReason == .uncaughtSignal
            ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
        return ChildTermination(reason: reason, stderrTail: reader.tail.lastLines(8), wasStopped: stopping.started)
    }

    /// Spawns with an empty signal mask: a child inherits the spawning thread's mask, and a
    /// Dispatch thread may block signals, which would make ffmpeg deaf to our SIGTERM
    /// (REACTOR-NOTES.md B.4). The thread's own mask is restored at once.
    private static func withDefaultSignalMask(_ spawn: () throws -> Void) rethrows {
        var empty = sigset_t()
        var previous = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try spawn()
    }

    static func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// When to send SIGTERM and when SIGKILL once a stop was requested. A plain value.
struct StopEscalation {
    let grace: Double
    private var terminatedAt: Double?
    private var killed = false

    init(grace: Double) { self.grace = grace }

    var started: Bool { terminatedAt != nil }

    /// The signal to send now, if any: SIGTERM at once, SIGKILL `grace` seconds later.
    mutating func signalDue(now: Double) -> Int32? {
        guard let terminatedAt else {
            terminatedAt = now
            return SIGTERM
        }
        guard !killed, now - terminatedAt >= grace else { return nil }
        killed = true
        return SIGKILL
    }
}

/// Reads a child's stdout and stderr pipes with `poll`, on the waiting pool thread.
struct PipeReader {
    private var open: [Int32]
    private let outputDescriptor: Int32
    private var lines = LineSplitter()
    private(set) var tail = OutputTail()
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(output: Pipe, errors: Pipe) {
        outputDescriptor = output.fileHandleForReading.fileDescriptor
        open = [outputDescriptor, errors.fileHandleForReading.fileDescriptor]
    }

    /// False once both pipes reached end of file (the child exited or closed them).
    var isOpen: Bool { !open.isEmpty }

    /// Waits up to `timeoutMilliseconds` for data and reads what is there.
    mutating func readAvailable(timeoutMilliseconds: Int32, onLine: (String) -> Void) {
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
        guard ready > 0 else { return }  // Timeout or EINTR: the caller checks for a stop and calls again.
        for entry in fds where entry.revents != 0 {
            let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.withUnsafeBytes { bytes in
                    let chunk = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                    if entry.fd == outputDescriptor {
                        for line in lines.append(chunk) { onLine(line) }
                    } else {
                        tail.append(chunk)
                    }
                }
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                if entry.fd == outputDescriptor, let last = lines.finish() { onLine(last) }
                open.removeAll { $0 == entry.fd }
            }
        }
    }
}
