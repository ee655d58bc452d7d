import CSpawn
import Foundation
import Synchronization

/// A child process started with `posix_spawn`, and its exit status from `waitpid`.
///
/// Foundation's `Process.run()` in Swift 6.3.1 now and then crashes the *parent*: listing
/// `/proc/self/fd` it copies each `dirent`'s whole 256-byte name field and reads past glibc's
/// buffer (swift-corelibs-foundation PR #5472). It took down a CI run of our tests, and the
/// worker starts ffmpeg the same way while holding thousands of sockets. This starts children
/// without it: descriptors 0–2 as asked, every other one closed in the child (glibc's
/// `closefrom`), an empty signal mask and default signal dispositions (the worker ignores
/// SIGPIPE and Dispatch threads block signals; a child must not inherit either).
///
/// Thread-safe; the status is reaped once and remembered.
public final class SpawnedProcess: Sendable {
    /// Where one of the child's standard descriptors goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// A file, created or truncated.
        case file(String)
        /// A descriptor of ours (the write end of a pipe, say), duplicated into the child.
        case descriptor(Int32)
    }

    /// How the child ended.
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    public let pid: pid_t
    private let termination = Mutex<Termination?>(nil)

    /// Starts `executable` (a path) with `arguments`; `environment` nil keeps ours, `directory`
    /// nil keeps our working directory. Throws the `posix_spawn` error in words.
    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null
    ) throws(SpawnError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (stream, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            switch stream {
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            case .descriptor(let fd):
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            }
        }
        if let directory { cspawn_addchdir(&actions, directory) }
        cspawn_addclosefrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let environmentLines = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = environmentLines.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }

        var child: pid_t = 0
        let code = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard code == 0 else { throw SpawnError(executable: executable, code: code) }
        pid = child
    }

    /// The status if the child has ended (reaping it), nil while it runs.
    public func poll() -> Termination? {
        termination.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            guard result == pid else { return nil }
            known = Self.decode(status)
            return known
        }
    }

    /// Blocks until the child has ended; its status.
    public func wait() -> Termination {
        while true {
            if let ended = poll() { return ended }
            var status: Int32 = 0
            let result = waitpid(pid, &status, 0)
            if result == pid {
                let ended = Self.decode(status)
                termination.withLock { $0 = ended }
                return ended
            }
            if result < 0 && errno != EINTR { return poll() ?? .exited(-1) }
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// `WIFEXITED`/`WEXITSTATUS`/`WTERMSIG`, which Swift does not import as macros.
    static func decode(_ status: Int32) -> Termination {
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
    }
}

/// A child that could not be started, with the system's reason.
public struct SpawnError: Error, CustomStringConvertible {
    public let executable: String
    public let code: Int32

    public var description: String { "cannot start \(executable): \(SystemErrorText.of(code))" }
}
