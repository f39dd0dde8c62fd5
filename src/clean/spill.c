/* Spill files: where a clean keeps the batch while it sorts it, so that
 * its memory does not grow with the batch (docs/silver.md, "Memory").
 *
 * A spill is one unlinked file in the staging area: records appended to
 * numbered buckets through a small buffer each, written as extents at the
 * file's end; a bucket is read back whole, and its extents are then freed
 * (hole punched), so the page cache does not hold what was read. A
 * region is a run of bytes written at once and read back in order through
 * a buffer. The file is gone when the spill is freed, or when the process
 * ends. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/internal.h"

typedef struct extent {
  uint64_t off;
  uint32_t len;
} extent;

typedef struct bucket {
  char *buf;
  size_t len;
  extent *ext;
  size_t n_ext, cap_ext;
  uint64_t bytes; /* written and buffered */
} bucket;

struct txf_clean_spill {
  int fd;
  char *path; /* for messages */
  uint64_t end; /* reserved bytes (atomic) */
  bucket *b;
  unsigned n_buckets;
  size_t buf_bytes;
  pthread_mutex_t mu; /* extents of buckets appended from several threads */
};

int txf_clean_spill_open(txf_clean_spill **out, const char *dir,
                         const char *name, unsigned n_buckets,
                         size_t buf_bytes, txf_err *err) {
  *out = NULL;
  char *path = txf_path_join(dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    int rc = txf_err_errno(err, TXF_EIO, "%s: cannot create", path);
    free(path);
    return rc;
  }
  unlink(path); /* anonymous from now on: nothing to clean up */
  txf_clean_spill *s = txf_xcalloc(1, sizeof *s);
  s->fd = fd;
  s->path = path;
  s->n_buckets = n_buckets;
  s->buf_bytes = buf_bytes;
  s->b = txf_xcalloc(n_buckets ? n_buckets : 1, sizeof *s->b);
  pthread_mutex_init(&s->mu, NULL);
  *out = s;
  return 0;
}

void txf_clean_spill_free(txf_clean_spill *s) {
  if (!s)
    return;
  close(s->fd);
  for (unsigned i = 0; i < s->n_buckets; i++) {
    free(s->b[i].buf);
    free(s->b[i].ext);
  }
  free(s->b);
  pthread_mutex_destroy(&s->mu);
  free(s->path);
  free(s);
}

static int pwrite_all(txf_clean_spill *s, const void *p, size_t n,
                      uint64_t off, txf_err *err) {
  const char *q = p;
  while (n) {
    ssize_t k = pwrite(s->fd, q, n, (off_t)off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return txf_err_errno(err, TXF_EIO, "%s: cannot write", s->path);
    q += k;
    n -= (size_t)k;
    off += (uint64_t)k;
  }
  return 0;
}

static int pread_all(txf_clean_spill *s, void *p, size_t n, uint64_t off,
                     txf_err *err) {
  char *q = p;
  while (n) {
    ssize_t k = pread(s->fd, q, n, (off_t)off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return txf_err_errno(err, TXF_EIO, "%s: cannot read", s->path);
    q += k;
    n -= (size_t)k;
    off += (uint64_t)k;
  }
  return 0;
}

int txf_clean_spill_write(txf_clean_spill *s, const void *p, size_t n,
                          uint64_t *off, txf_err *err) {
  *off = __atomic_fetch_add(&s->end, (uint64_t)n, __ATOMIC_RELAXED);
  return pwrite_all(s, p, n, *off, err);
}

static int flush_bucket(txf_clean_spill *s, bucket *b, txf_err *err) {
  if (!b->len)
    return 0;
  uint64_t off;
  int rc = txf_clean_spill_write(s, b->buf, b->len, &off, err);
  if (rc)
    return rc;
  pthread_mutex_lock(&s->mu);
  if (b->n_ext == b->cap_ext) {
    b->cap_ext = b->cap_ext ? 2 * b->cap_ext : 16;
    b->ext = txf_xrealloc(b->ext, b->cap_ext * sizeof *b->ext);
  }
  b->ext[b->n_ext++] = (extent){off, (uint32_t)b->len};
  pthread_mutex_unlock(&s->mu);
  b->len = 0;
  return 0;
}

int txf_clean_spill_add(txf_clean_spill *s, unsigned bucket_no,
                        const void *rec, size_t n, txf_err *err) {
  bucket *b = &s->b[bucket_no];
  if (!b->buf)
    b->buf = txf_xmalloc(s->buf_bytes);
  if (b->len + n > s->buf_bytes) {
    int rc = flush_bucket(s, b, err);
    if (rc)
      return rc;
    if (n > s->buf_bytes) { /* bigger than a buffer: its own extent */
      uint64_t off;
      rc = txf_clean_spill_write(s, rec, n, &off, err);
      if (rc)
        return rc;
      pthread_mutex_lock(&s->mu);
      if (b->n_ext == b->cap_ext) {
        b->cap_ext = b->cap_ext ? 2 * b->cap_ext : 16;
        b->ext = txf_xrealloc(b->ext, b->cap_ext * sizeof *b->ext);
      }
      b->ext[b->n_ext++] = (extent){off, (uint32_t)n};
      pthread_mutex_unlock(&s->mu);
      b->bytes += n;
      return 0;
    }
  }
  memcpy(b->buf + b->len, rec, n);
  b->len += n;
  b->bytes += n;
  return 0;
}

int txf_clean_spill_flush(txf_clean_spill *s, txf_err *err) {
  for (unsigned i = 0; i < s->n_buckets; i++) {
    int rc = flush_bucket(s, &s->b[i], err);
    if (rc)
      return rc;
    free(s->b[i].buf); /* nothing more is added */
    s->b[i].buf = NULL;
  }
  return 0;
}

uint64_t txf_clean_spill_bucket_bytes(const txf_clean_spill *s,
                                      unsigned bucket_no) {
  return s->b[bucket_no].bytes;
}

int txf_clean_spill_read(txf_clean_spill *s, unsigned bucket_no,
                         txf_buf *out, txf_err *err) {
  bucket *b = &s->b[bucket_no];
  txf_buf_reset(out);
  if (txf_buf_grow(out, (size_t)b->bytes + 1))
    return txf_err_set(err, TXF_ETOOBIG, "%s: bucket too big", s->path);
  for (size_t i = 0; i < b->n_ext; i++) {
    int rc = pread_all(s, out->data + out->len, b->ext[i].len, b->ext[i].off,
                       err);
    if (rc)
      return rc;
    out->len += b->ext[i].len;
    /* Read once: let the kernel drop the pages now. */
    (void)fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    (off_t)b->ext[i].off, (off_t)b->ext[i].len);
  }
  out->data[out->len] = 0;
  return 0;
}

/* ---------------------------------------------------------------- regions */

void txf_clean_region_open(txf_clean_region *r, txf_clean_spill *s,
                           uint64_t off, uint64_t len, size_t buf_bytes) {
  memset(r, 0, sizeof *r);
  r->s = s;
  r->off = off;
  r->left = len;
  r->cap = buf_bytes;
}

void txf_clean_region_release(txf_clean_region *r) {
  free(r->buf);
  r->buf = NULL;
}

int txf_clean_region_need(txf_clean_region *r, size_t n, txf_err *err) {
  if (r->end - r->pos >= n)
    return 0;
  size_t have = r->end - r->pos;
  if (n > r->cap) {
    r->cap = n;
    if (r->buf) { /* grow, keeping what is unread */
      char *nb = txf_xmalloc(r->cap);
      memcpy(nb, r->buf + r->pos, have);
      free(r->buf);
      r->buf = nb;
      r->pos = 0;
      r->end = have;
    }
  }
  if (!r->buf)
    r->buf = txf_xmalloc(r->cap);
  memmove(r->buf, r->buf + r->pos, have);
  r->pos = 0;
  r->end = have;
  size_t want = r->cap - have;
  if (want > r->left)
    want = (size_t)r->left;
  if (have + want < n)
    return txf_err_set(err, TXF_EINTERNAL, "%s: a record runs past its run",
                       r->s->path);
  int rc = pread_all(r->s, r->buf + have, want, r->off, err);
  if (rc)
    return rc;
  (void)fallocate(r->s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)r->off, (off_t)want);
  r->off += want;
  r->left -= want;
  r->end += want;
  return 0;
}

/* ---------------------------------------------------------------- records */

/* Layout (host byte order: a spill never leaves the machine):
 *   0 idh  8 h0  16 h1  24 txn_ts  32 ingested_at  40 amount   (8 each)
 *  48 event_day  52 src  56 rec  60 aux                         (4 each)
 *  64 mcc (2)  66 currency (3)  69 flags  70 len[5]  75 strings
 * flags: status (2 bits), channel (2), is_refund, has_orig, had_old. */

size_t txf_clean_rec_size(const crow *r) {
  return REC_HDR + (size_t)r->len[0] + r->len[1] + r->len[2] + r->len[3] +
         r->len[4];
}

size_t txf_clean_rec_len(const char *p) {
  const uint8_t *l = (const uint8_t *)p + 70;
  return REC_HDR + (size_t)l[0] + l[1] + l[2] + l[3] + l[4];
}

void txf_clean_rec_put(char *p, const crow *r, int32_t aux) {
  memcpy(p, &r->idh, 8);
  memcpy(p + 8, &r->h0, 8);
  memcpy(p + 16, &r->h1, 8);
  memcpy(p + 24, &r->txn_ts_us, 8);
  memcpy(p + 32, &r->ingested_at_us, 8);
  memcpy(p + 40, &r->amount_minor, 8);
  memcpy(p + 48, &r->event_day, 4);
  memcpy(p + 52, &r->src, 4);
  memcpy(p + 56, &r->rec, 4);
  memcpy(p + 60, &aux, 4);
  memcpy(p + 64, &r->mcc, 2);
  memcpy(p + 66, r->currency, 3);
  p[69] = (char)(r->status | r->channel << 2 | r->is_refund << 4 |
                 r->has_orig << 5 | r->had_old << 6);
  memcpy(p + 70, r->len, 5);
  size_t n = (size_t)r->len[0] + r->len[1] + r->len[2] + r->len[3] +
             r->len[4];
  memcpy(p + REC_HDR, r->str, n);
}

const char *txf_clean_rec_get(const char *p, crow *r, int32_t *aux) {
  memcpy(&r->idh, p, 8);
  memcpy(&r->h0, p + 8, 8);
  memcpy(&r->h1, p + 16, 8);
  memcpy(&r->txn_ts_us, p + 24, 8);
  memcpy(&r->ingested_at_us, p + 32, 8);
  memcpy(&r->amount_minor, p + 40, 8);
  memcpy(&r->event_day, p + 48, 4);
  memcpy(&r->src, p + 52, 4);
  memcpy(&r->rec, p + 56, 4);
  if (aux)
    memcpy(aux, p + 60, 4);
  memcpy(&r->mcc, p + 64, 2);
  memcpy(r->currency, p + 66, 3);
  uint8_t f = (uint8_t)p[69];
  r->status = f & 3;
  r->channel = f >> 2 & 3;
  r->is_refund = f >> 4 & 1;
  r->has_orig = f >> 5 & 1;
  r->had_old = f >> 6 & 1;
  memcpy(r->len, p + 70, 5);
  r->str = p + REC_HDR;
  r->fate = FATE_NONE;
  r->replace = 0;
  r->old_day = 0;
  return p + REC_HDR + r->len[0] + r->len[1] + r->len[2] + r->len[3] +
         r->len[4];
}
