import Jobs

/// Every job type and provider this build of the worker can run.
enum HandlerCatalog {
    static func registry() -> HandlerRegistry {
        var registry = HandlerRegistry()
        registry.register(.imageGeneration, provider: "openai", OpenAIImageClient())
        return registry
    }
}
