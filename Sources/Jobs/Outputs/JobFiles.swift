import Dispatch
import Foundation
import Reactor

/// The output files of one running job: its folder, base64 outputs decoded and written, and
/// downloads, all without touching the disk from the loop. Loop thread only; owned by the
/// job's `JobContext`, whose cancellation stops what it started.
///
/// Every file-system step of a job runs on that job's writer queue (`OutputWriter`), in order:
/// the sweep of an earlier attempt's leftovers, the folder, each file's fsync and rename. Bytes
/// waiting for a writer count against the worker's `OutputBackPressure`, which pauses reading
/// provider answers while the disk is behind.
public final class JobFiles {
    /// `OUTPUT_DIR/<job id>/` and the temporary-name discipline.
    public let outputs: JobOutputs
    private let jobID: Int64
    private unowned let context: JobContext
    private let budget: OutputBackPressure
    /// Completions of file steps running on writer threads, by token.
    private var pending: [Int: (Result<String, JobFailure>) -> Void] = [:]
    private var nextToken = 0

    init(context: JobContext, outputs: JobOutputs, budget: OutputBackPressure) {
        self.context = context
        self.outputs = outputs
        jobID = context.job.id
        self.budget = budget
    }

    /// Removes temporary files a killed earlier attempt left in this job's folder, on the job's
    /// writer queue: it runs before any output this attempt writes there, and off the loop.
    func removeStaleOutputs() {
        let outputs = outputs
        OutputWriter.queue(for: jobID).async { outputs.removeStaleTemporaries() }
    }

    /// Makes this job's folder on its writer queue, after the stale sweep queued there when the
    /// job began; `completion` runs on the loop, unless the job was cancelled.
    public func prepareFolder(_ completion: @escaping (Result<Void, JobFailure>) -> Void) {
        let outputs = outputs
        onWriterQueue(
            bytes: 0,
            { () throws(JobFailure) in
                try outputs.prepare()
                return outputs.directory
            }
        ) { completion($0.map { _ in () }) }
    }

    /// Saves `files` one after another into the folder (downloading URLs, decoding base64 off the
    /// loop) and completes with their paths. Each step keeps only the files still to save: a
    /// base64 text (16 KB or more) is released once written, or 2,000 answers waiting for a
    /// writer would hold their images twice.
    public func save(
        _ files: [ProviderFile], provider: String, completion: @escaping (Result<[String], JobFailure>) -> Void
    ) {
        func next(_ remaining: ArraySlice<ProviderFile>, _ paths: [String], images: Int) {
            guard let file = remaining.first else { return completion(.success(paths)) }
            let rest = remaining.dropFirst()
            let number = file.name == nil ? images + 1 : images
            let saved = { (outcome: Result<String, JobFailure>) in
                switch outcome {
                case .success(let path): next(rest, paths + [path], images: number)
                case .failure(let failure): completion(.failure(failure))
                }
            }
            switch file.source {
            case .url(let url):
                let name = file.name ?? Self.imageName(number, url: url, fallback: file.fallbackExtension)
                download(url, as: name, provider: provider, completion: saved)
            case .base64(let encoded, let field, let kind):
                let invalid = JobFailure("\(provider) sent \(field) that is not valid base64", kind: kind)
                writeBase64(
                    encoded, name: file.name, stem: "image-\(number)", fallbackExtension: "png", invalid: invalid,
                    completion: saved)
            }
        }
        next(files[...], [], images: 0)
    }

    /// `image-N` plus the URL's extension when it names an image type, else `fallback` (CDN URLs
    /// sometimes end in no extension at all).
    static func imageName(_ number: Int, url: String, fallback: String) -> String {
        let ext = URL(string: url)?.pathExtension.lowercased() ?? ""
        return "image-\(number).\(["png", "jpg", "jpeg", "webp"].contains(ext) ? ext : fallback)"
    }

    /// Decodes base64 text (a provider's `b64_json`) and writes it as `name`, or as `stem` plus the
    /// extension its bytes show (`fallbackExtension` when unknown), all on a writer thread:
    /// decoding 16 KB of base64 costs the loop more than the rest of the job. Text that is not
    /// base64 fails with `invalid` as the job's error.
    public func writeBase64(
        _ encoded: String, name: String? = nil, stem: String, fallbackExtension: String, invalid: JobFailure,
        completion: @escaping (Result<String, JobFailure>) -> Void
    ) {
        let outputs = outputs
        context.phase = "saving"
        let decodeAndWrite = { @Sendable () throws(JobFailure) -> String in
            guard let data = Base64Image.decode(encoded), !data.isEmpty else { throw invalid }
            let fileName = name ?? "\(stem).\(MediaSniffer.fileExtension(for: data, default: fallbackExtension))"
            return try outputs.write(data, as: fileName)
        }
        onWriterQueue(bytes: encoded.utf8.count, decodeAndWrite, completion: completion)
    }

    /// Downloads `url` into the folder as `name` (temporary name, then fsync and rename). Nothing
    /// of it touches the disk from the loop: the folder is made and the finished file flushed and
    /// renamed on the job's writer queue, and the HTTP client writes the bytes on its download queues.
    public func download(
        _ url: String, as name: String, provider: String, completion: @escaping (Result<String, JobFailure>) -> Void
    ) {
        let outputs = outputs
        let temporary = outputs.temporaryPath(name)
        context.phase = "downloading"
        prepareFolder { [weak self] prepared in
            guard let self else { return }
            if case .failure(let failure) = prepared { return completion(.failure(failure)) }
            self.context.send(HTTPRequest(url: url, timeout: 0, downloadPath: temporary)) { [weak self] result in
                guard let self else { return }
                switch result {
                case .failure(let error):
                    completion(
                        .failure(.transient("could not download the \(provider) output from \(url): \(error.message)")))
                case .success(let response) where !response.isSuccess:
                    completion(
                        .failure(
                            .transient(
                                "downloading the \(provider) output from \(url) failed with HTTP \(response.status): \(response.bodyText(limit: 200))"
                            )))
                case .success:
                    let flushAndRename = { @Sendable () throws(JobFailure) -> String in
                        try outputs.commitDurably(temporary: temporary, as: name)
                    }
                    self.onWriterQueue(bytes: 0, flushAndRename, completion: completion)
                }
            }
        }
    }

    /// Runs `work` — a file-system step of this job — on its writer queue, in order with the
    /// job's other file work, with `bytes` counted against the output budget; `completion` runs
    /// on the loop with the result, unless the job was cancelled meanwhile.
    public func onWriterQueue(
        bytes: Int, _ work: @escaping @Sendable () throws(JobFailure) -> String,
        completion: @escaping (Result<String, JobFailure>) -> Void
    ) {
        let loop = context.loop
        nextToken += 1
        let token = nextToken
        // The completion stays here on the loop; the writer thread only carries Sendable values.
        pending[token] = completion
        let target = WeakLoopBound(self, on: loop)
        let budget = budget
        budget.reserve(bytes)
        OutputWriter.queue(for: jobID).async {
            let result = Result(catching: work)
            loop.execute {
                budget.release(bytes)
                guard let files = target.object, !files.context.isCancelled else { return }
                files.pending.removeValue(forKey: token)?(result)
            }
        }
    }

    /// Forgets every pending step: called when the job ends (cancelled, timed out or finished).
    func forgetPending() {
        pending.removeAll()
    }
}

@available(*, unavailable, message: "a job's files belong to the loop thread; writer threads get only Sendable values")
extension JobFiles: Sendable {}
