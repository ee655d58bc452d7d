import ArgumentParser
import Foundation
import JSON
import Jobs
import Reactor

/// `reactor-worker enqueue`: inserts jobs and prints their ids, one per line.
struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Add jobs to the queue and print their ids, one per line.",
        discussion: """
            Example:
              reactor-worker enqueue image_generation --params '{"provider":"openai","prompt":"a lighthouse at dusk"}' --count 3
            Job types: \(JobType.allNames)
            """)

    @Argument(help: "The job type, e.g. image_generation.")
    var type: String

    @Option(help: "The job's params as a JSON object.")
    var params: String = "{}"

    @Option(help: "How many identical jobs to add.")
    var count: Int = 1

    @Option(help: "Higher runs first (default 0).")
    var priority: Int = 0

    @Option(name: .customLong("max-attempts"), help: "Attempts before the job fails for good (default 3).")
    var maxAttempts: Int = 3

    @Option(name: .customLong("db"), help: "The jobs database (JOBS_DB, default ./jobs.db).")
    var database: String?

    @Flag(
        name: .customLong("no-check"),
        help: "Insert the params as given, even when they are wrong (the worker then fails the job saying why).")
    var noCheck = false

    func validate() throws {
        guard JobType(rawValue: type) != nil else {
            throw ValidationError("unknown job type '\(type)'; expected one of: \(JobType.allNames)")
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(params)
        } catch {
            throw ValidationError(
                "--params is not valid JSON (\(error)); it must be a JSON object such as {\"prompt\": \"…\"}")
        }
        guard !noCheck else { return }
        let problems = JobRequestCheck.validate(type: type, params: parsed)
        if !problems.isEmpty {
            throw ValidationError(
                "--params: " + problems.map(\.message).joined(separator: "; ") + " (--no-check inserts it anyway)")
        }
    }

    func run() throws {
        let store = Configuration().store(flag: database)
        do {
            let ids = try JobEnqueuer(store: store).enqueue(
                type: type, params: params, count: count, priority: priority, maxAttempts: maxAttempts)
            print(ids.map(String.init).joined(separator: "\n"))
        } catch {
            exitWithError("cannot add jobs to \(store): \(error)", code: 1)
        }
    }
}
