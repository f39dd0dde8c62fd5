/* Page-level encodings: the RLE/bit-packed hybrid (levels, dictionary
 * indices, booleans), DELTA_BINARY_PACKED decoding (for files written
 * with Parquet v2 encodings) and the compression codecs. */
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "parquet/pq_internal.h"

/* ------------------------------------------------------------- RLE hybrid */

void txf_pq_varint_put(txf_buf *b, uint64_t v) {
  uint8_t tmp[10];
  int n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  (void)txf_buf_append(b, tmp, (size_t)n);
}

/* Runs of at least 8 equal values become RLE runs; the rest is bit-packed
 * in groups of 8 (the last group zero-padded, which the reader tolerates
 * because it knows the value count). Instantiated for uint32 and uint8. */
#define RLE_ENCODE_BODY(T)                                                   \
  size_t i = 0;                                                              \
  int vbytes = (bit_width + 7) / 8;                                          \
  while (i < n) {                                                            \
    size_t run = 1;                                                          \
    while (i + run < n && v[i + run] == v[i])                                \
      run++;                                                                 \
    if (run >= 8) {                                                          \
      txf_pq_varint_put(b, (uint64_t)run << 1);                              \
      uint32_t x = v[i];                                                     \
      uint8_t vb[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16),    \
                       (uint8_t)(x >> 24)};                                  \
      (void)txf_buf_append(b, vb, (size_t)vbytes);                           \
      i += run;                                                              \
      continue;                                                              \
    }                                                                        \
    /* Bit-packed: whole groups until a run of 8+ starts at a group edge. */ \
    size_t start = i, groups = 0;                                            \
    while (i < n) {                                                          \
      if (groups > 0) {                                                      \
        size_t r = 1;                                                        \
        while (r < 8 && i + r < n && v[i + r] == v[i])                       \
          r++;                                                               \
        if (r >= 8)                                                          \
          break;                                                             \
      }                                                                      \
      i += 8;                                                                \
      groups++;                                                              \
    }                                                                        \
    if (i > n)                                                               \
      i = n;                                                                 \
    txf_pq_varint_put(b, (uint64_t)groups << 1 | 1);                         \
    size_t nbytes = groups * (size_t)bit_width;                              \
    (void)txf_buf_grow(b, nbytes);                                           \
    uint8_t *o = (uint8_t *)b->data + b->len;                                \
    uint64_t acc = 0;                                                        \
    int nbits = 0;                                                           \
    size_t k = 0;                                                            \
    for (size_t j = start; j < start + groups * 8; j++) {                    \
      uint64_t x = j < i ? (uint64_t)v[j] : 0;                               \
      acc |= x << nbits;                                                     \
      nbits += bit_width;                                                    \
      while (nbits >= 8) {                                                   \
        o[k++] = (uint8_t)acc;                                               \
        acc >>= 8;                                                           \
        nbits -= 8;                                                          \
      }                                                                      \
    }                                                                        \
    b->len += nbytes;                                                        \
    b->data[b->len] = 0;                                                     \
  }

void txf_pq_rle_encode(txf_buf *b, const uint32_t *v, size_t n, int bit_width) {
  RLE_ENCODE_BODY(uint32_t)
}

void txf_pq_rle_encode_u8(txf_buf *b, const uint8_t *v, size_t n,
                          int bit_width) {
  RLE_ENCODE_BODY(uint8_t)
}

static int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
  const uint8_t *p = *pp;
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end)
      return -1;
    uint8_t b = *p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *pp = p;
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* WIDTH (0..64) bits at bit offset POS of P[0..len); the caller has
 * checked that they lie inside. */
static inline uint64_t get_bits(const uint8_t *p, size_t len, uint64_t pos,
                                int width) {
  if (width == 0)
    return 0;
  size_t at = (size_t)(pos >> 3);
  int sh = (int)(pos & 7);
  uint64_t v;
  if (width <= 56 && at + 8 <= len) {
    memcpy(&v, p + at, 8);
    v >>= sh;
  } else {
    /* Slow path near the end or for wide values. */
    v = 0;
    int got = 0;
    size_t i = at;
    uint64_t first = i < len ? p[i] >> sh : 0;
    v = first;
    got = 8 - sh;
    i++;
    while (got < width && i < len) {
      v |= (uint64_t)p[i] << got;
      got += 8;
      i++;
    }
  }
  return width == 64 ? v : v & ((UINT64_C(1) << width) - 1);
}

int txf_pq_rle_decode(const uint8_t *p, size_t len, int bit_width,
                      uint32_t *out, size_t n) {
  if (bit_width < 0 || bit_width > 32)
    return -1;
  const uint8_t *end = p + len;
  size_t i = 0;
  int vbytes = (bit_width + 7) / 8;
  while (i < n) {
    uint64_t h;
    if (get_varint(&p, end, &h))
      return -1;
    if (h & 1) {
      uint64_t groups = h >> 1;
      if (groups == 0)
        return -1;
      uint64_t cnt = groups * 8;
      if (groups > ((uint64_t)1 << 40))
        return -1;
      size_t need = n - i < cnt ? n - i : (size_t)cnt;
      size_t avail = (size_t)(end - p);
      uint64_t full = groups * (uint64_t)bit_width;
      /* Some writers truncate the padding of the last group. */
      if (((uint64_t)need * (uint64_t)bit_width + 7) / 8 > avail)
        return -1;
      for (size_t j = 0; j < need; j++)
        out[i + j] =
            (uint32_t)get_bits(p, avail, (uint64_t)j * bit_width, bit_width);
      i += need;
      p += full < avail ? full : avail;
    } else {
      uint64_t run = h >> 1;
      if ((size_t)(end - p) < (size_t)vbytes)
        return -1;
      uint32_t x = 0;
      for (int k = 0; k < vbytes; k++)
        x |= (uint32_t)p[k] << (8 * k);
      p += vbytes;
      if (bit_width < 32 && (x >> bit_width))
        return -1;
      size_t take = n - i < run ? n - i : (size_t)run;
      for (size_t j = 0; j < take; j++)
        out[i + j] = x;
      i += take;
    }
  }
  return 0;
}

/* ------------------------------------------------------------- delta */

typedef struct delta_hdr {
  uint64_t block_size, miniblocks, count;
  int64_t first;
} delta_hdr;

static int delta_header(const uint8_t **pp, const uint8_t *end, delta_hdr *h) {
  uint64_t z;
  if (get_varint(pp, end, &h->block_size) ||
      get_varint(pp, end, &h->miniblocks) || get_varint(pp, end, &h->count) ||
      get_varint(pp, end, &z))
    return -1;
  h->first = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
  if (h->block_size == 0 || h->block_size % 128 || h->block_size > 65536 ||
      h->miniblocks == 0 || h->block_size % h->miniblocks ||
      (h->block_size / h->miniblocks) % 32)
    return -1;
  return 0;
}

int txf_pq_delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t n,
                        size_t *used) {
  const uint8_t *start = p, *end = p + len;
  delta_hdr h;
  if (delta_header(&p, end, &h) || h.count != n)
    return -1;
  size_t per_mb = (size_t)(h.block_size / h.miniblocks);
  uint64_t prev = (uint64_t)h.first;
  size_t i = 0;
  if (n > 0)
    out[i++] = h.first;
  while (i < n) {
    uint64_t z;
    if (get_varint(&p, end, &z))
      return -1;
    uint64_t min_delta = (z >> 1) ^ -(z & 1);
    if ((uint64_t)(end - p) < h.miniblocks)
      return -1;
    const uint8_t *widths = p;
    p += h.miniblocks;
    for (uint64_t m = 0; m < h.miniblocks && i < n; m++) {
      int w = widths[m];
      if (w > 64)
        return -1;
      size_t bytes = per_mb * (size_t)w / 8;
      if ((size_t)(end - p) < bytes)
        return -1;
      size_t take = n - i < per_mb ? n - i : per_mb;
      for (size_t j = 0; j < take; j++) {
        prev += min_delta + get_bits(p, bytes, (uint64_t)j * w, w);
        out[i++] = (int64_t)prev;
      }
      p += bytes;
    }
  }
  *used = (size_t)(p - start);
  return 0;
}

/* ------------------------------------------------------------- codecs */

void txf_pq_codec_release(pq_codec_ctx *c) {
  ZSTD_freeCCtx(c->zc);
  ZSTD_freeDCtx(c->zd);
  c->zc = c->zd = NULL;
}

void txf_pq_compress(pq_codec_ctx *c, int codec, const void *in, size_t n,
                     txf_buf *out) {
  txf_buf_reset(out);
  if (codec == PQZ_SNAPPY) {
    size_t cap = snappy_max_compressed_length(n);
    (void)txf_buf_grow(out, cap);
    size_t got = cap;
    if (snappy_compress(in, n, out->data, &got) != SNAPPY_OK)
      abort(); /* only fails when the output is too small: our bug */
    out->len = got;
  } else if (codec == PQZ_ZSTD) {
    if (!c->zc)
      c->zc = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(n);
    (void)txf_buf_grow(out, cap);
    size_t got = ZSTD_compressCCtx(c->zc, out->data, cap, in, n,
                                   c->zstd_level ? c->zstd_level : 1);
    if (ZSTD_isError(got))
      abort();
    out->len = got;
  } else {
    (void)txf_buf_append(out, in, n);
    return;
  }
  out->data[out->len] = 0;
}

int txf_pq_decompress_plausible(int codec, const void *in, size_t n,
                                size_t want) {
  if (codec == PQZ_UNCOMPRESSED)
    return n == want;
  if (codec == PQZ_SNAPPY) {
    size_t len;
    return snappy_uncompressed_length(in, n, &len) == SNAPPY_OK &&
           len == want;
  }
  if (codec == PQZ_ZSTD) {
    unsigned long long cs = ZSTD_getFrameContentSize(in, n);
    if (cs == ZSTD_CONTENTSIZE_ERROR)
      return 0;
    return cs == ZSTD_CONTENTSIZE_UNKNOWN || cs == want;
  }
  return 0;
}

int txf_pq_decompress(pq_codec_ctx *c, int codec, const void *in, size_t n,
                      void *out, size_t want, const char **why) {
  if (codec == PQZ_UNCOMPRESSED) {
    if (n != want) {
      *why = "uncompressed page size differs from its compressed size";
      return -1;
    }
    if (n)
      memcpy(out, in, n);
    return 0;
  }
  if (codec == PQZ_SNAPPY) {
    size_t len;
    if (snappy_uncompressed_length(in, n, &len) != SNAPPY_OK || len != want) {
      *why = "snappy length header does not match the page size";
      return -1;
    }
    size_t got = want;
    if (snappy_uncompress(in, n, out, &got) != SNAPPY_OK || got != want) {
      *why = "snappy data is corrupt";
      return -1;
    }
    return 0;
  }
  if (codec == PQZ_ZSTD) {
    if (!c->zd)
      c->zd = ZSTD_createDCtx();
    size_t got = ZSTD_decompressDCtx(c->zd, out, want, in, n);
    if (ZSTD_isError(got) || got != want) {
      *why = "zstd data is corrupt or has the wrong size";
      return -1;
    }
    return 0;
  }
  *why = "compression codec not supported";
  return -1;
}
