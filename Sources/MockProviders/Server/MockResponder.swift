import Hummingbird

/// The mock's single HTTP entry point: `/_mock/…` goes to the control routes, everything else to the provider
/// routes. A hand-written dispatcher rather than Hummingbird's `Router` keeps the per-request path short and lets
/// unmatched provider paths be logged and answered in the provider's own 404 shape.
struct MockResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let services: MockServices
    let routes: ProviderRouteTable
    let pipeline: ProviderPipeline
    let control: ControlRoutes

    init(services: MockServices) {
        self.services = services
        routes = .all
        pipeline = ProviderPipeline(services: services)
        control = ControlRoutes(services: services)
    }

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/_mock/") {
            return await control.respond(to: request)
        }
        if let match = routes.match(request.method, path) {
            return await pipeline.respond(to: request, route: match.route, parameters: match.parameters)
        }
        return await pipeline.respondUnmatched(to: request, provider: ProviderRouteTable.provider(forPath: path))
    }
}
