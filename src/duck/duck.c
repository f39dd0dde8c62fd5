/* DuckDB helpers. */
#include <dirent.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"

struct txf_duck {
  duckdb_database db;
  duckdb_connection conn;
  int owns_db; /* 0 for a txf_duck_connect() handle */
  int sealed;  /* a read-only session: statements are checked one by one */
  int holds;   /* txf_duck_hold(): each statement runs beside a read
                  transaction on HOLD */
  duckdb_connection hold;
};

/* Open PATH with CFG (consumed) into a new handle. */
static int open_cfg(txf_duck **out, const char *path, duckdb_config cfg,
                    txf_err *err) {
  *out = NULL;
  txf_duck *d = txf_xcalloc(1, sizeof *d);
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

static int new_config(duckdb_config *cfg, int threads, int readonly,
                      txf_err *err) {
  if (duckdb_create_config(cfg) != DuckDBSuccess)
    return txf_err_set(err, TXF_EDB, "duckdb: cannot create config");
  if (readonly)
    duckdb_set_config(*cfg, "access_mode", "READ_ONLY");
  char tbuf[16];
  if (threads > 0) {
    snprintf(tbuf, sizeof tbuf, "%d", threads);
    duckdb_set_config(*cfg, "threads", tbuf);
  }
  /* No network, no surprises: extensions are never downloaded. */
  duckdb_set_config(*cfg, "autoinstall_known_extensions", "false");
  duckdb_set_config(*cfg, "autoload_known_extensions", "false");
  return 0;
}

int txf_duck_open(txf_duck **out, const char *path, int threads, int readonly,
                  txf_err *err) {
  *out = NULL;
  duckdb_config cfg = NULL;
  int rc = new_config(&cfg, threads, readonly, err);
  return rc ? rc : open_cfg(out, path, cfg, err);
}

/* ---------------------------------------------------------------- sealed */

/* Append "'ITEM', " (quoted) to B. */
static void list_add(txf_buf *b, const char *item) {
  char *q = txf_duck_quote_str(item);
  (void)txf_buf_puts(b, b->len && b->data[b->len - 1] != '[' ? ", " : "");
  (void)txf_buf_puts(b, q);
  free(q);
}

/* DuckDB compares a path with allowed_directories as written, without
 * making it absolute, so a directory a query may name relative to the
 * working directory is allowed in that spelling too: DIR under CWD as
 * "sub/dir/", CWD itself as each of its entries ("name/" for directories
 * into DIRS, "name" for files into PATHS). */
static void allow_dir(txf_buf *dirs, txf_buf *paths, const char *dir,
                      const char *cwd) {
  list_add(dirs, dir);
  size_t cl = cwd ? strlen(cwd) : 0;
  if (!cl || strncmp(dir, cwd, cl) != 0)
    return;
  if (dir[cl] == '/' && dir[cl + 1]) {
    char *rel = txf_xasprintf("%s/", dir + cl + 1);
    list_add(dirs, rel);
    free(rel);
    return;
  }
  if (dir[cl] != '\0')
    return;
  DIR *dp = opendir(dir);
  struct dirent *e;
  while (dp && (e = readdir(dp))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char *full = txf_path_join(dir, e->d_name);
    if (txf_fs_is_dir(full)) {
      char *rel = txf_xasprintf("%s/", e->d_name);
      list_add(dirs, rel);
      free(rel);
    } else {
      list_add(paths, e->d_name);
    }
    free(full);
  }
  if (dp)
    closedir(dp);
}

int txf_duck_open_sealed(txf_duck **out, const char *path,
                         const txf_duck_seal *seal, txf_err *err) {
  *out = NULL;
  const char *p = path && strcmp(path, ":memory:") != 0 ? path : NULL;
  duckdb_config cfg = NULL;
  int rc = new_config(&cfg, seal->threads, p != NULL, err);
  if (rc)
    return rc;
  /* Secrets would be written under ~/.duckdb; a spill goes only where we
   * say (an empty string: nowhere). */
  duckdb_set_config(cfg, "allow_persistent_secrets", "false");
  duckdb_set_config(cfg, "allow_community_extensions", "false");
  duckdb_set_config(cfg, "allow_unsigned_extensions", "false");
  duckdb_set_config(cfg, "temp_directory",
                    seal->temp_dir ? seal->temp_dir : "");
  txf_duck *d = NULL;
  rc = open_cfg(&d, p, cfg, err);
  if (rc)
    return rc;
  /* The order matters: the allowed paths can only be set while external
   * access is on, and the lock comes last so no query can lift any of
   * it. */
  txf_buf dirs, paths;
  txf_buf_init(&dirs, 0);
  txf_buf_init(&paths, 0);
  (void)txf_buf_puts(&dirs, "[");
  (void)txf_buf_puts(&paths, "[");
  for (const char *const *r = seal->read_dirs; r && *r; r++)
    allow_dir(&dirs, &paths, *r, seal->cwd);
  (void)txf_buf_puts(&dirs, "]");
  (void)txf_buf_puts(&paths, "]");
  char *sql = txf_xasprintf("SET allowed_directories = %s;"
                            " SET allowed_paths = %s;"
                            " SET enable_external_access = false;"
                            " SET lock_configuration = true",
                            dirs.data, paths.data);
  txf_buf_release(&dirs);
  txf_buf_release(&paths);
  rc = txf_duck_exec(d, sql, err);
  free(sql);
  if (rc) {
    txf_duck_close(d);
    return txf_err_wrap(err, "duckdb: cannot seal the session");
  }
  d->sealed = 1;
  *out = d;
  return 0;
}

/* The statements a read-only session runs: queries, and changes to its
 * own catalog (in memory, or refused by DuckDB on a read-only file). The
 * others reach files, extensions or settings. */
static const char *refused_kind(duckdb_statement_type t) {
  switch (t) {
  case DUCKDB_STATEMENT_TYPE_SELECT:
  case DUCKDB_STATEMENT_TYPE_EXPLAIN:
  case DUCKDB_STATEMENT_TYPE_INSERT:
  case DUCKDB_STATEMENT_TYPE_UPDATE:
  case DUCKDB_STATEMENT_TYPE_DELETE:
  case DUCKDB_STATEMENT_TYPE_CREATE:
  case DUCKDB_STATEMENT_TYPE_CREATE_FUNC:
  case DUCKDB_STATEMENT_TYPE_DROP:
  case DUCKDB_STATEMENT_TYPE_ALTER:
  case DUCKDB_STATEMENT_TYPE_TRANSACTION:
  case DUCKDB_STATEMENT_TYPE_PREPARE:
  case DUCKDB_STATEMENT_TYPE_EXECUTE:
  case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
  case DUCKDB_STATEMENT_TYPE_SET: /* the configuration is locked */
    return NULL;
  case DUCKDB_STATEMENT_TYPE_COPY:
    return "COPY";
  case DUCKDB_STATEMENT_TYPE_EXPORT:
    return "EXPORT";
  case DUCKDB_STATEMENT_TYPE_ATTACH:
    return "ATTACH";
  case DUCKDB_STATEMENT_TYPE_DETACH:
    return "DETACH";
  case DUCKDB_STATEMENT_TYPE_LOAD:
    return "INSTALL or LOAD";
  case DUCKDB_STATEMENT_TYPE_CALL:
    return "CALL";
  case DUCKDB_STATEMENT_TYPE_PRAGMA:
    return "PRAGMA";
  case DUCKDB_STATEMENT_TYPE_VACUUM:
    return "VACUUM";
  case DUCKDB_STATEMENT_TYPE_ANALYZE:
    return "ANALYZE";
  default:
    return "this kind of";
  }
}

/* Run SQL one statement at a time, refusing the kinds above; the last
 * statement's result goes to *RES. */
static int query_sealed(txf_duck *d, const char *sql, duckdb_result *res,
                        txf_err *err) {
  /* Starting a file log is a table function, so no statement kind shows
   * it; the kernel guard of `txnflow sql` stops the writes, this gives
   * the plain answer first. */
  if (strcasestr(sql, "enable_logging"))
    return txf_err_set(err, TXF_EUSAGE,
                       "enable_logging is refused in a read-only session "
                       "(it writes log files); --write allows it");
  duckdb_extracted_statements ex = NULL;
  idx_t n = duckdb_extract_statements(d->conn, sql, &ex);
  int rc = 0;
  if (n == 0) {
    const char *m = duckdb_extract_statements_error(ex);
    rc = txf_err_set(err, TXF_EDB, "%s", m ? m : "no statement to run");
  }
  for (idx_t i = 0; i < n && !rc; i++) {
    duckdb_prepared_statement ps = NULL;
    if (duckdb_prepare_extracted_statement(d->conn, ex, i, &ps) !=
        DuckDBSuccess) {
      const char *m = duckdb_prepare_error(ps);
      rc = txf_err_set(err, TXF_EDB, "%s", m ? m : "prepare failed");
      duckdb_destroy_prepare(&ps);
      break;
    }
    const char *kind = refused_kind(duckdb_prepared_statement_type(ps));
    if (kind) {
      rc = txf_err_set(err, TXF_EUSAGE,
                       "%s statements are refused in a read-only session "
                       "(statement %llu); --write allows them",
                       kind, (unsigned long long)i + 1);
      duckdb_destroy_prepare(&ps);
      break;
    }
    duckdb_result r;
    if (duckdb_execute_prepared(ps, &r) != DuckDBSuccess) {
      const char *m = duckdb_result_error(&r);
      rc = txf_err_set(err, TXF_EDB, "%s", m ? m : "query failed");
      duckdb_destroy_result(&r);
    } else if (i + 1 < n) {
      duckdb_destroy_result(&r);
    } else {
      *res = r;
    }
    duckdb_destroy_prepare(&ps);
  }
  duckdb_destroy_extracted(&ex);
  return rc;
}

/* ------------------------------------------------------------ checkpoints */

/* Why hold: DuckDB's full checkpoint (the one it runs when no other
 * transaction is open) first counts the committed rows of every row group
 * of every table to decide on a vacuum, which loads each row group's
 * deletes, and a row group whose deletes are loaded counts as changed: it
 * is rewritten, at every checkpoint, whatever the checkpoint is for. A
 * table kept by change carries deletes in most of its row groups, so every
 * checkpoint cost what the warehouse held (decision 1801, twelfth round).
 * Beside another open transaction DuckDB checkpoints concurrently: no
 * vacuum, so only the row groups the session touched are written. */

int txf_duck_hold(txf_duck *d, txf_err *err) {
  if (d->holds)
    return 0;
  if (duckdb_connect(d->db, &d->hold) != DuckDBSuccess)
    return txf_err_set(err, TXF_EDB, "duckdb: cannot open a connection");
  d->holds = 1;
  return 0;
}

/* Open the read transaction D holds while one statement runs (a catalog
 * read starts it on the database: BEGIN alone does not). */
static void hold_begin(txf_duck *d) {
  duckdb_result r;
  if (duckdb_query(d->hold, "BEGIN TRANSACTION", &r) == DuckDBSuccess) {
    duckdb_destroy_result(&r);
    (void)duckdb_query(d->hold, "SELECT 1 FROM duckdb_schemas() LIMIT 1", &r);
  }
  duckdb_destroy_result(&r);
}

static void hold_end(txf_duck *d) {
  duckdb_result r;
  (void)duckdb_query(d->hold, "COMMIT", &r);
  duckdb_destroy_result(&r);
}

/* Bytes of FILE, 0 when there is none. */
static int64_t file_bytes(const char *file) {
  struct stat st;
  return stat(file, &st) ? 0 : (int64_t)st.st_size;
}

int txf_duck_checkpoint_held(txf_duck *d, const char *path,
                             const char *write_sql, txf_err *err) {
  char *wal = txf_xasprintf("%s.wal", path);
  int rc = 0;
  if (d->holds && file_bytes(wal) > 0) {
    /* a commit whose log passes the threshold checkpoints, beside the
     * hold: concurrently (what fails here is left to the full one) */
    char *was = NULL;
    txf_err e;
    if (!txf_duck_query_str(d,
                            "SELECT current_setting('checkpoint_threshold')",
                            &was, &e) &&
        !txf_duck_exec(d, "SET checkpoint_threshold = '0b'", &e)) {
      if (txf_duck_exec(d, write_sql, &e) &&
          txf_duck_exec(d, "ROLLBACK", &e)) {
        /* (no transaction left open): the WAL stays for the full
         * checkpoint below */
      }
      /* (the threshold as it was: a profile may have set it) */
      char *q = txf_duck_quote_str(was ? was : "16MiB");
      char *restore = txf_xasprintf("SET checkpoint_threshold = %s", q);
      rc = txf_duck_exec(d, restore, err);
      TXF_FREE_ALL(q, restore);
    }
    free(was);
  }
  if (!rc && file_bytes(wal) > 0) {
    /* not checkpointed (no hold, or DuckDB would not checkpoint beside
     * it: WRITE_SQL updated rows or dropped an entry): a full checkpoint,
     * without the hold */
    int holds = d->holds;
    d->holds = 0;
    rc = txf_duck_exec(d, "CHECKPOINT", err);
    d->holds = holds;
  }
  free(wal);
  return rc;
}

int txf_duck_connect(txf_duck **out, txf_duck *d, txf_err *err) {
  *out = NULL;
  txf_duck *c = txf_xcalloc(1, sizeof *c);
  c->db = d->db;
  c->sealed = d->sealed;
  if (duckdb_connect(c->db, &c->conn) != DuckDBSuccess) {
    free(c);
    return txf_err_set(err, TXF_EDB, "duckdb: cannot open a connection");
  }
  if (d->holds && txf_duck_hold(c, err)) {
    txf_duck_close(c);
    return TXF_EDB;
  }
  *out = c;
  return 0;
}

void txf_duck_close(txf_duck *d) {
  if (!d)
    return;
  duckdb_disconnect(&d->conn);
  if (d->holds)
    duckdb_disconnect(&d->hold);
  if (d->owns_db)
    duckdb_close(&d->db);
  free(d);
}

duckdb_connection txf_duck_conn(txf_duck *d) { return d->conn; }

int txf_duck_query(txf_duck *d, const char *sql, duckdb_result *res,
                   txf_err *err) {
  if (d->sealed)
    return query_sealed(d, sql, res, err);
  if (d->holds)
    hold_begin(d);
  duckdb_state st = duckdb_query(d->conn, sql, res);
  if (d->holds)
    hold_end(d);
  if (st != DuckDBSuccess) {
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

/* SQL's wall and CPU time since T0 and C0 into LOG (or nowhere), after
 * WHO. */
static void log_timed(const txf_logger *log, const char *who, const char *sql,
                      int64_t t0, int64_t c0) {
  if (log)
    txf_log_debug(log, "%s: %.3fs (cpu %.3fs) %.100s", who,
                  (double)(txf_mono_us() - t0) / 1e6,
                  (double)(txf_cpu_us() - c0) / 1e6, sql);
}

/* SQL's first column as int64 (an INSERT's: its row count), timed. */
static int timed_i64(txf_duck *d, const char *sql, int64_t *out,
                     const txf_logger *log, const char *who, txf_err *err) {
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
  int rc = txf_duck_query_i64(d, sql, out, err);
  log_timed(log, who, sql, t0, c0);
  return rc;
}

char *txf_duck_value(duckdb_result *res, idx_t col, idx_t row) {
  if (duckdb_value_is_null(res, col, row))
    return NULL;
  char *v = duckdb_value_varchar(res, col, row);
  char *s = txf_xstrdup(v);
  duckdb_free(v);
  return s;
}

/* One pass per row of VALS (value as text, its type), then the NULLs. */
static int insert_passes(txf_duck *d, const char *head, const char *src,
                         const char *order, duckdb_result *vals, int64_t *in,
                         const txf_logger *log, const char *who, txf_err *err) {
  idx_t nv = duckdb_row_count(vals);
  int rc = 0;
  for (idx_t r = 0; !rc && r <= nv; r++) {
    char *where;
    if (r < nv) {
      char *v = txf_duck_value(vals, 0, r), *ty = txf_duck_value(vals, 1, r);
      char *q = txf_duck_quote_str(v ? v : "");
      where =
          txf_xasprintf("%s = CAST(%s AS %s)", order, q, ty ? ty : "VARCHAR");
      TXF_FREE_ALL(v, ty, q);
    } else {
      where = txf_xasprintf("%s IS NULL", order);
    }
    char *sql = txf_xasprintf("%s FROM %s WHERE %s", head, src, where);
    int64_t k = 0;
    rc = timed_i64(d, sql, &k, log, who, err);
    *in += k;
    TXF_FREE_ALL(sql, where);
  }
  return rc;
}

int txf_duck_insert_ordered(txf_duck *d, const char *head, const char *src,
                            const char *order, int max_passes,
                            const txf_logger *log, const char *who,
                            txf_err *err) {
  duckdb_result vals;
  char *sql = txf_xasprintf(
      "SELECT CAST(v AS VARCHAR), typeof(v) FROM (SELECT DISTINCT %s AS v "
      "FROM %s WHERE %s IS NOT NULL) ORDER BY v LIMIT %d",
      order, src, order, max_passes + 1);
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
  int rc = txf_duck_query(d, sql, &vals, err);
  log_timed(log, who, sql, t0, c0);
  free(sql);
  if (rc)
    return rc;
  int64_t in = 0, all = 0;
  if (duckdb_row_count(&vals) > (idx_t)max_passes) {
    sql = txf_xasprintf("%s FROM %s ORDER BY %s", head, src, order);
    rc = timed_i64(d, sql, &in, log, who, err);
    free(sql);
  } else {
    rc = insert_passes(d, head, src, order, &vals, &in, log, who, err);
  }
  duckdb_destroy_result(&vals);
  if (!rc) {
    sql = txf_xasprintf("SELECT count(*) FROM %s", src);
    rc = txf_duck_query_i64(d, sql, &all, err);
    free(sql);
  }
  if (!rc && in != all)
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%" PRId64 " of %" PRId64 " rows of %s inserted by %s", in,
                     all, src, order);
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

char *txf_duck_table_rows_sql(const char *db, const char *schema,
                              const char *name) {
  char *qd = db ? txf_duck_quote_str(db) : txf_xstrdup("current_database()");
  char *qs = txf_duck_quote_str(schema), *qn = txf_duck_quote_str(name);
  char *sql = txf_xasprintf(
      "SELECT COALESCE(sum(estimated_size), 0) FROM duckdb_tables() WHERE "
      "database_name = %s AND schema_name = %s AND table_name = %s",
      qd, qs, qn);
  TXF_FREE_ALL(qd, qs, qn);
  return sql;
}
