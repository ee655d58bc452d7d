/// Everything a handler may use, created once at start-up and shared by all request tasks.
final class MockServices: Sendable {
    let settings: MockSettings
    let recorder: RequestRecorder
    let tasks: TaskStore
    let fixtures: Fixtures
    /// What video download URLs serve (the fixture, or a tagged and padded copy of it).
    let videos: VideoDownloads
    let random: RandomSource
    let kling: KlingCredentials
    /// Largest request body read; bigger bodies are answered 413 (real APIs cap far lower, e.g. 10 MB images).
    let maxBodySize: Int
    private let base: LockedState<String>

    init(
        settings: MockSettings, recorder: RequestRecorder, tasks: TaskStore, fixtures: Fixtures, random: RandomSource,
        kling: KlingCredentials, videos: VideoDownloads? = nil, maxBodySize: Int = 64 << 20
    ) {
        self.videos = videos ?? VideoDownloads(fixture: fixtures.video, tagged: false, size: 0)
        self.settings = settings
        self.recorder = recorder
        self.tasks = tasks
        self.fixtures = fixtures
        self.random = random
        self.kling = kling
        self.maxBodySize = maxBodySize
        base = LockedState("http://127.0.0.1")
    }

    /// `http://HOST:PORT` of the listening socket; set once the port is known, before the first request arrives.
    var baseURL: String {
        get { base.withLock { $0 } }
        set { base.withLock { $0 = newValue } }
    }
}

/// The Kling access/secret key pair the mock accepts in JWTs.
struct KlingCredentials: Sendable {
    let accessKey: String
    let secretKey: String
}
