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
    var ids: [String]

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one job id, e.g. `reactor-worker cancel 42`") }
        _ = try parseJobIDs(ids)
    }

    func run() throws {
        let ids = try parseJobIDs(ids)
        let control = runOperation { try JobControl(path: database.path) }
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
                print("job \(id): not cancelled: there is no such job in \(database.path)")
            case .requeued:
                break
            }
        }
        if !allDone { throw ExitCode(1) }
    }
}
