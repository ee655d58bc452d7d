/// Runs one kind of job on the loop. Loop thread only.
///
/// `run` starts the work and returns at once; the handler calls `finish` exactly once, on the
/// loop, when the job completes or fails. Everything it starts through `context` (HTTP
/// requests, timers) is stopped for it when the job is cancelled or times out, after which
/// `finish` is ignored.
public protocol JobHandler {
    func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void)
}
