import Reactor

/// Creates and migrates the `jobs` table (DESIGN.md "Contracts").
///
/// Other programs insert rows with only `job_type` and `params`; every other column has a
/// default that makes such a row a runnable queued job. Migration is additive: columns a
/// table from an older worker lacks are added, nothing is dropped or renamed.
public enum JobSchema {
    /// ISO-8601 UTC with milliseconds: readable in `sqlite3`, sortable as text.
    static let nowExpression = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

    /// Column name → definition used both to create the table and to add missing columns.
    static let columns: [(name: String, definition: String)] = [
        ("job_type", "TEXT NOT NULL DEFAULT ''"),
        ("status", "TEXT NOT NULL DEFAULT 'queued'"),
        ("params", "TEXT NOT NULL DEFAULT '{}'"),
        ("result", "TEXT"),
        ("error", "TEXT"),
        ("priority", "INTEGER NOT NULL DEFAULT 0"),
        ("attempts", "INTEGER NOT NULL DEFAULT 0"),
        ("max_attempts", "INTEGER NOT NULL DEFAULT 3"),
        ("progress", "REAL NOT NULL DEFAULT 0"),
        ("created_at", "TEXT"),
        ("started_at", "TEXT"),
        ("finished_at", "TEXT"),
        ("updated_at", "TEXT"),
        // Unix seconds before which a queued job is not claimed (retry back-off); 0 = now.
        ("run_after", "REAL NOT NULL DEFAULT 0"),
        // Which worker holds a running job ("host:pid:start") and until when (unix seconds).
        ("lease_owner", "TEXT"),
        ("lease_until", "REAL"),
        // The provider's id for the submitted task, written as soon as the submit answers.
        ("provider_task_id", "TEXT"),
        ("provider_state", "TEXT"),
        // Times a worker stopped (crash, kill, power loss) while running the job. Not attempts:
        // an interruption is no failure of the job's own work (`WorkerSettings.maxInterruptions`).
        ("interruptions", "INTEGER NOT NULL DEFAULT 0"),
        // Which paid submission of the job this is: part of the provider idempotency key
        // (`ExternalTaskID`). The same when a lost submit is sent again; one more when the
        // worker means to pay for a new task (the provider's own "failed", or `retry`).
        ("submission", "INTEGER NOT NULL DEFAULT 1"),
        // Pipelines (docs/pipelines.md): the pipeline and the step this job runs, its instance of a
        // `for_each` step, what must complete first (`{"steps": [...], "jobs": [...]}`), the step
        // whose files a `for_each` step runs over, and the params as submitted, with their
        // `{"step": …}` references (`params` gets them resolved when the step is released).
        ("pipeline_id", "INTEGER"),
        ("step", "TEXT"),
        ("step_index", "INTEGER"),
        ("needs", "TEXT"),
        ("for_each", "TEXT"),
        ("template", "TEXT"),
        // Spend (docs/spend.md): what the job's paid submissions cost, summed from the `spend`
        // table — the provider's own units where it reported them, money from the price table.
        // `cost_usd` is NULL when there is no price; `cost_note` says why, never a silent zero.
        ("cost_usd", "REAL"),
        ("cost_units", "REAL"),
        ("cost_unit", "TEXT"),
        ("cost_note", "TEXT"),
        // Why a queued job waits though it could run (a daily budget spent); cleared when claimed.
        ("hold", "TEXT"),
    ]

    /// Brings the database at `connection` to the current schema. Idempotent, and safe when
    /// several workers start at once (SQLite's `BEGIN IMMEDIATE`; a transaction lock on PostgreSQL).
    public static func migrate(_ connection: any SQLConnection) throws {
        switch connection.dialect {
        case .sqlite:
            // WAL lets the loop read while the writer writes and other programs insert.
            _ = try connection.query("PRAGMA journal_mode=WAL", [])
            try connection.execute("PRAGMA synchronous=NORMAL")
        case .postgres:
            // A notice per "already exists" would fill the server log at every start.
            try connection.execute("SET client_min_messages = warning")
        }
        try connection.execute(connection.dialect.beginWrite)
        do {
            if let turnstile = connection.dialect.turnstile("schema") { _ = try connection.query(turnstile, []) }
            switch connection.dialect {
            case .sqlite: try migrateSQLite(connection)
            case .postgres: try PostgresSchema.migrate(connection)
            }
            try connection.execute(SpendTable.createSQL(connection.dialect))
            try createMetadata(connection)
            try connection.execute(columnTypes(WorkerTable.createSQL, connection.dialect))
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// A column definition written for SQLite, in PostgreSQL's types: 64-bit integers and doubles.
    static func columnTypes(_ definition: String, _ dialect: SQLDialect) -> String {
        guard dialect == .postgres else { return definition }
        return definition.replacingOccurrences(of: "INTEGER", with: "BIGINT")
            .replacingOccurrences(of: "REAL", with: "DOUBLE PRECISION")
    }

    private static func migrateSQLite(_ connection: any SQLConnection) throws {
        let existing = Set(try connection.query("PRAGMA table_info(jobs)", []).compactMap { $0["name"]?.string })
        if existing.isEmpty {
            let body = columns.map { "\($0.name) \($0.definition)" }.joined(separator: ",\n    ")
            try connection.execute("CREATE TABLE jobs (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    \(body)\n)")
        } else {
            for column in columns where !existing.contains(column.name) {
                try connection.execute("ALTER TABLE jobs ADD COLUMN \(column.name) \(column.definition)")
            }
        }
        // SQLite cannot default a column to an expression in ALTER TABLE, so creation times
        // come from a trigger: rows inserted by any program get them.
        try connection.execute(
            """
            CREATE TRIGGER IF NOT EXISTS jobs_created_at AFTER INSERT ON jobs
            WHEN NEW.created_at IS NULL
            BEGIN
                UPDATE jobs SET created_at = \(nowExpression), updated_at = \(nowExpression) WHERE id = NEW.id;
            END;
            DROP INDEX IF EXISTS jobs_status_type;
            CREATE TABLE IF NOT EXISTS pipelines (
                id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL DEFAULT '', document TEXT NOT NULL,
                created_at TEXT NOT NULL DEFAULT (\(nowExpression))
            );
            CREATE INDEX IF NOT EXISTS jobs_pipeline ON jobs(pipeline_id, step) WHERE pipeline_id IS NOT NULL;
            PRAGMA user_version=2;
            """)
        try createClaimIndexes(connection)
        try createDashboardIndexes(connection)
    }

    /// The claim order of the queued rows alone (`SQLiteJobClaims` names them): a row leaves them
    /// when it is claimed and no later change of status touches them. Indexes of every row, as
    /// before, cost each claim and each completion two more entries moved in each.
    private static func createClaimIndexes(_ connection: any SQLConnection) throws {
        let definition = try connection.query(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'jobs_claim_order'", [])
        if let sql = definition.first?["sql"]?.string, !sql.contains("WHERE") {
            try connection.execute("DROP INDEX jobs_claim_order; DROP INDEX IF EXISTS jobs_type_claim_order;")
        }
        try connection.execute(
            """
            CREATE INDEX IF NOT EXISTS jobs_claim_order ON jobs(priority DESC, id) WHERE status = \(StoreSQL.word(.queued));
            CREATE INDEX IF NOT EXISTS jobs_type_claim_order ON jobs(job_type, priority DESC, id)
                WHERE status = \(StoreSQL.word(.queued));
            """)
    }

    /// What the dashboard's views read by (`JobSearch`, `JobChangeFeed`, `DashboardStats`): newest
    /// first by status and by provider, the last hour's finishes, the rows changed since a time.
    /// Without them a filtered page at 100,000 rows took 110–400 ms (a scan, or a sort of every
    /// completed row); with them about 1 ms (bench/RESULTS.md). The provider index is on
    /// `StoreSQL.gateKey` itself, so a query must use that expression word for word. The claim
    /// queries name their indexes (`INDEXED BY`), so these cannot change how jobs are claimed.
    private static func createDashboardIndexes(_ connection: any SQLConnection) throws {
        try connection.execute(
            """
            CREATE INDEX IF NOT EXISTS jobs_status_id ON jobs(status, id);
            CREATE INDEX IF NOT EXISTS jobs_provider_id ON jobs((\(StoreSQL.gateKey)), id);
            CREATE INDEX IF NOT EXISTS jobs_finished_at ON jobs(finished_at);
            CREATE INDEX IF NOT EXISTS jobs_updated_at ON jobs(updated_at);
            """)
    }

    /// The `meta` table (key → value) and, once per database, its random `database_id`.
    /// A new `jobs.db` gets a new id, so provider idempotency keys built from it
    /// (`ExternalTaskID`) never collide with those of another database on the same account.
    private static func createMetadata(_ connection: any SQLConnection) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        try connection.run(
            "INSERT INTO meta (key, value) VALUES ('database_id', ?1) ON CONFLICT (key) DO NOTHING",
            [.text(DatabaseID.random())])
    }

    /// This database's id (`meta.database_id`), made by `migrate`.
    public static func databaseID(_ connection: any SQLConnection) throws -> String {
        let rows = try connection.query("SELECT value FROM meta WHERE key = 'database_id'", [])
        guard let id = rows.first?["value"]?.string else {
            throw OperationsError("the job store has no database_id in its meta table; run the worker once")
        }
        return id
    }
}
