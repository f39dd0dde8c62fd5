/* Page checksums (PageHeader.crc): the writer fills them, the reader
 * refuses a page whose bytes do not match. */
#include "pqtest.h"

/* An id, a number and a sometimes-null currency: strings, integers,
 * levels, dictionary and plain pages. */
static const txf_pq_column crc_cols[] = {{"id", TXF_PQ_STRING, 0, 0, 0},
                                         {"n", TXF_PQ_INT64, 0, 0, 0},
                                         {"cur", TXF_PQ_STRING, 1, 0, 0}};
static const txf_pq_schema crc_schema = {crc_cols, 3};

static void crc_gen(pqt_table *t, size_t n) {
  static const char *const cur[] = {"USD", "KRW", "KRW", NULL};
  pqt_init(t, 3);
  uint64_t seed = 3;
  for (size_t i = 0; i < n; i++) {
    txf_pq_value *r = pqt_add(t);
    char id[24];
    pqt_str(t, &r[0], id,
            (size_t)snprintf(id, sizeof id, "C%016llx",
                             (unsigned long long)pqt_rand(&seed)));
    r[1].v.i64 = (int64_t)(pqt_rand(&seed) % 100003);
    const char *c = cur[i % 4];
    if (c)
      pqt_str(t, &r[2], c, 3);
    else
      r[2].is_null = 1;
  }
}

TEST(pq_crc32_matches_the_standard_check_value) {
  ASSERT_EQ_U64(txf_pq_crc32(0, "123456789", 9), 0xCBF43926u);
  ASSERT_EQ_U64(txf_pq_crc32(0, "", 0), 0);
  uint8_t buf[1000];
  uint64_t seed = 5;
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)pqt_rand(&seed);
  for (size_t n = 0; n < sizeof buf; n += 37) {
    ASSERT_EQ_U64(txf_pq_crc32(0, buf, n), pqt_crc32_bitwise(buf, n));
    size_t h = n / 3; /* in two calls: the same */
    ASSERT_EQ_U64(txf_pq_crc32(txf_pq_crc32(0, buf, h), buf + h, n - h),
                  pqt_crc32_bitwise(buf, n));
  }
}

/* Every page of every kind (dictionary, v1, v2; compressed or not)
 * carries the CRC of its bytes, and DuckDB reads the file. */
TEST(pq_writer_fills_every_page_crc) {
  pqt_table t;
  crc_gen(&t, 5000);
  txf_err err;
  for (int v2 = 0; v2 < 2; v2++)
    for (int codec = 0; codec < 3; codec++) {
      txf_pq_writer_opts o = {
          .codec = (txf_pq_codec)codec, .page_bytes = 2048, .data_page_v2 = v2};
      const char *p = unit_path("crc.parquet");
      unlink(p);
      ASSERT_OK(pqt_write(p, &crc_schema, &o, &t, &err), &err);
      int dict = 0;
      for (size_t c = 0; c < 3; c++) {
        pqt_page *pg;
        size_t n = pqt_pages(p, c, &pg);
        ASSERT(n > 3);
        for (size_t i = 0; i < n; i++) {
          ASSERT(pg[i].has_crc);
          ASSERT_EQ_U64(pg[i].crc, pg[i].body_crc);
          dict += pg[i].type == PQP_DICTIONARY_PAGE;
        }
        free(pg);
      }
      ASSERT(dict > 0);
      pqt_duck_check(p, &crc_schema, &t);
    }
  pqt_release(&t);
}

/* One bit flipped anywhere in a page's bytes: the read stops with an
 * error naming the file, the column and the offset, never a wrong value. */
TEST(pq_reader_refuses_a_page_that_fails_its_crc) {
  pqt_table t;
  crc_gen(&t, 3000);
  txf_err err;
  txf_pq_writer_opts o = {
      .codec = TXF_PQ_UNCOMPRESSED, .page_bytes = 4096, .no_dictionary = 1};
  const char *p = unit_path("good.parquet");
  ASSERT_OK(pqt_write(p, &crc_schema, &o, &t, &err), &err);
  txf_buf good;
  txf_buf_init(&good, 0);
  ASSERT_OK(txf_fs_read_file(p, &good, &err), &err);
  const char *q = unit_path("flipped.parquet");
  uint64_t seed = 17;
  int tried = 0;
  for (size_t c = 0; c < 3; c++) {
    pqt_page *pg;
    size_t n = pqt_pages(p, c, &pg);
    for (size_t i = 0; i < n; i++) {
      if (pg[i].compressed == 0)
        continue;
      size_t at = (size_t)pg[i].body_off +
                  (size_t)(pqt_rand(&seed) % (uint64_t)pg[i].compressed);
      uint8_t bit = (uint8_t)(1u << (pqt_rand(&seed) % 8));
      good.data[at] ^= (char)bit;
      unlink(q);
      FILE *f = fopen(q, "wb");
      ASSERT(f && fwrite(good.data, 1, good.len, f) == good.len);
      fclose(f);
      good.data[at] ^= (char)bit;
      pqt_table got;
      int rc = pqt_read(q, NULL, 0, &got, &err);
      pqt_release(&got);
      ASSERT_EQ_I64(rc, TXF_ECORRUPT);
      ASSERT_CONTAINS(err.msg, "fails its checksum");
      ASSERT_CONTAINS(err.msg, crc_cols[c].name);
      ASSERT_CONTAINS(err.msg, "flipped.parquet");
      tried++;
    }
    free(pg);
  }
  ASSERT(tried > 10);
  /* The intact file reads back whole. (Files without checksums, like
   * DuckDB's, are read as before: test_interop.c.) */
  pqt_table got;
  ASSERT_OK(pqt_read(p, NULL, 0, &got, &err), &err);
  ASSERT_TABLES_EQ(&got, &t, &crc_schema);
  pqt_release(&got);
  txf_buf_release(&good);
  pqt_release(&t);
}
