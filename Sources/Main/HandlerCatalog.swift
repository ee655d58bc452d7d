import Jobs

/// Every job type and provider this build of the worker can run: one registration line each.
enum HandlerCatalog {
    /// `throttle` paces every provider's requests across all their jobs (one per worker).
    static func registry(throttle: ProviderThrottle) -> HandlerRegistry {
        var registry = HandlerRegistry()
        func provider(_ type: JobType, _ api: any ProviderAPI) {
            registry.register(type, provider: api.name.key, ProviderEngine(api, throttle: throttle))
        }
        provider(.imageGeneration, OpenAIImages())
        provider(.imageGeneration, Leonardo())
        provider(.imageGeneration, Seedream())
        provider(.backgroundRemoval, Bria())
        provider(.styleAnalysis, OpenAIStyleAnalysis())
        provider(.animation, Kling())
        provider(.animation, Seedance())
        let media = MediaRuntime()  // One ffmpeg pool (MEDIA_POOL_SIZE) for keying and stitching.
        registry.register(.videoKeying, provider: ProviderName.media.key, VideoKeyingHandler(runtime: media))
        registry.register(.videoStitching, provider: ProviderName.media.key, VideoStitchingHandler(runtime: media))
        return registry
    }
}
