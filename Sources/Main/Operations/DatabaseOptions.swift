import ArgumentParser
import Foundation
import JSON
import Jobs
import Reactor

/// `--db`, shared by every command that reads or changes `jobs.db`.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: "The jobs database: a SQLite file, or a postgres:// URL (JOBS_DATABASE_URL, JOBS_DB, default ./jobs.db).")
    var database: String?

    /// `--db`, else JOBS_DATABASE_URL, else JOBS_DB (environment or .env), else ./jobs.db.
    var store: JobStoreLocation { Configuration().store(flag: database) }
}

/// Runs an operation and turns its errors into one line on stderr and exit status 1.
func runOperation<Result>(_ body: () throws -> Result) -> Result {
    do {
        return try body()
    } catch {
        exitWithError("\(error)", code: 1)
    }
}

/// Job ids from the command line: positive whole numbers, each named when wrong.
func parseJobIDs(_ texts: [String]) throws -> [Int64] {
    try texts.map { text in
        let trimmed = text.hasPrefix("#") ? String(text.dropFirst()) : text
        guard let id = Int64(trimmed), id > 0 else {
            throw ValidationError(
                "'\(text)' is not a job id; ids are whole numbers like 42 (see `reactor-worker list`)")
        }
        return id
    }
}

/// Prints a JSON value with sorted keys, for `--json`.
func printJSON(_ value: JSONValue) {
    print(value.jsonString(pretty: true))
}

/// "1 job", "3 jobs".
func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
