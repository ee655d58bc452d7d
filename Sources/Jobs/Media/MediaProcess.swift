import Foundation
import Reactor
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
    /// `.exited(status)` or `.signalled(number)`, as waitpid reported it.
    public typealias Reason = SpawnedProcess.Termination

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
/// stderr (its tail kept for errors), an empty signal mask, default signal dispositions and no
/// other descriptors (`SpawnedProcess`, posix_spawn: Foundation's `Process.run()` can crash the
/// worker while it lists its thousands of open sockets). Its exit status is the real one: our
/// loop is not libev's default loop, so no SIGCHLD handler reaps it first (REACTOR-NOTES.md B.1).
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
        guard !stop.isRequested else { throw .permanent("\(name) was not started: the job was stopped") }
        // CLOEXEC is set after pipe(2) (pipe2 is hidden from Swift); children we start close
        // every descriptor above 2 anyway, and nothing in the worker forks otherwise.
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard pipe(&output) == 0 else { throw Self.pipeFailure() }
        guard pipe(&errors) == 0 else {
            output.forEach { close($0) }
            throw Self.pipeFailure()
        }
        for fd in output + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer {
            close(output[0])
            close(errors[0])
        }
        let child: SpawnedProcess
        do {
            child = try SpawnedProcess(
                executable: launcher ?? executable,
                arguments: launcher == nil ? arguments : ["--pdeathsig", "KILL", executable] + arguments,
                environment: environment, stdin: .null, stdout: .descriptor(output[1]), stderr: .descriptor(errors[1]))
        } catch {
            close(output[1])
            close(errors[1])
            throw .permanent("could not start \(executable): \(error)")
        }
        // Only the child writes into the pipes now: end of file comes when it exits.
        close(output[1])
        close(errors[1])
        let pid = child.pid
        MediaChildren.register(pid)
        defer { MediaChildren.unregister(pid) }

        var reader = PipeReader(outputDescriptor: output[0], errorDescriptor: errors[0])
        var stopping = StopEscalation(grace: grace)
        let reason: ChildTermination.Reason
        while true {
            if stop.isRequested, let signal = stopping.signalDue(now: Self.monotonicSeconds()), child.isRunning {
                kill(pid, signal)
            }
            if reader.isOpen {
                reader.readAvailable(timeoutMilliseconds: 100, onLine: onLine)
            } else if let ended = child.poll() {
                reason = ended
                break
            } else {
                // Both pipes closed: the child is exiting. Look for its status every 10 ms.
                _ = poll(nil, 0, 10)
            }
        }
        return ChildTermination(reason: reason, stderrTail: reader.tail.lastLines(8), wasStopped: stopping.started)
    }

    private static func pipeFailure() -> JobFailure {
        .transient("cannot create a pipe for a media child: \(SystemErrorText.of())")
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

    init(outputDescriptor: Int32, errorDescriptor: Int32) {
        self.outputDescriptor = outputDescriptor
        open = [outputDescriptor, errorDescriptor]
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
