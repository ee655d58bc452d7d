import Foundation
import Jobs
import Reactor

/// The web side's way into `jobs.db`: reads on two low-priority threads with read-only
/// connections of their own, writes on one thread the way the command line makes them
/// (`JobEnqueuer`, `JobControl`), each write followed by the worker's wake-up. Nothing here
/// touches the worker's connection or its loop.
final class WebDatabase: Sendable {
    /// One reading thread's connection and the search over it.
    final class Reader {
        let connection: any SQLConnection
        let search: JobSearch

        init(store: JobStoreLocation) throws {
            connection = try OperationsDatabase.open(store, readOnly: true)
            search = try JobSearch(connection: connection)
        }
    }

    let store: JobStoreLocation
    private let readers: DatabaseThreads<Reader>
    private let writer: DatabaseThreads<JobControl>
    private let wake: @Sendable () -> Void

    /// `wake` tells the worker something changed (in `run`: the loop's change hint; in `web`
    /// alone: nothing, the worker elsewhere sees the database file change).
    init(store: JobStoreLocation, wake: @escaping @Sendable () -> Void) {
        self.store = store
        self.wake = wake
        readers = DatabaseThreads(count: 2, name: "web-read", lowPriority: true) { try Reader(store: store) }
        writer = DatabaseThreads(count: 1, name: "web-write", lowPriority: false) { try JobControl(store: store) }
    }

    /// Opens the writing connection now, which migrates the schema (the dashboard's indexes
    /// included) of a database an older worker made. In the background: the server is up already.
    func prepareSchema() {
        Task { _ = try? await writer.run { _ in true } }
    }

    /// Runs `body` on a reading thread.
    func read<T: Sendable>(_ body: @escaping @Sendable (Reader) throws -> T) async throws -> T {
        try await Self.translated { try await self.readers.run(body) }
    }

    /// Inserts `jobs` in one transaction and wakes the worker.
    func enqueue(_ jobs: [JobEnqueuer.NewJob]) async throws -> [Int64] {
        let store = store
        let ids = try await Self.translated {
            try await self.writer.run { _ in try JobEnqueuer(store: store).enqueue(jobs) }
        }
        wake()
        return ids
    }

    /// Submits a pipeline in one transaction (`PipelineSubmission`) and wakes the worker.
    func submit(_ document: PipelineDocument, text: String) async throws -> PipelineSubmission.Submitted {
        let store = store
        let submitted = try await Self.translated {
            try await self.writer.run { _ in try PipelineSubmission(store: store).submit(document, text: text) }
        }
        wake()
        return submitted
    }

    /// Runs `body` with the writing thread's `JobControl` and wakes the worker.
    func control<T: Sendable>(_ body: @escaping @Sendable (JobControl) throws -> T) async throws -> T {
        let result = try await Self.translated { try await self.writer.run(body) }
        wake()
        return result
    }

    /// A missing database or a locked one as an answer a person can act on.
    private static func translated<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as OperationsError {
            throw APIError(.serviceUnavailable, error.message)
        } catch let error as any SQLFailure where error.passesOnRetry {
            throw APIError(
                .serviceUnavailable,
                "the job store is busy or out of reach (\(error.explanation)); try again in a moment")
        }
    }
}
