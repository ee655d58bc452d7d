import HTTPTypes
import Hummingbird
import Synchronization

/// The checks every request passes before a route sees it, in this order:
///
/// 1. `Host` names this server (`HostCheck`: DNS rebinding).
/// 2. With `WEB_TOKEN` set, the request carries it: `Authorization: Bearer …` or the login
///    cookie. Pages without it are sent to `/login`; the API answers 401.
/// 3. A request that changes something (POST, PUT, PATCH, DELETE) comes from this origin:
///    a foreign `Origin` (or `Sec-Fetch-Site: cross-site`) is 403. A JSON body needs nothing
///    more (a browser cannot send `application/json` across origins without a preflight this
///    server never approves); any other body (a form, a multipart upload, raw bytes) needs the
///    page's CSRF token in `X-CSRF-Token`.
/// 4. `WEB_READ_ONLY=1` refuses every change.
///
/// It also turns errors into JSON for the API and adds the headers every answer carries.
struct RequestGuard<Context: RequestContext>: RouterMiddleware {
    let settings: WebSettings
    let hostCheck: HostCheck
    let token: AccessToken?
    let csrfToken: String
    let boundPort: BoundPort

    static var csrfHeader: HTTPField.Name { HTTPField.Name("X-CSRF-Token")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response: Response
        do {
            try check(request)
            response = try await next(request, context)
        } catch let error as APIError {
            response = try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no such page or endpoint" : "\(error.status)")
            response = try APIError(error.status, message).response(from: request, context: context)
        } catch {
            response = try APIError(.internalServerError, "the dashboard failed: \(error)").response(
                from: request, context: context)
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return response
    }

    private func check(_ request: Request) throws {
        guard hostCheck.allows(request.head.authority, port: boundPort.value) else {
            throw APIError.forbidden(
                "the Host header '\(request.head.authority ?? "")' does not name this server; open http://\(settings.address.urlHost):\(boundPort.value)/"
            )
        }
        let path = request.uri.path
        if let token, !Self.isPublic(path), !isAuthenticated(request, token) {
            if path.hasPrefix("/api/") || path.hasPrefix("/files/") {
                var error = APIError(
                    .unauthorized,
                    "this dashboard needs its token: send Authorization: Bearer WEB_TOKEN, or log in at /login")
                error.headers[.wwwAuthenticate] = "Bearer"
                throw error
            }
            var error = APIError(.seeOther, "log in at /login")
            error.headers[.location] = "/login?next=" + FileURL.encode(request.uri.path)
            throw error
        }
        guard Self.changes(request.method) else { return }
        if let origin = request.headers[.origin], origin != "http://\(request.head.authority ?? "")" {
            throw APIError.forbidden("cross-origin request from \(origin) refused; use the dashboard's own page")
        }
        if request.headers[HTTPField.Name("Sec-Fetch-Site")!] == "cross-site" {
            throw APIError.forbidden("cross-site request refused; use the dashboard's own page")
        }
        if path == "/login" || path == "/logout" { return }
        if settings.readOnly {
            throw APIError.forbidden(
                "this dashboard is read-only (WEB_READ_ONLY=1): it shows the queue but changes nothing")
        }
        let type = request.headers[.contentType]?.lowercased() ?? ""
        if !type.hasPrefix("application/json") {
            let given = request.headers[Self.csrfHeader] ?? ""
            guard AccessToken.sameBytes(Array(given.utf8), Array(csrfToken.utf8)) else {
                throw APIError.forbidden(
                    "a \(type.isEmpty ? "bodyless" : type) request needs the page's CSRF token in X-CSRF-Token (reload the page); scripts can send Content-Type: application/json instead"
                )
            }
        }
    }

    private func isAuthenticated(_ request: Request, _ token: AccessToken) -> Bool {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            return token.matches(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        }
        if let cookie = request.cookies[AccessToken.cookieName]?.value { return token.matchesSession(cookie) }
        return false
    }

    /// What anyone may load: the login form and what it needs.
    static func isPublic(_ path: String) -> Bool {
        path == "/login" || path == "/assets/app.css" || path == "/favicon.ico"
    }

    static func changes(_ method: HTTPRequest.Method) -> Bool {
        method == .post || method == .put || method == .patch || method == .delete
    }
}

/// The port the server really listens on (WEB_ADDRESS may say 0), set once it is bound.
final class BoundPort: Sendable {
    private let port: Atomic<Int>
    init(_ port: Int) { self.port = Atomic(port) }
    var value: Int { port.load(ordering: .relaxed) }
    func set(_ value: Int) { port.store(value, ordering: .relaxed) }
}
