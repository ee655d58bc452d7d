import Jobs

/// The handlers of this build: one provider engine per description in `ProviderCatalog`, and the
/// two media handlers on one ffmpeg pool.
enum HandlerCatalog {
    /// `throttle` paces every provider's requests across all their jobs (one per worker).
    static func registry(throttle: ProviderThrottle) -> HandlerRegistry {
        var registry = HandlerRegistry()
        for (type, api) in ProviderCatalog.apis() {
            registry.register(type, provider: api.name.key, ProviderEngine(api, throttle: throttle))
        }
        let media = MediaRuntime()  // One ffmpeg pool (MEDIA_POOL_SIZE) for keying and stitching.
        registry.register(.videoKeying, provider: ProviderName.media.key, VideoKeyingHandler(runtime: media))
        registry.register(.videoStitching, provider: ProviderName.media.key, VideoStitchingHandler(runtime: media))
        return registry
    }
}
