import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker`: runs queued AI media jobs from `jobs.db`, many at once, on one event loop.
@main
struct ReactorWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reactor-worker",
        abstract:
            "Run the AI media job queue in jobs.db: image generation, background removal, style analysis, animation, keying, stitching.",
        discussion: """
            Settings come from flags, the environment, and .env in the working directory.
            Examples:
              reactor-worker run                       # the daemon, on ./jobs.db; dashboard on http://127.0.0.1:5001
              reactor-worker run --drain               # finish what is queued, then exit
              reactor-worker enqueue image_generation --params '{"provider":"openai","prompt":"a red fox"}'
              reactor-worker watch                     # live view of the queue; q quits
              reactor-worker list --status failed      # also: show, cancel, retry, stats
              reactor-worker workers                   # the workers on this jobs.db and their limits
              reactor-worker submit pipeline.json      # a pipeline of steps (docs/pipelines.md)
              reactor-worker prices                    # what jobs cost; budgets in docs/spend.md
            Operating it: docs/operations.md.
            """,
        version: ReactorWorkerVersion.text,
        subcommands: [
            RunCommand.self, EnqueueCommand.self, ListCommand.self, ShowCommand.self, CancelCommand.self,
            RetryCommand.self, StatsCommand.self, PruneCommand.self, WatchCommand.self, WorkersCommand.self,
            SubmitCommand.self, PipelineCommand.self, PricesCommand.self, WebCommand.self,
        ],
        defaultSubcommand: RunCommand.self)
}

/// Prints a one-line error to stderr and exits non-zero: for settings that make no sense.
func exitWithError(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("reactor-worker: error: \(message)\n".utf8))
    exit(code)
}
