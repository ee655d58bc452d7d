import Foundation
import Reactor
import Synchronization
import TestSupport
import XCTest

/// `PGConnection` on a real loop against the test server: connecting, values in and out,
/// order, and a slow query that must not hold up the loop. Also `PGBlockingConnection`.
final class PostgresConnectionTests: XCTestCase {
    func testConnectsByURLAndReportsWhereItIs() throws {
        let url = try PostgresServer.shared.makeDatabase(name: "connect")
        let pg = try LoopPostgres(url: url)
        defer { pg.close() }
        try pg.connect()
        let row = try XCTUnwrap(pg.rows("SELECT current_database() AS db, current_user AS who").first)
        XCTAssertEqual(row["db"], .text(String(url.split(separator: "/").last!)))
        XCTAssertEqual(row["who"], "postgres")
        XCTAssertTrue(pg.runner.sync { pg.connection.isConnected })
    }

    func testResultColumnsBecomeValuesByTheirType() throws {
        let pg = try LoopPostgres(url: PostgresServer.shared.makeDatabase(name: "types"))
        defer { pg.close() }
        try pg.connect()
        let row = try XCTUnwrap(
            pg.rows(
                """
                SELECT 1::int2 AS a, 2::int4 AS b, 9007199254740993::int8 AS c, 4::oid AS d,
                       1.5::float4 AS e, 2.25::float8 AS f, 3.125::numeric AS g, true AS h, false AS i,
                       '\\x00ff10'::bytea AS j, ''::bytea AS k, NULL::int4 AS l, 'tëxt'::text AS m,
                       'v'::varchar AS n, '{"a":1}'::json AS o, '{"a": 1}'::jsonb AS p,
                       timestamptz '2024-01-02 03:04:05+00' AT TIME ZONE 'UTC' AS q, NULL::text AS r
                """
            ).first)
        XCTAssertEqual(row["a"], .integer(1))
        XCTAssertEqual(row["b"], .integer(2))
        XCTAssertEqual(row["c"], .integer(9_007_199_254_740_993))
        XCTAssertEqual(row["d"], .integer(4))
        XCTAssertEqual(row["e"], .real(1.5))
        XCTAssertEqual(row["f"], .real(2.25))
        XCTAssertEqual(row["g"], .real(3.125))
        XCTAssertEqual(row["h"], .integer(1))
        XCTAssertEqual(row["i"], .integer(0))
        XCTAssertEqual(row["j"], .blob(Data([0x00, 0xff, 0x10])))
        XCTAssertEqual(row["k"], .blob(Data()))
        XCTAssertEqual(row["l"], .null)
        XCTAssertEqual(row["m"], .text("tëxt"))
        XCTAssertEqual(row["n"], .text("v"))
        XCTAssertEqual(row["o"], .text("{\"a\":1}"))
        XCTAssertEqual(row["p"], .text("{\"a\": 1}"))
        XCTAssertEqual(row["q"], .text("2024-01-02 03:04:05"))
        XCTAssertEqual(row["r"], .null)
    }

    func testParametersOfEveryKindRoundTrip() throws {
        let pg = try LoopPostgres(url: PostgresServer.shared.makeDatabase(name: "params"))
        defer { pg.close() }
        try pg.connect()
        let text = "héllo 'quoted' \"double\" $1 \\ ✓"
        let bytes = Data([0, 1, 2, 0x5c, 0x78, 255])
        let row = try XCTUnwrap(
            pg.rows(
                "SELECT $1 AS i, $2 AS r, $3 AS t, $4 AS b, $5::text AS n, $6 AS e, $7 + 1 AS sum, $8 AS inf",
                [
                    .integer(.min), .real(0.1), .text(text), .blob(bytes), .null, .blob(Data()), .integer(41),
                    .real(-.infinity),
                ]
            ).first)
        XCTAssertEqual(row["i"], .integer(.min))
        XCTAssertEqual(row["r"], .real(0.1))
        XCTAssertEqual(row["t"], .text(text))
        XCTAssertEqual(row["b"], .blob(bytes))
        XCTAssertEqual(row["n"], .null)
        XCTAssertEqual(row["e"], .blob(Data()))
        XCTAssertEqual(row["sum"], .integer(42))
        XCTAssertEqual(row["inf"], .real(-.infinity))

        // Text parameters take the column's type: timestamptz, jsonb, an enum.
        try pg.run("CREATE TYPE state AS ENUM ('queued', 'done')")
        try pg.run("CREATE TABLE t (id int4 PRIMARY KEY, at timestamptz, doc jsonb, state state, n int4)")
        let inserted = try pg.run(
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5), ($6, NULL, NULL, 'done', NULL)",
            [.integer(1), "2024-05-06T07:08:09Z", "{\"k\": [1, 2]}", "queued", .integer(7), .integer(2)])
        XCTAssertEqual(inserted.affectedRows, 2)
        let stored = try XCTUnwrap(
            pg.rows(
                "SELECT extract(epoch FROM at)::int8 AS at, doc->'k'->>1 AS second, state FROM t WHERE id = $1", [1]
            )
            .first)
        XCTAssertEqual(stored["at"], .integer(1_714_979_289))
        XCTAssertEqual(stored["second"], "2")
        XCTAssertEqual(stored["state"], "queued")
        XCTAssertEqual(try pg.run("UPDATE t SET n = $1 WHERE state = $2", [.integer(3), "done"]).affectedRows, 1)
        XCTAssertEqual(try pg.run("DELETE FROM t").affectedRows, 2)
    }

    func testManyQueuedQueriesCompleteInTheOrderSubmitted() throws {
        let pg = try LoopPostgres(url: PostgresServer.shared.makeDatabase(name: "order"))
        defer { pg.close() }
        try pg.connect()
        try pg.run("CREATE TABLE log (id serial PRIMARY KEY, n int8)")
        let count = 2500
        // All submitted in one loop callback: they share one pipeline and complete in order.
        let order = pg.wait { (done: @escaping ([Int64]) -> Void) in
            var seen: [Int64] = []
            for n in 0..<Int64(count) {
                let sql = n % 2 == 0 ? "INSERT INTO log (n) VALUES ($1) RETURNING n" : "SELECT $1 AS n"
                pg.connection.query(sql, [.integer(n)]) { result in
                    seen.append((try? result.get().rows.first?["n"]?.int) ?? -1)
                    if seen.count == count { done(seen) }
                }
            }
        }
        XCTAssertEqual(order, (0..<Int64(count)).map { $0 })
        let logged = try pg.rows("SELECT n FROM log ORDER BY id").compactMap { $0["n"]?.int }
        XCTAssertEqual(logged, stride(from: 0, to: Int64(count), by: 2).map { $0 })
    }

    func testLargeValuesGoOutAndComeBackWhole() throws {
        let pg = try LoopPostgres(url: PostgresServer.shared.makeDatabase(name: "large"))
        defer { pg.close() }
        try pg.connect()
        // Megabytes: more than the socket takes at once, so sending waits on writability and
        // the answer arrives over many reads.
        var big = Data(count: 6 << 20)
        big.withUnsafeMutableBytes { bytes in
            for index in stride(from: 0, to: bytes.count, by: 4096) {
                bytes[index] = UInt8(truncatingIfNeeded: index >> 12)
            }
        }
        let row = try XCTUnwrap(pg.rows("SELECT length($1) AS n, $1 AS back, $2 AS text", [.blob(big), "after"]).first)
        XCTAssertEqual(row["n"], .integer(Int64(big.count)))
        XCTAssertEqual(row["back"], .blob(big))
        XCTAssertEqual(row["text"], "after")
    }

    func testASlowQueryLeavesTheLoopFreeForTimers() throws {
        let pg = try LoopPostgres(url: PostgresServer.shared.makeDatabase(name: "slow"))
        defer { pg.close() }
        try pg.connect()
        let ticks = Atomic<Int>(0)
        let timer = pg.runner.sync { () -> TimerWatcher in
            let timer = TimerWatcher(loop: pg.runner.loop) { ticks.add(1, ordering: .relaxed) }
            timer.set(after: 0.02, repeat: 0.02)
            timer.start()
            return timer
        }
        defer { pg.runner.sync { timer.stop() } }
        let ticksDuringQuery = pg.wait { (done: @escaping (Int) -> Void) in
            let before = ticks.load(ordering: .relaxed)
            pg.connection.query("SELECT pg_sleep(0.3)") { _ in done(ticks.load(ordering: .relaxed) - before) }
        }
        // 0.3 s of 20 ms ticks is about 15; a loop blocked in libpq would see none.
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(ticksDuringQuery), 5)
    }

    func testAStatementLibpqWouldTruncateIsRefusedUnsent() throws {
        let pg = try LoopPostgres(url: PostgresServer.shared.makeDatabase(name: "nul"))
        defer { pg.close() }
        try pg.connect()
        let refused = try XCTUnwrap(pg.query("SELECT $1 AS t", ["before\u{0}after"]))
        guard case .failure(let error) = refused else { return XCTFail("a NUL byte in text must not be sent") }
        XCTAssertEqual(error.kind, .query)
        XCTAssertTrue(error.description.contains("NUL byte"), error.description)
        XCTAssertEqual(try pg.rows("SELECT 1 AS one").first?["one"], .integer(1))
    }

    func testBlockingConnectionRunsQueriesAndWholeScripts() throws {
        let db = try PGBlockingConnection(url: PostgresServer.shared.makeDatabase(name: "blocking"))
        defer { db.close() }
        try db.execute(
            """
            CREATE TABLE jobs (id bigserial PRIMARY KEY, kind text NOT NULL, payload bytea);
            INSERT INTO jobs (kind) VALUES ('a'), ('b');
            """)
        XCTAssertEqual(try db.query("SELECT count(*) AS n FROM jobs").first?["n"], .integer(2))
        let inserted = try db.run(
            "INSERT INTO jobs (kind, payload) VALUES ($1, $2) RETURNING id", ["c", .blob(Data([9]))])
        XCTAssertEqual(inserted.affectedRows, 1)
        XCTAssertEqual(inserted.rows.first?["id"], .integer(3))
        XCTAssertEqual(
            try db.query("SELECT payload FROM jobs WHERE kind = $1", ["c"]).first?["payload"], .blob(Data([9])))

        // A script that fails half-way leaves nothing of itself: it ran as one transaction.
        XCTAssertThrowsError(try db.execute("INSERT INTO jobs (kind) VALUES ('d'); INSERT INTO nowhere VALUES (1);")) {
            let error = $0 as? PGError
            XCTAssertEqual(error?.kind, .query)
            XCTAssertEqual(error?.sqlState, "42P01")
        }
        XCTAssertEqual(try db.query("SELECT count(*) AS n FROM jobs").first?["n"], .integer(3))
    }
}

/// A `PGConnection` on its own test loop. Each call runs on the loop thread and waits, with a
/// deadline, for the completion; nil when none came in time.
final class LoopPostgres {
    let runner = LoopThread()
    private(set) var connection: PGConnection!

    init(url: String, connectTimeout: Double = 10) throws {
        let runner = runner
        let made = runner.sync {
            Result { () throws(PGError) in try PGConnection(url: url, loop: runner.loop, connectTimeout: connectTimeout)
            }
        }
        connection = try made.get()
    }

    /// Connects and throws the error if it failed.
    func connect() throws {
        guard let result = connectResult() else { throw TestSupportError("connect did not complete") }
        try result.get()
    }

    func connectResult() -> Result<Void, PGError>? {
        wait { done in self.connection.connect(completion: done) }
    }

    func query(_ sql: String, _ params: [SQLiteValue] = []) -> Result<PGQueryResult, PGError>? {
        wait { done in self.connection.query(sql, params, completion: done) }
    }

    func transaction(_ statements: [PGStatement]) -> Result<[PGQueryResult], PGError>? {
        wait { done in self.connection.transaction(statements, completion: done) }
    }

    /// Runs one statement and returns its result, or throws its error.
    @discardableResult
    func run(_ sql: String, _ params: [SQLiteValue] = []) throws -> PGQueryResult {
        guard let result = query(sql, params) else { throw TestSupportError("no answer to \(sql)") }
        return try result.get()
    }

    func rows(_ sql: String, _ params: [SQLiteValue] = []) throws -> [[String: SQLiteValue]] {
        try run(sql, params).rows
    }

    /// Starts `operation` on the loop and waits for the first value it reports.
    func wait<T>(timeout: Double = 20, _ operation: @escaping (@escaping (T) -> Void) -> Void) -> T? {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let reported = Atomic<Bool>(false)
        runner.sync {
            operation { value in
                guard !reported.exchange(true, ordering: .sequentiallyConsistent) else { return }
                box.value = value
                done.signal()
            }
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return box.value
    }

    /// Closes the connection and ends the loop; the connection is released on its loop.
    func close() {
        runner.sync {
            self.connection?.close()
            self.connection = nil
        }
        runner.stop()
    }
}
