import Foundation
import JSON

/// A pipeline as submitted: named steps, each a job, joined by what they pass on.
///
/// ```json
/// {"name": "hero shot", "steps": [
///   {"id": "still", "job_type": "image_generation", "params": {"provider": "leonardo", "prompt": "a fox"}},
///   {"id": "cutout", "job_type": "background_removal", "for_each": "still", "params": {"image": {"step": "still"}}}]}
/// ```
///
/// Parsing checks everything that can be checked before a row is written: unique step ids, known
/// job types, references to steps that exist, no cycle, and each step's params as its handler
/// will read them (`JobValidation`). Every problem names the step and the key.
public struct PipelineDocument: Sendable {
    public struct Step: Sendable {
        public var id: String
        public var type: JobType
        /// As submitted, `{"step": …}` references included.
        public var params: JSONValue
        /// The step whose output files this one runs over, one job per file.
        public var forEach: String?
        /// Steps that must complete first: the referenced ones, `after`, and `for_each`.
        public var needs: [String]
        /// Existing jobs (`{"job": ID}` inputs) that must complete first.
        public var needsJobs: [Int64]
        public var priority: Int
        public var maxAttempts: Int
    }

    public var name: String
    /// In an order where every step comes after the steps it needs.
    public var steps: [Step]

    public static func parse(_ text: String) throws(PipelineError) -> PipelineDocument {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw PipelineError("the pipeline is not valid JSON: \(error)")
        }
        return try parse(value)
    }

    public static func parse(_ value: JSONValue) throws(PipelineError) -> PipelineDocument {
        guard let object = value.objectValue else {
            throw PipelineError("a pipeline must be a JSON object with \"steps\", got \(value.typeName)")
        }
        let name = object["name"]?.stringValue ?? ""
        guard let rawSteps = object["steps"]?.arrayValue, !rawSteps.isEmpty else {
            throw PipelineError("steps must be a non-empty list of steps")
        }
        var steps: [Step] = []
        var seen: Set<String> = []
        for (position, raw) in rawSteps.enumerated() {
            let step = try parseStep(raw, position: position)
            guard seen.insert(step.id).inserted else {
                throw PipelineError("steps[\(position)]: the id '\(step.id)' is used by another step")
            }
            steps.append(step)
        }
        for step in steps {
            for need in step.needs where !seen.contains(need) {
                throw PipelineError("step '\(step.id)' refers to unknown step '\(need)'")
            }
            if step.forEach == step.id {
                throw PipelineError("step '\(step.id)': for_each cannot name the step itself")
            }
        }
        return PipelineDocument(name: name, steps: try ordered(steps))
    }

    private static func parseStep(_ raw: JSONValue, position: Int) throws(PipelineError) -> Step {
        guard let object = raw.objectValue else { throw PipelineError("steps[\(position)] must be an object") }
        guard let id = object["id"]?.stringValue, !id.isEmpty else {
            throw PipelineError("steps[\(position)]: id is required (a name such as \"still\")")
        }
        guard id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }), id.count <= 64 else {
            throw PipelineError("steps[\(position)]: id '\(id)' may hold only letters, digits, _ and - (64 at most)")
        }
        guard let typeName = object["job_type"]?.stringValue else {
            throw PipelineError("step '\(id)': job_type is required; one of: \(JobType.allNames)")
        }
        guard let type = JobType(rawValue: typeName) else {
            throw PipelineError("step '\(id)': unknown job_type '\(typeName)'; expected one of: \(JobType.allNames)")
        }
        let params = object["params"] ?? .object([:])
        guard case .object = params else { throw PipelineError("step '\(id)': params must be a JSON object") }
        let references = try PipelineReferences.references(in: params)
        var needs = references.map(\.step)
        var forEach: String?
        if let raw = object["for_each"] {
            guard let name = raw.stringValue else { throw PipelineError("step '\(id)': for_each must be a step id") }
            forEach = name
            needs.append(name)
        }
        if let raw = object["after"] {
            guard let list = raw.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw PipelineError("step '\(id)': after must be a list of step ids")
            }
            needs += list.compactMap(\.stringValue)
        }
        let priority = object["priority"]?.intValue ?? 0
        let maxAttempts = object["max_attempts"]?.intValue ?? 3
        guard maxAttempts >= 1 else { throw PipelineError("step '\(id)': max_attempts must be at least 1") }
        do {
            try JobValidation.check(type: typeName, params: JobParams.parse(params.jsonString()))
        } catch {
            throw PipelineError("step '\(id)': \(error.message)")
        }
        return Step(
            id: id, type: type, params: params, forEach: forEach, needs: Array(Set(needs)).sorted(),
            needsJobs: (try? JobParams.parse(params.jsonString())).map(InputResolver.referencedJobs) ?? [],
            priority: priority,
            maxAttempts: maxAttempts)
    }

    /// The steps with each after the ones it needs (Kahn's algorithm), or the cycle that prevents it.
    private static func ordered(_ steps: [Step]) throws(PipelineError) -> [Step] {
        var remaining = steps
        var placed: Set<String> = []
        var order: [Step] = []
        while !remaining.isEmpty {
            guard let next = remaining.firstIndex(where: { $0.needs.allSatisfy(placed.contains) }) else {
                throw PipelineError("the steps form a cycle: \(cycle(in: remaining).joined(separator: " → "))")
            }
            let step = remaining.remove(at: next)
            placed.insert(step.id)
            order.append(step)
        }
        return order
    }

    /// One cycle among `steps` (all of which wait on each other), for the message.
    private static func cycle(in steps: [Step]) -> [String] {
        let byID = Dictionary(uniqueKeysWithValues: steps.map { ($0.id, $0) })
        var path: [String] = []
        var current = steps[0].id
        while !path.contains(current) {
            path.append(current)
            guard let next = byID[current]?.needs.first(where: { byID[$0] != nil }) else { break }
            current = next
        }
        let start = path.firstIndex(of: current) ?? 0
        return Array(path[start...]) + [current]
    }
}
