import Foundation

/// Process-wide settings the daemon needs before it starts threads.
enum ProcessSetup {
    static func prepare() {
        // curl runs with NOSIGNAL, so a peer closing a socket would otherwise kill us with
        // SIGPIPE (REACTOR-NOTES.md A.8).
        signal(SIGPIPE, SIG_IGN)
        // Thousands of concurrent transfers need thousands of descriptors: use the hard limit.
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
