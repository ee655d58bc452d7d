#if canImport(Glibc)
    import Glibc
#endif

/// Background threads' niceness: below the worker's loop and writer, so on a busy machine those
/// get a core first. Only for threads of our own, never for Dispatch's shared pool: a lowered
/// pool thread stays lowered for whatever runs on it next (an ffmpeg it spawns inherits it), and
/// without privilege nothing can raise it again.
public enum ThreadPriority {
    public static let lowered: Int32 = 10

    /// Sets the calling thread's nice value to `lowered`. On Linux the nice value belongs to the
    /// thread (setpriority(2) "BUGS"), and `who = 0` names the caller.
    public static func lower() {
        #if os(Linux)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, lowered)
        #endif
    }
}
