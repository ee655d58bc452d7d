import Hummingbird

/// Runs one provider request through the mock's fixed sequence: count it, plan its outcome, read and log its body,
/// wait out the latency, then answer with a fault or with the provider handler.
///
/// Nothing here blocks a thread: waits are `Task.sleep`, and shared state is touched only through short locks.
struct ProviderPipeline: Sendable {
    let services: MockServices

    /// Answers a request that matched `route`.
    func respond(to request: Request, route: ProviderRoute, parameters: [String]) async -> Response {
        let headers: MockHeaders
        do {
            headers = try MockHeaders(request.headers)
        } catch {
            return MockReply.mockError(400, error.message).response
        }
        let recorder = services.recorder
        recorder.begin(route.provider, isSubmit: route.isSubmit)
        defer { recorder.finish() }
        let plan = services.settings.plan(for: route.provider, headers: headers)
        if plan.outcome == .hang {
            return await hang(request, provider: route.provider)
        }
        if plan.outcome == .holdAnswer {
            return await holdAnswer(request, route: route, parameters: parameters, plan: plan)
        }

        var request = request
        guard let bytes = await readBody(&request) else {
            return MockReply.mockError(413, "request body larger than \(services.maxBodySize) bytes").response
        }
        let body = ParsedBody(bytes)
        let seq = log(request, provider: route.provider, body: body, size: bytes.count, outcome: plan.outcome)
        if plan.latency > 0 {
            try? await Task.sleep(for: .seconds(plan.latency))
        }
        let reply: MockReply
        if let fault = FaultInjection.reply(for: plan, provider: route.provider, random: services.random) {
            reply = fault
        } else {
            let call = ProviderCall(
                head: request.head, parameters: parameters, body: body, plan: plan, services: services,
                baseURL: services.baseURL, now: Timestamps.now()
            )
            do {
                reply = try await route.handle(call)
            } catch {
                reply = ProviderErrorShapes.reply(
                    error, provider: route.provider, requestID: services.random.uuid(), retryAfter: plan.retryAfter
                )
            }
        }
        recorder.setStatus(seq, reply.status)
        return reply.response
    }

    /// Answers a request under a known provider prefix that matched no route, in that provider's 404 shape.
    func respondUnmatched(to request: Request, provider: Provider) async -> Response {
        let recorder = services.recorder
        recorder.begin(provider, isSubmit: false)
        defer { recorder.finish() }
        var request = request
        let bytes = await readBody(&request) ?? []
        let seq = log(request, provider: provider, body: ParsedBody(bytes), size: bytes.count, outcome: .ok)
        let description = "\(request.method.rawValue) \(request.uri.path)"
        let reply: MockReply
        switch provider {
        case .openai:
            reply = .json(
                404,
                [
                    "error": [
                        "message": .string("Invalid URL (\(description))"), "type": "invalid_request_error",
                        "param": nil, "code": nil,
                    ]
                ]
            )
        case .unknown:
            reply = .mockError(404, "mock-providers has no route for \(description)")
        default:
            reply = ProviderErrorShapes.reply(
                .notFound("route \(description)"), provider: provider, requestID: services.random.uuid(), retryAfter: 0
            )
        }
        recorder.setStatus(seq, reply.status)
        return reply.response
    }

    /// Holds the request open until the client goes away. The body is read inside
    /// `consumeWithCancellationOnInboundClose`, which cancels this task when the connection closes.
    private func hang(_ request: Request, provider: Provider) async -> Response {
        do {
            return try await request.body.consumeWithCancellationOnInboundClose { body in
                let buffer = try await body.collect(upTo: services.maxBodySize)
                let bytes = Array(buffer.readableBytesView)
                let seq = log(request, provider: provider, body: ParsedBody(bytes), size: bytes.count, outcome: .hang)
                guard await FaultInjection.waitForClientToLeave() else { throw CancellationError() }
                services.recorder.setStatus(seq, 504)
                return MockReply.mockError(504, "mock-providers hang outcome: gave up after one hour").response
            }
        } catch {
            // The client left; nobody reads this answer, and the log keeps status null for "never answered".
            return MockReply.mockError(499, "client closed the connection").response
        }
    }

    /// Runs the handler (a submit creates its task) inside `consumeWithCancellationOnInboundClose`, then holds the
    /// answer until the client goes away: the request log keeps status null for "never answered".
    private func holdAnswer(_ request: Request, route: ProviderRoute, parameters: [String], plan: RequestPlan) async
        -> Response
    {
        do {
            return try await request.body.consumeWithCancellationOnInboundClose { body in
                let buffer = try await body.collect(upTo: services.maxBodySize)
                let bytes = Array(buffer.readableBytesView)
                let parsed = ParsedBody(bytes)
                _ = log(request, provider: route.provider, body: parsed, size: bytes.count, outcome: .holdAnswer)
                let call = ProviderCall(
                    head: request.head, parameters: parameters, body: parsed, plan: plan, services: services,
                    baseURL: services.baseURL, now: Timestamps.now())
                _ = try? await route.handle(call)
                guard await FaultInjection.waitForClientToLeave() else { throw CancellationError() }
                return MockReply.mockError(504, "mock-providers hold_answer outcome: gave up after one hour").response
            }
        } catch {
            return MockReply.mockError(499, "client closed the connection").response
        }
    }

    private func readBody(_ request: inout Request) async -> [UInt8]? {
        do {
            let buffer = try await request.collectBody(upTo: services.maxBodySize)
            return Array(buffer.readableBytesView)
        } catch {
            return nil
        }
    }

    private func log(_ request: Request, provider: Provider, body: ParsedBody, size: Int, outcome: MockOutcome) -> Int {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(request.headers.count)
        for field in request.headers {
            let name = field.name.canonicalName
            if let index = headers.firstIndex(where: { $0.name == name }) {
                headers[index].value += ", " + field.value
            } else {
                headers.append((name: name, value: field.value))
            }
        }
        return services.recorder.log(
            provider: provider, method: request.method.rawValue, path: request.uri.path,
            query: request.uri.query ?? "", headers: headers, body: body.json, bodySize: size, outcome: outcome
        )
    }
}
