import Foundation
import Reactor
import Synchronization
import TestSupport
import XCTest

/// What a user reads when PostgreSQL cannot be reached or goes away, and that the
/// connection recovers once it is back. No message may show a password.
final class PostgresFailureTests: XCTestCase {
    func testAWrongPasswordGivesOneClearLineWithoutThePassword() throws {
        let server = try PostgresServer.shared
        let password = "not-the-password"
        let url = server.url(database: "postgres", user: PostgresServer.passwordUser, password: password)
        let expected =
            "cannot connect to PostgreSQL at 127.0.0.1:\(server.port)/postgres as worker: "
            + "password authentication failed for user \"worker\""

        let pg = try LoopPostgres(url: url)
        defer { pg.close() }
        guard case .failure(let error) = try XCTUnwrap(pg.connectResult()) else { return XCTFail("must be refused") }
        XCTAssertEqual(error.kind, .connect)
        XCTAssertEqual(error.description, expected)

        XCTAssertThrowsError(try PGBlockingConnection(url: url)) { error in
            XCTAssertEqual((error as? PGError)?.description, expected)
        }
        let right = server.url(
            database: "postgres", user: PostgresServer.passwordUser, password: PostgresServer.passwordUserPassword)
        XCTAssertEqual(try PGBlockingConnection(url: right).query("SELECT current_user AS u").first?["u"], "worker")
    }

    func testAPortNobodyListensOnSaysConnectionRefusedAndWhere() throws {
        let closed = try LoopbackSocket(listening: false)
        closed.close()
        let port = closed.port
        let url = "postgres://worker:secret@127.0.0.1:\(port)/jobs"
        let pg = try LoopPostgres(url: url)
        defer { pg.close() }
        // Submitted while connecting: waits for the connection, then fails with its reason.
        let outcomes = pg.wait { (done: @escaping ([PGError]) -> Void) in
            var errors: [PGError] = []
            func record<T>(_ result: Result<T, PGError>) {
                if case .failure(let error) = result { errors.append(error) }
                if errors.count == 2 { done(errors) }
            }
            pg.connection.connect(completion: record)
            pg.connection.query("SELECT 1", completion: record)
        }
        let errors = try XCTUnwrap(outcomes)
        XCTAssertEqual(errors.map(\.kind), [.connect, .connect])
        XCTAssertFalse(errors[1].outcomeUnknown)
        for error in errors {
            XCTAssertTrue(
                error.description.hasPrefix("cannot connect to PostgreSQL at 127.0.0.1:\(port)/jobs as worker: "),
                error.description)
            XCTAssertTrue(error.description.contains("Connection refused"), error.description)
            XCTAssertFalse(error.description.contains("secret"))
        }
        XCTAssertThrowsError(try PGBlockingConnection(url: url)) { error in
            XCTAssertTrue("\(error)".contains("Connection refused"), "\(error)")
        }
    }

    func testAServerThatNeverAnswersTimesOut() throws {
        // A socket that listens but never accepts: the TCP connect succeeds, no answer follows.
        let silent = try LoopbackSocket(listening: true)
        defer { silent.close() }
        let pg = try LoopPostgres(url: "postgres://worker@127.0.0.1:\(silent.port)/jobs", connectTimeout: 0.5)
        defer { pg.close() }
        guard case .failure(let error) = try XCTUnwrap(pg.connectResult()) else { return XCTFail("cannot connect") }
        XCTAssertEqual(error.kind, .connect)
        XCTAssertTrue(error.description.contains("127.0.0.1:\(silent.port)/jobs"), error.description)
        XCTAssertTrue(error.description.contains("timed out after 0.5 s"), error.description)
    }

    func testURLsAreDescribedWithoutTheirPassword() throws {
        let url = try PGConnectionURL("postgres://worker:s3cret@127.0.0.1:5433/jobs?sslmode=disable")
        XCTAssertEqual(url.description, "postgres://worker@127.0.0.1:5433/jobs")
        let keywords = try PGConnectionURL("host=127.0.0.1 port=5433 dbname=jobs user=worker password=s3cret")
        XCTAssertEqual(keywords.redactedDescription, "postgres://worker@127.0.0.1:5433/jobs")

        // libpq quotes the bad part of a URL it cannot read: here, the password itself.
        let broken = "postgres://worker:s3cr%zzet@127.0.0.1:5433/jobs"
        XCTAssertEqual(PGConnectionURL.redactedDescription(of: broken), "postgres://worker@127.0.0.1:5433/jobs")
        XCTAssertThrowsError(try PGConnectionURL(broken)) { error in
            XCTAssertEqual((error as? PGError)?.kind, .connect)
            XCTAssertFalse("\(error)".contains("s3cr"), "\(error)")
            XCTAssertTrue("\(error)".contains("postgres://worker@127.0.0.1:5433/jobs"), "\(error)")
        }
    }

    func testAServerStopMidQueryFailsItAsLostAndTheConnectionComesBackAfterRestart() throws {
        let server = try PostgresServer.shared
        let url = try server.makeDatabase(name: "lost")
        let pg = try LoopPostgres(url: url)
        defer { pg.close() }
        let disconnects = Mutex<[PGError]>([])
        let notifications = Mutex<[String]>([])
        pg.runner.sync {
            pg.connection.onDisconnect = { error in disconnects.withLock { $0.append(error) } }
            pg.connection.onNotification = { _, payload in notifications.withLock { $0.append(payload) } }
        }
        try pg.connect()
        try XCTUnwrap(pg.wait { done in pg.connection.listen("wake", completion: done) }).get()

        let pending = ResultBox<Result<PGQueryResult, PGError>>()
        let answered = DispatchSemaphore(value: 0)
        pg.runner.sync {
            pg.connection.query("SELECT pg_sleep(60)") { result in
                pending.value = result
                answered.signal()
            }
        }
        let observer = try PGBlockingConnection(url: url)
        let running = Wait.until(timeout: 10) {
            let rows = try? observer.query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")
            return rows?.first?["n"] == .integer(1)
        }
        observer.close()
        XCTAssertTrue(running, "the slow query must be running on the server before it stops")

        try server.stop(mode: .immediate)
        addTeardownBlock { if !server.isRunning { try? server.start() } }
        XCTAssertEqual(answered.wait(timeout: .now() + 15), .success)
        guard case .failure(let lost) = try XCTUnwrap(pending.value) else { return XCTFail("the query cannot succeed") }
        XCTAssertEqual(lost.kind, .connectionLost)
        XCTAssertTrue(lost.outcomeUnknown, "it had been sent")
        let database = String(url.split(separator: "/").last!)
        XCTAssertTrue(
            lost.description.hasPrefix("lost the connection to PostgreSQL at 127.0.0.1:\(server.port)/\(database)"),
            lost.description)
        XCTAssertTrue(Wait.until(timeout: 5) { disconnects.withLock { $0.count } == 1 })
        XCTAssertFalse(pg.runner.sync { pg.connection.isConnected })

        // Submitted while disconnected: never sent, so safe to send again.
        guard case .failure(let unsent) = try XCTUnwrap(pg.query("SELECT 1")) else { return XCTFail("not connected") }
        XCTAssertEqual(unsent.kind, .connectionLost)
        XCTAssertFalse(unsent.outcomeUnknown)

        try server.start()
        try pg.connect()
        XCTAssertEqual(try pg.rows("SELECT 2 AS two").first?["two"], .integer(2))
        // The new session listens again to what the old one did.
        let other = try PGBlockingConnection(url: url)
        defer { other.close() }
        try other.execute("NOTIFY wake, 'again'")
        XCTAssertTrue(Wait.until(timeout: 10) { notifications.withLock { $0 } == ["again"] })
        XCTAssertEqual(disconnects.withLock { $0.count }, 1)
    }
}
