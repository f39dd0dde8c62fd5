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
    pq_rle_encode(&b, v, n, bw);
    ASSERT_EQ_I64(pq_rle_decode((const uint8_t *)b.data, b.len, bw, o, n), 0);
    ASSERT_EQ_MEM(o, v, n * sizeof *v);
    /* Short input fails cleanly. */
    ASSERT_EQ_I64(pq_rle_decode((const uint8_t *)b.data, b.len / 2, bw, o, n),
                  -1);
    txf_buf_release(&b);
    free(v);
    free(o);
  }
}

TEST(pq_thrift_skips_unknown_fields_and_limits_depth) {
  txf_buf b;
  txf_buf_init(&b, 0);
  tw w;
  tw_init(&w, &b);
  tw_struct_begin(&w);
  tw_i32(&w, 1, 1);
  tw_list_begin(&w, 2, TC_STRUCT, 2);
  tw_struct_begin(&w);
  tw_string(&w, 4, "schema");
  tw_i32(&w, 5, 1);
  tw_struct_end(&w);
  tw_struct_begin(&w);
  tw_i32(&w, 1, PQT_INT64);
  tw_i32(&w, 3, PQ_REQUIRED);
  tw_string(&w, 4, "x");
  tw_binary(&w, 99, "junk", 4); /* unknown field id */
  tw_struct_end(&w);
  tw_i64(&w, 3, 0);
  tw_list_begin(&w, 4, TC_STRUCT, 0);
  tw_field(&w, 200, TC_DOUBLE); /* unknown, long-form header */
  (void)txf_buf_append(&b, "12345678", 8);
  tw_struct_end(&w);
  pq_filemeta m;
  txf_err err;
  ASSERT_OK(pq_filemeta_parse(&m, b.data, b.len, &err), &err);
  ASSERT_EQ_U64(m.n_schema, 2);
  ASSERT_EQ_STR(m.schema[1].name, "x");
  ASSERT_EQ_I64(m.schema[1].type, PQT_INT64);
  pq_filemeta_release(&m);
  /* Every truncation is an error, never a crash. */
  for (size_t n = 0; n < b.len; n++)
    ASSERT(pq_filemeta_parse(&m, b.data, n, &err) == TXF_ECORRUPT);
  txf_buf_release(&b);
  /* A deep nest of structs in an unknown field is refused. */
  txf_buf_init(&b, 0);
  (void)txf_buf_append(&b, "\x15\x02", 2); /* field 1 i32 = 1 */
  for (int i = 0; i < 100; i++)
    (void)txf_buf_putc(&b, (char)0x1c); /* field +1 struct */
  ASSERT(pq_filemeta_parse(&m, b.data, b.len, &err) == TXF_ECORRUPT);
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

TEST(pq_writer_is_deterministic_and_falls_back_to_plain) {
  pqt_table t;
  gen3(&t, 20000);
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .row_group_bytes = 200000};
  const char *kv[] = {"source_file", "part-0.csv", NULL};
  o.kv = kv;
  ASSERT_OK(pqt_write(unit_path("a.parquet"), &schema3, &o, &t, &err), &err);
  ASSERT_OK(pqt_write(unit_path("b.parquet"), &schema3, &o, &t, &err), &err);
  txf_buf a, b;
  txf_buf_init(&a, 0);
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("a.parquet"), &a, &err), &err);
  ASSERT_OK(txf_fs_read_file(unit_path("b.parquet"), &b, &err), &err);
  ASSERT_EQ_U64(a.len, b.len);
  ASSERT_EQ_MEM(a.data, b.data, a.len);
  /* Footer: unique ids are PLAIN, the currency is dictionary-encoded. */
  uint32_t flen;
  memcpy(&flen, a.data + a.len - 8, 4);
  pq_filemeta m;
  ASSERT_OK(pq_filemeta_parse(&m, a.data + a.len - 8 - flen, flen, &err),
            &err);
  ASSERT(m.n_rgs > 1);
  ASSERT(!has_encoding(&m, 0, PQE_RLE_DICTIONARY));
  ASSERT(has_encoding(&m, 1, PQE_RLE_DICTIONARY));
  pq_filemeta_release(&m);
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
  txf_buf_release(&b);
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
      ASSERT(rc == TXF_ECORRUPT || rc == TXF_EUNSUPPORTED);
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
  ASSERT_OK(pq_filemeta_parse(&m, b.data + b.len - 8 - flen, flen, &err),
            &err);
  ASSERT(m.n_rgs >= 2);
  int64_t off = m.rgs[1].cols[0].data_page_offset;
  int64_t first_rows = m.rgs[0].num_rows;
  pq_filemeta_release(&m);
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
