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
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean/internal.h"

#define HIST_MAGIC "TXFHIS01"
#define SPILL_BYTES ((size_t)HIST_SPILL * sizeof(hist_ent))

void txf_clean_hist_release(txf_clean_hist *h) {
  for (size_t i = 0; i < h->n_files; i++)
    free(h->files[i]);
  free(h->files);
  free(h->sizes);
  free(h->e);
  for (unsigned k = 0; h->b && k < HIST_BUCKETS; k++) {
    free(h->b[k].e);
    free(h->b[k].ext);
  }
  free(h->b);
  if (h->spilling > 0)
    close(h->spill_fd);
  const char *dir = h->spill_dir;
  memset(h, 0, sizeof *h);
  h->spill_dir = dir;
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

/* ---------------------------------------------------------------- spill */

/* An unlinked file in DIR, or -1. */
static int spill_open(const char *dir) {
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
    return fd;
  char *path = txf_path_join(dir, "history.spill"); /* no O_TMPFILE */
  fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    unlink(path);
  free(path);
  return fd;
}

/* Write B's full buffer at the file's end; 0 when it went there. */
static int spill_write(txf_clean_hist *h, hist_bucket *b) {
  if (!h->spilling) {
    h->spill_fd = h->spill_dir ? spill_open(h->spill_dir) : -1;
    h->spilling = h->spill_fd >= 0 ? 1 : -1;
  }
  if (h->spilling != 1)
    return -1;
  off_t at = (off_t)(h->n_spilled * SPILL_BYTES);
  if (pwrite(h->spill_fd, b->e, SPILL_BYTES, at) != (ssize_t)SPILL_BYTES) {
    h->spilling = 2; /* what went before stays readable; no more */
    return -1;
  }
  if (b->n_ext == b->cap_ext) {
    b->cap_ext = b->cap_ext ? 2 * b->cap_ext : 16;
    b->ext = txf_xrealloc(b->ext, b->cap_ext * sizeof *b->ext);
  }
  b->ext[b->n_ext++] = h->n_spilled++;
  b->n = 0;
  return 0;
}

void txf_clean_hist_spill(txf_clean_hist *h, hist_bucket *b) {
  if (b->cap == HIST_SPILL && spill_write(h, b) == 0)
    return;
  b->cap = b->cap ? 2 * b->cap : 64;
  b->e = txf_xrealloc(b->e, b->cap * sizeof *b->e);
}

/* ---------------------------------------------------------------- sort */

/* Sort the M entries at A, one bucket (their hashes share the top byte),
 * by (hash, location): a stable LSD radix on the hash's other 7 bytes
 * through TMP (M entries), then an id's entries (a few) by location.
 * A bucket is about 41,000 entries at 10 M lines: it fits the cache. */
static void sort_bucket(hist_ent *a, size_t m, hist_ent *tmp) {
  if (m < 2)
    return;
  hist_ent *v = a, *t = tmp;
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
  if (a != v) /* an odd number of passes: the result is in tmp */
    memcpy(v, a, m * sizeof *a);
  a = v;
  for (size_t i = 1; i < m; i++) /* one hash's entries by location */
    for (size_t j = i;
         j > 0 && a[j - 1].idh == a[j].idh && a[j - 1].loc > a[j].loc; j--) {
      hist_ent x = a[j];
      a[j] = a[j - 1];
      a[j - 1] = x;
    }
}

/* Bucket B's entries, in the order added, into *V (grown to *CAP). */
static int gather(const txf_clean_hist *h, const hist_bucket *b, hist_ent **v,
                  size_t *cap, size_t *m, txf_err *err) {
  size_t n = b->n_ext * HIST_SPILL + b->n;
  if (n > *cap) {
    *cap = n;
    *v = txf_xrealloc(*v, n * sizeof **v);
  }
  for (size_t i = 0; i < b->n_ext; i++) {
    off_t at = (off_t)(b->ext[i] * SPILL_BYTES);
    if (pread(h->spill_fd, *v + i * HIST_SPILL, SPILL_BYTES, at) !=
        (ssize_t)SPILL_BYTES)
      return txf_err_errno(err, TXF_EIO,
                           "history store: cannot read back "
                           "its spill file");
  }
  if (b->n)
    memcpy(*v + b->n_ext * HIST_SPILL, b->e, b->n * sizeof *b->e);
  *m = n;
  return 0;
}

/* The entries, bucket after bucket, each sorted, to FP. */
static int write_entries(const txf_clean_hist *h, FILE *fp, txf_err *err) {
  hist_ent *v = NULL, *tmp = NULL;
  size_t cap = 0, m = 0;
  int rc = 0;
  for (unsigned k = 0; h->b && k < HIST_BUCKETS && !rc; k++) {
    size_t had = cap;
    rc = gather(h, &h->b[k], &v, &cap, &m, err);
    if (cap != had)
      tmp = txf_xrealloc(tmp, cap * sizeof *tmp);
    if (rc || !m)
      continue;
    sort_bucket(v, m, tmp);
    if (fwrite(v, sizeof *v, m, fp) != m)
      rc = txf_err_errno(err, TXF_EIO, "history store: cannot write");
  }
  free(v);
  free(tmp);
  return rc;
}

int txf_clean_hist_write(txf_clean_hist *h, const char *data_dir,
                         const csource *files, size_t n, const char *path,
                         txf_err *err) {
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
  if (!rc && fwrite(b.data, 1, b.len, fp) != b.len)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot write", path);
  if (!rc)
    rc = write_entries(h, fp, err);
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
