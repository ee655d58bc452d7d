import Hummingbird

/// One provider endpoint at its real path. `*` in `pattern` matches one path segment and is passed to the handler.
struct ProviderRoute: Sendable {
    let method: HTTPRequest.Method
    let pattern: [String]
    let provider: Provider
    /// True for requests that create work (counted under `submits` in `/_mock/stats`); polls are false.
    let isSubmit: Bool
    /// Answers the request; throws `ProviderFailure` for what the real API refuses.
    let handle: @Sendable (ProviderCall) async throws(ProviderFailure) -> MockReply

    init(
        _ method: HTTPRequest.Method, _ path: String, _ provider: Provider, submit: Bool,
        _ handle: @escaping @Sendable (ProviderCall) async throws(ProviderFailure) -> MockReply
    ) {
        self.method = method
        self.pattern = path.split(separator: "/").map(String.init)
        self.provider = provider
        self.isSubmit = submit
        self.handle = handle
    }
}

/// All provider routes, matched by walking path segments. With about a dozen routes a linear scan beats building a
/// trie, and it keeps the table readable in one place.
struct ProviderRouteTable: Sendable {
    let routes: [ProviderRoute]

    /// The seven APIs at their real paths.
    static let all = ProviderRouteTable(
        routes: OpenAIRoutes.routes + LeonardoRoutes.routes + ArkRoutes.routes + BriaRoutes.routes + KlingRoutes.routes
    )

    /// The route for `method` and `path` and the segments its wildcards matched; nil when none matches.
    func match(_ method: HTTPRequest.Method, _ path: String) -> (route: ProviderRoute, parameters: [String])? {
        let segments = path.split(separator: "/")
        for route in routes where route.method == method && route.pattern.count == segments.count {
            var parameters: [String] = []
            var matched = true
            for (expected, actual) in zip(route.pattern, segments) {
                if expected == "*" {
                    parameters.append(String(actual))
                } else if expected != actual {
                    matched = false
                    break
                }
            }
            if matched { return (route, parameters) }
        }
        return nil
    }

    /// The provider whose API a path belongs to (for logging unmatched requests), by its path prefix.
    static func provider(forPath path: String) -> Provider {
        if path.hasPrefix("/api/rest/") { return .leonardo }
        if path.hasPrefix("/api/v3/") { return .ark }
        if path.hasPrefix("/v2/") || path.hasPrefix("/v1/background") { return .bria }
        if path.hasPrefix("/v1/videos/") { return .kling }
        if path.hasPrefix("/v1/") { return .openai }
        return .unknown
    }
}
