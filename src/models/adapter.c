/* The warehouse adapter: DuckDB over src/duck (PostgreSQL and Redshift:
 * adapter_pg.c). */
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"

static txf_duck *D(txf_adapter *a) { return a->impl; }

/* TXNFLOW_DUCK_PROFILE=DIR: DuckDB's profile of each statement a build
 * runs through the adapter (the models' SQL, the changes strategy's
 * steps, the tests), as DIR/NNNNNN.json, numbered in the order they
 * start: the query, its plan, each operator's time and rows. A debugging
 * aid (docs/models.md, "Why a build is slow"); its failures are ignored. */
static int profile_begin(txf_adapter *a) {
  static int seq; /* GLOBAL: shared by the build's connections */
  const char *dir = getenv("TXNFLOW_DUCK_PROFILE");
  if (!dir || !*dir)
    return 0;
  txf_err e;
  if (txf_fs_mkdirs(dir, &e))
    return 0;
  int n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
  char *path = txf_xasprintf("%s/%06d.json", dir, n);
  char *q = txf_duck_quote_str(path);
  char *sql = txf_xasprintf("PRAGMA enable_profiling = 'json'; "
                            "SET profiling_output = %s",
                            q);
  int rc = txf_duck_exec(D(a), sql, &e);
  TXF_FREE_ALL(path, q, sql);
  return rc == 0;
}

/* Profiling off again: the adapter's own catalog queries that follow a
 * statement would overwrite its profile. */
static void profile_end(txf_adapter *a, int on) {
  txf_err e;
  if (on && txf_duck_exec(D(a), "PRAGMA disable_profiling", &e))
    txf_err_clear(&e);
}

static int d_exec(txf_adapter *a, const char *sql, txf_err *err) {
  int p = profile_begin(a);
  int rc = txf_duck_exec(D(a), sql, err);
  profile_end(a, p);
  return rc;
}

static int d_query_i64(txf_adapter *a, const char *sql, int64_t *out,
                       txf_err *err) {
  int p = profile_begin(a);
  int rc = txf_duck_query_i64(D(a), sql, out, err);
  profile_end(a, p);
  return rc;
}

static int d_query_json(txf_adapter *a, const char *sql, char **out,
                        txf_err *err) {
  *out = NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return txf_err_errno(err, TXF_EIO, "open_memstream");
  int rc = txf_duck_print(D(a), sql, f, TXF_DUCK_JSON, err);
  fclose(f);
  if (rc) {
    free(buf);
    return rc;
  }
  /* trim the final newline */
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
    buf[--len] = 0;
  *out = buf;
  return 0;
}

/* SELECT (from an information_schema view) of relation SCHEMA.NAME in
 * this database (a file may attach others), then TAIL; caller frees. */
static char *rel_sql(const char *select, const char *tail, const char *schema,
                     const char *name) {
  char *s = txf_duck_quote_str(schema), *n = txf_duck_quote_str(name);
  char *sql = txf_xasprintf("%s WHERE table_schema = %s AND table_name = %s "
                            "AND table_catalog = current_database()%s",
                            select, s, n, tail);
  free(s);
  free(n);
  return sql;
}

static int d_relation_kind(txf_adapter *a, const char *schema,
                           const char *name, txf_rel_kind *out,
                           txf_err *err) {
  char *sql = rel_sql("SELECT CASE WHEN table_type = 'VIEW' THEN 2 ELSE 1 END "
                      "FROM information_schema.tables",
                      "", schema, name);
  int64_t k = 0;
  int rc = txf_duck_query_i64(D(a), sql, &k, err);
  free(sql);
  return txf_adapter_rel_kind_answer(rc, k, out);
}

static int d_columns(txf_adapter *a, const char *schema, const char *name,
                     char ***out, size_t *n_out, txf_err *err) {
  *out = NULL;
  *n_out = 0;
  char *sql = rel_sql("SELECT column_name FROM information_schema.columns",
                      " ORDER BY ordinal_position", schema, name);
  duckdb_result res;
  int rc = txf_duck_query(D(a), sql, &res, err);
  free(sql);
  if (rc)
    return rc;
  idx_t rows = duckdb_row_count(&res);
  char **v = txf_xcalloc(rows + 1, sizeof *v);
  for (idx_t r = 0; r < rows; r++) {
    char *x = duckdb_value_varchar(&res, 0, r);
    v[r] = txf_xstrdup(x ? x : "");
    duckdb_free(x);
  }
  duckdb_destroy_result(&res);
  *out = v;
  *n_out = rows;
  return 0;
}

static int d_create_from_csv(txf_adapter *a, const char *rel,
                             const char *path, const char *types,
                             txf_err *err) {
  char *p = txf_duck_quote_str(path);
  char *sql = types ? txf_xasprintf("CREATE TABLE %s AS SELECT * FROM "
                                    "read_csv(%s, header = true, "
                                    "auto_detect = true, types = %s)",
                                    rel, p, types)
                    : txf_xasprintf("CREATE TABLE %s AS SELECT * FROM "
                                    "read_csv(%s, header = true, "
                                    "auto_detect = true)",
                                    rel, p);
  int rc = txf_duck_exec(D(a), sql, err);
  free(sql);
  free(p);
  return rc;
}

static void d_close(txf_adapter *a) { txf_duck_close(D(a)); }

static int d_insert_ordered(txf_adapter *a, const char *head, const char *src,
                            const char *order, const txf_logger *log,
                            const char *who, txf_err *err) {
  return txf_duck_insert_ordered(D(a), head, src, order, TXF_DUCK_ORDER_PASSES,
                                 log, who, err);
}

int txf_adapter_insert_ordered(txf_adapter *a, const char *head,
                               const char *src, const char *order,
                               const txf_logger *log, const char *who,
                               txf_err *err) {
  if (order && a->ops->insert_ordered)
    return a->ops->insert_ordered(a, head, src, order, log, who, err);
  char *sql = txf_xasprintf("%s FROM %s%s%s", head, src,
                            order ? " ORDER BY " : "", order ? order : "");
  int rc = a->ops->exec(a, sql, err);
  free(sql);
  return rc;
}

static const txf_adapter_ops duck_ops = {
    "duckdb",  d_exec,           d_query_i64, d_query_json, d_relation_kind,
    d_columns, d_create_from_csv, d_close,     d_insert_ordered};

int txf_adapter_open_duckdb(txf_adapter **out, const char *path, int threads,
                            int readonly, txf_err *err) {
  *out = NULL;
  txf_duck *d;
  int rc = txf_duck_open(&d, path, threads, readonly, err);
  if (rc)
    return rc;
  *out = txf_adapter_new(&duck_ops, d);
  return 0;
}

txf_adapter *txf_adapter_wrap_duckdb(txf_duck *d) {
  return txf_adapter_new(&duck_ops, d);
}

int txf_adapter_connect_duckdb(txf_adapter **out, txf_adapter *a,
                               txf_err *err) {
  *out = NULL;
  if (a->ops != &duck_ops)
    return txf_err_set(err, TXF_EUNSUPPORTED,
                       "%s adapter: no second connection", a->ops->type);
  txf_duck *d;
  int rc = txf_duck_connect(&d, D(a), err);
  if (rc)
    return rc;
  *out = txf_adapter_new(&duck_ops, d);
  return 0;
}

txf_duck *txf_adapter_duck(txf_adapter *a) {
  return a->ops == &duck_ops ? D(a) : NULL;
}

txf_adapter *txf_adapter_new(const txf_adapter_ops *ops, void *impl) {
  txf_adapter *a = txf_xcalloc(1, sizeof *a);
  a->ops = ops;
  a->impl = impl;
  return a;
}

int txf_adapter_rel_kind_answer(int rc, int64_t k, txf_rel_kind *out) {
  if (rc == TXF_ENOTFOUND) {
    *out = TXF_REL_NONE;
    return 0;
  }
  if (rc)
    return rc;
  *out = k == 2 ? TXF_REL_VIEW : TXF_REL_TABLE;
  return 0;
}

void txf_adapter_close(txf_adapter *a) {
  if (!a)
    return;
  a->ops->close(a);
  free(a);
}

int txf_adapter_column_list(txf_adapter *a, const char *schema,
                            const char *ident, char **out, txf_err *err) {
  *out = NULL;
  char **cols;
  size_t nc;
  int rc = a->ops->columns(a, schema, ident, &cols, &nc, err);
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
  *out = b.data ? txf_buf_take(&b, NULL) : txf_xstrdup("");
  return 0;
}
