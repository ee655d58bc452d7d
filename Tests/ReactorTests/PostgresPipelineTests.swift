import Foundation
import Reactor
import TestSupport
import XCTest

/// Transactions sent in pipeline mode: all or nothing, and independent of their neighbours
/// in the same pipeline.
final class PostgresPipelineTests: XCTestCase {
    private var pg: LoopPostgres!

    override func setUpWithError() throws {
        pg = try LoopPostgres(url: PostgresServer.shared.makeDatabase(name: "pipeline"))
        try pg.connect()
        try pg.run("CREATE TABLE items (id int4 PRIMARY KEY, name text NOT NULL)")
    }

    override func tearDown() {
        pg?.close()
    }

    private func names() throws -> [String] {
        try pg.rows("SELECT name FROM items ORDER BY id").compactMap { $0["name"]?.string }
    }

    func testATransactionCommitsEveryStatementAndReturnsEachResult() throws {
        let results = try XCTUnwrap(
            pg.transaction([
                PGStatement("INSERT INTO items VALUES ($1, $2)", [1, "one"]),
                PGStatement("INSERT INTO items VALUES ($1, $2), ($3, $4)", [2, "two", 3, "three"]),
                PGStatement("UPDATE items SET name = upper(name) WHERE id > $1 RETURNING id", [1]),
                PGStatement("SELECT count(*) AS n FROM items"),
            ])
        ).get()
        XCTAssertEqual(results.map(\.affectedRows), [1, 2, 2, 1])
        XCTAssertEqual(results[2].rows.compactMap { $0["id"]?.int }.sorted(), [2, 3])
        XCTAssertEqual(results[3].rows.first?["n"], .integer(3), "later statements see earlier ones")
        XCTAssertEqual(try names(), ["one", "TWO", "THREE"])
    }

    func testAnErrorInTheMiddleRollsBackTheWholeTransactionAndTheConnectionGoesOn() throws {
        try pg.run("INSERT INTO items VALUES (1, 'kept')")
        let failed = try XCTUnwrap(
            pg.transaction([
                PGStatement("INSERT INTO items VALUES (2, 'first')"),
                PGStatement("INSERT INTO items VALUES (1, 'duplicate')"),
                PGStatement("INSERT INTO items VALUES (3, 'never')"),
            ]))
        guard case .failure(let error) = failed else { return XCTFail("the duplicate key must fail the transaction") }
        XCTAssertEqual(error.kind, .query)
        XCTAssertEqual(error.sqlState, "23505")
        XCTAssertEqual(error.statementIndex, 1)
        XCTAssertEqual(error.detail, "Key (id)=(1) already exists.")
        XCTAssertTrue(error.description.contains("in statement 2 of the transaction"), error.description)
        XCTAssertEqual(try names(), ["kept"], "the first insert was rolled back with the rest")

        XCTAssertNoThrow(try XCTUnwrap(pg.transaction([PGStatement("INSERT INTO items VALUES (2, 'after')")])).get())
        XCTAssertEqual(try names(), ["kept", "after"])
    }

    func testTransactionsPipelinedTogetherSucceedOrFailEachOnItsOwn() throws {
        // Submitted in one loop callback, so they go out back to back before any result is in.
        let outcomes = pg.wait { (done: @escaping ([Bool]) -> Void) in
            var outcomes: [Bool] = []
            func record<T>(_ result: Result<T, PGError>) {
                outcomes.append((try? result.get()) != nil)
                if outcomes.count == 4 { done(outcomes) }
            }
            let connection = self.pg.connection!
            connection.transaction([PGStatement("INSERT INTO items VALUES (1, 'a')")], completion: record)
            connection.transaction(
                [PGStatement("INSERT INTO items VALUES (2, 'b')"), PGStatement("SELECT 1 / 0")], completion: record)
            connection.transaction(
                [(sql: "INSERT INTO items VALUES ($1, $2)", params: [3, "c"])], completion: record)
            connection.query("INSERT INTO items VALUES (4, 'd')", completion: record)
        }
        XCTAssertEqual(outcomes, [true, false, true, true])
        XCTAssertEqual(try names(), ["a", "c", "d"])
    }

    func testACommitThatFailsFailsTheTransaction() throws {
        try pg.run(
            "CREATE TABLE links (id int4 PRIMARY KEY, parent int4 REFERENCES links DEFERRABLE INITIALLY DEFERRED)")
        let failed = try XCTUnwrap(
            pg.transaction([
                PGStatement("INSERT INTO links VALUES (1, NULL)"),
                PGStatement("INSERT INTO links VALUES (2, 99)"),
            ]))
        guard case .failure(let error) = failed else { return XCTFail("the deferred check must fail the commit") }
        XCTAssertEqual(error.sqlState, "23503")
        XCTAssertNil(error.statementIndex, "no statement failed; the commit did")
        XCTAssertEqual(try pg.rows("SELECT count(*) AS n FROM links").first?["n"], .integer(0))
    }
}
