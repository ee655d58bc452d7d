import Foundation
import JSON
import Reactor

/// One run of one provider job, from credentials to result. Loop thread only. It is kept alive
/// by the closures of its own requests and timers, which the job's context holds: when the job
/// ends or is cancelled, the context drops them and the run goes with them.
///
/// The billing rules, in the order they apply:
/// 1. A job whose earlier run recorded its provider task polls that task again and never pays
///    for a second one.
/// 2. A job that may have submitted without recording the task (its worker stopped mid-run, or
///    a submit's answer was lost) first looks the task up by our own key where the API can
///    (`ProviderAPI.canFindTasks`), and resumes it when found.
/// 3. Otherwise the submit is built (a bad param fails the job before anything is paid), sent
///    once, and the task id it names is recorded before the first poll.
/// 4. A refusal that says our key is taken, or a submit whose answer was lost, looks the task up
///    instead of failing; a lost submit to an API that can neither dedupe nor find fails with
///    words that say so, unless the job allows resubmits (`resubmit_on_lost_submit`).
final class ProviderRun {
    private let api: any ProviderAPI
    private let context: JobContext
    private let requester: ProviderRequester
    private let finish: (JobOutcome) -> Void
    private let startedAt: Double
    private var connection: ProviderConnection!
    private var job: ProviderJob!
    private var schedule: PollSchedule?
    /// Look-ups made this run; bounded so a provider that keeps saying "exists" and "not found"
    /// cannot loop.
    private var finds = 0
    /// Failed polls in a row; the attempt fails after `tolerablePollErrors` of them.
    private var failedPolls = 0

    /// Consecutive failed polls (transport errors, 5xx, unreadable answers) tolerated before the
    /// attempt fails; the next attempt resumes the same task, it does not submit again.
    static let tolerablePollErrors = 5
    /// Look-ups of a lost task per run.
    static let maximumFinds = 3
    /// Pages of a provider's task list searched for a lost task.
    static let maximumFindPages = 20

    init(api: any ProviderAPI, context: JobContext, throttle: ProviderThrottle, finish: @escaping (JobOutcome) -> Void)
    {
        self.api = api
        self.context = context
        self.finish = finish
        requester = ProviderRequester(context: context, provider: api.name, errors: api.errors, throttle: throttle)
        startedAt = context.loop.now
    }

    func start() {
        let settings = ProviderSettings(values: context.settings.values)
        let claimed = context.job
        do {
            connection = try api.connect(settings)
            schedule = try api.polling?.configured(for: api.name, settings)
        } catch {
            return finish(.failed(error))
        }
        job = ProviderJob(
            id: claimed.id, type: claimed.typeName, params: context.params,
            externalID: ExternalTaskID(
                databaseID: context.databaseID, jobID: claimed.id, submission: claimed.submission
            )
            .description,
            createdAt: claimed.createdAt)
        if let taskID = claimed.providerTaskID {
            return poll(ProviderTask(id: taskID, state: claimed.providerState ?? "resumed"), firstDelay: 0)
        }
        let inDoubt = claimed.interruptions > 0 || claimed.providerState == ProviderState.unconfirmedSubmit
        if inDoubt && api.canFindTasks {
            find(because: "an earlier run may have submitted it", paidEarlier: true) { self.submit() }
        } else {
            submit()
        }
    }

    // MARK: Submit

    private func submit(resending: Bool = false) {
        let images: [String: ProviderImageInput]
        do {
            images = try resolveImages()
            _ = try api.submitRequest(job, images: images, connection)
        } catch {
            return finish(.failed(error))
        }
        context.phase = api.submitPhase
        let api = api
        let job = job!
        let connection = connection!
        requester.call(
            refreshCredentials: connection.refreshCredentials,
            build: { () throws(JobFailure) in try api.submitRequest(job, images: images, connection) }
        ) { reply in self.submitted(reply, resending: resending) }
    }

    private func submitted(_ reply: ProviderReply, resending: Bool) {
        switch reply {
        case .answered(let response):
            do throws(JobFailure) {
                let answer = try ProviderAnswer(response, api: api.name.display, kind: api.brokenSubmitAnswer)
                switch try api.readSubmit(answer, job) {
                case .task(let task):
                    record(task)
                    poll(task, firstDelay: schedule?.base ?? 0)
                case .done(let result):
                    save(result)
                }
            } catch {
                finish(.failed(error))
            }
        case .refused(let response, let failure):
            guard api.isDuplicateSubmit(response), api.canFindTasks else { return finish(.failed(failure)) }
            find(because: "\(api.name.display) already has a task under \(job.externalID)", paidEarlier: true) {
                // Refused as taken, yet not found: nothing left to try this run.
                self.finish(.failed(failure))
            }
        case .unanswered(let error, let mayHaveArrived, let host, let timeout):
            let allowed = (try? context.params.bool("resubmit_on_lost_submit")) == true
            guard mayHaveArrived, api.canFindTasks else {
                return finish(
                    .failed(
                        api.submitKind.failure(
                            for: error, provider: api.name.display, host: host, timeout: timeout,
                            resubmitAllowed: allowed)))
            }
            context.recordProviderState(ProviderState.unconfirmedSubmit)
            find(because: "the answer to its submit was lost (\(error.message))", paidEarlier: false) {
                if self.api.submitKind == .paidDeduplicated && !resending {
                    // Never arrived, or not listed yet: a repeat with the same key cannot pay twice.
                    self.submit(resending: true)
                } else {
                    self.finish(
                        .failed(
                            self.api.submitKind.failure(
                                for: error, provider: self.api.name.display, host: host, timeout: timeout,
                                resubmitAllowed: allowed)))
                }
            }
        case .notSent(let failure):
            finish(.failed(failure))
        }
    }

    private func resolveImages() throws(JobFailure) -> [String: ProviderImageInput] {
        var images: [String: ProviderImageInput] = [:]
        for param in api.imageParams {
            guard let raw = context.params[param.key] else {
                if param.required { throw .permanent("params.\(param.key) is required for \(job.type)") }
                continue
            }
            images[param.key] = try ProviderImageInput.resolve(
                raw, key: param.key, inputs: context.inputs, encoding: param.encoding)
        }
        return images
    }

    private func record(_ task: ProviderTask) {
        context.recordProviderTask(id: task.id, state: task.state)
    }

    // MARK: Finding a submission's task by our key

    /// Looks for the task of this submission; resumes it when found, else `notFound`. `paidEarlier`:
    /// a task found was paid for by an earlier run, not this one, which then spends no attempt.
    private func find(
        because reason: String, paidEarlier: Bool, page: Int = 1, notFound: @escaping () -> Void
    ) {
        guard page > 1 || finds < Self.maximumFinds,
            let request = api.findRequest(job, page: page, connection)
        else { return notFound() }
        if page == 1 {
            finds += 1
            context.logJob(
                "looking for its \(api.name.display) task by \(job.externalID): \(reason)", event: "find_task")
        }
        context.phase = "finding task"
        requester.call(refreshCredentials: connection.refreshCredentials, build: { request }) { reply in
            switch reply {
            case .answered(let response):
                do throws(JobFailure) {
                    let answer = try ProviderAnswer(response, api: self.api.name.display, kind: .transient)
                    switch try self.api.readFind(answer, self.job, page: page) {
                    case .found(let task):
                        self.context.logJob(
                            "found its \(self.api.name.display) task \(task.id) (\(task.state)); resuming it",
                            event: "found_task")
                        if paidEarlier { self.context.refundAttempt() }
                        self.record(task)
                        self.poll(task, firstDelay: 0)
                    case .notFound:
                        notFound()
                    case .nextPage:
                        if page < Self.maximumFindPages {
                            self.find(because: reason, paidEarlier: paidEarlier, page: page + 1, notFound: notFound)
                        } else {
                            notFound()
                        }
                    }
                } catch {
                    self.finish(.failed(error))
                }
            case .refused(let response, let failure):
                // An unknown key is "not found"; anything else leaves the question open.
                if response.status == 404 { return notFound() }
                self.finish(.failed(failure))
            case .unanswered(let error, _, let host, _):
                self.finish(
                    .failed(
                        .transient(
                            "could not ask \(self.api.name.display) at \(host) for the task of \(self.job.externalID): \(error.message)"
                        )))
            case .notSent(let failure):
                self.finish(.failed(failure))
            }
        }
    }

    // MARK: Polling

    private func poll(_ task: ProviderTask, firstDelay: Double) {
        context.phase = "polling"
        var lastState = task.state
        let pollStarted = context.loop.now
        let schedule = schedule ?? PollSchedule(base: 5, maximum: 30)

        func next() {
            context.after(schedule.interval(afterWaiting: context.loop.now - pollStarted)) { once() }
        }

        func once() {
            let api = api
            let job = job!
            let connection = connection!
            requester.call(
                refreshCredentials: connection.refreshCredentials,
                build: { api.pollRequest(task, job, connection) }
            ) { reply in
                let outcome: Result<TaskPoll, JobFailure>
                switch reply {
                case .answered(let response):
                    outcome = Result { () throws(JobFailure) in
                        try self.api.readPoll(
                            ProviderAnswer(response, api: self.api.name.display, kind: .transient), task)
                    }
                case .refused(_, let failure), .notSent(let failure):
                    outcome = .failure(failure)
                case .unanswered(let error, _, let host, _):
                    outcome = .failure(
                        .transient("could not reach \(self.api.name.display) at \(host): \(error.message)"))
                }
                switch outcome {
                case .success(.done(let result)):
                    self.save(result, taskID: task.id)
                case .success(.pending(let state)):
                    self.failedPolls = 0
                    if state != lastState {
                        lastState = state
                        self.context.recordProviderTask(id: task.id, state: state)
                    }
                    next()
                case .failure(let failure) where failure.kind == .transient:
                    self.failedPolls += 1
                    guard self.failedPolls < Self.tolerablePollErrors else { return self.finish(.failed(failure)) }
                    self.context.logJob(
                        "poll \(self.failedPolls) of task \(task.id) failed, polling again: \(failure.message)",
                        event: "poll_error")
                    next()
                case .failure(let failure):
                    self.finish(.failed(failure))
                }
            }
        }

        if firstDelay > 0 {
            context.after(firstDelay) { once() }
        } else {
            once()
        }
    }

    // MARK: Outputs

    /// Saves the result's files into the job's folder and completes the job with the result.
    private func save(_ result: ProviderResult, taskID: String? = nil) {
        let waited = context.loop.now - startedAt
        context.files.save(result.files, provider: api.name.display) { saved in
            switch saved {
            case .failure(let failure):
                self.finish(.failed(failure))
            case .success(let paths):
                var object = result.extra
                object["files"] = .array(paths.map { .string($0) })
                object["provider"] = .string(self.api.name.key)
                object["provider_task_id"] = (result.taskID ?? taskID).map { .string($0) } ?? .null
                object["provider_seconds"] = .number((waited * 1000).rounded() / 1000)
                self.finish(.completed(result: .object(object)))
            }
        }
    }
}

@available(*, unavailable, message: "a provider run belongs to the loop thread")
extension ProviderRun: Sendable {}
