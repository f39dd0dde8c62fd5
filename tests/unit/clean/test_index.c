/* The id index's shard files (both formats) and the batch's compact
 * records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/unit.h"
#include "clean/internal.h"

/* Pair lists equal, field by field (a pair struct has padding). */
static void same_ents(const loc_ent *a, const loc_ent *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ_U64(a[i].idh, b[i].idh);
    ASSERT_EQ_I64(a[i].day, b[i].day);
  }
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *fp = fopen(path, "wb");
  ASSERT(fp != NULL);
  ASSERT_EQ_U64(fwrite(p, 1, n, fp), n);
  fclose(fp);
}

/* A format-1 entry: idh h0 h1 ingested_at event_day ingest_day len 0000 id */
static void v1_entry(txf_buf *b, uint64_t idh, int32_t day, const char *id) {
  char h[45];
  memset(h, 0, sizeof h);
  memcpy(h, &idh, 8);
  memcpy(h + 32, &day, 4);
  h[40] = (char)strlen(id);
  (void)txf_buf_append(b, h, sizeof h);
  (void)txf_buf_append(b, id, strlen(id));
}

TEST(clean_index_reads_format_1_shards) {
  /* what lakes before format 2 hold: sorted by (id hash, id) */
  txf_buf b;
  txf_buf_init(&b, 0);
  uint64_t base = (uint64_t)7 << 56;
  v1_entry(&b, base + 5, 20330, "T-b");
  v1_entry(&b, base + 9, 20331, "T-a"); /* two ids, one hash */
  v1_entry(&b, base + 9, 20329, "T-c");
  v1_entry(&b, base + 40, 20000, "T-d");
  uint64_t n = 4;
  (void)txf_buf_append(&b, &n, 8);
  (void)txf_buf_append(&b, "TXFIDX1\n", 8);
  write_file(unit_path("v1.idx"), b.data, b.len);
  loc_ent *e;
  size_t ne;
  txf_err err;
  ASSERT_OK(txf_clean_index_read(unit_path("v1.idx"), 7, &e, &ne, &err),
            &err);
  ASSERT_EQ_U64(ne, 4);
  /* pairs come back sorted by (hash, day) */
  ASSERT_EQ_U64(e[0].idh, base + 5);
  ASSERT_EQ_I64(e[0].day, 20330);
  ASSERT_EQ_U64(e[1].idh, base + 9);
  ASSERT_EQ_I64(e[1].day, 20329);
  ASSERT_EQ_I64(e[2].day, 20331);
  ASSERT_EQ_I64(e[3].day, 20000);
  /* written back, it is format 2, smaller, and reads the same */
  ASSERT_OK(txf_clean_index_write(unit_path("v2.idx"), 7, e, ne, NULL, &err),
            &err);
  loc_ent *f;
  size_t nf;
  ASSERT_OK(txf_clean_index_read(unit_path("v2.idx"), 7, &f, &nf, &err),
            &err);
  ASSERT_EQ_U64(nf, ne);
  same_ents(f, e, ne);
  free(f);
  txf_buf c;
  txf_buf_init(&c, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("v2.idx"), &c, &err), &err);
  ASSERT(c.len < b.len);
  ASSERT_EQ_MEM(c.data + c.len - 8, "TXFIDX2\n", 8);
  /* a truncated format-1 file is refused, naming it */
  write_file(unit_path("bad1.idx"), b.data + 10, b.len - 10);
  ASSERT(txf_clean_index_read(unit_path("bad1.idx"), 7, &f, &nf, &err) ==
         TXF_ECORRUPT);
  free(f);
  free(e);
  txf_buf_release(&b);
  txf_buf_release(&c);
}

TEST(clean_index_format_2_round_trip_and_corruption) {
  enum { N = 5000 };
  loc_ent *e = txf_xmalloc(N * sizeof *e);
  uint64_t x = 99;
  for (size_t i = 0; i < N; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    e[i].idh = (uint64_t)200 << 56 | (x >> 8);
    e[i].day = 20000 + (int32_t)(x >> 50) % 700 - 300; /* before and after */
  }
  e[10].idh = e[11].idh; /* equal hashes, both kept */
  txf_clean_index_sort(e, N);
  txf_err err;
  man_file mf;
  ASSERT_OK(txf_clean_index_write(unit_path("s.idx"), 200, e, N, &mf, &err),
            &err);
  loc_ent *f;
  size_t nf;
  ASSERT_OK(txf_clean_index_read(unit_path("s.idx"), 200, &f, &nf, &err),
            &err);
  ASSERT_EQ_U64(nf, N);
  same_ents(f, e, N);
  free(f);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("s.idx"), &b, &err), &err);
  /* the size and SHA-256 the manifest records are the file's */
  char sha[65];
  txf_sha256_hex(b.data, b.len, sha);
  ASSERT_EQ_U64(mf.size_bytes, b.len);
  ASSERT_EQ_STR(mf.sha, sha);
  /* a gap of 2^56 / 5,000 takes a 7-byte varint, a day 1 or 2: at most
   * 10 bytes a pair (fewer in a bigger shard: the gaps shrink) */
  ASSERT(b.len <= (size_t)N * 10 + 24);
  /* read as another shard: its hashes are not that shard's */
  ASSERT(txf_clean_index_read(unit_path("s.idx"), 201, &f, &nf, &err) ==
         TXF_ECORRUPT);
  /* cut short, or a count past the bytes: refused */
  write_file(unit_path("t.idx"), b.data + 100, b.len - 100);
  ASSERT(txf_clean_index_read(unit_path("t.idx"), 200, &f, &nf, &err) ==
         TXF_ECORRUPT);
  /* a varint of more than 10 bytes in the middle of the entries */
  txf_buf c;
  txf_buf_init(&c, 0);
  (void)txf_buf_append(&c, b.data, b.len);
  memset(c.data + 1000, 0xff, 11);
  write_file(unit_path("w.idx"), c.data, c.len);
  ASSERT(txf_clean_index_read(unit_path("w.idx"), 200, &f, &nf, &err) ==
         TXF_ECORRUPT);
  txf_buf_release(&c);
  uint64_t big = (uint64_t)N * 3;
  memcpy(b.data + b.len - 24, &big, 8);
  write_file(unit_path("u.idx"), b.data, b.len);
  ASSERT(txf_clean_index_read(unit_path("u.idx"), 200, &f, &nf, &err) ==
         TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "u.idx");
  /* no file: an empty shard */
  ASSERT_OK(txf_clean_index_read(unit_path("none.idx"), 3, &f, &nf, &err),
            &err);
  ASSERT_EQ_U64(nf, 0);
  txf_buf_release(&b);
  free(e);
}

/* The edit a clean makes to a shard: pairs out, pairs in, in one pass;
 * against the same made pair by pair. */
TEST(clean_index_edit_removes_and_inserts_in_one_pass) {
  enum { N = 2000, R = 300, I = 400 };
  loc_ent *e = txf_xmalloc(N * sizeof *e),
          *rm = txf_xmalloc((R + 1) * sizeof *rm);
  loc_ent *in = txf_xmalloc(I * sizeof *in);
  uint64_t x = 7;
  for (size_t i = 0; i < N; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    e[i] = (loc_ent){x >> 40, (int32_t)(x >> 20) % 9};
  }
  e[1] = (loc_ent){e[0].idh, e[0].day}; /* the same pair twice */
  txf_clean_index_sort(e, N);
  for (size_t i = 0; i < R; i++) /* every sixth pair leaves */
    rm[i] = e[i * 6];
  rm[R] = (loc_ent){UINT64_MAX, 3}; /* one the shard does not hold */
  for (size_t i = 0; i < I; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    in[i] = (loc_ent){i % 3 ? x >> 40 : e[i].idh, (int32_t)(x >> 30) % 9};
  }
  txf_clean_index_sort(in, I);
  size_t n, removed;
  loc_ent *o = txf_clean_index_edit(e, N, rm, R + 1, in, I, &n, &removed);
  ASSERT_EQ_U64(removed, R);
  ASSERT_EQ_U64(n, N - R + I);
  /* the expected list: E without every sixth, then INS, sorted */
  loc_ent *want = txf_xmalloc((N + I) * sizeof *want);
  size_t k = 0;
  for (size_t i = 0; i < N; i++)
    if (i % 6 || i / 6 >= R)
      want[k++] = e[i];
  memcpy(want + k, in, I * sizeof *in);
  txf_clean_index_sort(want, k + I);
  same_ents(o, want, n);
  free(o);
  /* nothing to remove or insert: a copy */
  o = txf_clean_index_edit(e, N, NULL, 0, NULL, 0, &n, &removed);
  ASSERT_EQ_U64(n, N);
  ASSERT_EQ_U64(removed, 0);
  same_ents(o, e, N);
  TXF_FREE_ALL(o, want, in, rm, e);
}

TEST(clean_records_round_trip) {
  static const char strs[] = "TX-1CUST-22CARD-333M4ORIG-55555";
  crow r;
  memset(&r, 0, sizeof r);
  r.str = strs;
  r.len[S_ID] = 4;
  r.len[S_CUSTOMER] = 7;
  r.len[S_CARD] = 8;
  r.len[S_MERCHANT] = 2;
  r.len[S_ORIG] = 10;
  r.has_orig = 1;
  r.status = ST_REVERSED;
  r.channel = CH_MOBILE;
  r.is_refund = 1;
  r.had_old = 1;
  memcpy(r.currency, "KRW", 3);
  r.mcc = 742;
  r.src = 70000;
  static const int64_t ts[] = {INT64_C(1757000000000000), -1, 0,
                               INT64_C(-62135596800000000), /* year 1 */
                               INT64_C(253402300799999999)};
  for (size_t i = 0; i < TXF_ARRAY_LEN(ts); i++) {
    r.txn_ts_us = ts[i];
    r.ingested_at_us = ts[i] + (i % 2 ? -INT64_C(86400000000) : 123456789);
    r.amount_minor = i ? INT64_C(9999999999999999) : 1;
    /* a zone's date is the UTC date or a day either side */
    int64_t d = ts[i] / INT64_C(86400000000) - (ts[i] % 86400000000 < 0);
    r.event_day = (int32_t)d + (int)(i % 3) - 1;
    char buf[REC_MAX];
    txf_clean_rec_put(buf, &r);
    ASSERT_EQ_U64(txf_clean_rec_len(buf), txf_clean_rec_size(&r));
    crow g;
    const char *end = txf_clean_rec_get(buf, &g);
    ASSERT_EQ_U64((size_t)(end - buf), txf_clean_rec_size(&r));
    ASSERT_EQ_I64(g.txn_ts_us, r.txn_ts_us);
    ASSERT_EQ_I64(g.ingested_at_us, r.ingested_at_us);
    ASSERT_EQ_I64(g.amount_minor, r.amount_minor);
    ASSERT_EQ_I64(g.event_day, r.event_day);
    ASSERT_EQ_U64(g.src, r.src);
    ASSERT_EQ_U64(g.mcc, 742);
    ASSERT_EQ_MEM(g.currency, "KRW", 3);
    ASSERT_EQ_I64(g.status, ST_REVERSED);
    ASSERT_EQ_I64(g.channel, CH_MOBILE);
    ASSERT_EQ_I64(g.is_refund, 1);
    ASSERT_EQ_I64(g.has_orig, 1);
    ASSERT_EQ_I64(g.had_old, 1);
    ASSERT_EQ_MEM(g.len, r.len, S_N);
    ASSERT_EQ_MEM(g.str, strs, sizeof strs - 1);
    ASSERT_EQ_U64(g.idh, txf_clean_id_hash("TX-1", 4));
  }
}
