/* Helpers for the parquet tests: row tables, a seeded generator, reading
 * a file through our reader or through DuckDB's C API into the same
 * txf_pq_value rows, and exact comparison. */
#ifndef TXF_PQTEST_H
#define TXF_PQTEST_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/unit.h"
#include "parquet/parquet.h"
#include "parquet/pq_internal.h"

typedef struct pqt_table {
  size_t n_rows, n_cols, cap_rows;
  txf_pq_value *v; /* row-major */
  txf_arena arena; /* string bytes */
} pqt_table;

static inline void pqt_init(pqt_table *t, size_t n_cols) {
  memset(t, 0, sizeof *t);
  t->n_cols = n_cols;
  txf_arena_init(&t->arena, 1 << 16);
}

static inline void pqt_release(pqt_table *t) {
  free(t->v);
  txf_arena_release(&t->arena);
}

static inline txf_pq_value *pqt_add(pqt_table *t) {
  if (t->n_rows == t->cap_rows) {
    t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 256;
    t->v = txf_xrealloc(t->v, t->cap_rows * (t->n_cols ? t->n_cols : 1) *
                                  sizeof *t->v);
  }
  txf_pq_value *r = t->v + t->n_rows * t->n_cols;
  memset(r, 0, t->n_cols * sizeof *r);
  t->n_rows++;
  return r;
}

static inline void pqt_str(pqt_table *t, txf_pq_value *v, const char *s,
                           size_t n) {
  char *p = txf_arena_alloc(&t->arena, n + 1);
  memcpy(p, s, n);
  v->is_null = 0;
  v->v.str = p;
  v->len = (uint32_t)n;
}

/* splitmix64 */
static inline uint64_t pqt_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline int pqt_value_eq(txf_pq_type t, const txf_pq_value *a,
                               const txf_pq_value *b) {
  if (a->is_null || b->is_null)
    return a->is_null == b->is_null;
  switch (t) {
  case TXF_PQ_BOOLEAN:
    return !a->v.b == !b->v.b;
  case TXF_PQ_INT32:
  case TXF_PQ_DATE:
    return a->v.i32 == b->v.i32;
  case TXF_PQ_DOUBLE:
    return memcmp(&a->v.f64, &b->v.f64, 8) == 0;
  case TXF_PQ_STRING:
    return a->len == b->len &&
           memcmp(a->v.str, b->v.str, a->len) == 0;
  default:
    return a->v.i64 == b->v.i64;
  }
}

static inline void pqt_fmt(txf_pq_type t, const txf_pq_value *a, char *out,
                           size_t n) {
  if (a->is_null) {
    snprintf(out, n, "NULL");
    return;
  }
  switch (t) {
  case TXF_PQ_BOOLEAN:
    snprintf(out, n, "%d", a->v.b);
    break;
  case TXF_PQ_INT32:
  case TXF_PQ_DATE:
    snprintf(out, n, "%d", a->v.i32);
    break;
  case TXF_PQ_DOUBLE:
    snprintf(out, n, "%.17g", a->v.f64);
    break;
  case TXF_PQ_STRING:
    snprintf(out, n, "'%.*s'(%u)", (int)(a->len > 40 ? 40 : a->len),
             a->v.str, a->len);
    break;
  default:
    snprintf(out, n, "%lld", (long long)a->v.i64);
  }
}

#define ASSERT_TABLES_EQ(got, want, schema)                                  \
  do {                                                                       \
    ASSERT_EQ_U64((got)->n_rows, (want)->n_rows);                            \
    ASSERT_EQ_U64((got)->n_cols, (want)->n_cols);                            \
    for (size_t r_ = 0; r_ < (got)->n_rows; r_++)                            \
      for (size_t c_ = 0; c_ < (got)->n_cols; c_++) {                        \
        const txf_pq_value *g_ = &(got)->v[r_ * (got)->n_cols + c_];         \
        const txf_pq_value *w_ = &(want)->v[r_ * (want)->n_cols + c_];       \
        txf_pq_type t_ = (schema)->cols[c_].type;                            \
        if (!pqt_value_eq(t_, g_, w_)) {                                     \
          char a_[128], b_[128];                                             \
          pqt_fmt(t_, g_, a_, sizeof a_);                                    \
          pqt_fmt(t_, w_, b_, sizeof b_);                                    \
          unit_fail(__FILE__, __LINE__, "row %zu column '%s': got %s, want %s", \
                    r_, (schema)->cols[c_].name, a_, b_);                    \
        }                                                                    \
      }                                                                      \
  } while (0)

/* Write T with SCHEMA to PATH. */
static inline int pqt_write(const char *path, const txf_pq_schema *schema,
                            const txf_pq_writer_opts *o, const pqt_table *t,
                            txf_err *err) {
  txf_pq_writer *w;
  int rc = txf_pq_writer_open(&w, path, schema, o, err);
  if (rc)
    return rc;
  for (size_t i = 0; i < t->n_rows && !rc; i++)
    rc = txf_pq_writer_add_row(w, t->v + i * t->n_cols, err);
  if (!rc)
    rc = txf_pq_writer_finish(w, err);
  txf_pq_writer_free(w);
  return rc;
}

/* Read PATH with our reader (all columns or the projection NAMES). */
static inline int pqt_read(const char *path, const char *const *names,
                           size_t n_names, pqt_table *t, txf_err *err) {
  txf_pq_reader *r;
  pqt_init(t, 0);
  int rc = txf_pq_reader_open(&r, path, err);
  if (rc)
    return rc;
  pqt_release(t);
  if (names)
    rc = txf_pq_reader_project(r, names, n_names, err);
  size_t nc = names ? n_names : txf_pq_reader_schema(r)->n_cols;
  pqt_init(t, nc);
  const txf_pq_schema *s = txf_pq_reader_schema(r);
  txf_pq_value *row = txf_xcalloc(nc + 1, sizeof *row);
  while (!rc) {
    int has;
    rc = txf_pq_reader_next(r, row, &has, err);
    if (rc || !has)
      break;
    txf_pq_value *d = pqt_add(t);
    for (size_t c = 0; c < nc; c++) {
      d[c] = row[c];
      size_t leaf = c;
      if (names)
        for (leaf = 0; strcmp(s->cols[leaf].name, names[c]); leaf++)
          ;
      if (s->cols[leaf].type == TXF_PQ_STRING && !row[c].is_null)
        pqt_str(t, &d[c], row[c].v.str, row[c].len);
    }
  }
  free(row);
  txf_pq_reader_free(r);
  return rc;
}

static inline void pqt_duck_open(duckdb_database *db, duckdb_connection *con) {
  ASSERT(duckdb_open(NULL, db) == DuckDBSuccess);
  ASSERT(duckdb_connect(*db, con) == DuckDBSuccess);
  duckdb_result res;
  ASSERT(duckdb_query(*con, "SET threads=1", &res) == DuckDBSuccess);
  duckdb_destroy_result(&res);
}

static inline void pqt_duck_close(duckdb_database *db,
                                  duckdb_connection *con) {
  duckdb_disconnect(con);
  duckdb_close(db);
}

static inline void pqt_duck_exec(duckdb_connection con, const char *sql) {
  duckdb_result res;
  if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    unit_fail(__FILE__, __LINE__, "duckdb: %s: %s", sql, msg);
  }
  duckdb_destroy_result(&res);
}

/* Run SQL in DuckDB and convert the result to rows of the types in
 * SCHEMA (DECIMAL as the unscaled int64, TIMESTAMP as micros, DATE as
 * days). */
static inline void pqt_duck_fetch(duckdb_connection con, const char *sql,
                                  const txf_pq_schema *schema, pqt_table *t) {
  duckdb_result res;
  if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    unit_fail(__FILE__, __LINE__, "duckdb: %s", msg);
  }
  size_t nc = duckdb_column_count(&res);
  ASSERT_EQ_U64(nc, schema->n_cols);
  pqt_init(t, nc);
  for (;;) {
    duckdb_data_chunk ch = duckdb_fetch_chunk(res);
    if (!ch)
      break;
    size_t n = duckdb_data_chunk_get_size(ch);
    size_t base = t->n_rows;
    for (size_t i = 0; i < n; i++)
      pqt_add(t);
    for (size_t c = 0; c < nc; c++) {
      duckdb_vector vec = duckdb_data_chunk_get_vector(ch, c);
      void *data = duckdb_vector_get_data(vec);
      uint64_t *valid = duckdb_vector_get_validity(vec);
      duckdb_logical_type lt = duckdb_vector_get_column_type(vec);
      duckdb_type id = duckdb_get_type_id(lt);
      duckdb_type phys = id;
      if (id == DUCKDB_TYPE_DECIMAL)
        phys = duckdb_decimal_internal_type(lt);
      duckdb_destroy_logical_type(&lt);
      for (size_t i = 0; i < n; i++) {
        txf_pq_value *v = &t->v[(base + i) * nc + c];
        if (valid && !duckdb_validity_row_is_valid(valid, i)) {
          v->is_null = 1;
          continue;
        }
        switch (phys) {
        case DUCKDB_TYPE_BOOLEAN:
          v->v.b = ((bool *)data)[i];
          break;
        case DUCKDB_TYPE_SMALLINT:
          v->v.i64 = ((int16_t *)data)[i];
          break;
        case DUCKDB_TYPE_INTEGER:
        case DUCKDB_TYPE_DATE:
          if (schema->cols[c].type == TXF_PQ_DECIMAL)
            v->v.i64 = ((int32_t *)data)[i];
          else
            v->v.i32 = ((int32_t *)data)[i];
          break;
        case DUCKDB_TYPE_BIGINT:
        case DUCKDB_TYPE_TIMESTAMP:
        case DUCKDB_TYPE_TIMESTAMP_TZ:
          v->v.i64 = ((int64_t *)data)[i];
          break;
        case DUCKDB_TYPE_DOUBLE:
          v->v.f64 = ((double *)data)[i];
          break;
        case DUCKDB_TYPE_VARCHAR: {
          duckdb_string_t *s = &((duckdb_string_t *)data)[i];
          pqt_str(t, v, duckdb_string_t_data(s), duckdb_string_t_length(*s));
          break;
        }
        default:
          unit_fail(__FILE__, __LINE__, "duckdb type %d not handled", (int)id);
        }
      }
    }
    duckdb_destroy_data_chunk(&ch);
  }
  duckdb_destroy_result(&res);
}

/* DuckDB reads PATH (with SCHEMA) into exactly the rows of WANT. */
static inline void pqt_duck_check(const char *path, const txf_pq_schema *s,
                                  const pqt_table *want) {
  duckdb_database db;
  duckdb_connection con;
  pqt_duck_open(&db, &con);
  char sql[600];
  snprintf(sql, sizeof sql, "SELECT * FROM read_parquet('%s')", path);
  pqt_table duck;
  pqt_duck_fetch(con, sql, s, &duck);
  ASSERT_TABLES_EQ(&duck, want, s);
  pqt_release(&duck);
  pqt_duck_close(&db, &con);
}

/* One page header of a file, as the tests look at it. */
typedef struct pqt_page {
  int type, encoding, num_values, num_nulls, num_rows, is_compressed;
  int def_len, uncompressed, compressed;
  int has_stats, has_null_count, has_min, has_max;
  int64_t null_count;
  int has_crc;
  uint32_t crc;      /* as the header says */
  uint32_t body_crc; /* of the bytes after the header, bit by bit */
  int64_t body_off;  /* file offset of those bytes */
} pqt_page;

/* CRC-32 (gzip's, reflected 0xEDB88320) one bit at a time: slow and
 * obviously right, to check the table-driven one against. */
static inline uint32_t pqt_crc32_bitwise(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

/* The page headers of column COL in every row group of PATH, in file
 * order (walked from the chunk's first page through its compressed
 * size). Returns the count; the caller frees *OUT. */
static inline size_t pqt_pages(const char *path, size_t col, pqt_page **out) {
  txf_buf f;
  txf_err err;
  txf_buf_init(&f, 0);
  ASSERT_OK(txf_fs_read_file(path, &f, &err), &err);
  ASSERT(f.len >= 12);
  uint32_t flen;
  memcpy(&flen, f.data + f.len - 8, 4);
  pq_filemeta m;
  ASSERT_OK(txf_pq_filemeta_parse(&m, f.data + f.len - 8 - flen, flen, &err),
            &err);
  size_t n = 0, cap = 16;
  pqt_page *pg = txf_xcalloc(cap, sizeof *pg);
  for (uint32_t g = 0; g < m.n_rgs; g++) {
    const pq_colmeta *c = &m.rgs[g].cols[col];
    int64_t at = c->has_dict_offset && c->dict_page_offset < c->data_page_offset
                     ? c->dict_page_offset
                     : c->data_page_offset;
    int64_t end = at + c->total_compressed;
    while (at < end) {
      pq_page_header h;
      size_t used;
      ASSERT_OK(txf_pq_page_header_parse(&h, f.data + at, (size_t)(end - at),
                                         &used, &err),
                &err);
      if (n == cap)
        pg = txf_xrealloc(pg, (cap *= 2) * sizeof *pg);
      pqt_page *p = &pg[n++];
      p->type = h.type;
      p->encoding = h.encoding;
      p->num_values = h.num_values;
      p->num_nulls = h.num_nulls;
      p->num_rows = h.num_rows;
      p->is_compressed = h.is_compressed;
      p->def_len = h.def_len;
      p->uncompressed = h.uncompressed_size;
      p->compressed = h.compressed_size;
      p->has_stats = h.has_stats;
      p->has_null_count = h.stats.has_null_count;
      p->null_count = h.stats.null_count;
      p->has_min = h.stats.has_min;
      p->has_max = h.stats.has_max;
      p->has_crc = h.has_crc;
      p->crc = h.crc;
      p->body_off = at + (int64_t)used;
      ASSERT(p->body_off + h.compressed_size <= end);
      p->body_crc = pqt_crc32_bitwise((const uint8_t *)f.data + p->body_off,
                                      (size_t)h.compressed_size);
      at += (int64_t)used + h.compressed_size;
    }
  }
  txf_pq_filemeta_release(&m);
  txf_buf_release(&f);
  *out = pg;
  return n;
}

/* The path of tests/data/parquet/NAME in the source tree, found from
 * the test binary's place (build/asan/unit-tests or build/unit-tests), so
 * the tests run from any directory. In a static buffer. */
static inline const char *pqt_fixture(const char *name) {
  static char path[8192];
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT(n > 0);
  exe[n] = 0;
  for (char *slash; (slash = strrchr(exe, '/')) != NULL;) {
    *slash = 0;
    snprintf(path, sizeof path, "%s/tests/data/parquet/%s", exe, name);
    if (txf_fs_exists(path))
      return path;
  }
  unit_fail(__FILE__, __LINE__, "fixture tests/data/parquet/%s not found "
            "above the test binary", name);
}

#endif
