import Foundation
import Reactor

/// How often to ask a provider whether a task is done: every `base` seconds while the task is
/// young, then less often the longer it runs (a video that took 5 minutes will not finish in
/// the next 2 seconds), up to `maximum`. A value, so tests check it without a clock.
public struct PollSchedule: Sendable, Equatable {
    public var base: Double
    public var maximum: Double
    /// Seconds of polling at `base` before the interval starts to grow.
    public var steadySeconds: Double

    public init(base: Double, maximum: Double, steadySeconds: Double = 30) {
        self.base = base
        self.maximum = max(maximum, base)
        self.steadySeconds = steadySeconds
    }

    /// Seconds until the next poll, after `elapsed` seconds of waiting on the task: `base`
    /// during the steady phase, then growing in proportion to the time waited (so polls cost
    /// a fixed share of the wait), capped at `maximum`.
    public func interval(afterWaiting elapsed: Double) -> Double {
        guard elapsed > steadySeconds, steadySeconds > 0 else { return base }
        return min(maximum, base * elapsed / steadySeconds)
    }

    /// The schedule for a provider, `<NAME>_POLL_SECONDS` and `<NAME>_POLL_MAX_SECONDS`
    /// overriding the defaults ("KLING" → `KLING_POLL_SECONDS`).
    static func forProvider(
        _ name: String, base: Double, maximum: Double, context: JobContext
    ) throws(JobFailure) -> PollSchedule {
        func seconds(_ variable: String, default fallback: Double) throws(JobFailure) -> Double {
            guard let text = context.setting(variable) else { return fallback }
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite else {
                throw .permanent("\(variable) must be a number of seconds above 0, got '\(text)'")
            }
            return value
        }
        let base = try seconds("\(name)_POLL_SECONDS", default: base)
        return PollSchedule(base: base, maximum: try seconds("\(name)_POLL_MAX_SECONDS", default: max(maximum, base)))
    }
}

/// Polling a provider task on loop timers: never a sleeping thread.
extension JobContext {
    /// Consecutive failed polls (transport errors, 5xx, unreadable answers) tolerated before the
    /// attempt fails; the next attempt resumes the same task, it does not submit again.
    static let tolerablePollErrors = 5

    /// Polls until `read` reports the task done or a final failure, then calls `completion`.
    ///
    /// - Parameters:
    ///   - firstDelay: seconds before the first poll (a fresh task is never done at once; a
    ///     resumed one may be, so callers pass 0 then).
    ///   - request: builds each poll request (at send time, so credentials stay fresh).
    ///   - read: turns a 2xx answer into `.pending` or `.done`; a `.permanent` failure (the
    ///     provider's failed task) ends the job, a `.transient` one counts as a failed poll.
    func pollProviderTask<Output>(
        taskID: String, schedule: PollSchedule, errors: ProviderErrorTable, firstDelay: Double,
        refreshCredentials: (() -> Void)? = nil,
        request: @escaping () throws(JobFailure) -> HTTPRequest,
        read: @escaping (HTTPResponse) throws(JobFailure) -> TaskPoll<Output>,
        completion: @escaping (Result<Output, JobFailure>) -> Void
    ) {
        let started = loop.now
        var failedPolls = 0
        var lastState: String?
        phase = "polling"

        func poll() {
            callProvider(errors: errors, refreshCredentials: refreshCredentials, build: request) { [weak self] result in
                guard let self else { return }
                let outcome: Result<TaskPoll<Output>, JobFailure>
                switch result {
                case .success(let response): outcome = Result { () throws(JobFailure) in try read(response) }
                case .failure(let failure): outcome = .failure(failure)
                }
                switch outcome {
                case .success(.done(let output)):
                    completion(.success(output))
                case .success(.pending(let state)):
                    failedPolls = 0
                    if state != lastState {
                        lastState = state
                        self.recordProviderTask(id: taskID, state: state)
                    }
                    scheduleNext()
                case .failure(let failure) where failure.kind == .transient:
                    failedPolls += 1
                    guard failedPolls < Self.tolerablePollErrors else {
                        completion(.failure(failure))
                        return
                    }
                    self.log.info(
                        "[Thread-JobWorker-\(self.slot)] job \(self.job.id): poll \(failedPolls) of task \(taskID) failed, polling again: \(failure.message)",
                        WorkerLog.Fields(
                            jobID: self.job.id, provider: self.provider, slot: self.slot, event: "poll_error"))
                    scheduleNext()
                case .failure(let failure):
                    completion(.failure(failure))
                }
            }
        }

        func scheduleNext() {
            after(schedule.interval(afterWaiting: loop.now - started)) { poll() }
        }

        if firstDelay > 0 {
            after(firstDelay) { poll() }
        } else {
            poll()
        }
    }
}
