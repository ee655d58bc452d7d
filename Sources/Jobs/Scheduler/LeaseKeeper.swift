import Reactor

/// Leases and recovery: registers this worker, renews its jobs' leases and its heartbeat every
/// LEASE_SECONDS/3, and every LEASE_SECONDS/2 takes back the jobs of workers that stopped (their
/// lease ran out, or their process on this host is gone). Loop thread only; owned by the scheduler.
final class LeaseKeeper {
    private unowned let scheduler: Scheduler
    private var timers: [TimerWatcher] = []

    init(scheduler: Scheduler) {
        self.scheduler = scheduler
    }

    func start() {
        let lease = scheduler.settings.leaseSeconds
        scheduler.store.record(.registerWorker(scheduler.worker))
        every(max(lease / 3, 0.5)) { [unowned self] in self.heartbeat() }
        every(max(lease / 2, 1)) { [unowned self] in self.recover() }
        recover()
    }

    func stop() {
        for timer in timers { timer.stop() }
        timers.removeAll()
    }

    /// Renews the leases of the running jobs and this worker's row, with what each provider is
    /// doing now (jobs in flight, 429s answered, failed attempts).
    func heartbeat() {
        var activity: [String: ProviderActivity] = [:]
        for run in scheduler.active.values { activity[run.provider, default: ProviderActivity()].inFlight += 1 }
        for (provider, count) in scheduler.throttle.rateLimitAnswers {
            activity[provider, default: ProviderActivity()].rateLimited = count
        }
        for (provider, count) in scheduler.failedAttempts {
            activity[provider, default: ProviderActivity()].errors = count
        }
        scheduler.store.heartbeat(activeIDs: Array(scheduler.active.keys), activity: activity)
    }

    /// Takes back abandoned rows, then claims (recovered jobs may run here).
    func recover() {
        scheduler.store.recoverAbandonedJobs(now: scheduler.clock()) { [unowned self] count in
            if count > 0 {
                self.scheduler.log.info(
                    "Recovered \(count) jobs left running by a worker that stopped; they are queued again (or failed after too many interruptions)"
                )
            }
            self.scheduler.wake()
        }
    }

    private func every(_ seconds: Double, _ work: @escaping () -> Void) {
        let timer = TimerWatcher(loop: scheduler.loop, callback: work)
        timer.set(after: seconds, repeat: seconds)
        timer.start()
        timers.append(timer)
    }
}

@available(*, unavailable, message: "leases are kept on the loop thread")
extension LeaseKeeper: Sendable {}
