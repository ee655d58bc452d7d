import Reactor

/// The `spend` table: one row per paid (or about to be paid) submission of a job. Budgets sum it
/// per provider and UTC day, `stats` per day, month and pipeline; it outlives `prune`, so the
/// month's money stays right when old job rows go.
enum SpendTable {
    static func createSQL(_ dialect: SQLDialect) -> String {
        JobSchema.columnTypes(sql, dialect).replacingOccurrences(of: "NOW_EXPRESSION", with: dialect.now)
    }

    private static let sql = """
        CREATE TABLE IF NOT EXISTS spend (
            job_id INTEGER NOT NULL,
            submission INTEGER NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            day TEXT NOT NULL,
            usd REAL,
            units REAL NOT NULL DEFAULT 0,
            unit TEXT NOT NULL DEFAULT '',
            note TEXT,
            estimated INTEGER NOT NULL DEFAULT 1,
            state TEXT NOT NULL DEFAULT 'charged',
            pipeline_id INTEGER,
            created_at TEXT NOT NULL DEFAULT (NOW_EXPRESSION),
            PRIMARY KEY (job_id, submission)
        );
        CREATE INDEX IF NOT EXISTS spend_by_day ON spend(day, provider);
        """
}
