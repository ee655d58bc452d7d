import Foundation
import JSON
import Jobs

/// The jobs filter from a URL query (`?status=failed,queued&type=animation&provider=kling&q=fox`)
/// or from a bulk action's JSON, checked word by word: an unknown word is a 400 naming it.
enum FilterQuery {
    /// `running` is the statuses a worker holds (what `sqlite3 … status IN (…)` finds, and
    /// jobs whose cancel is pending).
    static let aliases: [String: [JobStatus]] = ["running": [.processing, .keyingProcessing, .cancelRequested]]

    static var knownProviders: [String] {
        Array(Set(JobRequestCheck.providers.values.joined())).sorted()
    }

    /// Reads `status`, `type`, `provider`, `q`, `before`, `limit` (lists comma-separated or repeated).
    static func filter(_ values: [String: [String]]) throws -> JobSearch.Filter {
        func words(_ key: String) -> [String] {
            (values[key] ?? []).flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        var filter = JobSearch.Filter()
        for word in words("status") {
            if let statuses = aliases[word] {
                filter.statuses += statuses
            } else if let status = JobStatus(rawValue: word) {
                filter.statuses.append(status)
            } else {
                let known = (JobStatus.allCases.map(\.rawValue) + aliases.keys).joined(separator: ", ")
                throw APIError.badRequest("unknown status '\(word)'; one of: \(known)", field: "status")
            }
        }
        for word in words("type") {
            guard JobType(rawValue: word) != nil else {
                throw APIError.badRequest("unknown job type '\(word)'; one of: \(JobType.allNames)", field: "type")
            }
            filter.types.append(word)
        }
        for word in words("provider") {
            guard knownProviders.contains(word) else {
                throw APIError.badRequest(
                    "unknown provider '\(word)'; one of: \(knownProviders.joined(separator: ", "))", field: "provider")
            }
            filter.providers.append(word)
        }
        if let text = values["q"]?.last?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard text.count <= 200 else { throw APIError.badRequest("q is longer than 200 characters", field: "q") }
            filter.text = text
        }
        if let before = values["before"]?.last, !before.isEmpty {
            guard let id = Int64(before), id > 0 else {
                throw APIError.badRequest(
                    "before must be a job id (a positive whole number), got '\(before)'", field: "before")
            }
            filter.before = id
        }
        if let limit = values["limit"]?.last, !limit.isEmpty {
            guard let count = Int(limit), (1...200).contains(count) else {
                throw APIError.badRequest("limit must be a whole number from 1 to 200, got '\(limit)'", field: "limit")
            }
            filter.limit = count
        }
        return filter
    }

    /// The same keys from a JSON object (`{"status": ["failed"], "q": "fox"}`; strings or lists).
    static func filter(json: JSONValue?, field: String) throws -> JobSearch.Filter {
        guard let json, !json.isNull else { return JobSearch.Filter() }
        guard let object = json.objectValue else {
            throw APIError.badRequest("\(field) must be a JSON object such as {\"status\": \"failed\"}", field: field)
        }
        var values: [String: [String]] = [:]
        for (key, value) in object {
            switch value {
            case .string(let text): values[key] = [text]
            case .number(let number): values[key] = [value.intValue.map(String.init) ?? "\(number)"]
            case .array(let items):
                values[key] = try items.map { item in
                    guard let text = item.stringValue else {
                        throw APIError.badRequest("\(field).\(key) must list strings", field: "\(field).\(key)")
                    }
                    return text
                }
            case .null: continue
            default: throw APIError.badRequest("\(field).\(key) must be a string or a list", field: "\(field).\(key)")
            }
        }
        do {
            return try filter(values)
        } catch var error as APIError {
            error.field = error.field.map { "\(field).\($0)" }
            throw error
        }
    }

    /// The filter as JSON, for the page to show what it filters by.
    static func json(_ filter: JobSearch.Filter) -> JSONValue {
        [
            "status": .array(filter.statuses.map { .string($0.rawValue) }),
            "type": .array(filter.types.map(JSONValue.string)),
            "provider": .array(filter.providers.map(JSONValue.string)), "q": .optional(filter.text),
        ]
    }
}
