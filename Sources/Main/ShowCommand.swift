import ArgumentParser
import Foundation
import JSON
import Jobs
import Reactor

/// `reactor-worker show ID`: every column of one job; params and result as indented JSON.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show every field of one job: params and result pretty-printed, the error in full.",
        discussion: """
            Times are UTC as stored, with how long ago; run_after and lease_until are unix seconds and \
            are shown as times too.
            Examples:
              reactor-worker show 42
              reactor-worker show 42 --json | jq .result.files
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The job's id (see `reactor-worker list`).")
    var id: String

    @Flag(help: "Print the job as one JSON object.")
    var json = false

    func run() throws {
        let id = try parseJobIDs([id])[0]
        let job = runOperation { try JobListing(store: database.store).job(id: id) }
        guard let job else { exitWithError("there is no job \(id) in \(database.store)", code: 1) }
        if json {
            printJSON(job.json)
        } else {
            print(Self.render(job))
        }
    }

    /// The text form: a field per line, then the params, result and error blocks.
    static func render(_ job: JobRecord) -> String {
        let blocks: Set<String> = ["params", "result", "error"]
        let fields = job.columns.filter { !blocks.contains($0.name) }
        let width = max(fields.map(\.name.count).max() ?? 0, "provider".count)
        func line(_ name: String, _ value: String) -> String {
            name + ":" + String(repeating: " ", count: width - name.count + 1) + value
        }
        var lines = ["Job \(job.id)"]
        for (name, value) in fields {
            lines.append(line(name, describe(name, value, job: job)))
            if name == "status" { lines.append(line("provider", job.provider.isEmpty ? "-" : job.provider)) }
        }
        lines.append("params:")
        lines.append(indent(prettyJSON(job.params)))
        lines.append("result:")
        lines.append(indent(job.result.map(prettyJSON) ?? "-"))
        lines.append("error:")
        lines.append(indent(job.error ?? "-"))
        return lines.joined(separator: "\n")
    }

    private static func describe(_ name: String, _ value: SQLiteValue, job: JobRecord) -> String {
        if name == "cost_usd", let usd = value.double { return Money.text(usd) }
        guard let text = value.string else { return "-" }
        switch name {
        case "created_at":
            return text + (job.ageSeconds.map { " (\(DurationText.format($0)) ago)" } ?? "")
        case "finished_at":
            return text + (job.runSeconds.map { " (ran \(DurationText.format($0)))" } ?? "")
        case "started_at" where job.jobStatus?.isRunning == true:
            return text + (job.runSeconds.map { " (running for \(DurationText.format($0)))" } ?? "")
        case "progress":
            return "\(Int(((value.double ?? 0) * 100).rounded(.down)))%"
        case "attempts":
            return "\(text) of \(job.maxAttempts)"
        case "run_after", "lease_until":
            guard let seconds = value.double, seconds > 0 else { return name == "run_after" ? "0 (no wait)" : text }
            let now = Date().timeIntervalSince1970
            let relative = seconds > now ? "in \(DurationText.format(seconds - now))" : "passed"
            return "\(text) (\(isoTime(seconds)), \(relative))"
        default:
            return text
        }
    }

    static func isoTime(_ unixSeconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: unixSeconds))
    }

    /// Indented JSON when `text` parses, else the text as stored (a malformed row shows as is).
    static func prettyJSON(_ text: String) -> String {
        guard let value = try? JSONValue.parse(text) else { return text }
        return value.jsonString(pretty: true)
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
