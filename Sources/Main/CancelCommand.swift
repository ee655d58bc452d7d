import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker cancel ID…`: stops jobs, saying what happened to each.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel jobs: queued ones at once, running ones through the worker that runs them.",
        discussion: """
            A queued job becomes 'cancelled' at once. A running job (processing or keying_processing) \
            becomes 'cancel_requested'; its worker notices within about half a second, stops the job's \
            requests and ffmpeg process, and marks it 'cancelled'. Finished jobs are left alone.
            Exit status 0 when every job was cancelled or asked to stop, 1 otherwise.
            Examples:
              reactor-worker cancel 42
              reactor-worker cancel 42 43 44 --db /srv/studio/jobs.db
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "Ids of the jobs to cancel.")
    var ids: [String] = []

    @Option(help: "Cancel every job of this pipeline that has not finished.")
    var pipeline: Int64?

    func validate() throws {
        guard !ids.isEmpty || pipeline != nil else {
            throw ValidationError("give at least one job id or --pipeline P, e.g. `reactor-worker cancel 42`")
        }
        _ = try parseJobIDs(ids)
    }

    func run() throws {
        let ids = try parseJobIDs(ids)
        let control = runOperation { try JobControl(store: database.store) }
        if let pipeline {
            let outcomes = runOperation { try control.cancel(pipeline: pipeline) }
            var cancelled = 0
            var requested = 0
            for (_, outcome) in outcomes {
                if case .cancelled = outcome { cancelled += 1 }
                // Refused as cancelled: ended by the cascade from a step cancelled before it.
                if case .refused(JobStatus.cancelled.rawValue, _) = outcome { cancelled += 1 }
                if case .cancelRequested = outcome { requested += 1 }
            }
            print(
                "pipeline \(pipeline): \(plural(cancelled, "job")) cancelled, \(plural(requested, "running job")) asked to stop"
                    + (outcomes.isEmpty ? " (every job had finished)" : ""))
            if ids.isEmpty { return }
        }
        var allDone = true
        for id in ids {
            let outcome = runOperation { try control.cancel(id: id) }
            allDone = allDone && outcome.succeeded
            switch outcome {
            case .cancelled:
                print("job \(id): cancelled (it was queued)")
            case .cancelRequested(let was):
                print("job \(id): cancel requested (it was \(was)); its worker stops it within a second")
            case .refused(let status, let reason):
                print("job \(id): not cancelled: \(reason) (status \(status))")
            case .notFound:
                print("job \(id): not cancelled: there is no such job in \(database.store)")
            case .requeued:
                break
            }
        }
        if !allDone { throw ExitCode(1) }
    }
}
