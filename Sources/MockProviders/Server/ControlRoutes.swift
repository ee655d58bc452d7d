import Hummingbird
import JSON

/// The mock's own endpoints under `/_mock/`: configuration, statistics, the request log, and the fixture files
/// that every download URL points at. These are never fault-injected, delayed or counted as provider requests.
///
/// - `GET /_mock/stats`, `GET /_mock/requests[?provider=P&since=SEQ]`, `POST /_mock/reset`
/// - `GET /_mock/tasks`: every async task created (the providers' accepted submits), newest first
/// - `GET /_mock/config`, `POST /_mock/config` (body: see `MockSettings.apply`)
/// - `GET /_mock/fixtures/image.png`, `GET /_mock/fixtures/video.mp4`
/// - `GET /_mock/files/<anything>.png|.mp4` (the URLs handed out in provider answers)
/// - `GET /_mock/health`
///
/// Every control GET accepts `?delay=S` (seconds, at most 5) to answer later; see `respond(to:)`.
struct ControlRoutes: Sendable {
    let services: MockServices

    func respond(to request: Request) async -> Response {
        let path = request.uri.path
        let method = request.method
        // `?delay=S` on any control GET answers after S seconds (at most 5): tests pace their polling loops with it
        // instead of sleeping on the client side.
        if method == .get, let text = request.uri.queryParameters["delay"], let delay = Double(String(text)),
            delay > 0
        {
            try? await Task.sleep(for: .seconds(min(delay, 5)))
        }
        if method == .get, path.hasPrefix("/_mock/files/") {
            return file(forPath: path)
        }
        switch (method, path) {
        case (.get, "/_mock/stats"):
            var stats = services.recorder.statsJSON()
            if case .object(var object) = stats {
                object["tasks"] = .int(services.tasks.count)
                stats = .object(object)
            }
            return MockReply.json(200, stats).response
        case (.get, "/_mock/requests"):
            return requestLog(request)
        case (.get, "/_mock/tasks"):
            return MockReply.json(200, .array(services.tasks.list(kind: nil).map(Self.json))).response
        case (.post, "/_mock/reset"):
            services.recorder.reset()
            return MockReply.json(200, ["reset": true]).response
        case (.get, "/_mock/config"):
            return MockReply.json(200, services.settings.snapshotJSON()).response
        case (.post, "/_mock/config"):
            return await updateConfig(request)
        case (.get, "/_mock/fixtures/image.png"):
            return fixture(services.fixtures.png, type: "image/png")
        case (.get, "/_mock/fixtures/video.mp4"):
            return fixture(services.fixtures.video, type: "video/mp4")
        case (.get, "/_mock/health"):
            return MockReply.json(
                200,
                [
                    "ok": true, "base_url": .string(services.baseURL),
                    "video_fixture": .string(services.fixtures.videoSource),
                ]
            ).response
        default:
            return MockReply.mockError(404, "no control route \(method.rawValue) \(path)").response
        }
    }

    private func requestLog(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        var provider: Provider?
        if let name = query["provider"] {
            guard let parsed = Provider(rawValue: String(name)) else {
                return MockReply.mockError(400, "unknown provider '\(name)'").response
            }
            provider = parsed
        }
        let since = query["since"].flatMap { Int($0) } ?? 0
        return MockReply.raw(200, services.recorder.requestsJSON(provider: provider, since: since)).response
    }

    private func updateConfig(_ request: Request) async -> Response {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: 1 << 20) else {
            return MockReply.mockError(413, "config body larger than 1 MiB").response
        }
        guard case .json(.object(let object)) = ParsedBody(Array(buffer.readableBytesView)) else {
            return MockReply.mockError(400, "POST /_mock/config needs a JSON object body").response
        }
        do {
            try services.settings.apply(object)
        } catch {
            return MockReply.mockError(400, error.message).response
        }
        return MockReply.json(200, services.settings.snapshotJSON()).response
    }

    /// A task as `GET /_mock/tasks` lists it: what each provider was asked to make, and how far it got.
    static func json(_ task: MockTask) -> JSONValue {
        [
            "id": .string(task.id), "kind": .string(task.kind.rawValue), "external_id": .optional(task.externalID),
            "created_at": .number(task.createdAt), "seconds": .number(task.duration),
            "phase": .string("\(task.phase())"),
            "details": .object(task.details),
        ]
    }

    private func file(forPath path: String) -> Response {
        if path.hasSuffix(".png") {
            services.recorder.countDownload()
            return fixture(services.fixtures.png, type: "image/png")
        }
        if path.hasSuffix(".mp4") {
            services.recorder.countDownload()
            let name = String(path.split(separator: "/").last?.dropLast(4) ?? "")
            var fields = HTTPFields()
            fields[.contentType] = "video/mp4"
            return Response(status: .ok, headers: fields, body: services.videos.responseBody(for: name))
        }
        return MockReply.mockError(404, "no fixture for \(path); download URLs end in .png or .mp4").response
    }

    private func fixture(_ bytes: ByteBuffer, type: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = type
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: bytes))
    }
}
