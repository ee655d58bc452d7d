import Foundation

/// A PostgreSQL connection URL (`postgres://user:password@host:port/database?option=…`) or
/// libpq `key=value` string, read by libpq itself, so every libpq option works.
///
/// Its `description` never shows the password: `postgres://worker@127.0.0.1:5433/jobs`. Log
/// that, never the string given.
public struct PGConnectionURL: Sendable, CustomStringConvertible {
    /// The string as given, password and all: only for handing to libpq.
    let string: String
    /// The host (or socket folder) named, nil for libpq's default (the local socket).
    public let host: String?
    public let port: String?
    public let database: String?
    public let user: String?
    /// What to take out of any text libpq writes about this string.
    private let secrets: [String]

    /// Reads `string`; throws a `.connect` error that quotes it without its password.
    public init(_ string: String) throws(PGError) {
        self.string = string
        secrets = Self.secrets(in: string)
        switch LibPQConnection.parseOptions(string) {
        case .success(let options):
            host = options["host"] ?? options["hostaddr"]
            port = options["port"]
            database = options["dbname"]
            user = options["user"]
        case .failure(let failure):
            throw PGError(
                kind: .connect,
                message: "the connection URL \(Self.redactedByHand(string)) is not valid: "
                    + Self.scrub(LibPQResult.oneLine(failure.message), secrets))
        }
    }

    /// `postgres://user@host:port/database`: where it connects, without password or options.
    public var redactedDescription: String {
        var text = "postgres://"
        if let user { text += user + "@" }
        text += host ?? "localhost"
        if let port { text += ":" + port }
        return text + "/" + (database ?? user ?? "")
    }

    public var description: String { redactedDescription }

    /// The same for a string that may not even parse: the password and options dropped by
    /// hand. Safe to log whatever the string holds.
    public static func redactedDescription(of string: String) -> String {
        if let url = try? PGConnectionURL(string) { return url.redactedDescription }
        return redactedByHand(string)
    }

    private static func redactedByHand(_ string: String) -> String {
        guard let schemeEnd = string.range(of: "://") else { return "(a connection string libpq cannot read)" }
        var rest = string[schemeEnd.upperBound...]
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let userInfo = rest[..<at]
            let user = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            rest = user + rest[at...]
        }
        return String(string[..<schemeEnd.upperBound] + rest)
    }

    /// Keyword/value pairs for libpq. The URL expands in place of `dbname` and overrides what
    /// comes before it (a URL's own `connect_timeout` wins); `client_encoding` comes after, so
    /// text is always UTF-8, which is how results are decoded.
    func options(connectTimeout: Double?) -> [(String, String)] {
        var options: [(String, String)] = []
        if let connectTimeout { options.append(("connect_timeout", String(max(2, Int(connectTimeout.rounded(.up)))))) }
        options.append(("fallback_application_name", "reactor-worker"))
        options.append(("dbname", string))
        options.append(("client_encoding", "UTF8"))
        return options
    }

    /// A connect failure in one line for a person: libpq's reason without its prefixes, the
    /// server named as "host:port/database as user", the password scrubbed out.
    func connectError(_ libpqMessage: String, target: String) -> PGError {
        // "connection to server at "127.0.0.1", port 5433 failed: FATAL:  password …": the
        // server is named in `target` already.
        let lines = libpqMessage.split(whereSeparator: \.isNewline).map { line in
            guard line.hasPrefix("connection to server"), let failed = line.range(of: "failed: ") else {
                return line
            }
            return line[failed.upperBound...]
        }
        let message = LibPQResult.oneLine(lines.joined(separator: "\n"))
        return PGError(
            kind: .connect, message: message.isEmpty ? "libpq gave no reason" : scrub(message), target: scrub(target))
    }

    /// `text` with the password (as written and percent-decoded) replaced by "***".
    func scrub(_ text: String) -> String { Self.scrub(text, secrets) }

    private static func scrub(_ text: String, _ secrets: [String]) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }

    /// Every password-like value in `string`: the URL's user-info password and any
    /// `password=` option, in the forms libpq might echo.
    private static func secrets(in string: String) -> [String] {
        var found: [String] = []
        if let schemeEnd = string.range(of: "://") {
            let rest = string[schemeEnd.upperBound...]
            let authority = rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex)]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                found.append(String(authority[authority.index(after: colon)..<at]))
            }
        }
        for match in string.matches(of: /password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)/) {
            let value = String(match.output.1)
            found.append(value)
            if value.hasPrefix("'") && value.count >= 2 { found.append(String(value.dropFirst().dropLast())) }
        }
        let decoded = found.compactMap { $0.removingPercentEncoding }
        // Longest first, so a password that contains another is replaced whole.
        return Set(found + decoded).filter { !$0.isEmpty }.sorted { $0.count > $1.count }
    }
}
