/* The dashboard's JSON API: read-only views of the metadata database, the
 * warehouse, the models' manifest and the lake. See docs/serve.md. */
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "duck/duck.h"
#include "metadata/metadata.h"
#include "serve/dashboard.h"
#include "serve/serve.h"

#define MAX_LOG_BYTES (256 * 1024)
#define MAX_SAMPLE_BYTES (64 * 1024)
#define MAX_LIMIT 5000
/* Dates a list shows when no range is asked for (runs, reconciliation). */
#define DEFAULT_DATES 90

/* One cached warehouse answer: valid while the warehouse file keeps its
 * inode (a build publishes the other copy: docs/models.md, "Readers
 * during a build"), size and modification time. */
typedef struct wh_cache {
  char *key;
  char *body;
  size_t len;
  int64_t mtime_ns;
  int64_t size;
  int64_t ino;
} wh_cache;

struct txf_serve_app {
  txf_serve_config cfg; /* strings below are owned copies */
  char *data_dir, *project_dir, *project_name, *timezone;
  char *meta_path, *warehouse_path;
  txf_project_retention retention; /* cfg.retention's copy */
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
  if (cfg->retention)
    a->retention = *cfg->retention;
  else
    txf_project_retention_init(&a->retention);
  a->cfg.retention = NULL;
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
  TXF_FREE_ALL(a->data_dir, a->project_dir, a->project_name, a->timezone,
               a->meta_path, a->warehouse_path, a);
}

/* ---------------------------------------------------------------- helpers */

/* One request's query parameters. */
typedef struct req {
  const txf_serve_param *p;
  size_t n;
} req;

static const char *param(const req *rq, const char *k) {
  for (size_t i = 0; i < rq->n; i++)
    if (rq->p[i].key && !strcmp(rq->p[i].key, k))
      return rq->p[i].value ? rq->p[i].value : "";
  return NULL;
}

static void respond_json(txf_serve_response *r, int status, json_t *doc) {
  r->status = status;
  r->content_type = "application/json; charset=utf-8";
  /* 12 significant digits: jansson's 17 print 62.467852999999998, whose
   * digits can pass the Luhn check and read as a card number (scan-pans) */
  r->body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                JSON_REAL_PRECISION(12));
  if (!r->body)
    r->body = txf_xstrdup("{\"error\":\"cannot encode\"}");
  r->len = strlen(r->body);
  json_decref(doc);
}

/* Answer with an error; returns -1, which handlers return to say "answered"
 * (see txf_serve_api). */
static int respond_error(txf_serve_response *r, int status, const char *msg) {
  respond_json(r, status, json_pack("{s:s}", "error", msg));
  return -1;
}

/* A date parameter: absent -> DEF, malformed -> -1. */
static int date_param(const req *rq, const char *k, const char *def,
                      char out[11]) {
  const char *v = param(rq, k);
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

/* An integer parameter in [0, MAX]: absent -> DEF, anything else -> -1. */
static int int_param(const req *rq, const char *k, int64_t def, int64_t max,
                     int64_t *out) {
  const char *v = param(rq, k);
  *out = def;
  if (!v || !*v)
    return 0;
  int64_t x;
  if (txf_parse_i64(v, &x) || x < 0 || x > max)
    return -1;
  *out = x;
  return 0;
}

/* A required id parameter. */
static int id_param(const req *rq, const char *k, int64_t *out) {
  const char *v = param(rq, k);
  return !v || !*v ? -1 : int_param(rq, k, 0, INT64_MAX, out);
}

/* The date window of a list: from/to as given, and the row limit: LATEST
 * when neither is given (the recent past is what the pages show first),
 * MAX_LIMIT when one is (the caller asked for that range). An explicit
 * limit wins. */
static int window_params(const req *rq, char from[11], char to[11],
                         int64_t *limit) {
  if (date_param(rq, "from", "0001-01-01", from) ||
      date_param(rq, "to", "9999-12-31", to))
    return -1;
  int ranged = (param(rq, "from") && *param(rq, "from")) ||
               (param(rq, "to") && *param(rq, "to"));
  return int_param(rq, "limit", ranged ? MAX_LIMIT : DEFAULT_DATES, MAX_LIMIT,
                   limit);
}

/* A JSON string of raw text that may not be UTF-8: invalid bytes become
 * U+FFFD, so a hostile file or value cannot break the response. */
static json_t *text_json(const char *s) { return txf_json_text(s); }

/* The metadata's values as the API shows them: NULL as null, durations in
 * seconds (null when either end is missing or they are out of order). */
static json_t *str_json(const char *s) {
  return s ? text_json(s) : json_null();
}

static json_t *int_json(int64_t v) {
  return v == TXF_META_NULL ? json_null() : json_integer(v);
}

static json_t *duration_json(int64_t t0, int64_t t1) {
  if (t0 == TXF_META_NULL || t1 == TXF_META_NULL || t1 < t0)
    return json_null();
  return json_real((double)(t1 - t0) / 1e6);
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

/* ---------------------------------------------------------------- summary */

static int api_summary(txf_serve_app *a, txf_store *st, const req *rq,
                       json_t *doc, txf_err *err, txf_serve_response *r) {
  (void)rq;
  (void)r;
  json_object_set_new(doc, "project", json_string(a->project_name));
  json_object_set_new(doc, "timezone", json_string(a->timezone));
  json_object_set_new(doc, "data_dir", text_json(a->data_dir));
  json_object_set_new(doc, "warehouse",
                      json_boolean(txf_fs_exists(a->warehouse_path)));
  char *mp = a->project_dir
                 ? txf_path_join(a->project_dir, "target/manifest.json")
                 : NULL;
  json_object_set_new(doc, "manifest", json_boolean(mp && txf_fs_exists(mp)));
  free(mp);
  /* A commit left half-applied: what the page shows (the metadata and the
   * warehouse) is the last complete version, which the models built; the
   * lake's files are not, until the next clean finishes the commit. */
  char *unfinished = NULL;
  txf_err e2;
  if (txf_clean_commit_settled(a->data_dir, &unfinished, &e2) != 0 &&
      !unfinished)
    unfinished = txf_xstrdup("?");
  json_object_set_new(doc, "lake_unfinished_commit",
                      unfinished ? json_string(unfinished) : json_null());
  free(unfinished);
  if (!st)
    return 0;
  txf_meta_runs_query all = {NULL, NULL, NULL, -1, 0, NULL};
  txf_meta_run_list runs;
  txf_meta_counts c;
  int rc = txf_meta_runs_latest(st, &all, &runs, err);
  if (!rc)
    rc = txf_meta_counts_read(st, &c, err);
  if (!rc) {
    int64_t failed = 0;
    for (size_t i = 0; i < runs.n; i++)
      failed += !strcmp(runs.v[i].state, "failed");
    json_object_set_new(doc, "runs", json_integer((json_int_t)runs.n));
    json_object_set_new(doc, "failed_runs", json_integer(failed));
    json_object_set_new(doc, "sla_misses", json_integer(c.sla_misses));
    json_object_set_new(doc, "clean_runs", json_integer(c.clean_runs));
    json_object_set_new(doc, "test_results", json_integer(c.test_results));
    json_object_set_new(doc, "lineage_events", json_integer(c.lineage_events));
    /* Newest date first: the first run is the last date's. */
    json_object_set_new(doc, "last_date",
                        runs.n ? text_json(runs.v[0].logical_date)
                               : json_null());
    json_object_set_new(doc, "last_state",
                        runs.n ? text_json(runs.v[0].state) : json_null());
  }
  txf_meta_run_list_release(&runs);
  return rc;
}

/* ---------------------------------------------------------------- runs */

static int api_runs(txf_serve_app *a, txf_store *st, const req *rq,
                    json_t *doc, txf_err *err, txf_serve_response *r) {
  (void)a;
  char from[11], to[11];
  int64_t limit;
  const char *state = param(rq, "state");
  if (window_params(rq, from, to, &limit))
    return respond_error(r, 400, "bad from, to or limit");
  if (state && *state && strcmp(state, "success") && strcmp(state, "failed") &&
      strcmp(state, "running") && strcmp(state, "queued") &&
      strcmp(state, "sla_missed"))
    return respond_error(r, 400, "bad state");
  if (state && !*state)
    state = NULL;
  json_t *runs = json_array(), *tasks = json_array();
  json_object_set_new(doc, "runs", runs);
  json_object_set_new(doc, "tasks", tasks);
  json_object_set_new(doc, "limit", json_integer(limit));
  if (!st)
    return 0;
  txf_meta_name_list names;
  int rc = txf_meta_task_names(st, &names, err);
  if (rc)
    return rc;
  for (size_t i = 0; i < names.n; i++)
    json_array_append_new(tasks, text_json(names.v[i]));
  txf_meta_name_list_release(&names);
  /* The latest run of each date in the window, newest first. */
  txf_meta_runs_query q = {from, to, state, limit, 0, NULL};
  txf_meta_run_list latest;
  if ((rc = txf_meta_runs_latest(st, &q, &latest, err)))
    return rc;
  /* Each task's latest attempt, in one query over the window's run ids;
   * every attempt comes from /api/attempts on demand. */
  json_t *by_run = json_object(); /* run_id -> tasks object, borrowed */
  int64_t lo = INT64_MAX, hi = 0;
  for (size_t i = 0; i < latest.n; i++) {
    const txf_meta_run *run = &latest.v[i];
    json_t *tmap = json_object();
    json_array_append_new(
        runs,
        json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, "
                  "s:o}",
                  "run_id", (json_int_t)run->run_id, "logical_date",
                  str_json(run->logical_date), "kind", str_json(run->kind),
                  "state", str_json(run->state), "started_at_us",
                  int_json(run->started_at_us), "ended_at_us",
                  int_json(run->ended_at_us), "duration_s",
                  duration_json(run->started_at_us, run->ended_at_us),
                  "sla_deadline_us", int_json(run->sla_deadline_us), "error",
                  str_json(run->error), "sla_missed", run->sla_missed,
                  "sla_miss_deadline_us", int_json(run->sla_miss_deadline_us),
                  "tasks", tmap));
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)run->run_id);
    json_object_set(by_run, key, tmap);
    lo = run->run_id < lo ? run->run_id : lo;
    hi = run->run_id > hi ? run->run_id : hi;
  }
  txf_meta_run_list_release(&latest);
  txf_meta_attempt_list atts;
  rc = txf_meta_attempts_latest(st, lo, hi, &atts, err);
  for (size_t i = 0; !rc && i < atts.n; i++) {
    const txf_meta_attempt *at = &atts.v[i];
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)at->run_id);
    json_t *tmap = json_object_get(by_run, key);
    if (!tmap)
      continue; /* an earlier run of a date, or one outside the filter */
    json_object_set_new(
        tmap, at->task,
        json_pack("{s:o, s:o, s:I}", "state", str_json(at->state), "duration_s",
                  duration_json(at->started_at_us, at->ended_at_us),
                  "n_attempts", (json_int_t)at->attempt));
  }
  txf_meta_attempt_list_release(&atts);
  json_decref(by_run);
  return rc;
}

/* Every attempt of one run (optionally of one task). */
static int api_attempts(txf_serve_app *a, txf_store *st, const req *rq,
                        json_t *doc, txf_err *err, txf_serve_response *r) {
  (void)a;
  int64_t run;
  if (id_param(rq, "run", &run))
    return respond_error(r, 400, "bad run");
  const char *task = param(rq, "task");
  json_t *attempts = json_array();
  json_object_set_new(doc, "run_id", json_integer(run));
  json_object_set_new(doc, "attempts", attempts);
  if (!st)
    return 0;
  txf_meta_attempt_list l;
  int rc = txf_meta_attempts_of_run(st, run, task && *task ? task : NULL, 1, &l,
                                    err);
  for (size_t i = 0; !rc && i < l.n; i++) {
    const txf_meta_attempt *at = &l.v[i];
    json_array_append_new(
        attempts,
        json_pack("{s:I, s:o, s:i, s:o, s:o, s:o, s:b, s:o, s:o}", "attempt_id",
                  (json_int_t)at->attempt_id, "task", str_json(at->task),
                  "attempt", at->attempt, "state", str_json(at->state),
                  "started_at_us", int_json(at->started_at_us), "duration_s",
                  duration_json(at->started_at_us, at->ended_at_us), "has_log",
                  at->log_path != NULL, "exit_status",
                  int_json(at->exit_status), "error", str_json(at->error)));
  }
  txf_meta_attempt_list_release(&l);
  return rc;
}

/* The log of one attempt, as text. Only files under DATA/logs are read,
 * whatever the database says. */
static int api_log(txf_serve_app *a, txf_store *st, const req *rq,
                   json_t *doc, txf_err *err, txf_serve_response *r) {
  (void)doc;
  int64_t id;
  if (id_param(rq, "attempt", &id))
    return respond_error(r, 400, "bad attempt");
  if (!st)
    return respond_error(r, 404, "no metadata database");
  txf_meta_attempt_list l;
  int rc = txf_meta_attempt_get(st, id, &l, err);
  if (rc)
    return rc;
  char *path = l.n && l.v[0].log_path
                   ? txf_path_abs(a->data_dir, l.v[0].log_path)
                   : NULL;
  txf_meta_attempt_list_release(&l);
  if (!path)
    return respond_error(r, 404, "no log for this attempt");
  char *logs = txf_path_join(a->data_dir, "logs");
  char real_logs[PATH_MAX], real_path[PATH_MAX];
  int ok = realpath(logs, real_logs) && realpath(path, real_path) &&
           txf_str_has_prefix(real_path, real_logs) &&
           real_path[strlen(real_logs)] == '/';
  free(logs);
  free(path);
  if (!ok)
    return respond_error(r, 404,
                         "log file not found under the logs directory");
  FILE *f = fopen(real_path, "rb");
  if (!f)
    return respond_error(r, 404, "log file cannot be read");
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
  return -1;
}


/* ---------------------------------------------------------------- quality */

static int api_quality(txf_serve_app *a, txf_store *st, const req *rq,
                       json_t *doc, txf_err *err, txf_serve_response *r) {
  (void)a;
  char from[11], to[11];
  int64_t per_test;
  if (date_param(rq, "from", "", from) || date_param(rq, "to", "", to) ||
      int_param(rq, "per_test", 40, MAX_LIMIT, &per_test))
    return respond_error(r, 400, "bad from, to or per_test");
  json_t *tests = json_array(), *by_date = json_array();
  json_object_set_new(doc, "tests", tests);
  json_object_set_new(doc, "by_date", by_date);
  json_t *sum = json_pack("{s:i, s:i, s:i, s:i}", "pass", 0, "fail", 0,
                          "warn", 0, "error", 0);
  json_object_set_new(doc, "latest", sum);
  if (!st)
    return 0;
  int rc =
      txf_meta_quality_json(st, from, to, per_test, by_date, tests, sum, err);
  if (rc)
    return rc;
  json_object_set_new(doc, "from", json_string(from));
  json_object_set_new(doc, "to", json_string(to));
  json_object_set_new(doc, "per_test", json_integer(per_test));
  return 0;
}

static int api_sample(txf_serve_app *a, txf_store *st, const req *rq,
                      json_t *doc, txf_err *err, txf_serve_response *r) {
  (void)a;
  (void)doc;
  int64_t id;
  if (id_param(rq, "result", &id))
    return respond_error(r, 400, "bad result");
  if (!st)
    return respond_error(r, 404, "no metadata database");
  json_t *out;
  int rc = txf_meta_test_sample_json(st, id, &out, err);
  if (rc)
    return rc;
  if (!out)
    return respond_error(r, 404, "no such test result");
  respond_json(r, 200, out);
  return -1;
}

static int api_reconciliation(txf_serve_app *a, txf_store *st, const req *rq,
                              json_t *doc, txf_err *err,
                              txf_serve_response *r) {
  (void)a;
  char from[11], to[11];
  int64_t limit;
  if (window_params(rq, from, to, &limit))
    return respond_error(r, 400, "bad from, to or limit");
  json_t *runs = json_array();
  json_object_set_new(doc, "runs", runs);
  json_object_set_new(doc, "limit", json_integer(limit));
  if (!st)
    return 0;
  return txf_meta_clean_runs_json(st, from, to, limit, runs, err);
}

/* ---------------------------------------------------------------- lake */

/* Each partition's "run_id": the latest run of the ingestion date whose
 * clean wrote it (null when none). */
static int add_run_ids(txf_store *st, json_t *parts, txf_err *err) {
  txf_meta_runs_query all = {NULL, NULL, NULL, -1, 0, NULL};
  txf_meta_run_list runs;
  int rc = txf_meta_runs_latest(st, &all, &runs, err);
  if (rc)
    return rc;
  json_t *by_date = json_object();
  for (size_t i = 0; i < runs.n; i++)
    json_object_set_new(by_date, runs.v[i].logical_date,
                        json_integer(runs.v[i].run_id));
  txf_meta_run_list_release(&runs);
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p) {
    const char *d = json_string_value(json_object_get(p, "ingest_date"));
    json_t *id = d ? json_object_get(by_date, d) : NULL;
    json_object_set_new(p, "run_id", id ? json_copy(id) : json_null());
  }
  json_decref(by_date);
  return 0;
}

/* The bronze files that hold card numbers, their age in days (today in
 * the pipeline's zone less the ingest date) and the day a vacuum removes
 * each (retention.bronze_card_files, by default the shortest duration
 * configured: decision 2201; a UTC day, as the vacuum judges it): what
 * PCI DSS 3.2.1 asks to delete when no longer needed (docs/card-data.md).
 * "bronze_retention" null says no retention: is configured. */
static void add_card_files(const txf_serve_app *a, json_t *doc) {
  txf_bronze_card_file *v;
  size_t n;
  txf_bronze_card_files(a->data_dir, &v, &n);
  txf_tz *tz = NULL;
  txf_err e;
  int32_t today = txf_tz_load(&tz, a->timezone, &e) == 0
                      ? txf_tz_local_date(tz, txf_wall_us()).days
                      : (int32_t)(txf_wall_us() / INT64_C(86400000000));
  txf_tz_free(tz);
  const txf_project_retention *r = &a->retention;
  int64_t keep = r->bronze_card_files_us;
  json_t *files = json_array();
  for (size_t i = 0; i < n; i++) {
    txf_date d;
    int ok = txf_date_parse(v[i].ingest_date, 10, &d) == 0;
    json_t *age = ok ? json_integer(today - d.days) : json_null();
    json_t *removes = json_null();
    if (ok && keep >= 0) {
      char ds[11];
      txf_date_format(
          (txf_date){txf_project_retention_removal_day(d.days, keep)}, ds);
      removes = json_string(ds);
    }
    json_array_append_new(
        files, json_pack("{s:s, s:s, s:o, s:I, s:o}", "path", v[i].rel,
                         "ingest_date", v[i].ingest_date, "age_days", age,
                         "size_bytes", (json_int_t)v[i].size_bytes,
                         "removes_on", removes));
  }
  txf_bronze_card_files_free(v, n);
  json_object_set_new(doc, "bronze_card_files", files);
  json_object_set_new(
      doc, "bronze_retention",
      !r->configured
          ? json_null()
          : json_pack("{s:o, s:s, s:s}", "days",
                      keep < 0 ? json_null()
                               : json_integer(keep / INT64_C(86400000000)),
                      "from", r->card_files_from, "vacuum",
                      r->vacuum_daily ? "daily" : "off"));
}

/* The lake's versions, as `txnflow lake log --json` lists them (oldest
 * first); an unreadable record is reported beside an empty list rather
 * than failing the whole page. */
static void add_versions(const txf_serve_app *a, json_t *doc) {
  char *log = NULL;
  txf_err e;
  txf_err_clear(&e);
  json_t *vs = NULL;
  if (txf_clean_lake_log(a->data_dir, &log, &e) == 0) {
    json_error_t je;
    vs = json_loads(log, 0, &je);
  } else {
    json_object_set_new(doc, "versions_error", text_json(e.msg));
  }
  free(log);
  json_object_set_new(doc, "versions", json_is_array(vs) ? vs : json_array());
  if (vs && !json_is_array(vs))
    json_decref(vs);
}

static int api_lake(txf_serve_app *a, txf_store *st, const req *rq, json_t *doc,
                    txf_err *err, txf_serve_response *r) {
  (void)rq;
  (void)r;
  add_card_files(a, doc);
  add_versions(a, doc);
  json_t *parts = json_array(), *reasons = json_array(), *qdates = json_array();
  json_object_set_new(doc, "partitions", parts);
  json_object_set_new(doc, "quarantine_by_reason", reasons);
  json_object_set_new(doc, "quarantine_by_date", qdates);
  json_object_set_new(doc, "total_rows", json_integer(0));
  json_object_set_new(doc, "total_bytes", json_integer(0));
  if (!st)
    return 0;
  int rc = txf_meta_lake_json(st, parts, reasons, qdates, err);
  if (!rc)
    rc = add_run_ids(st, parts, err);
  int64_t total_rows = 0, total_bytes = 0;
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p) {
    total_rows += json_integer_value(json_object_get(p, "n_rows"));
    total_bytes += json_integer_value(json_object_get(p, "size_bytes"));
  }
  json_object_set_new(doc, "total_rows", json_integer(total_rows));
  json_object_set_new(doc, "total_bytes", json_integer(total_bytes));
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sample lines of the quarantine of one ingestion date: the first lines of
 * each file in quarantine/transactions/ingest_date=D/ (optionally only lines
 * mentioning REASON). The path is built from a validated date only. */
static int api_quarantine(txf_serve_app *a, txf_store *st, const req *rq,
                          json_t *doc_unused, txf_err *err,
                          txf_serve_response *r) {
  (void)st;
  (void)doc_unused;
  (void)err;
  char date[11];
  const char *reason = param(rq, "reason");
  if (!param(rq, "date") || date_param(rq, "date", "", date))
    return respond_error(r, 400, "bad date");
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
  return -1;
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
      /* Parents: depends_on.nodes and depends_on.sources (a staging
       * model's only parent is often a source), depends_on [..], or
       * parents [..]. */
      json_t *dep = json_object_get(mn, "depends_on");
      json_t *lists[2] = {NULL, NULL};
      if (json_is_object(dep)) {
        lists[0] = json_object_get(dep, "nodes");
        lists[1] = json_object_get(dep, "sources");
      } else {
        lists[0] = json_is_array(dep) ? dep : json_object_get(mn, "parents");
      }
      for (int l = 0; l < 2; l++) {
        size_t j;
        json_t *d;
        json_array_foreach(lists[l], j, d) if (json_is_string(d))
            json_array_append_new(pairs, json_pack("[s, O]", id, d));
      }
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

static int api_lineage(txf_serve_app *a, txf_store *st, const req *rq,
                       json_t *doc, txf_err *err, txf_serve_response *r) {
  (void)rq;
  (void)r;
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

  /* The last build and the tests of each model. */
  txf_meta_model_build_list builds = {0};
  txf_meta_test_result_list tests = {0};
  int rc = st ? txf_meta_model_builds_latest(st, NULL, &builds, err) : 0;
  if (st && !rc)
    rc = txf_meta_test_results_latest(st, &tests, err);
  for (size_t bi = 0; !rc && bi < builds.n; bi++) {
    const txf_meta_model_build *b = &builds.v[bi];
    const char *m = b->model;
    const char *id = m ? resolve(nodes, m) : NULL;
    if (!id && m) {
      /* A model built but not in the manifest still gets a node. */
      char *nid = txf_xasprintf("model.%s", m);
      json_object_set_new(graph_node(nodes, nid, m, "model"), "layer",
                          json_integer(2));
      free(nid);
      id = resolve(nodes, m);
    }
    json_t *node = id ? json_object_get(nodes, id) : NULL;
    if (!node)
      continue;
    json_t *o = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o}", "state", str_json(b->state), "n_rows",
        int_json(b->n_rows), "started_at_us", int_json(b->started_at_us),
        "duration_us", int_json(b->duration_us), "logical_date",
        str_json(b->logical_date), "error", str_json(b->error));
    json_object_set_new(node, "last_build", o);
    json_object_set(node, "row_count", json_object_get(o, "n_rows"));
    if (!json_object_get(node, "materialized") && b->materialized)
      json_object_set_new(node, "materialized", text_json(b->materialized));
  }
  for (size_t ti = 0; !rc && ti < tests.n; ti++) {
    const txf_meta_test_result *t = &tests.v[ti];
    const char *id = t->model ? resolve(nodes, t->model) : NULL;
    json_t *node = id ? json_object_get(nodes, id) : NULL;
    if (node)
      json_array_append_new(
          json_object_get(node, "tests"),
          json_pack("{s:o, s:o, s:o, s:o, s:o}", "name", str_json(t->test_name),
                    "status", str_json(t->status), "failures",
                    int_json(t->failures), "severity", str_json(t->severity),
                    "logical_date", str_json(t->logical_date)));
  }
  txf_meta_model_build_list_release(&builds);
  txf_meta_test_result_list_release(&tests);
  /* Row counts of the lake: lines read into bronze, rows in silver. */
  int64_t bronze_lines, silver_rows;
  if (st && !rc &&
      !(rc = txf_meta_lake_rows(st, &bronze_lines, &silver_rows, err))) {
    json_object_set_new(bronze, "row_count", int_json(bronze_lines));
    json_object_set_new(silver, "row_count", int_json(silver_rows));
  }
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

/* The Business page charts what the project declares (`dashboard:` in
 * txnflow.yml, read by dashboard.c); each chart's answer is keyed by its
 * id, and the declaration itself goes along as "charts" for the page. */

/* 1 when NAME is one of COLS, a "\nname\nname\n" list. */
static int has_column(const char *cols, const char *name) {
  size_t l = strlen(name);
  for (const char *p = cols; (p = strstr(p, name)); p += l)
    if ((p == cols || p[-1] == '\n') && p[l] == '\n')
      return 1;
  return 0;
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

/* Run SQL (freed here) and set its rows as KEY of OUT. */
static int duck_rows_into(txf_duck *d, char *sql, json_t *out, const char *key,
                          txf_err *err) {
  json_t *rows = NULL;
  int rc = duck_rows(d, sql, &rows, NULL, err);
  free(sql);
  if (!rc)
    json_object_set_new(out, key, rows);
  return rc;
}

/* Y summed per day X and value of each series column over the last DAYS
 * days of data ("by_COLUMN": [day, value, sum]), and the total of each of
 * the last DAYS days, newest first ("daily_total": [day, sum]). */
static int chart_timeseries(txf_duck *d, const txf_chart *c, const char *rel,
                            int64_t days, json_t *out, txf_err *err) {
  char *x = txf_duck_quote_ident(c->x), *y = txf_duck_quote_ident(c->y);
  int rc = 0;
  for (size_t i = 0; !rc && i < c->n_series; i++) {
    char *s = txf_duck_quote_ident(c->series[i]);
    char *key = txf_xasprintf("by_%s", c->series[i]);
    rc = duck_rows_into(
        d,
        txf_xasprintf(
            "WITH w AS (SELECT * FROM %s WHERE %s > (SELECT max(%s) FROM %s) "
            "- INTERVAL %lld DAY) SELECT CAST(%s AS DATE)::VARCHAR, "
            "coalesce(CAST(%s AS VARCHAR), '(none)'), CAST(sum(%s) AS "
            "DECIMAL(38,2))::VARCHAR FROM w GROUP BY 1, 2 ORDER BY 1, 2",
            rel, x, x, rel, (long long)days, x, s, y),
        out, key, err);
    free(key);
    free(s);
  }
  if (!rc)
    rc =
        duck_rows_into(d,
                       txf_xasprintf("SELECT CAST(%s AS DATE)::VARCHAR, "
                                     "CAST(sum(%s) AS DECIMAL(38,2))::VARCHAR "
                                     "FROM %s GROUP BY 1 ORDER BY 1 DESC LIMIT "
                                     "%lld",
                                     x, y, rel, (long long)days),
                       out, "daily_total", err);
  free(x);
  free(y);
  return rc;
}

/* A row per value of X (of the latest AS_OF, if declared), most rows
 * first: [value, rows, sum of Y or null] ("segments"). */
static int chart_segments(txf_duck *d, const txf_chart *c, const char *rel,
                          json_t *out, txf_err *err) {
  char *x = txf_duck_quote_ident(c->x);
  char *value = NULL, *where = NULL;
  if (c->y) {
    char *y = txf_duck_quote_ident(c->y);
    value = txf_xasprintf("CAST(sum(%s) AS DECIMAL(38,2))::VARCHAR", y);
    free(y);
  }
  if (c->as_of) {
    char *as = txf_duck_quote_ident(c->as_of);
    where = txf_xasprintf(" WHERE %s = (SELECT max(%s) FROM %s)", as, as, rel);
    free(as);
  }
  int rc = duck_rows_into(
      d,
      txf_xasprintf("SELECT coalesce(CAST(%s AS VARCHAR), "
                    "'(none)'), count(*)::VARCHAR, %s FROM "
                    "%s%s GROUP BY 1 ORDER BY count(*) DESC, 1",
                    x, value ? value : "NULL", rel, where ? where : ""),
      out, "segments", err);
  free(x);
  free(value);
  free(where);
  return rc;
}

/* Y in BUCKETS equal-width buckets between its minimum and maximum:
 * [lower bound, rows] ("histogram"); its count, mean, median and maximum
 * ("stats", null when they cannot be read) and the column's name. */
static int chart_histogram(txf_duck *d, const txf_chart *c, const char *rel,
                           json_t *out, txf_err *err) {
  char *y = txf_duck_quote_ident(c->y);
  long long nb = (long long)c->buckets;
  int rc = duck_rows_into(
      d,
      txf_xasprintf(
          "WITH v AS (SELECT CAST(%s AS DOUBLE) x FROM %s WHERE %s IS NOT "
          "NULL), b AS (SELECT min(x) lo, max(x) hi FROM v), c AS (SELECT "
          "least(%lld, CAST(floor(CASE WHEN hi > lo THEN (x - lo) / (hi - lo) "
          "* %lld ELSE 0 END) AS BIGINT)) k, count(*) n FROM v, b GROUP BY "
          "1), r AS (SELECT range AS k FROM range(%lld)) SELECT (lo + (hi - "
          "lo) / %lld * r.k)::VARCHAR, coalesce(c.n, 0)::VARCHAR FROM r "
          "CROSS JOIN b LEFT JOIN c ON c.k = r.k WHERE lo IS NOT NULL ORDER "
          "BY r.k",
          y, rel, y, nb - 1, nb, nb, nb),
      out, "histogram", err);
  if (!rc) {
    char *stats = txf_xasprintf(
        "SELECT count(*)::VARCHAR, CAST(avg(%s) AS DECIMAL(38,2))::VARCHAR, "
        "CAST(median(%s) AS DECIMAL(38,2))::VARCHAR, CAST(max(%s) AS "
        "DECIMAL(38,2))::VARCHAR FROM %s",
        y, y, y, rel);
    json_t *rows = NULL;
    txf_err serr;
    txf_err_clear(&serr);
    if (duck_rows(d, stats, &rows, NULL, &serr) == 0) {
      json_t *first = json_array_get(rows, 0);
      json_object_set_new(out, "stats",
                          first ? json_incref(first) : json_null());
      json_decref(rows);
    }
    free(stats);
    json_object_set_new(out, "column", json_string(c->y));
  }
  free(y);
  return rc;
}

/* The first LIMIT rows, by ORDER_BY newest first if declared ("columns",
 * "rows"), and how many there are ("total", -1 when unknown). */
static int chart_table(txf_duck *d, const txf_chart *c, const char *rel,
                       json_t *out, txf_err *err) {
  char *order = NULL;
  if (c->order_by) {
    char *o = txf_duck_quote_ident(c->order_by);
    order = txf_xasprintf(" ORDER BY %s DESC", o);
    free(o);
  }
  char *sql = txf_xasprintf("SELECT * FROM %s%s LIMIT %lld", rel,
                            order ? order : "", (long long)c->limit);
  free(order);
  json_t *rows = NULL, *names = NULL;
  int rc = duck_rows(d, sql, &rows, &names, err);
  free(sql);
  if (rc)
    return rc;
  int64_t total = 0;
  txf_err terr;
  txf_err_clear(&terr);
  char *count = txf_xasprintf("SELECT count(*) FROM %s", rel);
  if (txf_duck_query_i64(d, count, &total, &terr))
    total = -1;
  free(count);
  json_object_set_new(out, "columns", names);
  json_object_set_new(out, "rows", rows);
  json_object_set_new(out, "total", json_integer(total));
  return 0;
}

/* The answer of chart C: {status: ok, message: "", ...its data}, or
 * not_built (its model is not in the warehouse yet), or error (a column
 * it names is missing, a query failed). */
static json_t *chart_answer(txf_duck *d, const txf_chart *c, int64_t days) {
  txf_err err;
  txf_err_clear(&err);
  if (c->model) {
    char *cols = NULL;
    if (table_columns(d, c->model, &cols, &err) || !cols) {
      char *msg = txf_xasprintf("%s is not built yet", c->model);
      json_t *s = section("not_built", msg);
      free(msg);
      return s;
    }
    const char *named[] = {c->x, c->y, c->as_of, c->order_by};
    const char *missing = NULL;
    for (size_t i = 0; !missing && i < TXF_ARRAY_LEN(named); i++)
      if (named[i] && !has_column(cols, named[i]))
        missing = named[i];
    for (size_t i = 0; !missing && i < c->n_series; i++)
      if (!has_column(cols, c->series[i]))
        missing = c->series[i];
    free(cols);
    if (missing) {
      char *msg = txf_xasprintf("%s has no column '%s'", c->model, missing);
      json_t *s = section("error", msg);
      free(msg);
      return s;
    }
  }
  char *rel = c->model ? txf_duck_quote_ident(c->model)
                       : txf_xasprintf("(%s) AS src", c->sql);
  json_t *out = section("ok", NULL);
  int rc = 0;
  switch (c->kind) {
  case TXF_CHART_TIMESERIES:
    rc = chart_timeseries(d, c, rel, days, out, &err);
    break;
  case TXF_CHART_SEGMENTS:
    rc = chart_segments(d, c, rel, out, &err);
    break;
  case TXF_CHART_HISTOGRAM:
    rc = chart_histogram(d, c, rel, out, &err);
    break;
  case TXF_CHART_TABLE:
    rc = chart_table(d, c, rel, out, &err);
    break;
  }
  free(rel);
  if (rc) {
    json_decref(out);
    return section("error", err.msg);
  }
  return out;
}

static int api_business(txf_serve_app *a, txf_store *st, const req *rq,
                        json_t *doc_unused, txf_err *err_unused,
                        txf_serve_response *r) {
  (void)st;
  (void)doc_unused;
  (void)err_unused;
  int64_t days;
  if (int_param(rq, "days", 31, 3660, &days) || days < 1)
    return respond_error(r, 400, "bad days");
  struct stat sb;
  const txf_serve_dashboard *dash = a->cfg.dashboard;
  size_t n_charts = dash ? dash->n_charts : 0;
  if (stat(a->warehouse_path, &sb) != 0) {
    json_t *doc = json_pack("{s:b}", "warehouse", 0);
    for (size_t i = 0; i < n_charts; i++)
      json_object_set_new(doc, dash->charts[i].id,
                          section("not_built", "no warehouse yet"));
    json_object_set_new(doc, "charts", txf_serve_dashboard_json(dash));
    respond_json(r, 200, doc);
    return -1;
  }
  int64_t mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 +
                     sb.st_mtim.tv_nsec;
  char key[64];
  snprintf(key, sizeof key, "business?days=%lld", (long long)days);
  pthread_mutex_lock(&a->wh_lock);
  for (size_t i = 0; i < TXF_ARRAY_LEN(a->cache); i++) {
    wh_cache *c = &a->cache[i];
    if (c->key && !strcmp(c->key, key) && c->mtime_ns == mtime_ns &&
        c->size == (int64_t)sb.st_size && c->ino == (int64_t)sb.st_ino) {
      r->status = 200;
      r->content_type = "application/json; charset=utf-8";
      r->body = txf_xstrndup(c->body, c->len);
      r->len = c->len;
      pthread_mutex_unlock(&a->wh_lock);
      return -1;
    }
  }
  txf_duck *d = NULL;
  txf_err err;
  txf_err_clear(&err);
  /* Sealed like `txnflow sql` without --write: a chart's query reads the
   * warehouse and nothing else (no file, no extension, no setting). */
  txf_duck_seal seal = {.threads = 1};
  int rc = txf_duck_open_sealed(&d, a->warehouse_path, &seal, &err);
  if (rc) {
    pthread_mutex_unlock(&a->wh_lock);
    /* a warehouse written in place (not through its two copies, e.g. by
     * an older txnflow): try again in a moment */
    return respond_error(r, rc == TXF_ELOCKED ? 503 : 500, err.msg);
  }
  json_t *doc = json_pack("{s:b}", "warehouse", 1);
  for (size_t i = 0; i < n_charts; i++)
    json_object_set_new(doc, dash->charts[i].id,
                        chart_answer(d, &dash->charts[i], days));
  json_object_set_new(doc, "charts", txf_serve_dashboard_json(dash));
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
  c->ino = (int64_t)sb.st_ino;
  pthread_mutex_unlock(&a->wh_lock);
  return -1;
}

/* ---------------------------------------------------------------- events */

static int api_events(txf_serve_app *a, txf_store *st, const req *rq,
                      json_t *doc, txf_err *err, txf_serve_response *r) {
  (void)a;
  int64_t limit;
  if (int_param(rq, "limit", 50, MAX_LIMIT, &limit))
    return respond_error(r, 400, "bad limit");
  json_t *evs = json_array();
  json_object_set_new(doc, "events", evs);
  if (!st)
    return 0;
  return txf_meta_lineage_events_json(st, limit, evs, err);
}

/* ---------------------------------------------------------------- dispatch */

/* A handler fills DOC (the answer, 200) and returns 0; or answers through
 * R itself (a raw body, or a 4xx for a bad parameter) and returns -1; or
 * returns a TXF_E* code from reading the metadata database (a 503). ST is
 * NULL when the handler does not read metadata, or when no database exists
 * yet (DOC then says "metadata": false). */
typedef int (*handler)(txf_serve_app *a, txf_store *st, const req *rq,
                       json_t *doc, txf_err *err, txf_serve_response *r);

static const struct endpoint {
  const char *path;
  handler fn;
  int metadata; /* reads the metadata database */
} endpoints[] = {
    {"/api/summary", api_summary, 1},
    {"/api/runs", api_runs, 1},
    {"/api/attempts", api_attempts, 1},
    {"/api/log", api_log, 1},
    {"/api/quality", api_quality, 1},
    {"/api/sample", api_sample, 1},
    {"/api/reconciliation", api_reconciliation, 1},
    {"/api/lake", api_lake, 1},
    {"/api/quarantine", api_quarantine, 0},
    {"/api/lineage", api_lineage, 1},
    {"/api/business", api_business, 0},
    {"/api/events", api_events, 1},
};

void txf_serve_api(txf_serve_app *a, const char *path,
                   const txf_serve_param *p, size_t np,
                   txf_serve_response *r) {
  memset(r, 0, sizeof *r);
  const struct endpoint *ep = NULL;
  for (size_t i = 0; i < TXF_ARRAY_LEN(endpoints) && !ep; i++)
    if (!strcmp(path, endpoints[i].path))
      ep = &endpoints[i];
  if (!ep) {
    respond_error(r, 404, "no such API endpoint");
    return;
  }
  req rq = {p, np};
  txf_store *st = NULL;
  int missing = 0;
  txf_err err;
  txf_err_clear(&err);
  int rc = ep->metadata ? open_meta(a, &st, &missing, &err) : 0;
  /* One read transaction: every query of an answer sees the same
   * snapshot, whatever a run writes meanwhile (WAL readers never block
   * the writer). */
  if (!rc && st)
    rc = txf_store_begin_read(st, &err);
  json_t *doc = json_pack("{s:b}", "metadata", !missing);
  if (!rc)
    rc = ep->fn(a, st, &rq, doc, &err, r);
  txf_store_close(st); /* ends the read transaction */
  if (rc == -1) { /* the handler answered */
    json_decref(doc);
    return;
  }
  if (rc) {
    /* A broken database is an answer, not a crash. */
    json_decref(doc);
    respond_json(r, 503,
                 json_pack("{s:s, s:s}", "error", "metadata database "
                                                  "unreadable",
                           "detail", err.msg));
    return;
  }
  respond_json(r, 200, doc);
}
