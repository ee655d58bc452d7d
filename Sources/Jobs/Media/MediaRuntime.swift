import JSON

/// What the keying and stitching handlers share: one `MediaPool` for the whole worker.
///
/// The pool is made on first use, sized from that job's `WorkerSettings.mediaPoolSize`,
/// because the handler catalog is built before the settings are read. Loop thread only.
public final class MediaRuntime {
    private var pool: MediaPool?

    /// A runtime whose pool is made on first use; tests may hand in their own pool.
    public init(pool: MediaPool? = nil) {
        self.pool = pool
    }

    /// The worker's media pool.
    func pool(for settings: WorkerSettings) -> MediaPool {
        if let pool { return pool }
        let made = MediaPool(size: settings.mediaPoolSize)
        pool = made
        return made
    }

    /// The common start of both media jobs: find the tools, prepare the job folder (removing
    /// what a crashed earlier attempt left there) and fetch the inputs. Then `body` runs with
    /// the local input paths; failures go to `finish`.
    func prepare(
        _ values: [JSONValue], key: String, indexed: Bool, context: JobContext,
        finish: @escaping (JobOutcome) -> Void,
        body: @escaping (MediaTools, MediaPool, MediaInputs.Fetched) -> Void
    ) {
        let tools: MediaTools
        do throws(JobFailure) {
            tools = try MediaTools.locate(settings: context.settings)
        } catch {
            finish(.failed(error))
            return
        }
        let pool = pool(for: context.settings)
        // The folder is made off the loop; the stale sweep already ran there when the job began.
        context.files.prepareFolder { prepared in
            if case .failure(let failure) = prepared { return finish(.failed(failure)) }
            MediaInputs.fetch(values, key: key, indexed: indexed, context: context) { result in
                switch result {
                case .failure(let failure): finish(.failed(failure))
                case .success(let fetched): body(tools, pool, fetched)
                }
            }
        }
    }
}
