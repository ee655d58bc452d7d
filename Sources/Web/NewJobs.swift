import JSON
import Jobs

/// The jobs a `POST /api/jobs` body asks for, checked before anything is written:
/// `{"job_type": …, "params": {…}}` (also `"type"`, optional `priority`, `max_attempts`,
/// `count`), a list of those, or `{"jobs": [ … ]}`. Any problem in any job refuses the whole
/// request (400), each problem naming its field (`jobs[2].params.width`).
enum NewJobs {
    static func parse(_ body: JSONValue, limit: Int) throws -> [JobEnqueuer.NewJob] {
        let items: [JSONValue]
        let listed: Bool
        if let array = body.arrayValue {
            items = array
            listed = true
        } else if let array = body["jobs"]?.arrayValue {
            items = array
            listed = true
        } else if body.objectValue != nil {
            items = [body]
            listed = false
        } else {
            throw APIError.badRequest(
                "the body must be a job object {\"job_type\": …, \"params\": {…}}, a list of them, or {\"jobs\": […]}")
        }
        guard !items.isEmpty else { throw APIError.badRequest("the list of jobs is empty", field: "jobs") }
        var jobs: [JobEnqueuer.NewJob] = []
        var problems: [JobRequestCheck.Problem] = []
        for (index, item) in items.enumerated() {
            let prefix = listed ? "jobs[\(index)]." : ""
            let (made, found) = job(item, prefix: prefix)
            problems += found
            jobs += made
        }
        if jobs.count > limit && problems.isEmpty {
            problems.append(
                .init(field: "count", message: "at most \(limit) jobs per request, asked for \(jobs.count)"))
        }
        if !problems.isEmpty {
            var error = APIError.badRequest(
                problems.count == 1 ? problems[0].message : "\(problems.count) problems: " + problems[0].message + " …",
                field: problems[0].field)
            error.problems = problems
            throw error
        }
        return jobs
    }

    private static func job(_ item: JSONValue, prefix: String) -> ([JobEnqueuer.NewJob], [JobRequestCheck.Problem]) {
        func problem(_ field: String, _ message: String) -> JobRequestCheck.Problem {
            .init(field: prefix + field, message: (prefix.isEmpty ? "" : prefix.dropLast() + ": ") + message)
        }
        guard item.objectValue != nil else {
            return ([], [problem("job_type", "each job must be a JSON object, got \(item.typeName)")])
        }
        guard let type = (item["job_type"] ?? item["type"])?.stringValue else {
            return ([], [problem("job_type", "job_type is required: one of \(JobType.allNames)")])
        }
        let params = item["params"] ?? .object([:])
        var problems = JobRequestCheck.validate(type: type, params: params).map { problem($0.field, $0.message) }
        func whole(_ key: String, _ range: ClosedRange<Int>, default fallback: Int) -> Int {
            guard let value = item[key], !value.isNull else { return fallback }
            guard let number = value.intValue, range.contains(number) else {
                problems.append(
                    problem(key, "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)"))
                return fallback
            }
            return number
        }
        let priority = whole("priority", -1000...1000, default: 0)
        let attempts = whole("max_attempts", 1...20, default: 3)
        let count = whole("count", 1...100, default: 1)
        let job = JobEnqueuer.NewJob(type: type, params: params.jsonString(), priority: priority, maxAttempts: attempts)
        return (Array(repeating: job, count: count), problems)
    }
}
