/// What a PostgreSQL failure means for the store's writer (`SQLFailure`).
extension PGError: SQLFailure {
    /// Lost or refused connections, a server shutting down or starting up, too many connections,
    /// serialisation failures and deadlocks pass if the batch is tried again; anything else the
    /// server refused is the statement's own.
    public var passesOnRetry: Bool {
        switch kind {
        case .connect, .connectionLost: return true
        case .query:
            guard let state = sqlState else { return false }
            return state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") || state == "40001"
                || state == "40P01" || state == "55P03" || state == "25006"
        }
    }

    public var connectionLost: Bool {
        switch kind {
        case .connect, .connectionLost: true
        case .query: sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57P") } ?? false
        }
    }

    public var explanation: String { description }

    /// A connect failure that waiting may cure (the server is down, starting, or unreachable), as
    /// opposed to one that needs the user (a wrong password, role or database).
    public var serverUnreachable: Bool {
        guard kind == .connect || kind == .connectionLost else { return false }
        let words = message.lowercased()
        let needsTheUser = ["password", "authentication", "does not exist", "pg_hba", "permission denied", "invalid"]
        return !needsTheUser.contains { words.contains($0) }
    }
}
