import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process-wide set-up that the server needs before it accepts connections.
enum ProcessLimits {
    /// Raises the soft open-file limit to the hard limit: 2,000 concurrent bench connections need 2,000+ sockets,
    /// and many systems start with a soft limit of 1,024.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }

    #if canImport(Glibc)
        private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
    #endif

    /// Makes SIGINT and SIGTERM exit the process immediately with status 0.
    ///
    /// Why not a graceful shutdown: a `hang` request may be held for an hour, and a graceful shutdown would wait for
    /// it. The mock keeps nothing worth flushing. Keep the returned sources alive for as long as the handlers
    /// should stay installed.
    static func exitOnTerminationSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { exit(0) }
            source.resume()
            return source
        }
    }
}
