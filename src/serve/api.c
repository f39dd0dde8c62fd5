/* The dashboard's JSON API: read-only views of the metadata database, the
 * warehouse, the models' manifest and the lake. See docs/serve.md. */
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "duck/duck.h"
#include "metadata/metadata.h"
#include "serve/serve.h"

#define MAX_LOG_BYTES (256 * 1024)
#define MAX_SAMPLE_BYTES (64 * 1024)
#define MAX_LIMIT 5000

/* One cached warehouse answer: valid while the warehouse file keeps its
 * size and modification time. */
typedef struct wh_cache {
  char *key;
  char *body;
  size_t len;
  int64_t mtime_ns;
  int64_t size;
} wh_cache;

struct txf_serve_app {
  txf_serve_config cfg; /* strings below are owned copies */
  char *data_dir, *project_dir, *project_name, *timezone;
  char *meta_path, *warehouse_path;
  pthread_mutex_t wh_lock; /* one DuckDB open at a time; guards cache */
  wh_cache cache[8];
  unsigned cache_next;
};

static char *dup_or_null(const char *s) { return s ? txf_xstrdup(s) : NULL; }

txf_serve_app *txf_serve_app_new(const txf_serve_config *cfg) {
  txf_serve_app *a = txf_xcalloc(1, sizeof *a);
  a->cfg = *cfg;
  a->data_dir = txf_xstrdup(cfg->data_dir);
  a->project_dir = dup_or_null(cfg->project_dir);
  a->project_name = txf_xstrdup(cfg->project_name ? cfg->project_name : "");
  a->timezone = txf_xstrdup(cfg->timezone ? cfg->timezone : "Asia/Seoul");
  a->meta_path = txf_path_join(a->data_dir, "txnflow.db");
  a->warehouse_path = txf_path_join(a->data_dir, "warehouse.duckdb");
  pthread_mutex_init(&a->wh_lock, NULL);
  return a;
}

void txf_serve_app_free(txf_serve_app *a) {
  if (!a)
    return;
  for (size_t i = 0; i < TXF_ARRAY_LEN(a->cache); i++) {
    free(a->cache[i].key);
    free(a->cache[i].body);
  }
  pthread_mutex_destroy(&a->wh_lock);
  free(a->data_dir);
  free(a->project_dir);
  free(a->project_name);
  free(a->timezone);
  free(a->meta_path);
  free(a->warehouse_path);
  free(a);
}

/* ---------------------------------------------------------------- helpers */

static const char *param(const txf_serve_param *p, size_t n, const char *k) {
  for (size_t i = 0; i < n; i++)
    if (p[i].key && !strcmp(p[i].key, k))
      return p[i].value ? p[i].value : "";
  return NULL;
}

static void respond_json(txf_serve_response *r, int status, json_t *doc) {
  r->status = status;
  r->content_type = "application/json; charset=utf-8";
  r->body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!r->body)
    r->body = txf_xstrdup("{\"error\":\"cannot encode\"}");
  r->len = strlen(r->body);
  json_decref(doc);
}

static void respond_error(txf_serve_response *r, int status, const char *msg) {
  respond_json(r, status, json_pack("{s:s}", "error", msg));
}

static json_t *col_str(sqlite3_stmt *q, int i) {
  const unsigned char *s = sqlite3_column_text(q, i);
  return s ? json_string((const char *)s) : json_null();
}

static json_t *col_int(sqlite3_stmt *q, int i) {
  return sqlite3_column_type(q, i) == SQLITE_NULL
             ? json_null()
             : json_integer(sqlite3_column_int64(q, i));
}

/* Seconds between two *_us columns, or null. */
static json_t *col_dur(sqlite3_stmt *q, int i0, int i1) {
  if (sqlite3_column_type(q, i0) == SQLITE_NULL ||
      sqlite3_column_type(q, i1) == SQLITE_NULL)
    return json_null();
  int64_t d = sqlite3_column_int64(q, i1) - sqlite3_column_int64(q, i0);
  return d >= 0 ? json_real((double)d / 1e6) : json_null();
}

/* A date parameter: absent -> DEF, malformed -> -1. */
static int date_param(const txf_serve_param *p, size_t n, const char *k,
                      const char *def, char out[11]) {
  const char *v = param(p, n, k);
  if (!v || !*v) {
    snprintf(out, 11, "%s", def);
    return 0;
  }
  txf_date d;
  if (txf_date_parse(v, SIZE_MAX, &d))
    return -1;
  txf_date_format(d, out);
  return 0;
}

static int int_param(const txf_serve_param *p, size_t n, const char *k,
                     int64_t def, int64_t max, int64_t *out) {
  const char *v = param(p, n, k);
  *out = def;
  if (!v || !*v)
    return 0;
  int64_t x;
  if (txf_parse_i64(v, &x) || x < 0 || x > max)
    return -1;
  *out = x;
  return 0;
}

/* Open the metadata database read-only. *missing is set (and 0 returned)
 * when it does not exist yet. */
static int open_meta(txf_serve_app *a, txf_store **st, int *missing,
                     txf_err *err) {
  *st = NULL;
  *missing = 0;
  int rc = txf_store_open(st, a->meta_path, 1, err);
  if (rc == TXF_ENOTFOUND) {
    *missing = 1;
    return 0;
  }
  return rc;
}

/* Run Q to completion, calling ROW for each row; TXF_EDB on a step error. */
static int prep(txf_store *st, const char *sql, sqlite3_stmt **q,
                txf_err *err) {
  return txf_store_prepare(st, sql, q, err);
}

static int step_done(txf_store *st, int s, txf_err *err) {
  return s == SQLITE_DONE ? 0 : txf_store_error(st, err, "read");
}

/* ---------------------------------------------------------------- summary */

static int api_summary(txf_serve_app *a, txf_store *st, json_t *doc,
                       txf_err *err) {
  json_object_set_new(doc, "project", json_string(a->project_name));
  json_object_set_new(doc, "timezone", json_string(a->timezone));
  json_object_set_new(doc, "data_dir", json_string(a->data_dir));
  json_object_set_new(doc, "warehouse",
                      json_boolean(txf_fs_exists(a->warehouse_path)));
  char *mp = a->project_dir
                 ? txf_path_join(a->project_dir, "target/manifest.json")
                 : NULL;
  json_object_set_new(doc, "manifest", json_boolean(mp && txf_fs_exists(mp)));
  free(mp);
  if (!st)
    return 0;
  static const char *const counts[][2] = {
      {"runs", "SELECT count(DISTINCT logical_date) FROM runs"},
      {"failed_runs",
       "SELECT count(*) FROM runs r WHERE state = 'failed' AND run_id = "
       "(SELECT max(run_id) FROM runs r2 WHERE r2.logical_date = "
       "r.logical_date)"},
      {"sla_misses", "SELECT count(*) FROM sla_misses"},
      {"clean_runs", "SELECT count(*) FROM clean_runs"},
      {"test_results", "SELECT count(*) FROM test_results"},
      {"lineage_events", "SELECT count(*) FROM lineage_events"},
      {"last_date", "SELECT max(logical_date) FROM runs"},
      {"last_state", "SELECT state FROM runs ORDER BY logical_date DESC, "
                     "run_id DESC LIMIT 1"}};
  for (size_t i = 0; i < TXF_ARRAY_LEN(counts); i++) {
    sqlite3_stmt *q = NULL;
    int rc = prep(st, counts[i][1], &q, err);
    if (rc)
      return rc;
    if (sqlite3_step(q) == SQLITE_ROW)
      json_object_set_new(doc, counts[i][0],
                          sqlite3_column_type(q, 0) == SQLITE_INTEGER
                              ? col_int(q, 0)
                              : col_str(q, 0));
    sqlite3_finalize(q);
  }
  return 0;
}

/* ---------------------------------------------------------------- runs */

static int api_runs(txf_serve_app *a, txf_store *st, const txf_serve_param *p,
                    size_t np, json_t *doc, txf_err *err,
                    txf_serve_response *r) {
  (void)a;
  char from[11], to[11];
  int64_t limit;
  const char *state = param(p, np, "state");
  if (date_param(p, np, "from", "0001-01-01", from) ||
      date_param(p, np, "to", "9999-12-31", to) ||
      int_param(p, np, "limit", 400, MAX_LIMIT, &limit)) {
    respond_error(r, 400, "bad from, to or limit");
    return -1;
  }
  if (state && *state && strcmp(state, "success") && strcmp(state, "failed") &&
      strcmp(state, "running") && strcmp(state, "queued") &&
      strcmp(state, "sla_missed")) {
    respond_error(r, 400, "bad state");
    return -1;
  }
  if (state && !*state)
    state = NULL;
  json_t *runs = json_array(), *tasks = json_array();
  json_object_set_new(doc, "runs", runs);
  json_object_set_new(doc, "tasks", tasks);
  if (!st)
    return 0;
  sqlite3_stmt *q = NULL, *tq = NULL, *names = NULL;
  int rc = prep(st,
                "SELECT task FROM task_attempts GROUP BY task ORDER BY "
                "min(attempt_id)",
                &names, err);
  if (rc)
    return rc;
  int s;
  while ((s = sqlite3_step(names)) == SQLITE_ROW)
    json_array_append_new(tasks, col_str(names, 0));
  rc = step_done(st, s, err);
  sqlite3_finalize(names);
  if (rc)
    return rc;
  rc = prep(st,
            "SELECT r.run_id, r.logical_date, r.kind, r.state, "
            "r.started_at_us, r.ended_at_us, r.sla_deadline_us, r.error, "
            "m.deadline_us, m.detected_at_us FROM runs r LEFT JOIN "
            "sla_misses m ON m.logical_date = r.logical_date WHERE r.run_id "
            "= (SELECT max(run_id) FROM runs r2 WHERE r2.logical_date = "
            "r.logical_date) AND r.logical_date BETWEEN ?1 AND ?2 AND (?3 "
            "IS NULL OR r.state = ?3 OR (?3 = 'sla_missed' AND m.logical_date "
            "IS NOT NULL)) ORDER BY r.logical_date DESC LIMIT ?4",
            &q, err);
  if (!rc)
    rc = prep(st,
              "SELECT task, attempt, state, started_at_us, ended_at_us, "
              "attempt_id, log_path IS NOT NULL, exit_status, error FROM "
              "task_attempts WHERE run_id = ? ORDER BY task, attempt",
              &tq, err);
  if (rc) {
    sqlite3_finalize(q);
    return rc;
  }
  sqlite3_bind_text(q, 1, from, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, to, -1, SQLITE_TRANSIENT);
  if (state)
    sqlite3_bind_text(q, 3, state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 4, limit);
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    json_t *run = json_object();
    json_object_set_new(run, "run_id", col_int(q, 0));
    json_object_set_new(run, "logical_date", col_str(q, 1));
    json_object_set_new(run, "kind", col_str(q, 2));
    json_object_set_new(run, "state", col_str(q, 3));
    json_object_set_new(run, "started_at_us", col_int(q, 4));
    json_object_set_new(run, "ended_at_us", col_int(q, 5));
    json_object_set_new(run, "duration_s", col_dur(q, 4, 5));
    json_object_set_new(run, "sla_deadline_us", col_int(q, 6));
    json_object_set_new(run, "error", col_str(q, 7));
    json_object_set_new(run, "sla_missed",
                        json_boolean(sqlite3_column_type(q, 8) != SQLITE_NULL));
    json_object_set_new(run, "sla_miss_deadline_us", col_int(q, 8));
    json_t *tmap = json_object();
    sqlite3_reset(tq);
    sqlite3_bind_int64(tq, 1, sqlite3_column_int64(q, 0));
    int ts;
    while ((ts = sqlite3_step(tq)) == SQLITE_ROW) {
      const char *task = (const char *)sqlite3_column_text(tq, 0);
      json_t *t = json_object_get(tmap, task);
      if (!t) {
        t = json_pack("{s:[]}", "attempts");
        json_object_set_new(tmap, task, t);
      }
      json_t *at = json_object();
      json_object_set_new(at, "attempt_id", col_int(tq, 5));
      json_object_set_new(at, "attempt", col_int(tq, 1));
      json_object_set_new(at, "state", col_str(tq, 2));
      json_object_set_new(at, "duration_s", col_dur(tq, 3, 4));
      json_object_set_new(at, "started_at_us", col_int(tq, 3));
      json_object_set_new(at, "has_log",
                          json_boolean(sqlite3_column_int(tq, 6)));
      json_object_set_new(at, "exit_status", col_int(tq, 7));
      json_object_set_new(at, "error", col_str(tq, 8));
      json_array_append_new(json_object_get(t, "attempts"), at);
      /* The task's state is its latest attempt's. */
      json_object_set(t, "state", json_object_get(at, "state"));
      json_object_set(t, "duration_s", json_object_get(at, "duration_s"));
      json_object_set_new(t, "n_attempts", col_int(tq, 1));
    }
    json_object_set_new(run, "tasks", tmap);
    json_array_append_new(runs, run);
    if (ts != SQLITE_DONE) {
      s = ts;
      break;
    }
  }
  rc = step_done(st, s, err);
  sqlite3_finalize(q);
  sqlite3_finalize(tq);
  return rc;
}

/* The log of one attempt, as text. Only files under DATA/logs are read,
 * whatever the database says. */
static void api_log(txf_serve_app *a, txf_store *st, const txf_serve_param *p,
                    size_t np, txf_serve_response *r) {
  int64_t id;
  if (!param(p, np, "attempt") || !*param(p, np, "attempt") ||
      int_param(p, np, "attempt", 0, INT64_MAX, &id)) {
    respond_error(r, 400, "bad attempt");
    return;
  }
  if (!st) {
    respond_error(r, 404, "no metadata database");
    return;
  }
  sqlite3_stmt *q = NULL;
  txf_err err;
  txf_err_clear(&err);
  if (prep(st, "SELECT log_path FROM task_attempts WHERE attempt_id = ?", &q,
           &err)) {
    respond_error(r, 500, err.msg);
    return;
  }
  sqlite3_bind_int64(q, 1, id);
  char *path = NULL;
  if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
    path = txf_path_abs(a->data_dir, (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  if (!path) {
    respond_error(r, 404, "no log for this attempt");
    return;
  }
  char *logs = txf_path_join(a->data_dir, "logs");
  char real_logs[PATH_MAX], real_path[PATH_MAX];
  int ok = realpath(logs, real_logs) && realpath(path, real_path) &&
           txf_str_has_prefix(real_path, real_logs) &&
           real_path[strlen(real_logs)] == '/';
  free(logs);
  free(path);
  if (!ok) {
    respond_error(r, 404, "log file not found under the logs directory");
    return;
  }
  FILE *f = fopen(real_path, "rb");
  if (!f) {
    respond_error(r, 404, "log file cannot be read");
    return;
  }
  /* A long log shows its tail: the end is where the error is. */
  long skip = 0;
  if (fseek(f, 0, SEEK_END) == 0) {
    long size = ftell(f);
    if (size > MAX_LOG_BYTES)
      skip = size - MAX_LOG_BYTES;
    fseek(f, skip, SEEK_SET);
  }
  txf_buf b;
  txf_buf_init(&b, 0);
  if (skip)
    txf_buf_printf(&b, "[... %ld bytes not shown ...]\n", skip);
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    txf_buf_append(&b, chunk, n);
  fclose(f);
  r->status = 200;
  r->content_type = "text/plain; charset=utf-8";
  r->body = txf_buf_take(&b, &r->len);
}

/* ---------------------------------------------------------------- quality */

static int api_quality(txf_serve_app *a, txf_store *st,
                       const txf_serve_param *p, size_t np, json_t *doc,
                       txf_err *err, txf_serve_response *r) {
  (void)a;
  char from[11], to[11];
  if (date_param(p, np, "from", "", from) || date_param(p, np, "to", "", to)) {
    respond_error(r, 400, "bad from or to");
    return -1;
  }
  json_t *tests = json_array();
  json_object_set_new(doc, "tests", tests);
  json_t *sum = json_pack("{s:i, s:i, s:i, s:i}", "pass", 0, "fail", 0,
                          "warn", 0, "error", 0);
  json_object_set_new(doc, "latest", sum);
  if (!st)
    return 0;
  /* Default window: the 31 latest logical dates with results. */
  sqlite3_stmt *q = NULL;
  int rc;
  if (!from[0]) {
    rc = prep(st,
              "SELECT min(d) FROM (SELECT DISTINCT logical_date d FROM "
              "test_results WHERE logical_date IS NOT NULL ORDER BY d DESC "
              "LIMIT 31)",
              &q, err);
    if (rc)
      return rc;
    snprintf(from, sizeof from, "0001-01-01");
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
      snprintf(from, sizeof from, "%s", sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
  }
  if (!to[0])
    snprintf(to, sizeof to, "9999-12-31");
  json_object_set_new(doc, "from", json_string(from));
  json_object_set_new(doc, "to", json_string(to));
  rc = prep(st,
            "SELECT result_id, coalesce(model, ''), test_name, severity, "
            "status, failures, logical_date, started_at_us, duration_us, "
            "message, sample_json IS NOT NULL AND sample_json NOT IN ('', "
            "'[]', 'null') FROM test_results WHERE coalesce(logical_date, "
            "'') BETWEEN ?1 AND ?2 OR logical_date IS NULL ORDER BY model, "
            "test_name, result_id",
            &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, from, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, to, -1, SQLITE_TRANSIENT);
  int s;
  json_t *cur = NULL;
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    const char *model = (const char *)sqlite3_column_text(q, 1);
    const char *name = (const char *)sqlite3_column_text(q, 2);
    if (!cur ||
        strcmp(json_string_value(json_object_get(cur, "model")), model) ||
        strcmp(json_string_value(json_object_get(cur, "test")), name)) {
      cur = json_pack("{s:s, s:s, s:[]}", "model", model, "test", name,
                      "results");
      json_array_append_new(tests, cur);
    }
    /* History as compact rows [result_id, logical_date, status, failures];
     * the latest result in full. A year of ~40 tests stays small. */
    json_array_append_new(json_object_get(cur, "results"),
                          json_pack("[o, o, o, o]", col_int(q, 0),
                                    col_str(q, 6), col_str(q, 4),
                                    col_int(q, 5)));
    json_t *res = json_object();
    json_object_set_new(res, "result_id", col_int(q, 0));
    json_object_set_new(res, "severity", col_str(q, 3));
    json_object_set_new(res, "status", col_str(q, 4));
    json_object_set_new(res, "failures", col_int(q, 5));
    json_object_set_new(res, "logical_date", col_str(q, 6));
    json_object_set_new(res, "started_at_us", col_int(q, 7));
    json_object_set_new(res, "message", col_str(q, 9));
    json_object_set_new(res, "has_sample",
                        json_boolean(sqlite3_column_int(q, 10)));
    json_object_set_new(cur, "latest", res);
  }
  rc = step_done(st, s, err);
  sqlite3_finalize(q);
  size_t i;
  json_t *t;
  json_array_foreach(tests, i, t) {
    const char *status =
        json_string_value(json_object_get(json_object_get(t, "latest"),
                                          "status"));
    json_t *c = status ? json_object_get(sum, status) : NULL;
    if (c)
      json_integer_set(c, json_integer_value(c) + 1);
  }
  return rc;
}

static void api_sample(txf_store *st, const txf_serve_param *p, size_t np,
                       txf_serve_response *r) {
  int64_t id;
  if (!param(p, np, "result") || !*param(p, np, "result") ||
      int_param(p, np, "result", 0, INT64_MAX, &id)) {
    respond_error(r, 400, "bad result");
    return;
  }
  if (!st) {
    respond_error(r, 404, "no metadata database");
    return;
  }
  sqlite3_stmt *q = NULL;
  txf_err err;
  txf_err_clear(&err);
  if (prep(st,
           "SELECT model, test_name, status, failures, sample_json, message, "
           "logical_date FROM test_results WHERE result_id = ?",
           &q, &err)) {
    respond_error(r, 500, err.msg);
    return;
  }
  sqlite3_bind_int64(q, 1, id);
  if (sqlite3_step(q) != SQLITE_ROW) {
    sqlite3_finalize(q);
    respond_error(r, 404, "no such test result");
    return;
  }
  json_t *doc = json_object();
  json_object_set_new(doc, "model", col_str(q, 0));
  json_object_set_new(doc, "test", col_str(q, 1));
  json_object_set_new(doc, "status", col_str(q, 2));
  json_object_set_new(doc, "failures", col_int(q, 3));
  json_object_set_new(doc, "message", col_str(q, 5));
  json_object_set_new(doc, "logical_date", col_str(q, 6));
  const char *sj = (const char *)sqlite3_column_text(q, 4);
  json_t *sample = sj ? json_loads(sj, JSON_DECODE_ANY, NULL) : NULL;
  /* Stored text that is not JSON is still shown, as text. */
  json_object_set_new(doc, "sample",
                      sample ? sample : (sj ? json_string(sj) : json_null()));
  sqlite3_finalize(q);
  respond_json(r, 200, doc);
}

static int api_reconciliation(txf_store *st, const txf_serve_param *p,
                              size_t np, json_t *doc, txf_err *err,
                              txf_serve_response *r) {
  char from[11], to[11];
  int64_t limit;
  if (date_param(p, np, "from", "0001-01-01", from) ||
      date_param(p, np, "to", "9999-12-31", to) ||
      int_param(p, np, "limit", 400, MAX_LIMIT, &limit)) {
    respond_error(r, 400, "bad from, to or limit");
    return -1;
  }
  json_t *runs = json_array();
  json_object_set_new(doc, "runs", runs);
  if (!st)
    return 0;
  sqlite3_stmt *q = NULL, *rq = NULL;
  int rc = prep(st,
                "SELECT clean_id, ingest_date, state, lines_read, inserted, "
                "updated, duplicates, stale, quarantined, ties, "
                "partitions_rewritten, started_at_us, ended_at_us, error, "
                "details_json FROM clean_runs WHERE ingest_date BETWEEN ? AND "
                "? ORDER BY ingest_date DESC, clean_id DESC LIMIT ?",
                &q, err);
  if (!rc)
    rc = prep(st,
              "SELECT reason, n FROM quarantine_counts WHERE clean_id = ? "
              "ORDER BY n DESC, reason",
              &rq, err);
  if (rc) {
    sqlite3_finalize(q);
    return rc;
  }
  sqlite3_bind_text(q, 1, from, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, to, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 3, limit);
  int s;
  static const char *const names[] = {"lines_read", "inserted", "updated",
                                      "duplicates", "stale", "quarantined"};
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    json_t *o = json_object();
    json_object_set_new(o, "clean_id", col_int(q, 0));
    json_object_set_new(o, "ingest_date", col_str(q, 1));
    json_object_set_new(o, "state", col_str(q, 2));
    int complete = 1;
    int64_t v[6];
    for (int i = 0; i < 6; i++) {
      json_object_set_new(o, names[i], col_int(q, 3 + i));
      complete &= sqlite3_column_type(q, 3 + i) != SQLITE_NULL;
      v[i] = sqlite3_column_int64(q, 3 + i);
    }
    json_object_set_new(o, "ties", col_int(q, 9));
    json_object_set_new(o, "partitions_rewritten", col_int(q, 10));
    json_object_set_new(o, "duration_s", col_dur(q, 11, 12));
    json_object_set_new(o, "error", col_str(q, 13));
    /* lines_read = inserted + updated + duplicates + stale + quarantined */
    json_object_set_new(
        o, "holds",
        complete ? json_boolean(v[0] == v[1] + v[2] + v[3] + v[4] + v[5])
                 : json_null());
    json_t *by = json_object();
    sqlite3_reset(rq);
    sqlite3_bind_int64(rq, 1, sqlite3_column_int64(q, 0));
    while (sqlite3_step(rq) == SQLITE_ROW)
      json_object_set_new(by, (const char *)sqlite3_column_text(rq, 0),
                          col_int(rq, 1));
    json_object_set_new(o, "quarantined_by_reason", by);
    json_t *det = sqlite3_column_text(q, 14)
                      ? json_loads((const char *)sqlite3_column_text(q, 14),
                                   0, NULL)
                      : NULL;
    json_t *pr = json_object_get(det, "partitions_rewritten");
    json_object_set(o, "partitions", json_is_array(pr) ? pr : json_null());
    json_decref(det);
    json_array_append_new(runs, o);
  }
  rc = step_done(st, s, err);
  sqlite3_finalize(q);
  sqlite3_finalize(rq);
  return rc;
}

/* ---------------------------------------------------------------- lake */

static int api_lake(txf_store *st, json_t *doc, txf_err *err) {
  json_t *parts = json_array(), *reasons = json_array(), *qdates = json_array();
  json_object_set_new(doc, "partitions", parts);
  json_object_set_new(doc, "quarantine_by_reason", reasons);
  json_object_set_new(doc, "quarantine_by_date", qdates);
  if (!st)
    return 0;
  sqlite3_stmt *q = NULL;
  int rc = prep(
      st,
      "SELECT p.partition, p.n_rows, p.size_bytes, p.committed_at_us, "
      "p.clean_id, c.ingest_date, p.sha256, l.n, (SELECT max(run_id) FROM "
      "runs r WHERE r.logical_date = c.ingest_date) FROM (SELECT "
      "max(commit_id) id, count(*) n FROM partition_commits GROUP BY "
      "partition) l JOIN partition_commits p ON p.commit_id = l.id LEFT JOIN "
      "clean_runs c ON c.clean_id = p.clean_id ORDER BY p.partition DESC",
      &q, err);
  if (rc)
    return rc;
  int s;
  int64_t total_rows = 0, total_bytes = 0;
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    json_t *o = json_object();
    json_object_set_new(o, "partition", col_str(q, 0));
    json_object_set_new(o, "n_rows", col_int(q, 1));
    json_object_set_new(o, "size_bytes", col_int(q, 2));
    json_object_set_new(o, "committed_at_us", col_int(q, 3));
    json_object_set_new(o, "clean_id", col_int(q, 4));
    json_object_set_new(o, "ingest_date", col_str(q, 5));
    json_object_set_new(o, "sha256", col_str(q, 6));
    json_object_set_new(o, "rewrites", col_int(q, 7));
    json_object_set_new(o, "run_id", col_int(q, 8));
    total_rows += sqlite3_column_int64(q, 1);
    total_bytes += sqlite3_column_int64(q, 2);
    json_array_append_new(parts, o);
  }
  rc = step_done(st, s, err);
  sqlite3_finalize(q);
  json_object_set_new(doc, "total_rows", json_integer(total_rows));
  json_object_set_new(doc, "total_bytes", json_integer(total_bytes));
  if (rc)
    return rc;
  /* The quarantine as the latest clean of each ingestion date left it. */
  const char *latest = "q.clean_id IN (SELECT max(clean_id) FROM clean_runs "
                       "GROUP BY ingest_date)";
  char *sql = txf_xasprintf("SELECT reason, sum(n) FROM quarantine_counts q "
                            "WHERE %s GROUP BY reason ORDER BY 2 DESC, 1",
                            latest);
  rc = prep(st, sql, &q, err);
  free(sql);
  if (rc)
    return rc;
  while ((s = sqlite3_step(q)) == SQLITE_ROW)
    json_array_append_new(reasons, json_pack("{s:o, s:o}", "reason",
                                             col_str(q, 0), "n",
                                             col_int(q, 1)));
  rc = step_done(st, s, err);
  sqlite3_finalize(q);
  if (rc)
    return rc;
  sql = txf_xasprintf("SELECT c.ingest_date, q.reason, q.n FROM "
                      "quarantine_counts q JOIN clean_runs c ON c.clean_id = "
                      "q.clean_id WHERE %s ORDER BY c.ingest_date DESC, "
                      "q.n DESC",
                      latest);
  rc = prep(st, sql, &q, err);
  free(sql);
  if (rc)
    return rc;
  while ((s = sqlite3_step(q)) == SQLITE_ROW)
    json_array_append_new(qdates,
                          json_pack("{s:o, s:o, s:o}", "ingest_date",
                                    col_str(q, 0), "reason", col_str(q, 1),
                                    "n", col_int(q, 2)));
  rc = step_done(st, s, err);
  sqlite3_finalize(q);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A JSON string of raw text that may not be UTF-8: invalid bytes become
 * U+FFFD, so a hostile file cannot break the response. */
static json_t *text_json(const char *s) {
  json_t *j = json_string(s);
  if (j)
    return j;
  txf_buf b;
  txf_buf_init(&b, 0);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    txf_buf_puts(&b, *p < 0x80 ? (char[]){(char)*p, 0} : "\xef\xbf\xbd");
  j = json_string(b.data ? b.data : "");
  txf_buf_release(&b);
  return j ? j : json_string("");
}

/* Sample lines of the quarantine of one ingestion date: the first lines of
 * each file in quarantine/transactions/ingest_date=D/ (optionally only lines
 * mentioning REASON). The path is built from a validated date only. */
static void api_quarantine(txf_serve_app *a, const txf_serve_param *p,
                           size_t np, txf_serve_response *r) {
  char date[11];
  const char *reason = param(p, np, "reason");
  if (!param(p, np, "date") || date_param(p, np, "date", "", date)) {
    respond_error(r, 400, "bad date");
    return;
  }
  char *dir = txf_xasprintf("%s/quarantine/transactions/ingest_date=%s",
                            a->data_dir, date);
  json_t *doc = json_pack("{s:s, s:[]}", "ingest_date", date, "files");
  DIR *d = opendir(dir);
  if (d) {
    char *names[64];
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < TXF_ARRAY_LEN(names))
      if (e->d_name[0] != '.')
        names[nn++] = txf_xstrdup(e->d_name);
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; i < nn; i++) {
      char *path = txf_path_join(dir, names[i]);
      struct stat sb;
      FILE *f = NULL;
      if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        f = fopen(path, "rb");
      if (f) {
        json_t *lines = json_array();
        char line[4096];
        size_t bytes = 0;
        while (json_array_size(lines) < 20 && bytes < MAX_SAMPLE_BYTES &&
               fgets(line, sizeof line, f)) {
          bytes += strlen(line);
          line[strcspn(line, "\r\n")] = '\0';
          if (reason && *reason && !strstr(line, reason) &&
              json_array_size(lines) > 0)
            continue;
          json_array_append_new(lines, text_json(line));
        }
        fclose(f);
        json_array_append_new(json_object_get(doc, "files"),
                              json_pack("{s:s, s:I, s:o}", "name", names[i],
                                        "size_bytes", (json_int_t)sb.st_size,
                                        "lines", lines));
      }
      free(path);
      free(names[i]);
    }
  }
  free(dir);
  respond_json(r, 200, doc);
}

/* ---------------------------------------------------------------- lineage */

/* A node of the graph: NODES maps id -> node object. */
static json_t *graph_node(json_t *nodes, const char *id, const char *name,
                          const char *kind) {
  json_t *n = json_object_get(nodes, id);
  if (n)
    return n;
  n = json_pack("{s:s, s:s, s:s, s:s, s:[], s:[], s:[], s:[]}", "id", id,
                "name", name, "kind", kind, "description", "", "columns",
                "upstream", "downstream", "tests");
  json_object_set_new(nodes, id, n);
  return n;
}

static void graph_edge(json_t *nodes, const char *from, const char *to) {
  json_t *f = json_object_get(nodes, from), *t = json_object_get(nodes, to);
  if (!f || !t || !strcmp(from, to))
    return;
  json_t *down = json_object_get(f, "downstream");
  size_t i;
  json_t *x;
  json_array_foreach(down, i, x) if (!strcmp(json_string_value(x), to)) return;
  json_array_append_new(down, json_string(to));
  json_array_append_new(json_object_get(t, "upstream"), json_string(from));
}

static const char *str_of(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Columns of a manifest node: {name: {...}} or [{name, ...}]. */
static json_t *node_columns(json_t *mn) {
  json_t *cols = json_object_get(mn, "columns"), *out = json_array(), *c;
  const char *k;
  size_t i;
  if (json_is_object(cols)) {
    json_object_foreach(cols, k, c) {
      const char *ty = str_of(c, "data_type") ? str_of(c, "data_type")
                                              : str_of(c, "type");
      json_array_append_new(
          out, json_pack("{s:s, s:s, s:s}", "name", k, "type", ty ? ty : "",
                         "description",
                         str_of(c, "description") ? str_of(c, "description")
                                                  : ""));
    }
  } else if (json_is_array(cols)) {
    json_array_foreach(cols, i, c) {
      if (!str_of(c, "name"))
        continue;
      const char *ty = str_of(c, "data_type") ? str_of(c, "data_type")
                                              : str_of(c, "type");
      json_array_append_new(
          out, json_pack("{s:s, s:s, s:s}", "name", str_of(c, "name"), "type",
                         ty ? ty : "", "description",
                         str_of(c, "description") ? str_of(c, "description")
                                                  : ""));
    }
  }
  return out;
}

/* Read the models' manifest (see docs/serve.md for the accepted shapes)
 * into NODES; PARENTS gets [child, parent] pairs by manifest id. */
static void manifest_graph(json_t *m, json_t *nodes, json_t *pairs) {
  json_t *groups[2] = {json_object_get(m, "nodes"),
                       json_object_get(m, "sources")};
  for (int g = 0; g < 2; g++) {
    json_t *grp = groups[g];
    if (!json_is_object(grp) && !json_is_array(grp))
      continue;
    size_t n = json_is_object(grp) ? json_object_size(grp)
                                   : json_array_size(grp);
    void *it = json_is_object(grp) ? json_object_iter(grp) : NULL;
    for (size_t i = 0; i < n; i++) {
      json_t *mn;
      const char *id;
      if (json_is_object(grp)) {
        id = json_object_iter_key(it);
        mn = json_object_iter_value(it);
        it = json_object_iter_next(grp, it);
      } else {
        mn = json_array_get(grp, i);
        id = str_of(mn, "unique_id") ? str_of(mn, "unique_id")
                                     : str_of(mn, "id");
        if (!id)
          id = str_of(mn, "name");
      }
      const char *name = str_of(mn, "name");
      if (!id || !name)
        continue;
      const char *kind = str_of(mn, "resource_type");
      if (!kind)
        kind = g == 1 ? "source" : "model";
      if (!strcmp(kind, "test"))
        continue; /* tests are shown on their model */
      json_t *node = graph_node(nodes, id, name, kind);
      if (str_of(mn, "description"))
        json_object_set_new(node, "description",
                            json_string(str_of(mn, "description")));
      json_object_set_new(node, "columns", node_columns(mn));
      const char *mat = str_of(json_object_get(mn, "config"), "materialized");
      if (!mat)
        mat = str_of(mn, "materialized");
      if (mat)
        json_object_set_new(node, "materialized", json_string(mat));
      const char *path = str_of(mn, "original_file_path")
                             ? str_of(mn, "original_file_path")
                             : str_of(mn, "path");
      if (path)
        json_object_set_new(node, "path", json_string(path));
      if (g == 1 && str_of(mn, "source_name"))
        json_object_set_new(node, "source_name",
                            json_string(str_of(mn, "source_name")));
      /* Parents: depends_on.nodes, depends_on [..], or parents [..]. */
      json_t *dep = json_object_get(mn, "depends_on");
      if (json_is_object(dep))
        dep = json_object_get(dep, "nodes");
      if (!json_is_array(dep))
        dep = json_object_get(mn, "parents");
      size_t j;
      json_t *d;
      json_array_foreach(dep, j, d) if (json_is_string(d))
          json_array_append_new(pairs, json_pack("[s, O]", id, d));
    }
  }
  /* Edges listed on their own: [[from, to]] or [{from|source, to|target}]. */
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(m, "edges"), i, e) {
    const char *from = NULL, *to = NULL;
    if (json_is_array(e)) {
      from = json_string_value(json_array_get(e, 0));
      to = json_string_value(json_array_get(e, 1));
    } else {
      from = str_of(e, "from") ? str_of(e, "from") : str_of(e, "source");
      to = str_of(e, "to") ? str_of(e, "to") : str_of(e, "target");
    }
    if (from && to)
      json_array_append_new(pairs, json_pack("[s, s]", to, from));
  }
}

/* An id in NODES for REF (a manifest id, or a bare name). */
static const char *resolve(json_t *nodes, const char *ref) {
  if (json_object_get(nodes, ref))
    return ref;
  const char *k;
  json_t *n;
  json_object_foreach(nodes, k, n) if (!strcmp(str_of(n, "name"), ref) ||
                                       txf_str_has_suffix(k, ref)) return k;
  return NULL;
}

static int node_layer(json_t *nodes, json_t *n, int depth) {
  json_t *l = json_object_get(n, "layer");
  if (l)
    return (int)json_integer_value(l);
  if (depth > 64)
    return 0; /* a cycle in a broken manifest: stop */
  int best = -1;
  size_t i;
  json_t *u;
  json_array_foreach(json_object_get(n, "upstream"), i, u) {
    int x = node_layer(nodes, json_object_get(nodes, json_string_value(u)),
                       depth + 1);
    if (x > best)
      best = x;
  }
  json_object_set_new(n, "layer", json_integer(best + 1));
  return best + 1;
}

static int api_lineage(txf_serve_app *a, txf_store *st, json_t *doc,
                       txf_err *err) {
  json_t *nodes = json_object(), *pairs = json_array();
  /* The lake, always there: bronze -> silver (-> quarantine). */
  json_t *bronze = graph_node(nodes, "lake.bronze", "bronze", "bronze");
  json_object_set_new(bronze, "description",
                      json_string("raw landed CSV batches, one directory per "
                                  "ingestion date "
                                  "(bronze/transactions/ingest_date=D)"));
  json_t *silver = graph_node(nodes, "lake.silver", "silver", "silver");
  json_object_set_new(silver, "description",
                      json_string("the clean lake: one row per "
                                  "transaction_id, Parquet partitioned by "
                                  "event date (silver/transactions)"));
  graph_edge(nodes, "lake.bronze", "lake.silver");
  json_t *manifest = NULL;
  char *mp = a->project_dir
                 ? txf_path_join(a->project_dir, "target/manifest.json")
                 : NULL;
  json_error_t jerr;
  if (mp && txf_fs_exists(mp)) {
    manifest = json_load_file(mp, 0, &jerr);
    json_object_set_new(doc, "manifest",
                        manifest ? json_string("ok")
                                 : json_sprintf("unreadable: %s", jerr.text));
  } else {
    json_object_set_new(doc, "manifest", json_string("missing"));
  }
  free(mp);
  if (manifest)
    manifest_graph(manifest, nodes, pairs);
  json_decref(manifest);
  size_t i;
  json_t *pr;
  json_array_foreach(pairs, i, pr) {
    const char *child = resolve(nodes, json_string_value(json_array_get(pr, 0)));
    const char *parent =
        resolve(nodes, json_string_value(json_array_get(pr, 1)));
    if (child && parent)
      graph_edge(nodes, parent, child);
  }
  json_decref(pairs);
  /* Sources reading the lake hang under silver; seeds under nothing. */
  const char *k;
  json_t *n;
  json_object_foreach(nodes, k, n) {
    const char *kind = str_of(n, "kind");
    if (!strcmp(kind, "source"))
      graph_edge(nodes, "lake.silver", k);
  }
  json_object_set_new(bronze, "layer", json_integer(0));
  json_object_set_new(silver, "layer", json_integer(1));
  json_object_foreach(nodes, k, n) {
    if (!strcmp(str_of(n, "kind"), "seed"))
      json_object_set_new(n, "layer", json_integer(1));
  }
  json_object_foreach(nodes, k, n) node_layer(nodes, n, 0);

  int rc = 0;
  if (st) {
    /* Last build and the tests of each model. */
    sqlite3_stmt *q = NULL;
    rc = prep(st,
              "SELECT model, state, n_rows, started_at_us, duration_us, "
              "materialized, logical_date, error FROM model_builds WHERE "
              "build_id IN (SELECT max(build_id) FROM model_builds GROUP BY "
              "model)",
              &q, err);
    if (rc)
      goto out;
    int s;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
      const char *id = resolve(nodes, (const char *)sqlite3_column_text(q, 0));
      if (!id) {
        id = txf_xasprintf("model.%s", sqlite3_column_text(q, 0));
        graph_node(nodes, id, (const char *)sqlite3_column_text(q, 0),
                   "model");
        json_object_set_new(json_object_get(nodes, id), "layer",
                            json_integer(2));
        free((char *)id);
        id = resolve(nodes, (const char *)sqlite3_column_text(q, 0));
      }
      json_t *node = json_object_get(nodes, id);
      json_t *b = json_object();
      json_object_set_new(b, "state", col_str(q, 1));
      json_object_set_new(b, "n_rows", col_int(q, 2));
      json_object_set_new(b, "started_at_us", col_int(q, 3));
      json_object_set_new(b, "duration_us", col_int(q, 4));
      json_object_set_new(b, "logical_date", col_str(q, 6));
      json_object_set_new(b, "error", col_str(q, 7));
      json_object_set_new(node, "last_build", b);
      json_object_set_new(node, "row_count", col_int(q, 2));
      if (!json_object_get(node, "materialized") &&
          sqlite3_column_text(q, 5))
        json_object_set_new(node, "materialized", col_str(q, 5));
    }
    rc = step_done(st, s, err);
    sqlite3_finalize(q);
    if (rc)
      goto out;
    rc = prep(st,
              "SELECT model, test_name, status, failures, severity, "
              "logical_date FROM test_results WHERE result_id IN (SELECT "
              "max(result_id) FROM test_results GROUP BY model, test_name) "
              "ORDER BY test_name",
              &q, err);
    if (rc)
      goto out;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
      const char *m = (const char *)sqlite3_column_text(q, 0);
      const char *id = m ? resolve(nodes, m) : NULL;
      if (!id)
        continue;
      json_array_append_new(
          json_object_get(json_object_get(nodes, id), "tests"),
          json_pack("{s:o, s:o, s:o, s:o, s:o}", "name", col_str(q, 1),
                    "status", col_str(q, 2), "failures", col_int(q, 3),
                    "severity", col_str(q, 4), "logical_date",
                    col_str(q, 5)));
    }
    rc = step_done(st, s, err);
    sqlite3_finalize(q);
    if (rc)
      goto out;
    /* Row counts of the lake: lines read into bronze, rows in silver. */
    rc = prep(st,
              "SELECT (SELECT sum(lines_read) FROM clean_runs WHERE clean_id "
              "IN (SELECT max(clean_id) FROM clean_runs GROUP BY "
              "ingest_date)), (SELECT sum(n_rows) FROM partition_commits "
              "WHERE commit_id IN (SELECT max(commit_id) FROM "
              "partition_commits GROUP BY partition))",
              &q, err);
    if (rc)
      goto out;
    if (sqlite3_step(q) == SQLITE_ROW) {
      json_object_set_new(bronze, "row_count", col_int(q, 0));
      json_object_set_new(silver, "row_count", col_int(q, 1));
    }
    sqlite3_finalize(q);
  }
out:;
  json_t *arr = json_array(), *edges = json_array();
  json_object_foreach(nodes, k, n) {
    json_array_append(arr, n);
    size_t j;
    json_t *d;
    json_array_foreach(json_object_get(n, "downstream"), j, d)
        json_array_append_new(edges, json_pack("[s, O]", k, d));
  }
  json_decref(nodes);
  json_object_set_new(doc, "nodes", arr);
  json_object_set_new(doc, "edges", edges);
  return rc;
}

/* ---------------------------------------------------------------- business */

/* The first of CANDS that is a column of TABLE (from COLS, a
 * "name\n..." list), or NULL. */
static const char *pick(const char *cols, const char *const *cands) {
  for (; *cands; cands++) {
    size_t l = strlen(*cands);
    for (const char *p = cols; (p = strstr(p, *cands)); p += l)
      if ((p == cols || p[-1] == '\n') && p[l] == '\n')
        return *cands;
  }
  return NULL;
}

/* The columns of main.TABLE as "\nname\nname\n"; NULL when no such
 * table. */
static int table_columns(txf_duck *d, const char *table, char **out,
                         txf_err *err) {
  char *qt = txf_duck_quote_str(table);
  char *sql = txf_xasprintf(
      "SELECT '\n' || string_agg(column_name, '\n' ORDER BY ordinal_position)"
      " || '\n' FROM information_schema.columns WHERE table_name = %s",
      qt);
  free(qt);
  int rc = txf_duck_query_str(d, sql, out, err);
  free(sql);
  return rc;
}

/* Result rows as arrays of strings (NULL as null); COLS gets the names. */
static int duck_rows(txf_duck *d, const char *sql, json_t **rows_out,
                     json_t **cols_out, txf_err *err) {
  duckdb_result res;
  int rc = txf_duck_query(d, sql, &res, err);
  if (rc)
    return rc;
  idx_t nc = duckdb_column_count(&res), nr = duckdb_row_count(&res);
  json_t *rows = json_array(), *cols = json_array();
  for (idx_t c = 0; c < nc; c++)
    json_array_append_new(cols, json_string(duckdb_column_name(&res, c)));
  for (idx_t r = 0; r < nr; r++) {
    json_t *row = json_array();
    for (idx_t c = 0; c < nc; c++) {
      if (duckdb_value_is_null(&res, c, r)) {
        json_array_append_new(row, json_null());
        continue;
      }
      char *v = duckdb_value_varchar(&res, c, r);
      json_array_append_new(row, v ? text_json(v) : json_null());
      duckdb_free(v);
    }
    json_array_append_new(rows, row);
  }
  duckdb_destroy_result(&res);
  *rows_out = rows;
  if (cols_out)
    *cols_out = cols;
  else
    json_decref(cols);
  return 0;
}

static json_t *section(const char *status, const char *msg) {
  return json_pack("{s:s, s:s}", "status", status, "message", msg ? msg : "");
}

static json_t *biz_sales(txf_duck *d, int64_t days) {
  char *cols = NULL;
  txf_err err;
  txf_err_clear(&err);
  if (table_columns(d, "mart_sales_daily", &cols, &err) || !cols)
    return section("not_built", "mart_sales_daily is not built yet");
  static const char *const dc[] = {"sales_date", "day", "date", "event_date",
                                   "txn_date", NULL};
  static const char *const cc[] = {"category", "mcc_category",
                                   "category_name", NULL};
  static const char *const chc[] = {"channel", NULL};
  static const char *const nc[] = {"net_sales", "net_sales_krw", "net_amount",
                                   "net_sales_amount", NULL};
  const char *dcol = pick(cols, dc), *ccol = pick(cols, cc),
             *chcol = pick(cols, chc), *ncol = pick(cols, nc);
  free(cols);
  if (!dcol || !ccol || !chcol || !ncol)
    return section("error", "mart_sales_daily lacks a date, category, "
                            "channel or net sales column");
  json_t *out = section("ok", NULL);
  static const char *const dims[2] = {"by_category", "by_channel"};
  const char *dcols[2] = {ccol, chcol};
  for (int i = 0; i < 2; i++) {
    char *sql = txf_xasprintf(
        "WITH w AS (SELECT * FROM mart_sales_daily WHERE \"%s\" > (SELECT "
        "max(\"%s\") FROM mart_sales_daily) - INTERVAL %lld DAY) SELECT "
        "CAST(\"%s\" AS DATE)::VARCHAR, coalesce(CAST(\"%s\" AS VARCHAR), "
        "'(none)'), CAST(sum(\"%s\") AS DECIMAL(38,2))::VARCHAR FROM w GROUP "
        "BY 1, 2 ORDER BY 1, 2",
        dcol, dcol, (long long)days, dcol, dcols[i], ncol);
    json_t *rows = NULL;
    int rc = duck_rows(d, sql, &rows, NULL, &err);
    free(sql);
    if (rc) {
      json_decref(out);
      return section("error", err.msg);
    }
    json_object_set_new(out, dims[i], rows);
  }
  char *sql = txf_xasprintf(
      "SELECT CAST(\"%s\" AS DATE)::VARCHAR, CAST(sum(\"%s\") AS "
      "DECIMAL(38,2))::VARCHAR FROM mart_sales_daily GROUP BY 1 ORDER BY 1 "
      "DESC LIMIT %lld",
      dcol, ncol, (long long)days);
  json_t *rows = NULL;
  int rc = duck_rows(d, sql, &rows, NULL, &err);
  free(sql);
  if (rc) {
    json_decref(out);
    return section("error", err.msg);
  }
  json_object_set_new(out, "daily_total", rows);
  return out;
}

static json_t *biz_rfm(txf_duck *d) {
  char *cols = NULL;
  txf_err err;
  txf_err_clear(&err);
  if (table_columns(d, "mart_rfm_customer", &cols, &err) || !cols)
    return section("not_built", "mart_rfm_customer is not built yet");
  static const char *const sc[] = {"segment", "rfm_segment", "segment_label",
                                   "segment_name", NULL};
  static const char *const mc[] = {"monetary", "monetary_krw", "m_value",
                                   "total_spend", "total_spend_krw",
                                   "net_sales", NULL};
  static const char *const ac[] = {"as_of", "as_of_date", "run_date", NULL};
  const char *scol = pick(cols, sc), *mcol = pick(cols, mc),
             *acol = pick(cols, ac);
  free(cols);
  if (!scol)
    return section("error", "mart_rfm_customer has no segment column");
  char *where = acol ? txf_xasprintf("WHERE \"%s\" = (SELECT max(\"%s\") FROM "
                                     "mart_rfm_customer)",
                                     acol, acol)
                     : txf_xstrdup("");
  char *value = mcol ? txf_xasprintf("CAST(sum(\"%s\") AS "
                                     "DECIMAL(38,2))::VARCHAR",
                                     mcol)
                     : txf_xstrdup("NULL");
  char *sql = txf_xasprintf("SELECT coalesce(CAST(\"%s\" AS VARCHAR), "
                            "'(none)'), count(*)::VARCHAR, %s FROM "
                            "mart_rfm_customer %s GROUP BY 1 ORDER BY "
                            "count(*) DESC, 1",
                            scol, value, where);
  free(where);
  free(value);
  json_t *rows = NULL;
  int rc = duck_rows(d, sql, &rows, NULL, &err);
  free(sql);
  if (rc)
    return section("error", err.msg);
  json_t *out = section("ok", NULL);
  json_object_set_new(out, "segments", rows);
  return out;
}

static json_t *biz_ltv(txf_duck *d) {
  char *cols = NULL;
  txf_err err;
  txf_err_clear(&err);
  if (table_columns(d, "mart_customer_ltv", &cols, &err) || !cols)
    return section("not_built", "mart_customer_ltv is not built yet");
  static const char *const vc[] = {"ltv", "ltv_krw", "lifetime_value",
                                   "lifetime_value_krw", "net_krw",
                                   "predicted_ltv", "projected_365d_krw",
                                   "net_sales", "total_net_sales", NULL};
  const char *vcol = pick(cols, vc);
  free(cols);
  if (!vcol)
    return section("error", "mart_customer_ltv has no ltv column");
  /* 20 equal-width buckets between the minimum and the maximum. */
  char *sql = txf_xasprintf(
      "WITH v AS (SELECT CAST(\"%s\" AS DOUBLE) x FROM mart_customer_ltv "
      "WHERE \"%s\" IS NOT NULL), b AS (SELECT min(x) lo, max(x) hi FROM v), "
      "c AS (SELECT least(19, CAST(floor(CASE WHEN hi > lo THEN (x - lo) / "
      "(hi - lo) * 20 ELSE 0 END) AS BIGINT)) k, count(*) n FROM v, b GROUP "
      "BY 1), r AS (SELECT range AS k FROM range(20)) SELECT (lo + (hi - lo) "
      "/ 20 * r.k)::VARCHAR, coalesce(c.n, 0)::VARCHAR FROM r CROSS JOIN b "
      "LEFT JOIN c ON c.k = r.k WHERE lo IS NOT NULL ORDER BY r.k",
      vcol, vcol);
  json_t *rows = NULL;
  int rc = duck_rows(d, sql, &rows, NULL, &err);
  free(sql);
  if (rc)
    return section("error", err.msg);
  json_t *out = section("ok", NULL);
  json_object_set_new(out, "histogram", rows);
  char *stats = txf_xasprintf(
      "SELECT count(*)::VARCHAR, CAST(avg(\"%s\") AS DECIMAL(38,2))::VARCHAR, "
      "CAST(median(\"%s\") AS DECIMAL(38,2))::VARCHAR, CAST(max(\"%s\") AS "
      "DECIMAL(38,2))::VARCHAR FROM mart_customer_ltv",
      vcol, vcol, vcol);
  rc = duck_rows(d, stats, &rows, NULL, &err);
  free(stats);
  if (!rc)
    json_object_set_new(out, "stats", json_array_get(rows, 0)
                                          ? json_incref(json_array_get(rows, 0))
                                          : json_null());
  if (!rc)
    json_decref(rows);
  json_object_set_new(out, "column", json_string(vcol));
  return out;
}

static json_t *biz_fraud(txf_duck *d) {
  char *cols = NULL;
  txf_err err;
  txf_err_clear(&err);
  if (table_columns(d, "mart_fraud_signals", &cols, &err) || !cols)
    return section("not_built", "mart_fraud_signals is not built yet");
  static const char *const oc[] = {"txn_ts", "txn_ts_utc", "signal_ts",
                                   "detected_at",
                                   "event_ts", "signal_date", "txn_date",
                                   "date", NULL};
  const char *ocol = pick(cols, oc);
  free(cols);
  char *sql = txf_xasprintf("SELECT * FROM mart_fraud_signals %s%s%s LIMIT 50",
                            ocol ? "ORDER BY \"" : "", ocol ? ocol : "",
                            ocol ? "\" DESC" : "");
  json_t *rows = NULL, *names = NULL;
  int rc = duck_rows(d, sql, &rows, &names, &err);
  free(sql);
  if (rc)
    return section("error", err.msg);
  int64_t total = 0;
  txf_err_clear(&err);
  if (txf_duck_query_i64(d, "SELECT count(*) FROM mart_fraud_signals", &total,
                         &err))
    total = -1;
  json_t *out = section("ok", NULL);
  json_object_set_new(out, "columns", names);
  json_object_set_new(out, "rows", rows);
  json_object_set_new(out, "total", json_integer(total));
  return out;
}

static void api_business(txf_serve_app *a, const txf_serve_param *p,
                         size_t np, txf_serve_response *r) {
  int64_t days;
  if (int_param(p, np, "days", 31, 3660, &days) || days < 1) {
    respond_error(r, 400, "bad days");
    return;
  }
  struct stat sb;
  if (stat(a->warehouse_path, &sb) != 0) {
    json_t *doc = json_pack("{s:b, s:o, s:o, s:o, s:o}", "warehouse", 0,
                            "sales", section("not_built", "no warehouse yet"),
                            "rfm", section("not_built", "no warehouse yet"),
                            "ltv", section("not_built", "no warehouse yet"),
                            "fraud", section("not_built", "no warehouse yet"));
    respond_json(r, 200, doc);
    return;
  }
  int64_t mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 +
                     sb.st_mtim.tv_nsec;
  char key[64];
  snprintf(key, sizeof key, "business?days=%lld", (long long)days);
  pthread_mutex_lock(&a->wh_lock);
  for (size_t i = 0; i < TXF_ARRAY_LEN(a->cache); i++) {
    wh_cache *c = &a->cache[i];
    if (c->key && !strcmp(c->key, key) && c->mtime_ns == mtime_ns &&
        c->size == (int64_t)sb.st_size) {
      r->status = 200;
      r->content_type = "application/json; charset=utf-8";
      r->body = txf_xstrndup(c->body, c->len);
      r->len = c->len;
      pthread_mutex_unlock(&a->wh_lock);
      return;
    }
  }
  txf_duck *d = NULL;
  txf_err err;
  txf_err_clear(&err);
  int rc = txf_duck_open(&d, a->warehouse_path, 1, 1, &err);
  if (rc) {
    pthread_mutex_unlock(&a->wh_lock);
    /* models build holds the write lock: try again in a moment. */
    respond_error(r, rc == TXF_ELOCKED ? 503 : 500, err.msg);
    return;
  }
  json_t *doc = json_pack("{s:b}", "warehouse", 1);
  json_object_set_new(doc, "sales", biz_sales(d, days));
  json_object_set_new(doc, "rfm", biz_rfm(d));
  json_object_set_new(doc, "ltv", biz_ltv(d));
  json_object_set_new(doc, "fraud", biz_fraud(d));
  txf_duck_close(d);
  respond_json(r, 200, doc);
  wh_cache *c = &a->cache[a->cache_next++ % TXF_ARRAY_LEN(a->cache)];
  free(c->key);
  free(c->body);
  c->key = txf_xstrdup(key);
  c->body = txf_xstrndup(r->body, r->len);
  c->len = r->len;
  c->mtime_ns = mtime_ns;
  c->size = (int64_t)sb.st_size;
  pthread_mutex_unlock(&a->wh_lock);
}

/* ---------------------------------------------------------------- events */

static int api_events(txf_store *st, const txf_serve_param *p, size_t np,
                      json_t *doc, txf_err *err, txf_serve_response *r) {
  int64_t limit;
  if (int_param(p, np, "limit", 50, MAX_LIMIT, &limit)) {
    respond_error(r, 400, "bad limit");
    return -1;
  }
  json_t *evs = json_array();
  json_object_set_new(doc, "events", evs);
  if (!st)
    return 0;
  sqlite3_stmt *q = NULL;
  int rc = prep(st,
                "SELECT event_id, event_time_us, event_type, job, run_uuid "
                "FROM lineage_events ORDER BY event_time_us DESC, event_id "
                "DESC LIMIT ?",
                &q, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, limit);
  int s;
  while ((s = sqlite3_step(q)) == SQLITE_ROW)
    json_array_append_new(
        evs, json_pack("{s:o, s:o, s:o, s:o, s:o}", "event_id", col_int(q, 0),
                       "event_time_us", col_int(q, 1), "event_type",
                       col_str(q, 2), "job", col_str(q, 3), "run_uuid",
                       col_str(q, 4)));
  rc = step_done(st, s, err);
  sqlite3_finalize(q);
  return rc;
}

/* ---------------------------------------------------------------- dispatch */

void txf_serve_api(txf_serve_app *a, const char *path,
                   const txf_serve_param *p, size_t np,
                   txf_serve_response *r) {
  memset(r, 0, sizeof *r);
  static const char *const known[] = {
      "/api/summary", "/api/runs",    "/api/log",      "/api/quality",
      "/api/sample",  "/api/reconciliation", "/api/lake", "/api/quarantine",
      "/api/lineage", "/api/business", "/api/events", NULL};
  int found = 0;
  for (const char *const *k = known; *k; k++)
    found |= !strcmp(path, *k);
  if (!found) {
    respond_error(r, 404, "no such API endpoint");
    return;
  }
  if (!strcmp(path, "/api/business")) {
    api_business(a, p, np, r);
    return;
  }
  if (!strcmp(path, "/api/quarantine")) {
    api_quarantine(a, p, np, r);
    return;
  }
  txf_store *st = NULL;
  int missing = 0;
  txf_err err;
  txf_err_clear(&err);
  if (open_meta(a, &st, &missing, &err)) {
    /* A broken database is an answer, not a crash. */
    respond_json(r, 503,
                 json_pack("{s:s, s:s}", "error", "metadata database "
                                                  "unreadable",
                           "detail", err.msg));
    return;
  }
  if (!strcmp(path, "/api/log")) {
    api_log(a, st, p, np, r);
    txf_store_close(st);
    return;
  }
  if (!strcmp(path, "/api/sample")) {
    api_sample(st, p, np, r);
    txf_store_close(st);
    return;
  }
  json_t *doc = json_pack("{s:b}", "metadata", !missing);
  int rc;
  if (!strcmp(path, "/api/summary"))
    rc = api_summary(a, st, doc, &err);
  else if (!strcmp(path, "/api/runs"))
    rc = api_runs(a, st, p, np, doc, &err, r);
  else if (!strcmp(path, "/api/quality"))
    rc = api_quality(a, st, p, np, doc, &err, r);
  else if (!strcmp(path, "/api/reconciliation"))
    rc = api_reconciliation(st, p, np, doc, &err, r);
  else if (!strcmp(path, "/api/lake"))
    rc = api_lake(st, doc, &err);
  else if (!strcmp(path, "/api/lineage"))
    rc = api_lineage(a, st, doc, &err);
  else
    rc = api_events(st, p, np, doc, &err, r);
  txf_store_close(st);
  if (rc == -1) { /* the handler answered (a bad parameter) */
    json_decref(doc);
    return;
  }
  if (rc) {
    json_decref(doc);
    respond_json(r, 503,
                 json_pack("{s:s, s:s}", "error", "metadata database "
                                                  "unreadable",
                           "detail", err.msg));
    return;
  }
  respond_json(r, 200, doc);
}
