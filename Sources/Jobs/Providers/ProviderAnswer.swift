import Foundation
import JSON
import Reactor

/// A successful (2xx) provider answer read as JSON, with accessors whose failures name the
/// provider, the HTTP status and the field that was missing — the words a user reads in the
/// job's `error`. Plain value; any thread.
struct ProviderAnswer {
    /// The provider's display name ("Leonardo", "Kling", …).
    let api: String
    let status: Int
    let json: JSONValue
    /// Whether a broken answer is worth another attempt: not after a submit (the task may exist
    /// already and a second submit pays twice), yes after a poll (asking again is free).
    let kind: JobFailure.Kind
    private let excerpt: String

    /// Parses `response`; a body that is not JSON fails with `kind`, quoting the start of it.
    init(_ response: HTTPResponse, api: String, kind: JobFailure.Kind) throws(JobFailure) {
        self.api = api
        status = response.status
        self.kind = kind
        excerpt = response.bodyText(limit: 200)
        do {
            json = try JSONValue.parse(response.body)
        } catch {
            let shown = response.body.isEmpty ? "an empty body" : "a body that is not JSON: \(excerpt)"
            throw JobFailure("\(api) answered HTTP \(response.status) with \(shown)", kind: kind)
        }
    }

    /// The value at a dotted path ("data.task_result.videos.0.url"; numbers index arrays).
    func value(_ path: String) -> JSONValue? {
        var node: JSONValue? = json
        for part in path.split(separator: ".") {
            guard let current = node else { return nil }
            if let index = Int(part), case .array = current {
                node = current[index]
            } else {
                node = current[String(part)]
            }
        }
        if let node, node.isNull { return nil }
        return node
    }

    /// The non-empty string at `path`, or nil.
    func string(_ path: String) -> String? {
        guard let text = value(path)?.stringValue, !text.isEmpty else { return nil }
        return text
    }

    /// The non-empty string at `path`, or the failure naming what was missing.
    func requiredString(_ path: String) throws(JobFailure) -> String {
        guard let text = string(path) else { throw missing(path) }
        return text
    }

    /// The failure for an answer without `what`.
    func missing(_ what: String) -> JobFailure {
        JobFailure("\(api) answered HTTP \(status) without \(what): \(excerpt)", kind: kind)
    }
}

/// One output file as a provider hands it over.
enum ProviderOutput: Equatable {
    /// To download (short-lived: fetched in the same run).
    case url(String)
    /// Base64 text in the answer itself (`b64_json`), decoded on a writer thread. When it is not
    /// base64 the job fails naming `field`, as `kind`: whatever the client treats a malformed
    /// answer as (Seedream: final).
    case base64(String, field: String, kind: JobFailure.Kind)
}

/// What one poll of a provider task found.
enum TaskPoll<Output> {
    /// Still running; `state` is the provider's own word for it ("PENDING", "processing", …).
    case pending(state: String)
    /// Finished well.
    case done(Output)
}

extension JobContext {
    /// Seconds rounded to milliseconds, as results report `provider_seconds`.
    static func roundedSeconds(_ seconds: Double) -> JSONValue { .number((seconds * 1000).rounded() / 1000) }

    /// The `result` every provider job reports: its files, the provider, the task id and the
    /// time spent waiting on the provider, plus what the job type adds in `extra`.
    func providerResult(
        files: [String], taskID: String?, providerSeconds: Double, extra: [String: JSONValue] = [:]
    ) -> JSONValue {
        var result = extra
        result["files"] = .array(files.map { .string($0) })
        result["provider"] = .string(provider)
        result["provider_task_id"] = taskID.map { .string($0) } ?? .null
        result["provider_seconds"] = Self.roundedSeconds(providerSeconds)
        return .object(result)
    }

    /// Saves the images `outputs` one after another into this job's folder as `image-1`,
    /// `image-2`, … (downloading URLs, decoding base64 off the loop); completes with the paths.
    /// `urlFallback` is the extension of a downloaded image whose URL shows none.
    func saveImages(
        _ outputs: [ProviderOutput], api: String, urlFallback: String = "jpg",
        completion: @escaping (Result<[String], JobFailure>) -> Void
    ) {
        // Each step passes on only the images still to save: a base64 text (16 KB or more) is
        // released once written, or the 2,000 answers waiting for a writer hold half the memory.
        func next(_ remaining: [ProviderOutput], _ files: [String]) {
            guard let output = remaining.first else {
                completion(.success(files))
                return
            }
            let rest = Array(remaining.dropFirst())
            let saved = { (outcome: Result<String, JobFailure>) in
                switch outcome {
                case .success(let path): next(rest, files + [path])
                case .failure(let failure): completion(.failure(failure))
                }
            }
            let stem = "image-\(files.count + 1)"
            switch output {
            case .url(let url):
                let known: Set = ["png", "jpg", "jpeg", "webp"]
                let name = Self.outputName(stem, url: url, known: known, fallback: urlFallback)
                download(url, as: name, provider: api, completion: saved)
            case .base64(let encoded, let field, let kind):
                let invalid = JobFailure("\(api) sent \(field) that is not valid base64", kind: kind)
                writeBase64Output(encoded, stem: stem, fallbackExtension: "png", invalid: invalid, completion: saved)
            }
        }
        next(outputs, [])
    }

    /// A file name for an output downloaded from `url`: `stem` plus the URL's extension when it
    /// is one of `known`, else `fallback` (CDN URLs sometimes end in no extension at all).
    static func outputName(_ stem: String, url: String, known: Set<String>, fallback: String) -> String {
        let ext = URL(string: url)?.pathExtension.lowercased() ?? ""
        return "\(stem).\(known.contains(ext) ? ext : fallback)"
    }
}

extension JobContext {
    /// Downloads the one output file of a finished provider task into this job's folder and
    /// completes the job with it, or fails it with the download's error.
    func completeWithDownload(
        _ url: String, as name: String, provider: String, taskID: String, startedAt: Double,
        finish: @escaping (JobOutcome) -> Void
    ) {
        let waited = loop.now - startedAt
        download(url, as: name, provider: provider) { downloaded in
            switch downloaded {
            case .failure(let failure): finish(.failed(failure))
            case .success(let file):
                finish(.completed(result: self.providerResult(files: [file], taskID: taskID, providerSeconds: waited)))
            }
        }
    }
}
