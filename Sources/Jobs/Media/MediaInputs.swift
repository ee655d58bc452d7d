import Foundation
import JSON
import Reactor

/// Turns the video params of a media job into local files ffmpeg can read.
///
/// Paths and `{"job": ID}` resolve through the job's `InputResolver`. URLs are downloaded
/// first, on the loop through `JobContext.send` (curl-multi, like all of the worker's HTTP),
/// into a hidden temporary file in the job folder, which the job deletes when it ends. Why
/// not hand the URL to ffmpeg: the download then counts against the job's cancellation and
/// timeout like every other transfer, ffprobe and ffmpeg read the same bytes once (a URL
/// would be fetched twice, and could change in between), a failed download reads as an HTTP
/// error rather than an ffmpeg one, and the pool thread is not held while the bytes arrive.
/// Loop thread only.
enum MediaInputs {
    /// Local paths of `values` (in order) and the downloaded temporaries to delete afterwards.
    struct Fetched {
        var paths: [String] = []
        var downloads: [String] = []
    }

    /// Resolves `values` (named `key`, or `key[i]` when `indexed`) and downloads the URLs among
    /// them one after another. `completion` runs on the loop unless the job was cancelled.
    static func fetch(
        _ values: [JSONValue], key: String, indexed: Bool, context: JobContext,
        completion: @escaping (Result<Fetched, JobFailure>) -> Void
    ) {
        var resolved: [(name: String, input: MediaInput)] = []
        do {
            for (index, value) in values.enumerated() {
                let name = indexed ? "\(key)[\(index)]" : key
                resolved.append((name, try context.inputs.resolve(value, key: name, kind: .video)))
            }
        } catch {
            completion(.failure(error))
            return
        }
        next(resolved[...], fetched: Fetched(), context: context, completion: completion)
    }

    private static func next(
        _ remaining: ArraySlice<(name: String, input: MediaInput)>, fetched: Fetched, context: JobContext,
        completion: @escaping (Result<Fetched, JobFailure>) -> Void
    ) {
        guard let (name, input) = remaining.first else {
            completion(.success(fetched))
            return
        }
        var fetched = fetched
        switch input {
        case .file(let path):
            fetched.paths.append(path)
            next(remaining.dropFirst(), fetched: fetched, context: context, completion: completion)
        case .url(let url):
            let temporary = context.files.outputs.temporaryPath("input-\(fetched.paths.count + 1)")
            context.phase = "downloading"
            context.send(HTTPRequest(url: url, timeout: 0, downloadPath: temporary)) { result in
                if case .success(let response) = result, response.isSuccess {
                    fetched.paths.append(temporary)
                    fetched.downloads.append(temporary)
                    next(remaining.dropFirst(), fetched: fetched, context: context, completion: completion)
                    return
                }
                for path in fetched.downloads { unlink(path) }
                switch result {
                case .failure(let error):
                    completion(.failure(.transient("params.\(name): could not download \(url): \(error.message)")))
                case .success(let response) where !response.isSuccess:
                    let failure = "params.\(name): downloading \(url) failed with HTTP \(response.status)"
                    // A 4xx means the URL is wrong or gone; trying again will not change that.
                    let permanent =
                        (400..<500).contains(response.status) && response.status != 408
                        && response.status != 429
                    completion(.failure(permanent ? .permanent(failure) : .transient(failure)))
                case .success:
                    break  // Handled above.
                }
            }
        }
    }
}
