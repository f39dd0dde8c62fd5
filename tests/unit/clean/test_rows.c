/* The record blocks' pool (src/clean/rows.c): blocks given back have
 * their pages dropped, in batches or one munmap each, and come back
 * empty and writable. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/unit.h"
#include "clean/internal.h"

#define N_BLOCKS 100 /* three batches of 32 and a rest */

static void fill_trim_refill(txf_clean_pool *p) {
  txf_clean_block *b[N_BLOCKS];
  for (int i = 0; i < N_BLOCKS; i++) {
    b[i] = txf_clean_block_get(p);
    char *at = txf_clean_blocks_add(p, &b[i], &b[i], 1000);
    memset(at, 0xa5, 1000);
    ASSERT_EQ_U64(txf_clean_block_len(b[i]), 1000);
  }
  for (int i = 0; i < N_BLOCKS; i++)
    txf_clean_block_put(p, b[i]);
  txf_clean_pool_trim(p); /* every page dropped or unmapped */
  for (int i = 0; i < N_BLOCKS; i++) {
    txf_clean_block *c = txf_clean_block_get(p);
    ASSERT_EQ_U64(txf_clean_block_len(c), 0);
    ASSERT(txf_clean_block_next(c) == NULL);
    const char *d = txf_clean_block_data(c);
    for (int k = 0; k < 1000; k++)
      ASSERT(d[k] == 0); /* a dropped page comes back zeroed */
    char *at = NULL;
    txf_clean_block *tail = c;
    at = txf_clean_blocks_add(p, &c, &tail, 1000);
    memset(at, 0x5a, 1000);
    b[i] = c;
  }
  for (int i = 0; i < N_BLOCKS; i++)
    txf_clean_block_put(p, b[i]);
  txf_clean_pool_free(p); /* unmaps every block, in use or not */
}

TEST(clean_pool_dropped_blocks_come_back_empty) {
  fill_trim_refill(txf_clean_pool_new());
}

TEST(clean_pool_unmaps_where_madvise_is_refused) {
  txf_clean_pool *p = txf_clean_pool_new();
  txf_clean_pool_unmap_only(p);
  fill_trim_refill(p);
}

/* ---------------------------------------------------------------- merge */

typedef struct mrow {
  int64_t ts;
  char id[48];
  uint8_t id_len;
} mrow;

static int mrow_cmp(const void *pa, const void *pb) {
  const mrow *a = pa, *b = pb;
  if (a->ts != b->ts)
    return a->ts < b->ts ? -1 : 1;
  return txf_bytes_cmp(a->id, a->id_len, b->id, b->id_len);
}

static uint64_t mrand(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 17;
}

/* The run of the N rows V (sorted) in blocks of P. */
static run_ref run_of(txf_clean_pool *p, const mrow *v, size_t n) {
  txf_clean_block *head = NULL, *tail = NULL;
  for (size_t i = 0; i < n; i++) {
    crow c;
    memset(&c, 0, sizeof c);
    c.txn_ts_us = v[i].ts;
    c.ingested_at_us = v[i].ts + 1000;
    c.amount_minor = (int64_t)i;
    c.event_day = (int32_t)(v[i].ts / INT64_C(86400000000));
    memcpy(c.currency, "KRW", 3);
    c.mcc = 5411;
    c.len[S_ID] = v[i].id_len;
    c.str = v[i].id;
    char *at = txf_clean_blocks_add(p, &head, &tail, txf_clean_rec_size(&c));
    txf_clean_rec_put(at, &c);
  }
  for (txf_clean_block *b = head; b; b = txf_clean_block_next(b))
    txf_clean_block_ref(b);
  return (run_ref){.day = 0, .b = head, .off = 0, .n = n};
}

/* N_RUNS runs of random sizes (some empty) whose txn_ts often tie across
 * runs, merged: every row once, in silver order, and every block given
 * back. */
static void merge_check_pfx(size_t n_runs, size_t max_rows, uint64_t seed,
                            const char *pfx) {
  txf_clean_pool *p = txf_clean_pool_new();
  run_ref *ref = txf_xcalloc(n_runs ? n_runs : 1, sizeof *ref);
  mrow *all = NULL;
  size_t n_all = 0, id_next = 0;
  for (size_t r = 0; r < n_runs; r++) {
    size_t n = max_rows ? (size_t)(mrand(&seed) % (max_rows + 1)) : 0;
    if (r % 7 == 3)
      n = 0;
    mrow *v = txf_xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
      /* few distinct timestamps: ties between runs are the rule */
      v[i].ts = INT64_C(1757000000000000) + (int64_t)(mrand(&seed) % 50);
      /* ids of several lengths, distinct; with PFX, most start with it
       * (the merge's prefix), some with a shorter or another one */
      const char *start = pfx;
      int k = (int)(mrand(&seed) % 8);
      char other[32];
      if (*pfx && k < 2) {
        snprintf(other, sizeof other, "%.*s%c", (int)strlen(pfx) - 1, pfx,
                 k ? 'A' : '\x7f');
        start = k ? pfx + 1 : other;
      }
      int len = snprintf(v[i].id, sizeof v[i].id, "%s%0*zx", start,
                         (int)(4 + mrand(&seed) % 8), id_next++);
      v[i].id_len = (uint8_t)len;
    }
    qsort(v, n, sizeof *v, mrow_cmp);
    ref[r] = run_of(p, v, n);
    all = txf_xrealloc(all, (n_all + n + 1) * sizeof *all);
    memcpy(all + n_all, v, n * sizeof *v);
    n_all += n;
    free(v);
  }
  if (n_all)
    qsort(all, n_all, sizeof *all, mrow_cmp);
  txf_clean_runs R;
  txf_clean_runs_open(&R, p, ref, n_runs);
  size_t got = 0;
  for (const crow *a; (a = txf_clean_runs_peek(&R)); txf_clean_runs_pop(&R)) {
    ASSERT(got < n_all);
    ASSERT_EQ_I64(a->txn_ts_us, all[got].ts);
    ASSERT_EQ_U64(a->len[S_ID], all[got].id_len);
    ASSERT_EQ_MEM(a->str, all[got].id, all[got].id_len);
    got++;
  }
  ASSERT_EQ_U64(got, n_all);
  txf_clean_runs_release(&R);
  txf_clean_pool_free(p);
  free(all);
  free(ref);
}

static void merge_check(size_t n_runs, size_t max_rows, uint64_t seed) {
  merge_check_pfx(n_runs, max_rows, seed, "");
}

TEST(clean_runs_merge_in_silver_order) {
  merge_check(0, 0, 1);   /* nothing */
  merge_check(1, 500, 2); /* one run */
  merge_check(1, 0, 3);   /* one empty run */
  merge_check(3, 400, 4); /* not a power of two */
  for (uint64_t s = 10; s < 16; s++)
    merge_check(1 + (size_t)s * 7 % 40, 300, s);
  merge_check(256, 200, 99); /* a partition's 256 shards */
  /* ids sharing a prefix (a day's), as the merge's tie-break reads them */
  merge_check_pfx(5, 300, 7, "T20250910-");
  merge_check_pfx(40, 200, 8, "T20250910-00");
  merge_check_pfx(256, 100, 9, "A-LONGER-PREFIX-THAN-16");
}

/* Held, the blocks the runs read past keep the strings of every row
 * popped until they are taken and given back (the partition rewrite's
 * batches point into them). Without the hold they would go back 32 at a
 * time, their pages dropped (zeros) or unmapped: 80,000 rows are ~66
 * blocks. */
TEST(clean_runs_held_blocks_keep_the_rows_popped) {
  enum { N = 80000 };
  txf_clean_pool *p = txf_clean_pool_new();
  mrow *v = txf_xcalloc(N, sizeof *v);
  for (size_t i = 0; i < N; i++) {
    v[i].ts = INT64_C(1757000000000000) + (int64_t)i;
    v[i].id_len = (uint8_t)snprintf(v[i].id, sizeof v[i].id,
                                    "T20250910-%08zx-held", i);
  }
  run_ref ref[2] = {run_of(p, v, N / 2), run_of(p, v + N / 2, N / 2)};
  txf_clean_runs R;
  txf_clean_runs_open(&R, p, ref, 2);
  txf_clean_runs_hold(&R);
  const char **at = txf_xcalloc(N, sizeof *at);
  size_t got = 0;
  for (const crow *a; (a = txf_clean_runs_peek(&R)); txf_clean_runs_pop(&R)) {
    ASSERT(got < N);
    at[got++] = a->str;
  }
  ASSERT_EQ_U64(got, N);
  for (size_t i = 0; i < N; i++)
    ASSERT_EQ_MEM(at[i], v[i].id, v[i].id_len);
  size_t held = 0;
  txf_clean_block *h = txf_clean_runs_take_held(&R);
  for (txf_clean_block *b = h; b; b = txf_clean_block_next(b))
    held++;
  ASSERT(held > 32);
  ASSERT(txf_clean_runs_take_held(&R) == NULL);
  txf_clean_blocks_retire(p, h);
  txf_clean_runs_release(&R);
  txf_clean_pool_free(p);
  free(at);
  free(v);
}
