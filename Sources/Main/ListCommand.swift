import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker list`: the newest jobs as an aligned table (or JSON).
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List jobs, newest first, as a table.",
        discussion: """
            Columns: ID, TYPE, PROVIDER, STATUS (the words in jobs.db), PROGRESS, TRIES (attempts/max), \
            AGE (since it was queued), TIME (how long it ran, or runs so far; 'retry in …' while it waits \
            for a retry, 'held for …' while a daily budget holds it), COST (when a job shown was paid \
            for) and the start of the ERROR, or of why a held job waits (see `show ID` for all of it).
            Statuses: \(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")); \
            'running' means processing, keying_processing and cancel_requested; 'finished' means \
            completed, failed and cancelled.
            Examples:
              reactor-worker list
              reactor-worker list --status failed --type image_generation --limit 20
              reactor-worker list --status running,queued --json
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(
        name: .customLong("status"),
        help: "Only these statuses (repeat, or separate with commas); 'running' and 'finished' group several.")
    var statuses: [String] = []

    @Option(name: .customLong("type"), help: "Only these job types (repeat, or separate with commas).")
    var types: [String] = []

    @Option(help: "Show at most this many jobs.")
    var limit: Int = 50

    @Flag(help: "Print the jobs as a JSON array (every column) instead of a table.")
    var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        _ = try StatusFilter.parse(statuses)
        _ = try Self.parseTypes(types)
    }

    func run() throws {
        let filter = JobListing.Filter(
            statuses: try StatusFilter.parse(statuses), types: try Self.parseTypes(types), limit: limit)
        let (jobs, total) = runOperation {
            let listing = try JobListing(store: database.store)
            return (try listing.list(filter), try listing.count(filter))
        }
        if json {
            printJSON(.array(jobs.map(\.json)))
            return
        }
        guard !jobs.isEmpty else {
            print(total == 0 && filter.statuses.isEmpty && filter.types.isEmpty ? "No jobs yet." : "No jobs match.")
            return
        }
        print(Self.table(jobs, now: Date().timeIntervalSince1970))
        if total > jobs.count {
            FileHandle.standardError.write(
                Data("showing the newest \(jobs.count) of \(total) jobs; use --limit to see more\n".utf8))
        }
    }

    static func table(_ jobs: [JobRecord], now: Double) -> String {
        // The pipeline column only when some job shown belongs to one.
        let pipelines = jobs.contains { $0.pipelineID != nil }
        // The cost column only when some job shown was paid for.
        let costs = jobs.contains { $0.costText != nil }
        var table = TextTable(
            [
                .init(title: "ID", alignRight: true), .init(title: "TYPE"), .init(title: "PROVIDER"),
                .init(title: "STATUS"), .init(title: "PROGRESS", alignRight: true), .init(title: "TRIES"),
                .init(title: "AGE", alignRight: true), .init(title: "TIME"),
            ] + (pipelines ? [.init(title: "PIPELINE")] : []) + (costs ? [.init(title: "COST", maxWidth: 24)] : [])
                + [.init(title: "ERROR", maxWidth: 48)])
        for job in jobs {
            table.add(
                [
                    String(job.id), job.type, job.provider, job.status, progressText(job),
                    "\(job.attempts)/\(job.maxAttempts)",
                    job.ageSeconds.map(DurationText.format) ?? "-", timeText(job, now: now),
                ] + (pipelines ? [pipelineText(job)] : []) + (costs ? [job.costText ?? "-"] : [])
                    + [job.isHeld ? job.hold ?? "" : job.error ?? ""])
        }
        return table.render()
    }

    /// "P3 still" (or "P3 cutout[1]"), "-" for a job outside any pipeline.
    static func pipelineText(_ job: JobRecord) -> String {
        guard let pipeline = job.pipelineID else { return "-" }
        let step = job.step.map { name in job.stepIndex.map { "\(name)[\($0)]" } ?? name } ?? ""
        return "P\(pipeline) \(step)"
    }

    static func progressText(_ job: JobRecord) -> String {
        let shown = job.jobStatus.map { $0.isRunning || $0 == .completed || $0 == .cancelRequested } ?? false
        return shown || job.progress > 0 ? "\(Int((job.progress * 100).rounded(.down)))%" : "-"
    }

    static func timeText(_ job: JobRecord, now: Double) -> String {
        if job.jobStatus == .queued {
            let wait = job.isHeld ? "held for " : "retry in "
            return job.runAfter > now ? wait + DurationText.format(job.runAfter - now) : "-"
        }
        return job.runSeconds.map(DurationText.format) ?? "-"
    }

    static func parseTypes(_ texts: [String]) throws -> [String] {
        let names = texts.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for name in names where JobType(rawValue: name) == nil {
            throw ValidationError("unknown job type '\(name)'; expected one of: \(JobType.allNames)")
        }
        return names
    }
}

/// Status words given on the command line, with the groups 'running' and 'finished'.
enum StatusFilter {
    static func parse(_ texts: [String]) throws -> [JobStatus] {
        var result: [JobStatus] = []
        for name in texts.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch name {
            case "running": result += [.processing, .keyingProcessing, .cancelRequested]
            case "finished": result += JobStatus.allCases.filter(\.isFinished)
            default:
                guard let status = JobStatus(rawValue: name) else {
                    let known = JobStatus.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ValidationError("unknown status '\(name)'; expected one of: \(known), running, finished")
                }
                result.append(status)
            }
        }
        return result
    }
}
