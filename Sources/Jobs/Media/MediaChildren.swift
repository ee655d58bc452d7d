import Foundation
import Synchronization

/// The ffmpeg and ffprobe children alive now, and the two guards that keep them from
/// outliving the worker. Thread-safe.
///
/// - Normal exit (`exit()` after a shutdown that gave up on running jobs): an `atexit` hook
///   sends SIGKILL to every child still registered here.
/// - `kill -9` of the worker, or a crash, runs no code at all: for that each child is started
///   through util-linux's `setpriv --pdeathsig KILL` (Debian's essential `util-linux`
///   package), which asks the kernel to SIGKILL the child when the thread that spawned it
///   dies. That thread is the pool thread blocked waiting for this very child, so it lives
///   exactly as long as the child needs it — until the worker process dies. Without `setpriv`
///   children start directly and only the `atexit` hook guards them.
///
/// What is left after a `kill -9`: the job's row stays `processing` until its lease runs out;
/// the next worker then queues it again, and that run deletes the hidden `.tmp` files the
/// killed ffmpeg left in `OUTPUT_DIR/<job id>/` before it starts.
public enum MediaChildren {
    private static let live = Mutex<Set<Int32>>([])
    private static let hookInstalled = Atomic<Bool>(false)

    /// `/usr/bin/setpriv` (or the first on `path`) when present: the launcher that sets the
    /// parent-death signal for the child it executes.
    public static func deathSignalLauncher(path: String) -> String? {
        let candidates = ["/usr/bin/setpriv", "/bin/setpriv"] + path.split(separator: ":").map { "\($0)/setpriv" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Records a child just started. Installs the exit hook on first use.
    static func register(_ pid: Int32) {
        if !hookInstalled.exchange(true, ordering: .sequentiallyConsistent) {
            atexit { MediaChildren.killAll() }
        }
        _ = live.withLock { $0.insert(pid) }
    }

    /// Forgets a child once it has been reaped.
    static func unregister(_ pid: Int32) {
        _ = live.withLock { $0.remove(pid) }
    }

    /// The process ids of children alive now.
    public static var pids: Set<Int32> { live.withLock { $0 } }

    /// Sends SIGKILL to every registered child. Runs at `exit()`.
    static func killAll() {
        for pid in live.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}
