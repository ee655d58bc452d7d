import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker retry ID…`: puts failed or cancelled jobs back in the queue.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Queue failed or cancelled jobs again, with their attempts reset.",
        discussion: """
            The job keeps its id, type, params and priority; attempts go back to 0, the error and \
            result are cleared, and it may run at once. Jobs in any other status are refused with the \
            reason. Exit status 0 when every job was queued again, 1 otherwise.
            Examples:
              reactor-worker retry 42
              reactor-worker retry 42 43 --db /srv/studio/jobs.db
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "Ids of the jobs to queue again.")
    var ids: [String]

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one job id, e.g. `reactor-worker retry 42`") }
        _ = try parseJobIDs(ids)
    }

    func run() throws {
        let ids = try parseJobIDs(ids)
        let control = runOperation { try JobControl(store: database.store) }
        var allDone = true
        for id in ids {
            let outcome = runOperation { try control.retry(id: id) }
            allDone = allDone && outcome.succeeded
            switch outcome {
            case .requeued(let was):
                print("job \(id): queued again (it was \(was)); attempts reset")
            case .refused(let status, let reason):
                print("job \(id): not retried: \(reason) (status \(status))")
            case .notFound:
                print("job \(id): not retried: there is no such job in \(database.store)")
            case .cancelled, .cancelRequested:
                break
            }
        }
        if !allDone { throw ExitCode(1) }
    }
}
