import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Jobs

/// `GET /api/stats`, `GET /api/workers` and the live `GET /api/events` (Server-Sent Events).
struct StatusAPI: Sendable {
    let database: WebDatabase
    let hub: EventHub
    let budgets: DailyBudgets

    func register(on router: Router<BasicRequestContext>) {
        router.get("/api/stats") { _, _ in
            let budgets = budgets
            let stats = try await database.read { reader in
                try DashboardStats.read(reader.connection, budgets: budgets).json
            }
            return JSONReply.response(stats)
        }
        router.get("/api/workers") { _, _ in
            let workers = try await database.read { reader in try WorkerRow.readAll(reader.connection) }
            return JSONReply.response(["workers": .array(workers.map(\.json))])
        }
        router.get("/api/events") { _, _ in try events() }
    }

    /// `event: jobs` (changed rows), `event: stats` (the header and chart), `: ping` every 15 s.
    func events() throws -> Response {
        guard let (id, stream) = hub.join() else {
            throw APIError(.serviceUnavailable, "too many live pages are open (\(EventHub.maxListeners)); close some")
        }
        let hub = hub
        let body = ResponseBody { writer in
            defer { hub.leave(id) }
            // The browser reconnects after 2 s if the stream ends, and the page then reloads its rows.
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            for await chunk in stream { try await writer.write(chunk) }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: body)
    }
}
