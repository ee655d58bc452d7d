import Foundation
import Reactor
import Synchronization
import TestSupport
import XCTest

/// LISTEN/NOTIFY: what another session sends arrives through `onNotification`, in order.
final class PostgresNotificationTests: XCTestCase {
    func testNotificationsFromAnotherSessionArriveInOrder() throws {
        let url = try PostgresServer.shared.makeDatabase(name: "notify")
        let pg = try LoopPostgres(url: url)
        defer { pg.close() }
        let received = Mutex<[String]>([])
        pg.runner.sync {
            pg.connection.onNotification = { channel, payload in
                received.withLock { $0.append("\(channel)|\(payload)") }
            }
        }
        try pg.connect()
        // A channel name that needs quoting; LISTEN must not break on it.
        let channel = "jobs \"ready\""
        try XCTUnwrap(pg.wait { done in pg.connection.listen(channel, completion: done) }).get()

        let other = try PGBlockingConnection(url: url)
        defer { other.close() }
        try other.execute("NOTIFY \(PGStatement.quotedIdentifier(channel)), 'first'")
        try other.query("SELECT pg_notify($1, $2)", [.text(channel), "second"])
        try other.execute("NOTIFY not_listened, 'ignored'")
        XCTAssertTrue(Wait.until(timeout: 10) { received.withLock { $0.count } >= 2 })
        XCTAssertEqual(received.withLock { $0 }, ["\(channel)|first", "\(channel)|second"])
    }

    func testANotificationCanArriveBetweenResultsOfOwnQueries() throws {
        let pg = try LoopPostgres(url: PostgresServer.shared.makeDatabase(name: "notifyself"))
        defer { pg.close() }
        let received = Mutex<[String]>([])
        pg.runner.sync { pg.connection.onNotification = { _, payload in received.withLock { $0.append(payload) } } }
        try pg.connect()
        try XCTUnwrap(pg.wait { done in pg.connection.listen("self", completion: done) }).get()
        // Our own NOTIFY is delivered after its transaction commits, with the next read.
        try pg.run("SELECT pg_notify('self', 'from me')")
        XCTAssertTrue(Wait.until(timeout: 10) { received.withLock { $0 } == ["from me"] })
    }
}
