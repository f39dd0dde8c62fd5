/* scan-pans: walk files and report every PAN in them, masked. Each kind
 * of file is read the way its data is stored, so a compressed page or a
 * database's column is no hiding place; a file that cannot be read is a
 * problem reported, never a silent pass. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "duck/duck.h"
#include "metadata/metadata.h"
#include "pan.h"
#include "parquet/parquet.h"

/* A sound pre-filter for SQL: every number txf_pan_find() finds holds a
 * match of it (a first digit 2..6 and twelve more, single separators
 * allowed), so rows without one need not leave the database. */
#define PAN_SQL_REGEX "[2-6]([ -]?[0-9]){12}"

/* Record M, found in PATH at WHERE (a malloc'd text this takes over). */
static void add_finding(txf_pan_scan *s, const char *path,
                        const txf_pan_match *m, char *where) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 16;
    s->v = txf_xrealloc(s->v, s->cap * sizeof *s->v);
  }
  txf_pan_finding *f = &s->v[s->n++];
  f->path = txf_xstrdup(path);
  f->where = where;
  txf_pan_mask_digits(m->digits, m->n_digits, f->masked);
}

static void add_problem(txf_pan_scan *s, const char *path, const txf_err *e) {
  char *p = txf_xasprintf("%s: %s", path, e->msg);
  txf_strlist_push(&s->problems, p);
  free(p);
}

/* ---------------------------------------------------------------- lines */

/* Bytes cut into lines, each scanned when complete. */
typedef struct lines {
  txf_pan_scan *s;
  const char *path;
  txf_buf line;
  uint64_t line_no;
} lines;

static void lines_scan(lines *l) {
  txf_pan_match m;
  size_t from = 0;
  l->line_no++;
  while (txf_pan_find(l->line.data, l->line.len, from, &m)) {
    add_finding(l->s, l->path, &m,
                txf_xasprintf("line %llu, column %zu",
                              (unsigned long long)l->line_no, m.start + 1));
    from = m.end;
  }
  txf_buf_reset(&l->line);
}

static void lines_feed(lines *l, const char *p, size_t n) {
  while (n) {
    const char *nl = memchr(p, '\n', n);
    size_t k = nl ? (size_t)(nl - p) : n;
    txf_buf_append(&l->line, p, k);
    if (!nl)
      return;
    lines_scan(l);
    p += k + 1;
    n -= k + 1;
  }
}

static int scan_text(txf_pan_scan *s, const char *path, int fd, int zstd,
                     txf_err *err) {
  lines l = {s, path, {0}, 0};
  txf_buf_init(&l.line, 0);
  enum { CHUNK = 1 << 16 };
  char *in = txf_xmalloc(CHUNK), *out = zstd ? txf_xmalloc(CHUNK) : NULL;
  ZSTD_DStream *zs = zstd ? ZSTD_createDStream() : NULL;
  int rc = 0;
  size_t zret = 0; /* ZSTD: 0 after a whole frame */
  for (;;) {
    ssize_t r = read(fd, in, CHUNK);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rc = txf_err_errno(err, TXF_EIO, "read");
      break;
    }
    if (r == 0)
      break;
    if (!zstd) {
      lines_feed(&l, in, (size_t)r);
      continue;
    }
    ZSTD_inBuffer ib = {in, (size_t)r, 0};
    for (;;) {
      ZSTD_outBuffer ob = {out, CHUNK, 0};
      zret = ZSTD_decompressStream(zs, &ob, &ib);
      if (ZSTD_isError(zret)) {
        rc =
            txf_err_set(err, TXF_ECORRUPT, "zstd: %s", ZSTD_getErrorName(zret));
        break;
      }
      lines_feed(&l, out, ob.pos);
      /* A full output buffer may leave more behind for the same input. */
      if (ib.pos == ib.size && ob.pos < ob.size)
        break;
    }
    if (rc)
      break;
  }
  if (!rc && zstd && zret != 0)
    rc = txf_err_set(err, TXF_ECORRUPT, "zstd: the file ends mid-frame");
  if (l.line.len)
    lines_scan(&l);
  ZSTD_freeDStream(zs);
  free(out);
  free(in);
  txf_buf_release(&l.line);
  return rc;
}

/* ---------------------------------------------------------------- DuckDB */

/* Every value of column COL of relation REL (SQL) that may hold a PAN,
 * with its row number in the relation's order. */
static int scan_duck_column(txf_pan_scan *s, const char *path, txf_duck *d,
                            const char *rel, const char *label, const char *col,
                            txf_err *err) {
  char *qc = txf_duck_quote_ident(col);
  char *sql = txf_xasprintf(
      "SELECT n, v FROM (SELECT row_number() OVER () AS n, CAST(%s AS "
      "VARCHAR) AS v FROM %s) WHERE regexp_matches(v, '" PAN_SQL_REGEX
      "') ORDER BY n",
      qc, rel);
  duckdb_result res;
  int rc = txf_duck_query(d, sql, &res, err);
  free(sql);
  if (!rc) {
    idx_t nr = duckdb_row_count(&res);
    for (idx_t r = 0; r < nr; r++) {
      int64_t row = duckdb_value_int64(&res, 0, r);
      char *v = duckdb_value_varchar(&res, 1, r);
      txf_pan_match m;
      size_t from = 0, len = v ? strlen(v) : 0;
      while (v && txf_pan_find(v, len, from, &m)) {
        add_finding(s, path, &m,
                    txf_xasprintf("%s, column %s, row %lld", label, col,
                                  (long long)row));
        from = m.end;
      }
      duckdb_free(v);
    }
    duckdb_destroy_result(&res);
  }
  free(qc);
  return rc;
}

/* Every column of relation REL (SQL), named LABEL in findings. */
static int scan_duck_relation(txf_pan_scan *s, const char *path, txf_duck *d,
                              const char *rel, const char *label,
                              txf_err *err) {
  char *sql = txf_xasprintf("SELECT column_name FROM (DESCRIBE SELECT * FROM "
                            "%s)",
                            rel);
  duckdb_result res;
  int rc = txf_duck_query(d, sql, &res, err);
  free(sql);
  if (rc)
    return rc;
  txf_strlist cols = {0};
  for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
    char *c = duckdb_value_varchar(&res, 0, r);
    txf_strlist_push(&cols, c);
    duckdb_free(c);
  }
  duckdb_destroy_result(&res);
  for (size_t i = 0; i < cols.n && !rc; i++)
    rc = scan_duck_column(s, path, d, rel, label, cols.v[i], err);
  txf_strlist_release(&cols);
  return rc;
}

static int scan_duckdb_file(txf_pan_scan *s, const char *path, txf_err *err) {
  txf_duck *d;
  int rc = txf_duck_open(&d, path, 1, 1, err);
  if (rc)
    return rc;
  duckdb_result res;
  rc = txf_duck_query(d,
                      "SELECT schema_name, table_name FROM duckdb_tables() "
                      "WHERE database_name = current_database() ORDER BY 1, 2",
                      &res, err);
  if (!rc) {
    idx_t nr = duckdb_row_count(&res);
    for (idx_t r = 0; r < nr && !rc; r++) {
      char *sc = duckdb_value_varchar(&res, 0, r);
      char *tb = duckdb_value_varchar(&res, 1, r);
      char *rel = txf_duck_quote_rel(sc, tb);
      char *label = txf_xasprintf("table %s.%s", sc, tb);
      rc = scan_duck_relation(s, path, d, rel, label, err);
      free(label);
      free(rel);
      duckdb_free(sc);
      duckdb_free(tb);
    }
    duckdb_destroy_result(&res);
  }
  /* A view's SQL is text the database keeps too. */
  if (!rc)
    rc = scan_duck_relation(
        s, path, d,
        "(SELECT schema_name || '.' || view_name AS view, sql FROM "
        "duckdb_views() WHERE database_name = current_database() AND NOT "
        "internal ORDER BY 1)",
        "view definitions", err);
  txf_duck_close(d);
  return rc;
}

/* ---------------------------------------------------------------- Parquet */

static void scan_value(txf_pan_scan *s, const char *path, const char *p,
                       size_t n, int64_t row, const char *col) {
  txf_pan_match m;
  size_t from = 0;
  while (txf_pan_find(p, n, from, &m)) {
    add_finding(s, path, &m,
                txf_xasprintf("row %lld, column %s", (long long)row, col));
    from = m.end;
  }
}

static int scan_parquet_ours(txf_pan_scan *s, const char *path, txf_err *err) {
  txf_pq_reader *r;
  int rc = txf_pq_reader_open(&r, path, err);
  if (rc)
    return rc;
  /* The footer: statistics (a string column's min and max are values of
   * it) and key-value metadata, as describe prints them. */
  txf_buf text;
  txf_buf_init(&text, 0);
  rc = txf_pq_reader_describe(r, 0, &text, err);
  if (!rc) {
    txf_pan_match m;
    size_t from = 0;
    size_t line = 1, counted = 0;
    while (txf_pan_find(text.data, text.len, from, &m)) {
      for (; counted < m.start; counted++)
        line += text.data[counted] == '\n';
      add_finding(s, path, &m,
                  txf_xasprintf(
                      "footer (line %zu of `txnflow parquet inspect`)", line));
      from = m.end;
    }
  }
  const txf_pq_schema *sc = txf_pq_reader_schema(r);
  txf_pq_value *row = txf_xcalloc(sc->n_cols + 1, sizeof *row);
  for (int64_t rn = 1; !rc; rn++) {
    int has;
    rc = txf_pq_reader_next(r, row, &has, err);
    if (rc || !has)
      break;
    for (size_t c = 0; c < sc->n_cols; c++) {
      const txf_pq_column *col = &sc->cols[c];
      if (row[c].is_null)
        continue;
      switch (col->type) {
      case TXF_PQ_STRING:
        scan_value(s, path, row[c].v.str, row[c].len, rn, col->name);
        break;
      case TXF_PQ_INT64:
      case TXF_PQ_DECIMAL:
      case TXF_PQ_DOUBLE:
        /* A card number stored as a number is a card number still. */
        txf_buf_reset(&text);
        txf_pq_value_format(col, &row[c], &text);
        scan_value(s, path, text.data, text.len, rn, col->name);
        break;
      default: /* too few digits to hold one */
        break;
      }
    }
  }
  free(row);
  txf_buf_release(&text);
  txf_pq_reader_free(r);
  return rc;
}

static int scan_parquet(txf_pan_scan *s, const char *path, txf_err *err) {
  size_t n0 = s->n;
  txf_err ours;
  txf_err_clear(&ours);
  if (!scan_parquet_ours(s, path, &ours))
    return 0;
  /* Written by someone else with something our reader does not do (or
   * broken): DuckDB reads it, in memory, from the start. */
  while (s->n > n0) {
    s->n--;
    free(s->v[s->n].path);
    free(s->v[s->n].where);
  }
  txf_duck *d;
  int rc = txf_duck_open(&d, NULL, 1, 0, err);
  if (!rc) {
    char *q = txf_duck_quote_str(path);
    char *rel = txf_xasprintf("read_parquet(%s)", q);
    rc = scan_duck_relation(s, path, d, rel, "parquet (read by DuckDB)", err);
    free(rel);
    free(q);
    txf_duck_close(d);
  }
  if (rc)
    txf_err_wrap(err, "%s; DuckDB", ours.msg);
  return rc;
}

/* ---------------------------------------------------------------- SQLite */

typedef struct sqlite_ctx {
  txf_pan_scan *s;
  const char *path;
} sqlite_ctx;

static int sqlite_value(void *ud, const char *table, const char *column,
                        int64_t row, const char *text, size_t len,
                        txf_err *err) {
  sqlite_ctx *c = ud;
  txf_pan_match m;
  size_t from = 0;
  while (txf_pan_find(text, len, from, &m)) {
    add_finding(c->s, c->path, &m,
                txf_xasprintf("table %s, column %s, row %lld", table, column,
                              (long long)row));
    from = m.end;
  }
  return 0;
}

/* ---------------------------------------------------------------- walk */

enum { K_TEXT, K_ZSTD, K_PARQUET, K_SQLITE, K_DUCKDB, K_SQLITE_WAL };

static int kind_of(const unsigned char *h, size_t n) {
  if (n >= 4 && !memcmp(h, "PAR1", 4))
    return K_PARQUET;
  if (n >= 16 && !memcmp(h, "SQLite format 3", 16))
    return K_SQLITE;
  if (n >= 12 && !memcmp(h + 8, "DUCK", 4))
    return K_DUCKDB;
  if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
    return K_ZSTD;
  if (n >= 4 && h[0] == 0x37 && h[1] == 0x7f && h[2] == 0x06 &&
      (h[3] == 0x82 || h[3] == 0x83))
    return K_SQLITE_WAL;
  return K_TEXT;
}

static int is_newer(const txf_pan_scan *s, const struct stat *st) {
  return !s->newer_only || st->st_mtim.tv_sec > s->newer_than.tv_sec ||
         (st->st_mtim.tv_sec == s->newer_than.tv_sec &&
          st->st_mtim.tv_nsec >= s->newer_than.tv_nsec);
}

/* A SQLite write-ahead log (DB-wal) holds page images in which the bytes
 * of adjacent values touch ("...-29108" then "2025-09-11": thirteen
 * digits that pass the Luhn check), so it is not read as text: its
 * committed pages are what SQLite reads through the database, DB, which
 * is read by value instead, here when the walk does not read it for
 * being older (a WAL database's file changes only at a checkpoint). */
static int scan_wal(txf_pan_scan *s, const char *path, int fd, txf_err *err) {
  size_t n = strlen(path);
  struct stat st;
  if (n < 5 || strcmp(path + n - 4, "-wal") != 0)
    return scan_text(s, path, fd, 0, err); /* not a database's */
  char *db = txf_xstrndup(path, n - 4);
  if (stat(db, &st) != 0 || is_newer(s, &st)) {
    free(db); /* read on its own (or gone: then so are its pages) */
    return 0;
  }
  sqlite_ctx c = {s, db};
  int rc = txf_meta_file_each_value(db, sqlite_value, &c, err);
  free(db);
  return rc;
}

static void scan_file(txf_pan_scan *s, const char *path) {
  txf_err err;
  txf_err_clear(&err);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    txf_err_errno(&err, TXF_EIO, "open");
    add_problem(s, path, &err);
    return;
  }
  unsigned char head[16];
  ssize_t n = pread(fd, head, sizeof head, 0);
  int rc = 0, kind = kind_of(head, n > 0 ? (size_t)n : 0);
  if (kind == K_TEXT || kind == K_ZSTD) {
    rc = scan_text(s, path, fd, kind == K_ZSTD, &err);
  } else if (kind == K_PARQUET) {
    rc = scan_parquet(s, path, &err);
  } else if (kind == K_DUCKDB) {
    rc = scan_duckdb_file(s, path, &err);
  } else if (kind == K_SQLITE_WAL) {
    rc = scan_wal(s, path, fd, &err);
  } else {
    sqlite_ctx c = {s, path};
    rc = txf_meta_file_each_value(path, sqlite_value, &c, &err);
  }
  close(fd);
  if (rc)
    add_problem(s, path, &err);
  else
    s->n_files++;
}

static int skip_dir(const txf_pan_scan *s, const char *name) {
  return !strcmp(name, ".git") ||
         (!s->include_bronze && !strcmp(name, "bronze"));
}

static void scan_tree(txf_pan_scan *s, const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    txf_err err;
    txf_err_errno(&err, TXF_EIO, "stat");
    add_problem(s, path, &err);
    return;
  }
  if (S_ISREG(st.st_mode)) {
    if (!is_newer(s, &st))
      return; /* not written since: a daily scan leaves it to its day */
    scan_file(s, path);
    return;
  }
  if (!S_ISDIR(st.st_mode))
    return; /* links, sockets, fifos: no data of their own */
  struct dirent **ents;
  int ne = scandir(path, &ents, NULL, alphasort);
  if (ne < 0) {
    txf_err err;
    txf_err_errno(&err, TXF_EIO, "read directory");
    add_problem(s, path, &err);
    return;
  }
  for (int i = 0; i < ne; i++) {
    const char *name = ents[i]->d_name;
    if (strcmp(name, ".") && strcmp(name, "..")) {
      char *child = txf_path_join(path, name);
      struct stat cs;
      if (lstat(child, &cs) == 0 && S_ISDIR(cs.st_mode) && skip_dir(s, name))
        txf_strlist_push(&s->skipped, child);
      else
        scan_tree(s, child);
      free(child);
    }
    free(ents[i]);
  }
  free(ents);
}

int txf_pan_scan_path(txf_pan_scan *s, const char *path, txf_err *err) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return txf_err_errno(err, errno == ENOENT ? TXF_ENOTFOUND : TXF_EIO, "%s",
                         path);
  scan_tree(s, path);
  return 0;
}

void txf_pan_scan_release(txf_pan_scan *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].path);
    free(s->v[i].where);
  }
  free(s->v);
  txf_strlist_release(&s->skipped);
  txf_strlist_release(&s->problems);
  s->v = NULL;
  s->n = s->cap = 0;
  s->n_files = 0;
}
