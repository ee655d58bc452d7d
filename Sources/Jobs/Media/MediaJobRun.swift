import Foundation
import JSON
import Reactor

/// What a media job's pool-side work may do: run ffprobe and ffmpeg, report progress. It
/// lives on the pool thread that runs the work; `reportProgress` hops to the loop itself.
public struct MediaWork: Sendable {
    public let tools: MediaTools
    public let stop: StopRequest
    public let outputs: JobOutputs
    let log: WorkerLog
    let jobID: Int64
    let reportProgress: @Sendable (Double) -> Void

    /// Probes `path`, failing in the words of param `key` when it is not a usable video.
    public func probe(_ path: String, key: String) throws(JobFailure) -> MediaInfo {
        try MediaProbe.probe(path, key: key, tools: tools, stop: stop)
    }

    /// Runs ffmpeg with `arguments`, which must write to `outputs.temporaryPath(name)`, turning
    /// its output time into progress against `duration` seconds; then flushes the file, moves it
    /// to its final name and returns that path. A failed or stopped run leaves no file behind.
    public func encode(_ arguments: [String], duration: Double, as name: String) throws(JobFailure) -> String {
        let temporary = outputs.temporaryPath(name)
        log.debug(
            "ffmpeg command for job \(jobID): \(tools.ffmpeg) \(arguments.map(Self.quoted).joined(separator: " "))",
            WorkerLog.Fields(jobID: jobID, provider: "ffmpeg", event: "ffmpeg"))
        var progress = FFmpegProgress()
        let ending = try tools.process(tools.ffmpeg, arguments).run(stop: stop) { line in
            if let time = progress.consume(line) { reportProgress(FFmpegProgress.fraction(time, of: duration)) }
        }
        guard ending.succeeded, !stop.isRequested else {
            unlink(temporary)
            if ending.wasStopped || stop.isRequested { throw .permanent("ffmpeg was stopped") }
            throw Self.failure(ending)
        }
        reportProgress(1)
        return try outputs.commitDurably(temporary: temporary, as: name)
    }

    /// Why a run of ffmpeg that was not stopped by us failed, with its last stderr lines.
    static func failure(_ ending: ChildTermination) -> JobFailure {
        let detail = ending.stderrTail.isEmpty ? "" : ":\n" + ending.stderrTail
        switch ending.reason {
        case .signalled, .exited(255):
            // A signal from outside (the OOM killer; systemd stopping the whole cgroup, after
            // which ffmpeg exits 255) may not strike again: worth another attempt.
            let cause = ending.reason == .exited(255) ? ", as it does when a signal interrupts it" : ""
            return .transient("ffmpeg \(ending.summary)\(cause)\(detail)")
        case .exited:
            // Bad input or an unsupported stream: the same command fails the same way again.
            return .permanent("ffmpeg \(ending.summary)\(detail)")
        }
    }

    /// An argument as a shell would need it, for the logged command line.
    static func quoted(_ argument: String) -> String {
        let plain = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=+,@%".contains($0) }
        return plain && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Starts a media job's work on the pool and brings its progress and its end back to the
/// loop; stops its children when the job is cancelled, times out or is given up at shutdown.
/// Loop thread only.
enum MediaJobRun {
    /// Submits `work` to `pool`. `finish` runs on the loop with its result (the job's result
    /// object) or failure; after a cancel the scheduler ignores it. `scratch` files (downloaded
    /// inputs) are deleted when the work ends, whatever the outcome.
    static func start(
        context: JobContext, pool: MediaPool, tools: MediaTools, scratch: [String],
        work: @escaping @Sendable (MediaWork) throws(JobFailure) -> JSONValue,
        finish: @escaping (JobOutcome) -> Void
    ) {
        let stop = StopRequest()
        context.onCancel { stop.request() }
        let loop = context.loop
        let box = LoopBound((context: context, finish: finish), on: loop)
        let media = MediaWork(
            tools: tools, stop: stop, outputs: context.files.outputs, log: context.log, jobID: context.job.id,
            reportProgress: { value in
                loop.execute {
                    if !box.value.context.isCancelled { box.value.context.reportProgress(value) }
                }
            })
        context.phase = "waiting for ffmpeg"
        pool.submit {
            let outcome: JobOutcome
            do throws(JobFailure) {
                if stop.isRequested { throw .permanent("stopped before ffmpeg started") }
                loop.execute { box.value.context.phase = "ffmpeg" }
                outcome = .completed(result: try work(media))
            } catch {
                outcome = .failed(error)
            }
            for path in scratch { unlink(path) }
            loop.execute { box.value.finish(outcome) }
        }
    }
}
