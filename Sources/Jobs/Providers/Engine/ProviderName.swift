/// A provider's one name: `key` is what users write in `params.provider` and in
/// `<KEY>_MAX_CONCURRENT`, `_RATE_PER_MIN` and `_POLL_SECONDS`, and what the concurrency gate,
/// throttle and metrics count by; `display` is how errors and logs name it ("Seedream (Ark) API
/// error …"). Both are given once, in the provider's description; nothing else spells them.
public struct ProviderName: Hashable, Sendable, CustomStringConvertible {
    public let key: String
    public let display: String

    public init(key: String, display: String) {
        self.key = key
        self.display = display
    }

    /// The prefix of this provider's settings: "kling" → `KLING_POLL_SECONDS`.
    public var settingsPrefix: String { key.uppercased() }

    public var description: String { key }

    /// The gate key of the media jobs (ffmpeg on this machine); they have no provider API.
    public static let media = ProviderName(key: "ffmpeg", display: "ffmpeg")
}
