import Foundation

/// Who holds a lease: "host:pid:start-time". Lets a restarted worker tell that rows held by
/// a process on this host that no longer exists were abandoned (after `kill -9`).
public enum WorkerIdentity {
    public static func current() -> String {
        "\(host):\(getpid()):\(Int(Date().timeIntervalSince1970))"
    }

    /// This machine's name as identities carry it (":" would split them wrongly).
    public static var host: String { ProcessInfo.processInfo.hostName.replacingOccurrences(of: ":", with: "_") }

    /// True when `owner` names a process on `host` that is not running any more.
    static func isDeadLocalOwner(_ owner: String, host: String) -> Bool {
        let parts = owner.split(separator: ":")
        guard parts.count >= 2, String(parts[0]) == host, let pid = Int32(parts[1]), pid > 0 else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
