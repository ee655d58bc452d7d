import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker prune --older-than DURATION`: deletes old finished jobs and their files.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete finished jobs older than a given age, and their output folders.",
        discussion: """
            Deletes rows that are completed, failed or cancelled and finished longer ago than \
            --older-than, and each one's folder OUTPUT_DIR/<id>/. Queued and running jobs are never \
            touched. Durations: a number and a unit, s, m, h, d or w (7d, 12h, 30m, 1d12h).
            Examples:
              reactor-worker prune --older-than 7d --dry-run
              reactor-worker prune --older-than 30d --output-dir /srv/studio/outputs
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(name: .customLong("older-than"), help: "Age past which finished jobs go, e.g. 7d, 12h, 30m.")
    var olderThan: String

    @Option(name: .customLong("output-dir"), help: "Where job outputs are (OUTPUT_DIR, default ./outputs).")
    var outputDirectory: String?

    @Flag(name: .customLong("dry-run"), help: "List what would be deleted, and delete nothing.")
    var dryRun = false

    func validate() throws {
        do {
            _ = try DurationText.parse(olderThan)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let seconds = try DurationText.parse(olderThan)
        let outputs = Configuration().string("OUTPUT_DIR", flag: outputDirectory) ?? "./outputs"
        let entries = runOperation {
            try JobPruner(store: database.store, outputDirectory: outputs).prune(olderThan: seconds, dryRun: dryRun)
        }
        let verb = dryRun ? "would delete" : "deleted"
        var folders = 0
        var failures = 0
        for entry in entries {
            var line = "\(verb) job \(entry.id) (\(entry.type), \(entry.status) "
            line += "\(DurationText.format(entry.finishedSecondsAgo)) ago)"
            if let folder = entry.folder {
                if let problem = entry.folderError {
                    line += "; could not remove \(folder): \(problem)"
                    failures += 1
                } else {
                    line += " and \(folder)/"
                    folders += 1
                }
            }
            print(line)
        }
        let summary =
            entries.isEmpty
            ? "Nothing to prune: no finished jobs older than \(olderThan)."
            : "\(dryRun ? "Would delete" : "Deleted") \(plural(entries.count, "job")) and \(plural(folders, "output folder"))"
                + (dryRun ? " (dry run: nothing was changed)." : ".")
        print(summary)
        if failures > 0 {
            exitWithError("\(plural(failures, "output folder")) could not be removed; check their permissions", code: 1)
        }
    }
}
