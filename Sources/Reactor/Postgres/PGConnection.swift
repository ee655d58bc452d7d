/// One PostgreSQL session driven by the event loop: connect, queries and transactions
/// pipelined back to back, LISTEN/NOTIFY, and a clear end when the connection is lost.
///
/// Nothing here waits: libpq runs non-blocking, its socket is watched by an `IOWatcher`
/// (readable always, writable only while `PQflush` has output left), and completions run on
/// the loop. Work submitted in one loop iteration goes out in one write just before the loop
/// sleeps, so many small writes cost one round trip (see `PGPipeline` for the transaction
/// rules). Completions never run inside the call that submitted the work.
///
/// After a loss (`onDisconnect`) the owner calls `connect` again when it sees fit, with its own
/// back-off (Jobs' `RetryPolicy.delay(afterAttempt:random:)` on a `TimerWatcher` fits);
/// channels passed to `listen` are listened to again on the new session, but notifications
/// sent while disconnected are gone: re-read what they would have announced.
///
/// Host names are resolved inside `PQconnectStartParams`, which blocks the loop while DNS
/// answers: give an IP address, or `localhost` (read from /etc/hosts), or `hostaddr=`.
/// Loop thread only.
public final class PGConnection {
    private enum State {
        case disconnected
        case connecting(LibPQConnection, completion: (Result<Void, PGError>) -> Void)
        case connected(LibPQConnection)
        case closed
    }

    private let loop: EventLoop
    /// Where this connects; its description has no password.
    public let url: PGConnectionURL
    private let connectTimeout: Double
    private var state = State.disconnected
    private let pipeline = PGPipeline()
    /// During a connect the one watcher the current step waits on; once connected, reading.
    private var readWatcher: IOWatcher?
    private var writeWatcher: IOWatcher?
    private var connectTimer: TimerWatcher!
    private var sendScheduled = false
    /// Channels to LISTEN on in every session, in the order first asked for.
    private var channels: [String] = []
    /// "host:port/database as user", for messages; filled in by libpq's defaults once known.
    private var target: String

    /// Each NOTIFY on a channel this session listens to, in the order the server sent them.
    public var onNotification: (_ channel: String, _ payload: String) -> Void = { _, _ in }
    /// The connection was lost (not closed by `close()`); every pending completion has
    /// already been called with a `.connectionLost` error. Call `connect` again to go on, from
    /// here or a timer started here, not from those completions too: a second `connect` while
    /// one is under way is a bug and stops the process.
    public var onDisconnect: (PGError) -> Void = { _ in }

    /// A connection, not yet connected. `connectTimeout` bounds each `connect` in seconds.
    public init(url: PGConnectionURL, loop: EventLoop, connectTimeout: Double = 10) {
        self.loop = loop
        self.url = url
        self.connectTimeout = connectTimeout
        target = url.redactedDescription
        connectTimer = TimerWatcher(loop: loop) { [unowned self] in
            self.failConnect("timed out after \(Self.seconds(connectTimeout)) (is the server reachable there?)")
        }
    }

    /// Reads the URL first; throws a `.connect` error when it is not one libpq accepts.
    public convenience init(url: String, loop: EventLoop, connectTimeout: Double = 10) throws(PGError) {
        self.init(url: try PGConnectionURL(url), loop: loop, connectTimeout: connectTimeout)
    }

    /// True between a successful connect and the loss or close of the session.
    public var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }

    // MARK: Connecting

    /// Starts connecting (`PQconnectStartParams`, then `PQconnectPoll` on each socket event);
    /// `completion` runs on the loop when connected or failed. Work submitted meanwhile waits
    /// and goes out once connected. Only while disconnected: calling it otherwise is a bug.
    public func connect(completion: @escaping (Result<Void, PGError>) -> Void) {
        loop.assertInLoop()
        guard case .disconnected = state else {
            if case .closed = state {
                return later(completion, .failure(PGError(kind: .connect, message: "the connection was closed")))
            }
            preconditionFailure("PGConnection.connect called while connecting or connected")
        }
        guard let connection = LibPQConnection.start(url.options(connectTimeout: nil)) else {
            return later(completion, .failure(PGError(kind: .connect, message: "out of memory", target: target)))
        }
        state = .connecting(connection, completion: completion)
        if connection.isBad {
            // Refused before any I/O (a bad option); still report from the loop, not from here.
            return loop.beforeSleep { [weak self] in self?.failConnect(connection.errorMessage) }
        }
        connectTimer.schedule(after: connectTimeout)
        // libpq's rule: before the first PQconnectPoll, wait until the socket is writable.
        watchConnect(connection, .waitForWrite)
    }

    /// Waits for what the connect step asked for. The socket is read again every step: libpq
    /// opens a new one for each address it tries.
    private func watchConnect(_ connection: LibPQConnection, _ step: LibPQConnection.ConnectStep) {
        let fd = connection.socket
        guard fd >= 0 else { return failConnect(connection.errorMessage) }
        let watcher = IOWatcher(loop: loop, fd: fd, events: step == .waitForRead ? .read : .write) {
            [unowned self] _ in self.connectStep(connection)
        }
        retire(readWatcher)
        readWatcher = watcher
        watcher.start()
    }

    private func connectStep(_ connection: LibPQConnection) {
        guard case .connecting(let current, _) = state, current === connection else { return }
        switch connection.pollConnect() {
        case .waitForRead: watchConnect(connection, .waitForRead)
        case .waitForWrite: watchConnect(connection, .waitForWrite)
        case .failed: failConnect(connection.errorMessage)
        case .connected: becomeConnected(connection)
        }
    }

    private func becomeConnected(_ connection: LibPQConnection) {
        guard case .connecting(_, let completion) = state else { return }
        guard connection.setNonBlocking(), connection.enterPipelineMode() else {
            return failConnect(connection.errorMessage)
        }
        connectTimer.stop()
        target = connection.target
        state = .connected(connection)
        retire(readWatcher)
        readWatcher = IOWatcher(loop: loop, fd: connection.socket, events: .read) { [unowned self] events in
            self.readable(connection, events)
        }
        writeWatcher = IOWatcher(loop: loop, fd: connection.socket, events: .write) { [unowned self] _ in
            self.flushOutput(connection)
        }
        readWatcher?.start()
        for channel in channels.reversed() {
            pipeline.enqueueFirst(PGPipeline.Unit([Self.listenStatement(channel)]) { _ in })
        }
        scheduleSend()
        completion(.success(()))
    }

    private func failConnect(_ libpqMessage: String) {
        guard case .connecting(let connection, let completion) = state else { return }
        let error = url.connectError(libpqMessage, target: connection.target)
        connection.finish()
        stopWatching()
        state = .disconnected
        // Work submitted while connecting never left: fail it with the reason.
        for unit in pipeline.removeAll().waiting { unit.completion(.failure(error)) }
        completion(.failure(error))
    }

    // MARK: Submitting

    /// Runs one statement (`$1…$n` placeholders) in its own transaction; `completion` gets its
    /// rows and affected-row count, or the error.
    public func query(
        _ sql: String, _ params: [SQLiteValue] = [], completion: @escaping (Result<PGQueryResult, PGError>) -> Void
    ) {
        submit([PGStatement(sql, params)]) { result in completion(result.map { $0.first ?? PGQueryResult() }) }
    }

    /// Runs `statements` as one transaction, pipelined: all are sent at once with one sync,
    /// with no round trip between them. `completion` gets every statement's result in order,
    /// or the first error, in which case none of them took effect. No BEGIN, COMMIT or
    /// ROLLBACK inside (see `PGPipeline`), and no statement that refuses to run in a
    /// transaction (VACUUM, CREATE DATABASE).
    public func transaction(
        _ statements: [PGStatement], completion: @escaping (Result<[PGQueryResult], PGError>) -> Void
    ) {
        submit(statements, completion: completion)
    }

    /// `transaction(_:completion:)` with statements as (sql, params) pairs.
    public func transaction(
        _ statements: [(sql: String, params: [SQLiteValue])],
        completion: @escaping (Result<[PGQueryResult], PGError>) -> Void
    ) {
        submit(statements.map { PGStatement($0.sql, $0.params) }, completion: completion)
    }

    /// Listens to `channel` (quoted, so any name is safe) in this session and every later one.
    public func listen(_ channel: String, completion: @escaping (Result<Void, PGError>) -> Void = { _ in }) {
        loop.assertInLoop()
        if !channels.contains(channel) { channels.append(channel) }
        submit([Self.listenStatement(channel)]) { [weak self] result in
            if case .failure(let error) = result, error.kind == .query { self?.channels.removeAll { $0 == channel } }
            completion(result.map { _ in () })
        }
    }

    private static func listenStatement(_ channel: String) -> PGStatement {
        PGStatement("LISTEN " + PGStatement.quotedIdentifier(channel))
    }

    private func submit(_ statements: [PGStatement], completion: @escaping (Result<[PGQueryResult], PGError>) -> Void) {
        loop.assertInLoop()
        if let problem = statements.lazy.compactMap(\.problem).first {
            return later(completion, .failure(PGError(kind: .query, message: "not sent: \(problem)", target: target)))
        }
        if statements.isEmpty { return later(completion, .success([])) }
        switch state {
        case .disconnected, .closed:
            let error = PGError(kind: .connectionLost, message: "not connected", target: target)
            later(completion, .failure(error))
        case .connecting:
            pipeline.enqueue(PGPipeline.Unit(statements, completion: completion))
        case .connected:
            pipeline.enqueue(PGPipeline.Unit(statements, completion: completion))
            scheduleSend()
        }
    }

    /// Sends once per loop iteration, after its callbacks: everything they submitted shares
    /// one write and, usually, one round trip.
    private func scheduleSend() {
        guard !sendScheduled else { return }
        sendScheduled = true
        loop.beforeSleep { [weak self] in
            guard let self else { return }
            sendScheduled = false
            guard case .connected(let connection) = state else { return }
            guard pipeline.sendWaiting(through: connection) else { return lose(connection.errorMessage) }
            flushOutput(connection)
        }
    }

    // MARK: Socket events

    /// Writes what libpq holds; watches for writability only while some is left (`PQflush` 1).
    private func flushOutput(_ connection: LibPQConnection) {
        guard case .connected(let current) = state, current === connection else { return }
        switch connection.flush() {
        case .done: writeWatcher?.stop()
        case .pending: writeWatcher?.start()
        case .failed: lose(connection.errorMessage)
        }
    }

    private func readable(_ connection: LibPQConnection, _ events: IOWatcher.Events) {
        guard case .connected(let current) = state, current === connection else { return }
        if events.contains(.error) { return lose("the socket failed") }
        guard connection.consumeInput() else { return lose(connection.errorMessage) }
        deliverNotifications(connection)
        while case .connected(let current) = state, current === connection {
            switch pipeline.readNext(from: connection, target: target) {
            case .needInput:
                deliverNotifications(connection)
                // libpq may hold output that waited for this read (PQflush's rule).
                if writeWatcher?.isActive == true { flushOutput(connection) }
                return
            case .ended(let error):
                return lose(error.message, sqlState: error.sqlState)
            case .finished(let finished):
                finished.unit.completion(finished.result)
            }
        }
    }

    private func deliverNotifications(_ connection: LibPQConnection) {
        for notification in connection.takeNotifications() {
            guard case .connected(let current) = state, current === connection else { return }
            onNotification(notification.channel, notification.payload)
        }
    }

    // MARK: Ending

    /// The session broke: fail everything pending, sent work as outcome unknown, then tell the owner.
    private func lose(_ libpqMessage: String, sqlState: String? = nil) {
        guard case .connected(let connection) = state else { return }
        connection.finish()
        stopWatching()
        state = .disconnected
        let error = PGError(
            kind: .connectionLost, message: url.scrub(LibPQResult.oneLine(libpqMessage)), sqlState: sqlState,
            target: target)
        failAll(error)
        onDisconnect(error)
    }

    /// Ends the session for good: pending completions get a `.connectionLost` error (sent work
    /// as outcome unknown), `onDisconnect` is not called, and `connect` no longer works.
    public func close() {
        loop.assertInLoop()
        let error = PGError(kind: .connectionLost, message: "the connection was closed", target: target)
        switch state {
        case .closed: return
        case .disconnected: break
        case .connected(let connection): connection.finish()
        case .connecting(let connection, let completion):
            connection.finish()
            completion(.failure(PGError(kind: .connect, message: "the connection was closed", target: target)))
        }
        stopWatching()
        state = .closed
        failAll(error)
    }

    private func failAll(_ error: PGError) {
        let (sent, waiting) = pipeline.removeAll()
        var unknown = error
        unknown.outcomeUnknown = true
        for unit in sent { unit.completion(.failure(unknown)) }
        for unit in waiting { unit.completion(.failure(error)) }
    }

    private func stopWatching() {
        connectTimer.stop()
        retire(readWatcher)
        retire(writeWatcher)
        readWatcher = nil
        writeWatcher = nil
    }

    /// Stops a watcher but frees it only after this iteration: we are often inside its own
    /// callback, and the watcher must outlive the call that libev is making through it.
    private func retire(_ watcher: IOWatcher?) {
        guard let watcher else { return }
        watcher.stop()
        loop.beforeSleep { withExtendedLifetime(watcher) {} }
    }

    /// Calls `completion` after the current callback, never inside the caller's own call.
    private func later<T>(_ completion: @escaping (Result<T, PGError>) -> Void, _ result: Result<T, PGError>) {
        loop.beforeSleep { completion(result) }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}

@available(*, unavailable, message: "a PostgreSQL connection belongs to its loop's thread")
extension PGConnection: Sendable {}
