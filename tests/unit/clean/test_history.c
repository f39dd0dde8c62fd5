/* The history store's file (docs/silver.md, "History"): what a clean
 * writes a revert reads back, sorted; and a damaged file is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/unit.h"
#include "clean/internal.h"

TEST(clean_history_round_trip_sorted) {
  txf_clean_hist h;
  memset(&h, 0, sizeof h);
  /* in file order, as a clean meets the lines; two share an id hash */
  txf_clean_hist_add(&h, 900, 1, 57);
  txf_clean_hist_add(&h, 5, 0, 123456789012ULL);
  txf_clean_hist_add(&h, 900, 0, 40);
  txf_clean_hist_add(&h, 7, 1, 0);
  /* the file sizes are stat'ed: one file exists, one does not */
  const char *part = unit_path("part-0.csv");
  FILE *fp = fopen(part, "wb");
  ASSERT(fp != NULL);
  fputs("header\nline\n", fp);
  fclose(fp);
  csource files[2] = {{(char *)part, (uint32_t)strlen(part), 20000},
                      {"bronze/x/part-1.csv.zst", 23, 20000}};
  txf_err err;
  const char *path = unit_path("h.idx");
  ASSERT_OK(txf_clean_hist_write(&h, unit_tmpdir(), files, 2, path, &err),
            &err);
  txf_clean_hist r;
  memset(&r, 0, sizeof r);
  ASSERT_OK(txf_clean_hist_read(path, &r, &err), &err);
  ASSERT_EQ_U64(r.n, 4);
  ASSERT_EQ_U64(r.n_files, 2);
  ASSERT_EQ_STR(r.files[0], part);
  ASSERT_EQ_STR(r.files[1], "bronze/x/part-1.csv.zst");
  ASSERT_EQ_U64(r.sizes[0], 12);
  ASSERT_EQ_U64(r.sizes[1], 0);
  uint64_t want[4][3] = {
      {5, 0, 123456789012ULL}, {7, 1, 0}, {900, 0, 40}, {900, 1, 57}};
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ_U64(r.e[i].idh, want[i][0]);
    ASSERT_EQ_U64(r.e[i].loc >> HIST_OFF_BITS, want[i][1]);
    ASSERT_EQ_U64(r.e[i].loc & ((UINT64_C(1) << HIST_OFF_BITS) - 1),
                  want[i][2]);
  }
  txf_clean_hist_release(&h);
  txf_clean_hist_release(&r);
}

TEST(clean_history_refuses_damage) {
  txf_clean_hist h;
  memset(&h, 0, sizeof h);
  txf_clean_hist_add(&h, 1, 0, 10);
  txf_clean_hist_add(&h, 2, 0, 20);
  csource f = {"bronze/a.csv", 12, 1};
  txf_err err;
  const char *path = unit_path("d.idx");
  ASSERT_OK(txf_clean_hist_write(&h, unit_tmpdir(), &f, 1, path, &err), &err);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(path, &b, &err), &err);
  txf_clean_hist r;
  memset(&r, 0, sizeof r);
  /* cut short, a file index past the files, entries out of order */
  for (int k = 0; k < 3; k++) {
    txf_buf c;
    txf_buf_init(&c, 0);
    (void)txf_buf_append(&c, b.data, b.len - (k == 0 ? 5 : 0));
    /* the entries are not aligned in the file: edit its bytes */
    char *e0 = c.data + c.len - 2 * sizeof(hist_ent);
    uint64_t v = k == 1 ? (uint64_t)3 << HIST_OFF_BITS : 99;
    if (k == 1)
      memcpy(e0 + sizeof(hist_ent) + 8, &v, 8); /* the second's loc */
    if (k == 2)
      memcpy(e0, &v, 8); /* the first's idh */
    const char *bad = unit_path("bad.idx");
    FILE *fp = fopen(bad, "wb");
    ASSERT(fp != NULL);
    fwrite(c.data, 1, c.len, fp);
    fclose(fp);
    ASSERT_EQ_I64(txf_clean_hist_read(bad, &r, &err), TXF_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "not a history file");
    ASSERT_EQ_U64(r.n, 0);
    txf_buf_release(&c);
  }
  ASSERT_EQ_I64(txf_clean_hist_read(unit_path("none.idx"), &r, &err),
                TXF_ENOTFOUND);
  txf_buf_release(&b);
  txf_clean_hist_release(&h);
}

static int cmp_ref(const void *pa, const void *pb) {
  const hist_ent *a = pa, *b = pb;
  if (a->idh != b->idh)
    return a->idh < b->idh ? -1 : 1;
  return (a->loc > b->loc) - (a->loc < b->loc);
}

/* Add N pseudo-random entries to H (and to REF, caller frees, in the
 * order added): random hashes over the whole range, many that share a
 * hash (an id's versions, added out of location order), a bucket where
 * every hash shares all but the last byte, and one holding a single
 * entry. */
static hist_ent *add_random(txf_clean_hist *h, size_t n) {
  hist_ent *ref = malloc((n + 1) * sizeof *ref);
  size_t k = 0;
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    uint64_t idh = x;
    if (i % 5 == 0 && k)
      idh = ref[(x >> 20) % k].idh; /* a version of an earlier id */
    if (i % 11 == 0)
      idh = (UINT64_C(0x7f) << 56) | (x & 0xff);
    uint64_t off = (x >> 8) & 0xffffffff;
    txf_clean_hist_add(h, idh, 0, off);
    ref[k++] = (hist_ent){idh, off};
  }
  txf_clean_hist_add(h, UINT64_C(0x3300000000000001), 0, 1);
  ref[k++] = (hist_ent){UINT64_C(0x3300000000000001), 1};
  return ref;
}

/* H written to PATH and read back: REF (H's entries) sorted. */
static void check_sorted(txf_clean_hist *h, hist_ent *ref, const char *path) {
  qsort(ref, h->n, sizeof *ref, cmp_ref);
  csource f = {"bronze/a.csv", 12, 1};
  txf_err err;
  ASSERT_OK(txf_clean_hist_write(h, unit_tmpdir(), &f, 1, path, &err), &err);
  txf_clean_hist r;
  memset(&r, 0, sizeof r);
  ASSERT_OK(txf_clean_hist_read(path, &r, &err), &err);
  ASSERT_EQ_U64(r.n, h->n);
  ASSERT(memcmp(r.e, ref, h->n * sizeof *ref) == 0);
  txf_clean_hist_release(&r);
}

/* The radix sort against qsort, every entry in memory. */
TEST(clean_history_sort_matches_qsort) {
  txf_clean_hist h;
  memset(&h, 0, sizeof h);
  hist_ent *ref = add_random(&h, 200000);
  ASSERT_EQ_U64(h.n_spilled, 0);
  check_sorted(&h, ref, unit_path("s.idx"));
  free(ref);
  txf_clean_hist_release(&h);
}

/* A clean's entries: a bucket's full buffers go to the spill file (the
 * 0x7f bucket's ~30,000 entries pass HIST_SPILL, the others' ~1,000 stay
 * in memory) and come back in the order added; the file is the same as with
 * every entry in memory. Where the spill file cannot be made the buckets grow
 * in memory. */
TEST(clean_history_spilled_like_in_memory) {
  txf_clean_hist h;
  memset(&h, 0, sizeof h);
  h.spill_dir = unit_tmpdir();
  hist_ent *ref = add_random(&h, 300000);
  ASSERT(h.n_spilled > 10);
  ASSERT_EQ_I64(h.spilling, 1);
  check_sorted(&h, ref, unit_path("spilled.idx"));
  free(ref);
  txf_clean_hist_release(&h);
  ASSERT(h.spill_dir != NULL); /* kept for the next batch */
  h.spill_dir = unit_path("no-such-dir");
  ref = add_random(&h, 300000);
  ASSERT_EQ_U64(h.n_spilled, 0);
  ASSERT_EQ_I64(h.spilling, -1);
  check_sorted(&h, ref, unit_path("unspilled.idx"));
  txf_buf a, b;
  txf_buf_init(&a, 0);
  txf_buf_init(&b, 0);
  txf_err err;
  ASSERT_OK(txf_fs_read_file(unit_path("spilled.idx"), &a, &err), &err);
  ASSERT_OK(txf_fs_read_file(unit_path("unspilled.idx"), &b, &err), &err);
  ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  txf_buf_release(&a);
  txf_buf_release(&b);
  free(ref);
  txf_clean_hist_release(&h);
}
