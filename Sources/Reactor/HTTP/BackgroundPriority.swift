import CSpawn
import Glibc

/// Lets the loop thread have a core first: a thread doing the loop's background work (writing
/// downloads to disk) runs at a lower priority (nice 10). With two cores and four download queues
/// copying hundreds of MB/s into the page cache, the loop otherwise spent as long waiting for a
/// core as running, and a timer could fire hundreds of milliseconds late.
///
/// Linux's nice value is per thread. The Dispatch threads that run the download queues are
/// shared with the worker's other background queues, which are no more urgent than the loop.
enum BackgroundPriority {
    static let niceness: Int32 = 10

    /// Marks the threads already lowered, so the cost is one `setpriority` per thread.
    private static let lowered: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Lowers the calling thread's priority, once per thread.
    static func lowerCurrentThread() {
        guard pthread_getspecific(lowered) == nil else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(cspawn_gettid()), niceness)
        _ = pthread_setspecific(lowered, UnsafeRawPointer(bitPattern: 1))
    }
}
