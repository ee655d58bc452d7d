import Foundation
import JSON
import Reactor

/// Runs the whole life of a provider job for any `ProviderAPI`: the one `JobHandler` of all
/// seven provider clients. What the life is, step by step, is `ProviderRun`.
public struct ProviderEngine: JobHandler {
    let api: any ProviderAPI
    /// Request pacing shared by every job of the worker (rates and Retry-After pauses).
    let throttle: ProviderThrottle

    public init(_ api: any ProviderAPI, throttle: ProviderThrottle) {
        self.api = api
        self.throttle = throttle
    }

    public var provider: ProviderName { api.name }

    public func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) {
        ProviderRun(api: api, context: context, throttle: throttle, finish: finish).start()
    }
}

/// The provider's word a job's row keeps in `provider_state` while a submit's fate is unknown:
/// its answer was lost and the task could not be looked up yet. The next run looks first.
enum ProviderState {
    static let unconfirmedSubmit = "submit unconfirmed"
}
