import Foundation
import Reactor
import Synchronization

/// The one place that writes to the job store (`jobs.db`, or PostgreSQL).
///
/// A dedicated thread owns the write connection. Callers on any thread `submit` work items;
/// the thread takes every item waiting at that moment and applies them in one transaction
/// (group commit), then hands replies back to the loop through `EventLoop.execute`.
/// A batch that meets a locked or unwritable database, or a lost connection, is retried (on a new
/// connection when the old one is gone), never dropped.
final class WriterQueue: Sendable {
    /// One unit of work for the writer thread, run inside the batch's transaction.
    /// It must only use the connection it is given.
    struct Item: Sendable {
        let apply: @Sendable (any SQLConnection) throws -> Void
        /// Runs on the loop after the batch committed.
        let afterCommit: (@Sendable () -> Void)?
        /// The same work as parts that may fail on their own (several rows written as one
        /// statement): when the batch must isolate a failing write, each part is tried alone.
        var pieces: [@Sendable (any SQLConnection) throws -> Void]? = nil
    }

    private let state = Mutex<State>(State())
    private let condition = NSCondition()
    private let loop: EventLoop
    private let log: WorkerLog
    /// "jobs.db", "PostgreSQL at host:port/db": how the log names the store.
    private let storeName: String
    /// Opens the write connection and brings the schema up to date; on the writer thread.
    private let open: @Sendable () throws -> any SQLConnection

    private struct State {
        var items: [Item] = []
        var stopping = false
        var stopped = false
    }

    init(
        storeName: String, loop: EventLoop, log: WorkerLog, open: @escaping @Sendable () throws -> any SQLConnection
    ) {
        self.storeName = storeName
        self.open = open
        self.loop = loop
        self.log = log
    }

    /// Starts the thread, which opens the write connection and migrates the schema; waits for
    /// that and throws if the database cannot be opened. The connection is made on the thread that
    /// owns it and never leaves it.
    func start() throws {
        let opened = Mutex<Result<Void, any Error>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            let connection: any SQLConnection
            do {
                connection = try open()
            } catch {
                opened.withLock { $0 = .failure(error) }
                ready.signal()
                return
            }
            opened.withLock { $0 = .success(()) }
            ready.signal()
            run(connection: connection)
        }
        thread.name = "jobs-writer"
        thread.start()
        ready.wait()
        try opened.withLock { $0 }?.get()
    }

    /// Queues an item. Safe from any thread.
    func submit(_ item: Item) {
        submit([item])
    }

    /// Queues items so that they land in the same transaction. Safe from any thread.
    func submit(_ items: [Item]) {
        guard !items.isEmpty else { return }
        condition.lock()
        state.withLock { $0.items.append(contentsOf: items) }
        condition.signal()
        condition.unlock()
    }

    /// Writes what is queued, then ends the thread; `done` runs on the loop afterwards.
    func stop(done: @escaping @Sendable () -> Void) {
        submit(Item(apply: { _ in }, afterCommit: nil))
        condition.lock()
        state.withLock { $0.stopping = true }
        condition.signal()
        condition.unlock()
        Thread.detachNewThread { [self] in
            condition.lock()
            while !state.withLock({ $0.stopped }) { condition.wait() }
            condition.unlock()
            loop.execute(done)
        }
    }

    private func run(connection first: any SQLConnection) {
        var connection = first
        while true {
            condition.lock()
            while state.withLock({ $0.items.isEmpty && !$0.stopping }) { condition.wait() }
            let (batch, stopping) = state.withLock { state -> ([Item], Bool) in
                let taken = state.items
                state.items.removeAll(keepingCapacity: true)
                return (taken, state.stopping)
            }
            condition.unlock()
            if !batch.isEmpty { connection = write(batch, on: connection) }
            if stopping && state.withLock({ $0.items.isEmpty }) {
                connection.close()
                condition.lock()
                state.withLock { $0.stopped = true }
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    /// Applies a batch in one transaction, retrying the whole batch while the store is locked,
    /// unwritable or unreachable. An item that fails on its own (bad data) is skipped and logged so
    /// it cannot hold the others back forever. Returns the connection to go on with (a new one
    /// after the old was lost).
    ///
    /// The batch first runs as it is, without a savepoint per item: on PostgreSQL each savepoint is
    /// two more round trips the writer waits for. Only when an item fails on its own is the batch
    /// rolled back and run again with each item (and each of its `pieces`) in a savepoint of its
    /// own, so that the failing one alone is skipped.
    private func write(_ batch: [Item], on first: any SQLConnection) -> any SQLConnection {
        var connection: (any SQLConnection)? = first
        var delay = 0.05
        var reported = false
        var isolating = false
        while true {
            do {
                let current = try connection ?? open()
                connection = current
                // Prepared once and reused (`run`), since every batch and item repeats them.
                try current.run(current.dialect.beginWrite, [])
                for item in batch {
                    if isolating {
                        for piece in item.pieces ?? [item.apply] { try applyAlone(piece, on: current) }
                    } else {
                        try item.apply(current)
                    }
                }
                try current.run("COMMIT", [])
                if reported { log.info("\(storeName) is writable again; \(batch.count) delayed writes saved") }
                break
            } catch let failure as any SQLFailure where !failure.passesOnRetry && !isolating {
                // One item's own failure: undo the batch and run it again, isolating each item.
                if let current = connection, current.inTransaction { try? current.execute("ROLLBACK") }
                isolating = true
            } catch {
                if let failure = error as? any SQLFailure, failure.connectionLost {
                    connection?.close()
                    connection = nil
                } else if let current = connection, current.inTransaction {
                    try? current.execute("ROLLBACK")
                }
                if !reported {
                    log.error(
                        "cannot write to \(storeName) (\(Self.describe(error))); keeping the writes and retrying")
                    reported = true
                }
                Thread.sleep(forTimeInterval: delay)  // The writer thread, never the loop.
                delay = min(delay * 2, 2)
            }
        }
        let replies = batch.compactMap(\.afterCommit)
        if !replies.isEmpty {
            loop.execute { for reply in replies { reply() } }
        }
        return connection!
    }

    /// Applies one item (or piece) in a savepoint; a failure of its own is logged and undone.
    private func applyAlone(_ apply: (any SQLConnection) throws -> Void, on connection: any SQLConnection) throws {
        do {
            try connection.run("SAVEPOINT item", [])
            try apply(connection)
            try connection.run("RELEASE SAVEPOINT item", [])
        } catch let error as any SQLFailure where !error.passesOnRetry {
            try? connection.run("ROLLBACK TO SAVEPOINT item", [])
            try? connection.run("RELEASE SAVEPOINT item", [])
            log.error("a database write was skipped: \(error.explanation)")
        }
    }

    private static func describe(_ error: any Error) -> String {
        (error as? any SQLFailure)?.explanation ?? "\(error)"
    }
}
