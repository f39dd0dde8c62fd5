/* The codec's own contracts: RLE hybrid and thrift round trips,
 * determinism, dictionary fallback, writer errors, and the reader's
 * refusal of corrupt, truncated and foreign files. */
#include "pqtest.h"

#include <unistd.h>

#include "parquet/pq_internal.h"

TEST(pq_rle_hybrid_round_trip) {
  uint64_t seed = 7;
  for (int bw = 1; bw <= 32; bw += 3) {
    size_t n = 1000 + (size_t)bw * 37;
    uint32_t *v = txf_xmalloc(n * sizeof *v), *o = txf_xmalloc(n * sizeof *o);
    uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
    for (size_t i = 0; i < n; i++) {
      /* runs and noise */
      v[i] = (i / 50) % 3 == 0 ? 5u & mask : (uint32_t)pqt_rand(&seed) & mask;
    }
    txf_buf b;
    txf_buf_init(&b, 0);
    txf_pq_rle_encode(&b, v, n, bw);
    ASSERT_EQ_I64(txf_pq_rle_decode((const uint8_t *)b.data, b.len, bw, o, n),
                  0);
    ASSERT_EQ_MEM(o, v, n * sizeof *v);
    /* Short input fails cleanly. */
    ASSERT_EQ_I64(
        txf_pq_rle_decode((const uint8_t *)b.data, b.len / 2, bw, o, n), -1);
    txf_buf_release(&b);
    free(v);
    free(o);
  }
}

TEST(pq_thrift_skips_unknown_fields_and_limits_depth) {
  txf_buf b;
  txf_buf_init(&b, 0);
  tw w;
  txf_pq_tw_init(&w, &b);
  txf_pq_tw_struct_begin(&w);
  txf_pq_tw_i32(&w, 1, 1);
  txf_pq_tw_list_begin(&w, 2, TC_STRUCT, 2);
  txf_pq_tw_struct_begin(&w);
  txf_pq_tw_string(&w, 4, "schema");
  txf_pq_tw_i32(&w, 5, 1);
  txf_pq_tw_struct_end(&w);
  txf_pq_tw_struct_begin(&w);
  txf_pq_tw_i32(&w, 1, PQT_INT64);
  txf_pq_tw_i32(&w, 3, PQ_REQUIRED);
  txf_pq_tw_string(&w, 4, "x");
  txf_pq_tw_binary(&w, 99, "junk", 4); /* unknown field id */
  txf_pq_tw_struct_end(&w);
  txf_pq_tw_i64(&w, 3, 0);
  txf_pq_tw_list_begin(&w, 4, TC_STRUCT, 0);
  txf_pq_tw_field(&w, 200, TC_DOUBLE); /* unknown, long-form header */
  (void)txf_buf_append(&b, "12345678", 8);
  txf_pq_tw_struct_end(&w);
  pq_filemeta m;
  txf_err err;
  ASSERT_OK(txf_pq_filemeta_parse(&m, b.data, b.len, &err), &err);
  ASSERT_EQ_U64(m.n_schema, 2);
  ASSERT_EQ_STR(m.schema[1].name, "x");
  ASSERT_EQ_I64(m.schema[1].type, PQT_INT64);
  txf_pq_filemeta_release(&m);
  /* Every truncation is an error, never a crash. */
  for (size_t n = 0; n < b.len; n++)
    ASSERT(txf_pq_filemeta_parse(&m, b.data, n, &err) == TXF_ECORRUPT);
  txf_buf_release(&b);
  /* A deep nest of structs in an unknown field is refused. */
  txf_buf_init(&b, 0);
  (void)txf_buf_append(&b, "\x15\x02", 2); /* field 1 i32 = 1 */
  for (int i = 0; i < 100; i++)
    (void)txf_buf_putc(&b, (char)0x1c); /* field +1 struct */
  ASSERT(txf_pq_filemeta_parse(&m, b.data, b.len, &err) == TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "footer");
  txf_buf_release(&b);
}

static const txf_pq_column cols3[] = {
    {"id", TXF_PQ_STRING, 0, 0, 0},
    {"cur", TXF_PQ_STRING, 1, 0, 0},
    {"amount", TXF_PQ_DECIMAL, 0, 18, 2},
};
static const txf_pq_schema schema3 = {cols3, 3};

static void gen3(pqt_table *t, size_t n) {
  pqt_init(t, 3);
  for (size_t i = 0; i < n; i++) {
    txf_pq_value *r = pqt_add(t);
    char b[32];
    int k = snprintf(b, sizeof b, "T%09zu", i * 2654435761u % 1000000007u);
    pqt_str(t, &r[0], b, (size_t)k);
    if (i % 10 == 9)
      r[1].is_null = 1;
    else
      pqt_str(t, &r[1], i % 3 ? "KRW" : "USD", 3);
    r[2].v.i64 = (int64_t)(i % 1000) * 100;
  }
}

static int has_encoding(const pq_filemeta *m, int col, int enc) {
  for (uint32_t g = 0; g < m->n_rgs; g++)
    if (m->rgs[g].cols[col].encodings & (1u << enc))
      return 1;
  return 0;
}

/* T written twice with O, to a.parquet and b.parquet: the same bytes.
 * *A (if not NULL; the caller releases it): the file's bytes. */
static void write_twice(const txf_pq_schema *schema,
                        const txf_pq_writer_opts *o, const pqt_table *t,
                        txf_buf *a) {
  txf_err err;
  ASSERT_OK(pqt_write(unit_path("a.parquet"), schema, o, t, &err), &err);
  ASSERT_OK(pqt_write(unit_path("b.parquet"), schema, o, t, &err), &err);
  txf_buf x, y;
  txf_buf_init(&x, 0);
  txf_buf_init(&y, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("a.parquet"), &x, &err), &err);
  ASSERT_OK(txf_fs_read_file(unit_path("b.parquet"), &y, &err), &err);
  ASSERT_EQ_U64(x.len, y.len);
  ASSERT_EQ_MEM(x.data, y.data, x.len);
  txf_buf_release(&y);
  if (a)
    *a = x;
  else
    txf_buf_release(&x);
}

TEST(pq_writer_is_deterministic_and_falls_back_to_plain) {
  pqt_table t;
  gen3(&t, 20000);
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .row_group_bytes = 200000};
  const char *kv[] = {"source_file", "part-0.csv", NULL};
  o.kv = kv;
  txf_buf a;
  write_twice(&schema3, &o, &t, &a);
  /* Footer: unique ids are PLAIN, the currency is dictionary-encoded. */
  uint32_t flen;
  memcpy(&flen, a.data + a.len - 8, 4);
  pq_filemeta m;
  ASSERT_OK(txf_pq_filemeta_parse(&m, a.data + a.len - 8 - flen, flen, &err),
            &err);
  ASSERT(m.n_rgs > 1);
  ASSERT(!has_encoding(&m, 0, PQE_RLE_DICTIONARY));
  ASSERT(has_encoding(&m, 1, PQE_RLE_DICTIONARY));
  txf_pq_filemeta_release(&m);
  txf_pq_reader *r;
  ASSERT_OK(txf_pq_reader_open(&r, unit_path("a.parquet"), &err), &err);
  ASSERT_EQ_STR(txf_pq_reader_kv(r, "source_file"), "part-0.csv");
  ASSERT_CONTAINS(txf_pq_reader_kv(r, "created_by"), "txnflow version ");
  ASSERT(txf_pq_reader_kv(r, "nope") == NULL);
  ASSERT_EQ_I64(txf_pq_reader_num_rows(r), 20000);
  txf_pq_reader_free(r);
  pqt_table got;
  ASSERT_OK(pqt_read(unit_path("a.parquet"), NULL, 0, &got, &err), &err);
  ASSERT_TABLES_EQ(&got, &t, &schema3);
  pqt_release(&got);
  txf_buf_release(&a);
  pqt_release(&t);
}

static const txf_pq_column win_cols[] = {
    {"id", TXF_PQ_STRING, 0, 0, 0},     /* PLAIN: distinct */
    {"cur", TXF_PQ_STRING, 1, 0, 0},    /* dictionary, nulls */
    {"n", TXF_PQ_INT64, 1, 0, 0},       /* PLAIN, nulls */
    {"flag", TXF_PQ_BOOLEAN, 1, 0, 0},  /* whole page */
    {"day", TXF_PQ_DATE, 0, 0, 0},      /* dictionary */
};
static const txf_pq_schema win_schema = {win_cols, 5};

/* 9,000 rows of WIN_SCHEMA into T, written to w.parquet in pages of 6,000
 * bytes (430 rows of ids, 750 of n, 860 of cur; none a multiple of the
 * window) and row groups of about 1,800 rows. */
static void win_file(pqt_table *t) {
  pqt_init(t, 5);
  uint64_t seed = 42;
  for (size_t i = 0; i < 9000; i++) {
    txf_pq_value *r = pqt_add(t);
    char b[32];
    int k = snprintf(b, sizeof b, "T%09zu", i * 2654435761u % 1000000007u);
    pqt_str(t, &r[0], b, (size_t)k);
    size_t edge = i % 1024; /* nulls at 1023, 0 and 1 of every window */
    uint64_t x = pqt_rand(&seed);
    if (edge == 1023 || edge == 0 || edge == 1 || x % 5 == 0)
      r[1].is_null = 1;
    else
      pqt_str(t, &r[1], (const char *[]){"KRW", "USD", "JPY"}[x % 3], 3);
    if (edge == 1022 || edge == 1023 || x % 7 == 0)
      r[2].is_null = 1;
    else
      r[2].v.i64 = (int64_t)(x >> 8) - (INT64_C(1) << 54);
    if (x % 11 == 0)
      r[3].is_null = 1;
    else
      r[3].v.b = (int)(x >> 3 & 1);
    r[4].v.i32 = 20000 + (int32_t)(i % 37);
  }
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .page_bytes = 6000,
                          .row_group_bytes = 60000};
  ASSERT_OK(pqt_write(unit_path("w.parquet"), &win_schema, &o, t, &err),
            &err);
}

/* A PLAIN or dictionary page's values are decoded a window of 1,024 rows
 * at a time (reader.c, lazy_fill): rows read back exactly across the
 * windows' edges, whatever the pages' sizes, with nulls before, on and
 * after each edge, a page that ends inside a window and a boolean page
 * decoded whole beside them; and a projection in another order reads
 * the same values. */
TEST(pq_reader_windows_cross_pages_and_nulls) {
  pqt_table t;
  win_file(&t);
  txf_err err;
  pqt_table got;
  ASSERT_OK(pqt_read(unit_path("w.parquet"), NULL, 0, &got, &err), &err);
  ASSERT_TABLES_EQ(&got, &t, &win_schema);
  pqt_release(&got);
  const char *names[] = {"n", "cur", "id"};
  ASSERT_OK(pqt_read(unit_path("w.parquet"), names, 3, &got, &err), &err);
  ASSERT_EQ_U64(got.n_rows, t.n_rows);
  for (size_t i = 0; i < t.n_rows; i++) {
    ASSERT(pqt_value_eq(TXF_PQ_INT64, &got.v[i * 3], &t.v[i * 5 + 2]));
    ASSERT(pqt_value_eq(TXF_PQ_STRING, &got.v[i * 3 + 1], &t.v[i * 5 + 1]));
    ASSERT(pqt_value_eq(TXF_PQ_STRING, &got.v[i * 3 + 2], &t.v[i * 5]));
  }
  pqt_release(&got);
  pqt_release(&t);
}

/* Key first (txf_pq_reader_next_key, _rest): every key in order, and the
 * whole rows of those asked for equal to the table's, whatever lies
 * between them: the next row, gaps within a window, across pages, a row
 * group passed over whole, the first and last rows. A reader read so
 * refuses the other way of reading, and a row's rest twice. */
TEST(pq_reader_key_first_makes_the_rows_asked_for) {
  pqt_table t;
  win_file(&t);
  txf_err err;
  for (int pass = 0; pass < 3; pass++) {
    txf_pq_reader *r;
    ASSERT_OK(txf_pq_reader_open(&r, unit_path("w.parquet"), &err), &err);
    txf_pq_value v[5], key;
    int has;
    size_t i = 0, asked = 0;
    uint64_t seed = 7 + (uint64_t)pass;
    for (;; i++) {
      ASSERT_OK(txf_pq_reader_next_key(r, 0, &key, &has, &err), &err);
      if (!has)
        break;
      ASSERT(i < t.n_rows);
      ASSERT(pqt_value_eq(TXF_PQ_STRING, &key, &t.v[i * 5]));
      /* pass 0: every row; 1: a few in each window; 2: rows 0, 1,
       * 2,000 to 2,100 (the first row groups passed over) and the last */
      uint64_t x = pqt_rand(&seed);
      int want = pass == 0   ? 1
                 : pass == 1 ? x % 97 == 0 || i % 1024 == 1023
                             : i < 2 || (i >= 2000 && i < 2100) ||
                                   i == t.n_rows - 1;
      if (!want)
        continue;
      ASSERT_OK(txf_pq_reader_rest(r, v, &err), &err);
      for (size_t c = 0; c < 5; c++)
        ASSERT(pqt_value_eq(win_cols[c].type, &v[c], &t.v[i * 5 + c]));
      asked++;
      if (asked == 3)
        ASSERT_EQ_I64(txf_pq_reader_rest(r, v, &err), TXF_EUSAGE);
    }
    ASSERT_EQ_U64(i, t.n_rows);
    ASSERT(asked > 3);
    ASSERT_EQ_I64(txf_pq_reader_next(r, v, &has, &err), TXF_EUSAGE);
    txf_pq_reader_free(r);
  }
  pqt_release(&t);
}

/* A column whose values repeat within the row group though each page's
 * look distinct (the lake's card and customer ids): PLAIN by the first
 * page's cardinality test, unless the options name it `repeating`; then
 * every data page of every row group is RLE_DICTIONARY, the bytes are
 * still deterministic, and the rows read back. */
TEST(pq_writer_keeps_the_dictionary_of_repeating_columns) {
  static const txf_pq_column cols[] = {{"card", TXF_PQ_STRING, 0, 0, 0},
                                       {"n", TXF_PQ_INT64, 0, 0, 0}};
  static const txf_pq_schema schema = {cols, 2};
  pqt_table t;
  pqt_init(&t, 2);
  for (size_t i = 0; i < 60000; i++) {
    txf_pq_value *r = pqt_add(&t);
    char b[32];
    int k = snprintf(b, sizeof b, "K%09zu", i * 2654435761u % 20000u);
    pqt_str(&t, &r[0], b, (size_t)k);
    r[1].v.i64 = (int64_t)i;
  }
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD,
                          .row_group_bytes = 400000,
                          .page_bytes = 16384};
  ASSERT_OK(pqt_write(unit_path("plain.parquet"), &schema, &o, &t, &err),
            &err);
  const char *repeating[] = {"card", NULL};
  o.repeating = repeating;
  write_twice(&schema, &o, &t, NULL);
  pqt_page *pg;
  size_t n = pqt_pages(unit_path("plain.parquet"), 0, &pg), data = 0;
  for (size_t i = 0; i < n; i++)
    ASSERT(pg[i].type != PQP_DICTIONARY_PAGE &&
           pg[i].encoding == PQE_PLAIN);
  free(pg);
  n = pqt_pages(unit_path("a.parquet"), 0, &pg);
  size_t dicts = 0;
  for (size_t i = 0; i < n; i++) {
    if (pg[i].type == PQP_DICTIONARY_PAGE) {
      dicts++;
      continue;
    }
    ASSERT_EQ_U64(pg[i].encoding, PQE_RLE_DICTIONARY);
    data++;
  }
  free(pg);
  ASSERT(dicts > 1); /* one per row group */
  ASSERT(data > dicts);
  pqt_table got;
  ASSERT_OK(pqt_read(unit_path("a.parquet"), NULL, 0, &got, &err), &err);
  ASSERT_TABLES_EQ(&got, &t, &schema);
  pqt_release(&got);
  pqt_release(&t);
}

/* Runs of one value (the change log's own columns, the enums): every
 * value of a dictionary page still counts its plain bytes, so pages end
 * where the page size says whatever the runs, and every value reads
 * back. EXPECT: the data pages' value counts of column COL of PATH. */
static void runs_check_pages(const char *path, size_t col, const size_t *expect,
                             size_t n_expect) {
  pqt_page *pg;
  size_t n = pqt_pages(path, col, &pg), k = 0;
  for (size_t i = 0; i < n; i++) {
    if (pg[i].type == PQP_DICTIONARY_PAGE)
      continue;
    ASSERT(k < n_expect);
    ASSERT_EQ_U64(pg[i].encoding, PQE_RLE_DICTIONARY);
    ASSERT_EQ_U64(pg[i].num_values, expect[k]);
    k++;
  }
  ASSERT_EQ_U64(k, n_expect);
  free(pg);
}

/* The value counts of the pages a column of VB-byte values (0: null)
 * fills, PAGE bytes a page, into OUT: a page ends after the value that
 * reaches PAGE bytes, or at 1 << 20 rows. */
static size_t runs_model(const size_t *vb, size_t n, size_t page, size_t *out) {
  size_t k = 0, rows = 0, bytes = 0;
  for (size_t i = 0; i < n; i++) {
    if (rows == (size_t)1 << 20) {
      out[k++] = rows;
      rows = bytes = 0;
    }
    rows++;
    bytes += vb[i];
    if (bytes >= page) {
      out[k++] = rows;
      rows = bytes = 0;
    }
  }
  if (rows)
    out[k++] = rows;
  return k;
}

TEST(pq_writer_runs_of_one_value_end_pages_where_single_values_do) {
  static const txf_pq_column cols[] = {{"n", TXF_PQ_INT64, 0, 0, 0},
                                       {"s", TXF_PQ_STRING, 1, 0, 0},
                                       {"d", TXF_PQ_DATE, 0, 0, 0}};
  static const txf_pq_schema schema = {cols, 3};
  static const char *const strs[] = {"insert", "USD", "update_postimage", "",
                                     "approved"};
  const size_t n = 30000, page = 256;
  pqt_table t;
  pqt_init(&t, 3);
  size_t *vb = txf_xmalloc(3 * n * sizeof *vb);
  uint64_t seed = 11;
  int64_t a = 0;
  int32_t d = 0;
  const char *str = strs[0];
  for (size_t i = 0; i < n; i++) {
    /* runs of 1 to 400 rows, crossing pages and slabs; nulls inside */
    if (pqt_rand(&seed) % 150 == 0)
      a = (int64_t)(pqt_rand(&seed) % 6);
    if (pqt_rand(&seed) % 90 == 0)
      str = strs[pqt_rand(&seed) % 5];
    if (pqt_rand(&seed) % 400 == 0)
      d = (int32_t)(pqt_rand(&seed) % 4) + 20000;
    txf_pq_value *r = pqt_add(&t);
    r[0].v.i64 = a;
    r[2].v.i32 = d;
    int null = pqt_rand(&seed) % 16 == 0;
    if (null)
      r[1].is_null = 1;
    else
      pqt_str(&t, &r[1], str, strlen(str));
    vb[i] = 8;
    vb[n + i] = null ? 0 : 4 + strlen(str);
    vb[2 * n + i] = 4;
  }
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_SNAPPY, .page_bytes = page};
  const char *p = unit_path("runs.parquet");
  ASSERT_OK(pqt_write(p, &schema, &o, &t, &err), &err);
  size_t *expect = txf_xmalloc(n * sizeof *expect);
  for (size_t c = 0; c < 3; c++)
    runs_check_pages(p, c, expect, runs_model(vb + c * n, n, page, expect));
  pqt_table got;
  ASSERT_OK(pqt_read(p, NULL, 0, &got, &err), &err);
  ASSERT_TABLES_EQ(&got, &t, &schema);
  pqt_duck_check(p, &schema, &t);
  pqt_release(&got);
  pqt_release(&t);
  free(expect);
  free(vb);
}

/* A run that reaches a page's row bound (nulls add no bytes) ends the
 * page there, as single values do: 125 values fill the first page (1000
 * bytes), so the second one's bound falls inside a slab and a run. */
TEST(pq_writer_a_run_of_one_value_ends_a_page_at_its_row_bound) {
  static const txf_pq_column cols[] = {{"n", TXF_PQ_INT64, 1, 0, 0}};
  static const txf_pq_schema schema = {cols, 1};
  const size_t bound = (size_t)1 << 20, nulls = bound - 10,
               n = 125 + nulls + 40;
  pqt_table t;
  pqt_init(&t, 1);
  for (size_t i = 0; i < n; i++) {
    txf_pq_value *r = pqt_add(&t);
    r->is_null = i >= 125 && i < 125 + nulls;
    r->v.i64 = 7;
  }
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .page_bytes = 1000};
  const char *p = unit_path("runs-bound.parquet");
  ASSERT_OK(pqt_write(p, &schema, &o, &t, &err), &err);
  size_t expect[] = {125, bound, 30};
  runs_check_pages(p, 0, expect, 3);
  pqt_table got;
  ASSERT_OK(pqt_read(p, NULL, 0, &got, &err), &err);
  ASSERT_TABLES_EQ(&got, &t, &schema);
  pqt_release(&got);
  pqt_release(&t);
}

TEST(pq_writer_rejects_bad_use_and_leaves_nothing) {
  txf_err err;
  txf_pq_writer *w;
  const char *p = unit_path("w.parquet");
  txf_pq_column bad[] = {{"d", TXF_PQ_DECIMAL, 0, 19, 2}};
  txf_pq_schema bs = {bad, 1};
  ASSERT_EQ_I64(txf_pq_writer_open(&w, p, &bs, NULL, &err), TXF_EUSAGE);
  txf_pq_column dup[] = {{"a", TXF_PQ_INT32, 0, 0, 0},
                         {"a", TXF_PQ_INT32, 0, 0, 0}};
  txf_pq_schema ds = {dup, 2};
  ASSERT_EQ_I64(txf_pq_writer_open(&w, p, &ds, NULL, &err), TXF_EUSAGE);
  ASSERT_OK(txf_pq_writer_open(&w, p, &schema3, NULL, &err), &err);
  txf_pq_value row[3] = {{.is_null = 1}, {.is_null = 1}, {.is_null = 0}};
  ASSERT_EQ_I64(txf_pq_writer_add_row(w, row, &err), TXF_EUSAGE);
  ASSERT_CONTAINS(err.msg, "'id'");
  /* Not finished: free removes everything, the path never appears. */
  txf_pq_writer_free(w);
  ASSERT(!txf_fs_exists(p));
  unit_write_file(p, "x");
  ASSERT_EQ_I64(txf_pq_writer_open(&w, p, &schema3, NULL, &err), TXF_EEXIST);
}

/* Mutations of a valid file: every one is read fully or refused with
 * an error; ASan/UBSan catch any out-of-bounds access. */
TEST(pq_reader_survives_truncation_and_bit_flips) {
  pqt_table t;
  gen3(&t, 300);
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_SNAPPY, .page_bytes = 512};
  const char *p = unit_path("good.parquet");
  ASSERT_OK(pqt_write(p, &schema3, &o, &t, &err), &err);
  pqt_release(&t);
  txf_buf good;
  txf_buf_init(&good, 0);
  ASSERT_OK(txf_fs_read_file(p, &good, &err), &err);
  const char *q = unit_path("bad.parquet");
  uint64_t seed = 99;
  int refused = 0;
  for (int k = 0; k < 600; k++) {
    txf_buf_reset(&good);
    ASSERT_OK(txf_fs_read_file(p, &good, &err), &err);
    size_t len = good.len;
    if (k < 100) {
      len = (size_t)(pqt_rand(&seed) % good.len);
      if (len >= 8) /* keep a valid-looking tail sometimes */
        memcpy(good.data + len - 8, good.data + good.len - 8, 8);
    } else {
      int flips = 1 + (int)(pqt_rand(&seed) % 4);
      for (int f = 0; f < flips; f++) {
        size_t at = (size_t)(pqt_rand(&seed) % good.len);
        good.data[at] ^= (char)(1u << (pqt_rand(&seed) % 8));
      }
    }
    unlink(q);
    FILE *f = fopen(q, "wb");
    ASSERT(f && fwrite(good.data, 1, len, f) == len);
    fclose(f);
    pqt_table got;
    int rc = pqt_read(q, NULL, 0, &got, &err);
    if (rc) {
      ASSERT(rc == TXF_ECORRUPT || rc == TXF_EUNSUPPORTED ||
             rc == TXF_ETOOBIG);
      ASSERT(err.msg[0] != 0);
      refused++;
    }
    pqt_release(&got);
  }
  ASSERT(refused > 100);
  txf_buf_release(&good);
}

TEST(pq_reader_errors_name_file_and_place) {
  txf_err err;
  txf_pq_reader *r;
  const char *p = unit_path("x.parquet");
  unit_write_file(p, "id,amount\n1,2\n");
  ASSERT_EQ_I64(txf_pq_reader_open(&r, p, &err), TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "not a Parquet file");
  ASSERT_CONTAINS(err.msg, "x.parquet");
  ASSERT_EQ_I64(txf_pq_reader_open(&r, unit_path("missing"), &err),
                TXF_ENOTFOUND);
  /* A page body damaged after the footer was validated: the error names
   * the row group, column and page. */
  pqt_table t;
  gen3(&t, 50);
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD};
  const char *g = unit_path("g.parquet");
  ASSERT_OK(pqt_write(g, &schema3, &o, &t, &err), &err);
  pqt_release(&t);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(g, &b, &err), &err);
  /* The first page header starts at byte 4; its body shortly after.
   * Overwrite the middle of the first column chunk's compressed bytes. */
  for (int i = 30; i < 60; i++)
    b.data[i] = 0x55;
  ASSERT_OK(txf_fs_write_atomic(p, b.data, b.len, &err), &err);
  txf_buf_release(&b);
  ASSERT_OK(txf_pq_reader_open(&r, p, &err), &err);
  txf_pq_value v[3];
  int has;
  int rc = txf_pq_reader_next(r, v, &has, &err);
  ASSERT_EQ_I64(rc, TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "row group 0 column 'id' page");
  txf_pq_reader_free(r);
  /* Projection of an unknown column. */
  ASSERT_OK(txf_pq_reader_open(&r, g, &err), &err);
  const char *names[] = {"amount", "nope"};
  ASSERT_EQ_I64(txf_pq_reader_project(r, names, 2, &err), TXF_ENOTFOUND);
  ASSERT_CONTAINS(err.msg, "'nope'");
  txf_pq_reader_free(r);
}

TEST(pq_reader_stays_failed_after_an_error) {
  pqt_table t;
  gen3(&t, 3000);
  txf_err err;
  /* Two row groups; damage the second one's first chunk. */
  txf_pq_writer_opts o = {.row_group_bytes = 30000, .no_dictionary = 1};
  const char *g = unit_path("g.parquet");
  ASSERT_OK(pqt_write(g, &schema3, &o, &t, &err), &err);
  pqt_release(&t);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(g, &b, &err), &err);
  uint32_t flen;
  memcpy(&flen, b.data + b.len - 8, 4);
  pq_filemeta m;
  ASSERT_OK(txf_pq_filemeta_parse(&m, b.data + b.len - 8 - flen, flen, &err),
            &err);
  ASSERT(m.n_rgs >= 2);
  int64_t off = m.rgs[1].cols[0].data_page_offset;
  int64_t first_rows = m.rgs[0].num_rows;
  txf_pq_filemeta_release(&m);
  for (int i = 0; i < 8; i++)
    b.data[off + i] = (char)0xff;
  const char *p = unit_path("p.parquet");
  ASSERT_OK(txf_fs_write_atomic(p, b.data, b.len, &err), &err);
  txf_buf_release(&b);
  txf_pq_reader *r;
  ASSERT_OK(txf_pq_reader_open(&r, p, &err), &err);
  txf_pq_value v[3];
  int has, rc;
  int64_t n = 0;
  while (!(rc = txf_pq_reader_next(r, v, &has, &err)) && has)
    n++;
  ASSERT_EQ_I64(rc, TXF_ECORRUPT);
  ASSERT_EQ_I64(n, first_rows);
  ASSERT_CONTAINS(err.msg, "row group 1 column 'id' page 0");
  /* No silent skip to the next row group. */
  ASSERT_EQ_I64(txf_pq_reader_next(r, v, &has, &err), TXF_EUSAGE);
  ASSERT_EQ_I64(has, 0);
  txf_pq_reader_free(r);
}

/* ------------------------------------------------------------- hostile
 * Hand-made files: one row group, each column one v1 data page holding
 * BODY (uncompressed) as it is. What a hostile or broken writer could
 * produce; the reader must refuse them with an error, not abort. */

typedef struct craft_col {
  const char *name;
  int ptype, optional, encoding;
  const void *body;
  size_t body_len;
  int share_prev; /* 1: no page of its own, point at the previous one's */
} craft_col;

static void craft_file(const char *path, const craft_col *cols, size_t n,
                       int64_t n_rows) {
  txf_buf f;
  txf_buf_init(&f, 0);
  (void)txf_buf_append(&f, "PAR1", 4);
  int64_t *off = txf_xcalloc(n, sizeof *off), *len = txf_xcalloc(n, 8);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && cols[i].share_prev) {
      off[i] = off[i - 1];
      len[i] = len[i - 1];
      continue;
    }
    off[i] = (int64_t)f.len;
    tw t;
    txf_pq_tw_init(&t, &f);
    txf_pq_tw_struct_begin(&t);
    txf_pq_tw_i32(&t, 1, PQP_DATA_PAGE);
    txf_pq_tw_i32(&t, 2, (int32_t)cols[i].body_len);
    txf_pq_tw_i32(&t, 3, (int32_t)cols[i].body_len);
    txf_pq_tw_struct_field(&t, 5);
    txf_pq_tw_i32(&t, 1, (int32_t)n_rows);
    txf_pq_tw_i32(&t, 2, cols[i].encoding);
    txf_pq_tw_i32(&t, 3, PQE_RLE);
    txf_pq_tw_i32(&t, 4, PQE_RLE);
    txf_pq_tw_struct_end(&t);
    txf_pq_tw_struct_end(&t);
    (void)txf_buf_append(&f, cols[i].body, cols[i].body_len);
    len[i] = (int64_t)f.len - off[i];
  }
  size_t fstart = f.len;
  tw t;
  txf_pq_tw_init(&t, &f);
  txf_pq_tw_struct_begin(&t);
  txf_pq_tw_i32(&t, 1, 1);
  txf_pq_tw_list_begin(&t, 2, TC_STRUCT, n + 1);
  txf_pq_tw_struct_begin(&t);
  txf_pq_tw_string(&t, 4, "schema");
  txf_pq_tw_i32(&t, 5, (int32_t)n);
  txf_pq_tw_struct_end(&t);
  for (size_t i = 0; i < n; i++) {
    txf_pq_tw_struct_begin(&t);
    txf_pq_tw_i32(&t, 1, cols[i].ptype);
    txf_pq_tw_i32(&t, 3, cols[i].optional ? PQ_OPTIONAL : PQ_REQUIRED);
    txf_pq_tw_string(&t, 4, cols[i].name);
    if (cols[i].ptype == PQT_BYTE_ARRAY)
      txf_pq_tw_i32(&t, 6, PQC_UTF8);
    txf_pq_tw_struct_end(&t);
  }
  txf_pq_tw_i64(&t, 3, n_rows);
  txf_pq_tw_list_begin(&t, 4, TC_STRUCT, 1);
  txf_pq_tw_struct_begin(&t);
  txf_pq_tw_list_begin(&t, 1, TC_STRUCT, n);
  for (size_t i = 0; i < n; i++) {
    txf_pq_tw_struct_begin(&t);
    txf_pq_tw_i64(&t, 2, off[i]);
    txf_pq_tw_struct_field(&t, 3);
    txf_pq_tw_i32(&t, 1, cols[i].ptype);
    txf_pq_tw_list_begin(&t, 2, TC_I32, 2);
    txf_pq_tw_zigzag(&t, cols[i].encoding);
    txf_pq_tw_zigzag(&t, PQE_RLE);
    txf_pq_tw_list_begin(&t, 3, TC_BINARY, 1);
    txf_pq_tw_varint(&t, strlen(cols[i].name));
    (void)txf_buf_puts(&f, cols[i].name);
    txf_pq_tw_i32(&t, 4, PQZ_UNCOMPRESSED);
    txf_pq_tw_i64(&t, 5, n_rows);
    txf_pq_tw_i64(&t, 6, len[i]);
    txf_pq_tw_i64(&t, 7, len[i]);
    txf_pq_tw_i64(&t, 9, off[i]);
    txf_pq_tw_struct_end(&t);
    txf_pq_tw_struct_end(&t);
  }
  txf_pq_tw_i64(&t, 2, (int64_t)(fstart - 4));
  txf_pq_tw_i64(&t, 3, n_rows);
  txf_pq_tw_struct_end(&t);
  txf_pq_tw_struct_end(&t);
  uint8_t tail[8];
  uint32_t flen = (uint32_t)(f.len - fstart);
  memcpy(tail, &flen, 4); /* little-endian host */
  memcpy(tail + 4, "PAR1", 4);
  (void)txf_buf_append(&f, tail, 8);
  txf_err err;
  unlink(path);
  ASSERT_OK(txf_fs_write_atomic(path, f.data, f.len, &err), &err);
  /* TXF_PQ_SEED_DIR=dir keeps a copy (how the fuzz seeds were made). */
  const char *keep = getenv("TXF_PQ_SEED_DIR");
  if (keep) {
    const char *base = strrchr(path, '/');
    char *k = txf_xasprintf("%s%s", keep, base ? base : "/x.parquet");
    ASSERT_OK(txf_fs_write_atomic(k, f.data, f.len, &err), &err);
    free(k);
  }
  free(off);
  free(len);
  txf_buf_release(&f);
}

/* DELTA_BINARY_PACKED: blocks of 4096 values in 4 miniblocks. */
static void delta_encode(txf_buf *b, const int64_t *v, size_t n) {
  tw t;
  txf_pq_tw_init(&t, b);
  txf_pq_tw_varint(&t, 4096);
  txf_pq_tw_varint(&t, 4);
  txf_pq_tw_varint(&t, n);
  txf_pq_tw_zigzag(&t, n ? v[0] : 0);
  for (size_t i = 1; i < n; i += 4096) {
    size_t cnt = n - i < 4096 ? n - i : 4096;
    int64_t mn = INT64_MAX;
    for (size_t k = 0; k < cnt; k++)
      if (v[i + k] - v[i + k - 1] < mn)
        mn = v[i + k] - v[i + k - 1];
    txf_pq_tw_zigzag(&t, mn);
    uint8_t w[4] = {0, 0, 0, 0};
    for (size_t k = 0; k < cnt; k++) {
      int bw = pq_bit_width((uint64_t)(v[i + k] - v[i + k - 1] - mn));
      if (bw > w[k / 1024])
        w[k / 1024] = (uint8_t)bw;
    }
    (void)txf_buf_append(b, w, 4);
    for (size_t m = 0; m * 1024 < cnt; m++) {
      size_t nb = 1024 * (size_t)w[m] / 8, at = b->len;
      (void)txf_buf_grow(b, nb);
      memset(b->data + at, 0, nb);
      for (size_t j = 0; j < 1024 && m * 1024 + j < cnt; j++) {
        size_t k = i + m * 1024 + j;
        uint64_t x = (uint64_t)(v[k] - v[k - 1] - mn);
        for (int bit = 0; bit < w[m]; bit++)
          if (x >> bit & 1)
            b->data[at + (j * w[m] + (size_t)bit) / 8] |=
                (char)(1u << ((j * w[m] + (size_t)bit) % 8));
      }
      b->len = at + nb;
    }
  }
}

/* A DELTA_BYTE_ARRAY page of N values whose strings are given by
 * prefix lengths PRE, suffix lengths LENS and the suffix bytes. */
static void dba_page(txf_buf *body, const int64_t *pre, const int64_t *lens,
                     size_t n, const char *suffixes, size_t suffixes_len) {
  delta_encode(body, pre, n);
  delta_encode(body, lens, n);
  (void)txf_buf_append(body, suffixes, suffixes_len);
}

TEST(pq_reader_reads_a_hand_made_delta_byte_array_page) {
  /* "key-0000", "key-0001", ...: each shares "key-00.." with the last. */
  size_t n = 1000;
  int64_t *pre = txf_xcalloc(n, 8), *lens = txf_xcalloc(n, 8);
  txf_buf suf;
  txf_buf_init(&suf, 0);
  char prev[16] = "", cur[16];
  for (size_t i = 0; i < n; i++) {
    snprintf(cur, sizeof cur, "key-%04zu", i);
    size_t p = 0;
    while (prev[p] && prev[p] == cur[p])
      p++;
    pre[i] = (int64_t)p;
    lens[i] = (int64_t)(strlen(cur) - p);
    (void)txf_buf_puts(&suf, cur + p);
    memcpy(prev, cur, sizeof cur);
  }
  txf_buf body;
  txf_buf_init(&body, 0);
  dba_page(&body, pre, lens, n, suf.data, suf.len);
  craft_col c = {"s", PQT_BYTE_ARRAY, 0, PQE_DELTA_BYTE_ARRAY, body.data,
                 body.len, 0};
  const char *p = unit_path("dba-ok.parquet");
  craft_file(p, &c, 1, (int64_t)n);
  pqt_table got;
  txf_err err;
  ASSERT_OK(pqt_read(p, NULL, 0, &got, &err), &err);
  ASSERT_EQ_U64(got.n_rows, n);
  for (size_t i = 0; i < n; i++) {
    snprintf(cur, sizeof cur, "key-%04zu", i);
    ASSERT_EQ_U64(got.v[i].len, strlen(cur));
    ASSERT_EQ_MEM(got.v[i].v.str, cur, strlen(cur));
  }
  pqt_release(&got);
  txf_buf_release(&body);
  txf_buf_release(&suf);
  free(pre);
  free(lens);
}

/* Each value repeats the whole previous string: a 4 KiB string and a
 * million values claim 4 GB from a page of a few KB. Refused with the
 * place named; before the limit this aborted in txf_xmalloc. */
TEST(pq_reader_refuses_a_delta_byte_array_bomb) {
  size_t n = 1000000, L = 4096;
  int64_t *pre = txf_xcalloc(n, 8), *lens = txf_xcalloc(n, 8);
  for (size_t i = 1; i < n; i++)
    pre[i] = (int64_t)L;
  lens[0] = (int64_t)L;
  char *a = txf_xmalloc(L);
  memset(a, 'a', L);
  txf_buf body;
  txf_buf_init(&body, 0);
  dba_page(&body, pre, lens, n, a, L);
  ASSERT(body.len < 32768);
  craft_col c = {"s", PQT_BYTE_ARRAY, 0, PQE_DELTA_BYTE_ARRAY, body.data,
                 body.len, 0};
  const char *p = unit_path("dba-bomb.parquet");
  craft_file(p, &c, 1, (int64_t)n);
  txf_pq_reader *r;
  txf_err err;
  ASSERT_OK(txf_pq_reader_open(&r, p, &err), &err);
  txf_pq_value v;
  int has;
  ASSERT_EQ_I64(txf_pq_reader_next(r, &v, &has, &err), TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "dba-bomb.parquet: row group 0 column 's' page 0");
  ASSERT_CONTAINS(err.msg, "DELTA_BYTE_ARRAY strings rebuild to more than");
  txf_pq_reader_free(r);
  txf_buf_release(&body);
  free(a);
  free(pre);
  free(lens);
}

/* A run of the RLE hybrid claims millions of values in a few bytes: 16
 * OPTIONAL columns whose one page each says 512K nulls in 8 bytes would
 * make the reader hold 16 decoded pages at once (4M-value pages under
 * the default 1 GiB limit: the same, 8 times over). The reader's memory
 * limit refuses the column that would cross it, naming it. (A PLAIN
 * page is decoded a window at a time: what a page holds is its levels,
 * a byte a row, and their decoding, 4 bytes a row: 2.5 MiB here, while
 * the page being loaded is bounded by what a whole decode would take,
 * 16 bytes a value more.) */
TEST(pq_reader_bounds_decoded_pages_across_columns) {
  enum { N_COLS = 16 };
  int64_t n = INT64_C(1) << 19;
  txf_buf body;
  txf_buf_init(&body, 0);
  (void)txf_buf_append(&body, "\0\0\0\0", 4);
  tw t;
  txf_pq_tw_init(&t, &body);
  txf_pq_tw_varint(&t, (uint64_t)n << 1); /* an RLE run of N ... */
  (void)txf_buf_putc(&body, 0);    /* ... zeros: all null */
  uint32_t l = (uint32_t)body.len - 4;
  memcpy(body.data, &l, 4);
  craft_col cols[N_COLS];
  char names[N_COLS][16];
  for (int i = 0; i < N_COLS; i++) {
    snprintf(names[i], sizeof names[i], "c%02d", i);
    cols[i] = (craft_col){names[i], PQT_INT32, 1, PQE_PLAIN, body.data,
                          body.len, 0};
  }
  const char *p = unit_path("rle-bomb.parquet");
  craft_file(p, cols, N_COLS, n);
  txf_pq_reader *r;
  txf_err err;
  ASSERT_OK(txf_pq_reader_open(&r, p, &err), &err);
  txf_pq_reader_set_memory_limit(r, (size_t)24 << 20);
  txf_pq_value v[N_COLS];
  int has;
  ASSERT_EQ_I64(txf_pq_reader_next(r, v, &has, &err), TXF_ETOOBIG);
  /* 6 columns fit (2.5 MiB each, and 10.5 MiB for the one being loaded),
   * the 7th is refused. */
  ASSERT_CONTAINS(err.msg, "rle-bomb.parquet: row group 0 column 'c06' page 0");
  ASSERT_CONTAINS(err.msg, "over the reader's limit of 24 MiB");
  txf_pq_reader_free(r);
  /* A projection of a few such columns is a valid read (512K nulls). */
  ASSERT_OK(txf_pq_reader_open(&r, p, &err), &err);
  txf_pq_reader_set_memory_limit(r, (size_t)24 << 20);
  const char *two[] = {"c15", "c07"};
  ASSERT_OK(txf_pq_reader_project(r, two, 2, &err), &err);
  ASSERT_OK(txf_pq_reader_next(r, v, &has, &err), &err);
  ASSERT(has && v[0].is_null && v[1].is_null);
  txf_pq_reader_free(r);
  txf_buf_release(&body);
}

/* Two columns whose chunks are the same bytes: each projected column
 * holds its chunk in memory, so overlapping chunks would let a small file
 * cost columns times its size. Refused at open. */
TEST(pq_reader_refuses_overlapping_column_chunks) {
  int32_t vals[3] = {1, 2, 3};
  craft_col cols[2] = {
      {"a", PQT_INT32, 0, PQE_PLAIN, vals, sizeof vals, 0},
      {"b", PQT_INT32, 0, PQE_PLAIN, vals, sizeof vals, 1},
  };
  const char *p = unit_path("overlap.parquet");
  craft_file(p, cols, 2, 3);
  txf_pq_reader *r;
  txf_err err;
  ASSERT_EQ_I64(txf_pq_reader_open(&r, p, &err), TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "overlap.parquet: row group 0: column chunks up "
                           "to 'b' add up to");
  ASSERT_CONTAINS(err.msg, "(chunks overlap)");
  /* The same file with separate chunks reads. */
  cols[1].share_prev = 0;
  p = unit_path("separate.parquet");
  craft_file(p, cols, 2, 3);
  pqt_table got;
  ASSERT_OK(pqt_read(p, NULL, 0, &got, &err), &err);
  ASSERT_EQ_U64(got.n_rows, 3);
  ASSERT_EQ_I64(got.v[5].v.i32, 3);
  pqt_release(&got);
}
