import Foundation
import Hummingbird
import JSON
import Jobs
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The dashboard and JSON API (docs/api.md), served by Hummingbird on threads of its own: one
/// NIO event loop for the sockets, Swift's task pool for the handlers, and the web side's own
/// database threads (`WebDatabase`, `EventHub`). It reaches the worker only through `jobs.db`
/// and `wake`, which must never block (in `run` it queues a change hint on the worker's loop).
public final class WebServer: Sendable {
    private let settings: WebSettings
    private let log: WorkerLog
    private let wake: @Sendable () -> Void

    public init(settings: WebSettings, log: WorkerLog, wake: @escaping @Sendable () -> Void = {}) {
        self.settings = settings
        self.log = log
        self.wake = wake
    }

    /// Binds and starts serving; returns the URL (`http://127.0.0.1:5001/`) once listening,
    /// or throws why it could not (the address is in use, the settings are refused).
    /// Safe to call once, from any thread; it waits at most `timeout` seconds.
    public func start(timeout: Double = 15) throws -> String {
        if let refusal = settings.refusal { throw WebServerError(message: refusal) }
        let boundPort = BoundPort(settings.address.port)
        let app = makeApplication(boundPort: boundPort)
        let started = DispatchSemaphore(value: 0)
        let state = StartOutcome()
        let urlHost = settings.address.urlHost
        let application = app.withServerRunning { channel in
            boundPort.set(channel.localAddress?.port ?? boundPort.value)
            state.value.withLock { $0 = .success("http://\(urlHost):\(boundPort.value)/") }
            started.signal()
        }
        Task.detached {
            do {
                try await application.run()
            } catch {
                state.value.withLock { value in if value == nil { value = .failure(error) } }
                started.signal()
            }
        }
        _ = started.wait(timeout: .now() + timeout)
        switch state.value.withLock({ $0 }) {
        case .success(let url)?:
            if !settings.readOnly { app.database.prepareSchema() }
            return url
        case .failure(let error)?:
            throw WebServerError(message: "cannot listen on \(settings.address): \(Self.describe(error))")
        case nil:
            throw WebServerError(
                message: "the dashboard did not start listening on \(settings.address) within \(Int(timeout)) s")
        }
    }

    private func makeApplication(boundPort: BoundPort) -> WebApplication {
        let redaction = Redaction(secrets: settings.secrets)
        let presenter = JobJSON(redaction: redaction, outputDirectory: settings.outputDirectory)
        let database = WebDatabase(store: settings.store, wake: wake)
        let hub = EventHub(store: settings.store, presenter: presenter, budgets: settings.budgets)
        let token = settings.token.flatMap { $0.isEmpty ? nil : AccessToken($0) }
        let csrf = AccessToken.random()
        let pages = Pages(settings: [
            "csrf": .string(csrf), "read_only": .bool(settings.readOnly), "notice": .optional(settings.notice),
            "max_upload_mb": .int(settings.maxUploadBytes >> 20), "login": .bool(token != nil),
            "version": .string(ReactorWorkerVersion.text),
        ])
        let router = Router(context: BasicRequestContext.self)
        JobsAPI(database: database, presenter: presenter).register(on: router)
        StatusAPI(database: database, hub: hub, budgets: settings.budgets).register(on: router)
        PipelinesAPI(database: database, presenter: presenter).register(on: router)
        PageRoutes(database: database, presenter: presenter, pages: pages, token: token).register(on: router)
        let responder = WebResponder(
            router: router.buildResponder(),
            guard: RequestGuard(
                settings: settings,
                hostCheck: HostCheck(address: settings.address, allowedNames: settings.allowedHosts),
                token: token, csrfToken: csrf, boundPort: boundPort),
            files: FilesRoute(outputDirectory: settings.outputDirectory),
            uploads: UploadsRoute(outputDirectory: settings.outputDirectory, maxBytes: settings.maxUploadBytes))
        var logger = Logger(label: "reactor-worker.web") { [log] _ in WorkerLogHandler(log: log) }
        logger.logLevel = .warning
        return WebApplication(
            database: database, responder: responder,
            configuration: ApplicationConfiguration(
                address: .hostname(settings.address.host, port: settings.address.port), serverName: nil),
            group: MultiThreadedEventLoopGroup(numberOfThreads: 1), logger: logger)
    }

    private static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("Address already in use") || text.contains("errno: 98") {
            return "the address is already in use"
        }
        return text
    }
}

/// How `start` ended: listening at a URL, or the error that stopped it.
private final class StartOutcome: Sendable {
    let value = Mutex<Result<String, any Error>?>(nil)
}

/// Why the dashboard does not run, in one line for the log.
public struct WebServerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// What `WebServer` starts: the responder, where to listen, and the callback once bound.
struct WebApplication: Sendable {
    let database: WebDatabase
    let responder: WebResponder
    let configuration: ApplicationConfiguration
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    var onRunning: @Sendable (any Channel) -> Void = { _ in }

    func withServerRunning(_ callback: @escaping @Sendable (any Channel) -> Void) -> WebApplication {
        var copy = self
        copy.onRunning = callback
        return copy
    }

    func run() async throws {
        let onRunning = onRunning
        let app = Application(
            responder: responder, configuration: configuration, onServerRunning: { onRunning($0) },
            eventLoopGroupProvider: .shared(group), logger: logger)
        try await app.run()
    }
}

/// Every request: the guard first, then `/files/`, uploads (streamed, so not through the
/// router's body handling) and the router.
struct WebResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let router: RouterResponder<BasicRequestContext>
    let `guard`: RequestGuard<BasicRequestContext>
    let files: FilesRoute
    let uploads: UploadsRoute

    func respond(to request: Request, context: Context) async throws -> Response {
        try await self.guard.handle(request, context: context) { request, context in
            let path = request.uri.path
            if path.hasPrefix("/files/") { return try await files.respond(to: request) }
            if path == "/api/uploads" {
                guard request.method == .post else { throw APIError(.methodNotAllowed, "uploads are sent with POST") }
                return try await uploads.respond(to: request)
            }
            return try await router.respond(to: request, context: context)
        }
    }
}

/// Hummingbird's own log lines (warnings and errors only) into the worker's log.
struct WorkerLogHandler: LogHandler {
    let log: WorkerLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        switch event.level {
        case .critical, .error: log.error("web: \(event.message)")
        case .warning: log.warning("web: \(event.message)")
        default: log.debug("web: \(event.message)")
        }
    }
}
