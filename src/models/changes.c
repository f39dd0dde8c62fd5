/* The changes strategy (docs/models.md, "Incremental by change"): a model
 * is kept from the change of its input since it was last built, not from
 * its input's dates.
 *
 * The silver lake keeps a change log (docs/silver.md): every clean commits
 * a version V with the images of the rows it changed. A model built by this
 * strategy records, in the warehouse and in the same transaction as its
 * rows, the version it was built to and the SHA-256 of its SQL
 * (_txnflow.model_state). The next build reads the change of its one
 * tracked input over (that version, now] — the log itself for
 * source('silver', 'transactions'), or the change an upstream model of the
 * strategy made earlier in the same build (_txnflow.delta__NAME) — and:
 *
 *   A  the model's unique_key values that change touches (and, for a model
 *      that reads changes() itself, those of its new rows);
 *   R  its new rows for them: the model's own SQL, the tracked input read
 *      as its new images (row by row models), or restricted to A;
 *   then, in one transaction: delete A's rows (only in the cluster_by
 *   range they can be in), insert R in cluster_by order, keep what left
 *   and what came in as this model's own change, audit R, record the
 *   state, commit.
 *
 * Whenever the change is not known for the model's window (first build,
 * --full-refresh, its SQL or a seed it reads changed, an input rebuilt in
 * full, versions gone from the log, the table's columns differ), the model
 * is built in full instead, which is always right. */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"
#include "warehouse/warehouse.h"

#define SCHEMA "_txnflow"
#define SILVER_KEY "transaction_id"
#define IMAGE_COLS                                                             \
  "event_date, _change_type, _commit_version, _commit_timestamp"

int txf_models_is_changes(const mnode *n) {
  return n->kind == MN_MODEL && n->materialized &&
         (!strcmp(n->materialized, "incremental") ||
          !strcmp(n->materialized, "view")) &&
         n->strategy && !strcmp(n->strategy, "changes");
}

int txf_models_is_changes_view(const mnode *n) {
  return txf_models_is_changes(n) && !strcmp(n->materialized, "view");
}

/* The part of a working relation's name that says whose it is:
 * "SCHEMA__IDENT" of node I (two targets' schemas in one database, or two
 * projects, never share one). Caller frees. */
static char *work_name(const txf_models *m, size_t i) {
  return txf_xasprintf("%s__%s", txf_models_schema(m, i),
                       txf_models_identifier(m, i));
}

/* _txnflow."WHAT__NAME": this run's working tables of a model. */
static char *work_rel(const char *what, const char *name) {
  char *ident = txf_xasprintf("%s__%s", what, name);
  char *r = txf_duck_quote_rel(SCHEMA, ident);
  free(ident);
  return r;
}

static char *vfmt(const char *fmt, va_list ap) {
  txf_buf b;
  txf_buf_init(&b, 0);
  (void)txf_buf_vprintf(&b, fmt, ap);
  return txf_buf_take(&b, NULL);
}

/* GLOBAL: where the statements' timings go (debug level); set by
 * txf_models_changes_begin, the run's logger. */
static const txf_logger *chg_log;

/* Wall and CPU time (exact per statement with --threads 1; with more,
 * the models built at once share the CPU figure). */
static void timed(const char *sql, int64_t t0, int64_t c0) {
  if (chg_log)
    txf_log_debug(chg_log, "changes: %.3fs (cpu %.3fs) %.100s",
                  (double)(txf_mono_us() - t0) / 1e6,
                  (double)(txf_cpu_us() - c0) / 1e6, sql);
}

static int exec_fmt(txf_adapter *a, txf_err *err, const char *fmt, ...)
    TXF_PRINTF(3, 4);
static int exec_fmt(txf_adapter *a, txf_err *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *sql = vfmt(fmt, ap);
  va_end(ap);
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
  int rc = a->ops->exec(a, sql, err);
  timed(sql, t0, c0);
  free(sql);
  return rc;
}

static int query_i64_fmt(txf_adapter *a, int64_t *out, txf_err *err,
                         const char *fmt, ...) TXF_PRINTF(4, 5);
static int query_i64_fmt(txf_adapter *a, int64_t *out, txf_err *err,
                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *sql = vfmt(fmt, ap);
  va_end(ap);
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
  int rc = a->ops->query_i64(a, sql, out, err);
  timed(sql, t0, c0);
  free(sql);
  return rc;
}

/* R's rows into table REL (quoted) in its cluster_by order C (or NULL),
 * the columns COLS. On DuckDB with at most TXF_DUCK_ORDER_PASSES values of
 * C in R (a day's fact rows: the dozen event dates late arrivals reach),
 * one INSERT per value, as the other copy's replay does: no sort (at 10,000,000
 * rows a day the sorted INSERT held 2.5 GB for its sort; decision 1501, eighth
 * round). Else one INSERT ... ORDER BY. */
static int insert_rows(txf_adapter *a, const char *rel, const char *cols,
                       const char *r, const char *c, txf_err *err) {
  char *qc = c ? txf_duck_quote_ident(c) : NULL;
  char *head = txf_xasprintf("INSERT INTO %s (%s) SELECT %s", rel, cols, cols);
  int rc = txf_adapter_insert_ordered(a, head, r, qc, chg_log, "changes", err);
  TXF_FREE_ALL(qc, head);
  return rc;
}

/* Table SCHEMA.IDENT's rows (REL quoted) before this build's change, on
 * DuckDB, into *LIVE, and the rows its storage holds, deleted ones too
 * (the catalog's count, which only an insert moves), into *STORED. A
 * count(*) reads the deletes of every row group, which after two months
 * cost the fact 2.7 s of CPU and 0.9 GB a day (decision 1801, fourteenth
 * round); so the build by change records both counts in model_rows with
 * its rows (record_rows), and the record is taken while the catalog's
 * count is still the one it names: any insert since, a checkpoint that
 * vacuumed, or a build in full (which drops it) and the table is counted.
 * `txnflow sql --write` and hooks forget the records (a delete alone would
 * not move the catalog's count). NAME: the model's relation, model_rows' key. */
static int rows_before(txf_adapter *a, const char *name, const char *schema,
                       const char *ident, const char *rel, int64_t *live,
                       int64_t *stored, txf_err *err) {
  char *cat = txf_duck_table_rows_sql(NULL, schema, ident);
  int rc = query_i64_fmt(a, stored, err, "%s", cat);
  free(cat);
  char *q = txf_duck_quote_str(name);
  if (!rc)
    rc = query_i64_fmt(a, live, err,
                       "SELECT COALESCE(max(n_rows), -1) FROM "
                       TXF_MODELS_ROWS_REL " WHERE model = %s AND "
                       "stored_rows = %" PRId64,
                       q, *stored);
  free(q);
  if (!rc && *live < 0)
    rc = query_i64_fmt(a, live, err, "SELECT count(*) FROM %s", rel);
  return rc;
}

/* model_rows' record of NAME after its change (see rows_before): LIVE and
 * STORED rows. */
static int record_rows(txf_adapter *a, const char *name, int64_t live,
                       int64_t stored, txf_err *err) {
  char *q = txf_duck_quote_str(name);
  int rc = exec_fmt(a, err,
                    "DELETE FROM " TXF_MODELS_ROWS_REL " WHERE model = %s; "
                    "INSERT INTO " TXF_MODELS_ROWS_REL " VALUES (%s, %" PRId64
                    ", %" PRId64 ")",
                    q, q, live, stored);
  free(q);
  return rc;
}

/* Does the change replace at least half the rows of REL (DuckDB), the
 * rows that leave being OLD's? A table whose rows are mostly replaced
 * each day (the default project's customer models: every customer who
 * paid) is then written again whole (rewrite_without): deleted, its row
 * groups would stay, all rows deleted, since the warehouse's checkpoints
 * do not vacuum (warehouse.h; decision 1801, twelfth round) — 185,000
 * dead rows a day in each customer table. */
static int mostly_replaced(txf_adapter *a, const char *schema,
                           const char *ident, const char *old, int *yes,
                           txf_err *err) {
  /* (the table's rows from its catalog entry, deleted ones too: a count
   * would scan it, 1.2 s of CPU for the fact after a month) */
  int64_t leave = 0, total = 0;
  int rc = query_i64_fmt(a, &leave, err, "SELECT count(*) FROM %s", old);
  if (!rc && leave > 0) {
    char *rows = txf_duck_table_rows_sql(NULL, schema, ident);
    rc = query_i64_fmt(a, &total, err, "%s", rows);
    free(rows);
  }
  *yes = !rc && leave > 0 && 2 * leave >= total;
  return rc;
}

/* SCHEMA.IDENT written again (DuckDB, in the caller's transaction): its
 * rows but those of TRUE PRUNE AND IN_GONE (over alias t), then NEW's rows
 * (COLS, in order of column C if not NULL); *HELD: the rows left out. */
static int rewrite_without(txf_adapter *a, const char *schema,
                           const char *ident, const char *prune,
                           const char *in_gone, const char *cols,
                           const char *new_rel, const char *c, int64_t *held,
                           txf_err *err) {
  char *rel = txf_duck_quote_rel(schema, ident);
  char *tmp_ident = txf_xasprintf("%s__txf_rewrite", ident);
  char *tmp = txf_duck_quote_rel(schema, tmp_ident);
  char *qi = txf_duck_quote_ident(ident);
  int64_t before = 0, kept = 0;
  int rc = query_i64_fmt(a, &before, err, "SELECT count(*) FROM %s", rel);
  if (!rc)
    rc = exec_fmt(a, err,
                  "DROP TABLE IF EXISTS %s; CREATE TABLE %s AS SELECT * FROM "
                  "%s AS t WHERE (TRUE%s AND %s) IS NOT TRUE",
                  tmp, tmp, rel, prune, in_gone);
  if (!rc)
    rc = query_i64_fmt(a, &kept, err, "SELECT count(*) FROM %s", tmp);
  if (!rc)
    rc = insert_rows(a, tmp, cols, new_rel, c, err);
  if (!rc)
    rc = exec_fmt(a, err, "DROP TABLE %s; ALTER TABLE %s RENAME TO %s", rel,
                  tmp, qi);
  *held = before - kept;
  TXF_FREE_ALL(rel, tmp_ident, tmp, qi);
  return rc;
}

/* (internal.h) */
int txf_models_query_rows(txf_adapter *a, const char *sql, json_t **out,
                          txf_err *err) {
  *out = NULL;
  char *text = NULL;
  int rc = a->ops->query_json(a, sql, &text, err);
  if (rc)
    return rc;
  json_error_t je;
  json_t *arr = json_loads(text ? text : "[]", 0, &je);
  free(text);
  if (!json_is_array(arr)) {
    json_decref(arr);
    return txf_err_set(err, TXF_EDB, "unreadable answer to '%s'", sql);
  }
  *out = arr;
  return 0;
}

/* The first row of SQL's result as a JSON object, or NULL (caller
 * decrefs). */
static int query_row(txf_adapter *a, const char *sql, json_t **out,
                     txf_err *err) {
  json_t *arr;
  int rc = txf_models_query_rows(a, sql, &arr, err);
  *out = rc ? NULL : json_incref(json_array_get(arr, 0));
  json_decref(arr);
  return rc;
}

/* "t.k1 = k.k1 AND t.k2 = k.k2" over KEYS. */
static char *keys_eq(const txf_strlist *keys, const char *l, const char *r) {
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < keys->n; i++) {
    char *q = txf_duck_quote_ident(keys->v[i]);
    (void)txf_buf_printf(&b, "%s%s.%s = %s.%s", i ? " AND " : "", l, q, r, q);
    free(q);
  }
  return txf_buf_take(&b, NULL);
}

static char *keys_list(const txf_strlist *keys);

/* "t.k IN (SELECT k FROM KEYS)", or with several key columns
 * "(t.k1, t.k2) IN (SELECT k1, k2 FROM KEYS)" (NOT IN with NEGATE).
 * On DuckDB the membership is wrapped as "(...) IS TRUE" ("IS NOT TRUE"):
 * a mark join, which DuckDB always builds on KEYS and which reads T's rows
 * once as they stream past. A bare IN is a semi join, whose build side
 * DuckDB picks by its estimates; a multi-file Parquet scan is estimated
 * from its first file (a few late arrivals), so the restricted read of the
 * stg_transactions view over the lake was planned as a RIGHT_SEMI join
 * building a hash table of twenty million rows of T (13.5 s of CPU and
 * 1.85 GB against 4.2 s and 0.1 GB; decision 1501, fifth round). An EXISTS
 * with the same equalities was planned as a join on every distinct key of
 * T (1.9 s against 0.45 s on 9 M rows). Keys are never NULL (checked), so
 * IS TRUE and IS NOT TRUE are exact. PostgreSQL keeps the plain form: there
 * an IN inside an expression is not pulled up into a semi join. */
static char *keys_in(const txf_models *m, const txf_strlist *keys,
                     const char *alias, const char *keys_rel, int negate) {
  int duck = txf_models_target_is_duck(m);
  txf_buf b;
  txf_buf_init(&b, 0);
  (void)txf_buf_puts(&b, duck ? "(" : "");
  (void)txf_buf_puts(&b, keys->n > 1 ? "(" : "");
  for (size_t i = 0; i < keys->n; i++) {
    char *q = txf_duck_quote_ident(keys->v[i]);
    (void)txf_buf_printf(&b, "%s%s.%s", i ? ", " : "", alias, q);
    free(q);
  }
  char *cols = keys_list(keys);
  (void)txf_buf_printf(&b, "%s %sIN (SELECT %s FROM %s)",
                       keys->n > 1 ? ")" : "", negate && !duck ? "NOT " : "",
                       cols, keys_rel);
  if (duck)
    (void)txf_buf_printf(&b, ") IS %sTRUE", negate ? "NOT " : "");
  free(cols);
  return txf_buf_take(&b, NULL);
}

static char *keys_list(const txf_strlist *keys) {
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < keys->n; i++) {
    char *q = txf_duck_quote_ident(keys->v[i]);
    (void)txf_buf_printf(&b, "%s%s", i ? ", " : "", q);
    free(q);
  }
  return txf_buf_take(&b, NULL);
}

static int has_column(txf_adapter *a, const char *schema, const char *ident,
                      const char *col, int *out, txf_err *err) {
  char **cols;
  size_t nc;
  int rc = a->ops->columns(a, schema, ident, &cols, &nc, err);
  *out = 0;
  for (size_t k = 0; k < (rc ? 0 : nc); k++) {
    if (!strcmp(cols[k], col))
      *out = 1;
    free(cols[k]);
  }
  if (!rc)
    free(cols);
  return rc;
}

/* " AND ALIAS.COL BETWEEN lo AND hi" over the values of COL in REL (typed
 * literals, so DuckDB skips every block outside the range by its min/max);
 * " AND FALSE" when REL has none; "" on PostgreSQL. Caller frees. */
int txf_models_range_pred(const txf_models *m, txf_adapter *a,
                          const char *rel, const char *col, const char *alias,
                          char **out, txf_err *err) {
  *out = NULL;
  if (!txf_models_target_is_duck(m)) {
    *out = txf_xstrdup("");
    return 0;
  }
  char *q = txf_duck_quote_ident(col);
  char *sql = txf_xasprintf("SELECT CAST(MIN(%s) AS VARCHAR) AS lo, "
                            "CAST(MAX(%s) AS VARCHAR) AS hi, "
                            "typeof(MIN(%s)) AS ty FROM %s",
                            q, q, q, rel);
  json_t *row;
  int rc = query_row(a, sql, &row, err);
  free(sql);
  if (rc) {
    free(q);
    return rc;
  }
  const char *lo = json_string_value(json_object_get(row, "lo"));
  const char *hi = json_string_value(json_object_get(row, "hi"));
  const char *ty = json_string_value(json_object_get(row, "ty"));
  if (!lo || !hi || !ty) {
    *out = txf_xstrdup(" AND FALSE");
  } else {
    char *l = txf_duck_quote_str(lo), *h = txf_duck_quote_str(hi);
    *out = txf_xasprintf(" AND %s.%s BETWEEN CAST(%s AS %s) AND CAST(%s AS %s)",
                         alias, q, l, ty, h, ty);
    free(l);
    free(h);
  }
  json_decref(row);
  free(q);
  return 0;
}

/* ---------------------------------------------------------------- the run */

/* The silver change log on a DuckDB target: every file of it, the version
 * read from its directory name. */
static char *log_files(txf_models *m) {
  char *glob = txf_xasprintf(
      "%s/silver/_changes/transactions/version=*/*.parquet", m->opts->data_dir);
  char *q = txf_duck_quote_str(glob);
  free(glob);
  return q;
}

/* Drop this run's working tables and views (every relation of the schema
 * but the state), those that read others first: the images and restricted
 * inputs read a model's change, which reads its tables. */
static int drop_work(txf_adapter *a, txf_err *err) {
  json_t *arr;
  int rc = txf_models_query_rows(
      a,
      "SELECT table_name AS t, table_type AS ty FROM "
      "information_schema.tables WHERE table_schema = '" SCHEMA
      "' AND table_name NOT IN ('model_state', 'model_rows') ORDER BY CASE WHEN table_name LIKE "
      "'post\\_\\_%' ESCAPE '\\' OR table_name LIKE 'old\\_\\_%' ESCAPE "
      "'\\' OR table_name LIKE 'in\\_\\_%' ESCAPE '\\' THEN 0 WHEN "
      "table_name LIKE 'delta\\_\\_%' ESCAPE '\\' THEN 1 WHEN table_type = "
      "'VIEW' THEN 2 ELSE 3 END",
      &arr, err);
  if (rc)
    return rc;
  size_t k;
  json_t *v;
  json_array_foreach(arr, k, v) {
    const char *t = json_string_value(json_object_get(v, "t"));
    const char *ty = json_string_value(json_object_get(v, "ty"));
    if (!t || !ty)
      continue;
    char *r = txf_duck_quote_rel(SCHEMA, t);
    /* PostgreSQL refuses to drop a view others read: the new rows of a
     * view of the strategy (a view) read its input's images and are read
     * by its change, so the order above is not enough there; CASCADE
     * drops what reads it (dropped next anyway). DuckDB keeps no such
     * dependencies. */
    rc = exec_fmt(a, err, "DROP %s IF EXISTS %s%s",
                  strcmp(ty, "VIEW") ? "TABLE" : "VIEW", r,
                  strcmp(a->ops->type, "duckdb") ? " CASCADE" : "");
    free(r);
    if (rc)
      break;
  }
  json_decref(arr);
  return rc;
}

int txf_models_rows_begin(txf_models *m, txf_err *err) {
  txf_adapter *a;
  int rc = txf_models_adapter(m, &a, err);
  if (!rc && txf_models_target_is_duck(m))
    rc = exec_fmt(a, err,
                  "CREATE SCHEMA IF NOT EXISTS " SCHEMA "; "
                  "CREATE TABLE IF NOT EXISTS " TXF_MODELS_ROWS_REL "("
                  "model VARCHAR, n_rows BIGINT, stored_rows BIGINT)");
  return rc ? txf_err_wrap(err, "models: the table of model rows") : 0;
}

int txf_models_rows_forget_duck(txf_duck *d, txf_err *err) {
  int64_t n = 0;
  int rc = txf_duck_query_i64(
      d,
      "SELECT count(*) FROM duckdb_tables() WHERE database_name = "
      "current_database() AND schema_name = '" SCHEMA "' AND table_name = "
      "'model_rows'",
      &n, err);
  if (!rc && n)
    rc = txf_duck_exec(d, "DELETE FROM " TXF_MODELS_ROWS_REL, err);
  return rc;
}

int txf_models_rows_forget(txf_adapter *a, txf_err *err) {
  txf_duck *d = txf_adapter_duck(a);
  return d ? txf_models_rows_forget_duck(d, err) : 0;
}

int txf_models_changes_begin(txf_models *m, txf_err *err) {
  txf_adapter *a;
  int rc = txf_models_adapter(m, &a, err);
  if (rc)
    return rc;
  m->chg_now = -1;
  chg_log = m->opts->log;
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    n->chg_state = 0;
    n->chg_delta = 0;
    n->chg_rows = -1;
    txf_strlist_release(&n->chg_kcols);
    free(n->audit_rel);
    n->audit_rel = NULL;
  }
  rc = exec_fmt(a, err,
                "CREATE SCHEMA IF NOT EXISTS " SCHEMA "; "
                "CREATE TABLE IF NOT EXISTS " SCHEMA ".model_state("
                "model VARCHAR, silver_version BIGINT, sql_sha256 VARCHAR, "
                "built_at_us BIGINT)");
  /* The two small tables each build writes row by row (DELETE and INSERT,
   * in each model's transaction), made again whole: DuckDB's held
   * checkpoints never vacuum (decision 1801, twelfth round), so each write
   * left a row group of deleted rows behind, which the first read after
   * an open loaded again (model_state: 166 row groups for 12 rows after a
   * month, 0.1 to 0.2 s a read, growing by a dozen a build; seventeenth
   * round) */
  if (!rc && txf_models_target_is_duck(m))
    rc = exec_fmt(a, err,
                  "CREATE OR REPLACE TABLE " SCHEMA ".model_state AS "
                  "SELECT * FROM " SCHEMA ".model_state; "
                  "CREATE OR REPLACE TABLE " TXF_MODELS_ROWS_REL " AS "
                  "SELECT * FROM " TXF_MODELS_ROWS_REL);
  if (rc)
    return txf_err_wrap(err, "changes: the state table");
  /* working tables a killed build left behind */
  rc = drop_work(a, err);
  if (rc)
    return rc;
  /* the states */
  json_t *row, *arr;
  rc = txf_models_query_rows(a,
                             "SELECT model, CAST(silver_version AS VARCHAR) "
                             "AS v, sql_sha256 AS h FROM " SCHEMA
                             ".model_state",
                             &arr, err);
  if (rc)
    return rc;
  size_t k;
  json_array_foreach(arr, k, row) {
    const char *rel = json_string_value(json_object_get(row, "model"));
    const char *v = json_string_value(json_object_get(row, "v"));
    const char *h = json_string_value(json_object_get(row, "h"));
    ssize_t i = -1;
    for (size_t j = 0; rel && v && i < 0 && j < m->n_nodes; j++) {
      if (m->nodes[j].kind != MN_MODEL)
        continue;
      char *r = txf_models_relation(m, j);
      if (!strcmp(r, rel))
        i = (ssize_t)j;
      free(r);
    }
    if (i < 0)
      continue;
    mnode *n = &m->nodes[i];
    n->chg_state = 1;
    n->chg_version = strtoll(v, NULL, 10);
    free(n->chg_hash);
    n->chg_hash = h ? txf_xstrdup(h) : NULL;
  }
  json_decref(arr);
  /* the lake's version: the newest directory of the change log; on a
   * warehouse, the newest version the load brought (-1 when it brought
   * none: models of the strategy then build in full) */
  char *sql = NULL;
  if (txf_models_target_is_duck(m)) {
    char *files = log_files(m);
    sql = txf_xasprintf(
        "SELECT COALESCE(MAX(CAST(regexp_extract(file, 'version=([0-9]+)', "
        "1) AS BIGINT)), 0) FROM glob(%s)",
        files);
    free(files);
  } else if (m->target.silver_table) {
    char *ident = txf_xasprintf("%s_changes", m->target.silver_table);
    txf_rel_kind kind = TXF_REL_NONE;
    rc = a->ops->relation_kind(a, m->target.silver_schema, ident, &kind, err);
    if (!rc && kind != TXF_REL_NONE) {
      char *rel = txf_duck_quote_rel(m->target.silver_schema, ident);
      sql = txf_xasprintf("SELECT COALESCE(MAX(_commit_version), -1) FROM %s",
                          rel);
      free(rel);
    }
    free(ident);
    if (rc)
      return rc;
  }
  if (sql) {
    rc = a->ops->query_i64(a, sql, &m->chg_now, err);
    free(sql);
    if (rc)
      return txf_err_wrap(err, "changes: the silver change log");
  }
  m->chg_ready = 1;
  return 0;
}

void txf_models_changes_end(txf_models *m) {
  int ready = m->chg_ready;
  m->chg_ready = 0;
  txf_err e;
  if (ready && m->adapter)
    (void)drop_work(m->adapter, &e);
}

/* ---------------------------------------------------------------- a model */

/* Hash SQL into H with every "DIR/" (the project's absolute directory)
 * as one fixed token: the lake's and the seeds' paths are in the compiled
 * SQL, and a project moved or restored elsewhere still holds the same
 * rows (it was built in full again before). */
static void hash_sql_relative(txf_sha256 *h, const char *sql, const char *dir) {
  static const char token[] = "\x01{project}/";
  size_t dn = dir ? strlen(dir) : 0;
  while (dn > 1 && dir[dn - 1] == '/')
    dn--;
  for (const char *at; dn > 1 && (at = strstr(sql, dir)) != NULL;) {
    size_t head = (size_t)(at - sql);
    if (at[dn] != '/') {
      txf_sha256_update(h, sql, head + 1);
      sql = at + 1;
      continue;
    }
    txf_sha256_update(h, sql, head);
    txf_sha256_update(h, token, sizeof token - 1);
    sql = at + dn + 1;
  }
  txf_sha256_update(h, sql, strlen(sql) + 1);
}

/* The SHA-256 of model I's SQL for a full build and of the seeds it reads:
 * a different one means its rows were made by other rules. */
int txf_models_changes_hash(txf_models *m, size_t i, const char *full_sql,
                            char hex[65], txf_err *err) {
  /* [0]: this binary's; [1]: before 2026-12-04, the raw SQL */
  txf_sha256 h[2];
  txf_sha256_init(&h[0]);
  txf_sha256_init(&h[1]);
  hash_sql_relative(&h[0], full_sql, m->project ? m->project->dir : NULL);
  txf_sha256_update(&h[1], full_sql, strlen(full_sql) + 1);
  mnode *n = &m->nodes[i];
  for (size_t k = 0; k < n->n_parents; k++) {
    mnode *p = &m->nodes[n->parents[k]];
    if (p->kind != MN_SEED)
      continue;
    char sh[65];
    uint64_t size;
    int rc = txf_sha256_file(p->abs_path, sh, &size, err);
    if (rc)
      return rc;
    txf_sha256_update(&h[0], sh, sizeof sh);
    txf_sha256_update(&h[1], sh, sizeof sh);
  }
  char legacy[65];
  txf_sha256_final_hex(&h[0], hex);
  txf_sha256_final_hex(&h[1], legacy);
  /* a state row written before: the same SQL, so the same rows; the
     build's new state row then holds this binary's hash */
  if (n->chg_hash && !strcmp(n->chg_hash, legacy)) {
    free(n->chg_hash);
    n->chg_hash = txf_xstrdup(hex);
  }
  return 0;
}

char *txf_models_changes_state_sql(txf_models *m, size_t i, const char *hex) {
  /* keyed by the model's relation: two schemas of one database keep two
   * states */
  char *rel = txf_models_relation(m, i);
  char *name = txf_duck_quote_str(rel);
  free(rel);
  char *h = txf_duck_quote_str(hex);
  /* (a build in full leaves no count of its rows behind: the build by
   * change records one after this, in the same transaction) */
  char *rows = txf_models_target_is_duck(m)
                   ? txf_xasprintf("; DELETE FROM " TXF_MODELS_ROWS_REL
                                   " WHERE model = %s",
                                   name)
                   : txf_xstrdup("");
  char *sql = txf_xasprintf(
      "DELETE FROM " SCHEMA ".model_state WHERE model = %s; "
      "INSERT INTO " SCHEMA ".model_state VALUES (%s, %" PRId64 ", %s, "
      "%" PRId64 ")%s",
      name, name, m->chg_now, h, m->opts->now_us, rows);
  free(rows);
  free(name);
  free(h);
  return sql;
}

/* The one input model I follows: the relation it passes to changes(), else
 * its one parent (or source) of the strategy. *SILVER = 1 for the lake's
 * change log; *T its node otherwise. 0 when it has none, or several. */
static int tracked_input(txf_models *m, size_t i, int *silver, size_t *t) {
  mnode *n = &m->nodes[i];
  *silver = 0;
  *t = SIZE_MAX;
  if (n->chg_input) {
    if (!strcmp(n->chg_input, "silver.transactions")) {
      *silver = 1;
      return 1;
    }
    ssize_t p = txf_models_find(m, n->chg_input, MN_MODEL);
    if (p < 0 || !txf_models_is_changes(&m->nodes[p]))
      return 0;
    *t = (size_t)p;
    return 1;
  }
  int found = txf_strlist_has(&n->sources, "silver.transactions");
  *silver = found;
  for (size_t k = 0; k < n->n_parents; k++) {
    if (!txf_models_is_changes(&m->nodes[n->parents[k]]))
      continue;
    if (found)
      return 0;
    found = 1;
    *t = n->parents[k];
  }
  return found;
}

/* The silver log's change over (FROM, now] as relation SRC: per id, its
 * image before the window (if it was in the lake) and after it (if it
 * still is), labelled as one change. From the log's files on DuckDB, from
 * the table the load fills on a warehouse. */
static int silver_delta(txf_models *m, txf_adapter *a, int64_t from,
                        const char *src, int *complete, txf_err *err) {
  char *read = NULL, *versions = NULL;
  if (txf_models_target_is_duck(m)) {
    char *files = log_files(m);
    versions = txf_xasprintf(
        "SELECT count(DISTINCT regexp_extract(file, 'version=([0-9]+)', 1)) "
        "FROM glob(%s) WHERE CAST(regexp_extract(file, 'version=([0-9]+)', 1) "
        "AS BIGINT) > %" PRId64,
        files, from);
    /* DuckDB estimates a multi-file Parquet scan as its first file's rows
     * times the number of files, and the log's first file is the earliest
     * event date of version 1 (a few late arrivals): ten million changed
     * rows were estimated at ~7, and every join of the change with a seed
     * was built on the change's side (fact_transactions' R: a hash table of
     * every changed row, 1.5 GB at 10,000,000 rows). The log's row count
     * over the window, read from the files' footers, is given as the scan's
     * estimate; it is not part of the model's SQL (nor of its SHA-256). */
    char *count_sql = txf_xasprintf(
        "SELECT count(*) FROM read_parquet(%s, hive_partitioning = true, "
        "hive_types = {'version': BIGINT}) WHERE version > %" PRId64,
        files, from);
    int64_t n_rows = 0;
    int rc = a->ops->query_i64(a, count_sql, &n_rows, err);
    free(count_sql);
    if (rc) {
      free(files);
      return rc;
    }
    read = txf_xasprintf(
        "SELECT * EXCLUDE (version) FROM read_parquet(%s, hive_partitioning = "
        "true, hive_types = {'version': BIGINT}, explicit_cardinality = "
        "%" PRId64 ") WHERE version > %" PRId64,
        files, n_rows > 0 ? n_rows : 1, from);
    free(files);
  } else {
    char *ident = txf_xasprintf("%s_changes", m->target.silver_table);
    char *rel = txf_duck_quote_rel(m->target.silver_schema, ident);
    versions = txf_xasprintf("SELECT count(DISTINCT _commit_version) FROM %s "
                             "WHERE _commit_version > %" PRId64,
                             rel, from);
    read = txf_xasprintf("SELECT * FROM %s WHERE _commit_version > %" PRId64,
                         rel, from);
    free(rel);
    free(ident);
  }
  /* every version of the window must still be there */
  int64_t n_versions = 0;
  int rc = a->ops->query_i64(a, versions, &n_versions, err);
  free(versions);
  *complete = !rc && n_versions == m->chg_now - from;
  if (rc || !*complete) {
    free(read);
    return rc;
  }
  if (m->chg_now - from == 1) {
    /* one version: the change itself, read in place (each use reads only
     * the columns it needs) */
    rc = exec_fmt(a, err, "CREATE VIEW %s AS %s", src, read);
    free(read);
    return rc;
  }
  /* several: an id's first image before the window and last after it */
  rc = exec_fmt(
      a, err,
      "CREATE TABLE %s AS WITH c AS (%s), "
      "k AS (SELECT " SILVER_KEY ", MIN(_commit_version) AS v0, "
      "MAX(_commit_version) AS v1 FROM c GROUP BY " SILVER_KEY ") "
      "SELECT c.* FROM c JOIN k ON k." SILVER_KEY " = c." SILVER_KEY " WHERE "
      "(c._commit_version = k.v0 AND c._change_type IN ('update_preimage', "
      "'delete')) OR (c._commit_version = k.v1 AND c._change_type IN "
      "('insert', 'update_postimage'))",
      src, read);
  free(read);
  /* labelled by whether the id is on both sides */
  if (!rc)
    rc = exec_fmt(a, err,
                  "UPDATE %s SET _change_type = CASE WHEN " SILVER_KEY
                  " IN (SELECT " SILVER_KEY " FROM %s WHERE _change_type IN "
                  "('insert', 'update_postimage')) THEN 'update_preimage' "
                  "ELSE 'delete' END WHERE _change_type IN ('update_preimage', "
                  "'delete')",
                  src, src);
  if (!rc)
    rc = exec_fmt(a, err,
                  "UPDATE %s SET _change_type = CASE WHEN " SILVER_KEY
                  " IN (SELECT " SILVER_KEY " FROM %s WHERE _change_type IN "
                  "('update_preimage', 'delete')) THEN 'update_postimage' "
                  "ELSE 'insert' END WHERE _change_type IN ('insert', "
                  "'update_postimage')",
                  src, src);
  return rc;
}

/* ---------------------------------------------- key sets shared by models */

/* 1 when a model keyed on KEY reads the input keyed on TKEY row by row:
 * the same key, and no changes() of its own (CHG_INPUT). */
static int keeps_key(const txf_strlist *tkey, const txf_strlist *key,
                     const char *chg_input) {
  int same = !chg_input && tkey->n == key->n;
  for (size_t k = 0; same && k < tkey->n; k++)
    same = !strcmp(tkey->v[k], key->v[k]);
  return same;
}

/* 1 when model J is built by group from model I's change this run (its
 * state is of the version I's change starts from): it reads a key set of
 * that change, which I's build makes for it (share_keys). */
static int keyed_on_change_of(txf_models *m, size_t i, size_t j) {
  mnode *n = &m->nodes[j];
  int silver;
  size_t t;
  if (j == i || !txf_models_is_changes(n) || txf_models_is_changes_view(n) ||
      !n->unique_key.n || !n->chg_state ||
      n->chg_version != m->nodes[i].chg_from ||
      !tracked_input(m, j, &silver, &t) || silver || t != i)
    return 0;
  return !keeps_key(&m->nodes[i].unique_key, &n->unique_key, n->chg_input);
}

/* 1 when model J is built by group from model I's change and its key's
 * columns are all among COLS: its key set can be one of I's shared ones. */
static int key_among(txf_models *m, size_t i, size_t j,
                     const txf_strlist *cols) {
  const txf_strlist *key = &m->nodes[j].unique_key;
  int held = keyed_on_change_of(m, i, j);
  for (size_t k = 0; held && k < key->n; k++)
    held = txf_strlist_has(cols, key->v[k]);
  return held;
}

/* KEY's grouping set among COLS as GROUPING(COLS) numbers it: a bit set
 * for each column not in it, the first column the highest. */
static int64_t set_id(const txf_strlist *cols, const txf_strlist *key) {
  int64_t g = 0;
  for (size_t k = 0; k < cols->n; k++)
    if (!txf_strlist_has(key, cols->v[k]))
      g |= (int64_t)1 << (cols->n - 1 - k);
  return g;
}

/* The key columns of the models built by group from I's change, when I
 * holds them all (else they are left to those models' own checks), into
 * *COLS; 0 models: empty. */
static int shared_cols(txf_models *m, txf_adapter *a, size_t i,
                       txf_strlist *cols, txf_err *err) {
  char **have;
  size_t nh;
  int rc = a->ops->columns(a, txf_models_schema(m, i),
                           txf_models_identifier(m, i), &have, &nh, err);
  if (rc)
    return rc;
  txf_strlist all = {have, nh};
  for (size_t j = 0; j < m->n_nodes; j++) {
    const txf_strlist *key = &m->nodes[j].unique_key;
    int held = key_among(m, i, j, &all);
    for (size_t k = 0; held && k < key->n; k++)
      if (!txf_strlist_has(cols, key->v[k]))
        txf_strlist_push(cols, key->v[k]);
  }
  txf_strlist_release(&all);
  return 0;
}

/* After model I's build by change: the key sets of its change that the
 * models built by group from it read (each model's unique_key values),
 * made in one read of the change into _txnflow.ksets__NAME, by GROUPING
 * SETS, from the rows that left (PRE) and came in (NEW). Each of those
 * models read the change again for its own DISTINCT, through the change's
 * labelling join on I's key: at 10,000,000 changed rows of
 * stg_transactions a day, four reads of 2.5 to 4.5 s each (decision 1501,
 * tenth round, helper C). On DuckDB and PostgreSQL (Redshift: each model
 * reads its own). A failure leaves them that way too. */
static void share_keys(txf_models *m, txf_adapter *a, size_t i,
                       const char *pre, const char *new_rows) {
  mnode *n = &m->nodes[i];
  txf_strlist cols = {0};
  txf_err e;
  const char *ty = m->target.type;
  if ((!txf_models_target_is_duck(m) && strcmp(ty, "postgres")) ||
      shared_cols(m, a, i, &cols, &e) || !cols.n || cols.n > 16) {
    txf_strlist_release(&cols);
    return;
  }
  /* one grouping set per distinct key (two models may share one) */
  txf_buf sets;
  txf_buf_init(&sets, 0);
  int64_t seen[64];
  size_t n_seen = 0;
  for (size_t j = 0; j < m->n_nodes && n_seen < TXF_ARRAY_LEN(seen); j++) {
    const txf_strlist *key = &m->nodes[j].unique_key;
    int held = key_among(m, i, j, &cols);
    int64_t g = held ? set_id(&cols, key) : -1;
    for (size_t k = 0; held && k < n_seen; k++)
      held = seen[k] != g;
    if (!held)
      continue;
    seen[n_seen++] = g;
    char *kl = keys_list(key);
    (void)txf_buf_printf(&sets, "%s(%s)", n_seen > 1 ? ", " : "", kl);
    free(kl);
  }
  char *wn = work_name(m, i);
  char *rel = work_rel("ksets", wn);
  char *cl = keys_list(&cols);
  int rc = exec_fmt(a, &e,
                    "CREATE TABLE %s AS SELECT %s, GROUPING(%s) AS "
                    "_txnflow_set FROM (SELECT %s FROM %s UNION ALL SELECT %s "
                    "FROM %s) AS x GROUP BY GROUPING SETS (%s)",
                    rel, cl, cl, cl, pre, cl, new_rows, sets.data);
  if (!rc) {
    n->chg_kcols = cols;
    memset(&cols, 0, sizeof cols);
  }
  txf_strlist_release(&cols);
  txf_buf_release(&sets);
  TXF_FREE_ALL(wn, rel, cl);
}

/* What a build of model I by change needs, and makes. */
typedef struct plan {
  size_t i;
  int silver;         /* the input is the silver log ... */
  size_t t;           /* ... or this model */
  int row_wise;       /* unique_key is the input's key, no changes() */
  char *delta;        /* the input's change (pre- and postimages) */
  char *post, *pre;   /* the input read as its new / old images */
  char *keys;         /* A */
  char *input_filter; /* the input restricted to A (group models) */
  char *input_range;  /* the input over A's cluster range (lookup()) */
  char *rnew, *rpre;  /* R, and the rows of the model A held */
  char *mdelta;       /* the model's own change */
  char *rel;          /* the model */
} plan;

static void plan_release(plan *p) {
  char **owned[] = {&p->delta,  &p->post,       &p->pre,          &p->keys,
                    &p->rnew,   &p->rpre,       &p->input_filter, &p->rel,
                    &p->mdelta, &p->input_range};
  for (size_t k = 0; k < TXF_ARRAY_LEN(owned); k++)
    free(*owned[k]);
}

/* The input's relation, its key and its cluster column. */
static const txf_strlist silver_key = {(char *[]){SILVER_KEY}, 1};

/* SELECT_SQL as the view _txnflow.WHAT__NAME, whose name *OUT gets: what
 * a template renders in place of a relation must be a name (PostgreSQL
 * wants an alias after a subquery, and the SQL may give its own). */
static int as_view(txf_adapter *a, const char *what, const char *name,
                   const char *select_sql, char **out, txf_err *err) {
  *out = work_rel(what, name);
  return exec_fmt(a, err, "CREATE VIEW %s AS %s", *out, select_sql);
}

/* Where model I's build by change this run puts its new rows (*RNEW, R)
 * and the rows that left (*RPRE), quoted; caller frees both. 1 when they
 * are kept for the other copy's replay (decision 1801): in a write session
 * of the two copies, a stored model's are made where the replay reads them
 * (build.c's note_change names them to it), instead of being copied there
 * after the build: at 10,000,000 changed rows a day that copy was a third
 * write of every wide row. */
static int rows_rels(txf_models *m, size_t i, char **rnew, char **rpre) {
  int keep = m->wh && !txf_models_is_changes_view(&m->nodes[i]);
  char *wn = work_name(m, i);
  if (keep) {
    char *kn = txf_xasprintf("new__%s", wn);
    *rnew = txf_wh_keep_rel(kn);
    free(kn);
    kn = txf_xasprintf("old__%s", wn);
    *rpre = txf_wh_keep_rel(kn);
    free(kn);
  } else {
    *rnew = work_rel("new", wn);
    *rpre = work_rel("pre", wn);
  }
  free(wn);
  return keep;
}

/* The input's change read as its new images (P->post) and its previous
 * ones (P->pre). From the silver log, its rows of each kind. From a model
 * of the strategy, the rows its build made and removed, which are exactly
 * its change's two sides: its change (a view) labels them by a join on
 * the keys both sides hold, and a read of one side through it evaluated
 * the join, and the other side in full, only to keep the rows of one kind
 * (at 10,000,000 changed rows, stg_transactions' view over the lake read
 * again for its 186,334 old images; decision 1501, eleventh round). */
static int images(txf_models *m, txf_adapter *a, plan *p, txf_err *err) {
  char *name = work_name(m, p->i);
  char *cols = NULL, *post, *pre;
  int rc = 0;
  if (p->silver && txf_models_target_is_duck(m)) {
    /* the lake's columns and its Hive columns */
    cols = txf_xstrdup("* EXCLUDE (" IMAGE_COLS ")");
  } else {
    /* the input's own columns: a model's, or the warehouse's silver table */
    rc = p->silver ? txf_adapter_column_list(a, m->target.silver_schema,
                                             m->target.silver_table, &cols, err)
                   : txf_adapter_column_list(a, txf_models_schema(m, p->t),
                                             txf_models_identifier(m, p->t),
                                             &cols, err);
    if (rc) {
      free(name);
      return rc;
    }
  }
  if (p->silver) {
    post = txf_xasprintf("SELECT %s FROM %s WHERE _change_type IN ('insert', "
                         "'update_postimage')",
                         cols, p->delta);
    pre = txf_xasprintf("SELECT %s FROM %s WHERE _change_type IN "
                        "('update_preimage', 'delete')",
                        cols, p->delta);
  } else {
    char *rnew, *rpre;
    (void)rows_rels(m, p->t, &rnew, &rpre);
    post = txf_xasprintf("SELECT %s FROM %s", cols, rnew);
    pre = txf_xasprintf("SELECT %s FROM %s", cols, rpre);
    TXF_FREE_ALL(rnew, rpre);
  }
  rc = as_view(a, "post", name, post, &p->post, err);
  if (!rc)
    rc = as_view(a, "old", name, pre, &p->pre, err);
  TXF_FREE_ALL(post, pre, cols, name);
  return rc;
}

/* Compile model I as CR says; *unavailable when changes() could not be
 * given. */
static int compile_as(txf_models *m, plan *p, int incremental,
                      const char *input_rel, const char *delta_rel, char **sql,
                      int *unavailable, txf_err *err) {
  chg_render cr;
  memset(&cr, 0, sizeof cr);
  cr.incremental = incremental;
  cr.tracked_silver = p->silver;
  cr.tracked = p->t;
  cr.input_rel = input_rel;
  cr.delta_rel = delta_rel;
  cr.lookup_rel = p->input_range;
  int rc = txf_models_compile_changes(m, p->i, &cr, sql, err);
  if (unavailable)
    *unavailable = cr.unavailable;
  return rc;
}

int txf_models_changes_full_sql(txf_models *m, size_t i, char **sql,
                                txf_err *err) {
  plan p;
  memset(&p, 0, sizeof p);
  p.i = i;
  p.t = SIZE_MAX;
  return compile_as(m, &p, 0, NULL, NULL, sql, NULL, err);
}

/* Can model I be built from its input's change over (its version, now]?
 * Fills P's input when so. */
static int window_known(txf_models *m, txf_adapter *a, plan *p, int *known,
                        txf_err *err) {
  mnode *n = &m->nodes[p->i];
  *known = 0;
  if (!tracked_input(m, p->i, &p->silver, &p->t))
    return 0;
  if (p->silver) {
    char *wn = work_name(m, p->i);
    p->delta = work_rel("src", wn);
    free(wn);
    int complete;
    int rc = silver_delta(m, a, n->chg_version, p->delta, &complete, err);
    if (rc || !complete)
      return rc;
  } else {
    mnode *t = &m->nodes[p->t];
    if (!t->chg_delta || t->chg_from != n->chg_version)
      return 0;
    char *wn = work_name(m, p->t);
    p->delta = work_rel("delta", wn);
    free(wn);
  }
  *known = 1;
  return 0;
}

/* A, the key set (columns KLIST) of P's input's change: taken from the
 * key sets the input's build shared when it made P's (share_keys), else
 * read from the change. */
static int key_set(txf_models *m, txf_adapter *a, plan *p, const char *klist,
                   txf_err *err) {
  const txf_strlist *key = &m->nodes[p->i].unique_key;
  const txf_strlist *shared = p->silver ? NULL : &m->nodes[p->t].chg_kcols;
  if (!shared || !shared->n || !key_among(m, p->t, p->i, shared))
    return exec_fmt(a, err, "CREATE TABLE %s AS SELECT DISTINCT %s FROM %s",
                    p->keys, klist, p->delta);
  char *wn = work_name(m, p->t);
  char *rel = work_rel("ksets", wn);
  int rc = exec_fmt(a, err,
                    "CREATE TABLE %s AS SELECT %s FROM %s WHERE _txnflow_set "
                    "= %" PRId64,
                    p->keys, klist, rel, set_id(shared, key));
  TXF_FREE_ALL(wn, rel);
  return rc;
}

int txf_models_changes_build(txf_models *m, const exec_ctx *ex, size_t i,
                             const runopts *ro, const char *hash, int *full,
                             int *audit_fail, txf_err *err) {
  mnode *n = &m->nodes[i];
  txf_adapter *a = ex->a;
  *full = 1;
  *audit_fail = 0;
  if (!m->chg_ready || m->chg_now < 0 || !n->chg_state || !n->chg_hash ||
      strcmp(n->chg_hash, hash) || n->chg_version > m->chg_now ||
      !n->unique_key.n)
    return 0;
  plan p;
  memset(&p, 0, sizeof p);
  p.i = i;
  p.t = SIZE_MAX;
  int known;
  int rc = window_known(m, a, &p, &known, err);
  if (rc || !known) {
    plan_release(&p);
    return rc;
  }
  const txf_strlist *tkey = p.silver ? &silver_key : &m->nodes[p.t].unique_key;
  p.row_wise = keeps_key(tkey, &n->unique_key, n->chg_input);
  /* A view stores nothing: its change is its SQL over its input's new and
   * old images, which only a row-by-row model's is */
  int is_view = txf_models_is_changes_view(n);
  if (is_view && !p.row_wise) {
    plan_release(&p);
    return txf_err_set(err, TXF_ECONFIG,
                       "%s: a view of incremental_strategy='changes' passes "
                       "its input's change on row by row: its unique_key "
                       "must be its input's key, and it cannot read "
                       "changes()",
                       n->name);
  }
  const char *schema = txf_models_schema(m, i),
             *ident = txf_models_identifier(m, i);
  p.rel = txf_duck_quote_rel(schema, ident);
  char *rel_name = txf_models_relation(m, i); /* model_rows' key */
  char *wn = work_name(m, i);
  char *wt = p.silver ? txf_xstrdup(wn) : work_name(m, p.t);
  /* the relation whose columns the input's change has */
  char *dident = txf_xasprintf("%s__%s", p.silver ? "src" : "delta", wt);
  p.keys = work_rel("keys", wn);
  /* (kept for the other copy's replay in a write session of the two) */
  int keep = rows_rels(m, i, &p.rnew, &p.rpre);
  if (keep)
    rc = exec_fmt(a, err,
                  "CREATE SCHEMA IF NOT EXISTS " TXF_WH_SCHEMA
                  "; DROP TABLE IF EXISTS %s; DROP TABLE IF EXISTS %s",
                  p.rnew, p.rpre);
  p.mdelta = work_rel("delta", wn);
  char *klist = keys_list(&n->unique_key);
  char *prune = NULL, *cols = NULL, *sql = NULL, *expected_sql = NULL;
  char *body = NULL, *mcols = NULL, *ncols = NULL, *gone = NULL;
  int unavailable = 0;
  /* A: the keys the input's change touches */
  for (size_t k = 0; !rc && k < n->unique_key.n; k++) {
    int has;
    const char *dschema = SCHEMA;
    rc = has_column(a, dschema, dident, n->unique_key.v[k], &has, err);
    if (!rc && !has)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "incremental_strategy='changes': unique_key column "
                       "'%s' is not a column of %s, the relation it follows",
                       n->unique_key.v[k],
                       p.silver ? "source('silver', 'transactions')"
                                : m->nodes[p.t].name);
  }
  /* A as a table, for the models by group (their input restricted to it,
   * its cluster range) and those that add their new rows' keys. A
   * row-by-row model reads A once, to check its new rows' keys, so it reads
   * the change itself there: at 10,000,000 changed rows the DISTINCT of
   * the keys cost 8 s of CPU for stg_transactions and 19 s for the fact */
  if (!rc && !p.row_wise)
    rc = key_set(m, a, &p, klist, err);
  if (!rc)
    rc = images(m, a, &p, err);
  /* R: the model's SQL on its input's new images, or on the input's rows
   * of A */
  if (!rc && !p.row_wise && !n->chg_input) {
    const char *tschema = p.silver ? NULL : txf_models_schema(m, p.t);
    (void)tschema;
    char *trel = p.silver ? NULL : txf_models_relation(m, p.t);
    char *tprune = txf_xstrdup("");
    const char *tc = p.silver ? NULL : m->nodes[p.t].cluster_by;
    if (tc && txf_strlist_has(&n->unique_key, tc)) {
      free(tprune);
      rc = txf_models_range_pred(m, a, p.keys, tc, "t", &tprune, err);
    }
    if (!rc && p.silver)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "incremental_strategy='changes': a model that reads "
                       "source('silver', 'transactions') row by row needs "
                       "unique_key='" SILVER_KEY "' (or reads changes() "
                       "itself)");
    if (!rc) {
      char *in = keys_in(m, &n->unique_key, "t", p.keys, 0);
      char *sel = txf_xasprintf("SELECT t.* FROM %s AS t WHERE TRUE%s AND %s",
                                trel, tprune, in);
      free(in);
      rc = as_view(a, "in", wn, sel, &p.input_filter, err);
      free(sel);
    }
    /* lookup(): the same range, every key (rows found by a finer key) */
    if (!rc) {
      char *sel =
          txf_xasprintf("SELECT t.* FROM %s AS t WHERE TRUE%s", trel, tprune);
      rc = as_view(a, "rng", wn, sel, &p.input_range, err);
      free(sel);
    }
    free(trel);
    free(tprune);
  }
  if (!rc)
    rc = compile_as(m, &p, 1, p.row_wise ? p.post : p.input_filter, p.delta,
                    &body, &unavailable, err);
  if (!rc && unavailable)
    goto done; /* build it in full */
  if (!rc) {
    if (!is_view) {
      /* (a view's compiled SQL stays its full one: the other copy
       * recreates it from that) */
      free(n->compiled);
      n->compiled = txf_xstrdup(body);
    }
    /* a view's new rows are its SQL over the input's new images, read
     * where they are used (its tests, the models that follow it), never
     * stored: at 10,000,000 changed rows a day, storing stg_transactions'
     * new rows and then inserting them cost 63 s of CPU */
    rc = exec_fmt(a, err, "CREATE %s %s AS\n%s", is_view ? "VIEW" : "TABLE",
                  p.rnew, body);
  }
  /* the columns must be the table's, else the rules changed: full */
  if (!rc)
    rc = txf_adapter_column_list(a, schema, ident, &mcols, err);
  if (!rc) {
    char *nident = txf_xasprintf("new__%s", wn);
    rc = txf_adapter_column_list(a, keep ? TXF_WH_SCHEMA : SCHEMA, nident,
                                 &ncols, err);
    free(nident);
  }
  if (!rc && strcmp(mcols, ncols))
    goto done;
  *full = 0;
  /* a model that reads changes() itself may name keys its input's change
   * does not hold: they are replaced too */
  if (!rc && n->chg_input)
    rc = exec_fmt(a, err,
                  "INSERT INTO %s SELECT DISTINCT %s FROM %s EXCEPT SELECT %s "
                  "FROM %s",
                  p.keys, klist, p.rnew, klist, p.keys);
  int64_t bad = 0;
  if (!rc) {
    char *nulls = txf_xstrdup("");
    for (size_t k = 0; k < n->unique_key.n; k++) {
      char *q = txf_duck_quote_ident(n->unique_key.v[k]);
      char *x = txf_xasprintf("%s%s%s IS NULL", nulls, k ? " OR " : "", q);
      free(nulls);
      nulls = x;
      free(q);
    }
    rc = query_i64_fmt(a, &bad, err, "SELECT count(*) FROM %s WHERE %s", p.rnew,
                       nulls);
    free(nulls);
    if (!rc && bad)
      rc = txf_err_set(err, TXF_ETEST,
                       "unique_key (%s) is NULL in %" PRId64 " new row%s",
                       klist, bad, bad == 1 ? "" : "s");
  }
  if (!rc && p.row_wise) {
    /* row by row: every new row's key was in the change, else an old row
     * of that key would stay */
    /* (the input's change's keys: from a model, those of the rows its
     * build made and removed, not through its change's labelling join) */
    char *ks = keys_list(&n->unique_key);
    char *both = p.silver ? txf_xstrdup(p.delta)
                          : txf_xasprintf("(SELECT %s FROM %s UNION ALL "
                                          "SELECT %s FROM %s) AS d",
                                          ks, p.post, ks, p.pre);
    char *out = keys_in(m, &n->unique_key, "t", both, 1);
    TXF_FREE_ALL(ks, both);
    rc = query_i64_fmt(a, &bad, err, "SELECT count(*) FROM %s AS t WHERE %s",
                       p.rnew, out);
    free(out);
    if (!rc && bad)
      rc = txf_err_set(err, TXF_ETEST,
                       "incremental_strategy='changes': %" PRId64 " new row%s "
                       "of %s have a key its input's change does not hold "
                       "(a row-by-row model keeps its input's key)",
                       bad, bad == 1 ? "" : "s", n->name);
    /* what the model gave for the keys' previous images */
    if (!rc)
      rc = compile_as(m, &p, 1, p.pre, p.delta, &expected_sql, NULL, err);
  }
  /* The keys whose old rows go: A. A row-by-row model held rows only for
   * the keys its input held before (a preimage: updates and deletes), so
   * only those are looked for, in the cluster_by range of their old
   * images; an inserted key had no row (else it would show as drift: the
   * reconciliation's counts) */
  gone = txf_xstrdup(p.keys);
  const char *c = n->cluster_by;
  if (!rc && p.row_wise && !is_view) {
    free(gone);
    gone = work_rel("gone", wn);
    rc = exec_fmt(a, err, "CREATE TABLE %s AS SELECT DISTINCT %s FROM %s", gone,
                  klist, p.pre);
  }
  if (is_view) {
    /* nothing is deleted */
  } else if (!rc && c && txf_strlist_has(&n->unique_key, c)) {
    rc = txf_models_range_pred(m, a, gone, c, "t", &prune, err);
  } else if (!rc && c && p.row_wise) {
    int has;
    rc = has_column(a, SCHEMA, dident, c, &has, err);
    /* (the lake's log holds event_date as an image column, left out of
     * its images; a model's previous images are its input's columns) */
    char *olds = p.silver ? txf_xasprintf("(SELECT * FROM %s WHERE "
                                          "_change_type IN "
                                          "('update_preimage', 'delete'))",
                                          p.delta)
                          : txf_xstrdup(p.pre);
    if (!rc && has)
      rc = txf_models_range_pred(m, a, olds, c, "t", &prune, err);
    free(olds);
  }
  if (!rc && !prune)
    prune = txf_xstrdup("");
  cols = mcols;
  mcols = NULL;
  /* apply, audit, record: one transaction */
  if (!rc)
    rc = a->ops->exec(a, "BEGIN TRANSACTION", err);
  int in_txn = !rc;
  char *in_gone = keys_in(m, &n->unique_key, "t", gone, 0);
  /* The rows that leave. A row-by-row model's are what its SQL gives for
   * its input's previous images (the input's change holds them): reading
   * them back out of the table was a scan of every column over the
   * cluster range of the changed rows' days (about nine days' rows for
   * some ten thousand keys), while the delete reads only the key and
   * cluster columns. That the table held exactly those rows is checked by
   * count below (the delete's count), as before. A model by group reads
   * its old rows of A from the table. */
  int64_t held = -1;
  if (!rc && p.row_wise)
    rc = exec_fmt(a, err, "CREATE TABLE %s AS SELECT %s FROM (%s) AS e", p.rpre,
                  cols, expected_sql);
  else if (!rc)
    rc = exec_fmt(a, err,
                  "CREATE TABLE %s AS SELECT t.* FROM %s AS t WHERE TRUE%s AND "
                  "%s",
                  p.rpre, p.rel, prune, in_gone);
  int whole = 0;
  int64_t live = -1, stored = -1;
  if (!rc && !is_view && txf_models_target_is_duck(m))
    rc = mostly_replaced(a, schema, ident, p.rpre, &whole, err);
  if (!rc && !is_view && !whole && txf_models_target_is_duck(m)) {
    rc = rows_before(a, rel_name, schema, ident, p.rel, &live, &stored, err);
    /* As many deleted rows as live ones, piled up by days each of which
     * replaced fewer than half (mart_sales_daily: 6,399 live rows and
     * 27,209 deleted in 40 row groups after 46 days): written again whole
     * too. The first read of a table after an open loads every row
     * group's deletes, about a millisecond each, so a table left to pile
     * them up cost a little more each day (decision 1801, seventeenth
     * round); written again when its dead rows reach its live ones, it
     * costs about two writes of its rows in all */
    if (!rc && live >= 0 && stored - live > 0 && stored - live >= live) {
      whole = 1;
      live = stored = -1;
    }
  }
  if (is_view) {
    /* nothing stored: nothing to delete or insert */
  } else if (!rc && whole) {
    rc = rewrite_without(a, schema, ident, prune, in_gone, cols, p.rnew, c,
                         &held, err);
  } else if (!rc && txf_models_target_is_duck(m)) {
    /* DuckDB answers a DELETE with the number of rows it removed */
    rc = query_i64_fmt(a, &held, err, "DELETE FROM %s AS t WHERE TRUE%s AND %s",
                       p.rel, prune, in_gone);
  } else {
    if (!rc && p.row_wise)
      rc = query_i64_fmt(a, &held, err,
                         "SELECT count(*) FROM %s AS t WHERE TRUE%s AND %s",
                         p.rel, prune, in_gone);
    if (!rc)
      rc = exec_fmt(a, err, "DELETE FROM %s AS t WHERE TRUE%s AND %s", p.rel,
                    prune, in_gone);
  }
  free(in_gone);
  if (!rc && !is_view && !whole)
    rc = insert_rows(a, p.rel, cols, p.rnew, c, err);
  if (!rc) {
    /* The model's own change, for the models downstream: what left and
     * what came in, labelled by whether the key is on both sides. A view:
     * the rows are not copied again; the keys on both sides (a few per
     * cent: the replaced ones) are. */
    char *both = work_rel("both", wn);
    char *eq_xy = keys_eq(&n->unique_key, "x", "y");
    char *eq_xb = keys_eq(&n->unique_key, "x", "b");
    char *xkeys = txf_xstrdup(klist), *bk = n->unique_key.v[0];
    txf_buf xk;
    txf_buf_init(&xk, 0);
    for (size_t k = 0; k < n->unique_key.n; k++) {
      char *q = txf_duck_quote_ident(n->unique_key.v[k]);
      (void)txf_buf_printf(&xk, "%sx.%s", k ? ", " : "", q);
      free(q);
    }
    free(xkeys);
    char *qbk = txf_duck_quote_ident(bk);
    rc = exec_fmt(a, err,
                  "CREATE TABLE %s AS SELECT DISTINCT %s FROM %s AS y JOIN %s "
                  "AS x ON %s",
                  both, xk.data, p.rnew, p.rpre, eq_xy);
    if (!rc)
      rc = exec_fmt(
          a, err,
          "CREATE VIEW %s AS "
          "SELECT x.*, CASE WHEN b.%s IS NULL THEN 'delete' ELSE "
          "'update_preimage' END AS _change_type FROM %s AS x LEFT JOIN %s AS "
          "b ON %s "
          "UNION ALL "
          "SELECT x.*, CASE WHEN b.%s IS NULL THEN 'insert' ELSE "
          "'update_postimage' END FROM (SELECT %s FROM %s) AS x LEFT JOIN %s "
          "AS b ON %s",
          p.mdelta, qbk, p.rpre, both, eq_xb, qbk, cols, p.rnew, both, eq_xb);
    txf_buf_release(&xk);
    TXF_FREE_ALL(qbk, eq_xy, eq_xb, both);
  }
  if (!rc && p.row_wise && !is_view) {
    /* the rows that left are what the model gives for the previous images:
     * else the table had drifted from its input */
    int64_t expected = 0;
    rc = query_i64_fmt(a, &expected, err, "SELECT count(*) FROM %s", p.rpre);
    if (!rc && expected != held)
      rc = txf_err_set(err, TXF_ETEST,
                       "%s is out of step with its input: it held %" PRId64
                       " row%s for the changed keys, their previous versions "
                       "give %" PRId64 "; rebuild it with --full-refresh",
                       n->name, held, held == 1 ? "" : "s", expected);
  }
  if (!rc) {
    free(n->audit_rel);
    n->audit_rel = txf_xstrdup(p.rnew);
  }
  if (!rc && ro->audit) {
    size_t failed_test = SIZE_MAX;
    int64_t failed_rows = 0;
    int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
    txf_models_node_tests_run(m, ex, i, "error", NULL, ro->s, &failed_test,
                              &failed_rows);
    timed("(the audit's tests)", t0, c0);
    if (failed_test != SIZE_MAX) {
      *audit_fail = 1;
      rc =
          txf_err_set(err, TXF_ETEST,
                      "audit failed: test %s %s; the change was rolled back",
                      m->nodes[failed_test].name,
                      failed_rows < 0 ? "could not run" : "found failing rows");
    }
  }
  if (!rc) {
    sql = txf_models_changes_state_sql(m, i, hash);
    rc = a->ops->exec(a, sql, err);
  }
  /* the rows it holds now, counted by the change (the table's rows that
   * left and R's that came in, all of them) */
  int64_t n_new = -1;
  if (!rc && live >= 0 && held >= 0)
    rc = query_i64_fmt(a, &n_new, err, "SELECT count(*) FROM %s", p.rnew);
  if (!rc && n_new >= 0)
    rc = record_rows(a, rel_name, live - held + n_new, stored + n_new, err);
  if (!rc) {
    int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
    rc = a->ops->exec(a, "COMMIT", err);
    timed("COMMIT", t0, c0);
  }
  if (rc && in_txn)
    (void)a->ops->exec(a, "ROLLBACK", &(txf_err){0});
  if (!rc) {
    n->chg_delta = 1;
    n->chg_from = n->chg_version;
    n->chg_rows = n_new >= 0 ? live - held + n_new : -1;
    share_keys(m, a, i, p.rpre, p.rnew);
    /* R's rows were counted once already, for the record, when the
     * table's count was known */
    txf_err e2;
    n->chg_in = n_new;
    if ((n_new < 0 && query_i64_fmt(a, &n->chg_in, &e2,
                                    "SELECT count(*) FROM %s", p.rnew)) ||
        query_i64_fmt(a, &n->chg_out, &e2, "SELECT count(*) FROM %s", p.rpre))
      n->chg_in = n->chg_out = -1;
  } else {
    free(n->audit_rel);
    n->audit_rel = NULL;
  }
done:
  if ((rc || *full) && keep) {
    /* kept for nothing: the build failed, or builds in full */
    txf_err e3;
    (void)exec_fmt(a, &e3, "DROP TABLE IF EXISTS %s; DROP TABLE IF EXISTS %s",
                   p.rnew, p.rpre);
  }
  TXF_FREE_ALL(body, ncols, sql, expected_sql, gone, prune, cols, mcols, klist,
               rel_name);

  free(wn);
  free(wt);
  free(dident);
  plan_release(&p);
  return rc;
}
