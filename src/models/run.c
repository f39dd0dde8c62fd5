/* Running models: materializations, seeds, write-audit-publish, results,
 * and the worker pool that builds independent nodes at once (--threads). */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"

enum { ST_PENDING = 0, ST_OK, ST_ERROR, ST_SKIPPED, ST_DEFERRED };

int txf_models_adapter(txf_models *m, txf_adapter **out, txf_err *err) {
  if (!m->adapter) {
    if (m->target.path) {
      char *dir = txf_xstrdup(m->target.path);
      char *slash = strrchr(dir, '/');
      if (slash && slash != dir) {
        *slash = 0;
        int rc = txf_fs_mkdirs(dir, err);
        if (rc) {
          free(dir);
          return rc;
        }
      }
      free(dir);
    }
    /* DuckDB picks its own thread count (the cores) for each query;
     * --threads is how many models are built at once. */
    int rc = m->target.keys
                 ? txf_adapter_open_postgres(
                       &m->adapter, (const char *const *)m->target.keys,
                       (const char *const *)m->target.vals,
                       !strcmp(m->target.type, "redshift"), err)
                 : txf_adapter_open_duckdb(&m->adapter, m->target.path, 0, err);
    if (rc)
      return txf_err_wrap(err, "target '%s'", m->target.name);
  }
  *out = m->adapter;
  return 0;
}

int models_threads(const txf_models *m) {
  if (m->opts->threads > 0)
    return m->opts->threads;
  return m->target.threads > 0 ? m->target.threads : 1;
}

/* Where one node's work runs: its connection, and where its lines go. */
typedef struct exec_ctx {
  txf_adapter *a; /* a worker's connection */
  txf_buf *out;   /* the node's lines, printed in run order later; NULL:
                     print now */
  int64_t mono0;  /* txf_mono_us() when the run started */
} exec_ctx;

static void say(txf_models *m, const exec_ctx *ex, const char *fmt, ...)
    TXF_PRINTF(3, 4);
static void say(txf_models *m, const exec_ctx *ex, const char *fmt, ...) {
  if (!m->opts->out)
    return;
  va_list ap;
  va_start(ap, fmt);
  if (ex && ex->out) {
    (void)txf_buf_vprintf(ex->out, fmt, ap);
    (void)txf_buf_putc(ex->out, '\n');
  } else {
    vfprintf(m->opts->out, fmt, ap);
    fputc('\n', m->opts->out);
    fflush(m->opts->out);
  }
  va_end(ap);
}

/* The recorded start of something that began at monotonic time T0_MONO:
 * the invocation's clock (pinned in tests) plus the time since the run
 * began, so overlapping builds show as overlapping intervals. */
static int64_t started_us(txf_models *m, const exec_ctx *ex, int64_t t0_mono) {
  return m->opts->now_us + (ex ? t0_mono - ex->mono0 : 0);
}

/* ---------------------------------------------------------------- metadata */

static char *logical_date(txf_models *m) {
  char *s = NULL;
  txf_err e;
  if (txf_models_var_text(m, "run_date", &s, &e))
    return NULL;
  return s;
}

/* A value to record: text (NULL binds NULL), or an integer. */
typedef struct {
  const char *text;
  int64_t i64;
  int is_int; /* 1: i64; 2: i64, or NULL when negative (unknown) */
} rec_val;

/* Insert one row of N values (at most 16) into TABLE's columns COLS. A
 * failure is a warning: results are a record, not the run. */
static void record_row(txf_models *m, const char *table, const char *cols,
                       const rec_val *v, int n) {
  txf_store *s = m->opts->store;
  if (!s)
    return;
  char q[64] = "";
  assert(n > 0 && n <= 16);
  for (int i = 0; i < n; i++)
    strcat(q, i ? ",?" : "?");
  char *sql = txf_xasprintf("INSERT INTO %s(%s) VALUES (%s)", table, cols, q);
  sqlite3_stmt *st;
  txf_err err;
  if (txf_store_prepare(s, sql, &st, &err)) {
    txf_log_warn(m->opts->log, "models: %s", err.msg);
    free(sql);
    return;
  }
  free(sql);
  for (int i = 0; i < n; i++) {
    if (v[i].is_int && !(v[i].is_int == 2 && v[i].i64 < 0))
      sqlite3_bind_int64(st, i + 1, v[i].i64);
    else if (!v[i].is_int && v[i].text)
      sqlite3_bind_text(st, i + 1, v[i].text, -1, SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(st, i + 1);
  }
  if (sqlite3_step(st) != SQLITE_DONE) {
    txf_store_error(s, &err, table);
    txf_log_warn(m->opts->log, "models: %s", err.msg);
  }
  sqlite3_finalize(st);
}

#define TXT(x) {(x), 0, 0}
#define I64(x) {NULL, (x), 1}
#define I64_OR_NULL(x) {NULL, (x), 2}

void models_record_build(txf_models *m, size_t i, const char *state,
                         int64_t n_rows, int64_t started_us,
                         int64_t duration_us, const char *error) {
  if (!m->opts->store)
    return;
  char *ld = logical_date(m);
  rec_val v[] = {TXT(m->opts->invocation_id), TXT(m->nodes[i].name),
                 TXT(m->nodes[i].materialized), TXT(state),
                 I64_OR_NULL(n_rows), I64(started_us), I64(duration_us),
                 TXT(error), TXT(ld)};
  record_row(m, "model_builds",
             "invocation_id, model, materialized, state, n_rows, "
             "started_at_us, duration_us, error, logical_date",
             v, (int)TXF_ARRAY_LEN(v));
  free(ld);
}

void models_record_test(txf_models *m, size_t t, const char *status,
                        int64_t failures, const char *sample_json,
                        const char *message, int64_t started_us,
                        int64_t duration_us) {
  if (!m->opts->store)
    return;
  mnode *n = &m->nodes[t];
  char *ld = logical_date(m);
  rec_val v[] = {TXT(m->opts->invocation_id),
                 TXT(n->owner != SIZE_MAX ? m->nodes[n->owner].name : NULL),
                 TXT(n->name), TXT(n->severity), TXT(status),
                 I64_OR_NULL(failures), TXT(sample_json), TXT(message),
                 I64(started_us), I64(duration_us), TXT(ld)};
  record_row(m, "test_results",
             "invocation_id, model, test_name, severity, status, failures, "
             "sample_json, message, started_at_us, duration_us, "
             "logical_date",
             v, (int)TXF_ARRAY_LEN(v));
  free(ld);
}

/* ---------------------------------------------------------------- helpers */

static const char *kind_word(txf_rel_kind k) {
  return k == TXF_REL_VIEW ? "VIEW" : "TABLE";
}

static char *qrel(const char *schema, const char *ident) {
  char *a = txf_duck_quote_ident(schema), *b = txf_duck_quote_ident(ident);
  char *r = txf_xasprintf("%s.%s", a, b);
  free(a);
  free(b);
  return r;
}

static int drop_if_exists(txf_adapter *a, const char *schema,
                          const char *ident, txf_err *err) {
  txf_rel_kind k;
  int rc = a->ops->relation_kind(a, schema, ident, &k, err);
  if (rc || k == TXF_REL_NONE)
    return rc;
  char *r = qrel(schema, ident);
  char *sql = txf_xasprintf("DROP %s %s", kind_word(k), r);
  rc = a->ops->exec(a, sql, err);
  free(sql);
  free(r);
  return rc;
}

/* "k1 IS NULL OR k2 IS NULL" / "t.k1 = s.k1 AND ..." / "k1, k2" */
static char *key_expr(const txf_strlist *keys, const char *fmt_each,
                      const char *sep) {
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < keys->n; i++) {
    char *q = txf_duck_quote_ident(keys->v[i]);
    if (i)
      (void)txf_buf_puts(&b, sep);
    /* fmt_each uses %1$s for the quoted key */
    (void)txf_buf_printf(&b, fmt_each, q, q);
    free(q);
  }
  return txf_buf_take(&b, NULL);
}

/* NULL or doubled unique_key values in REL are an error: a doubled
 * transaction is an incident, not a detail. Except for delete+insert,
 * whose key names a partition (an event date): every existing row of each
 * key in the new rows is replaced, so the key repeats by design and
 * nothing can be doubled (dbt's partition-replace idiom; a model's own
 * unique test guards its real key). */
static int check_keys(txf_models *m, txf_adapter *a, size_t i,
                      const char *rel, txf_err *err) {
  mnode *n = &m->nodes[i];
  if (!n->unique_key.n)
    return 0;
  char *nulls = key_expr(&n->unique_key, "%s IS NULL%.0s", " OR ");
  char *cols = key_expr(&n->unique_key, "%s%.0s", ", ");
  char *sql = txf_xasprintf("SELECT count(*) FROM %s WHERE %s", rel, nulls);
  int64_t k = 0;
  int rc = a->ops->query_i64(a, sql, &k, err);
  free(sql);
  if (!rc && k > 0)
    rc = txf_err_set(err, TXF_ETEST,
                     "unique_key (%s) is NULL in %" PRId64 " new row%s", cols,
                     k, k == 1 ? "" : "s");
  int partition_key = n->strategy && !strcmp(n->strategy, "delete+insert");
  if (!rc && !partition_key) {
    sql = txf_xasprintf("SELECT count(*) FROM (SELECT %s FROM %s GROUP BY %s "
                        "HAVING count(*) > 1) AS d",
                        cols, rel, cols);
    rc = a->ops->query_i64(a, sql, &k, err);
    free(sql);
    if (!rc && k > 0)
      rc = txf_err_set(err, TXF_ETEST,
                       "unique_key (%s) has %" PRId64 " value%s repeated in "
                       "the new rows",
                       cols, k, k == 1 ? "" : "s");
  }
  free(nulls);
  free(cols);
  return rc;
}

/* Run test T on EX's connection and count it; FAILED_TEST (may be NULL)
 * gets T when it is an error-severity test that failed or could not run. */
static void run_counted(txf_models *m, const exec_ctx *ex, size_t t,
                        const char *rel_over, txf_models_summary *s,
                        size_t *failed_test, int64_t *failed_rows) {
  mnode *tn = &m->nodes[t];
  int failed;
  int64_t nf;
  txf_err err;
  txf_err_clear(&err);
  tn->state = ST_OK;
  if (models_run_test(m, ex ? ex->a : NULL, t, rel_over, &failed, &nf,
                      &err)) {
    s->n_test_error++;
    say(m, ex, "  ERROR  %s: %s", tn->name, err.msg);
    if (failed_test && *failed_test == SIZE_MAX) {
      *failed_test = t;
      *failed_rows = -1;
    }
    return;
  }
  if (!failed) {
    s->n_pass++;
    say(m, ex, "  PASS   %s", tn->name);
  } else if (!strcmp(tn->severity, "warn")) {
    s->n_warn++;
    say(m, ex, "  WARN   %s (%" PRId64 " failing row%s)", tn->name, nf,
        nf == 1 ? "" : "s");
  } else {
    s->n_fail++;
    say(m, ex, "  FAIL   %s (%" PRId64 " failing row%s)", tn->name, nf,
        nf == 1 ? "" : "s");
    if (failed_test && *failed_test == SIZE_MAX) {
      *failed_test = t;
      *failed_rows = nf;
    }
  }
}

/* A test that also reads a node built later in this run's order (a
 * relationships test to a model downstream of its own) cannot audit; it
 * runs once all its parents are built. Positions, not states, decide, so
 * the answer does not depend on which worker was faster. */
static int waits_for_parent(txf_models *m, size_t t) {
  mnode *tn = &m->nodes[t];
  size_t own = tn->owner != SIZE_MAX ? m->nodes[tn->owner].run_pos : 0;
  for (size_t k = 0; k < tn->n_parents; k++) {
    size_t p = tn->parents[k];
    if (p != tn->owner && m->nodes[p].run_pos != SIZE_MAX &&
        (own == SIZE_MAX || m->nodes[p].run_pos > own))
      return 1;
  }
  return 0;
}

/* Run node I's tests of SEVERITY against REL_OVER (NULL: the published
 * relation). *failed_test gets the first failing error-severity test. */
static void run_tests_of(txf_models *m, const exec_ctx *ex, size_t i,
                         const char *severity, const char *rel_over,
                         txf_models_summary *s, size_t *failed_test,
                         int64_t *failed_rows) {
  mnode *n = &m->nodes[i];
  for (size_t k = 0; k < n->n_tests; k++) {
    size_t t = n->tests[k];
    mnode *tn = &m->nodes[t];
    if (!tn->selected || strcmp(tn->severity, severity))
      continue;
    if (waits_for_parent(m, t)) {
      tn->state = ST_DEFERRED;
      continue;
    }
    run_counted(m, ex, t, rel_over, s, failed_test, failed_rows);
  }
}

/* Deferred tests whose parents have all settled (built and printed, in
 * run order) now; FINAL: run the rest. */
static void run_deferred(txf_models *m, const exec_ctx *ex,
                         txf_models_summary *s, int final) {
  for (size_t t = 0; t < m->n_nodes; t++) {
    mnode *tn = &m->nodes[t];
    if (tn->kind != MN_TEST || tn->state != ST_DEFERRED)
      continue;
    size_t bad = SIZE_MAX;
    int waiting = 0;
    for (size_t k = 0; k < tn->n_parents; k++) {
      mnode *p = &m->nodes[tn->parents[k]];
      if (p->run_pos != SIZE_MAX && !p->settled)
        waiting = 1;
      else if (p->state == ST_ERROR || p->state == ST_SKIPPED)
        bad = tn->parents[k];
    }
    if (bad != SIZE_MAX) {
      tn->state = ST_SKIPPED;
      say(m, ex, "  SKIP   %s (%s did not build)", tn->name,
          m->nodes[bad].name);
      continue;
    }
    if (waiting && !final)
      continue;
    run_counted(m, ex, t, NULL, s, NULL, NULL);
  }
}

/* ---------------------------------------------------------------- build one */

typedef struct {
  int audit;       /* build: test the new version before publishing */
  txf_models_summary *s;
} runopts;

/* A worker's connection when several run at once. Workers hold the run's
 * lock whenever they touch shared state (nodes, templates, summary,
 * metadata store, output); this wrapper lets go of it only while DuckDB
 * runs a statement, which is where the time goes. Catalog changes (schema,
 * drops, the swap) go through serial(), keeping the lock, so two swaps
 * never interleave. */
typedef struct locked_conn {
  txf_adapter base;
  txf_adapter *inner;    /* owned */
  pthread_mutex_t *lock; /* held by the caller around every call */
} locked_conn;

static locked_conn *LC(txf_adapter *a) { return a->impl; }

static int lc_exec(txf_adapter *a, const char *sql, txf_err *err) {
  locked_conn *c = LC(a);
  pthread_mutex_unlock(c->lock);
  int rc = c->inner->ops->exec(c->inner, sql, err);
  pthread_mutex_lock(c->lock);
  return rc;
}

static int lc_query_i64(txf_adapter *a, const char *sql, int64_t *out,
                        txf_err *err) {
  locked_conn *c = LC(a);
  pthread_mutex_unlock(c->lock);
  int rc = c->inner->ops->query_i64(c->inner, sql, out, err);
  pthread_mutex_lock(c->lock);
  return rc;
}

static int lc_query_json(txf_adapter *a, const char *sql, char **out,
                         txf_err *err) {
  locked_conn *c = LC(a);
  pthread_mutex_unlock(c->lock);
  int rc = c->inner->ops->query_json(c->inner, sql, out, err);
  pthread_mutex_lock(c->lock);
  return rc;
}

/* catalog lookups are quick: they keep the lock */
static int lc_relation_kind(txf_adapter *a, const char *schema,
                            const char *name, txf_rel_kind *out,
                            txf_err *err) {
  txf_adapter *in = LC(a)->inner;
  return in->ops->relation_kind(in, schema, name, out, err);
}

static int lc_columns(txf_adapter *a, const char *schema, const char *name,
                      char ***out, size_t *n, txf_err *err) {
  txf_adapter *in = LC(a)->inner;
  return in->ops->columns(in, schema, name, out, n, err);
}

static int lc_create_from_csv(txf_adapter *a, const char *rel,
                              const char *path, const char *types,
                              txf_err *err) {
  locked_conn *c = LC(a);
  pthread_mutex_unlock(c->lock);
  int rc = c->inner->ops->create_from_csv(c->inner, rel, path, types, err);
  pthread_mutex_lock(c->lock);
  return rc;
}

static void lc_close(txf_adapter *a) {
  locked_conn *c = LC(a);
  txf_adapter_close(c->inner);
  c->inner = NULL;
}

static const txf_adapter_ops locked_ops = {
    .type = "locked",
    .exec = lc_exec,
    .query_i64 = lc_query_i64,
    .query_json = lc_query_json,
    .relation_kind = lc_relation_kind,
    .columns = lc_columns,
    .create_from_csv = lc_create_from_csv,
    .close = lc_close};

/* The connection under A that keeps the run's lock while it works. */
static txf_adapter *serial(txf_adapter *a) {
  return a->ops == &locked_ops ? LC(a)->inner : a;
}

static int swap_in(txf_adapter *a, const char *schema, const char *ident,
                   const char *tmp_ident, txf_rel_kind new_kind,
                   txf_err *err) {
  txf_rel_kind old;
  int rc = a->ops->relation_kind(a, schema, ident, &old, err);
  if (rc)
    return rc;
  char *rel = qrel(schema, ident), *tmp = qrel(schema, tmp_ident);
  char *qi = txf_duck_quote_ident(ident);
  char *drop = old == TXF_REL_NONE
                   ? txf_xstrdup("")
                   : txf_xasprintf("DROP %s %s; ", kind_word(old), rel);
  /* One transaction: readers see the old relation or the new one. */
  char *sql = txf_xasprintf("BEGIN TRANSACTION; %sALTER %s %s RENAME TO %s; "
                            "COMMIT",
                            drop, kind_word(new_kind), tmp, qi);
  rc = a->ops->exec(a, sql, err);
  if (rc)
    (void)a->ops->exec(a, "ROLLBACK", &(txf_err){0});
  free(sql);
  free(drop);
  free(rel);
  free(tmp);
  free(qi);
  return rc;
}

/* The seed's column_types as a DuckDB struct literal, for the columns its
 * header has (a folder-level +column_types names columns of some seeds
 * only); NULL when none apply. */
static char *seed_types(const mnode *n) {
  if (!n->ct_names.n)
    return NULL;
  FILE *f = fopen(n->abs_path, "r");
  if (!f)
    return NULL;
  char line[16384];
  int ok = fgets(line, sizeof line, f) != NULL;
  fclose(f);
  if (!ok)
    return NULL;
  char *h = line;
  if (!strncmp(h, "\xef\xbb\xbf", 3))
    h += 3;
  txf_strlist cols = {0};
  txf_buf cur;
  txf_buf_init(&cur, 0);
  int quoted = 0;
  for (char *c = h;; c++) {
    if (quoted) {
      if (*c == '"' && c[1] == '"') {
        (void)txf_buf_putc(&cur, '"');
        c++;
      } else if (*c == '"') {
        quoted = 0;
      } else if (*c) {
        (void)txf_buf_putc(&cur, *c);
      } else {
        break;
      }
      continue;
    }
    if (*c == '"') {
      quoted = 1;
    } else if (*c == ',' || *c == '\n' || *c == '\r' || !*c) {
      txf_strlist_push(&cols, cur.data ? cur.data : "");
      txf_buf_reset(&cur);
      if (*c != ',')
        break;
    } else {
      (void)txf_buf_putc(&cur, *c);
    }
  }
  txf_buf_release(&cur);
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < n->ct_names.n; i++) {
    if (!txf_strlist_has(&cols, n->ct_names.v[i]))
      continue;
    char *k = txf_duck_quote_str(n->ct_names.v[i]);
    char *t = txf_duck_quote_str(n->ct_types.v[i]);
    (void)txf_buf_printf(&b, "%s%s: %s", b.len ? ", " : "{", k, t);
    free(k);
    free(t);
  }
  txf_strlist_release(&cols);
  if (!b.len) {
    txf_buf_release(&b);
    return NULL;
  }
  (void)txf_buf_putc(&b, '}');
  return txf_buf_take(&b, NULL);
}

/* The incremental statements for PostgreSQL/Redshift (no INSERT BY NAME,
 * no MERGE ... UPDATE SET *): the new rows NREL (table NEW_IDENT) go into
 * REL by column name; merge replaces the rows whose unique_key matches —
 * the same result as an upsert, as check_keys() made the new keys unique
 * and not NULL. The caller wraps *SQL in one transaction. */
static int incremental_sql_pg(txf_adapter *a, const mnode *n,
                              const char *schema, const char *new_ident,
                              const char *rel, const char *nrel,
                              const char *strategy, char **sql,
                              txf_err *err) {
  char **cols;
  size_t nc;
  int rc = a->ops->columns(a, schema, new_ident, &cols, &nc, err);
  if (rc)
    return rc;
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t k = 0; k < nc; k++) {
    char *q = txf_duck_quote_ident(cols[k]);
    (void)txf_buf_printf(&b, "%s%s", k ? ", " : "", q);
    free(q);
    free(cols[k]);
  }
  free(cols);
  char *list = txf_buf_take(&b, NULL);
  char *ins = txf_xasprintf("INSERT INTO %s (%s) SELECT %s FROM %s", rel,
                            list ? list : "", list ? list : "", nrel);
  if (!n->unique_key.n || !strcmp(strategy, "append")) {
    *sql = ins;
  } else {
    /* the target qualified by its name: Redshift's DELETE takes no
     * alias */
    txf_buf on;
    txf_buf_init(&on, 0);
    for (size_t k = 0; k < n->unique_key.n; k++) {
      char *q = txf_duck_quote_ident(n->unique_key.v[k]);
      (void)txf_buf_printf(&on, "%s%s.%s = s.%s", k ? " AND " : "", rel, q,
                           q);
      free(q);
    }
    *sql = txf_xasprintf("DELETE FROM %s WHERE EXISTS (SELECT 1 FROM %s AS s "
                         "WHERE %s); %s",
                         rel, nrel, on.data, ins);
    txf_buf_release(&on);
    free(ins);
  }
  free(list);
  return 0;
}

/* Build node I (model or seed). Returns 0, or an error with ERR set and
 * *audit_fail = 1 when it was a failed audit. */
static int build_one(txf_models *m, const exec_ctx *ex, size_t i,
                     const runopts *ro, int *audit_fail, int64_t *n_rows,
                     txf_err *err) {
  mnode *n = &m->nodes[i];
  *audit_fail = 0;
  *n_rows = -1;
  txf_adapter *a = ex->a, *cat = serial(ex->a);
  int rc;
  const char *schema = models_schema(m, i), *ident = models_identifier(m, i);
  char *qs = txf_duck_quote_ident(schema);
  char *sql = txf_xasprintf("CREATE SCHEMA IF NOT EXISTS %s", qs);
  free(qs);
  rc = cat->ops->exec(cat, sql, err);
  free(sql);
  if (rc)
    return rc;
  txf_rel_kind existing;
  rc = a->ops->relation_kind(a, schema, ident, &existing, err);
  if (rc)
    return rc;
  const char *mat = n->materialized;
  int is_seed = n->kind == MN_SEED;
  int incr = !is_seed && !strcmp(mat, "incremental") &&
             existing == TXF_REL_TABLE && !m->opts->full_refresh;
  char *body = NULL, *seed_ty = NULL;
  if (is_seed) {
    char *p = txf_duck_quote_str(n->abs_path);
    seed_ty = seed_types(n);
    body = seed_ty ? txf_xasprintf("SELECT * FROM read_csv(%s, header = true, "
                                   "auto_detect = true, types = %s)",
                                   p, seed_ty)
                   : txf_xasprintf("SELECT * FROM read_csv(%s, header = true, "
                                   "auto_detect = true)",
                                   p);
    free(p);
  } else {
    rc = models_compile_node(m, i, 0, incr, SIZE_MAX, NULL, &body, err);
    if (rc)
      return rc;
  }
  free(n->compiled);
  n->compiled = txf_xstrdup(body);
  char *rel = qrel(schema, ident);
  size_t failed_test = SIZE_MAX;
  int64_t failed_rows = 0;
  if (!incr) {
    char *tmp_ident = txf_xasprintf("%s__txf_new", ident);
    char *tmp = qrel(schema, tmp_ident);
    txf_rel_kind nk = !strcmp(mat, "view") ? TXF_REL_VIEW : TXF_REL_TABLE;
    rc = drop_if_exists(cat, schema, tmp_ident, err);
    if (!rc && is_seed) {
      rc = a->ops->create_from_csv(a, tmp, n->abs_path, seed_ty, err);
    } else if (!rc) {
      sql = txf_xasprintf("CREATE %s %s AS\n%s", kind_word(nk), tmp, body);
      rc = a->ops->exec(a, sql, err);
      free(sql);
    }
    if (!rc && !strcmp(mat, "incremental"))
      rc = check_keys(m, a, i, tmp, err);
    if (!rc && ro->audit) {
      run_tests_of(m, ex, i, "error", tmp, ro->s, &failed_test,
                   &failed_rows);
      if (failed_test != SIZE_MAX) {
        *audit_fail = 1;
        rc = txf_err_set(err, TXF_ETEST,
                         "audit failed: test %s %s; the previous version "
                         "stays published",
                         m->nodes[failed_test].name,
                         failed_rows < 0 ? "could not run" : "found failing rows");
      }
    }
    if (!rc)
      rc = swap_in(cat, schema, ident, tmp_ident, nk, err);
    if (rc) {
      txf_err e2;
      (void)drop_if_exists(cat, schema, tmp_ident, &e2);
    }
    free(tmp);
    free(tmp_ident);
  } else {
    /* Incremental: new rows into a side table, then merge and audit in
     * one transaction; a failed audit rolls the merge back. */
    char *new_ident = txf_xasprintf("%s__txf_incr", ident);
    char *nrel = qrel(schema, new_ident);
    rc = drop_if_exists(cat, schema, new_ident, err);
    if (!rc) {
      sql = txf_xasprintf("CREATE TABLE %s AS\n%s", nrel, body);
      rc = a->ops->exec(a, sql, err);
      free(sql);
    }
    if (!rc)
      rc = check_keys(m, a, i, nrel, err);
    if (!rc) {
      const char *strategy = n->strategy ? n->strategy
                             : n->unique_key.n ? "merge"
                                               : "append";
      if (strcmp(serial(a)->ops->type, "duckdb")) {
        sql = NULL;
        rc = incremental_sql_pg(a, n, schema, new_ident, rel, nrel, strategy,
                                &sql, err);
      } else if (!n->unique_key.n || !strcmp(strategy, "append")) {
        sql = txf_xasprintf("INSERT INTO %s BY NAME SELECT * FROM %s", rel,
                            nrel);
      } else if (!strcmp(strategy, "delete+insert")) {
        char *on = key_expr(&n->unique_key, "t.%s = s.%s", " AND ");
        /* a semi-join: with a repeated (partition) key, DELETE ... USING
         * would pair every old row of a key with every new one */
        sql = txf_xasprintf("DELETE FROM %s AS t WHERE EXISTS (SELECT 1 FROM "
                            "%s AS s WHERE %s); "
                            "INSERT INTO %s BY NAME SELECT * FROM %s",
                            rel, nrel, on, rel, nrel);
        free(on);
      } else {
        char *on = key_expr(&n->unique_key, "t.%s = s.%s", " AND ");
        sql = txf_xasprintf("MERGE INTO %s AS t USING %s AS s ON (%s) "
                            "WHEN MATCHED THEN UPDATE SET * "
                            "WHEN NOT MATCHED THEN INSERT BY NAME",
                            rel, nrel, on);
        free(on);
      }
      if (!rc)
        rc = a->ops->exec(a, "BEGIN TRANSACTION", err);
      if (!rc)
        rc = a->ops->exec(a, sql, err);
      free(sql);
      if (!rc && ro->audit) {
        run_tests_of(m, ex, i, "error", NULL, ro->s, &failed_test,
                     &failed_rows);
        if (failed_test != SIZE_MAX) {
          *audit_fail = 1;
          rc = txf_err_set(err, TXF_ETEST,
                           "audit failed: test %s %s; the merge was rolled "
                           "back",
                           m->nodes[failed_test].name,
                           failed_rows < 0 ? "could not run"
                                           : "found failing rows");
        }
      }
      if (!rc)
        rc = a->ops->exec(a, "COMMIT", err);
      if (rc)
        (void)a->ops->exec(a, "ROLLBACK", &(txf_err){0});
    }
    txf_err e2;
    (void)drop_if_exists(cat, schema, new_ident, &e2);
    free(nrel);
    free(new_ident);
  }
  if (!rc && strcmp(mat, "view")) {
    sql = txf_xasprintf("SELECT count(*) FROM %s", rel);
    txf_err e2;
    if (a->ops->query_i64(a, sql, n_rows, &e2))
      *n_rows = -1;
    free(sql);
  }
  free(rel);
  free(body);
  free(seed_ty);
  return rc;
}

static int parent_failed(txf_models *m, size_t i, size_t *which) {
  mnode *n = &m->nodes[i];
  for (size_t k = 0; k < n->n_parents; k++) {
    int st = m->nodes[n->parents[k]].state;
    if (st == ST_ERROR || st == ST_SKIPPED) {
      *which = n->parents[k];
      return 1;
    }
  }
  return 0;
}

static void run_node(txf_models *m, const exec_ctx *ex, size_t i,
                     const runopts *ro) {
  mnode *n = &m->nodes[i];
  txf_models_summary *s = ro->s;
  size_t up;
  const char *what = n->kind == MN_SEED ? "seed" : n->materialized;
  int64_t t0 = txf_mono_us();
  if (parent_failed(m, i, &up)) {
    n->state = ST_SKIPPED;
    s->n_skipped++;
    say(m, ex, "  SKIP   %-11s %s (upstream %s did not build)", what, n->name,
        m->nodes[up].name);
    char *msg = txf_xasprintf("upstream %s did not build", m->nodes[up].name);
    models_record_build(m, i, "skipped", -1, started_us(m, ex, t0), 0, msg);
    free(msg);
    return;
  }
  if (n->kind == MN_MODEL && !strcmp(n->materialized, "ephemeral")) {
    n->state = ST_OK;
    say(m, ex, "  OK     %-11s %s (inlined where used)", what, n->name);
    return;
  }
  int audit_fail;
  int64_t rows;
  txf_err err;
  txf_err_clear(&err);
  int rc = build_one(m, ex, i, ro, &audit_fail, &rows, &err);
  int64_t dur = txf_mono_us() - t0;
  if (rc) {
    n->state = ST_ERROR;
    s->n_error++;
    char *msg = audit_fail || err.code == TXF_ETEST
                    ? txf_xasprintf("%s %s: %s",
                                    n->kind == MN_SEED ? "seed" : "model",
                                    n->name, err.msg)
                    : txf_xasprintf("%s %s (%s): %s",
                                    n->kind == MN_SEED ? "seed" : "model",
                                    n->name, n->rel_path, err.msg);
    say(m, ex, "  ERROR  %-11s %s", what, msg);
    models_record_build(m, i, audit_fail ? "audit_failed" : "error", -1,
                        started_us(m, ex, t0), dur, msg);
    free(msg);
    return;
  }
  n->state = ST_OK;
  s->n_ok++;
  if (rows >= 0)
    say(m, ex, "  OK     %-11s %s (%" PRId64 " rows, %.2fs)", what, n->name,
        rows, (double)dur / 1e6);
  else
    say(m, ex, "  OK     %-11s %s (%.2fs)", what, n->name, (double)dur / 1e6);
  models_record_build(m, i, "success", rows, started_us(m, ex, t0), dur,
                      NULL);
  if (ro->audit)
    run_tests_of(m, ex, i, "warn", NULL, s, NULL, NULL);
}

static int finish(txf_models_summary *s, txf_err *err) {
  if (s->n_error)
    return txf_err_set(err, TXF_ETEST, "%d node%s failed, %d skipped",
                       s->n_error, s->n_error == 1 ? "" : "s", s->n_skipped);
  if (s->n_fail || s->n_test_error)
    return txf_err_set(err, TXF_ETEST, "%d test%s failed",
                       s->n_fail + s->n_test_error,
                       s->n_fail + s->n_test_error == 1 ? "" : "s");
  return 0;
}

/* ---------------------------------------------------------------- the pool */

/* The run: nodes in topological order; workers take the first ready one
 * (all its parents, and the other parents of its audit tests that come
 * earlier in the order, finished), so the order of the graph is kept and
 * independent nodes build at once. Each node's lines are kept and printed
 * in run order once every earlier node's are, so the output is the same
 * whatever the number of threads. */
enum { P_WAITING = 0, P_RUNNING, P_FINISHED };

typedef struct pool {
  txf_models *m;
  runopts ro;
  size_t *run;          /* node indices, in order */
  size_t n_run;
  size_t **deps;        /* per position: positions it waits for */
  size_t *n_deps;
  int *status;          /* per position */
  txf_buf *outs;        /* per position (when workers > 1) */
  size_t n_flushed;
  int flushing;
  int64_t mono0;
  pthread_mutex_t lock;
  pthread_cond_t cond;
} pool;

typedef struct worker {
  pool *p;
  txf_adapter *a;       /* this worker's connection */
  int buffered;         /* lines wait for their turn (workers > 1) */
  pthread_t th;
} worker;

static void add_dep(pool *p, size_t k, size_t d) {
  for (size_t j = 0; j < p->n_deps[k]; j++)
    if (p->deps[k][j] == d)
      return;
  p->deps[k] = txf_xrealloc(p->deps[k], (p->n_deps[k] + 1) * sizeof(size_t));
  p->deps[k][p->n_deps[k]++] = d;
}

static void pool_deps(pool *p) {
  txf_models *m = p->m;
  for (size_t k = 0; k < p->n_run; k++) {
    mnode *n = &m->nodes[p->run[k]];
    for (size_t j = 0; j < n->n_parents; j++) {
      size_t q = m->nodes[n->parents[j]].run_pos;
      if (q != SIZE_MAX)
        add_dep(p, k, q);
    }
    if (!p->ro.audit)
      continue;
    /* audit tests read their other parents: those built earlier in the
     * order must be published first (later ones: the test is deferred) */
    for (size_t j = 0; j < n->n_tests; j++) {
      mnode *t = &m->nodes[n->tests[j]];
      if (!t->selected)
        continue;
      for (size_t r = 0; r < t->n_parents; r++) {
        size_t q = m->nodes[t->parents[r]].run_pos;
        if (q != SIZE_MAX && q < k)
          add_dep(p, k, q);
      }
    }
  }
}

/* The first waiting position whose dependencies have finished, or
 * SIZE_MAX. */
static size_t next_ready(pool *p) {
  for (size_t k = 0; k < p->n_run; k++) {
    if (p->status[k] != P_WAITING)
      continue;
    size_t j = 0;
    while (j < p->n_deps[k] && p->status[p->deps[k][j]] == P_FINISHED)
      j++;
    if (j == p->n_deps[k])
      return k;
  }
  return SIZE_MAX;
}

/* Print the finished nodes' lines in run order and run the deferred tests
 * they unblock, as a serial run would after each node. One worker at a
 * time (the others go on building). Called and returns with the lock. */
static void flush(pool *p, worker *w) {
  if (p->flushing)
    return;
  p->flushing = 1;
  txf_models *m = p->m;
  exec_ctx ex = {w->a, NULL, p->mono0};
  while (p->n_flushed < p->n_run && p->status[p->n_flushed] == P_FINISHED) {
    size_t k = p->n_flushed++;
    if (p->outs && p->outs[k].len && m->opts->out) {
      fwrite(p->outs[k].data, 1, p->outs[k].len, m->opts->out);
      fflush(m->opts->out);
    }
    if (p->outs)
      txf_buf_release(&p->outs[k]);
    m->nodes[p->run[k]].settled = 1;
    if (p->ro.audit)
      run_deferred(m, &ex, p->ro.s, 0);
  }
  p->flushing = 0;
}

static void *work(void *arg) {
  worker *w = arg;
  pool *p = w->p;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    size_t k = next_ready(p);
    if (k == SIZE_MAX) {
      size_t busy = 0, waiting = 0;
      for (size_t j = 0; j < p->n_run; j++) {
        busy += p->status[j] == P_RUNNING;
        waiting += p->status[j] == P_WAITING;
      }
      if (!waiting || !busy)
        break; /* all taken (a waiting node with nothing running cannot
                  happen: the order is topological) */
      pthread_cond_wait(&p->cond, &p->lock);
      continue;
    }
    p->status[k] = P_RUNNING;
    exec_ctx ex = {w->a, w->buffered ? &p->outs[k] : NULL, p->mono0};
    run_node(p->m, &ex, p->run[k], &p->ro);
    p->status[k] = P_FINISHED;
    pthread_cond_broadcast(&p->cond);
    flush(p, w);
  }
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

static int run_pool(txf_models *m, size_t *run, size_t n_run,
                    const runopts *ro, txf_err *err) {
  txf_adapter *a0;
  int rc = txf_models_adapter(m, &a0, err);
  if (rc)
    return rc;
  pool p;
  memset(&p, 0, sizeof p);
  p.m = m;
  p.ro = *ro;
  p.run = run;
  p.n_run = n_run;
  p.deps = txf_xcalloc(n_run + 1, sizeof *p.deps);
  p.n_deps = txf_xcalloc(n_run + 1, sizeof *p.n_deps);
  p.status = txf_xcalloc(n_run + 1, sizeof *p.status);
  p.mono0 = txf_mono_us();
  pool_deps(&p);
  int n_workers = models_threads(m);
  if ((size_t)n_workers > n_run)
    n_workers = n_run ? (int)n_run : 1;
  /* More connections: DuckDB only. On PostgreSQL/Redshift a swap's DROP
   * could wait on a lock another worker's open transaction holds while
   * that worker waits for the run's lock; they build one at a time. */
  if (n_workers > 1 && strcmp(a0->ops->type, "duckdb")) {
    txf_log_info(m->opts->log,
                 "models: %s target: building one model at a time",
                 a0->ops->type);
    n_workers = 1;
  }
  worker *ws = txf_xcalloc((size_t)n_workers, sizeof *ws);
  locked_conn *lcs = txf_xcalloc((size_t)n_workers, sizeof *lcs);
  int n_open = 1;
  for (; n_open < n_workers; n_open++) {
    txf_adapter *c;
    txf_err e2;
    if (txf_adapter_connect_duckdb(&c, a0, &e2)) {
      txf_log_warn(m->opts->log, "models: building one at a time: %s",
                   e2.msg);
      break;
    }
    lcs[n_open].inner = c;
  }
  n_workers = n_open;
  pthread_mutex_init(&p.lock, NULL);
  pthread_cond_init(&p.cond, NULL);
  if (n_workers > 1) {
    p.outs = txf_xcalloc(n_run + 1, sizeof *p.outs);
    for (size_t k = 0; k < n_run; k++)
      txf_buf_init(&p.outs[k], 0);
    lcs[0].inner = a0;
  }
  for (int i = 0; i < n_workers; i++) {
    ws[i].p = &p;
    ws[i].buffered = n_workers > 1;
    if (n_workers > 1) {
      lcs[i].base.ops = &locked_ops;
      lcs[i].base.impl = &lcs[i];
      lcs[i].lock = &p.lock;
      ws[i].a = &lcs[i].base;
    } else {
      ws[i].a = a0;
    }
  }
  int started = 1;
  for (int i = 1; i < n_workers; i++) {
    if (pthread_create(&ws[i].th, NULL, work, &ws[i]))
      break;
    started++;
  }
  work(&ws[0]);
  for (int i = 1; i < started; i++)
    pthread_join(ws[i].th, NULL);
  pthread_mutex_lock(&p.lock);
  flush(&p, &ws[0]);
  pthread_mutex_unlock(&p.lock);
  /* leftovers run on the main connection, without the pool */
  exec_ctx ex = {a0, NULL, p.mono0};
  if (ro->audit)
    run_deferred(m, &ex, ro->s, 1);
  for (int i = 1; i < n_open; i++)
    txf_adapter_close(lcs[i].inner);
  pthread_cond_destroy(&p.cond);
  pthread_mutex_destroy(&p.lock);
  for (size_t k = 0; k < n_run; k++)
    free(p.deps[k]);
  if (p.outs)
    for (size_t k = 0; k < n_run; k++)
      txf_buf_release(&p.outs[k]);
  free(p.outs);
  free(p.deps);
  free(p.n_deps);
  free(p.status);
  free(lcs);
  free(ws);
  return 0;
}

static int run_kinds(txf_models *m, int models, int seeds, int audit,
                     txf_models_summary *s, txf_err *err) {
  memset(s, 0, sizeof *s);
  size_t *order, n;
  int rc = models_topo(m, audit, &order, &n, err);
  if (rc)
    return rc;
  for (size_t i = 0; i < m->n_nodes; i++) {
    m->nodes[i].state = ST_PENDING;
    m->nodes[i].run_pos = SIZE_MAX;
    m->nodes[i].settled = 0;
  }
  size_t n_run = 0;
  for (size_t k = 0; k < n; k++) {
    mnode *nd = &m->nodes[order[k]];
    if (nd->selected && ((nd->kind == MN_MODEL && models) ||
                         (nd->kind == MN_SEED && seeds))) {
      nd->run_pos = n_run;
      order[n_run++] = order[k];
    }
  }
  runopts ro = {audit, s};
  rc = run_pool(m, order, n_run, &ro, err);
  free(order);
  if (rc)
    return rc;
  if (audit) {
    /* singular tests that ref nothing */
    for (size_t t = 0; t < m->n_nodes; t++) {
      mnode *tn = &m->nodes[t];
      if (tn->kind == MN_TEST && tn->selected && tn->owner == SIZE_MAX)
        run_counted(m, NULL, t, NULL, s, NULL, NULL);
    }
  }
  return finish(s, err);
}

int txf_models_run(txf_models *m, txf_models_summary *s, txf_err *err) {
  return run_kinds(m, 1, 0, 0, s, err);
}

int txf_models_seed(txf_models *m, txf_models_summary *s, txf_err *err) {
  return run_kinds(m, 0, 1, 0, s, err);
}

int txf_models_build(txf_models *m, txf_models_summary *s, txf_err *err) {
  return run_kinds(m, 1, 1, 1, s, err);
}

int txf_models_test(txf_models *m, txf_models_summary *s, txf_err *err) {
  memset(s, 0, sizeof *s);
  for (size_t t = 0; t < m->n_nodes; t++) {
    mnode *tn = &m->nodes[t];
    if (tn->kind != MN_TEST || !tn->selected)
      continue;
    if (tn->owner != SIZE_MAX &&
        !strcmp(m->nodes[tn->owner].materialized ? m->nodes[tn->owner].materialized
                                                 : "",
                "ephemeral")) {
      say(m, NULL, "  SKIP   %s (ephemeral models cannot be tested)",
          tn->name);
      continue;
    }
    run_counted(m, NULL, t, NULL, s, NULL, NULL);
  }
  return finish(s, err);
}

/* ---------------------------------------------------------------- compile */

int txf_models_compile(txf_models *m, txf_err *err) {
  txf_adapter *a;
  int rc = txf_models_adapter(m, &a, err);
  for (size_t i = 0; !rc && i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    if (!n->selected || n->kind == MN_SEED)
      continue;
    char *sql = NULL;
    if (n->kind == MN_TEST) {
      rc = models_test_sql(m, i, NULL, &sql, err);
    } else {
      txf_rel_kind k = TXF_REL_NONE;
      rc = a->ops->relation_kind(a, models_schema(m, i),
                                 models_identifier(m, i), &k, err);
      int incr = !strcmp(n->materialized, "incremental") &&
                 k == TXF_REL_TABLE && !m->opts->full_refresh;
      if (!rc)
        rc = models_compile_node(m, i, 0, incr, SIZE_MAX, NULL, &sql, err);
    }
    if (rc)
      break;
    char *rel = n->kind == MN_TEST && !n->rel_path
                    ? txf_xasprintf("tests/%s.sql", n->name)
                    : txf_xstrdup(n->rel_path);
    char *path = txf_xasprintf("%s/target/compiled/%s", m->project->dir, rel);
    char *dir = txf_xstrdup(path);
    *strrchr(dir, '/') = 0;
    rc = txf_fs_mkdirs(dir, err);
    if (!rc) {
      char *text = txf_xasprintf("%s\n", sql);
      rc = txf_fs_write_atomic(path, text, strlen(text), err);
      free(text);
    }
    if (!rc)
      say(m, NULL, "  compiled %s -> target/compiled/%s", n->name, rel);
    free(n->compiled);
    n->compiled = sql;
    free(dir);
    free(path);
    free(rel);
  }
  return rc;
}
