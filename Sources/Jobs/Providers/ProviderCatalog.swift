/// Every provider API this build knows, by the job type it serves: the one list a new provider
/// is added to. The worker builds its engines from it (`HandlerCatalog` in Main) and
/// `JobValidation` checks params against the same descriptions.
public enum ProviderCatalog {
    /// Fresh descriptions (cheap values; Kling's token cache is per call of this).
    public static func apis() -> [(type: JobType, api: any ProviderAPI)] {
        [
            (.imageGeneration, OpenAIImages()),
            (.imageGeneration, Leonardo()),
            (.imageGeneration, Seedream()),
            (.backgroundRemoval, Bria()),
            (.styleAnalysis, OpenAIStyleAnalysis()),
            (.animation, Kling()),
            (.animation, Seedance()),
        ]
    }

    /// The description for `provider` on `type`, nil when this build has none.
    public static func api(for type: JobType, provider: String) -> (any ProviderAPI)? {
        apis().first { $0.type == type && $0.api.name.key == provider }?.api
    }

    /// The provider keys a job type accepts, sorted.
    public static func providers(for type: JobType) -> [String] {
        if type.isMedia { return [ProviderName.media.key] }
        return apis().filter { $0.type == type }.map(\.api.name.key).sorted()
    }
}
