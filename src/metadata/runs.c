/* Runs, task attempts, SLA misses and alerts: what the orchestrator
 * records and what status, the scheduler and the dashboard read back. */
#include <string.h>

#include "metadata/internal.h"

/* ---------------------------------------------------------------- runs */

void txf_meta_run_list_release(txf_meta_run_list *l) {
  txf_store_list_release(&l->v, &l->n, &l->text);
}

/* "The run of a date" is its latest (greatest run_id): a resumed run
 * keeps its id, a --from-scratch one gets a new one. */
static const char runs_latest_sql[] =
    "SELECT r.run_id, r.logical_date, r.kind, r.state, r.started_at_us, "
    "r.ended_at_us, r.sla_deadline_us, r.error, m.logical_date IS NOT NULL, "
    "m.deadline_us FROM runs r LEFT JOIN sla_misses m ON m.logical_date = "
    "r.logical_date WHERE r.run_id = (SELECT max(run_id) FROM runs r2 WHERE "
    "r2.logical_date = r.logical_date) AND (?1 IS NULL OR r.logical_date >= "
    "?1) AND (?2 IS NULL OR r.logical_date <= ?2) AND (?3 IS NULL OR "
    "r.state = ?3 OR (?3 = 'sla_missed' AND m.logical_date IS NOT NULL)) "
    "ORDER BY r.logical_date %s LIMIT ?4";

int txf_meta_runs_latest(txf_store *s, const txf_meta_runs_query *q,
                         txf_meta_run_list *out, txf_err *err) {
  txf_store_list_init(&out->v, &out->n, &out->text);
  char sql[sizeof runs_latest_sql + 8];
  snprintf(sql, sizeof sql, runs_latest_sql, q->ascending ? "ASC" : "DESC");
  sqlite3_stmt *st;
  int rc = txf_store_prepare(s, sql, &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, q->from, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, q->to, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, q->state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, q->limit);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    txf_meta_run *r = txf_store_row_add(&out->v, &out->n, sizeof *r);
    r->run_id = sqlite3_column_int64(st, 0);
    r->logical_date = txf_store_col_text(st, 1, &out->text);
    r->kind = txf_store_col_text(st, 2, &out->text);
    r->state = txf_store_col_text(st, 3, &out->text);
    r->started_at_us = txf_store_col_i64(st, 4);
    r->ended_at_us = txf_store_col_i64(st, 5);
    r->sla_deadline_us = txf_store_col_i64(st, 6);
    r->error = txf_store_col_text(st, 7, &out->text);
    r->sla_missed = sqlite3_column_int(st, 8);
    r->sla_miss_deadline_us = txf_store_col_i64(st, 9);
  }
  rc = txf_store_rows_done(s, st, step, "read runs", err);
  if (rc)
    txf_meta_run_list_release(out);
  return rc;
}

int txf_meta_run_latest(txf_store *s, const char *date, txf_meta_run_list *out,
                        txf_err *err) {
  txf_meta_runs_query q = {date, date, NULL, 1, 0};
  return txf_meta_runs_latest(s, &q, out, err);
}

int txf_meta_run_begin(txf_store *s, const char *date, const char *kind,
                       int64_t started_at_us, int64_t sla_deadline_us,
                       int64_t pid, int64_t *run_id, txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(s,
                             "INSERT INTO runs(logical_date, kind, state, "
                             "started_at_us, sla_deadline_us, pid) VALUES(?, "
                             "?, 'queued', ?, ?, ?)",
                             &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, date, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 3, started_at_us);
  if (sla_deadline_us)
    sqlite3_bind_int64(q, 4, sla_deadline_us);
  sqlite3_bind_int64(q, 5, pid);
  if ((rc = txf_store_step_done(s, q, "insert run", err)))
    return rc;
  *run_id = sqlite3_last_insert_rowid(s->db);
  return 0;
}

int txf_meta_run_resume(txf_store *s, int64_t run_id, int64_t pid,
                        txf_err *err) {
  sqlite3_stmt *q;
  int rc =
      txf_store_prepare(s,
                        "UPDATE runs SET state = 'queued', pid = ?, "
                        "ended_at_us = NULL, error = NULL WHERE run_id = ?",
                        &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, pid);
  sqlite3_bind_int64(q, 2, run_id);
  return txf_store_step_done(s, q, "resume run", err);
}

int txf_meta_run_start(txf_store *s, int64_t run_id, txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s, "UPDATE runs SET state = 'running' WHERE run_id = ?", &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, run_id);
  return txf_store_step_done(s, q, "start run", err);
}

int txf_meta_run_finish(txf_store *s, int64_t run_id, const char *state,
                        int64_t ended_at_us, const char *error, txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(s,
                             "UPDATE runs SET state = ?, ended_at_us = ?, "
                             "error = ? WHERE run_id = ?",
                             &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 2, ended_at_us);
  sqlite3_bind_text(q, 3, error, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 4, run_id);
  return txf_store_step_done(s, q, "update run", err);
}

int txf_meta_runs_abandon(txf_store *s, const char *date, int64_t now_us,
                          txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s,
      "UPDATE task_attempts SET state = 'failed', ended_at_us = ?, error = "
      "'abandoned: its runner (pid ' || coalesce((SELECT pid FROM runs r "
      "WHERE r.run_id = task_attempts.run_id), '?') || ') died' WHERE state "
      "= 'running' AND run_id IN (SELECT run_id FROM runs WHERE "
      "logical_date = ?)",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, now_us);
  sqlite3_bind_text(q, 2, date, -1, SQLITE_TRANSIENT);
  if ((rc = txf_store_step_done(s, q, "recover attempts", err)))
    return rc;
  rc = txf_store_prepare(s,
                         "UPDATE runs SET state = 'interrupted', error = "
                         "'runner died' WHERE logical_date = ? AND state IN "
                         "('running', 'queued')",
                         &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, date, -1, SQLITE_TRANSIENT);
  return txf_store_step_done(s, q, "recover runs", err);
}

/* ---------------------------------------------------------------- attempts */

void txf_meta_attempt_list_release(txf_meta_attempt_list *l) {
  txf_store_list_release(&l->v, &l->n, &l->text);
}

/* The columns read_attempt() reads, from task_attempts a; ATTEMPT is the
 * attempt number's expression. */
#define ATTEMPT_COLS(attempt)                                                  \
  "a.attempt_id, a.run_id, a.task, " attempt ", a.state, a.pid, "              \
  "a.started_at_us, a.ended_at_us, a.exit_status, a.error, a.log_path, "       \
  "a.retry_at_us"
#define N_ATTEMPT_COLS 12

static void read_attempt(sqlite3_stmt *q, txf_meta_attempt *a,
                         txf_arena *text) {
  a->attempt_id = sqlite3_column_int64(q, 0);
  a->run_id = sqlite3_column_int64(q, 1);
  a->task = txf_store_col_text(q, 2, text);
  a->attempt = sqlite3_column_int(q, 3);
  a->state = txf_store_col_text(q, 4, text);
  a->pid = txf_store_col_i64(q, 5);
  a->started_at_us = txf_store_col_i64(q, 6);
  a->ended_at_us = txf_store_col_i64(q, 7);
  a->exit_status = txf_store_col_i64(q, 8);
  a->error = txf_store_col_text(q, 9, text);
  a->log_path = txf_store_col_text(q, 10, text);
  a->retry_at_us = txf_store_col_i64(q, 11);
  if (sqlite3_column_count(q) > N_ATTEMPT_COLS)
    a->logical_date = txf_store_col_text(q, N_ATTEMPT_COLS, text);
}

/* Step Q (bound) to its end, reading every row into OUT. */
static int read_attempts(txf_store *s, sqlite3_stmt *q,
                         txf_meta_attempt_list *out, txf_err *err) {
  int step;
  while ((step = sqlite3_step(q)) == SQLITE_ROW)
    read_attempt(q, txf_store_row_add(&out->v, &out->n, sizeof *out->v),
                 &out->text);
  int rc = txf_store_rows_done(s, q, step, "read task_attempts", err);
  if (rc)
    txf_meta_attempt_list_release(out);
  return rc;
}

int txf_meta_attempt_begin(txf_store *s, const txf_meta_attempt *a, int64_t *id,
                           txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s,
      "INSERT INTO task_attempts(run_id, task, attempt, state, pid, "
      "started_at_us, ended_at_us, log_path, error) VALUES(?, ?, ?, ?, ?, ?, "
      "?, ?, ?)",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, a->run_id);
  sqlite3_bind_text(q, 2, a->task, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(q, 3, a->attempt);
  sqlite3_bind_text(q, 4, a->state, -1, SQLITE_TRANSIENT);
  txf_store_bind_i64(q, 5, a->pid);
  txf_store_bind_i64(q, 6, a->started_at_us);
  txf_store_bind_i64(q, 7, a->ended_at_us);
  sqlite3_bind_text(q, 8, a->log_path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 9, a->error, -1, SQLITE_TRANSIENT);
  if ((rc = txf_store_step_done(s, q, "insert attempt", err)))
    return rc;
  if (id)
    *id = sqlite3_last_insert_rowid(s->db);
  return 0;
}

int txf_meta_attempt_finish(txf_store *s, int64_t id, const char *state,
                            int64_t ended_at_us, int64_t exit_status,
                            const char *error, int64_t retry_at_us,
                            txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(s,
                             "UPDATE task_attempts SET state = ?, "
                             "ended_at_us = ?, exit_status = ?, error = ?, "
                             "retry_at_us = ? WHERE attempt_id = ?",
                             &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 2, ended_at_us);
  txf_store_bind_i64(q, 3, exit_status);
  sqlite3_bind_text(q, 4, error, -1, SQLITE_TRANSIENT);
  txf_store_bind_i64(q, 5, retry_at_us);
  sqlite3_bind_int64(q, 6, id);
  return txf_store_step_done(s, q, "update attempt", err);
}

int txf_meta_attempt_get(txf_store *s, int64_t id, txf_meta_attempt_list *out,
                         txf_err *err) {
  txf_store_list_init(&out->v, &out->n, &out->text);
  sqlite3_stmt *q;
  /* The statement ends before the call returns: a caller that writes next
   * must not still hold a read of an older snapshot (its write would fail
   * at once with SQLITE_BUSY_SNAPSHOT when another process committed
   * meanwhile). */
  int rc =
      txf_store_prepare(s,
                        "SELECT " ATTEMPT_COLS(
                            "a.attempt") ", r.logical_date FROM "
                                         "task_attempts a LEFT JOIN runs r "
                                         "USING(run_id) WHERE a.attempt_id = ?",
                        &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, id);
  return read_attempts(s, q, out, err);
}

int txf_meta_attempt_next_no(txf_store *s, const char *date, const char *task,
                             int *out, txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s,
      "SELECT coalesce(max(a.attempt), 0) FROM task_attempts a JOIN runs r "
      "USING(run_id) WHERE r.logical_date = ? AND a.task = ?",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, date, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, task, -1, SQLITE_TRANSIENT);
  *out = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) + 1 : 1;
  sqlite3_finalize(q);
  return 0;
}

int txf_meta_attempt_succeeded(txf_store *s, int64_t run_id, const char *task,
                               int *yes, txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(s,
                             "SELECT 1 FROM task_attempts WHERE run_id = ? AND "
                             "task = ? AND state = 'success'",
                             &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, run_id);
  sqlite3_bind_text(q, 2, task, -1, SQLITE_TRANSIENT);
  *yes = sqlite3_step(q) == SQLITE_ROW;
  sqlite3_finalize(q);
  return 0;
}

int txf_meta_attempt_last(txf_store *s, const char *date, const char *task,
                          const char *state, txf_meta_attempt_list *out,
                          txf_err *err) {
  txf_store_list_init(&out->v, &out->n, &out->text);
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s,
      "SELECT " ATTEMPT_COLS("a.attempt") " FROM task_attempts a JOIN runs r "
                                          "USING(run_id) WHERE r.logical_date "
                                          "= ? AND a.task = ? AND a.state = ? "
                                          "ORDER BY a.attempt_id DESC LIMIT 1",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, date, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, task, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 3, state, -1, SQLITE_TRANSIENT);
  return read_attempts(s, q, out, err);
}

int txf_meta_attempts_running(txf_store *s, const char *date,
                              txf_meta_attempt_list *out, txf_err *err) {
  txf_store_list_init(&out->v, &out->n, &out->text);
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s,
      "SELECT " ATTEMPT_COLS("a.attempt") " FROM task_attempts a JOIN runs r "
                                          "USING(run_id) WHERE r.logical_date "
                                          "= ? AND a.state = 'running'",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, date, -1, SQLITE_TRANSIENT);
  return read_attempts(s, q, out, err);
}

int txf_meta_attempts_of_run(txf_store *s, int64_t run_id, const char *task,
                             int by_task, txf_meta_attempt_list *out,
                             txf_err *err) {
  txf_store_list_init(&out->v, &out->n, &out->text);
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s,
      by_task ? "SELECT " ATTEMPT_COLS(
                    "a.attempt") " FROM task_attempts a "
                                 "WHERE a.run_id = ?1 AND (?2 IS NULL OR "
                                 "a.task = ?2) ORDER BY "
                                 "a.task, a.attempt"
              : "SELECT " ATTEMPT_COLS(
                    "a.attempt") " FROM task_attempts a "
                                 "WHERE a.run_id = ?1 AND (?2 IS NULL OR "
                                 "a.task = ?2) ORDER BY "
                                 "a.attempt_id",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, run_id);
  sqlite3_bind_text(q, 2, task, -1, SQLITE_TRANSIENT);
  return read_attempts(s, q, out, err);
}

int txf_meta_attempts_latest(txf_store *s, int64_t run_lo, int64_t run_hi,
                             txf_meta_attempt_list *out, txf_err *err) {
  txf_store_list_init(&out->v, &out->n, &out->text);
  sqlite3_stmt *q;
  /* SQLite takes the bare columns from the row of max(attempt). */
  int rc = txf_store_prepare(
      s,
      "SELECT " ATTEMPT_COLS("max(a.attempt)") " FROM task_attempts a WHERE "
                                               "a.run_id BETWEEN ? AND ? GROUP "
                                               "BY a.run_id, a.task",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, run_lo);
  sqlite3_bind_int64(q, 2, run_hi);
  return read_attempts(s, q, out, err);
}

int txf_meta_task_names(txf_store *s, txf_meta_name_list *out, txf_err *err) {
  txf_store_list_init(&out->v, &out->n, &out->text);
  sqlite3_stmt *q;
  int rc = txf_store_prepare(s,
                             "SELECT task FROM task_attempts GROUP BY task "
                             "ORDER BY min(attempt_id)",
                             &q, err);
  if (rc)
    return rc;
  int step;
  while ((step = sqlite3_step(q)) == SQLITE_ROW)
    *(const char **)txf_store_row_add(&out->v, &out->n, sizeof *out->v) =
        txf_store_col_text(q, 0, &out->text);
  rc = txf_store_rows_done(s, q, step, "read task_attempts", err);
  if (rc)
    txf_meta_name_list_release(out);
  return rc;
}

/* ---------------------------------------------------------------- SLA */

int txf_meta_sla_due(txf_store *s, const char *date, int64_t deadline_us,
                     int *due, txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s,
      "SELECT (SELECT count(*) FROM sla_misses WHERE logical_date = ?1), "
      "(SELECT count(*) FROM runs WHERE logical_date = ?1 AND state = "
      "'success' AND ended_at_us <= ?2)",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, date, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 2, deadline_us);
  *due = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0 &&
         sqlite3_column_int(q, 1) == 0;
  sqlite3_finalize(q);
  return 0;
}

int txf_meta_sla_miss_add(txf_store *s, const char *date, int64_t run_id,
                          int64_t deadline_us, int64_t detected_at_us,
                          int *added, txf_err *err) {
  *added = 0;
  sqlite3_stmt *q;
  int rc = txf_store_prepare(s,
                             "INSERT OR IGNORE INTO sla_misses(logical_date, "
                             "run_id, deadline_us, detected_at_us) VALUES(?, "
                             "?, ?, ?)",
                             &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, date, -1, SQLITE_TRANSIENT);
  if (run_id)
    sqlite3_bind_int64(q, 2, run_id);
  sqlite3_bind_int64(q, 3, deadline_us);
  sqlite3_bind_int64(q, 4, detected_at_us);
  if ((rc = txf_store_step_done(s, q, "record SLA miss", err)))
    return rc;
  /* The primary key makes the record exactly-once even with two
   * schedulers: only the one that inserted it sees a change. */
  *added = sqlite3_changes(s->db) == 1;
  return 0;
}

/* ---------------------------------------------------------------- alerts */

int txf_meta_alert_add(txf_store *s, const txf_meta_alert *a, txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(s,
                             "INSERT INTO alerts(logical_date, run_id, kind, "
                             "command, sent_at_us, exit_status, output) "
                             "VALUES(?, ?, ?, ?, ?, ?, ?)",
                             &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, a->logical_date, -1, SQLITE_TRANSIENT);
  if (a->run_id)
    sqlite3_bind_int64(q, 2, a->run_id);
  sqlite3_bind_text(q, 3, a->kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 4, a->command, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 5, a->sent_at_us);
  sqlite3_bind_int(q, 6, a->exit_status);
  sqlite3_bind_text(q, 7, a->output, -1, SQLITE_TRANSIENT);
  return txf_store_step_done(s, q, "record alert", err);
}
