/*
 * The SQLite limit: how many jobs per second a minimal program can claim and complete in a
 * jobs.db on this disk, with the worker's own settings (WAL, synchronous=NORMAL), its claim
 * statements (same WHERE, index, ORDER BY and RETURNING, gate-key expression included) and a
 * completion that writes a result of the worker's size. Prepared statements, one connection.
 *
 *   batch = 1: per job, one transaction claims it and a second one completes it
 *              (the thread-per-job way: 2 commits per job).
 *   batch = K: one transaction completes the K jobs claimed by the previous one and claims
 *              the next K (what the worker's group commit does at best).
 *
 * Build and run (bench/limits.py does this on a fresh jobs.db made by `reactor-worker enqueue`):
 *   gcc -O2 -o bench/out/sqlite_claim_complete bench/limit/sqlite_claim_complete.c -lsqlite3
 *   bench/out/sqlite_claim_complete jobs.db BATCH
 * Prints: jobs=N seconds=S jobs_per_second=R commits_per_second=T
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define GATE_KEY                                                                                          \
    "coalesce(CASE WHEN json_valid(params) AND json_type(params, '$.provider') = 'text' "                 \
    "THEN json_extract(params, '$.provider') END, CASE job_type WHEN 'background_removal' THEN 'bria' "   \
    "WHEN 'style_analysis' THEN 'openai' WHEN 'video_keying' THEN 'ffmpeg' WHEN 'video_stitching' "       \
    "THEN 'ffmpeg' ELSE '' END)"
#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/* The worker's claim (Sources/Jobs/Store/SQLiteJobStore.swift at 318a9eb): keying rows first, then the rest,
 * each select walking an index in claim order, then one UPDATE … RETURNING marks the picked ids. One change:
 * `+status` in the UPDATE, so SQLite looks the ids up by key; with plain `status` it walks the status index
 * through every queued row (EXPLAIN QUERY PLAN: "SEARCH jobs USING COVERING INDEX jobs_claim_order
 * (status=?)"), which makes each claim cost O(queued) — a limit should not include that. */
#define RUNNABLE_TAIL "run_after <= ?1 AND (" GATE_KEY ") NOT IN (SELECT value FROM json_each('[]'))"
static const char *pick_keying_sql =
    "SELECT id FROM jobs INDEXED BY jobs_type_claim_order WHERE status = 'queued' AND job_type = 'video_keying' "
    "AND " RUNNABLE_TAIL " ORDER BY priority DESC, id LIMIT ?2";
static const char *pick_others_sql =
    "SELECT id FROM jobs INDEXED BY jobs_claim_order WHERE status = 'queued' AND job_type <> 'video_keying' "
    "AND " RUNNABLE_TAIL " ORDER BY priority DESC, id LIMIT ?2";
static const char *mark_claimed_sql =
    "UPDATE jobs SET status = CASE WHEN job_type = 'video_keying' THEN 'keying_processing' ELSE 'processing' END, "
    "attempts = attempts + 1, progress = 0, started_at = " NOW ", updated_at = " NOW ", "
    "lease_owner = 'bench:1:1', lease_until = ?2 "
    "WHERE id IN (SELECT value FROM json_each(?1)) AND +status = 'queued' "
    "RETURNING id, job_type, params, priority, attempts, max_attempts, provider_task_id, (" GATE_KEY ") AS gate_key";

static const char *complete_sql =
    "UPDATE jobs SET status = 'completed', result = ?2, error = NULL, progress = 1, finished_at = " NOW ", "
    "updated_at = " NOW ", lease_owner = NULL, lease_until = NULL "
    "WHERE id = ?1 AND (lease_owner IS NULL OR lease_owner = 'bench:1:1')";

/* About the size of the worker's result for one OpenAI image. */
static const char *result_json =
    "{\"files\":[\"/tmp/rw-bench/outputs/123456/image-1.png\"],\"model\":\"gpt-image-1\",\"provider\":\"openai\","
    "\"provider_seconds\":0.004,\"usage\":{\"input_tokens\":8,\"input_tokens_details\":{\"image_tokens\":0,"
    "\"text_tokens\":8},\"output_tokens\":272,\"total_tokens\":280}}";

static sqlite3 *db;

static void check(int code, const char *what) {
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static sqlite3_stmt *pick_keying, *pick_others, *mark_claimed;

/* Appends up to `limit` - *count picked ids to ids[]. */
static void pick(sqlite3_stmt *statement, int limit, sqlite3_int64 *ids, int *count, double now) {
    sqlite3_bind_double(statement, 1, now);
    sqlite3_bind_int(statement, 2, limit - *count);
    int code;
    while ((code = sqlite3_step(statement)) == SQLITE_ROW) ids[(*count)++] = sqlite3_column_int64(statement, 0);
    check(code, "pick");
    sqlite3_reset(statement);
}

/* Claims up to `limit` jobs into ids[]; returns how many. */
static int claim(int limit, sqlite3_int64 *ids) {
    int count = 0;
    double now = now_seconds();
    pick(pick_keying, limit, ids, &count, now);
    if (count < limit) pick(pick_others, limit, ids, &count, now);
    if (count == 0) return 0;
    static char list[1 << 16];
    int used = snprintf(list, sizeof list, "[");
    for (int i = 0; i < count; i++) used += snprintf(list + used, sizeof list - used, i ? ",%lld" : "%lld", ids[i]);
    snprintf(list + used, sizeof list - used, "]");
    sqlite3_bind_text(mark_claimed, 1, list, -1, SQLITE_STATIC);
    sqlite3_bind_double(mark_claimed, 2, now + 60);
    int code, marked = 0;
    while ((code = sqlite3_step(mark_claimed)) == SQLITE_ROW) {
        ids[marked++] = sqlite3_column_int64(mark_claimed, 0);
        (void)sqlite3_column_text(mark_claimed, 2); /* the worker reads params and the gate key */
        (void)sqlite3_column_text(mark_claimed, 7);
    }
    check(code, "mark claimed");
    sqlite3_reset(mark_claimed);
    return marked;
}

static void complete(sqlite3_stmt *statement, const sqlite3_int64 *ids, int count) {
    for (int i = 0; i < count; i++) {
        sqlite3_bind_int64(statement, 1, ids[i]);
        sqlite3_bind_text(statement, 2, result_json, -1, SQLITE_STATIC);
        check(sqlite3_step(statement), "complete");
        sqlite3_reset(statement);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s JOBS_DB BATCH\n", argv[0]);
        return 2;
    }
    int batch = atoi(argv[2]);
    if (batch < 1) batch = 1;
    check(sqlite3_open(argv[1], &db), "open");
    sqlite3_busy_timeout(db, 5000);
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", 0, 0, 0), "pragma");
    sqlite3_stmt *complete_statement, *begin, *commit;
    check(sqlite3_prepare_v2(db, pick_keying_sql, -1, &pick_keying, 0), "prepare pick keying");
    check(sqlite3_prepare_v2(db, pick_others_sql, -1, &pick_others, 0), "prepare pick others");
    check(sqlite3_prepare_v2(db, mark_claimed_sql, -1, &mark_claimed, 0), "prepare mark claimed");
    check(sqlite3_prepare_v2(db, complete_sql, -1, &complete_statement, 0), "prepare complete");
    check(sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, 0), "prepare begin");
    check(sqlite3_prepare_v2(db, "COMMIT", -1, &commit, 0), "prepare commit");

    sqlite3_int64 *current = malloc(sizeof *current * batch), *previous = malloc(sizeof *previous * batch);
    long jobs = 0, commits = 0;
    int pending = 0;
    double started = now_seconds();
    for (;;) {
        check(sqlite3_step(begin), "begin");
        sqlite3_reset(begin);
        if (batch == 1) {
            int got = claim(1, current);
            check(sqlite3_step(commit), "commit");
            sqlite3_reset(commit);
            commits++;
            if (got == 0) break;
            check(sqlite3_step(begin), "begin");
            sqlite3_reset(begin);
            complete(complete_statement, current, 1);
            jobs++;
        } else {
            complete(complete_statement, previous, pending);
            jobs += pending;
            pending = claim(batch, current);
            sqlite3_int64 *swap = previous;
            previous = current;
            current = swap;
        }
        check(sqlite3_step(commit), "commit");
        sqlite3_reset(commit);
        commits++;
        if (batch > 1 && pending == 0) break;
    }
    double seconds = now_seconds() - started;
    printf("jobs=%ld seconds=%.3f jobs_per_second=%.0f commits_per_second=%.0f\n", jobs, seconds, jobs / seconds,
           commits / seconds);
    sqlite3_finalize(pick_keying);
    sqlite3_finalize(pick_others);
    sqlite3_finalize(mark_claimed);
    sqlite3_finalize(complete_statement);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    return 0;
}
