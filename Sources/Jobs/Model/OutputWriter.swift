import Dispatch
import Foundation
import Reactor

/// Writes job output files off the loop thread.
///
/// Creating the job folder, writing the file, its fsync and the rename cost from 0.6 to over
/// 100 ms per file on a busy disk (bench/RESULTS.md), all of which stalled every other job while
/// the loop did them. A few serial queues (files of one job stay in order on one of them) do it
/// instead, and the result returns to the loop through `EventLoop.execute`. Eight, because the
/// fsyncs wait on the disk rather than the CPU: at L = 0 eight gave 3,145 and 2,782 jobs/s
/// against 2,669 and 2,667 with four in paired runs, and sixteen fell to 2,080 (ext4 lock
/// contention on two cores).
enum OutputWriter {
    static let queues = (0..<8).map { DispatchQueue(label: "reactor-worker.outputs.\($0)") }

    static func queue(for jobID: Int64) -> DispatchQueue {
        queues[Int(UInt64(bitPattern: jobID) % UInt64(queues.count))]
    }
}

/// Lets a writer thread name a job context without owning it: releasing this box never runs
/// the context's deinit off the loop. @unchecked Sendable: the weak reference is only loaded on
/// the loop thread (inside `EventLoop.execute`).
private final class WeakContext: @unchecked Sendable {
    weak var context: JobContext?
    init(_ context: JobContext) { self.context = context }
}

extension JobContext {
    /// Removes temporary files a killed earlier attempt left in this job's folder, on the job's
    /// writer queue: it runs before any output this attempt writes there, and off the loop.
    func removeStaleOutputs() {
        let outputs = outputs
        OutputWriter.queue(for: job.id).async { outputs.removeStaleTemporaries() }
    }

    /// Makes this job's folder on its writer queue, after the stale sweep `removeStaleOutputs`
    /// queued there when the job began; `completion` runs on the loop, unless the job was cancelled.
    func prepareFolder(_ completion: @escaping (Result<Void, JobFailure>) -> Void) {
        let outputs = outputs
        onWriterQueue(
            bytes: 0,
            { () throws(JobFailure) in
                try outputs.prepare()
                return outputs.directory
            }
        ) { completion($0.map { _ in () }) }
    }

    /// Decodes base64 text (a provider's `b64_json`) and writes it as `stem` plus the extension
    /// its bytes show (`fallbackExtension` when unknown), all on a writer thread: decoding 16 KB
    /// of base64 cost the loop over 100k instructions per image (bench/RESULTS.md). Text that
    /// is not base64 fails with `invalid` as the job's error.
    public func writeBase64Output(
        _ encoded: String, stem: String, fallbackExtension: String, invalid: JobFailure,
        completion: @escaping (Result<String, JobFailure>) -> Void
    ) {
        let outputs = outputs
        phase = "saving"
        let decodeAndWrite = { @Sendable () throws(JobFailure) -> String in
            guard let data = Base64Image.decode(encoded), !data.isEmpty else { throw invalid }
            let ext = MediaSniffer.fileExtension(for: data, default: fallbackExtension)
            return try outputs.write(data, as: "\(stem).\(ext)")
        }
        onWriterQueue(bytes: encoded.utf8.count, decodeAndWrite, completion: completion)
    }

    /// Runs `work` — a file-system step of this job — on its writer queue, in order with the
    /// job's other file work, with `bytes` counted against the output budget; `completion` runs
    /// on the loop with the result, unless the job was cancelled meanwhile.
    func onWriterQueue(
        bytes: Int, _ work: @escaping @Sendable () throws(JobFailure) -> String,
        completion: @escaping (Result<String, JobFailure>) -> Void
    ) {
        let loop = loop
        // The completion stays here on the loop; the writer thread only carries Sendable values.
        let token = registerOutputWrite(completion)
        let target = WeakContext(self)
        let budget = outputBudget
        budget.reserve(bytes)
        OutputWriter.queue(for: job.id).async {
            let result = Result(catching: work)
            loop.execute {
                budget.release(bytes)
                guard let context = target.context, !context.isCancelled else { return }
                context.takeOutputWrite(token)?(result)
            }
        }
    }
}
