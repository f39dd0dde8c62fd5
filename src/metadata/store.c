/* The SQLite metadata store: open, schema, transactions, the store's own
 * key/value table, and the statement helpers the table families share
 * (internal.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "metadata/internal.h"

/* The schema. Every statement is idempotent, so opening an existing
 * database is cheap and safe from several processes. Times are UTC
 * microseconds since the epoch (*_us); dates are 'YYYY-MM-DD' text in the
 * pipeline's time zone. A module that needs a table adds it here and
 * documents it in docs/metadata.md. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);\n"
    /* One row per DAG run of a logical date (orchestrate). */
    "CREATE TABLE IF NOT EXISTS runs(\n"
    "  run_id INTEGER PRIMARY KEY,\n"
    "  logical_date TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL DEFAULT 'manual',\n" /* manual|scheduled|backfill */
    "  state TEXT NOT NULL,\n" /* queued|running|success|failed */
    "  started_at_us INTEGER, ended_at_us INTEGER,\n"
    "  sla_deadline_us INTEGER,\n"
    "  pid INTEGER, error TEXT);\n"
    "CREATE INDEX IF NOT EXISTS runs_date ON runs(logical_date);\n"
    /* One row per attempt of a task in a run. */
    "CREATE TABLE IF NOT EXISTS task_attempts(\n"
    "  attempt_id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(run_id),\n"
    "  task TEXT NOT NULL, attempt INTEGER NOT NULL,\n"
    "  state TEXT NOT NULL,\n" /* running|success|failed|up_for_retry|skipped */
    "  pid INTEGER, started_at_us INTEGER, ended_at_us INTEGER,\n"
    "  exit_status INTEGER, error TEXT, log_path TEXT,\n"
    "  retry_at_us INTEGER, max_rss_kb INTEGER, cpu_us INTEGER);\n"
    "CREATE INDEX IF NOT EXISTS attempts_run ON task_attempts(run_id, task);\n"
    "CREATE TABLE IF NOT EXISTS sla_misses(\n"
    "  logical_date TEXT PRIMARY KEY, run_id INTEGER,\n"
    "  deadline_us INTEGER NOT NULL, detected_at_us INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS alerts(\n"
    "  alert_id INTEGER PRIMARY KEY, logical_date TEXT, run_id INTEGER,\n"
    "  kind TEXT NOT NULL, command TEXT, sent_at_us INTEGER,\n"
    "  exit_status INTEGER, output TEXT);\n"
    /* One row per clean of an ingestion date: the reconciliation. */
    "CREATE TABLE IF NOT EXISTS clean_runs(\n"
    "  clean_id INTEGER PRIMARY KEY,\n"
    "  ingest_date TEXT NOT NULL,\n"
    "  started_at_us INTEGER, ended_at_us INTEGER,\n"
    "  state TEXT NOT NULL,\n" /* running|success|failed */
    "  lines_read INTEGER, inserted INTEGER, updated INTEGER,\n"
    "  duplicates INTEGER, stale INTEGER, quarantined INTEGER,\n"
    "  ties INTEGER, partitions_rewritten INTEGER,\n"
    "  details_json TEXT, error TEXT);\n"
    "CREATE INDEX IF NOT EXISTS clean_runs_date ON clean_runs(ingest_date);\n"
    "CREATE TABLE IF NOT EXISTS quarantine_counts(\n"
    "  clean_id INTEGER NOT NULL, reason TEXT NOT NULL, n INTEGER NOT NULL,\n"
    "  PRIMARY KEY(clean_id, reason));\n"
    /* Each silver partition written: which clean wrote it, and what. */
    "CREATE TABLE IF NOT EXISTS partition_commits(\n"
    "  commit_id INTEGER PRIMARY KEY, clean_id INTEGER,\n"
    "  partition TEXT NOT NULL, n_rows INTEGER, size_bytes INTEGER,\n"
    "  sha256 TEXT, committed_at_us INTEGER);\n"
    "CREATE INDEX IF NOT EXISTS partition_commits_p ON "
    "partition_commits(partition);\n"
    /* Models: builds and data tests. */
    "CREATE TABLE IF NOT EXISTS model_builds(\n"
    "  build_id INTEGER PRIMARY KEY, invocation_id TEXT, model TEXT NOT NULL,\n"
    "  materialized TEXT, state TEXT NOT NULL, n_rows INTEGER,\n"
    "  started_at_us INTEGER, duration_us INTEGER, error TEXT,\n"
    "  logical_date TEXT);\n"
    "CREATE INDEX IF NOT EXISTS model_builds_model ON model_builds(model);\n"
    "CREATE TABLE IF NOT EXISTS test_results(\n"
    "  result_id INTEGER PRIMARY KEY, invocation_id TEXT,\n"
    "  model TEXT, test_name TEXT NOT NULL, severity TEXT NOT NULL,\n"
    "  status TEXT NOT NULL,\n" /* pass|fail|warn|error */
    "  failures INTEGER, sample_json TEXT, message TEXT,\n"
    "  started_at_us INTEGER, duration_us INTEGER, logical_date TEXT);\n"
    "CREATE INDEX IF NOT EXISTS test_results_model ON test_results(model);\n"
    /* The dashboard's "latest result of each test" and date windows. */
    "CREATE INDEX IF NOT EXISTS test_results_test ON "
    "test_results(model, test_name, logical_date);\n"
    "CREATE INDEX IF NOT EXISTS test_results_date ON "
    "test_results(logical_date, status);\n"
    /* The logical dates a models invocation stood for: one, or each date
     * of a batched backfill build (whose results carry its run_date). */
    "CREATE TABLE IF NOT EXISTS invocation_dates(\n"
    "  invocation_id TEXT NOT NULL, logical_date TEXT NOT NULL,\n"
    "  PRIMARY KEY(invocation_id, logical_date));\n"
    "CREATE INDEX IF NOT EXISTS invocation_dates_date ON "
    "invocation_dates(logical_date);\n"
    /* OpenLineage run events, as JSON. */
    "CREATE TABLE IF NOT EXISTS lineage_events(\n"
    "  event_id INTEGER PRIMARY KEY, event_time_us INTEGER NOT NULL,\n"
    "  event_type TEXT NOT NULL, job TEXT NOT NULL, run_uuid TEXT NOT NULL,\n"
    "  payload_json TEXT NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS lineage_time ON "
    "lineage_events(event_time_us);\n"
    /* What publish uploaded, to skip unchanged objects. */
    "CREATE TABLE IF NOT EXISTS published_objects(\n"
    "  target TEXT NOT NULL, key TEXT NOT NULL, sha256 TEXT NOT NULL,\n"
    "  size_bytes INTEGER, published_at_us INTEGER,\n"
    "  PRIMARY KEY(target, key));\n";

int txf_store_error(txf_store *s, txf_err *err, const char *what) {
  return txf_err_set(err, TXF_EDB, "%s: %s: %s", s->path, what,
                     sqlite3_errmsg(s->db));
}

/* Columns added to a table after databases with it existed: added to an
 * older database when it is opened (CREATE TABLE IF NOT EXISTS leaves it
 * as it was). */
static const struct {
  const char *table, *column, *type;
} added_columns[] = {
    {"task_attempts", "max_rss_kb", "INTEGER"},
    {"task_attempts", "cpu_us", "INTEGER"},
};

static int add_missing_columns(txf_store *s, txf_err *err) {
  for (size_t i = 0; i < TXF_ARRAY_LEN(added_columns); i++) {
    char *sql =
        sqlite3_mprintf("SELECT count(*) FROM pragma_table_info(%Q) "
                        "WHERE name = %Q",
                        added_columns[i].table, added_columns[i].column);
    sqlite3_stmt *q;
    int have = 1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) == SQLITE_OK) {
      if (sqlite3_step(q) == SQLITE_ROW)
        have = sqlite3_column_int(q, 0);
      sqlite3_finalize(q);
    }
    sqlite3_free(sql);
    if (have)
      continue;
    sql = sqlite3_mprintf("ALTER TABLE %s ADD COLUMN %s %s;",
                          added_columns[i].table, added_columns[i].column,
                          added_columns[i].type);
    int rc = txf_store_exec(s, sql, err);
    sqlite3_free(sql);
    if (rc)
      return rc;
  }
  return 0;
}

int txf_store_open(txf_store **out, const char *path, int readonly,
                   txf_err *err) {
  *out = NULL;
  if (readonly && !txf_fs_exists(path))
    return txf_err_set(err, TXF_ENOTFOUND, "%s: no metadata database", path);
  txf_store *s = txf_xcalloc(1, sizeof *s);
  s->path = txf_xstrdup(path);
  int flags = readonly ? SQLITE_OPEN_READONLY
                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    rc = txf_err_set(err, TXF_EDB, "%s: cannot open metadata database: %s",
                     path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
    txf_store_close(s);
    return rc;
  }
  sqlite3_busy_timeout(s->db, 30000);
  rc = readonly ? txf_store_exec(s, "PRAGMA query_only=1;", err)
                : txf_store_exec(s,
                                 "PRAGMA journal_mode=WAL;"
                                 "PRAGMA synchronous=NORMAL;"
                                 "PRAGMA foreign_keys=ON;",
                                 err);
  if (!rc && !readonly)
    rc = txf_store_exec(s, schema, err);
  if (!rc && !readonly)
    rc = add_missing_columns(s, err);
  if (!rc) {
    /* Touch the schema so a file that is not a database fails here. */
    rc = txf_store_exec(s, "SELECT count(*) FROM sqlite_master;", err);
  }
  if (rc) {
    txf_store_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

void txf_store_close(txf_store *s) {
  if (!s)
    return;
  if (s->db)
    sqlite3_close_v2(s->db);
  free(s->path);
  free(s);
}

int txf_store_exec(txf_store *s, const char *sql, txf_err *err) {
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    int rc = txf_err_set(err, TXF_EDB, "%s: %s", s->path,
                         msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return rc;
  }
  return 0;
}

int txf_store_prepare(txf_store *s, const char *sql, sqlite3_stmt **out,
                      txf_err *err) {
  if (sqlite3_prepare_v2(s->db, sql, -1, out, NULL) != SQLITE_OK)
    return txf_store_error(s, err, "prepare");
  return 0;
}

int txf_store_begin(txf_store *s, txf_err *err) {
  return txf_store_exec(s, "BEGIN IMMEDIATE;", err);
}

int txf_store_begin_read(txf_store *s, txf_err *err) {
  return txf_store_exec(s, "BEGIN", err);
}

int txf_store_commit(txf_store *s, txf_err *err) {
  return txf_store_exec(s, "COMMIT;", err);
}

void txf_store_rollback(txf_store *s) {
  sqlite3_exec(s->db, "ROLLBACK;", NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- meta */

int txf_meta_key_get_or_set(txf_store *s, const char *key, int64_t def,
                            int64_t *out, txf_err *err) {
  char v[32];
  snprintf(v, sizeof v, "%lld", (long long)def);
  int rc = txf_store_write(s, "meta", err,
                           "INSERT OR IGNORE INTO meta(key, value) VALUES(?, "
                           "?)",
                           "ss", key, v);
  if (rc)
    return rc;
  sqlite3_stmt *q;
  if ((rc = txf_store_query(s, &q, err, "SELECT value FROM meta WHERE key = ?",
                            "s", key)))
    return rc;
  *out = def;
  if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
    *out = strtoll((const char *)sqlite3_column_text(q, 0), NULL, 10);
  sqlite3_finalize(q);
  return 0;
}

int txf_meta_counts_read(txf_store *s, txf_meta_counts *out, txf_err *err) {
  int64_t v[4];
  int found;
  int rc = txf_store_row_i64(
      s, v, 4, &found, err,
      "SELECT (SELECT count(*) FROM sla_misses), (SELECT count(*) FROM "
      "clean_runs), (SELECT count(*) FROM test_results), (SELECT count(*) "
      "FROM lineage_events)",
      "");
  *out = (txf_meta_counts){v[0], v[1], v[2], v[3]};
  return rc;
}

void txf_meta_count_list_release(txf_meta_count_list *l) {
  txf_store_list_release(TXF_STORE_LIST(l));
}

void txf_meta_name_list_release(txf_meta_name_list *l) {
  txf_store_list_release(TXF_STORE_LIST(l));
}

/* ---------------------------------------------------------------- helpers */

static void bind_args(sqlite3_stmt *q, const char *types, va_list ap) {
  for (int i = 1; types[i - 1]; i++) {
    if (types[i - 1] == 's') {
      const char *t = va_arg(ap, const char *);
      if (t)
        sqlite3_bind_text(q, i, t, -1, SQLITE_TRANSIENT);
      continue;
    }
    int64_t v = va_arg(ap, int64_t);
    if (types[i - 1] == 'i' || v != TXF_META_NULL)
      sqlite3_bind_int64(q, i, v);
  }
}

static int vquery(txf_store *s, sqlite3_stmt **q, txf_err *err, const char *sql,
                  const char *types, va_list ap) {
  int rc = txf_store_prepare(s, sql, q, err);
  if (rc)
    *q = NULL;
  else
    bind_args(*q, types, ap);
  return rc;
}

int txf_store_query(txf_store *s, sqlite3_stmt **q, txf_err *err,
                    const char *sql, const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  int rc = vquery(s, q, err, sql, types, ap);
  va_end(ap);
  return rc;
}

/* Prepare SQL, bind the arguments and step it to its end or until ROW
 * stops, calling ROW(ARG) for each row; NULL: the statement must return
 * none. Finalizes it; a failure to step is WHAT's error. */
static int vrun(txf_store *s, txf_err *err, const char *what,
                txf_store_row_fn row, void *arg, const char *sql,
                const char *types, va_list ap) {
  sqlite3_stmt *q;
  int rc = vquery(s, &q, err, sql, types, ap);
  if (rc)
    return rc;
  int step, stop = 0;
  while (!stop && (step = sqlite3_step(q)) == SQLITE_ROW) {
    if (!row)
      break;
    stop = row(q, arg);
  }
  if (!stop && step != SQLITE_DONE)
    rc = txf_store_error(s, err, what);
  sqlite3_finalize(q);
  return rc;
}

int txf_store_each(txf_store *s, txf_err *err, const char *what,
                   txf_store_row_fn row, void *arg, const char *sql,
                   const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  int rc = vrun(s, err, what, row, arg, sql, types, ap);
  va_end(ap);
  return rc;
}

int txf_store_write(txf_store *s, const char *what, txf_err *err,
                    const char *sql, const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  int rc = vrun(s, err, what, NULL, NULL, sql, types, ap);
  va_end(ap);
  return rc;
}

typedef struct first_row {
  int64_t *vals;
  int n;
  int *found;
} first_row;

static int read_first_row(sqlite3_stmt *q, void *arg) {
  first_row *f = arg;
  *f->found = 1;
  for (int i = 0; i < f->n; i++)
    f->vals[i] = txf_store_col_i64(q, i);
  return 1;
}

int txf_store_row_i64(txf_store *s, int64_t *vals, int n, int *found,
                      txf_err *err, const char *sql, const char *types, ...) {
  *found = 0;
  for (int i = 0; i < n; i++)
    vals[i] = TXF_META_NULL;
  first_row f = {vals, n, found};
  va_list ap;
  va_start(ap, types);
  int rc = vrun(s, err, "read", read_first_row, &f, sql, types, ap);
  va_end(ap);
  return rc;
}

int64_t txf_store_col_i64(sqlite3_stmt *q, int i) {
  return sqlite3_column_type(q, i) == SQLITE_NULL ? TXF_META_NULL
                                                  : sqlite3_column_int64(q, i);
}

const char *txf_store_col_text(sqlite3_stmt *q, int i, txf_arena *a) {
  const char *t = (const char *)sqlite3_column_text(q, i);
  return t ? txf_arena_strdup(a, t) : NULL;
}

void txf_store_list_init(void *v_ptr, size_t *n, txf_arena *text) {
  memset(v_ptr, 0, sizeof(void *));
  *n = 0;
  txf_arena_init(text, 4096);
}

void txf_store_list_release(void *v_ptr, size_t *n, txf_arena *text) {
  void *v;
  memcpy(&v, v_ptr, sizeof v);
  free(v);
  txf_arena_release(text);
  txf_store_list_init(v_ptr, n, text);
}

void txf_store_fill_text(sqlite3_stmt *q, void *row, txf_arena *text) {
  *(const char **)row = txf_store_col_text(q, 0, text);
}

typedef struct list_rows {
  const txf_store_rows *rows;
  char *v;
  size_t *n;
  txf_arena *text;
} list_rows;

static void fill_cols(sqlite3_stmt *q, char *row, txf_arena *text,
                      const txf_store_col *cols, size_t n) {
  int have = sqlite3_column_count(q);
  for (size_t k = 0; k < n && (int)k < have; k++) {
    void *dst = row + cols[k].off;
    int i = (int)k;
    switch (cols[k].kind) {
    case 'i':
      *(int64_t *)dst = sqlite3_column_int64(q, i);
      break;
    case 'n':
      *(int64_t *)dst = txf_store_col_i64(q, i);
      break;
    case 'd':
      *(int *)dst = sqlite3_column_int(q, i);
      break;
    default:
      *(const char **)dst = txf_store_col_text(q, i, text);
      break;
    }
  }
}

static int append_row(sqlite3_stmt *q, void *arg) {
  list_rows *l = arg;
  size_t size = l->rows->size, *n = l->n;
  /* The capacity is the next power of two: full at 0, 1, 2, 4, ... */
  if ((*n & (*n - 1)) == 0)
    l->v = txf_xrealloc(l->v, (*n ? 2 * *n : 1) * size);
  char *row = l->v + *n * size;
  memset(row, 0, size);
  if (l->rows->fill)
    l->rows->fill(q, row, l->text);
  else
    fill_cols(q, row, l->text, l->rows->cols, l->rows->n_cols);
  (*n)++;
  return 0;
}

int txf_store_select(txf_store *s, const txf_store_rows *rows, void *v_ptr,
                     size_t *n, txf_arena *text, txf_err *err, const char *sql,
                     const char *types, ...) {
  txf_store_list_init(v_ptr, n, text);
  list_rows l = {rows, NULL, n, text};
  va_list ap;
  va_start(ap, types);
  int rc = vrun(s, err, rows->what, append_row, &l, sql, types, ap);
  va_end(ap);
  memcpy(v_ptr, &l.v, sizeof l.v);
  if (rc)
    txf_store_list_release(v_ptr, n, text);
  return rc;
}

/* ---------------------------------------------------------------- JSON */

static const char *const bool_columns[] = {"has_sample", "holds", NULL};

json_t *txf_store_col_json(sqlite3_stmt *q, int i) {
  switch (sqlite3_column_type(q, i)) {
  case SQLITE_NULL:
    return json_null();
  case SQLITE_INTEGER: {
    const char *name = sqlite3_column_name(q, i);
    for (const char *const *b = bool_columns; *b; b++)
      if (!strcmp(name, *b))
        return json_boolean(sqlite3_column_int64(q, i));
    return json_integer(sqlite3_column_int64(q, i));
  }
  case SQLITE_FLOAT:
    return json_real(sqlite3_column_double(q, i));
  default:
    return txf_json_text((const char *)sqlite3_column_text(q, i));
  }
}

json_t *txf_store_row_json(sqlite3_stmt *q) {
  json_t *o = json_object();
  for (int i = 0, n = sqlite3_column_count(q); i < n; i++) {
    const char *name = sqlite3_column_name(q, i);
    if (name[0] != '_')
      json_object_set_new(o, name, txf_store_col_json(q, i));
  }
  return o;
}

static int append_row_json(sqlite3_stmt *q, void *arr) {
  json_array_append_new(arr, txf_store_row_json(q));
  return 0;
}

int txf_store_query_rows(txf_store *s, json_t *arr, txf_err *err,
                         const char *sql, const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  int rc = vrun(s, err, "read", append_row_json, arr, sql, types, ap);
  va_end(ap);
  return rc;
}
