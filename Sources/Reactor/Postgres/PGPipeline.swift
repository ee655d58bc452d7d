/// The queue of work on one `PGConnection` and the matching of results to it.
///
/// Everything goes out in libpq's pipeline mode, as *units*: a unit is one query or one
/// transaction, its statements followed by one `PQpipelineSync`. The server runs a unit's
/// statements in one implicit transaction, which the sync commits; after an error it skips
/// the unit's remaining statements (libpq reports them as PGRES_PIPELINE_ABORTED) and the
/// sync rolls the unit back. So a failed unit leaves nothing behind and the session is clean
/// for the next unit: units can be sent back to back without waiting, many in one write.
///
/// Why no BEGIN/COMMIT: an explicit transaction block that fails stays open, aborted, after
/// the sync (libpq manual, "Pipeline Mode"): every unit already sent behind it would fail
/// with 25P02 until a ROLLBACK. The implicit transaction has the same atomicity without that.
///
/// Results come back in the order sent: for each statement one result then a separator
/// (nil), then the sync's result. A commit that fails (a deferred constraint) adds one error
/// result between the last statement and the sync. Loop thread only, through its connection.
final class PGPipeline {
    /// One query or transaction, from `enqueue` until its sync result or a failure.
    final class Unit {
        let statements: [PGStatement]
        let completion: (Result<[PGQueryResult], PGError>) -> Void
        var results: [PGQueryResult] = []
        var failure: PGError?
        /// The statement whose results are being read; `statements.count` once all are read.
        var reading = 0
        /// A statement's result was read, its nil separator not yet.
        var awaitingSeparator = false

        init(_ statements: [PGStatement], completion: @escaping (Result<[PGQueryResult], PGError>) -> Void) {
            self.statements = statements
            self.completion = completion
        }
    }

    /// Not handed to libpq yet: these never ran.
    private var waiting: [Unit] = []
    /// Handed to libpq, awaiting results, oldest first from `sentHead` on. Finished units are
    /// dropped from the front in bulk, not one by one, which would cost O(n) per result.
    private var sent: [Unit] = []
    private var sentHead = 0

    func enqueue(_ unit: Unit) { waiting.append(unit) }

    /// Puts `unit` before everything waiting (a LISTEN renewed after a reconnect).
    func enqueueFirst(_ unit: Unit) { waiting.insert(unit, at: 0) }

    /// Hands every waiting unit to libpq. False when libpq refused a statement or a sync:
    /// the connection must then be dropped, since a unit sent in part and then synced would
    /// commit its first half.
    func sendWaiting(through connection: LibPQConnection) -> Bool {
        let batch = waiting
        waiting.removeAll(keepingCapacity: true)
        for (index, unit) in batch.enumerated() {
            sent.append(unit)
            let handedOver = unit.statements.allSatisfy { connection.send($0) } && connection.pipelineSync()
            if !handedOver {
                waiting = Array(batch[(index + 1)...])
                return false
            }
        }
        return true
    }

    /// A unit that finished, with what to tell its caller.
    typealias Finished = (unit: Unit, result: Result<[PGQueryResult], PGError>)

    /// The next unit whose results are all in, or nil when more input is needed. A result
    /// whose SQLSTATE says the session is over (shutdown, crash) is returned as `ended`.
    enum Progress {
        case finished(Finished)
        case needInput
        case ended(LibPQServerError)
    }

    /// Reads results already received (never waits) until one unit finishes.
    func readNext(from connection: LibPQConnection, target: String) -> Progress {
        var separatorsInARow = 0
        while sentHead < sent.count {
            let unit = sent[sentHead]
            if connection.isBusy { return .needInput }
            guard let result = connection.nextResult() else {
                separatorsInARow += 1
                if unit.awaitingSeparator {
                    unit.awaitingSeparator = false
                    unit.reading += 1
                    continue
                }
                // A nil nobody expected: libpq has nothing more for now. Twice means stuck.
                if separatorsInARow > 1 { return .needInput }
                continue
            }
            separatorsInARow = 0
            switch result {
            case .pipelineSync:
                dropFinished()
                if let failure = unit.failure { return .finished((unit, .failure(failure))) }
                return .finished((unit, .success(unit.results)))
            case .completed(let rows):
                if unit.reading < unit.statements.count { unit.results.append(rows) }
                unit.awaitingSeparator = unit.reading < unit.statements.count
            case .skipped:
                unit.awaitingSeparator = unit.reading < unit.statements.count
            case .failed(let error):
                // libpq's own "server closed the connection" has no SQLSTATE; the status tells.
                if PGError.endsSession(error.sqlState) || connection.isBad { return .ended(error) }
                let inStatement = unit.reading < unit.statements.count
                if unit.failure == nil {
                    unit.failure = PGError(
                        kind: .query, message: error.message, sqlState: error.sqlState, detail: error.detail,
                        target: target, statementIndex: inStatement && unit.statements.count > 1 ? unit.reading : nil)
                }
                unit.awaitingSeparator = inStatement
            }
        }
        return .needInput
    }

    /// Forgets the unit at the head of `sent`, compacting once the dead prefix is large.
    private func dropFinished() {
        sentHead += 1
        if sentHead == sent.count {
            sent.removeAll(keepingCapacity: true)
            sentHead = 0
        } else if sentHead >= 1024 {
            sent.removeFirst(sentHead)
            sentHead = 0
        }
    }

    /// Takes every unit out, sent ones first (oldest first), for failing after a loss.
    func removeAll() -> (sent: [Unit], waiting: [Unit]) {
        defer {
            sent.removeAll()
            sentHead = 0
            waiting.removeAll()
        }
        return (Array(sent[sentHead...]), waiting)
    }
}
