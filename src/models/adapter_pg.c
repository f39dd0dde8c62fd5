/* The warehouse adapter for PostgreSQL and Redshift, over libpq.
 *
 * One connection per run. Statements go through PQexec (several statements
 * in one string run in order; BEGIN/COMMIT from the runner make a
 * transaction span calls, as on DuckDB). Seeds are read by an in-memory
 * DuckDB — the same CSV type detection as the duckdb target, so both
 * targets get the same column types — and streamed with COPY FROM STDIN. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"

#define COPY_CHUNK (256u << 10)

static PGconn *C(txf_adapter *a) { return a->impl; }

/* libpq messages end in a newline; "ERROR:  x" is kept as the server
 * wrote it. */
static int pg_fail(PGconn *c, txf_err *err, const char *what) {
  int rc = txf_err_set(err, TXF_EDB, "%s: %s", what, PQerrorMessage(c));
  size_t n = strlen(err->msg);
  while (n && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
    err->msg[--n] = 0;
  return rc;
}

/* Run SQL; on success *out holds a result the caller PQclear()s (tuples or
 * a command status). */
static int run(txf_adapter *a, const char *sql, int n_params,
               const char *const *params, PGresult **out, txf_err *err) {
  *out = NULL;
  PGresult *r = n_params ? PQexecParams(C(a), sql, n_params, NULL, params,
                                        NULL, NULL, 0)
                         : PQexec(C(a), sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    PQclear(r);
    return pg_fail(C(a), err, a->ops->type);
  }
  *out = r;
  return 0;
}

/* Run SELECT (from an information_schema view) of relation SCHEMA.NAME,
 * then TAIL; *OUT as run()'s. */
static int run_rel(txf_adapter *a, const char *select, const char *tail,
                   const char *schema, const char *name, PGresult **out,
                   txf_err *err) {
  char *sql = txf_xasprintf("%s WHERE table_schema = $1 AND table_name = $2%s",
                            select, tail);
  const char *params[2] = {schema, name};
  int rc = run(a, sql, 2, params, out, err);
  free(sql);
  return rc;
}

static int p_exec(txf_adapter *a, const char *sql, txf_err *err) {
  PGresult *r;
  int rc = run(a, sql, 0, NULL, &r, err);
  PQclear(r);
  return rc;
}

static int first_i64(PGresult *r, int64_t *out, txf_err *err) {
  if (PQntuples(r) < 1 || PQnfields(r) < 1 || PQgetisnull(r, 0, 0))
    return txf_err_set(err, TXF_ENOTFOUND, "no value");
  const char *s = PQgetvalue(r, 0, 0);
  char *end;
  long long v = strtoll(s, &end, 10);
  if (end == s || (*end && *end != '.'))
    return txf_err_set(err, TXF_EDB, "expected an integer, got '%s'", s);
  *out = v;
  return 0;
}

static int p_query_i64(txf_adapter *a, const char *sql, int64_t *out,
                       txf_err *err) {
  PGresult *r;
  int rc = run(a, sql, 0, NULL, &r, err);
  if (!rc)
    rc = first_i64(r, out, err);
  PQclear(r);
  return rc;
}

static void json_str(txf_buf *b, const char *s) {
  (void)txf_buf_putc(b, '"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      (void)txf_buf_printf(b, "\\%c", ch);
    else if (ch == '\n')
      (void)txf_buf_puts(b, "\\n");
    else if (ch == '\t')
      (void)txf_buf_puts(b, "\\t");
    else if (ch < 0x20)
      (void)txf_buf_printf(b, "\\u%04x", ch);
    else
      (void)txf_buf_putc(b, (char)ch);
  }
  (void)txf_buf_putc(b, '"');
}

/* As the DuckDB adapter: an array of objects, values as strings or null. */
static int p_query_json(txf_adapter *a, const char *sql, char **out,
                        txf_err *err) {
  *out = NULL;
  PGresult *r;
  int rc = run(a, sql, 0, NULL, &r, err);
  if (rc)
    return rc;
  txf_buf b;
  txf_buf_init(&b, 0);
  (void)txf_buf_putc(&b, '[');
  for (int i = 0; i < PQntuples(r); i++) {
    (void)txf_buf_puts(&b, i ? ",{" : "{");
    for (int j = 0; j < PQnfields(r); j++) {
      if (j)
        (void)txf_buf_putc(&b, ',');
      json_str(&b, PQfname(r, j));
      (void)txf_buf_putc(&b, ':');
      if (PQgetisnull(r, i, j))
        (void)txf_buf_puts(&b, "null");
      else
        json_str(&b, PQgetvalue(r, i, j));
    }
    (void)txf_buf_putc(&b, '}');
  }
  (void)txf_buf_putc(&b, ']');
  PQclear(r);
  *out = txf_buf_take(&b, NULL);
  return 0;
}

static int p_relation_kind(txf_adapter *a, const char *schema,
                           const char *name, txf_rel_kind *out,
                           txf_err *err) {
  PGresult *r;
  int rc = run_rel(a,
                   "SELECT CASE WHEN table_type = 'VIEW' THEN 2 ELSE 1 END "
                   "FROM information_schema.tables",
                   "", schema, name, &r, err);
  if (rc)
    return rc;
  int64_t k = 0;
  rc = first_i64(r, &k, err);
  PQclear(r);
  return txf_adapter_rel_kind_answer(rc, k, out);
}

static int p_columns(txf_adapter *a, const char *schema, const char *name,
                     char ***out, size_t *n_out, txf_err *err) {
  *out = NULL;
  *n_out = 0;
  PGresult *r;
  int rc = run_rel(a, "SELECT column_name FROM information_schema.columns",
                   " ORDER BY ordinal_position", schema, name, &r, err);
  if (rc)
    return rc;
  int rows = PQntuples(r);
  char **v = txf_xcalloc((size_t)rows + 1, sizeof *v);
  for (int i = 0; i < rows; i++)
    v[i] = txf_xstrdup(PQgetvalue(r, i, 0));
  PQclear(r);
  *out = v;
  *n_out = (size_t)rows;
  return 0;
}

/* The PostgreSQL type for a DuckDB type name (information_schema
 * data_type); text for anything unusual. */
static char *pg_type_of(const char *t) {
  static const char *const map[][2] = {
      {"VARCHAR", "text"},          {"BIGINT", "bigint"},
      {"INTEGER", "integer"},       {"SMALLINT", "smallint"},
      {"TINYINT", "smallint"},      {"DOUBLE", "double precision"},
      {"FLOAT", "real"},            {"BOOLEAN", "boolean"},
      {"DATE", "date"},             {"TIMESTAMP", "timestamp"},
      {"TIME", "time"},             {"HUGEINT", "numeric(38,0)"},
      {"TIMESTAMP WITH TIME ZONE", "timestamptz"}};
  for (size_t i = 0; i < TXF_ARRAY_LEN(map); i++)
    if (!strcmp(t, map[i][0]))
      return txf_xstrdup(map[i][1]);
  int p, s;
  if (sscanf(t, "DECIMAL(%d,%d)", &p, &s) == 2)
    return txf_xasprintf("numeric(%d,%d)", p, s);
  return txf_xstrdup("text");
}

/* COPY the rows of RES (every column as DuckDB renders it as text) into
 * REL. */
static int copy_rows(txf_adapter *a, const char *rel, duckdb_result *res,
                     txf_err *err) {
  char *sql = txf_xasprintf("COPY %s FROM STDIN", rel);
  PGresult *r = PQexec(C(a), sql);
  free(sql);
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    PQclear(r);
    return pg_fail(C(a), err, "COPY");
  }
  PQclear(r);
  idx_t rows = duckdb_row_count(res), cols = duckdb_column_count(res);
  txf_buf b;
  txf_buf_init(&b, 0);
  int rc = 0;
  for (idx_t i = 0; i < rows && !rc; i++) {
    for (idx_t j = 0; j < cols; j++) {
      if (j)
        (void)txf_buf_putc(&b, '\t');
      if (duckdb_value_is_null(res, j, i)) {
        (void)txf_buf_puts(&b, "\\N");
        continue;
      }
      char *v = duckdb_value_varchar(res, j, i);
      txf_buf_put_pgcopy(&b, v ? v : "", v ? strlen(v) : 0);
      duckdb_free(v);
    }
    (void)txf_buf_putc(&b, '\n');
    if (b.len >= COPY_CHUNK || i + 1 == rows) {
      if (PQputCopyData(C(a), b.data, (int)b.len) != 1)
        rc = pg_fail(C(a), err, "COPY data");
      txf_buf_reset(&b);
    }
  }
  txf_buf_release(&b);
  if (PQputCopyEnd(C(a), rc ? "txnflow: the seed could not be sent" : NULL) !=
          1 &&
      !rc)
    rc = pg_fail(C(a), err, "COPY end");
  while ((r = PQgetResult(C(a))) != NULL) {
    if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
      rc = pg_fail(C(a), err, "COPY");
    PQclear(r);
  }
  return rc;
}

static int p_create_from_csv(txf_adapter *a, const char *rel,
                             const char *path, const char *types,
                             txf_err *err) {
  txf_adapter *d;
  int rc = txf_adapter_open_duckdb(&d, NULL, 1, 0, err);
  if (rc)
    return rc;
  rc = d->ops->create_from_csv(d, "seed", path, types, err);
  duckdb_result res;
  txf_duck *dd = d->impl;
  if (!rc)
    rc = txf_duck_query(dd,
                        "SELECT column_name, data_type FROM "
                        "information_schema.columns WHERE table_name = "
                        "'seed' ORDER BY ordinal_position",
                        &res, err);
  if (rc) {
    txf_adapter_close(d);
    return rc;
  }
  txf_buf ddl;
  txf_buf_init(&ddl, 0);
  (void)txf_buf_printf(&ddl, "CREATE TABLE %s (", rel);
  for (idx_t i = 0; i < duckdb_row_count(&res); i++) {
    char *name = duckdb_value_varchar(&res, 0, i);
    char *type = duckdb_value_varchar(&res, 1, i);
    char *qn = txf_duck_quote_ident(name ? name : "");
    char *pt = pg_type_of(type ? type : "");
    (void)txf_buf_printf(&ddl, "%s%s %s", i ? ", " : "", qn, pt);
    free(qn);
    free(pt);
    duckdb_free(name);
    duckdb_free(type);
  }
  (void)txf_buf_putc(&ddl, ')');
  duckdb_destroy_result(&res);
  rc = p_exec(a, ddl.data, err);
  txf_buf_release(&ddl);
  if (!rc)
    rc = txf_duck_query(dd, "SELECT * FROM seed", &res, err);
  if (!rc) {
    rc = copy_rows(a, rel, &res, err);
    duckdb_destroy_result(&res);
  }
  txf_adapter_close(d);
  return rc;
}

static void p_close(txf_adapter *a) { PQfinish(C(a)); }

static const txf_adapter_ops pg_ops = {
    "postgres", p_exec,           p_query_i64, p_query_json, p_relation_kind,
    p_columns,  p_create_from_csv, p_close,     NULL};
static const txf_adapter_ops redshift_ops = {
    "redshift", p_exec,           p_query_i64, p_query_json, p_relation_kind,
    p_columns,  p_create_from_csv, p_close,     NULL};

/* Server notices ("schema already exists, skipping") are not for people. */
static void quiet_notice(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

int txf_adapter_open_postgres(txf_adapter **out, const char *const *keys,
                              const char *const *vals, int redshift,
                              txf_err *err) {
  *out = NULL;
  PGconn *c = PQconnectdbParams(keys, vals, 0);
  if (!c || PQstatus(c) != CONNECTION_OK) {
    int rc = c ? pg_fail(c, err, "connect")
               : txf_err_set(err, TXF_EDB, "connect: out of memory");
    PQfinish(c);
    return rc;
  }
  PQsetNoticeProcessor(c, quiet_notice, NULL);
  txf_adapter *a = txf_adapter_new(redshift ? &redshift_ops : &pg_ops, c);
  int rc = p_exec(a, "SET TIME ZONE 'UTC'", err);
  if (rc) {
    txf_adapter_close(a);
    return rc;
  }
  *out = a;
  return 0;
}
