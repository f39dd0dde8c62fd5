/* DuckDB helpers. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"

struct txf_duck {
  duckdb_database db;
  duckdb_connection conn;
  int owns_db; /* 0 for a txf_duck_connect() handle */
};

int txf_duck_open(txf_duck **out, const char *path, int threads, int readonly,
                  txf_err *err) {
  *out = NULL;
  txf_duck *d = txf_xcalloc(1, sizeof *d);
  duckdb_config cfg = NULL;
  if (duckdb_create_config(&cfg) != DuckDBSuccess) {
    free(d);
    return txf_err_set(err, TXF_EDB, "duckdb: cannot create config");
  }
  if (readonly)
    duckdb_set_config(cfg, "access_mode", "READ_ONLY");
  char tbuf[16];
  if (threads > 0) {
    snprintf(tbuf, sizeof tbuf, "%d", threads);
    duckdb_set_config(cfg, "threads", tbuf);
  }
  /* No network, no surprises: extensions are never downloaded. */
  duckdb_set_config(cfg, "autoinstall_known_extensions", "false");
  duckdb_set_config(cfg, "autoload_known_extensions", "false");
  char *msg = NULL;
  const char *p = path && strcmp(path, ":memory:") != 0 ? path : NULL;
  if (duckdb_open_ext(p, &d->db, cfg, &msg) != DuckDBSuccess) {
    int code = msg && strstr(msg, "lock") ? TXF_ELOCKED : TXF_EDB;
    int rc = txf_err_set(err, code, "duckdb: cannot open %s: %s",
                         p ? p : ":memory:", msg ? msg : "unknown error");
    duckdb_free(msg);
    duckdb_destroy_config(&cfg);
    free(d);
    return rc;
  }
  duckdb_destroy_config(&cfg);
  if (duckdb_connect(d->db, &d->conn) != DuckDBSuccess) {
    duckdb_close(&d->db);
    free(d);
    return txf_err_set(err, TXF_EDB, "duckdb: cannot connect to %s",
                       p ? p : ":memory:");
  }
  d->owns_db = 1;
  *out = d;
  return 0;
}

int txf_duck_connect(txf_duck **out, txf_duck *d, txf_err *err) {
  *out = NULL;
  txf_duck *c = txf_xcalloc(1, sizeof *c);
  c->db = d->db;
  if (duckdb_connect(c->db, &c->conn) != DuckDBSuccess) {
    free(c);
    return txf_err_set(err, TXF_EDB, "duckdb: cannot open a connection");
  }
  *out = c;
  return 0;
}

void txf_duck_close(txf_duck *d) {
  if (!d)
    return;
  duckdb_disconnect(&d->conn);
  if (d->owns_db)
    duckdb_close(&d->db);
  free(d);
}

duckdb_connection txf_duck_conn(txf_duck *d) { return d->conn; }

int txf_duck_query(txf_duck *d, const char *sql, duckdb_result *res,
                   txf_err *err) {
  if (duckdb_query(d->conn, sql, res) != DuckDBSuccess) {
    const char *m = duckdb_result_error(res);
    int rc = txf_err_set(err, TXF_EDB, "%s", m ? m : "query failed");
    duckdb_destroy_result(res);
    return rc;
  }
  return 0;
}

int txf_duck_exec(txf_duck *d, const char *sql, txf_err *err) {
  duckdb_result res;
  int rc = txf_duck_query(d, sql, &res, err);
  if (!rc)
    duckdb_destroy_result(&res);
  return rc;
}

int txf_duck_query_str(txf_duck *d, const char *sql, char **out,
                       txf_err *err) {
  *out = NULL;
  duckdb_result res;
  int rc = txf_duck_query(d, sql, &res, err);
  if (rc)
    return rc;
  if (duckdb_row_count(&res) == 0 || duckdb_column_count(&res) == 0) {
    rc = txf_err_set(err, TXF_ENOTFOUND, "query returned no rows");
  } else if (!duckdb_value_is_null(&res, 0, 0)) {
    char *v = duckdb_value_varchar(&res, 0, 0);
    *out = txf_xstrdup(v ? v : "");
    duckdb_free(v);
  }
  duckdb_destroy_result(&res);
  return rc;
}

int txf_duck_query_i64(txf_duck *d, const char *sql, int64_t *out,
                       txf_err *err) {
  char *s = NULL;
  int rc = txf_duck_query_str(d, sql, &s, err);
  if (rc)
    return rc;
  if (!s)
    return txf_err_set(err, TXF_ENOTFOUND, "query returned NULL");
  rc = txf_parse_i64(s, out);
  if (rc)
    rc = txf_err_set(err, TXF_EPARSE, "query returned '%s', not an integer",
                     s);
  free(s);
  return rc;
}

static void csv_field(FILE *out, const char *s) {
  if (!s)
    return;
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

int txf_duck_print(txf_duck *d, const char *sql, FILE *out,
                   txf_duck_format fmt, txf_err *err) {
  duckdb_result res;
  int rc = txf_duck_query(d, sql, &res, err);
  if (rc)
    return rc;
  idx_t nc = duckdb_column_count(&res), nr = duckdb_row_count(&res);
  char ***cells = txf_xcalloc(nr ? nr : 1, sizeof *cells);
  for (idx_t r = 0; r < nr; r++) {
    cells[r] = txf_xcalloc(nc ? nc : 1, sizeof **cells);
    for (idx_t c = 0; c < nc; c++)
      cells[r][c] = duckdb_value_is_null(&res, c, r)
                        ? NULL
                        : duckdb_value_varchar(&res, c, r);
  }
  if (fmt == TXF_DUCK_CSV) {
    for (idx_t c = 0; c < nc; c++) {
      if (c)
        fputc(',', out);
      csv_field(out, duckdb_column_name(&res, c));
    }
    fputc('\n', out);
    for (idx_t r = 0; r < nr; r++) {
      for (idx_t c = 0; c < nc; c++) {
        if (c)
          fputc(',', out);
        csv_field(out, cells[r][c]);
      }
      fputc('\n', out);
    }
  } else if (fmt == TXF_DUCK_JSON) {
    json_t *arr = json_array();
    for (idx_t r = 0; r < nr; r++) {
      json_t *o = json_object();
      for (idx_t c = 0; c < nc; c++)
        json_object_set_new(o, duckdb_column_name(&res, c),
                            cells[r][c] ? json_string(cells[r][c])
                                        : json_null());
      json_array_append_new(arr, o);
    }
    char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(out, "%s\n", s ? s : "[]");
    free(s);
    json_decref(arr);
  } else {
    size_t *w = txf_xcalloc(nc ? nc : 1, sizeof *w);
    for (idx_t c = 0; c < nc; c++) {
      w[c] = strlen(duckdb_column_name(&res, c));
      for (idx_t r = 0; r < nr; r++) {
        size_t l = cells[r][c] ? strlen(cells[r][c]) : 4;
        if (l > w[c])
          w[c] = l;
      }
      if (w[c] > 40)
        w[c] = 40;
    }
    for (idx_t c = 0; c < nc; c++)
      fprintf(out, "%s%-*s", c ? "  " : "", (int)w[c],
              duckdb_column_name(&res, c));
    fputc('\n', out);
    for (idx_t r = 0; r < nr; r++) {
      for (idx_t c = 0; c < nc; c++)
        fprintf(out, "%s%-*.*s", c ? "  " : "", (int)w[c], (int)w[c],
                cells[r][c] ? cells[r][c] : "NULL");
      fputc('\n', out);
    }
    free(w);
  }
  for (idx_t r = 0; r < nr; r++) {
    for (idx_t c = 0; c < nc; c++)
      duckdb_free(cells[r][c]);
    free(cells[r]);
  }
  free(cells);
  duckdb_destroy_result(&res);
  return 0;
}

static char *quote(const char *s, char q) {
  txf_buf b;
  txf_buf_init(&b, 0);
  (void)txf_buf_putc(&b, q);
  for (; *s; s++) {
    if (*s == q)
      (void)txf_buf_putc(&b, q);
    (void)txf_buf_putc(&b, *s);
  }
  (void)txf_buf_putc(&b, q);
  return txf_buf_take(&b, NULL);
}

char *txf_duck_quote_str(const char *s) { return quote(s, '\''); }
char *txf_duck_quote_ident(const char *s) { return quote(s, '"'); }

char *txf_duck_quote_rel(const char *schema, const char *name) {
  char *a = txf_duck_quote_ident(schema), *b = txf_duck_quote_ident(name);
  char *r = txf_xasprintf("%s.%s", a, b);
  free(a);
  free(b);
  return r;
}
