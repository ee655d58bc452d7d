import Reactor

/// The `jobs` table on PostgreSQL: the same columns and words as on SQLite (`JobSchema.columns`,
/// in 64-bit types), plus what many workers on many hosts need.
///
/// - `gate_key`, kept by a trigger from `params.provider` (or the type's default), so claims and
///   global caps find a provider's rows through an index.
/// - A partial index in claim order over queued rows only, so the claim walks a small index
///   however many finished rows the table holds.
/// - NOTIFY on `reactor_jobs`, from a statement trigger, when a statement makes rows queued: any
///   program's plain `INSERT` wakes the workers, with one notification per statement (PostgreSQL
///   folds equal ones in a transaction), since NOTIFY takes a database-wide lock at commit.
/// - Autovacuum tuned for a table whose rows are updated many times each (docs/scale-out.md).
enum PostgresSchema {
    static let channel = "reactor_jobs"

    static func migrate(_ connection: any SQLConnection) throws {
        let now = SQLDialect.postgres.now
        let columns = JobSchema.columns.map { column -> String in
            var definition = JobSchema.columnTypes(column.definition, .postgres)
            if column.name == "created_at" || column.name == "updated_at" { definition += " DEFAULT \(now)" }
            return "\(column.name) \(definition)"
        }
        try connection.execute(
            "CREATE TABLE IF NOT EXISTS jobs (id BIGSERIAL PRIMARY KEY, \(columns.joined(separator: ", ")), gate_key TEXT)"
        )
        for column in columns { try connection.execute("ALTER TABLE jobs ADD COLUMN IF NOT EXISTS \(column)") }
        try connection.execute("ALTER TABLE jobs ADD COLUMN IF NOT EXISTS gate_key TEXT")
        try connection.execute(functions)
        try connection.execute(triggers)
        try connection.execute(
            """
            CREATE INDEX IF NOT EXISTS jobs_pg_claim_order ON jobs
                ((job_type IN \(StoreSQL.claimedFirstTypes)) DESC, priority DESC, id) WHERE status = \(StoreSQL.word(.queued));
            CREATE INDEX IF NOT EXISTS jobs_pg_held ON jobs (gate_key) WHERE status IN \(StoreSQL.held);
            CREATE INDEX IF NOT EXISTS jobs_pg_status_type ON jobs (status, job_type);
            CREATE INDEX IF NOT EXISTS jobs_pg_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
            CREATE INDEX IF NOT EXISTS jobs_pg_status_id ON jobs (status, id);
            CREATE INDEX IF NOT EXISTS jobs_pg_provider_id ON jobs (gate_key, id);
            CREATE INDEX IF NOT EXISTS jobs_pg_updated ON jobs (updated_at);
            CREATE INDEX IF NOT EXISTS jobs_pg_pipeline ON jobs (pipeline_id, step) WHERE pipeline_id IS NOT NULL;
            CREATE TABLE IF NOT EXISTS pipelines (
                id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL DEFAULT '', document TEXT NOT NULL,
                created_at TEXT NOT NULL DEFAULT \(now)
            );
            ALTER TABLE jobs SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
                autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02,
                autovacuum_vacuum_cost_delay = 1);
            """)
        // Rows inserted before `gate_key` existed.
        try connection.run("UPDATE jobs SET gate_key = \(gateKeyOfRow("jobs")) WHERE gate_key IS NULL", [])
    }

    /// The gate key of a row in SQL: as `StoreSQL.gateKey`, from the row's own columns.
    private static func gateKeyOfRow(_ row: String) -> String {
        StoreSQL.gateKeyExpression(params: "\(row).params", jobType: "\(row).job_type", dialect: .postgres)
    }

    /// JSON read from text columns without failing on malformed text (other programs write `params`).
    private static let functions = """
        CREATE OR REPLACE FUNCTION rw_json_text(doc text, key text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        BEGIN
            RETURN CASE WHEN jsonb_typeof(doc::jsonb -> key) = 'string' THEN doc::jsonb ->> key END;
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END $$;
        CREATE OR REPLACE FUNCTION rw_json_array_has(doc text, key text, wanted bigint) RETURNS boolean
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        BEGIN
            RETURN coalesce(doc::jsonb -> key @> to_jsonb(wanted), false);
        EXCEPTION WHEN others THEN
            RETURN false;
        END $$;
        """

    private static var triggers: String {
        """
        CREATE OR REPLACE FUNCTION rw_jobs_gate_key() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.gate_key := \(gateKeyOfRow("NEW"));
            RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS jobs_gate_key ON jobs;
        CREATE TRIGGER jobs_gate_key BEFORE INSERT OR UPDATE OF params, job_type ON jobs
            FOR EACH ROW EXECUTE FUNCTION rw_jobs_gate_key();
        CREATE OR REPLACE FUNCTION rw_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM changed_rows WHERE status = \(StoreSQL.word(.queued))) THEN
                PERFORM pg_notify('\(channel)', '');
            END IF;
            RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS jobs_notify_insert ON jobs;
        CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS changed_rows
            FOR EACH STATEMENT EXECUTE FUNCTION rw_jobs_notify();
        DROP TRIGGER IF EXISTS jobs_notify_update ON jobs;
        CREATE TRIGGER jobs_notify_update AFTER UPDATE ON jobs REFERENCING NEW TABLE AS changed_rows
            FOR EACH STATEMENT EXECUTE FUNCTION rw_jobs_notify();
        """
    }
}
