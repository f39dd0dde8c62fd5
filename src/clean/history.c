/* The history store: where every valid line of a batch is, by id hash
 * (docs/silver.md, "History"; decision 2102).
 *
 * A file per batch, written by its clean and renamed into place by the
 * clean's journal:
 *   "TXFHIS01"  u32 n_files  { u16 len, path, u64 size_bytes } * n_files
 *   u64 n  { u64 id hash, u64 file << 48 | byte offset } * n
 * little-endian, the entries sorted by (hash, file, offset). 16 bytes a
 * line: a revert finds every other version of an id from these, and reads
 * only those lines from bronze. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clean/internal.h"

#define HIST_MAGIC "TXFHIS01"

void txf_clean_hist_release(txf_clean_hist *h) {
  for (size_t i = 0; i < h->n_files; i++)
    free(h->files[i]);
  free(h->files);
  free(h->sizes);
  free(h->e);
  memset(h, 0, sizeof *h);
}

char *txf_clean_hist_path(const char *data_dir, const char *date) {
  return txf_xasprintf("%s/" TXF_HIST_DIR "/ingest_date=%s.idx", data_dir,
                       date);
}

static int cmp_ent(const void *pa, const void *pb) {
  const hist_ent *a = pa, *b = pb;
  if (a->idh != b->idh)
    return a->idh < b->idh ? -1 : 1;
  return (a->loc > b->loc) - (a->loc < b->loc);
}

/* Sort V (N entries) by (hash, location), the order of the file. A clean
 * sorts millions (10.5 M at 10 M lines: qsort took ~2 s of the clean's
 * serial tail), so a radix sort: in place by the hash's top byte (an
 * American flag pass: no second array of the whole batch), then each of
 * the 256 buckets (~41,000 entries at 10 M lines: they fit the cache) by
 * a stable LSD radix on the hash's other 7 bytes through a buffer the
 * size of the biggest bucket; entries of one hash (an id's versions: a
 * few) are then put in location order. */
static void sort_entries(hist_ent *v, size_t n) {
  size_t lo[257], next[256];
  memset(lo, 0, sizeof lo);
  for (size_t i = 0; i < n; i++)
    lo[(v[i].idh >> 56) + 1]++;
  size_t big = 0;
  for (unsigned b = 0; b < 256; b++) {
    big = lo[b + 1] > big ? lo[b + 1] : big;
    lo[b + 1] += lo[b];
    next[b] = lo[b];
  }
  for (unsigned b = 0; b < 256; b++)
    while (next[b] < lo[b + 1]) {
      hist_ent x = v[next[b]];
      unsigned d = (unsigned)(x.idh >> 56);
      while (d != b) { /* follow the cycle until an entry belongs in b */
        hist_ent t = v[next[d]];
        v[next[d]++] = x;
        x = t;
        d = (unsigned)(x.idh >> 56);
      }
      v[next[b]++] = x;
    }
  hist_ent *tmp = txf_xmalloc(big ? big * sizeof *tmp : 1);
  for (unsigned b = 0; b < 256; b++) {
    hist_ent *a = v + lo[b], *t = tmp;
    size_t m = lo[b + 1] - lo[b];
    if (m < 2)
      continue;
    size_t cnt[7][256];
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < m; i++)
      for (unsigned k = 0; k < 7; k++)
        cnt[k][(a[i].idh >> (8 * k)) & 0xff]++;
    for (unsigned k = 0; k < 7; k++) {
      if (cnt[k][(a[0].idh >> (8 * k)) & 0xff] == m)
        continue; /* every entry has this byte: the pass would not move */
      size_t at = 0;
      for (unsigned d = 0; d < 256; d++) {
        size_t c = cnt[k][d];
        cnt[k][d] = at;
        at += c;
      }
      for (size_t i = 0; i < m; i++)
        t[cnt[k][(a[i].idh >> (8 * k)) & 0xff]++] = a[i];
      hist_ent *s = a;
      a = t;
      t = s;
    }
    if (a != v + lo[b]) /* an odd number of passes: the result is in tmp */
      memcpy(v + lo[b], a, m * sizeof *a);
    a = v + lo[b];
    for (size_t i = 1; i < m; i++) /* one hash's entries by location */
      for (size_t j = i;
           j > 0 && a[j - 1].idh == a[j].idh && a[j - 1].loc > a[j].loc; j--) {
        hist_ent x = a[j];
        a[j] = a[j - 1];
        a[j - 1] = x;
      }
  }
  free(tmp);
}

int txf_clean_hist_write(txf_clean_hist *h, const char *data_dir,
                         const csource *files, size_t n, const char *path,
                         txf_err *err) {
  sort_entries(h->e, h->n);
  txf_buf b;
  txf_buf_init(&b, 0);
  (void)txf_buf_append(&b, HIST_MAGIC, 8);
  uint32_t nf = (uint32_t)n;
  (void)txf_buf_append(&b, &nf, sizeof nf);
  for (size_t i = 0; i < n; i++) {
    const char *p = files[i].path;
    uint16_t len = (uint16_t)files[i].path_len;
    char *abs = p[0] == '/' ? txf_xstrdup(p) : txf_path_join(data_dir, p);
    struct stat st;
    uint64_t size = stat(abs, &st) == 0 ? (uint64_t)st.st_size : 0;
    free(abs);
    (void)txf_buf_append(&b, &len, sizeof len);
    (void)txf_buf_append(&b, p, len);
    (void)txf_buf_append(&b, &size, sizeof size);
  }
  uint64_t ne = h->n;
  (void)txf_buf_append(&b, &ne, sizeof ne);
  FILE *fp = fopen(path, "wb");
  int rc = 0;
  if (!fp)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot create", path);
  if (!rc && (fwrite(b.data, 1, b.len, fp) != b.len ||
              (h->n && fwrite(h->e, sizeof *h->e, h->n, fp) != h->n)))
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot write", path);
  if (fp && fclose(fp) != 0 && !rc)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot write", path);
  txf_buf_release(&b);
  return rc;
}

int txf_clean_hist_read(const char *path, txf_clean_hist *h, txf_err *err) {
  txf_clean_hist_release(h);
  if (!txf_fs_exists(path))
    return txf_err_set(err, TXF_ENOTFOUND, "%s: no such file", path);
  txf_buf b;
  txf_buf_init(&b, 0);
  int rc = txf_fs_read_file(path, &b, err);
  if (rc) {
    txf_buf_release(&b);
    return rc;
  }
  const char *p = b.data, *end = b.data + b.len;
  uint32_t nf = 0;
  uint64_t ne = 0;
  int bad = b.len < 12 || memcmp(p, HIST_MAGIC, 8) != 0;
  if (!bad) {
    memcpy(&nf, p + 8, 4);
    p += 12;
    bad = nf > 65535;
  }
  if (!bad) {
    h->files = txf_xcalloc(nf ? nf : 1, sizeof *h->files);
    h->sizes = txf_xcalloc(nf ? nf : 1, sizeof *h->sizes);
  }
  for (uint32_t i = 0; i < nf && !bad; i++) {
    uint16_t len;
    if (end - p < 2) {
      bad = 1;
      break;
    }
    memcpy(&len, p, 2);
    p += 2;
    if ((size_t)(end - p) < (size_t)len + 8) {
      bad = 1;
      break;
    }
    h->files[i] = txf_xstrndup(p, len);
    memcpy(&h->sizes[i], p + len, 8);
    p += len + 8;
    h->n_files = i + 1;
  }
  if (!bad && end - p >= 8) {
    memcpy(&ne, p, 8);
    p += 8;
    bad = (uint64_t)(end - p) != ne * sizeof(hist_ent);
  } else {
    bad = 1;
  }
  if (!bad) {
    h->e = txf_xmalloc(ne ? ne * sizeof *h->e : 1);
    memcpy(h->e, p, ne * sizeof *h->e);
    h->n = h->cap = ne;
    for (size_t i = 0; i < h->n && !bad; i++)
      bad = (h->e[i].loc >> HIST_OFF_BITS) >= h->n_files ||
            (i && cmp_ent(&h->e[i - 1], &h->e[i]) > 0);
  }
  txf_buf_release(&b);
  if (bad) {
    txf_clean_hist_release(h);
    return txf_err_set(err, TXF_ECORRUPT, "%s: not a history file", path);
  }
  return 0;
}
