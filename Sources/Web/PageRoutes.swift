import Foundation
import Hummingbird
import JSON
import Jobs

/// The pages: the dashboard (`/`, filters in its query), a job (`/jobs/{id}`), the login
/// form, and the assets they load.
struct PageRoutes: Sendable {
    let database: WebDatabase
    let presenter: JobJSON
    let pages: Pages
    let token: AccessToken?

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { request, _ in try await dashboard(request) }
        router.get("/jobs/{id}") { _, context in try await job(context) }
        router.get("/assets/{name}") { request, context in
            try pages.asset(context.parameters.get("name") ?? "", ifNoneMatch: request.headers[.ifNoneMatch])
        }
        router.get("/login") { request, _ in
            pages.page(
                "login", data: ["next": .string(Self.safeNext(QueryString.parse(request.uri.query)["next"]?.last))])
        }
        router.post("/login") { request, _ in try await login(request) }
        router.post("/logout") { _, _ in
            var response = Response(status: .seeOther, headers: [.location: "/login"])
            response.headers[.setCookie] = "\(AccessToken.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
            return response
        }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
    }

    /// The dashboard with its first page of jobs already in it.
    func dashboard(_ request: Request) async throws -> Response {
        let query = QueryString.parse(request.uri.query)
        var filter = JobSearch.Filter()
        var problem: String?
        do {
            filter = try FilterQuery.filter(query)
        } catch let error as APIError {
            problem = error.message
        }
        let presenter = presenter
        let chosen = filter
        var data = try await database.read { reader in
            try JobsAPI.page(reader, filter: chosen, presenter: presenter, counted: false)
        }
        if let problem, case .object(var object) = data {
            object["filter_error"] = .string(problem)
            data = .object(object)
        }
        return pages.page("index", data: data)
    }

    func job(_ context: BasicRequestContext) async throws -> Response {
        let id = try JobsAPI.id(context)
        let presenter = presenter
        let detail = try await database.read { reader in try reader.search.job(id: id).map { presenter.detail($0) } }
        guard let detail else { return pages.page("job", data: ["missing": .number(Double(id))], status: .notFound) }
        return pages.page("job", data: detail)
    }

    /// The login form's POST: the token, checked in constant time; the cookie holds an HMAC of it.
    func login(_ request: Request) async throws -> Response {
        var body = try await request.body.collect(upTo: 16 << 10)
        let form = QueryString.parse(body.readString(length: body.readableBytes))
        let next = Self.safeNext(form["next"]?.last)
        guard let token else { return Response(status: .seeOther, headers: [.location: next]) }
        guard let given = form["token"]?.last, token.matches(given) else {
            return pages.page(
                "login", data: ["next": .string(next), "error": "That is not this dashboard's WEB_TOKEN."],
                status: .unauthorized)
        }
        var response = Response(status: .seeOther, headers: [.location: next])
        response.headers[.setCookie] =
            "\(AccessToken.cookieName)=\(token.sessionValue); Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000"
        return response
    }

    /// Where to go after logging in: a path on this server only (no `//host`, no scheme).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
            next.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) })
        else { return "/" }
        return next
    }
}
