import ArgumentParser
import Foundation
import JSON
import Jobs

/// `reactor-worker submit FILE.json`: a pipeline of steps, inserted whole or not at all.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a pipeline (a JSON document of steps) and print its id and each step's job id.",
        discussion: """
            Every step becomes a job, all in one transaction. A step that references another with \
            {"step": "id"} (or lists it in "after", or runs "for_each" of its files) waits until that \
            step completes, then gets its files as inputs. An invalid document inserts nothing and \
            says which step and key are wrong. The format: docs/pipelines.md.
            Examples:
              reactor-worker submit hero-shot.json
              cat hero-shot.json | reactor-worker submit - --json
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The pipeline document, or - for standard input.")
    var file: String

    @Flag(help: "Print {\"pipeline\": P, \"jobs\": {\"step\": id, …}}.")
    var json = false

    func run() throws {
        let text: String
        if file == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                exitWithError("cannot read \(file): no such file, or not readable", code: 1)
            }
            text = String(decoding: data, as: UTF8.self)
        }
        let document: PipelineDocument
        do {
            document = try PipelineDocument.parse(text)
        } catch {
            exitWithError("the pipeline was not submitted: \(error.message)", code: 1)
        }
        let submitted: PipelineSubmission.Submitted
        do {
            submitted = try PipelineSubmission(store: database.store).submit(document, text: text)
        } catch let error as PipelineError {
            exitWithError("the pipeline was not submitted: \(error.message)", code: 1)
        } catch {
            exitWithError("cannot submit to \(database.store.description): \(error)", code: 1)
        }
        if json {
            print(submitted.json.jsonString())
        } else {
            print("pipeline \(submitted.pipeline)")
            for (step, id) in submitted.jobs { print("  \(step): job \(id)") }
        }
    }
}

/// `reactor-worker pipeline show P` and `pipeline list`.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline", abstract: "Look at pipelines: their steps, statuses, times and files.",
        subcommands: [Show.self, List.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One pipeline as a tree of its steps, each with its status, time and output files.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The pipeline's id (printed by submit).") var id: Int64
        @Flag(help: "Print the pipeline as one JSON object.") var json = false

        func run() throws {
            guard let pipeline = runOperation({ try PipelineView(store: database.store).pipeline(id) }) else {
                exitWithError("there is no pipeline \(id) in \(database.store)", code: 1)
            }
            if json { return printJSON(pipeline.json) }
            print(PipelineCommand.render(pipeline))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest pipelines, with how far each got.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "How many (default 50).") var limit = 50
        @Flag(help: "Print a JSON array.") var json = false

        func run() throws {
            let pipelines = runOperation { try PipelineView(store: database.store).list(limit: limit) }
            if json { return printJSON(.array(pipelines.map(\.json))) }
            guard !pipelines.isEmpty else { return print("No pipeline in \(database.store.description).") }
            var table = TextTable([
                .init(title: "ID", alignRight: true), .init(title: "NAME"), .init(title: "STATUS"),
                .init(title: "STEPS"), .init(title: "CREATED"),
            ])
            for pipeline in pipelines {
                let done = pipeline.statusCounts[JobStatus.completed.rawValue] ?? 0
                table.add([
                    String(pipeline.id), pipeline.name, pipeline.status, "\(done)/\(pipeline.jobs.count) completed",
                    pipeline.createdAt,
                ])
            }
            print(table.render())
        }
    }

    /// "pipeline 3 "hero shot": running", then a line per step, indented under what it needs.
    static func render(_ pipeline: PipelineView.Pipeline) -> String {
        var lines = [
            "pipeline \(pipeline.id) \"\(pipeline.name)\": \(pipeline.status)  (submitted \(pipeline.createdAt))"
        ]
        let bySteps = Dictionary(grouping: pipeline.jobs) { $0.step ?? "" }
        var printed: Set<String> = []
        func needs(_ job: JobRecord) -> [String] {
            (job.needs.flatMap { try? JSONValue.parse($0) })?["steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        func show(_ step: String, depth: Int) {
            guard !printed.contains(step), let jobs = bySteps[step] else { return }
            printed.insert(step)
            for job in jobs {
                let name = job.stepIndex.map { "\(step)[\($0)]" } ?? step
                var line =
                    String(repeating: "  ", count: depth + 1) + "\(name)  job \(job.id)  \(job.type)  \(job.status)"
                if let seconds = job.runSeconds { line += "  \(DurationText.format(seconds))" }
                lines.append(line)
                for file in job.files { lines.append(String(repeating: "  ", count: depth + 3) + file) }
                if let error = job.error, job.jobStatus != .completed {
                    lines.append(String(repeating: "  ", count: depth + 3) + "error: \(error)")
                }
            }
            for other in pipeline.jobs.compactMap(\.step).uniqued() where needs(bySteps[other]![0]).contains(step) {
                show(other, depth: depth + 1)
            }
        }
        for root in pipeline.jobs.compactMap(\.step).uniqued() where needs(bySteps[root]![0]).isEmpty {
            show(root, depth: 0)
        }
        for step in pipeline.jobs.compactMap(\.step).uniqued() { show(step, depth: 0) }  // Steps needing only jobs.
        return lines.joined(separator: "\n")
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    fileprivate func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
