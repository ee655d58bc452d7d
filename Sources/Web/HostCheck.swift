/// Which `Host` headers the dashboard answers: the address it is bound to, `localhost`, and
/// (bound to a wildcard) IP literals and the names in `WEB_ALLOWED_HOSTS`.
///
/// This is what stops DNS rebinding: a page on `evil.example` whose name is re-pointed at
/// 127.0.0.1 can reach the port, but its requests carry `Host: evil.example:5001` and are
/// refused before anything is read or changed. An IP literal cannot be re-pointed, so it is
/// safe to accept on a wildcard bind.
struct HostCheck: Sendable {
    let address: WebAddress
    let allowedNames: [String]

    init(address: WebAddress, allowedNames: [String] = []) {
        self.address = address
        self.allowedNames = allowedNames.map { $0.lowercased() }
    }

    /// True when `authority` (the Host header, `name[:port]`) names this server on `port`.
    func allows(_ authority: String?, port: Int) -> Bool {
        guard let authority, let (name, givenPort) = Self.split(authority.lowercased()) else { return false }
        guard (givenPort ?? 80) == port else { return false }
        if name == "localhost" || name == address.host.lowercased() { return true }
        if address.isLoopback && (name.hasPrefix("127.") || name == "::1") && Self.isIPLiteral(name) { return true }
        if address.isWildcard && (Self.isIPLiteral(name) || allowedNames.contains(name)) { return true }
        return false
    }

    /// `name` and port of `host[:port]` or `[v6]:port`; nil when malformed.
    static func split(_ authority: String) -> (String, Int?)? {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let name = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            if rest.isEmpty { return (name, nil) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()) else { return nil }
            return (name, port)
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (authority, nil)
        case 2:
            guard let port = Int(parts[1]) else { return nil }
            return (String(parts[0]), port)
        default: return nil
        }
    }

    /// Dotted-quad IPv4 or an IPv6 literal (hex digits and colons).
    static func isIPLiteral(_ name: String) -> Bool {
        if name.contains(":") { return name.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in Int(part).map { (0...255).contains($0) } ?? false }
    }
}
