import Jobs

/// Every job type and provider this build of the worker can run.
enum HandlerCatalog {
    static func registry() -> HandlerRegistry {
        var registry = HandlerRegistry()
        registry.register(.imageGeneration, provider: "openai", OpenAIImageClient())
        registry.register(.imageGeneration, provider: "leonardo", LeonardoClient())
        registry.register(.imageGeneration, provider: "bytedance", SeedreamClient())
        registry.register(.backgroundRemoval, provider: "bria", BriaBackgroundRemovalClient())
        registry.register(.styleAnalysis, provider: "openai", OpenAIStyleAnalysisClient())
        registry.register(.animation, provider: "kling", KlingClient())
        registry.register(.animation, provider: "seedance", SeedanceClient())
        let media = MediaRuntime()  // One ffmpeg pool (MEDIA_POOL_SIZE) for keying and stitching.
        registry.register(.videoKeying, provider: "ffmpeg", VideoKeyingHandler(runtime: media))
        registry.register(.videoStitching, provider: "ffmpeg", VideoStitchingHandler(runtime: media))
        return registry
    }
}
