import Foundation
import Reactor

/// The start and the end every task-based provider shares (Leonardo, BRIA, Kling, Seedance),
/// written once so the billing rule lives in one place: a job whose earlier attempt recorded
/// its provider task polls that task again and never pays for a second one; otherwise it builds
/// the body, submits it once, and records the task id the answer names before the first poll.
/// Loop thread only, like the rest of `JobContext`.
extension JobContext {
    /// `resume` takes over when an earlier attempt recorded a task. Otherwise `body` is built (a
    /// bad param fails the job before anything is paid), `submit` sends it, `task` reads the task
    /// id and the provider's word for its state from the answer (recorded at once), and
    /// `submitted` goes on — normally with the first poll. Anything thrown fails the job.
    func resumeOrSubmitTask(
        api: String,
        resume: (_ taskID: String) -> Void,
        body: () throws(JobFailure) -> Data,
        submit: (_ body: Data, _ completion: @escaping (Result<HTTPResponse, JobFailure>) -> Void) -> Void,
        task: @escaping (ProviderAnswer) throws(JobFailure) -> (id: String, state: String),
        submitted:
            @escaping (_ taskID: String, _ response: HTTPResponse, _ answer: ProviderAnswer) throws(JobFailure) ->
            Void,
        finish: @escaping (JobOutcome) -> Void
    ) {
        if let resumed = job.providerTaskID {
            resume(resumed)
            return
        }
        let data: Data
        do {
            data = try body()
        } catch {
            finish(.failed(error))
            return
        }
        phase = "submitting"
        submit(data) { result in
            do throws(JobFailure) {
                let response = try result.get()
                let answer = try ProviderAnswer(response, api: api, kind: .permanent)
                let started = try task(answer)
                self.recordProviderTask(id: started.id, state: started.state)
                try submitted(started.id, response, answer)
            } catch {
                finish(.failed(error))
            }
        }
    }

    /// Polls task `taskID` until `read` names its one output file, then downloads that file as
    /// `name` and completes the job with it; a failed task or download fails the job.
    func pollTaskThenDownload(
        _ taskID: String, schedule: PollSchedule, errors: ProviderErrorTable, firstDelay: Double,
        refreshCredentials: (() -> Void)? = nil, request: @escaping () throws(JobFailure) -> HTTPRequest,
        read: @escaping (HTTPResponse) throws(JobFailure) -> TaskPoll<String>,
        saveAs name: String, api: String, startedAt: Double, finish: @escaping (JobOutcome) -> Void
    ) {
        pollProviderTask(
            taskID: taskID, schedule: schedule, errors: errors, firstDelay: firstDelay,
            refreshCredentials: refreshCredentials, request: request, read: read
        ) { outcome in
            switch outcome {
            case .failure(let failure):
                finish(.failed(failure))
            case .success(let url):
                self.completeWithDownload(
                    url, as: name, provider: api, taskID: taskID, startedAt: startedAt, finish: finish)
            }
        }
    }
}
