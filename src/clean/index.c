/* The id index beside silver (docs/silver.md, "The id index").
 *
 * 256 shard files, shard = top byte of the id hash; each holds the pairs
 * (id hash, event day of the id's partition) of the lake's ids in its
 * shard, sorted. A pair costs about 7 bytes on disk: the hash as a varint
 * of its distance to the previous one (ids spread evenly, so the gaps are
 * about 2^56 / ids in the shard), the day as a varint from the shard's
 * first day. Format 2:
 *
 *   entries: varint(idh - previous idh), varint(zigzag(day - base_day))
 *   tail (24 bytes): u64 count, i32 base_day, u32 shard, "TXFIDX2\n"
 *
 * The previous idh of the first entry is the shard's lowest hash (shard
 * << 56). Format 1 (what lakes before 2026-12 hold: each entry the id, its
 * version and lineage, about 60 bytes an id) is read as well: its pairs
 * are the same, and a shard is written in format 2 the next time a clean
 * changes it. */
#include <stdlib.h>
#include <string.h>

#include "clean/internal.h"

#define IDX_MAGIC1 "TXFIDX1\n"
#define IDX_MAGIC2 "TXFIDX2\n"
#define V1_FIXED 45 /* idh h0 h1 ingested_at (8 each) days (4+4) len */

#define INDEX_DIR "silver/_index/transactions"

char *txf_clean_index_dir(const char *data_dir) {
  return txf_path_join(data_dir, INDEX_DIR);
}

void txf_clean_index_shard_rel(unsigned s, char out[IDX_SHARD_REL_MAX]) {
  snprintf(out, IDX_SHARD_REL_MAX, INDEX_DIR "/shard-%03u.idx", s);
}

char *txf_clean_index_shard_path(const char *data_dir, unsigned s) {
  char rel[IDX_SHARD_REL_MAX];
  txf_clean_index_shard_rel(s, rel);
  return txf_path_join(data_dir, rel);
}

static int cmp_loc(const void *pa, const void *pb) {
  const loc_ent *a = pa, *b = pb;
  if (a->idh != b->idh)
    return a->idh < b->idh ? -1 : 1;
  return (a->day > b->day) - (a->day < b->day);
}

void txf_clean_index_sort(loc_ent *e, size_t n) {
  for (size_t i = 1; i < n; i++) /* usually sorted already */
    if (cmp_loc(&e[i - 1], &e[i]) > 0) {
      qsort(e, n, sizeof *e, cmp_loc);
      return;
    }
}

/* V as a varint at P (room for 10 bytes); returns the byte after it. */
static char *put_varint(char *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (char)(v | 0x80);
    v >>= 7;
  }
  *p++ = (char)v;
  return p;
}

/* A varint at P where 10 bytes are surely there (no bound to check
 * each byte against); one longer than 10 bytes is NULL. */
static inline const char *get_varint_unbounded(const char *p, uint64_t *v) {
  uint64_t c = (uint8_t)*p++;
  if (!(c & 0x80)) {
    *v = c;
    return p;
  }
  uint64_t x = c & 0x7f;
  for (int sh = 7; sh < 70; sh += 7) {
    c = (uint8_t)*p++;
    x |= (c & 0x7f) << sh;
    if (!(c & 0x80)) {
      *v = x;
      return p;
    }
  }
  return NULL;
}

static const char *get_varint(const char *p, const char *end, uint64_t *v) {
  uint64_t x = 0;
  for (int sh = 0; sh < 64 && p < end; sh += 7) {
    uint8_t c = (uint8_t)*p++;
    x |= (uint64_t)(c & 0x7f) << sh;
    if (!(c & 0x80)) {
      *v = x;
      return p;
    }
  }
  return NULL;
}

static int read_v1(const char *path, const char *p, const char *end,
                   uint64_t count, loc_ent **out, size_t *n, txf_err *err) {
  loc_ent *e = txf_xmalloc((count ? count : 1) * sizeof *e);
  size_t k = 0;
  while (p < end) {
    if (end - p < V1_FIXED || k == count) {
      free(e);
      return txf_err_set(err, TXF_ECORRUPT, "%s: truncated entry", path);
    }
    memcpy(&e[k].idh, p, 8);
    memcpy(&e[k].day, p + 32, 4);
    p += V1_FIXED + (uint8_t)p[40];
    if (p > end) {
      free(e);
      return txf_err_set(err, TXF_ECORRUPT, "%s: truncated entry", path);
    }
    k++;
  }
  /* Format 1 is sorted by (idh, id bytes); pairs sort by (idh, day). */
  txf_clean_index_sort(e, k);
  *out = e;
  *n = k;
  return 0;
}

int txf_clean_index_read(const char *path, unsigned shard, loc_ent **out,
                         size_t *n, txf_err *err) {
  *out = NULL;
  *n = 0;
  if (!txf_fs_exists(path))
    return 0;
  txf_buf b;
  txf_buf_init(&b, 0);
  int rc = txf_fs_read_file(path, &b, err);
  if (!rc)
    rc = txf_clean_index_parse(path, shard, &b, out, n, err);
  else
    txf_buf_release(&b);
  return rc;
}

int txf_clean_index_parse(const char *path, unsigned shard, txf_buf *bytes,
                          loc_ent **out, size_t *n, txf_err *err) {
  *out = NULL;
  *n = 0;
  txf_buf b = *bytes;
  memset(bytes, 0, sizeof *bytes);
  int rc;
  uint64_t count = 0;
  if (b.len >= 16 && memcmp(b.data + b.len - 8, IDX_MAGIC1, 8) == 0) {
    memcpy(&count, b.data + b.len - 16, 8);
    rc = read_v1(path, b.data, b.data + b.len - 16, count, out, n, err);
    txf_buf_release(&b);
    return rc;
  }
  if (b.len < 24 || memcmp(b.data + b.len - 8, IDX_MAGIC2, 8) != 0) {
    txf_buf_release(&b);
    return txf_err_set(err, TXF_ECORRUPT, "%s: not an index shard", path);
  }
  int32_t base;
  uint32_t which;
  memcpy(&count, b.data + b.len - 24, 8);
  memcpy(&base, b.data + b.len - 16, 4);
  memcpy(&which, b.data + b.len - 12, 4);
  const char *p = b.data, *end = b.data + b.len - 24;
  if (which != shard) {
    txf_buf_release(&b);
    return txf_err_set(err, TXF_ECORRUPT, "%s: shard %u, not %u", path,
                       which, shard);
  }
  if (count > (uint64_t)(end - p) / 2) {
    txf_buf_release(&b);
    return txf_err_set(err, TXF_ECORRUPT, "%s: bad entry count", path);
  }
  loc_ent *e = txf_xmalloc((count ? count : 1) * sizeof *e);
  uint64_t prev = (uint64_t)shard << 56;
  for (uint64_t k = 0; k < count; k++) {
    uint64_t d, z;
    if (end - p >= 20) { /* the bulk: two varints of at most 10 bytes */
      p = get_varint_unbounded(p, &d);
      p = p ? get_varint_unbounded(p, &z) : NULL;
    } else {
      p = get_varint(p, end, &d);
      p = p ? get_varint(p, end, &z) : NULL;
    }
    if (!p) {
      free(e);
      txf_buf_release(&b);
      return txf_err_set(err, TXF_ECORRUPT, "%s: truncated entry", path);
    }
    prev += d;
    e[k].idh = prev;
    e[k].day = (int32_t)((int64_t)base + (int64_t)((z >> 1) ^ -(z & 1)));
    if (IDX_SHARD(prev) != shard || (k && d == 0 && e[k].day < e[k - 1].day)) {
      free(e);
      txf_buf_release(&b);
      return txf_err_set(err, TXF_ECORRUPT, "%s: entries out of order",
                         path);
    }
  }
  txf_buf_release(&b);
  if (p != end) {
    free(e);
    return txf_err_set(err, TXF_ECORRUPT, "%s: bytes after the last entry",
                       path);
  }
  *out = e;
  *n = (size_t)count;
  return 0;
}

int txf_clean_index_write(const char *path, unsigned shard, const loc_ent *e,
                          size_t n, man_file *f, txf_err *err) {
  txf_buf b;
  txf_buf_init(&b, 0);
  /* at most 10 bytes a hash gap and 5 a day (a 32-bit zigzag) */
  (void)txf_buf_grow(&b, n * 15 + 32);
  int32_t base = n ? e[0].day : 0;
  for (size_t i = 1; i < n; i++)
    if (e[i].day < base)
      base = e[i].day;
  uint64_t prev = (uint64_t)shard << 56;
  char *p = b.data;
  for (size_t i = 0; i < n; i++) {
    p = put_varint(p, e[i].idh - prev);
    prev = e[i].idh;
    int64_t d = (int64_t)e[i].day - base;
    p = put_varint(p, (uint64_t)(d << 1) ^ (uint64_t)(d >> 63));
  }
  b.len = (size_t)(p - b.data);
  uint64_t count = n;
  uint32_t which = shard;
  (void)txf_buf_append(&b, &count, 8);
  (void)txf_buf_append(&b, &base, 4);
  (void)txf_buf_append(&b, &which, 4);
  (void)txf_buf_append(&b, IDX_MAGIC2, 8);
  if (f) {
    txf_sha256_hex(b.data, b.len, f->sha);
    f->size_bytes = b.len;
  }
  int rc = 0;
  FILE *fp = fopen(path, "wb");
  if (!fp || fwrite(b.data, 1, b.len, fp) != b.len ||
      fflush(fp) != 0) /* made durable by one syncfs before commit */
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot write", path);
  if (fp && fclose(fp) != 0 && !rc)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot close", path);
  txf_buf_release(&b);
  return rc;
}

loc_ent *txf_clean_index_edit(const loc_ent *e, size_t ne, const loc_ent *rm,
                              size_t nrm, const loc_ent *ins, size_t nins,
                              size_t *n, size_t *removed) {
  loc_ent *o = txf_xmalloc((ne + nins ? ne + nins : 1) * sizeof *o);
  size_t i = 0, j = 0, q = 0, k = 0, gone = 0;
  while (i < ne || j < nins) {
    if (i < ne && (j == nins || cmp_loc(&e[i], &ins[j]) <= 0)) {
      while (q < nrm && cmp_loc(&rm[q], &e[i]) < 0)
        q++;
      if (q < nrm && cmp_loc(&rm[q], &e[i]) == 0) {
        q++;
        gone++;
        i++;
        continue;
      }
      o[k++] = e[i++];
    } else {
      o[k++] = ins[j++];
    }
  }
  *n = k;
  *removed = gone;
  return o;
}
