import Foundation
import JSON
import Reactor

/// Running one claimed job: its slot and monitoring lines, its inputs, its handler, its time
/// limit, and how the run ended (completed, retried or failed, or cancelled).
extension Scheduler {
    func begin(_ claimed: ClaimedJob) {
        let job = claimed.job
        guard state == .running, let slot = gate.acquire(key: claimed.gateKey) else {
            // The batch held more jobs of a capped provider than it has room for, or we began
            // shutting down meanwhile: give the row back without counting an attempt.
            store.record(.release(id: job.id, attemptCounted: job.attemptCounted))
            return
        }
        let prefix = WorkerLog.slotPrefix(slot)
        var fields = WorkerLog.Fields(
            jobID: job.id, type: job.typeName, provider: claimed.gateKey, slot: slot, event: "claimed")
        log.info("Submitted job \(job.id) to worker thread pool (\(gate.active)/\(gate.capacity) active)", fields)
        fields.event = "started"
        log.info("\(prefix) Processing job \(job.id)...", fields)
        let run = JobRun(job: job, slot: slot, gateKey: claimed.gateKey, startedAt: loop.now)
        active[job.id] = run
        let limit = settings.timeout(for: job.typeName)
        let timeout = TimerWatcher(loop: loop) { [unowned self] in
            self.finish(
                job.id,
                .failed(
                    .transient(
                        "timed out after \(DurationText.seconds(limit)); the job took longer than its limit (JOB_TIMEOUT_SECONDS)"
                    )))
        }
        timeout.schedule(after: limit)
        run.timeout = timeout
        let params: JobParams
        let handler: any JobHandler
        do {
            params = try JobParams.parse(job.paramsText)
            (run.provider, handler) = try registry.handler(for: job, params: params)
        } catch {
            return finish(job.id, .failed(error))
        }
        // Inputs given as {"job": ID} are read before the handler runs, so handlers resolve them
        // without a store.
        store.jobSummaries(ids: InputResolver.referencedJobs(in: params)) { [unowned self] summaries in
            guard self.active[job.id] === run else { return }  // Cancelled or timed out meanwhile.
            let context = JobContext(
                job: job, params: params, slot: slot, loop: self.loop, settings: self.sharedSettings, log: self.log,
                http: self.http, store: self.store, inputs: InputResolver { summaries[$0] },
                databaseID: self.store.databaseID, provider: run.provider, outputBudget: self.outputBudget,
                clock: self.clock)
            // A killed earlier attempt may have left a half-written temporary file behind.
            context.files.removeStaleOutputs()
            run.context = context
            handler.run(context) { [unowned self] outcome in self.finish(job.id, outcome) }
        }
    }

    func finish(_ id: Int64, _ outcome: JobOutcome) {
        guard let run = end(id) else { return }  // Already cancelled, timed out or finished.
        let duration = loop.now - run.startedAt
        let prefix = WorkerLog.slotPrefix(run.slot)
        var fields = WorkerLog.Fields(
            jobID: id, type: run.job.typeName, provider: run.provider, slot: run.slot, duration: duration)
        switch outcome {
        case .completed(let result):
            // Redacting inside JSON strings keeps the text valid JSON ("[redacted]" has no quotes).
            store.record(.completed(id: id, result: log.redactor.redact(result.jsonString())))
            fields.event = "completed"
            log.info("\(prefix) Completed job \(id) in \(DurationText.seconds(duration))", fields)
        case .failed(let failure):
            failedAttempts[run.provider, default: 0] += 1
            let decision = RetryDecision.decide(
                failure, message: log.redactor.redact(failure.message), job: run.job,
                claimCounted: run.job.attemptCounted, runCounted: run.attemptCounted, policy: settings.retryPolicy,
                random: random())
            switch decision.verdict {
            case .retry(let delay, let note):
                store.record(.retry(id: id, error: note, runAfter: clock() + delay, attempts: decision.attempts))
                fields.event = "retry"
                log.warning("\(prefix) Retrying job \(id) in \(DurationText.seconds(delay)): \(note)", fields)
            case .fail(let error):
                store.record(.failed(id: id, error: error, attempts: decision.attempts))
                fields.event = "failed"
                log.warning("\(prefix) Failed job \(id): \(error)", fields)
            }
        case .held(let reason, let until):
            store.record(.hold(id: id, reason: reason, runAfter: until, attemptCounted: run.attemptCounted))
            fields.event = "held"
            log.info("\(prefix) Holding job \(id): \(reason)", fields)
        }
        onRunEnded(JobRunEnded(id: id, fields: fields, outcome: outcome, redactor: log.redactor))
        afterSlotFreed()
    }

    /// Ends the running jobs another program asked to cancel (`cancel_requested`).
    func checkCancellations() {
        store.pendingCancellations(activeIDs: Array(active.keys)) { [unowned self] ids in
            var ended = false
            for id in ids {
                guard let run = self.end(id) else { continue }
                ended = true
                self.store.record(.cancelled(id: id, reason: "cancelled while running"))
                self.log.info(
                    "\(WorkerLog.slotPrefix(run.slot)) Cancelled job \(id)",
                    WorkerLog.Fields(jobID: id, type: run.job.typeName, slot: run.slot, event: "cancelled"))
                self.onRunEnded(
                    JobRunEnded(
                        id: id, type: run.job.typeName, provider: run.provider, outcome: .cancelled,
                        duration: self.loop.now - run.startedAt, error: nil))
            }
            if ended { self.afterSlotFreed() }
        }
    }

    /// Removes a run from the active set, stops what it started and frees its slot.
    func end(_ id: Int64) -> JobRun? {
        guard let run = active.removeValue(forKey: id) else { return nil }
        run.stop()
        gate.release(slot: run.slot)
        return run
    }

    func afterSlotFreed() {
        if state == .shuttingDown {
            if active.isEmpty { finishShutdown() }
            return
        }
        wakeBeforeSleep()
        checkDrained()
    }
}
