import CLibPQ
import Foundation

/// The one Swift type that holds a libpq `PGconn *`. Everything above it (`PGConnection`,
/// `PGBlockingConnection`) sees Swift values only: booleans, strings, decoded results.
///
/// Not thread-safe, as libpq's connection is not: the owner keeps it on one thread. After
/// `finish()` every call is a harmless failure, so a callback that closed the connection
/// while a read loop was still using it cannot reach freed memory.
final class LibPQConnection {
    private var raw: OpaquePointer?

    private init(raw: OpaquePointer) {
        self.raw = raw
        // libpq prints NOTICEs ("relation … already exists, skipping") to stderr by default;
        // a daemon's stderr is its log, and a notice is never an error we must act on.
        PQsetNoticeProcessor(raw, { _, _ in }, nil)
    }

    deinit { finish() }

    /// Starts a non-blocking connect (`PQconnectStartParams`). The first step is to wait
    /// until the socket is writable, then call `pollConnect()`. Nil only when out of memory.
    static func start(_ options: [(String, String)]) -> LibPQConnection? {
        withOptions(options) { keywords, values in PQconnectStartParams(keywords, values, 1) }.map(Self.init)
    }

    /// Connects and waits (`PQconnectdbParams`): for one-shot tools, never on the loop.
    static func connectBlocking(_ options: [(String, String)]) -> LibPQConnection? {
        withOptions(options) { keywords, values in PQconnectdbParams(keywords, values, 1) }.map(Self.init)
    }

    /// libpq's own parse of a URL or `key=value` string: the options it holds, or libpq's
    /// complaint (which may quote the string, password included: callers scrub it).
    static func parseOptions(_ connectionString: String) -> Result<[String: String], LibPQParseFailure> {
        var failure: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &failure) else {
            let message = failure.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(failure)
            return .failure(LibPQParseFailure(message: message))
        }
        defer { PQconninfoFree(options) }
        var found: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { found[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return .success(found)
    }

    /// Builds the NULL-terminated keyword and value arrays libpq wants, valid during `body`.
    private static func withOptions(
        _ options: [(String, String)],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> OpaquePointer?
    ) -> OpaquePointer? {
        let keywords = options.map { UnsafePointer(strdup($0.0)) } + [nil]
        let values = options.map { UnsafePointer(strdup($0.1)) } + [nil]
        defer { for pointer in keywords + values { free(UnsafeMutableRawPointer(mutating: pointer)) } }
        return body(keywords, values)
    }

    /// Closes the socket and frees the connection; later calls fail harmlessly.
    func finish() {
        if let raw { PQfinish(raw) }
        raw = nil
    }

    // MARK: State

    /// What `PQconnectPoll` asks for next.
    enum ConnectStep { case waitForRead, waitForWrite, connected, failed }

    func pollConnect() -> ConnectStep {
        guard let raw else { return .failed }
        switch PQconnectPoll(raw) {
        case PGRES_POLLING_READING: return .waitForRead
        case PGRES_POLLING_WRITING: return .waitForWrite
        case PGRES_POLLING_OK: return .connected
        default: return .failed
        }
    }

    /// False after `finish()`.
    var isOpen: Bool { raw != nil }

    /// True once libpq has given the connection up (`CONNECTION_BAD`), or after `finish()`.
    var isBad: Bool { raw.map { PQstatus($0) == CONNECTION_BAD } ?? true }

    /// The socket, which may change during a connect (libpq tries address after address); -1 if none.
    var socket: Int32 { raw.map { PQsocket($0) } ?? -1 }

    /// libpq's last error text, as it wrote it (several lines, with its own prefixes).
    var errorMessage: String { raw.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "connection closed" }

    /// Where the connection goes or went, defaults filled in: "127.0.0.1:5433/jobs as worker".
    var target: String {
        guard let raw else { return "PostgreSQL" }
        func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "" }
        return "\(text(PQhost(raw))):\(text(PQport(raw)))/\(text(PQdb(raw))) as \(text(PQuser(raw)))"
    }

    /// Makes sends and flushes return at once instead of waiting for the socket.
    func setNonBlocking() -> Bool { raw.map { PQsetnonblocking($0, 1) == 0 } ?? false }

    func enterPipelineMode() -> Bool { raw.map { PQenterPipelineMode($0) == 1 } ?? false }

    // MARK: Sending and receiving

    /// Queues one statement (`PQsendQueryParams`, text results); false when libpq refused it.
    func send(_ statement: PGStatement) -> Bool {
        guard let raw else { return false }
        return LibPQParameters(statement.params).withArrays { count, types, values, lengths, formats in
            PQsendQueryParams(raw, statement.sql, count, types, values, lengths, formats, 0) == 1
        }
    }

    /// Marks the end of a unit in the pipeline (`PQpipelineSync`): the server commits what
    /// came since the last sync, or skips the rest after an error, and reports a sync result.
    func pipelineSync() -> Bool { raw.map { PQpipelineSync($0) == 1 } ?? false }

    /// What `PQflush` left: everything sent, some still queued (wait for writability), or failure.
    enum FlushState { case done, pending, failed }

    func flush() -> FlushState {
        guard let raw else { return .failed }
        switch PQflush(raw) {
        case 0: return .done
        case 1: return .pending
        default: return .failed
        }
    }

    /// Reads what the socket has (`PQconsumeInput`); false when the connection broke.
    func consumeInput() -> Bool { raw.map { PQconsumeInput($0) == 1 } ?? false }

    /// True while the next result is not complete yet, so `nextResult()` would wait.
    var isBusy: Bool { raw.map { PQisBusy($0) == 1 } ?? false }

    /// The next result, decoded and freed; nil at the end of one statement's results.
    func nextResult() -> LibPQResult? {
        guard let raw, let result = PQgetResult(raw) else { return nil }
        defer { PQclear(result) }
        return LibPQResult(result)
    }

    /// The notifications that arrived with the last read (`PQnotifies`), oldest first.
    func takeNotifications() -> [(channel: String, payload: String)] {
        guard let raw else { return [] }
        var found: [(channel: String, payload: String)] = []
        while let notification = PQnotifies(raw) {
            found.append((String(cString: notification.pointee.relname), String(cString: notification.pointee.extra)))
            PQfreemem(notification)
        }
        return found
    }

    // MARK: Blocking use

    /// Runs one statement and waits (`PQexecParams`). Not in pipeline mode; not on the loop.
    func executeWaiting(_ statement: PGStatement) -> LibPQResult? {
        guard let raw else { return nil }
        let result = LibPQParameters(statement.params).withArrays { count, types, values, lengths, formats in
            PQexecParams(raw, statement.sql, count, types, values, lengths, formats, 0)
        }
        guard let result else { return nil }
        defer { PQclear(result) }
        return LibPQResult(result)
    }

    /// Prepares `statement` as `name` (`PQprepare`, with its parameters' types) and waits:
    /// `.completed` when it was prepared.
    func prepareWaiting(_ statement: PGStatement, name: String) -> LibPQResult? {
        guard let raw else { return nil }
        let result = LibPQParameters(statement.params).withArrays { count, types, _, _, _ in
            PQprepare(raw, name, statement.sql, count, types)
        }
        guard let result else { return nil }
        defer { PQclear(result) }
        return LibPQResult(result)
    }

    /// Runs the statement prepared as `name` with `params` (`PQexecPrepared`) and waits.
    func executePreparedWaiting(name: String, _ params: [SQLiteValue]) -> LibPQResult? {
        guard let raw else { return nil }
        let result = LibPQParameters(params).withArrays { count, _, values, lengths, formats in
            PQexecPrepared(raw, name, count, values, lengths, formats, 0)
        }
        guard let result else { return nil }
        defer { PQclear(result) }
        return LibPQResult(result)
    }

    /// Runs text that may hold several statements (`PQexec`) and waits; the last result.
    func executeScriptWaiting(_ sql: String) -> LibPQResult? {
        guard let raw, let result = PQexec(raw, sql) else { return nil }
        defer { PQclear(result) }
        return LibPQResult(result)
    }
}

/// libpq could not read a connection string; `message` may quote it.
struct LibPQParseFailure: Error {
    let message: String
}
