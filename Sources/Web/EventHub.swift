import Foundation
import Hummingbird
import JSON
import Jobs
import Reactor
import Synchronization

/// The live updates behind `GET /api/events`: one reader polls `jobs.db` for every open page
/// together, and each page gets the same bytes.
///
/// Every 0.5 s, while at least one page listens, it asks SQLite whether anything committed
/// (`PRAGMA data_version`, no table read); only then does it read what changed
/// (`JobChangeFeed`) and send a `jobs` event. At most once a second when something committed
/// (every 10 s otherwise, for heartbeat ages), and at once for a new page, it sends a `stats`
/// event (the header and the chart). So 50 pages cost what one costs, plus 50 socket writes. A page that stops reading is never waited for: its queue holds 32 events, and when
/// that overflows the page is disconnected (its EventSource reconnects and reloads).
final class EventHub: Sendable {
    /// One reading thread's connection and the feed's memory of what it sent.
    final class Poller {
        let connection: any SQLConnection
        let feed: JobChangeFeed
        var lastVersion: Int64 = -1
        var lastStats: Double = 0
        var statsVersion: Int64 = -2

        init(store: JobStoreLocation) throws {
            connection = try OperationsDatabase.open(store, readOnly: true)
            feed = try JobChangeFeed(connection: connection)
        }
    }

    private struct Listeners {
        var streams: [Int: AsyncStream<ByteBuffer>.Continuation] = [:]
        var nextID = 0
        var polling = false
        var statsWanted = true
        var lastStats: ByteBuffer?
        var lastPing = Date()
    }

    static let maxListeners = 256
    static let tick: Duration = .milliseconds(500)

    private let listeners = Mutex(Listeners())
    private let poller: DatabaseThreads<Poller>
    private let presenter: JobJSON
    private let budgets: DailyBudgets

    init(store: JobStoreLocation, presenter: JobJSON, budgets: DailyBudgets) {
        self.presenter = presenter
        self.budgets = budgets
        poller = DatabaseThreads(count: 1, name: "web-events", lowPriority: true) { try Poller(store: store) }
    }

    /// A new listener's stream, or nil when too many are open. The stream ends when the
    /// listener falls too far behind; call `leave` when the connection ends.
    func join() -> (id: Int, events: AsyncStream<ByteBuffer>)? {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(32))
        let joined: (id: Int, startPolling: Bool)? = listeners.withLock { state in
            guard state.streams.count < Self.maxListeners else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.streams[id] = continuation
            state.statsWanted = true
            if let stats = state.lastStats { continuation.yield(stats) }
            let start = !state.polling
            state.polling = true
            return (id, start)
        }
        guard let joined else { return nil }
        if joined.startPolling { Task.detached { [self] in await self.poll() } }
        return (joined.id, stream)
    }

    func leave(_ id: Int) {
        listeners.withLock { $0.streams.removeValue(forKey: id) }?.finish()
    }

    var listenerCount: Int { listeners.withLock { $0.streams.count } }

    /// Runs while anyone listens; the last one leaving ends it at the next tick.
    private func poll() async {
        while true {
            let wantsStats = listeners.withLock { state in state.statsWanted }
            let presenter = presenter
            let budgets = budgets
            let events = try? await poller.run { poller in
                try Self.read(poller, presenter: presenter, budgets: budgets, stats: wantsStats)
            }
            let keepGoing = listeners.withLock { state -> Bool in
                if let events {
                    if events.stats != nil { state.statsWanted = false }
                    if let stats = events.stats { state.lastStats = stats }
                    for chunk in [events.jobs, events.stats].compactMap({ $0 }) { Self.send(chunk, to: &state) }
                }
                if Date().timeIntervalSince(state.lastPing) > 15 {
                    state.lastPing = Date()
                    Self.send(ByteBuffer(string: ": ping\n\n"), to: &state)
                }
                if state.streams.isEmpty { state.polling = false }
                return !state.streams.isEmpty
            }
            guard keepGoing else { return }
            try? await Task.sleep(for: Self.tick)
        }
    }

    /// Sends to everyone; a listener whose queue is full is dropped (`bufferingNewest` said so).
    private static func send(_ chunk: ByteBuffer, to state: inout Listeners) {
        for (id, stream) in state.streams {
            if case .dropped = stream.yield(chunk) {
                stream.finish()
                state.streams[id] = nil
            }
        }
    }

    /// One tick on the poller's thread: the changed jobs (when anything committed) and, when
    /// due, the stats, each already an SSE frame.
    private static func read(_ poller: Poller, presenter: JobJSON, budgets: DailyBudgets, stats wanted: Bool) throws
        -> (
            jobs: ByteBuffer?, stats: ByteBuffer?
        )
    {
        let now = Date().timeIntervalSince1970
        let version = try poller.feed.dataVersion()
        var jobs: ByteBuffer?
        if version != poller.lastVersion {
            poller.lastVersion = version
            let batch = try poller.feed.next()
            if batch.resync || !batch.jobs.isEmpty {
                let payload: JSONValue = [
                    "jobs": .array(batch.jobs.map { presenter.live($0, now: now) }), "resync": .bool(batch.resync),
                ]
                jobs = frame("jobs", payload)
            }
        }
        var stats: ByteBuffer?
        if wanted || (now - poller.lastStats >= 1 && version != poller.statsVersion) || now - poller.lastStats >= 10 {
            poller.lastStats = now
            poller.statsVersion = version
            stats = frame("stats", try DashboardStats.read(poller.connection, now: now, budgets: budgets).json)
        }
        return (jobs, stats)
    }

    static func frame(_ event: String, _ payload: JSONValue) -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: \(event)\ndata: ")
        buffer.writeBytes(payload.jsonBytes())
        buffer.writeString("\n\n")
        return buffer
    }
}
