/* The writer on a pool of threads writes the bytes it writes alone:
 * every type, nulls, dictionary fallbacks (high cardinality, overflow),
 * long strings, many pages and row groups, v1 and v2 pages, every codec;
 * two writers sharing one pool; a writer freed unfinished; a follower
 * writing its lead's chunks, on any threads, and its misuse. */
#include "pqtest.h"

static const txf_pq_column pcols[] = {
    {"id", TXF_PQ_STRING, 0, 0, 0},       /* unique: PLAIN */
    {"cust", TXF_PQ_STRING, 0, 0, 0},     /* ~3000 values: dictionary */
    {"big", TXF_PQ_STRING, 1, 0, 0},      /* long, distinct: overflow */
    {"enum", TXF_PQ_STRING, 1, 0, 0},     /* a few values, nulls */
    {"ts", TXF_PQ_TIMESTAMP_US, 0, 0, 0}, /* runs of equal values */
    {"amt", TXF_PQ_DECIMAL, 1, 18, 2},
    {"flag", TXF_PQ_BOOLEAN, 1, 0, 0},
    {"day", TXF_PQ_DATE, 0, 0, 0},
    {"n", TXF_PQ_INT32, 1, 0, 0},
    {"x", TXF_PQ_DOUBLE, 1, 0, 0},
    {"cnt", TXF_PQ_INT64, 0, 0, 0},
};
static const txf_pq_schema pschema = {pcols, TXF_ARRAY_LEN(pcols)};

static void gen(pqt_table *t, size_t n, uint64_t seed) {
  static const char *const en[] = {"approved", "declined", "pending", ""};
  pqt_init(t, pschema.n_cols);
  char b[400];
  for (size_t i = 0; i < n; i++) {
    txf_pq_value *r = pqt_add(t);
    uint64_t z = pqt_rand(&seed);
    int k = snprintf(b, sizeof b, "T%012llx", (unsigned long long)z);
    pqt_str(t, &r[0], b, (size_t)k);
    k = snprintf(b, sizeof b, "C%05u", (unsigned)(z >> 20) % 3000);
    pqt_str(t, &r[1], b, (size_t)k);
    if (z % 7 == 0) {
      r[2].is_null = 1;
    } else { /* 40..300 bytes: some past the 64-byte statistics limit */
      size_t len = 40 + (size_t)(z >> 33) % 260;
      for (size_t j = 0; j < len; j++)
        b[j] = (char)('a' + (z >> (j % 50)) % 26);
      pqt_str(t, &r[2], b, len);
    }
    if (z % 11 == 0)
      r[3].is_null = 1;
    else
      pqt_str(t, &r[3], en[(z >> 8) % 4], strlen(en[(z >> 8) % 4]));
    r[4].v.i64 = INT64_C(1750000000000000) + (int64_t)(i / 3) * 1000000;
    if (z % 13 == 0)
      r[5].is_null = 1;
    else
      r[5].v.i64 = (int64_t)((z >> 16) % 5000) * 100;
    if (z % 5 == 0)
      r[6].is_null = 1;
    else
      r[6].v.b = (int)(z >> 40) & 1;
    r[7].v.i32 = 20000 + (int32_t)(i / 5000);
    if (z % 17 == 0)
      r[8].is_null = 1;
    else
      r[8].v.i32 = (int32_t)(z >> 35) - (1 << 28);
    if (z % 19 == 0)
      r[9].is_null = 1;
    else if (z % 23 == 0)
      r[9].v.f64 = NAN;
    else
      r[9].v.f64 = (double)(int64_t)(z >> 12) / 1024.0;
    r[10].v.i64 = (int64_t)i;
  }
}

static void read_all(const char *path, txf_buf *b) {
  txf_err err;
  txf_buf_init(b, 0);
  ASSERT_OK(txf_fs_read_file(path, b, &err), &err);
}

/* The file at PATH holds exactly the bytes WANT. */
static void same_file(const char *path, const txf_buf *want) {
  txf_buf got;
  read_all(path, &got);
  ASSERT_EQ_U64(got.len, want->len);
  ASSERT_EQ_MEM(got.data, want->data, want->len);
  txf_buf_release(&got);
}

/* The file at PATH reads back (by us) as WANT. */
static void reads_back(const char *path, const txf_pq_schema *s,
                       const pqt_table *want) {
  txf_err err;
  pqt_table back;
  ASSERT_OK(pqt_read(path, NULL, 0, &back, &err), &err);
  ASSERT_TABLES_EQ(&back, want, s);
  pqt_release(&back);
}

/* CHECK on a table of one row, and of none. */
static void one_and_none(void (*check)(const pqt_table *,
                                       txf_pq_writer_opts)) {
  pqt_table t;
  gen(&t, 1, 2);
  check(&t, (txf_pq_writer_opts){.codec = TXF_PQ_ZSTD});
  pqt_release(&t);
  pqt_init(&t, pschema.n_cols);
  check(&t, (txf_pq_writer_opts){.codec = TXF_PQ_ZSTD});
  pqt_release(&t);
}

/* Write T alone and on pools of 1, 2 and 8 threads: the same bytes. */
static void same_bytes(const pqt_table *t, txf_pq_writer_opts o) {
  txf_err err;
  o.pool = NULL;
  static int run;
  run++;
  char alone[64];
  snprintf(alone, sizeof alone, "alone%d.parquet", run);
  ASSERT_OK(pqt_write(unit_path(alone), &pschema, &o, t, &err), &err);
  txf_buf want;
  read_all(unit_path(alone), &want);
  static const int threads[] = {1, 2, 8};
  for (size_t i = 0; i < TXF_ARRAY_LEN(threads); i++) {
    txf_pq_pool *p = txf_pq_pool_new(threads[i]);
    ASSERT(p != NULL);
    ASSERT_EQ_I64(txf_pq_pool_threads(p), threads[i]);
    o.pool = p;
    char name[64];
    snprintf(name, sizeof name, "pool%d-%d.parquet", run, threads[i]);
    ASSERT_OK(pqt_write(unit_path(name), &pschema, &o, t, &err), &err);
    txf_pq_pool_free(p);
    same_file(unit_path(name), &want);
  }
  reads_back(unit_path(alone), &pschema, t);
  txf_buf_release(&want);
}

TEST(pq_pool_writes_the_same_bytes_as_one_thread) {
  pqt_table t;
  gen(&t, 60000, 1);
  /* many small row groups (several per slab run) and pages */
  same_bytes(&t, (txf_pq_writer_opts){.codec = TXF_PQ_ZSTD,
                                      .row_group_bytes = 300000,
                                      .page_bytes = 20000});
  /* row groups of many slabs; dictionary overflow inside a chunk */
  same_bytes(&t, (txf_pq_writer_opts){.codec = TXF_PQ_SNAPPY,
                                      .row_group_bytes = 16 << 20});
  same_bytes(&t, (txf_pq_writer_opts){.codec = TXF_PQ_UNCOMPRESSED,
                                      .row_group_bytes = 1 << 20,
                                      .no_dictionary = 1});
  same_bytes(&t, (txf_pq_writer_opts){.codec = TXF_PQ_ZSTD,
                                      .zstd_level = 3,
                                      .row_group_bytes = 2 << 20,
                                      .page_bytes = 50000,
                                      .data_page_v2 = 1});
  pqt_release(&t);
  one_and_none(same_bytes);
}

/* Two writers fed row by row in turn from one thread, sharing a pool
 * (what clean does with a partition and its change log). */
TEST(pq_pool_two_writers_share_a_pool) {
  pqt_table t;
  gen(&t, 30000, 3);
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .row_group_bytes = 1 << 20,
                          .page_bytes = 30000};
  ASSERT_OK(pqt_write(unit_path("want.parquet"), &pschema, &o, &t, &err),
            &err);
  txf_buf want;
  read_all(unit_path("want.parquet"), &want);
  txf_pq_pool *p = txf_pq_pool_new(2);
  o.pool = p;
  txf_pq_writer *a, *b;
  ASSERT_OK(txf_pq_writer_open(&a, unit_path("a.parquet"), &pschema, &o,
                               &err),
            &err);
  ASSERT_OK(txf_pq_writer_open(&b, unit_path("b.parquet"), &pschema, &o,
                               &err),
            &err);
  for (size_t i = 0; i < t.n_rows; i++) {
    ASSERT_OK(txf_pq_writer_add_row(a, t.v + i * t.n_cols, &err), &err);
    ASSERT_OK(txf_pq_writer_add_row(b, t.v + i * t.n_cols, &err), &err);
  }
  ASSERT_OK(txf_pq_writer_finish(a, &err), &err);
  ASSERT_OK(txf_pq_writer_finish(b, &err), &err);
  txf_pq_writer_free(a);
  txf_pq_writer_free(b);
  const char *names[] = {"a.parquet", "b.parquet"};
  for (int i = 0; i < 2; i++)
    same_file(unit_path(names[i]), &want);
  /* An unfinished writer leaves no file, even with work in flight. */
  ASSERT_OK(txf_pq_writer_open(&a, unit_path("c.parquet"), &pschema, &o,
                               &err),
            &err);
  for (size_t i = 0; i < t.n_rows; i++)
    ASSERT_OK(txf_pq_writer_add_row(a, t.v + i * t.n_cols, &err), &err);
  txf_pq_writer_free(a);
  ASSERT(!txf_fs_exists(unit_path("c.parquet")));
  txf_pq_pool_free(p);
  txf_buf_release(&want);
  pqt_release(&t);
}

/* With a pool, the bytes go out on the writer's write-behind thread, which
 * also feeds the checksum: the file is the lone writer's and the digest
 * is the file's. (Until this test the write-behind was never started: the
 * writer looked for the pool where it had just cleared it.) */
TEST(pq_pool_writes_behind_with_the_checksum) {
  pqt_table t;
  gen(&t, 70000, 5);
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .row_group_bytes = 1 << 20,
                          .page_bytes = 30000};
  ASSERT_OK(pqt_write(unit_path("wb-want.parquet"), &pschema, &o, &t, &err),
            &err);
  txf_buf want;
  read_all(unit_path("wb-want.parquet"), &want);
  char want_sha[65];
  txf_sha256_hex(want.data, want.len, want_sha);
  for (int with_pool = 0; with_pool < 2; with_pool++) {
    txf_pq_pool *p = with_pool ? txf_pq_pool_new(2) : NULL;
    txf_sha256 sha;
    txf_sha256_init(&sha);
    o.pool = p;
    o.sha256 = &sha;
    txf_pq_writer *w;
    const char *name = with_pool ? "wb-pool.parquet" : "wb-alone.parquet";
    ASSERT_OK(txf_pq_writer_open(&w, unit_path(name), &pschema, &o, &err),
              &err);
    ASSERT_EQ_I64(txf_pq_writer_writes_behind(w), with_pool);
    for (size_t i = 0; i < t.n_rows; i++)
      ASSERT_OK(txf_pq_writer_add_row(w, t.v + i * t.n_cols, &err), &err);
    ASSERT_OK(txf_pq_writer_finish(w, &err), &err);
    txf_pq_writer_free(w);
    char got_sha[65];
    txf_sha256_final_hex(&sha, got_sha);
    ASSERT_EQ_STR(got_sha, want_sha);
    same_file(unit_path(name), &want);
    txf_pq_pool_free(p);
  }
  ASSERT(want.len > (size_t)3 << 20); /* several write-behind buffers */
  txf_buf_release(&want);
  pqt_release(&t);
}

/* ---------------------------------------------------------------- follow */

/* A follower: the table's columns, then what a change log adds. */
static txf_pq_column fcols[TXF_ARRAY_LEN(pcols) + 2];
static const txf_pq_schema fschema = {fcols, TXF_ARRAY_LEN(fcols)};

static void fcols_init(void) {
  memcpy(fcols, pcols, sizeof pcols);
  fcols[TXF_ARRAY_LEN(pcols)] = (txf_pq_column){"kind", TXF_PQ_STRING, 0, 0, 0};
  fcols[TXF_ARRAY_LEN(pcols) + 1] = (txf_pq_column){"ver", TXF_PQ_INT64, 0, 0, 0};
}

/* T's rows with the two columns a follower adds. */
static void gen_follower(const pqt_table *t, pqt_table *f) {
  fcols_init();
  pqt_init(f, fschema.n_cols);
  for (size_t i = 0; i < t->n_rows; i++) {
    txf_pq_value *r = pqt_add(f);
    const txf_pq_value *s = t->v + i * t->n_cols;
    for (size_t c = 0; c < t->n_cols; c++)
      if (pschema.cols[c].type == TXF_PQ_STRING && !s[c].is_null)
        pqt_str(f, &r[c], s[c].v.str, s[c].len);
      else
        r[c] = s[c];
    const char *k = i % 3 ? "insert" : "update_postimage";
    pqt_str(f, &r[11], k, strlen(k));
    r[12].v.i64 = 7;
  }
}

/* Write T through a lead and F through its follower (THREADS: 0 for no
 * pool), row by row in turn as clean does; LO and FO are their options. */
static void write_pair(const pqt_table *t, const pqt_table *f,
                       txf_pq_writer_opts lo, txf_pq_writer_opts fo,
                       int threads, const char *lead, const char *fol) {
  txf_err err;
  txf_pq_pool *p = threads ? txf_pq_pool_new(threads) : NULL;
  lo.pool = fo.pool = p;
  txf_pq_writer *a, *b;
  ASSERT_OK(txf_pq_writer_open(&a, lead, &pschema, &lo, &err), &err);
  ASSERT_OK(txf_pq_writer_open(&b, fol, &fschema, &fo, &err), &err);
  ASSERT_OK(txf_pq_writer_follow(b, a, pschema.n_cols, &err), &err);
  for (size_t i = 0; i < t->n_rows; i++) {
    ASSERT_OK(txf_pq_writer_add_row(a, t->v + i * t->n_cols, &err), &err);
    ASSERT_OK(txf_pq_writer_add_row(b, f->v + i * f->n_cols, &err), &err);
  }
  ASSERT_OK(txf_pq_writer_finish(a, &err), &err);
  /* the lead may go first: its chunks are the follower's by now */
  txf_pq_writer_free(a);
  ASSERT_OK(txf_pq_writer_finish(b, &err), &err);
  txf_pq_writer_free(b);
  txf_pq_pool_free(p);
}

/* The footer of the file in B. */
static void footer(const txf_buf *b, pq_filemeta *m) {
  txf_err err;
  uint32_t flen;
  ASSERT(b->len >= 12);
  memcpy(&flen, b->data + b->len - 8, 4);
  ASSERT_OK(txf_pq_filemeta_parse(m, b->data + b->len - 8 - flen, flen, &err),
            &err);
}

/* Where a chunk's bytes start. */
static int64_t chunk_at(const pq_colmeta *c) {
  return c->has_dict_offset && c->dict_page_offset < c->data_page_offset
             ? c->dict_page_offset
             : c->data_page_offset;
}

static void follows(const pqt_table *t, txf_pq_writer_opts lo) {
  static int run;
  run++;
  txf_err err;
  pqt_table f;
  gen_follower(t, &f);
  /* the follower's own row group target is not used */
  txf_pq_writer_opts fo = lo;
  fo.row_group_bytes = 7000;
  char alone[64], lead[64], fol[64];
  snprintf(alone, sizeof alone, "falone%d.parquet", run);
  ASSERT_OK(pqt_write(unit_path(alone), &pschema, &lo, t, &err), &err);
  txf_buf want_lead, want_fol;
  read_all(unit_path(alone), &want_lead);
  static const int threads[] = {0, 1, 2, 8};
  for (size_t i = 0; i < TXF_ARRAY_LEN(threads); i++) {
    snprintf(lead, sizeof lead, "lead%d-%d.parquet", run, threads[i]);
    snprintf(fol, sizeof fol, "fol%d-%d.parquet", run, threads[i]);
    write_pair(t, &f, lo, fo, threads[i], unit_path(lead), unit_path(fol));
    /* the lead's bytes are its own, follower or not */
    same_file(unit_path(lead), &want_lead);
    /* the follower's do not depend on the threads */
    if (i == 0)
      read_all(unit_path(fol), &want_fol);
    else
      same_file(unit_path(fol), &want_fol);
  }
  /* the follower's row groups are the lead's, its shared chunks the
   * lead's bytes */
  pq_filemeta ml, mf;
  footer(&want_lead, &ml);
  footer(&want_fol, &mf);
  ASSERT_EQ_U64(mf.n_rgs, ml.n_rgs);
  ASSERT_EQ_I64(mf.num_rows, (int64_t)t->n_rows);
  for (uint32_t g = 0; g < ml.n_rgs; g++) {
    ASSERT_EQ_I64(mf.rgs[g].num_rows, ml.rgs[g].num_rows);
    for (size_t c = 0; c < pschema.n_cols; c++) {
      const pq_colmeta *a = &ml.rgs[g].cols[c], *b = &mf.rgs[g].cols[c];
      ASSERT_EQ_I64(b->total_compressed, a->total_compressed);
      ASSERT_EQ_I64(b->num_values, a->num_values);
      ASSERT_EQ_MEM(want_fol.data + chunk_at(b), want_lead.data + chunk_at(a),
                    (size_t)a->total_compressed);
    }
  }
  txf_pq_filemeta_release(&ml);
  txf_pq_filemeta_release(&mf);
  /* and it reads back as its rows, here and in DuckDB */
  reads_back(unit_path(fol), &fschema, &f);
  pqt_table back;
  duckdb_database db;
  duckdb_connection con;
  pqt_duck_open(&db, &con);
  char sql[600];
  snprintf(sql, sizeof sql, "SELECT * FROM read_parquet('%s')",
           unit_path(fol));
  pqt_duck_fetch(con, sql, &fschema, &back);
  ASSERT_TABLES_EQ(&back, &f, &fschema);
  pqt_release(&back);
  pqt_duck_close(&db, &con);
  txf_buf_release(&want_lead);
  txf_buf_release(&want_fol);
  pqt_release(&f);
}

TEST(pq_pool_a_follower_writes_its_leads_chunks) {
  pqt_table t;
  gen(&t, 40000, 5);
  follows(&t, (txf_pq_writer_opts){.codec = TXF_PQ_ZSTD,
                                   .zstd_level = 1,
                                   .row_group_bytes = 300000,
                                   .page_bytes = 20000});
  follows(&t, (txf_pq_writer_opts){.codec = TXF_PQ_SNAPPY,
                                   .row_group_bytes = 4 << 20,
                                   .data_page_v2 = 1});
  pqt_release(&t);
  /* a row group a row: the lead runs ahead of its follower by one row */
  gen(&t, 700, 6);
  follows(&t, (txf_pq_writer_opts){.codec = TXF_PQ_ZSTD,
                                   .row_group_bytes = 1});
  pqt_release(&t);
  one_and_none(follows);
}

/* Misuse is TXF_EUSAGE, and leaves no file. */
TEST(pq_pool_a_follower_refuses_rows_its_lead_has_not) {
  pqt_table t, f;
  gen(&t, 100, 8);
  gen_follower(&t, &f);
  txf_err err;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD};
  txf_pq_writer *a, *b;
  /* a different shared column, or other page options */
  ASSERT_OK(txf_pq_writer_open(&a, unit_path("m1.parquet"), &pschema, &o,
                               &err),
            &err);
  ASSERT_OK(txf_pq_writer_open(&b, unit_path("m2.parquet"), &fschema, &o,
                               &err),
            &err);
  ASSERT(txf_pq_writer_follow(b, a, pschema.n_cols + 1, &err) == TXF_EUSAGE);
  txf_pq_writer_opts o2 = {.codec = TXF_PQ_SNAPPY};
  txf_pq_writer *c;
  ASSERT_OK(txf_pq_writer_open(&c, unit_path("m3.parquet"), &fschema, &o2,
                               &err),
            &err);
  ASSERT(txf_pq_writer_follow(c, a, pschema.n_cols, &err) == TXF_EUSAGE);
  ASSERT_CONTAINS(err.msg, "codec");
  txf_pq_writer_free(c);
  ASSERT_OK(txf_pq_writer_follow(b, a, pschema.n_cols, &err), &err);
  /* a row the lead does not have */
  ASSERT(txf_pq_writer_add_row(b, f.v, &err) == TXF_EUSAGE);
  ASSERT_CONTAINS(err.msg, "not a row of the lead");
  txf_pq_writer_free(b);
  txf_pq_writer_free(a);
  /* finished before its lead, or with fewer rows */
  for (int k = 0; k < 2; k++) {
    ASSERT_OK(txf_pq_writer_open(&a, unit_path("m1.parquet"), &pschema, &o,
                                 &err),
              &err);
    ASSERT_OK(txf_pq_writer_open(&b, unit_path("m2.parquet"), &fschema, &o,
                                 &err),
              &err);
    ASSERT_OK(txf_pq_writer_follow(b, a, pschema.n_cols, &err), &err);
    for (size_t i = 0; i < t.n_rows; i++) {
      ASSERT_OK(txf_pq_writer_add_row(a, t.v + i * t.n_cols, &err), &err);
      if (i + 1 < t.n_rows || k == 0)
        ASSERT_OK(txf_pq_writer_add_row(b, f.v + i * f.n_cols, &err), &err);
    }
    if (k == 0) {
      ASSERT(txf_pq_writer_finish(b, &err) == TXF_EUSAGE);
      ASSERT_CONTAINS(err.msg, "lead writer is not finished");
      ASSERT_OK(txf_pq_writer_finish(a, &err), &err);
    } else {
      ASSERT_OK(txf_pq_writer_finish(a, &err), &err);
      ASSERT(txf_pq_writer_finish(b, &err) == TXF_EUSAGE);
      ASSERT_CONTAINS(err.msg, "fewer rows");
    }
    txf_pq_writer_free(b);
    txf_pq_writer_free(a);
    ASSERT(!txf_fs_exists(unit_path("m2.parquet")));
    ASSERT(txf_fs_exists(unit_path("m1.parquet")));
    ASSERT(remove(unit_path("m1.parquet")) == 0);
  }
  pqt_release(&f);
  pqt_release(&t);
}
