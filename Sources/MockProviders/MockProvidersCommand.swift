import ArgumentParser
import Foundation
import Hummingbird

/// `mock-providers`: one HTTP server that imitates the seven provider APIs reactor-worker calls, at their real
/// paths, with knobs for latency and faults. Point the worker's `*_BASE_URL` variables at it.
///
/// After binding it prints exactly one line to stdout, `mock-providers listening on http://HOST:PORT`, which tests
/// parse to learn the port. SIGINT/SIGTERM end it at once (open `hang` requests are simply dropped).
@main
struct MockProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-providers",
        abstract: "Imitates the OpenAI, Leonardo, Ark (Seedream/Seedance), BRIA and Kling APIs on one port.",
        discussion: "Runtime control: POST /_mock/config, GET /_mock/stats, GET /_mock/requests, POST /_mock/reset. "
            + "See docs/mock-providers.md."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free port (read it from the first stdout line).")
    var port = 0

    @Option(help: "Seconds to wait before answering every provider request.")
    var latency: Double = 0

    @Option(help: "Latency override for OpenAI requests (seconds).")
    var latencyOpenai: Double?

    @Option(help: "Latency override for Leonardo requests (seconds).")
    var latencyLeonardo: Double?

    @Option(help: "Latency override for Ark (Seedream, Seedance) requests (seconds).")
    var latencyArk: Double?

    @Option(help: "Latency override for BRIA requests (seconds).")
    var latencyBria: Double?

    @Option(help: "Latency override for Kling requests (seconds).")
    var latencyKling: Double?

    @Option(help: "Seconds from submit until an async task reaches its terminal state.")
    var taskSeconds: Double = 1

    @Option(
        help:
            "Seconds a Kling or Seedance task takes, as MIN:MAX (drawn evenly per task) or one value; default --task-seconds."
    )
    var videoTaskSeconds: String?

    @Option(help: "Fraction of provider requests answered with 500/503 in the provider's error shape.")
    var failRate: Double = 0

    @Option(help: "Fraction answered with 429 and Retry-After (Kling: code 1302).")
    var rateLimitRate: Double = 0

    @Option(help: "Seconds sent in Retry-After.")
    var retryAfter: Double = 1

    @Option(help: "Fraction never answered (held until the client disconnects, at most one hour).")
    var hangRate: Double = 0

    @Option(help: "Fraction answered 200 with a body that is not valid JSON.")
    var malformedRate: Double = 0

    @Option(help: "Seed for the random fault draws and IDs (deterministic when set).")
    var seed: UInt64?

    @Option(help: "Kling access key (the JWT's iss) the mock accepts.")
    var klingAccessKey = "test-kling-access"

    @Option(help: "Kling secret key the JWT signature must be made with.")
    var klingSecretKey = "test-kling-secret"

    @Option(help: "MP4 file served for every video URL (default: generated with ffmpeg, else placeholder bytes).")
    var videoFixture: String?

    @Flag(help: "Write each video's task into the MP4 it downloads as (a `free` box), so tests can tell them apart.")
    var tagVideos = false

    @Option(help: "Size in bytes of every downloaded video (padded with a `free` box); 0 serves the fixture as is.")
    var videoBytes = 0

    @Option(help: "Bytes per second each video download is sent at (a CDN's per-connection rate); 0: unlimited.")
    var videoRate = 0

    @Option(help: "Most provider requests kept in the /_mock/requests log.")
    var logLimit = 100_000

    func validate() throws {
        for (name, value) in [
            ("--fail-rate", failRate), ("--rate-limit-rate", rateLimitRate), ("--hang-rate", hangRate),
            ("--malformed-rate", malformedRate),
        ] where !(0...1).contains(value) {
            throw ValidationError("\(name) must be a fraction between 0 and 1, got \(value)")
        }
        let seconds: [(String, Double?)] = [
            ("--latency", latency), ("--latency-openai", latencyOpenai), ("--latency-leonardo", latencyLeonardo),
            ("--latency-ark", latencyArk), ("--latency-bria", latencyBria), ("--latency-kling", latencyKling),
            ("--task-seconds", taskSeconds), ("--retry-after", retryAfter),
        ]
        for (name, value) in seconds {
            if let value, !(value >= 0 && value.isFinite) {
                throw ValidationError("\(name) must be a number of seconds >= 0, got \(value)")
            }
        }
        _ = try parsedVideoTaskSeconds()
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0…65535, got \(port)") }
        guard logLimit > 0 else { throw ValidationError("--log-limit must be positive, got \(logLimit)") }
        guard (0...(4 << 30)).contains(videoBytes) else {
            throw ValidationError("--video-bytes must be 0…4294967296, got \(videoBytes)")
        }
        guard videoRate >= 0 else {
            throw ValidationError("--video-rate must be bytes per second >= 0, got \(videoRate)")
        }
    }

    /// `--video-task-seconds` as a range: "20:60", or "30" for exactly 30.
    func parsedVideoTaskSeconds() throws -> ClosedRange<Double>? {
        guard let videoTaskSeconds else { return nil }
        let parts = videoTaskSeconds.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard (1...2).contains(parts.count), let low = parts.first!, let high = parts.last!, low >= 0,
            high >= low, high.isFinite
        else {
            throw ValidationError(
                "--video-task-seconds must be seconds as MIN:MAX (e.g. 20:60) or one number, got '\(videoTaskSeconds)'")
        }
        return low...high
    }

    /// The fault configuration the flags describe.
    var initialConfig: FaultConfig {
        var config = FaultConfig()
        config.latency = latency
        let overrides: [(Provider, Double?)] = [
            (.openai, latencyOpenai), (.leonardo, latencyLeonardo), (.ark, latencyArk), (.bria, latencyBria),
            (.kling, latencyKling),
        ]
        for case (let provider, let value?) in overrides { config.latencyByProvider[provider] = value }
        config.taskSeconds = taskSeconds
        config.videoTaskSeconds = try? parsedVideoTaskSeconds()
        config.failRate = failRate
        config.rateLimitRate = rateLimitRate
        config.retryAfter = retryAfter
        config.hangRate = hangRate
        config.malformedRate = malformedRate
        return config
    }

    func run() async throws {
        ProcessLimits.raiseOpenFileLimit()
        let fixtures = try Fixtures.load(videoPath: videoFixture)
        let random = RandomSource(seed: seed)
        let services = MockServices(
            settings: MockSettings(initial: initialConfig, random: random),
            recorder: RequestRecorder(limit: logLimit), tasks: TaskStore(), fixtures: fixtures, random: random,
            kling: KlingCredentials(accessKey: klingAccessKey, secretKey: klingSecretKey),
            videos: VideoDownloads(
                fixture: fixtures.video, tagged: tagVideos, size: videoBytes, bytesPerSecond: videoRate)
        )
        let urlHost = Self.urlHost(for: host)
        let app = Application(
            responder: MockResponder(services: services),
            // A deep accept backlog: benches open 2,000 connections at once.
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: port), serverName: nil, backlog: 4096),
            onServerRunning: { channel in
                let boundPort = channel.localAddress?.port ?? 0
                services.baseURL = "http://\(urlHost):\(boundPort)"
                // The base URL is set before the line goes out, so a client that reads it finds URLs ready.
                let line = "mock-providers listening on \(services.baseURL)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        )
        let signals = ProcessLimits.exitOnTerminationSignals()
        try await app.run()
        signals.forEach { $0.cancel() }
    }

    /// The host to put in URLs: a wildcard bind address is reached through loopback; IPv6 needs brackets.
    static func urlHost(for host: String) -> String {
        switch host {
        case "0.0.0.0", "": return "127.0.0.1"
        case "::": return "[::1]"
        default: return host.contains(":") ? "[\(host)]" : host
        }
    }
}
