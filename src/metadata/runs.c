/* Runs, task attempts, SLA misses and alerts: what the orchestrator
 * records and what status, the scheduler and the dashboard read back. */
#include <string.h>

#include "metadata/internal.h"

/* ---------------------------------------------------------------- runs */

void txf_meta_run_list_release(txf_meta_run_list *l) {
  txf_store_list_release(TXF_STORE_LIST(l));
}

static const txf_store_col run_cols[] = {
    TXF_STORE_COL('i', txf_meta_run, run_id),
    TXF_STORE_COL('t', txf_meta_run, logical_date),
    TXF_STORE_COL('t', txf_meta_run, kind),
    TXF_STORE_COL('t', txf_meta_run, state),
    TXF_STORE_COL('n', txf_meta_run, started_at_us),
    TXF_STORE_COL('n', txf_meta_run, ended_at_us),
    TXF_STORE_COL('n', txf_meta_run, sla_deadline_us),
    TXF_STORE_COL('t', txf_meta_run, error),
    TXF_STORE_COL('d', txf_meta_run, sla_missed),
    TXF_STORE_COL('n', txf_meta_run, sla_miss_deadline_us),
};

static const txf_store_rows run_rows = {sizeof(txf_meta_run), NULL, "read runs",
                                        run_cols, TXF_ARRAY_LEN(run_cols)};

/* "The run of a date" is its latest (greatest run_id): a resumed run
 * keeps its id, a --from-scratch one gets a new one. */
#define RUNS_LATEST(order)                                                     \
  "SELECT r.run_id, r.logical_date, r.kind, r.state, r.started_at_us, "        \
  "r.ended_at_us, r.sla_deadline_us, r.error, m.logical_date IS NOT NULL, "    \
  "m.deadline_us FROM runs r LEFT JOIN sla_misses m ON m.logical_date = "      \
  "r.logical_date WHERE r.run_id = (SELECT max(run_id) FROM runs r2 WHERE "    \
  "r2.logical_date = r.logical_date AND (?5 IS NULL OR r2.kind <> ?5)) AND "   \
  "(?1 IS NULL OR r.logical_date >= "                                          \
  "?1) AND (?2 IS NULL OR r.logical_date <= ?2) AND (?3 IS NULL OR "           \
  "r.state = ?3 OR (?3 = 'sla_missed' AND m.logical_date IS NOT NULL)) "       \
  "ORDER BY r.logical_date " order " LIMIT ?4"

int txf_meta_runs_latest(txf_store *s, const txf_meta_runs_query *q,
                         txf_meta_run_list *out, txf_err *err) {
  return txf_store_select(
      s, &run_rows, TXF_STORE_LIST(out), err,
      q->ascending ? RUNS_LATEST("ASC") : RUNS_LATEST("DESC"), "sssis", q->from,
      q->to, q->state, q->limit, q->except_kind);
}

int txf_meta_run_latest(txf_store *s, const char *date, txf_meta_run_list *out,
                        txf_err *err) {
  return txf_meta_run_latest_except(s, date, NULL, out, err);
}

int txf_meta_run_latest_except(txf_store *s, const char *date,
                               const char *except_kind, txf_meta_run_list *out,
                               txf_err *err) {
  txf_meta_runs_query q = {date, date, NULL, 1, 0, except_kind};
  return txf_meta_runs_latest(s, &q, out, err);
}

int txf_meta_run_begin(txf_store *s, const char *date, const char *kind,
                       int64_t started_at_us, int64_t sla_deadline_us,
                       int64_t pid, int64_t *run_id, txf_err *err) {
  int rc = txf_store_write(
      s, "insert run", err,
      "INSERT INTO runs(logical_date, kind, state, started_at_us, "
      "sla_deadline_us, pid) VALUES(?, ?, 'queued', ?, ?, ?)",
      "ssini", date, kind, started_at_us,
      sla_deadline_us ? sla_deadline_us : TXF_META_NULL, pid);
  if (!rc)
    *run_id = sqlite3_last_insert_rowid(s->db);
  return rc;
}

int txf_meta_run_resume(txf_store *s, int64_t run_id, int64_t pid,
                        txf_err *err) {
  return txf_store_write(s, "resume run", err,
                         "UPDATE runs SET state = 'queued', pid = ?, "
                         "ended_at_us = NULL, error = NULL WHERE run_id = ?",
                         "ii", pid, run_id);
}

int txf_meta_run_start(txf_store *s, int64_t run_id, txf_err *err) {
  return txf_store_write(s, "start run", err,
                         "UPDATE runs SET state = 'running' WHERE run_id = ?",
                         "i", run_id);
}

int txf_meta_run_finish(txf_store *s, int64_t run_id, const char *state,
                        int64_t ended_at_us, const char *error, txf_err *err) {
  return txf_store_write(s, "update run", err,
                         "UPDATE runs SET state = ?, ended_at_us = ?, error = "
                         "? WHERE run_id = ?",
                         "sisi", state, ended_at_us, error, run_id);
}

int txf_meta_runs_abandon(txf_store *s, const char *date, int64_t now_us,
                          txf_err *err) {
  int rc = txf_store_write(
      s, "recover attempts", err,
      "UPDATE task_attempts SET state = 'failed', ended_at_us = ?, error = "
      "'abandoned: its runner (pid ' || coalesce((SELECT pid FROM runs r "
      "WHERE r.run_id = task_attempts.run_id), '?') || ') died' WHERE state "
      "= 'running' AND run_id IN (SELECT run_id FROM runs WHERE "
      "logical_date = ?)",
      "is", now_us, date);
  if (rc)
    return rc;
  return txf_store_write(s, "recover runs", err,
                         "UPDATE runs SET state = 'interrupted', error = "
                         "'runner died' WHERE logical_date = ? AND state IN "
                         "('running', 'queued')",
                         "s", date);
}

/* ---------------------------------------------------------------- attempts */

void txf_meta_attempt_list_release(txf_meta_attempt_list *l) {
  txf_store_list_release(TXF_STORE_LIST(l));
}

/* The columns fill_attempt() reads, from task_attempts a; ATTEMPT is the
 * attempt number's expression. A 13th column is the run's logical date. */
#define ATTEMPT_COLS(attempt)                                                  \
  "a.attempt_id, a.run_id, a.task, " attempt ", a.state, a.pid, "              \
  "a.started_at_us, a.ended_at_us, a.exit_status, a.error, a.log_path, "       \
  "a.retry_at_us, a.max_rss_kb, a.cpu_us"

static const txf_store_col attempt_cols[] = {
    TXF_STORE_COL('i', txf_meta_attempt, attempt_id),
    TXF_STORE_COL('i', txf_meta_attempt, run_id),
    TXF_STORE_COL('t', txf_meta_attempt, task),
    TXF_STORE_COL('d', txf_meta_attempt, attempt),
    TXF_STORE_COL('t', txf_meta_attempt, state),
    TXF_STORE_COL('n', txf_meta_attempt, pid),
    TXF_STORE_COL('n', txf_meta_attempt, started_at_us),
    TXF_STORE_COL('n', txf_meta_attempt, ended_at_us),
    TXF_STORE_COL('n', txf_meta_attempt, exit_status),
    TXF_STORE_COL('t', txf_meta_attempt, error),
    TXF_STORE_COL('t', txf_meta_attempt, log_path),
    TXF_STORE_COL('n', txf_meta_attempt, retry_at_us),
    TXF_STORE_COL('n', txf_meta_attempt, max_rss_kb),
    TXF_STORE_COL('n', txf_meta_attempt, cpu_us),
    TXF_STORE_COL('t', txf_meta_attempt, logical_date),
};

static const txf_store_rows attempt_rows = {sizeof(txf_meta_attempt), NULL,
                                            "read task_attempts", attempt_cols,
                                            TXF_ARRAY_LEN(attempt_cols)};

int txf_meta_attempt_begin(txf_store *s, const txf_meta_attempt *a, int64_t *id,
                           txf_err *err) {
  int rc = txf_store_write(
      s, "insert attempt", err,
      "INSERT INTO task_attempts(run_id, task, attempt, state, pid, "
      "started_at_us, ended_at_us, log_path, error) VALUES(?, ?, ?, ?, ?, ?, "
      "?, ?, ?)",
      "isisnnnss", a->run_id, a->task, (int64_t)a->attempt, a->state, a->pid,
      a->started_at_us, a->ended_at_us, a->log_path, a->error);
  if (!rc && id)
    *id = sqlite3_last_insert_rowid(s->db);
  return rc;
}

int txf_meta_attempt_finish(txf_store *s, int64_t id, const char *state,
                            int64_t ended_at_us, int64_t exit_status,
                            const char *error, int64_t retry_at_us,
                            txf_err *err) {
  return txf_store_write(s, "update attempt", err,
                         "UPDATE task_attempts SET state = ?, ended_at_us = ?, "
                         "exit_status = ?, error = ?, retry_at_us = ? WHERE "
                         "attempt_id = ?",
                         "sinsni", state, ended_at_us, exit_status, error,
                         retry_at_us, id);
}

int txf_meta_attempt_usage(txf_store *s, int64_t id, int64_t max_rss_kb,
                           int64_t cpu_us, txf_err *err) {
  return txf_store_write(s, "update attempt", err,
                         "UPDATE task_attempts SET max_rss_kb = ?, cpu_us = ? "
                         "WHERE attempt_id = ?",
                         "iii", max_rss_kb, cpu_us, id);
}

int txf_meta_attempt_get(txf_store *s, int64_t id, txf_meta_attempt_list *out,
                         txf_err *err) {
  /* The statement ends before the call returns: a caller that writes next
   * must not still hold a read of an older snapshot (its write would fail
   * at once with SQLITE_BUSY_SNAPSHOT when another process committed
   * meanwhile). */
  return txf_store_select(
      s, &attempt_rows, TXF_STORE_LIST(out), err,
      "SELECT " ATTEMPT_COLS("a.attempt") ", r.logical_date FROM "
                                          "task_attempts a LEFT JOIN runs r "
                                          "USING(run_id) WHERE a.attempt_id "
                                          "= ?",
      "i", id);
}

int txf_meta_attempt_next_no(txf_store *s, const char *date, const char *task,
                             int *out, txf_err *err) {
  int64_t max;
  int found;
  int rc = txf_store_row_i64(
      s, &max, 1, &found, err,
      "SELECT coalesce(max(a.attempt), 0) FROM task_attempts a JOIN runs r "
      "USING(run_id) WHERE r.logical_date = ? AND a.task = ?",
      "ss", date, task);
  *out = found ? (int)max + 1 : 1;
  return rc;
}

int txf_meta_attempt_succeeded(txf_store *s, int64_t run_id, const char *task,
                               int *yes, txf_err *err) {
  int64_t one;
  return txf_store_row_i64(s, &one, 1, yes, err,
                           "SELECT 1 FROM task_attempts WHERE run_id = ? AND "
                           "task = ? AND state = 'success'",
                           "is", run_id, task);
}

int txf_meta_attempt_last(txf_store *s, const char *date, const char *task,
                          const char *state, txf_meta_attempt_list *out,
                          txf_err *err) {
  return txf_store_select(
      s, &attempt_rows, TXF_STORE_LIST(out), err,
      "SELECT " ATTEMPT_COLS("a.attempt") " FROM task_attempts a JOIN runs r "
                                          "USING(run_id) WHERE r.logical_date "
                                          "= ? AND a.task = ? AND a.state = ? "
                                          "ORDER BY a.attempt_id DESC LIMIT 1",
      "sss", date, task, state);
}

int txf_meta_attempts_running(txf_store *s, const char *date,
                              txf_meta_attempt_list *out, txf_err *err) {
  return txf_store_select(
      s, &attempt_rows, TXF_STORE_LIST(out), err,
      "SELECT " ATTEMPT_COLS("a.attempt") " FROM task_attempts a JOIN runs r "
                                          "USING(run_id) WHERE r.logical_date "
                                          "= ? AND a.state = 'running'",
      "s", date);
}

#define ATTEMPTS_OF_RUN(order)                                                 \
  "SELECT " ATTEMPT_COLS("a.attempt") " FROM task_attempts a WHERE "           \
                                      "a.run_id = ?1 AND (?2 IS NULL OR "      \
                                      "a.task = ?2) ORDER BY " order

int txf_meta_attempts_of_run(txf_store *s, int64_t run_id, const char *task,
                             int by_task, txf_meta_attempt_list *out,
                             txf_err *err) {
  return txf_store_select(s, &attempt_rows, TXF_STORE_LIST(out), err,
                          by_task ? ATTEMPTS_OF_RUN("a.task, a.attempt")
                                  : ATTEMPTS_OF_RUN("a.attempt_id"),
                          "is", run_id, task);
}

int txf_meta_attempts_latest(txf_store *s, int64_t run_lo, int64_t run_hi,
                             txf_meta_attempt_list *out, txf_err *err) {
  /* SQLite takes the bare columns from the row of max(attempt). */
  return txf_store_select(
      s, &attempt_rows, TXF_STORE_LIST(out), err,
      "SELECT " ATTEMPT_COLS("max(a.attempt)") " FROM task_attempts a WHERE "
                                               "a.run_id BETWEEN ? AND ? GROUP "
                                               "BY a.run_id, a.task",
      "ii", run_lo, run_hi);
}

int txf_meta_task_names(txf_store *s, txf_meta_name_list *out, txf_err *err) {
  static const txf_store_rows task_rows = {
      sizeof(const char *), txf_store_fill_text, "read task_attempts", NULL, 0};
  return txf_store_select(s, &task_rows, TXF_STORE_LIST(out), err,
                          "SELECT task FROM task_attempts GROUP BY task "
                          "ORDER BY min(attempt_id)",
                          "");
}

/* ---------------------------------------------------------------- SLA */

int txf_meta_sla_due(txf_store *s, const char *date, int64_t deadline_us,
                     int *due, txf_err *err) {
  int64_t n[2];
  int found;
  int rc = txf_store_row_i64(
      s, n, 2, &found, err,
      "SELECT (SELECT count(*) FROM sla_misses WHERE logical_date = ?1), "
      "(SELECT count(*) FROM runs WHERE logical_date = ?1 AND state = "
      "'success' AND ended_at_us <= ?2)",
      "si", date, deadline_us);
  *due = found && n[0] == 0 && n[1] == 0;
  return rc;
}

int txf_meta_sla_miss_add(txf_store *s, const char *date, int64_t run_id,
                          int64_t deadline_us, int64_t detected_at_us,
                          int *added, txf_err *err) {
  int rc = txf_store_write(
      s, "record SLA miss", err,
      "INSERT OR IGNORE INTO sla_misses(logical_date, run_id, deadline_us, "
      "detected_at_us) VALUES(?, ?, ?, ?)",
      "snii", date, run_id ? run_id : TXF_META_NULL, deadline_us,
      detected_at_us);
  /* The primary key makes the record exactly-once even with two
   * schedulers: only the one that inserted it sees a change. */
  *added = !rc && sqlite3_changes(s->db) == 1;
  return rc;
}

/* ---------------------------------------------------------------- alerts */

int txf_meta_alert_add(txf_store *s, const txf_meta_alert *a, txf_err *err) {
  return txf_store_write(
      s, "record alert", err,
      "INSERT INTO alerts(logical_date, run_id, kind, command, sent_at_us, "
      "exit_status, output) VALUES(?, ?, ?, ?, ?, ?, ?)",
      "snssiis", a->logical_date, a->run_id ? a->run_id : TXF_META_NULL,
      a->kind, a->command, a->sent_at_us, (int64_t)a->exit_status, a->output);
}
