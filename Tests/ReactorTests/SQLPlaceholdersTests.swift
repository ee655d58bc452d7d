import Reactor
import XCTest

final class SQLPlaceholdersTests: XCTestCase {
    func testNumberedAndBareParametersBecomeDollarsOutsideQuotes() {
        XCTAssertEqual(
            SQLPlaceholders.postgres("UPDATE jobs SET a = ?2 WHERE id = ?1 AND b = ?12"),
            "UPDATE jobs SET a = $2 WHERE id = $1 AND b = $12")
        XCTAssertEqual(
            SQLPlaceholders.postgres("INSERT INTO t (a, b) VALUES (?, ?)"), "INSERT INTO t (a, b) VALUES ($1, $2)")
        XCTAssertEqual(
            SQLPlaceholders.postgres("SELECT '?' AS q, \"odd?name\" FROM t WHERE x = ?1 AND y LIKE 'a?b'"),
            "SELECT '?' AS q, \"odd?name\" FROM t WHERE x = $1 AND y LIKE 'a?b'")
        XCTAssertEqual(
            SQLPlaceholders.postgres("SELECT 'it''s ?' , ?1"), "SELECT 'it''s ?' , $1", "a doubled quote stays quoted")
        XCTAssertEqual(
            SQLPlaceholders.postgres("CREATE FUNCTION f() AS $$ SELECT '?' ? $$; SELECT ?1"),
            "CREATE FUNCTION f() AS $$ SELECT '?' ? $$; SELECT $1")
    }
}
