import Foundation
import Reactor
import Synchronization

/// The one place that writes to `jobs.db`.
///
/// A dedicated thread owns the write connection. Callers on any thread `submit` work items;
/// the thread takes every item waiting at that moment and applies them in one transaction
/// (group commit), then hands replies back to the loop through `EventLoop.execute`.
/// A batch that meets a locked or unwritable database is retried, never dropped.
final class WriterQueue: Sendable {
    /// One unit of work for the writer thread, run inside the batch's transaction.
    /// It must only use the connection it is given.
    struct Item: Sendable {
        let apply: @Sendable (SQLiteConnection) throws -> Void
        /// Runs on the loop after the batch committed.
        let afterCommit: (@Sendable () -> Void)?
    }

    private let state = Mutex<State>(State())
    private let condition = NSCondition()
    private let loop: EventLoop
    private let log: WorkerLog
    private let path: String

    private struct State {
        var items: [Item] = []
        var stopping = false
        var stopped = false
    }

    init(path: String, loop: EventLoop, log: WorkerLog) {
        self.path = path
        self.loop = loop
        self.log = log
    }

    /// Starts the thread, which opens the write connection and migrates the schema; waits for
    /// that and throws if the database cannot be opened. The connection is made on the thread that
    /// owns it and never leaves it.
    func start() throws {
        let opened = Mutex<Result<Void, any Error>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self, path] in
            let connection: SQLiteConnection
            do {
                connection = try SQLiteConnection(path: path, busyTimeout: 5)
                try JobSchema.migrate(connection)
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

    private func run(connection: SQLiteConnection) {
        while true {
            condition.lock()
            while state.withLock({ $0.items.isEmpty && !$0.stopping }) { condition.wait() }
            let (batch, stopping) = state.withLock { state -> ([Item], Bool) in
                let taken = state.items
                state.items.removeAll(keepingCapacity: true)
                return (taken, state.stopping)
            }
            condition.unlock()
            if !batch.isEmpty { write(batch, on: connection) }
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

    /// Applies a batch in one transaction, retrying the whole batch while the database is
    /// locked or unwritable. An item that fails on its own (bad data) is skipped and logged so
    /// it cannot hold the others back forever.
    private func write(_ batch: [Item], on connection: SQLiteConnection) {
        var delay = 0.05
        var reported = false
        while true {
            do {
                // Prepared once and reused (`run`), since every batch and item repeats them.
                try connection.run("BEGIN IMMEDIATE")
                for item in batch {
                    do {
                        try connection.run("SAVEPOINT item")
                        try item.apply(connection)
                        try connection.run("RELEASE item")
                    } catch let error as SQLiteError where !error.isBusy && !error.isStorageFault {
                        try? connection.run("ROLLBACK TO item")
                        try? connection.run("RELEASE item")
                        log.error("a database write was skipped: \(error.message)")
                    }
                }
                try connection.run("COMMIT")
                if reported { log.info("jobs.db is writable again; \(batch.count) delayed writes saved") }
                break
            } catch {
                if connection.inTransaction { try? connection.execute("ROLLBACK") }
                if !reported {
                    log.error("cannot write to jobs.db (\(Self.describe(error))); keeping the writes and retrying")
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
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? SQLiteError else { return "\(error)" }
        if error.isBusy { return "another program holds the database lock: \(error.message)" }
        return error.message
    }
}
