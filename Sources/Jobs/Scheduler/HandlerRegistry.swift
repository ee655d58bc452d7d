/// Which handler runs a job: by `job_type`, then by provider. Unknown types and providers
/// become failures that list what is accepted.
public struct HandlerRegistry {
    private var handlers: [JobType: [String: any JobHandler]] = [:]

    public init() {}

    /// Registers `handler` for `type` jobs naming `provider` (or the type's default provider).
    public mutating func register(_ type: JobType, provider: String, _ handler: any JobHandler) {
        handlers[type, default: [:]][provider] = handler
    }

    /// The handler for a claimed job, or why there is none.
    public func handler(for job: Job, params: JobParams) throws(JobFailure) -> (
        provider: String, handler: any JobHandler
    ) {
        guard let type = job.type else {
            throw .permanent("unknown job_type '\(job.typeName)'; expected one of: \(JobType.allNames)")
        }
        let byProvider = handlers[type] ?? [:]
        let known = byProvider.keys.sorted().joined(separator: ", ")
        guard let provider = try params.string("provider") ?? type.defaultProvider else {
            throw .permanent("params.provider is required for \(type.rawValue); one of: \(known)")
        }
        guard let handler = byProvider[provider] else {
            if byProvider.isEmpty { throw .permanent("\(type.rawValue) jobs are not supported by this worker yet") }
            throw .permanent("unknown provider '\(provider)' for \(type.rawValue); expected one of: \(known)")
        }
        return (provider, handler)
    }

}
