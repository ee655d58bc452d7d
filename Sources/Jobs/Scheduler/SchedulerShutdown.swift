import Foundation
import Reactor

/// Stopping: on a signal (let active jobs finish for a while, then return the rest to the queue)
/// or, with `--drain`, once nothing is queued or active.
extension Scheduler {
    /// Stops claiming and lets active jobs finish for up to `shutdownTimeoutSeconds`; then, or
    /// at once when `immediately` (a second signal), puts unfinished jobs back to `queued`.
    public func shutdown(immediately: Bool = false) {
        loop.assertInLoop()
        switch state {
        case .stopped: return
        case .shuttingDown where !immediately: return
        case .idle:
            finishShutdown()
            return
        default: break
        }
        if immediately || active.isEmpty {
            if !active.isEmpty { log.info("Shutting down now: returning \(active.count) unfinished jobs to the queue") }
            state = .shuttingDown
            requeueActive()
            finishShutdown()
            return
        }
        state = .shuttingDown
        store.record(.workerStopping(owner: worker.id))
        let timeout = settings.shutdownTimeoutSeconds
        log.info(
            "Shutting down: no new jobs; waiting up to \(Int(timeout)) s for \(active.count) active jobs (signal again to stop now)"
        )
        let deadline = TimerWatcher(loop: loop) {}
        deadline.setCallback { [unowned self] in
            self.log.warning("Shutdown timeout reached; returning \(self.active.count) unfinished jobs to the queue")
            self.requeueActive()
            self.finishShutdown()
        }
        deadline.schedule(after: timeout)
        shutdownDeadline = deadline
    }

    /// Puts every running job back to `queued`, giving back the attempt its claim counted.
    func requeueActive() {
        for id in Array(active.keys) {
            guard let run = end(id) else { continue }
            store.record(.release(id: id, attemptCounted: run.attemptCounted))
        }
    }

    /// With `drainWhenIdle`: exits once nothing is active, claimed or queued.
    func checkDrained() {
        guard drainWhenIdle, state == .running, active.isEmpty, claimsInFlight == 0, !drainCheckPending else { return }
        // Writes of this iteration (a job put back for a retry, say) are not visible to the
        // reader yet: decide only once they are durable.
        drainCheckPending = true
        store.flush { [unowned self] in
            self.drainCheckPending = false
            guard self.drainWhenIdle, self.state == .running, self.active.isEmpty, self.claimsInFlight == 0 else {
                return
            }
            self.store.queuedCount { [unowned self] queued in
                guard self.state == .running else { return }
                guard queued == 0 else {
                    self.scheduleRetryWake(now: self.clock())
                    return
                }
                self.log.info("Queue drained: nothing queued or active; exiting")
                self.state = .shuttingDown
                self.finishShutdown()
            }
        }
    }

    func finishShutdown() {
        guard state != .stopped else { return }
        state = .stopped
        for timer in timers { timer.stop() }
        timers.removeAll()
        leases.stop()
        retryWake?.stop()
        hintRecheck.stop()
        shutdownDeadline?.stop()
        store.record(.unregisterWorker(owner: worker.id))
        store.close { [unowned self] in self.onStopped() }
    }
}
