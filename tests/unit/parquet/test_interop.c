/* Interop: files txnflow writes are read by DuckDB with identical values,
 * and files DuckDB writes are read by txnflow with identical values. */
#include "pqtest.h"

#include <stdint.h>
#include <unistd.h>

static const txf_pq_column all_cols[] = {
    {"id", TXF_PQ_STRING, 0, 0, 0},
    {"b", TXF_PQ_BOOLEAN, 1, 0, 0},
    {"i32", TXF_PQ_INT32, 1, 0, 0},
    {"i64", TXF_PQ_INT64, 0, 0, 0},
    {"f64", TXF_PQ_DOUBLE, 1, 0, 0},
    {"s", TXF_PQ_STRING, 1, 0, 0},
    {"d", TXF_PQ_DATE, 1, 0, 0},
    {"ts", TXF_PQ_TIMESTAMP_US, 1, 0, 0},
    {"amount", TXF_PQ_DECIMAL, 1, 18, 2},
    {"cur", TXF_PQ_STRING, 0, 0, 0},
};
static const txf_pq_schema all_schema = {all_cols, TXF_ARRAY_LEN(all_cols)};

/* Random rows with the edge cases mixed in: nulls, empty and long and
 * multi-byte strings, extreme decimals, timestamps and dates. */
static void gen_rows(pqt_table *t, size_t n, uint64_t seed) {
  static const char *const curs[] = {"KRW", "USD", "JPY", "EUR", "GBP"};
  static const int64_t ext_ts[] = {INT64_C(253402300799999999),
                                   INT64_C(-62135596800000000), -1, 0, 1};
  static const int32_t ext_d[] = {2932896, -719162, -1, 0};
  static const int64_t ext_amt[] = {INT64_C(999999999999999999),
                                    INT64_C(-999999999999999999), 0, 1, -1};
  static const double ext_f[] = {0.0, -0.0, 1e308, -1e-308, 5e-324,
                                 INFINITY, -INFINITY};
  char buf[3000];
  pqt_init(t, all_schema.n_cols);
  for (size_t i = 0; i < n; i++) {
    txf_pq_value *r = pqt_add(t);
    uint64_t x = pqt_rand(&seed);
    int len = snprintf(buf, sizeof buf, "txn-%08zu-%llx", i,
                       (unsigned long long)(x & 0xffff));
    pqt_str(t, &r[0], buf, (size_t)len);
    r[1].is_null = x % 7 == 0;
    r[1].v.b = (x >> 8) & 1;
    r[2].is_null = x % 11 == 0;
    r[2].v.i32 = (int32_t)(pqt_rand(&seed) % 5 == 0 ? (x % 2 ? INT32_MAX
                                                                : INT32_MIN)
                                                     : (int32_t)(x >> 16));
    r[3].v.i64 = (int64_t)pqt_rand(&seed);
    uint64_t y = pqt_rand(&seed);
    r[4].is_null = y % 13 == 0;
    r[4].v.f64 = y % 5 == 0 ? ext_f[(y >> 8) % TXF_ARRAY_LEN(ext_f)]
                            : (double)(int64_t)y / 1e6;
    /* s: null, empty, long, multi-byte, or a few repeated values */
    uint64_t z = pqt_rand(&seed);
    switch (z % 9) {
    case 0:
      r[5].is_null = 1;
      break;
    case 1:
      pqt_str(t, &r[5], "", 0);
      break;
    case 2: {
      size_t L = 100 + (size_t)(z >> 8) % 2500;
      for (size_t k = 0; k < L; k++)
        buf[k] = (char)('a' + (k * 7 + (z >> 20)) % 26);
      pqt_str(t, &r[5], buf, L);
      break;
    }
    case 3:
      pqt_str(t, &r[5], "\xed\x95\x9c\xea\xb5\xad \xe2\x82\xa9", 10);
      break;
    default:
      len = snprintf(buf, sizeof buf, "merchant-%d", (int)(z >> 40) % 50);
      pqt_str(t, &r[5], buf, (size_t)len);
    }
    uint64_t u = pqt_rand(&seed);
    r[6].is_null = u % 17 == 0;
    r[6].v.i32 = u % 4 == 0 ? ext_d[(u >> 8) % TXF_ARRAY_LEN(ext_d)]
                            : 19000 + (int32_t)((u >> 8) % 2000);
    r[7].is_null = u % 19 == 0;
    r[7].v.i64 = u % 6 == 0 ? ext_ts[(u >> 12) % TXF_ARRAY_LEN(ext_ts)]
                            : INT64_C(1700000000000000) +
                                  (int64_t)((u >> 12) % INT64_C(100000000000));
    uint64_t a = pqt_rand(&seed);
    r[8].is_null = a % 23 == 0;
    r[8].v.i64 = a % 8 == 0 ? ext_amt[(a >> 8) % TXF_ARRAY_LEN(ext_amt)]
                            : (int64_t)((a >> 8) % 100000000);
    const char *c = curs[(a >> 40) % 5];
    pqt_str(t, &r[9], c, 3);
  }
}

static void check_file_both_ways(const char *path, const txf_pq_schema *s,
                                 const pqt_table *want) {
  txf_err err;
  pqt_table got;
  ASSERT_OK(pqt_read(path, NULL, 0, &got, &err), &err);
  ASSERT_TABLES_EQ(&got, want, s);
  pqt_release(&got);
  pqt_duck_check(path, s, want);
}

static void roundtrip(txf_pq_codec codec, int no_dict, size_t rg_bytes,
                      size_t page_bytes, size_t n, const char *name) {
  pqt_table t;
  gen_rows(&t, n, 42 + n);
  txf_pq_writer_opts o = {.codec = codec,
                          .row_group_bytes = rg_bytes,
                          .page_bytes = page_bytes,
                          .no_dictionary = no_dict};
  txf_err err;
  const char *p = unit_path(name);
  ASSERT_OK(pqt_write(p, &all_schema, &o, &t, &err), &err);
  check_file_both_ways(p, &all_schema, &t);
  pqt_release(&t);
}

TEST(pq_interop_duckdb_reads_ours_uncompressed) {
  roundtrip(TXF_PQ_UNCOMPRESSED, 0, 0, 0, 3000, "u.parquet");
}

TEST(pq_interop_duckdb_reads_ours_snappy_many_pages) {
  roundtrip(TXF_PQ_SNAPPY, 0, 0, 4096, 3000, "s.parquet");
}

TEST(pq_interop_duckdb_reads_ours_zstd_many_row_groups) {
  roundtrip(TXF_PQ_ZSTD, 0, 20000, 2048, 3000, "z.parquet");
}

TEST(pq_interop_duckdb_reads_ours_plain_only) {
  roundtrip(TXF_PQ_ZSTD, 1, 50000, 8192, 2000, "p.parquet");
}

TEST(pq_interop_duckdb_reads_ours_single_and_zero_rows) {
  roundtrip(TXF_PQ_SNAPPY, 0, 0, 0, 1, "one.parquet");
  roundtrip(TXF_PQ_SNAPPY, 0, 0, 0, 0, "zero.parquet");
}

/* Data page v2 from our writer: every codec, dictionary and PLAIN,
 * nulls; the pages really are v2 (type 3) with the level and null
 * counts right, and DuckDB and our reader read them exactly. */
static void roundtrip_v2(txf_pq_codec codec, int no_dict, size_t n,
                         const char *name) {
  pqt_table t;
  gen_rows(&t, n, 7 + n);
  txf_pq_writer_opts o = {.codec = codec,
                          .row_group_bytes = 60000,
                          .page_bytes = 4096,
                          .no_dictionary = no_dict,
                          .data_page_v2 = 1};
  txf_err err;
  const char *p = unit_path(name);
  ASSERT_OK(pqt_write(p, &all_schema, &o, &t, &err), &err);
  int dict_pages = 0;
  for (size_t col = 0; col < all_schema.n_cols; col++) {
    pqt_page *pg;
    size_t np = pqt_pages(p, col, &pg);
    int64_t rows = 0, nulls = 0, want_nulls = 0;
    for (size_t r = 0; r < t.n_rows; r++)
      want_nulls += t.v[r * t.n_cols + col].is_null;
    for (size_t i = 0; i < np; i++) {
      if (pg[i].type == 2)
        continue; /* dictionary page */
      ASSERT_EQ_I64(pg[i].type, 3); /* DATA_PAGE_V2 */
      ASSERT_EQ_I64(pg[i].num_rows, pg[i].num_values);
      ASSERT_EQ_I64(pg[i].is_compressed, codec != TXF_PQ_UNCOMPRESSED);
      ASSERT(all_schema.cols[col].optional ? pg[i].def_len > 0
                                           : pg[i].def_len == 0);
      ASSERT(pg[i].has_null_count);
      ASSERT_EQ_I64(pg[i].null_count, pg[i].num_nulls);
      dict_pages += pg[i].encoding == PQE_RLE_DICTIONARY;
      rows += pg[i].num_values;
      nulls += pg[i].num_nulls;
    }
    free(pg);
    ASSERT_EQ_I64(rows, (int64_t)t.n_rows);
    ASSERT_EQ_I64(nulls, want_nulls);
  }
  ASSERT(no_dict ? dict_pages == 0 : dict_pages > 0);
  check_file_both_ways(p, &all_schema, &t);
  pqt_release(&t);
}

TEST(pq_interop_duckdb_reads_our_v2_pages) {
  roundtrip_v2(TXF_PQ_UNCOMPRESSED, 0, 2000, "v2-u.parquet");
  roundtrip_v2(TXF_PQ_SNAPPY, 0, 2000, "v2-s.parquet");
  roundtrip_v2(TXF_PQ_ZSTD, 0, 2000, "v2-z.parquet");
  roundtrip_v2(TXF_PQ_ZSTD, 1, 1500, "v2-zp.parquet");
  roundtrip_v2(TXF_PQ_SNAPPY, 1, 1, "v2-one.parquet");
}

TEST(pq_interop_duckdb_reads_ours_all_nulls) {
  static const txf_pq_column cols[] = {
      {"a", TXF_PQ_STRING, 1, 0, 0},
      {"b", TXF_PQ_DECIMAL, 1, 18, 2},
      {"c", TXF_PQ_BOOLEAN, 1, 0, 0},
  };
  txf_pq_schema s = {cols, 3};
  pqt_table t;
  pqt_init(&t, 3);
  for (int i = 0; i < 500; i++) {
    txf_pq_value *r = pqt_add(&t);
    r[0].is_null = r[1].is_null = r[2].is_null = 1;
  }
  txf_err err;
  const char *p = unit_path("nulls.parquet");
  ASSERT_OK(pqt_write(p, &s, NULL, &t, &err), &err);
  check_file_both_ways(p, &s, &t);
  /* The same in v2 pages (empty values sections) for every codec. */
  for (int codec = TXF_PQ_UNCOMPRESSED; codec <= TXF_PQ_ZSTD; codec++) {
    txf_pq_writer_opts o = {.codec = (txf_pq_codec)codec, .data_page_v2 = 1};
    p = unit_path(codec == 0 ? "nulls-v2u.parquet"
                  : codec == 1 ? "nulls-v2s.parquet"
                               : "nulls-v2z.parquet");
    ASSERT_OK(pqt_write(p, &s, &o, &t, &err), &err);
    check_file_both_ways(p, &s, &t);
  }
  pqt_release(&t);
}

/* DuckDB's view of the column chunk statistics of file PATH, a row per
 * column: min, max, null count, as strings (NULL where absent). */
static void duck_chunk_stats(duckdb_connection con, const char *path,
                             pqt_table *got) {
  char sql[800];
  snprintf(sql, sizeof sql,
           "SELECT stats_min_value, stats_max_value, stats_null_count::VARCHAR"
           " FROM parquet_metadata('%s') ORDER BY column_id",
           path);
  static const txf_pq_column sc[] = {{"mn", TXF_PQ_STRING, 1, 0, 0},
                                     {"mx", TXF_PQ_STRING, 1, 0, 0},
                                     {"nc", TXF_PQ_STRING, 1, 0, 0}};
  txf_pq_schema ss = {sc, 3};
  pqt_duck_fetch(con, sql, &ss, got);
}

/* DuckDB's own statistics view of our file: min/max/null_count. */
TEST(pq_interop_duckdb_sees_our_statistics) {
  static const txf_pq_column cols[] = {
      {"n", TXF_PQ_INT64, 0, 0, 0},
      {"s", TXF_PQ_STRING, 1, 0, 0},
      {"amount", TXF_PQ_DECIMAL, 0, 18, 2},
  };
  txf_pq_schema s = {cols, 3};
  pqt_table t;
  pqt_init(&t, 3);
  for (int i = 0; i < 1000; i++) {
    txf_pq_value *r = pqt_add(&t);
    r[0].v.i64 = (i * 7919) % 1000 - 500;
    if (i % 10 == 3)
      r[1].is_null = 1;
    else {
      char b[16];
      int n = snprintf(b, sizeof b, "k%03d", (i * 31) % 997);
      pqt_str(&t, &r[1], b, (size_t)n);
    }
    r[2].v.i64 = i == 500 ? INT64_C(-999999999999999999) : i * 101;
  }
  txf_err err;
  const char *p = unit_path("stats.parquet");
  ASSERT_OK(pqt_write(p, &s, NULL, &t, &err), &err);
  duckdb_database db;
  duckdb_connection con;
  pqt_duck_open(&db, &con);
  char sql[800];
  pqt_table got;
  duck_chunk_stats(con, p, &got);
  ASSERT_EQ_U64(got.n_rows, 3);
  const char *want[3][3] = {{"-500", "499", "0"},
                            {"k000", "k996", "100"},
                            {"-9999999999999999.99", "1008.99", "0"}};
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++) {
      txf_pq_value *v = &got.v[r * 3 + c];
      ASSERT(!v->is_null);
      char b[64];
      snprintf(b, sizeof b, "%.*s", (int)v->len, v->v.str);
      ASSERT_EQ_STR(b, want[r][c]);
    }
  pqt_release(&got);
  /* And DuckDB prunes with them: a filter outside the range reads 0. */
  snprintf(sql, sizeof sql,
           "SELECT count(*)::VARCHAR FROM read_parquet('%s') WHERE s > 'zz'",
           p);
  static const txf_pq_column cc[] = {{"c", TXF_PQ_STRING, 1, 0, 0}};
  txf_pq_schema cs = {cc, 1};
  pqt_duck_fetch(con, sql, &cs, &got);
  ASSERT_EQ_U64(got.n_rows, 1);
  ASSERT_EQ_U64(got.v[0].len, 1);
  ASSERT(got.v[0].v.str[0] == '0');
  pqt_release(&got);
  pqt_duck_close(&db, &con);
  pqt_release(&t);
}

/* ------------------------------------------------------------- reverse */

/* A DuckDB table with every type we read, nulls and edge values. */
static const char duck_table[] =
    "CREATE TABLE t AS SELECT"
    " 'txn-' || lpad(i::VARCHAR, 8, '0') AS id,"
    " CASE WHEN i %% 7 = 0 THEN NULL ELSE i %% 3 = 0 END AS b,"
    " CASE WHEN i %% 11 = 0 THEN NULL WHEN i %% 5 = 0 THEN 2147483647"
    "      ELSE (i * 7919 %% 100000 - 50000)::INTEGER END AS i32,"
    " (i * 1000003 - 5000000000)::BIGINT AS i64,"
    " CASE WHEN i %% 13 = 0 THEN NULL ELSE i / 7.0 END::DOUBLE AS f64,"
    " CASE WHEN i %% 9 = 0 THEN NULL WHEN i %% 9 = 1 THEN ''"
    "      WHEN i %% 9 = 2 THEN repeat('x', 300 + i %% 50)"
    "      WHEN i %% 9 = 3 THEN '한국 ₩'"
    "      ELSE 'merchant-' || (i %% 40)::VARCHAR END AS s,"
    " CASE WHEN i %% 17 = 0 THEN NULL WHEN i = 1 THEN DATE '0001-01-01'"
    "      WHEN i = 2 THEN DATE '9999-12-31'"
    "      ELSE DATE '2024-01-01' + (i %% 400)::INTEGER END AS d,"
    " CASE WHEN i %% 19 = 0 THEN NULL"
    "      WHEN i = 1 THEN TIMESTAMPTZ '0001-01-01 00:00:00+00'"
    "      WHEN i = 2 THEN TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"
    "      ELSE make_timestamp(1700000000000000 + i * 1234567)::TIMESTAMPTZ"
    " END AS ts,"
    " CASE WHEN i %% 23 = 0 THEN NULL"
    "      WHEN i = 1 THEN 9999999999999999.99::DECIMAL(18,2)"
    "      WHEN i = 2 THEN -9999999999999999.99::DECIMAL(18,2)"
    "      ELSE ((i * 37 %% 1000000) / 100)::DECIMAL(18,2) END AS amount,"
    " (['KRW','USD','JPY','EUR'])[1 + i %% 4] AS cur"
    " FROM range(0, %d) r(i)";

static void duck_written(const char *opts, int n_rows, const char *name) {
  duckdb_database db;
  duckdb_connection con;
  pqt_duck_open(&db, &con);
  char sql[4096];
  snprintf(sql, sizeof sql, duck_table, n_rows);
  pqt_duck_exec(con, sql);
  const char *p = unit_path(name);
  snprintf(sql, sizeof sql, "COPY t TO '%s' (FORMAT parquet%s)", p, opts);
  pqt_duck_exec(con, sql);
  txf_err err;
  pqt_table got;
  ASSERT_OK(pqt_read(p, NULL, 0, &got, &err), &err);
  txf_pq_reader *r;
  ASSERT_OK(txf_pq_reader_open(&r, p, &err), &err);
  const txf_pq_schema *s = txf_pq_reader_schema(r);
  ASSERT_EQ_U64(s->n_cols, all_schema.n_cols);
  for (size_t i = 0; i < s->n_cols; i++) {
    ASSERT_EQ_STR(s->cols[i].name, all_cols[i].name);
    ASSERT_EQ_I64(s->cols[i].type, all_cols[i].type);
  }
  ASSERT_EQ_I64(s->cols[8].precision, 18);
  ASSERT_EQ_I64(s->cols[8].scale, 2);
  ASSERT_EQ_I64(txf_pq_reader_num_rows(r), n_rows);
  pqt_table duck;
  snprintf(sql, sizeof sql, "SELECT * FROM read_parquet('%s')", p);
  pqt_duck_fetch(con, sql, s, &duck);
  ASSERT_TABLES_EQ(&got, &duck, s);
  /* A projection reads the same values for the columns asked for. */
  const char *names[] = {"amount", "id", "ts"};
  pqt_table proj;
  ASSERT_OK(pqt_read(p, names, 3, &proj, &err), &err);
  ASSERT_EQ_U64(proj.n_rows, got.n_rows);
  for (size_t i = 0; i < proj.n_rows; i++) {
    ASSERT(pqt_value_eq(TXF_PQ_DECIMAL, &proj.v[i * 3], &got.v[i * 10 + 8]));
    ASSERT(pqt_value_eq(TXF_PQ_STRING, &proj.v[i * 3 + 1], &got.v[i * 10]));
    ASSERT(pqt_value_eq(TXF_PQ_TIMESTAMP_US, &proj.v[i * 3 + 2],
                        &got.v[i * 10 + 7]));
  }
  pqt_release(&proj);
  pqt_release(&duck);
  pqt_release(&got);
  txf_pq_reader_free(r);
  pqt_duck_close(&db, &con);
}

TEST(pq_interop_we_read_duckdb_snappy) {
  duck_written(", COMPRESSION snappy", 5000, "d-snappy.parquet");
}

TEST(pq_interop_we_read_duckdb_zstd_small_row_groups) {
  duck_written(", COMPRESSION zstd, ROW_GROUP_SIZE 1000", 5000,
               "d-zstd.parquet");
}

TEST(pq_interop_we_read_duckdb_uncompressed) {
  duck_written(", COMPRESSION uncompressed", 3000, "d-unc.parquet");
}

/* DuckDB's PARQUET_VERSION v2 changes the encodings (DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT, ...), not the page headers:
 * DuckDB 1.4 writes data page v1 either way. So this covers the v2
 * encodings; v2 pages are covered by our own writer's v2 option (above)
 * and by pq_interop_we_read_an_independent_v2_writer. */
TEST(pq_interop_we_read_duckdb_v2_encodings) {
  duck_written(", COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 2048",
               5000, "d-v2.parquet");
  duck_written(", COMPRESSION snappy, PARQUET_VERSION v2", 3000,
               "d-v2s.parquet");
  duck_written(", COMPRESSION uncompressed, PARQUET_VERSION v2", 3000,
               "d-v2u.parquet");
}

/* Data page v2 written by an independent writer: parquetjs 0.11.2 with
 * useDataPageV2 (tests/data/parquet/gen-v2.js made the fixtures). Every
 * data page is type 3; our reader's values equal DuckDB's. */
TEST(pq_interop_we_read_an_independent_v2_writer) {
  static const char *const files[] = {"js-v2-snappy.parquet",
                                      "js-v2-plain.parquet"};
  duckdb_database db;
  duckdb_connection con;
  pqt_duck_open(&db, &con);
  for (size_t f = 0; f < TXF_ARRAY_LEN(files); f++) {
    char *p = txf_xstrdup(pqt_fixture(files[f]));
    txf_err err;
    txf_pq_reader *r;
    ASSERT_OK(txf_pq_reader_open(&r, p, &err), &err);
    const txf_pq_schema *s = txf_pq_reader_schema(r);
    ASSERT_EQ_U64(s->n_cols, 8);
    ASSERT_EQ_I64(txf_pq_reader_num_rows(r), 200);
    ASSERT_EQ_I64(s->cols[4].type, TXF_PQ_TIMESTAMP_US);
    ASSERT_EQ_I64(s->cols[5].type, TXF_PQ_DATE);
    int v2 = 0;
    for (size_t col = 0; col < s->n_cols; col++) {
      pqt_page *pg;
      size_t np = pqt_pages(p, col, &pg);
      for (size_t i = 0; i < np; i++) {
        ASSERT_EQ_I64(pg[i].type, 3);
        v2++;
      }
      free(pg);
    }
    ASSERT(v2 >= 8 * 3); /* 3 row groups */
    pqt_table got, duck;
    ASSERT_OK(pqt_read(p, NULL, 0, &got, &err), &err);
    char sql[4200];
    snprintf(sql, sizeof sql, "SELECT * FROM read_parquet('%s')", p);
    pqt_duck_fetch(con, sql, s, &duck);
    ASSERT_EQ_U64(got.n_rows, 200);
    ASSERT_TABLES_EQ(&got, &duck, s);
    /* Nulls and the odd values really are there. */
    ASSERT(got.v[0 * 8 + 1].is_null && got.v[0 * 8 + 7].is_null);
    ASSERT_EQ_I64(got.v[1 * 8 + 2].v.i64, INT64_C(-9007199254740991));
    ASSERT_EQ_I64(got.v[1 * 8 + 4].v.i64, INT64_C(1700000001001000));
    ASSERT_EQ_U64(got.v[7 * 8 + 1].len, 11); /* "한국 ₩7" */
    pqt_release(&duck);
    pqt_release(&got);
    txf_pq_reader_free(r);
    free(p);
  }
  pqt_duck_close(&db, &con);
}

TEST(pq_interop_we_read_duckdb_single_and_zero_rows) {
  duck_written(", COMPRESSION zstd", 1, "d-one.parquet");
  duck_written(", COMPRESSION zstd", 0, "d-zero.parquet");
}

TEST(pq_interop_we_read_duckdb_decimal_int32_and_millis) {
  duckdb_database db;
  duckdb_connection con;
  pqt_duck_open(&db, &con);
  const char *p = unit_path("d-narrow.parquet");
  char sql[1024];
  snprintf(sql, sizeof sql,
           "COPY (SELECT (i / 100)::DECIMAL(9,2) AS small,"
           " i::TINYINT AS tiny, i::SMALLINT AS sm, i::FLOAT AS fl,"
           " make_timestamp(i * 1000000)::TIMESTAMP AS lts"
           " FROM range(-100, 100) r(i)) TO '%s' (FORMAT parquet)",
           p);
  pqt_duck_exec(con, sql);
  txf_err err;
  txf_pq_reader *r;
  ASSERT_OK(txf_pq_reader_open(&r, p, &err), &err);
  const txf_pq_schema *s = txf_pq_reader_schema(r);
  ASSERT_EQ_I64(s->cols[0].type, TXF_PQ_DECIMAL);
  ASSERT_EQ_I64(s->cols[0].precision, 9);
  ASSERT_EQ_I64(s->cols[1].type, TXF_PQ_INT32);
  ASSERT_EQ_I64(s->cols[2].type, TXF_PQ_INT32);
  ASSERT_EQ_I64(s->cols[3].type, TXF_PQ_DOUBLE);
  ASSERT_EQ_I64(s->cols[4].type, TXF_PQ_TIMESTAMP_US);
  txf_pq_value v[5];
  int has, i = -100;
  for (;;) {
    ASSERT_OK(txf_pq_reader_next(r, v, &has, &err), &err);
    if (!has)
      break;
    ASSERT_EQ_I64(v[0].v.i64, i);
    ASSERT_EQ_I64(v[1].v.i32, i);
    ASSERT_EQ_I64(v[2].v.i32, i);
    ASSERT_EQ_DBL(v[3].v.f64, i);
    ASSERT_EQ_I64(v[4].v.i64, (int64_t)i * 1000000);
    i++;
  }
  ASSERT_EQ_I64(i, 100);
  txf_pq_reader_free(r);
  pqt_duck_close(&db, &con);
}

TEST(pq_interop_unsupported_types_are_named) {
  duckdb_database db;
  duckdb_connection con;
  pqt_duck_open(&db, &con);
  const char *p = unit_path("d-list.parquet");
  char sql[512];
  snprintf(sql, sizeof sql,
           "COPY (SELECT [1,2] AS l) TO '%s' (FORMAT parquet)", p);
  pqt_duck_exec(con, sql);
  txf_err err;
  txf_pq_reader *r;
  ASSERT_EQ_I64(txf_pq_reader_open(&r, p, &err), TXF_EUNSUPPORTED);
  ASSERT_CONTAINS(err.msg, "nested");
  p = unit_path("d-wide.parquet");
  snprintf(sql, sizeof sql,
           "COPY (SELECT 1.5::DECIMAL(30,2) AS w) TO '%s' (FORMAT parquet)",
           p);
  pqt_duck_exec(con, sql);
  ASSERT_EQ_I64(txf_pq_reader_open(&r, p, &err), TXF_EUNSUPPORTED);
  ASSERT_CONTAINS(err.msg, "column 'w'");
  p = unit_path("d-ns.parquet");
  snprintf(sql, sizeof sql,
           "COPY (SELECT TIMESTAMP_NS '2024-01-01 00:00:00.123456789' AS t) TO '%s' (FORMAT parquet)",
           p);
  pqt_duck_exec(con, sql);
  ASSERT_EQ_I64(txf_pq_reader_open(&r, p, &err), TXF_EUNSUPPORTED);
  ASSERT_CONTAINS(err.msg, "nanoseconds");
  /* Annotations we do not map name the column and the type. */
  static const struct {
    const char *sql, *col, *type;
  } un[] = {
      {"SELECT 1::UBIGINT AS u", "column 'u' (INT64)", "UINT_64"},
      {"SELECT 2::BIGINT AS i, 1::UINTEGER AS u32", "column 'u32' (INT32)",
       "converted type UINT_32 on INT32"},
      {"SELECT TIME '12:34:56' AS t", "column 't' (INT64)",
       "logical type TIME(MICROS)"},
      {"SELECT INTERVAL 1 DAY AS iv", "column 'iv'", "INTERVAL"},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(un); i++) {
    p = unit_path("d-un.parquet");
    unlink(p);
    snprintf(sql, sizeof sql, "COPY (%s) TO '%s' (FORMAT parquet)", un[i].sql,
             p);
    pqt_duck_exec(con, sql);
    ASSERT_EQ_I64(txf_pq_reader_open(&r, p, &err), TXF_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, un[i].col);
    ASSERT_CONTAINS(err.msg, un[i].type);
  }
  pqt_duck_close(&db, &con);
}

/* A string bound over 64 bytes drops min/max from that page's and
 * chunk's statistics, but null_count stays: engines still count nulls
 * (and prune IS NULL) from it. */
TEST(pq_interop_long_string_bounds_keep_null_count) {
  static const txf_pq_column cols[] = {{"s", TXF_PQ_STRING, 1, 0, 0},
                                       {"n", TXF_PQ_INT64, 0, 0, 0}};
  txf_pq_schema s = {cols, 2};
  pqt_table t;
  pqt_init(&t, 2);
  char b[128];
  int64_t nulls = 0;
  for (int i = 0; i < 400; i++) {
    txf_pq_value *r = pqt_add(&t);
    r[1].v.i64 = i;
    if (i % 5 == 0) {
      r[0].is_null = 1;
      nulls++;
      continue;
    }
    int n = i < 200 ? snprintf(b, sizeof b, "short-%03d", i)
                    : snprintf(b, sizeof b, "%0100d", i);
    pqt_str(&t, &r[0], b, (size_t)n);
  }
  txf_pq_writer_opts o = {.codec = TXF_PQ_SNAPPY, .page_bytes = 1024};
  txf_err err;
  const char *p = unit_path("long.parquet");
  ASSERT_OK(pqt_write(p, &s, &o, &t, &err), &err);
  check_file_both_ways(p, &s, &t);
  /* Pages: every data page has null_count; min/max only where all the
   * page's strings are short. */
  pqt_page *pg;
  size_t np = pqt_pages(p, 0, &pg);
  int64_t seen_nulls = 0, rows = 0;
  int with_minmax = 0, without = 0;
  for (size_t i = 0; i < np; i++) {
    if (pg[i].type != 0)
      continue;
    ASSERT(pg[i].has_stats && pg[i].has_null_count);
    seen_nulls += pg[i].null_count;
    rows += pg[i].num_values;
    ASSERT_EQ_I64(pg[i].has_min, pg[i].has_max);
    if (pg[i].has_min)
      with_minmax++;
    else
      without++;
  }
  free(pg);
  ASSERT_EQ_I64(rows, 400);
  ASSERT_EQ_I64(seen_nulls, nulls);
  ASSERT(with_minmax > 0 && without > 0);
  /* Chunk: DuckDB sees the null count, and no min/max. */
  duckdb_database db;
  duckdb_connection con;
  pqt_duck_open(&db, &con);
  char sql[800];
  pqt_table got;
  duck_chunk_stats(con, p, &got);
  ASSERT_EQ_U64(got.n_rows, 2);
  ASSERT(!got.v[2].is_null);
  snprintf(b, sizeof b, "%.*s", (int)got.v[2].len, got.v[2].v.str);
  ASSERT_EQ_STR(b, "80");
  ASSERT(got.v[0].is_null && got.v[1].is_null);
  ASSERT(!got.v[3].is_null && !got.v[4].is_null && !got.v[5].is_null);
  pqt_release(&got);
  /* ... and answers a null count from it. */
  snprintf(sql, sizeof sql,
           "SELECT count(*)::VARCHAR FROM read_parquet('%s') WHERE s IS NULL",
           p);
  static const txf_pq_column cc[] = {{"c", TXF_PQ_STRING, 1, 0, 0}};
  txf_pq_schema cs = {cc, 1};
  pqt_duck_fetch(con, sql, &cs, &got);
  ASSERT_EQ_U64(got.n_rows, 1);
  ASSERT_EQ_U64(got.v[0].len, 2);
  ASSERT_EQ_MEM(got.v[0].v.str, "80", 2);
  pqt_release(&got);
  pqt_duck_close(&db, &con);
  pqt_release(&t);
}

/* The dictionary passes 1 MiB in the middle of a column chunk: the pages
 * so far keep it, the rest of the chunk is PLAIN. One chunk then holds a
 * dictionary page, RLE_DICTIONARY pages and PLAIN pages; both readers
 * read it exactly. */
TEST(pq_interop_dictionary_overflow_falls_back_mid_chunk) {
  static const txf_pq_column cols[] = {{"m", TXF_PQ_STRING, 1, 0, 0},
                                       {"n", TXF_PQ_INT32, 0, 0, 0}};
  txf_pq_schema s = {cols, 2};
  pqt_table t;
  pqt_init(&t, 2);
  char b[128];
  for (int i = 0; i < 24000; i++) {
    txf_pq_value *r = pqt_add(&t);
    r[1].v.i32 = i;
    if (i % 11 == 0) {
      r[0].is_null = 1;
      continue;
    }
    /* Every other value new (100 bytes), the rest one of three. */
    int n = snprintf(b, sizeof b, "merchant-%091d", i % 2 ? i : i % 3);
    pqt_str(&t, &r[0], b, (size_t)n);
  }
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .page_bytes = 65536};
  txf_err err;
  const char *p = unit_path("dict-over.parquet");
  ASSERT_OK(pqt_write(p, &s, &o, &t, &err), &err);
  pqt_page *pg;
  size_t np = pqt_pages(p, 0, &pg);
  ASSERT(np > 3);
  ASSERT_EQ_I64(pg[0].type, 2); /* DICTIONARY_PAGE */
  size_t k = 1, dict_pages = 0, plain_pages = 0;
  for (; k < np && pg[k].encoding == PQE_RLE_DICTIONARY; k++)
    dict_pages++;
  for (; k < np && pg[k].encoding == PQE_PLAIN; k++)
    plain_pages++;
  ASSERT_EQ_U64(k, np); /* nothing else, in that order */
  ASSERT(dict_pages >= 2 && plain_pages >= 2);
  /* The dictionary page: over 1 MiB of entries, all in one chunk. */
  ASSERT(pg[0].uncompressed > (1 << 20));
  free(pg);
  check_file_both_ways(p, &s, &t);
  pqt_release(&t);
}
