import Foundation
import JSON
import Jobs
import Reactor

/// A job as the API and the pages show it: the row's fields, its params and result with
/// every secret taken out, its outputs as `/files/` URLs, and a phase in words.
struct JobJSON: Sendable {
    let redaction: Redaction
    /// Absolute `OUTPUT_DIR`: only files beneath it get a URL.
    let outputDirectory: String

    /// The list view's row: no params or result (a page stays small), but a one-line summary
    /// and the outputs (the thumbnails).
    func summary(_ job: JobRecord, now: Double = Date().timeIntervalSince1970) -> JSONValue {
        var object = base(job, now: now)
        object["summary"] = .string(Self.summary(of: redaction.json(parsed(job.params)), type: job.type))
        object["outputs"] = .array(outputs(job))
        return .object(object)
    }

    /// What a live update carries for a changed row: the fields and the outputs (a finished
    /// job's thumbnail), not the summary, which does not change.
    func live(_ job: JobRecord, now: Double) -> JSONValue {
        var object = base(job, now: now)
        object["outputs"] = .array(outputs(job))
        return .object(object)
    }

    /// Everything about one job, for its page.
    func detail(_ job: JobRecord, now: Double = Date().timeIntervalSince1970) -> JSONValue {
        var object = base(job, now: now)
        let params = redaction.json(parsed(job.params))
        object["summary"] = .string(Self.summary(of: params, type: job.type))
        object["params"] = params
        object["result"] = job.result.map { redaction.json(parsed($0)) } ?? .null
        object["outputs"] = .array(outputs(job))
        object["lease_owner"] =
            job.columns.first { $0.name == "lease_owner" }?.value.string.map(JSONValue.string) ?? .null
        object["interruptions"] = .int(Int(job.columns.first { $0.name == "interruptions" }?.value.int ?? 0))
        return .object(object)
    }

    /// What the live table redraws when a row changes.
    private func base(_ job: JobRecord, now: Double) -> [String: JSONValue] {
        let taskID = job.columns.first { $0.name == "provider_task_id" }?.value.string
        let updated = job.columns.first { $0.name == "updated_at" }?.value.string
        return [
            "id": .number(Double(job.id)), "type": .string(job.type), "status": .string(job.status),
            "provider": .string(job.provider), "priority": .int(job.priority), "attempts": .int(job.attempts),
            "max_attempts": .int(job.maxAttempts), "progress": .number((job.progress * 1000).rounded() / 1000),
            "phase": .string(Self.phase(job, taskID: taskID, now: now)),
            "created_at": .optional(job.createdAt), "started_at": .optional(job.startedAt),
            "finished_at": .optional(job.finishedAt), "updated_at": .optional(updated),
            "run_after": job.runAfter > 0 ? .number(job.runAfter) : .null,
            "age_seconds": job.ageSeconds.map { .number(($0 * 10).rounded() / 10) } ?? .null,
            "run_seconds": job.runSeconds.map { .number(($0 * 10).rounded() / 10) } ?? .null,
            "provider_task_id": taskID.map { .string(redaction.text($0)) } ?? .null,
            "error": job.error.map { .string(redaction.text($0)) } ?? .null,
            "hold": job.isHeld ? .optional(job.hold) : .null,
            "cost_usd": job.costUSD.map(JSONValue.number) ?? .null,
            "cost_units": job.costUnits.map(JSONValue.number) ?? .null,
            "cost_unit": .optional(job.costUnit), "cost_note": .optional(job.costNote),
            "cost": .optional(job.costText),
            "pipeline_id": job.pipelineID.map { .number(Double($0)) } ?? .null, "step": .optional(job.step),
        ]
    }

    private func parsed(_ text: String) -> JSONValue {
        (try? JSONValue.parse(text)) ?? .string(text)
    }

    /// The job's output files beneath OUTPUT_DIR, each with its URL and kind (image, video, file).
    func outputs(_ job: JobRecord) -> [JSONValue] {
        guard let result = job.result, let files = (try? JSONValue.parse(result))?["files"]?.arrayValue else {
            return []
        }
        return files.compactMap { file -> JSONValue? in
            guard let path = file.stringValue, let url = FileURL.url(for: path, under: outputDirectory) else {
                return nil
            }
            let name = (path as NSString).lastPathComponent
            return ["name": .string(name), "url": .string(url), "kind": .string(MediaKind.of(name: name).rawValue)]
        }
    }

    /// "queued", "retry in 12 s", "provider task running", "cancelling", …: what the row says
    /// about where the job is, from its columns alone (the worker's own phase stays on its loop).
    static func phase(_ job: JobRecord, taskID: String?, now: Double) -> String {
        switch job.jobStatus {
        case .queued:
            if job.isHeld && job.runAfter > now { return "waiting for budget" }
            if job.runAfter > now { return "retry in \(Int((job.runAfter - now).rounded(.up))) s" }
            return job.attempts > 0 ? "waiting for attempt \(job.attempts + 1)" : "waiting for a slot"
        case .processing, .keyingProcessing:
            if let taskID, !taskID.isEmpty {
                let state = job.providerState.map { $0.lowercased() } ?? "submitted"
                return "provider task \(state)"
            }
            if job.provider == "ffmpeg" { return job.progress > 0 ? "ffmpeg" : "preparing" }
            return "calling \(job.provider)"
        case .waiting: return "waiting for earlier steps"
        case .cancelRequested: return "cancelling"
        case .completed: return "done"
        case .failed: return job.attempts > 1 ? "failed after \(job.attempts) attempts" : "failed"
        case .cancelled: return "cancelled"
        case nil: return job.status
        }
    }

    /// One line a person recognises the job by: its prompt, or what it works on.
    static func summary(of params: JSONValue, type: String) -> String {
        func input(_ value: JSONValue?) -> String? {
            guard let value else { return nil }
            if let id = value["job"]?.intValue { return "output of job \(id)" }
            if let text = value.stringValue { return (text as NSString).lastPathComponent }
            return nil
        }
        var text: String
        if let prompt = params["prompt"]?.stringValue, !prompt.isEmpty {
            text = prompt
        } else if let image = input(params["image"]) {
            text = image
        } else if let video = input(params["input"]) {
            text = video
        } else if let inputs = params["inputs"]?.arrayValue {
            text = inputs.compactMap(input).joined(separator: " + ")
        } else {
            text = ""
        }
        // A model worth naming: `dall-e-3`, not Leonardo's 36-character ids.
        if let model = params["model"]?.stringValue, !model.isEmpty, model.count <= 24, type == "image_generation" {
            text = "[\(model)] " + text
        }
        return text.count > 140 ? String(text.prefix(140)) + "…" : text
    }
}

/// How a file is previewed, by its name's extension.
enum MediaKind: String, Sendable {
    case image, video, file

    static func of(name: String) -> MediaKind {
        switch (name as NSString).pathExtension.lowercased() {
        case "png", "jpg", "jpeg", "webp", "gif": .image
        case "mp4", "webm", "mov", "m4v", "mkv": .video
        default: .file
        }
    }
}
