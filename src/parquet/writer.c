/* The Parquet writer: flat schemas, data page v1 (or v2 on request),
 * PLAIN and RLE_DICTIONARY
 * (falling back to PLAIN for high-cardinality or oversized dictionaries),
 * definition levels for OPTIONAL columns, snappy/zstd compression, row
 * groups by target size, chunk and page statistics.
 *
 * Columnar inside: rows are copied into slabs (a few thousand rows,
 * column by column); each column then encodes the slabs in order into
 * its current page and its chunk of finished, compressed pages. A column
 * depends only on its own earlier values, so with a pool the columns are
 * encoded on the pool's threads, each column by one thread at a time,
 * while the caller fills the next slabs; a finished row group is written
 * column after column, in order, by the caller's thread. Memory is
 * bounded by the row group size (plus the slabs in flight). The bytes
 * depend only on the rows and the options, never on the threads. */
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_internal.h"

/* A string longer than this in a page or chunk drops that page's or
 * chunk's min/max (null_count stays): the footer stays small, and a
 * truncated bound would need the is_exact flags that not every engine
 * reads. */
#define STAT_MAX_STR 64
/* The dictionary is abandoned past this many PLAIN-encoded bytes; for a
 * column named in the options' `repeating`, past the larger bound. */
#define DICT_MAX_BYTES (1u << 20)
#define DICT_REPEAT_MAX_BYTES (8u << 20)
/* Rows per data page at most, whatever the page byte target: readers
 * (ours included) bound the values of one page. */
#define PAGE_MAX_ROWS ((size_t)1 << 20)
/* Largest string value (and page target): pages must fit an int32. */
#define MAX_VALUE_BYTES ((size_t)256 << 20)
/* Rows per slab, and string bytes after which a slab is handed over
 * early (slab edges do not change the bytes). */
#define SLAB_ROWS 4096
/* A column's values in a slab, apart by a little more than 4 KiB
 * multiples: the row being added writes every column at once, and equal
 * low address bits would make those stores collide. */
#define VAL_STRIDE (SLAB_ROWS + 8)
#define NUL_STRIDE (SLAB_ROWS + 64)
#define SLAB_MAX_BYTES ((size_t)16 << 20)
/* Slabs in flight per writer: the columns may drift this far apart. */
#define SLAB_RING 8
/* Row groups being encoded or waiting to be written. */
#define RG_RING 2
_Static_assert(SLAB_ROWS <= sizeof(((pq_ctx *)0)->hashes) / sizeof(uint32_t),
               "a slab's hashes fit the context");

typedef union sval {
  int64_t i;
  double d;
} sval;

typedef struct wcol {
  txf_pq_column c; /* c.name owned */
  int ptype;
  int width; /* bytes per fixed value in VALS (bool: 1); 0 for strings */

  /* current page */
  uint8_t *defs;
  size_t defs_cap;
  size_t n_rows; /* rows (levels) in the page */
  size_t n_vals; /* non-null values in the page */
  txf_buf vals;  /* plain mode: raw fixed values / bools / PLAIN strings */
  uint32_t *idx; /* dictionary mode: one index per non-null value */
  size_t idx_cap;
  size_t page_bytes;
  int p_has;
  sval p_min, p_max;
  size_t p_smin_off, p_smin_len, p_smax_off, p_smax_len; /* plain strings */
  uint32_t p_dmin, p_dmax;                               /* dict strings */

  /* dictionary (per column chunk) */
  int allow_dict;
  int plain_hint; /* the last chunk found the column high-cardinality */
  int repeating;  /* named in the options' `repeating` */
  int dict_mode;
  txf_buf dict; /* PLAIN encoding of the entries */
  uint32_t n_dict;
  uint32_t d_cap;
  uint32_t *d_off; /* strings: offset of the bytes (after the prefix) */
  uint32_t *d_len;
  uint32_t *d_stamp; /* page number that last compared this entry */
  /* open addressing, one word a slot (one cache line to probe):
   * hash << 32 | (entry + 1); 0 = empty */
  uint64_t *slots;
  size_t slot_mask;
  uint32_t last_e; /* the entry found last (UINT32_MAX: none): runs of
                      equal values skip the hash */
  uint32_t page_no;

  /* current column chunk */
  txf_buf chunk; /* finished data pages (header + body) */
  int64_t c_uncomp, c_comp;
  int64_t c_values, c_nulls;
  int n_pages, dict_pages, plain_pages;
  int c_has;
  int c_str_too_long;
  sval c_min, c_max;
  txf_buf c_smin, c_smax;

  /* encoding on a pool (under the writer's mu) */
  struct txf_pq_writer *w;
  uint64_t next_slab; /* the next slab this column encodes */
  int busy;           /* a task runs (or is queued) for this column */
} wcol;

/* Rows handed from the caller to the columns: for column C and row I,
 * val[C * VAL_STRIDE + I] holds the value's bits (strings: offset << 32 |
 * length into BYTES) and nul[...] whether it is null. */
typedef struct slab {
  uint64_t *val;
  uint8_t *nul;
  txf_buf bytes;
  size_t n;
  int ends_rg;      /* the row group ends with this slab's last row */
  uint64_t rg;      /* its row group (sequence number) */
  size_t remaining; /* columns that have not encoded it yet */
} slab;

/* A column chunk, finished and waiting to be written. */
typedef struct fchunk {
  txf_buf dict_page; /* dictionary page header + compressed entries */
  txf_buf data;      /* data pages */
  int has_dict;
  int64_t dict_uncomp, dict_comp;
  int64_t uncomp, comp, values, nulls;
  int plain_pages;
  int has_stats;
  sval mn, mx;
  txf_buf smin, smax;
} fchunk;

typedef struct rgrec {
  fchunk *ch;  /* one per column */
  size_t done; /* columns finished (of those the writer encodes) */
  int64_t rows;
  int closed;    /* every row is in a handed-over slab */
  int shared_in; /* a follower: the lead's chunks are in ch[0..n_shared) */
} rgrec;

struct txf_pq_writer {
  txf_afile af;
  int open;
  wcol *cols;
  size_t n_cols;
  txf_pq_writer_opts o;
  char **kv; /* owned copy, NULL-terminated pairs */
  size_t n_kv;
  int pq_codec;
  uint64_t pos; /* bytes written to the file */
  size_t rg_bytes;
  int64_t rg_rows;
  int64_t total_rows;
  int64_t rows_added;
  txf_buf rgs; /* encoded RowGroup structs */
  uint32_t n_rgs;
  pq_ctx ctx; /* for encoding on the caller's thread */
  int failed;

  /* slabs and row groups: the caller fills slab PUB % SLAB_RING, hands it
   * over (PUB++), and writes row group WRITTEN once every column has
   * finished it. Shared with the pool's threads under MU. */
  txf_pq_pool *pool;
  slab slabs[SLAB_RING];
  slab *cur;        /* being filled; NULL: none yet */
  uint64_t pub;     /* slabs handed over */
  rgrec rg[RG_RING];
  uint64_t rg_open; /* the row group being filled */
  uint64_t written; /* row groups written */
  pthread_mutex_t mu;
  pthread_cond_t cv;

  /* txf_pq_writer_follow: a follower's first N_SHARED columns are the
   * chunks its LEAD finished, moved over as the lead writes them; its
   * row groups end where the lead's do (BOUNDS: the lead's row counts,
   * one per row group it closed). It encodes columns C0.. only. */
  struct txf_pq_writer *lead, *follower;
  size_t n_shared, c0;
  int64_t *bounds;
  size_t n_bounds, bounds_cap;

  struct wbehind *wb; /* with a pool: the file's bytes go out on it */
};

/* ------------------------------------------------------------- helpers */

static uint32_t hash_bytes(const void *p, size_t n) {
  /* 64-bit multiply-xorshift over 8-byte words: fast on short ids. The
   * tail is read as whole words that overlap what came before (or as two
   * overlapping halves), never a byte loop. Only the dictionary's slots
   * depend on it, not the bytes written. */
  const uint8_t *s = p;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  uint64_t w;
  if (n >= 8) {
    size_t len = n;
    while (n > 8) {
      memcpy(&w, s, 8);
      h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
      h ^= h >> 31;
      s += 8;
      n -= 8;
    }
    memcpy(&w, (const uint8_t *)p + len - 8, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + n - 4, 4);
    w = (uint64_t)a << 32 | b;
  } else {
    w = n ? (uint64_t)s[0] << 16 | (uint64_t)s[n / 2] << 8 | s[n - 1] : 0;
  }
  h = (h ^ w) * 0x94d049bb133111ebull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return (uint32_t)(h >> 32);
}

static uint32_t hash_u64(uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdull;
  v ^= v >> 33;
  v *= 0xc4ceb9fe1a85ec53ull;
  return (uint32_t)(v >> 32);
}

/* Equality of the first and the last W bytes (W <= N <= 2W): two word
 * loads each once inlined with a constant W, overlapping inside both. */
static inline int ends_eq(const char *a, const char *b, size_t n, size_t w) {
  return memcmp(a, b, w) == 0 && memcmp(a + n - w, b + n - w, w) == 0;
}

/* Equality of N bytes, inlined for the short ids that dominate silver. */
static inline int bytes_eq(const char *a, const char *b, size_t n) {
  if (n >= 8 && n <= 16)
    return ends_eq(a, b, n, 8);
  if (n >= 4 && n < 8)
    return ends_eq(a, b, n, 4);
  return memcmp(a, b, n) == 0;
}

/* memcpy, inlined for short strings. */
static inline void bytes_copy(char *d, const char *s, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t x, u;
    memcpy(&x, s, 8);
    memcpy(&u, s + n - 8, 8);
    memcpy(d, &x, 8);
    memcpy(d + n - 8, &u, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t x, u;
    memcpy(&x, s, 4);
    memcpy(&u, s + n - 4, 4);
    memcpy(d, &x, 4);
    memcpy(d + n - 4, &u, 4);
  } else {
    memcpy(d, s, n);
  }
}

static int is_float(const wcol *c) { return c->c.type == TXF_PQ_DOUBLE; }

static int sval_lt(const wcol *c, sval a, sval b) {
  return is_float(c) ? a.d < b.d : a.i < b.i;
}

static void put_u32le(uint8_t *o, uint32_t v) {
  o[0] = (uint8_t)v;
  o[1] = (uint8_t)(v >> 8);
  o[2] = (uint8_t)(v >> 16);
  o[3] = (uint8_t)(v >> 24);
}

/* ------------------------------------------------------------- dictionary */

static void dict_reset(wcol *c) {
  txf_buf_reset(&c->dict);
  c->n_dict = 0;
  if (c->slots)
    memset(c->slots, 0, (c->slot_mask + 1) * sizeof *c->slots);
  c->last_e = UINT32_MAX;
}

static void dict_grow_slots(wcol *c) {
  size_t n = (c->slot_mask + 1) * 2;
  uint64_t *s = txf_xcalloc(n, sizeof *s);
  for (size_t i = 0; i <= c->slot_mask; i++) {
    uint64_t v = c->slots[i];
    if (!v)
      continue;
    size_t j = (size_t)(v >> 32) & (n - 1);
    while (s[j])
      j = (j + 1) & (n - 1);
    s[j] = v;
  }
  free(c->slots);
  c->slots = s;
  c->slot_mask = n - 1;
}

static void dict_entry_room(wcol *c) {
  if (c->n_dict < c->d_cap)
    return;
  c->d_cap = c->d_cap ? c->d_cap * 2 : 1024;
  c->d_stamp = txf_xrealloc(c->d_stamp, c->d_cap * sizeof *c->d_stamp);
  if (!c->width) {
    c->d_off = txf_xrealloc(c->d_off, c->d_cap * sizeof *c->d_off);
    c->d_len = txf_xrealloc(c->d_len, c->d_cap * sizeof *c->d_len);
  }
}

/* Index of the string S[0..n) (of hash H, hash_bytes) in the dictionary,
 * adding it if new. */
static uint32_t dict_str(wcol *c, const char *s, uint32_t n, uint32_t h) {
  uint32_t le = c->last_e;
  if (le != UINT32_MAX && c->d_len[le] == n &&
      bytes_eq(c->dict.data + c->d_off[le], s, n))
    return le;
  if ((c->n_dict + 1) * 2 > c->slot_mask + 1)
    dict_grow_slots(c);
  size_t j = h & c->slot_mask;
  for (;;) {
    uint64_t v = c->slots[j];
    if (!v)
      break;
    uint32_t e = (uint32_t)v - 1;
    if ((uint32_t)(v >> 32) == h && c->d_len[e] == n &&
        bytes_eq(c->dict.data + c->d_off[e], s, n)) {
      c->last_e = e;
      return e;
    }
    j = (j + 1) & c->slot_mask;
  }
  dict_entry_room(c);
  uint32_t e = c->n_dict++;
  uint8_t pre[4];
  put_u32le(pre, n);
  if (c->dict.len + 4 + (size_t)n + 1 > c->dict.cap)
    (void)txf_buf_grow(&c->dict, 4 + (size_t)n);
  memcpy(c->dict.data + c->dict.len, pre, 4);
  c->d_off[e] = (uint32_t)(c->dict.len + 4);
  c->d_len[e] = n;
  bytes_copy(c->dict.data + c->dict.len + 4, s, n);
  c->dict.len += 4 + (size_t)n;
  c->dict.data[c->dict.len] = 0;
  c->d_stamp[e] = UINT32_MAX;
  c->slots[j] = (uint64_t)h << 32 | (e + 1);
  c->last_e = e;
  return e;
}

/* The raw bits of a 4- or 8-byte value (constant-size copies, so the
 * compiler inlines them). */
static inline uint64_t load_bits(const void *p, int width) {
  if (width == 4) {
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
  }
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}

/* The same for a fixed-width value V (of hash H, hash_u64 of its bits). */
static uint32_t dict_fixed(wcol *c, const void *v, uint32_t h) {
  if ((c->n_dict + 1) * 2 > c->slot_mask + 1)
    dict_grow_slots(c);
  uint64_t bits = load_bits(v, c->width);
  uint32_t le = c->last_e;
  if (le != UINT32_MAX &&
      load_bits(c->dict.data + (size_t)le * c->width, c->width) == bits)
    return le;
  size_t j = h & c->slot_mask;
  for (;;) {
    uint64_t sv = c->slots[j];
    if (!sv)
      break;
    uint32_t e = (uint32_t)sv - 1;
    if ((uint32_t)(sv >> 32) == h &&
        load_bits(c->dict.data + (size_t)e * c->width, c->width) == bits) {
      c->last_e = e;
      return e;
    }
    j = (j + 1) & c->slot_mask;
  }
  dict_entry_room(c);
  uint32_t e = c->n_dict++;
  (void)txf_buf_append(&c->dict, v, (size_t)c->width);
  c->slots[j] = (uint64_t)h << 32 | (e + 1);
  c->last_e = e;
  return e;
}

/* ------------------------------------------------------------- statistics */

/* The statistic bytes of a fixed value (PLAIN encoding of the type). */
static size_t stat_bytes(const wcol *c, sval v, uint8_t out[8]) {
  switch (c->ptype) {
  case PQT_BOOLEAN:
    out[0] = (uint8_t)(v.i != 0);
    return 1;
  case PQT_INT32: {
    int32_t x = (int32_t)v.i;
    memcpy(out, &x, 4);
    return 4;
  }
  case PQT_DOUBLE:
    memcpy(out, &v.d, 8);
    return 8;
  default:
    memcpy(out, &v.i, 8);
    return 8;
  }
}

static void write_stats(tw *t, int16_t id, const wcol *c, int64_t nulls,
                        int has, sval mn, sval mx, const void *smin,
                        size_t smin_len, const void *smax, size_t smax_len) {
  txf_pq_tw_struct_field(t, id);
  txf_pq_tw_i64(t, 3, nulls);
  if (has) {
    if (c->width) {
      uint8_t a[8], b[8];
      /* Spec: a zero min is written as -0.0 and a zero max as +0.0. */
      if (is_float(c) && mn.d == 0)
        mn.d = -0.0;
      if (is_float(c) && mx.d == 0)
        mx.d = 0.0;
      size_t n = stat_bytes(c, mx, a);
      txf_pq_tw_binary(t, 5, a, n);
      n = stat_bytes(c, mn, b);
      txf_pq_tw_binary(t, 6, b, n);
    } else {
      txf_pq_tw_binary(t, 5, smax, smax_len);
      txf_pq_tw_binary(t, 6, smin, smin_len);
    }
  }
  txf_pq_tw_struct_end(t);
}

/* ------------------------------------------------------------- pages */

static void page_reset(wcol *c) {
  c->n_rows = c->n_vals = 0;
  c->page_bytes = 0;
  c->p_has = 0;
  txf_buf_reset(&c->vals);
  c->page_no++;
}

static void pack_bools(txf_buf *out, const uint8_t *v, size_t n) {
  size_t nb = (n + 7) / 8;
  (void)txf_buf_grow(out, nb);
  uint8_t *o = (uint8_t *)out->data + out->len;
  memset(o, 0, nb);
  for (size_t i = 0; i < n; i++)
    o[i >> 3] |= (uint8_t)((v[i] & 1) << (i & 7));
  out->len += nb;
  out->data[out->len] = 0;
}

/* Rewrite the current dictionary-mode page as PLAIN values and leave
 * dictionary mode for the rest of the chunk (no page used it yet). */
static void page_to_plain(wcol *c) {
  txf_buf_reset(&c->vals);
  if (c->width) {
    (void)txf_buf_grow(&c->vals, c->n_vals * (size_t)c->width);
    for (size_t i = 0; i < c->n_vals; i++)
      (void)txf_buf_append(&c->vals,
                           c->dict.data + (size_t)c->idx[i] * c->width,
                           (size_t)c->width);
  } else {
    for (size_t i = 0; i < c->n_vals; i++) {
      uint32_t e = c->idx[i];
      uint8_t pre[4];
      put_u32le(pre, c->d_len[e]);
      (void)txf_buf_append(&c->vals, pre, 4);
      (void)txf_buf_append(&c->vals, c->dict.data + c->d_off[e], c->d_len[e]);
    }
    /* Recompute offsets of the page min/max strings in VALS. */
    size_t pos = 0;
    int got_min = 0, got_max = 0;
    for (size_t i = 0; i < c->n_vals && (!got_min || !got_max); i++) {
      uint32_t e = c->idx[i];
      pos += 4;
      if (!got_min && e == c->p_dmin) {
        c->p_smin_off = pos;
        c->p_smin_len = c->d_len[e];
        got_min = 1;
      }
      if (!got_max && e == c->p_dmax) {
        c->p_smax_off = pos;
        c->p_smax_len = c->d_len[e];
        got_max = 1;
      }
      pos += c->d_len[e];
    }
  }
  c->dict_mode = 0;
  c->plain_hint = 1;
  dict_reset(c);
}

static void flush_page(txf_pq_writer *w, wcol *c, pq_ctx *x) {
  if (c->n_rows == 0)
    return;
  /* High cardinality on the chunk's first page: a dictionary would only
   * add bytes (ids, timestamps). */
  if (c->dict_mode && !c->repeating && c->n_pages == 0 && c->n_vals >= 64 &&
      (uint64_t)c->n_dict * 10 > (uint64_t)c->n_vals * 6)
    page_to_plain(c);

  int v2 = w->o.data_page_v2;
  txf_buf *s = &x->scratch;
  txf_buf_reset(s);
  txf_buf_reset(&x->levels);
  /* A PLAIN page without levels in front is exactly VALS: no copy. */
  if ((!c->c.optional || v2) && !c->dict_mode && c->ptype != PQT_BOOLEAN)
    s = &c->vals;
  if (c->c.optional && v2) {
    /* v2: the levels stand apart, uncompressed, without a length. */
    txf_pq_rle_encode_u8(&x->levels, c->defs, c->n_rows, 1);
  } else if (c->c.optional) {
    (void)txf_buf_append(s, "\0\0\0\0", 4);
    size_t at = s->len;
    txf_pq_rle_encode_u8(s, c->defs, c->n_rows, 1);
    put_u32le((uint8_t *)s->data + at - 4, (uint32_t)(s->len - at));
  }
  int encoding;
  if (c->dict_mode) {
    encoding = PQE_RLE_DICTIONARY;
    int bw = pq_bit_width(c->n_dict ? c->n_dict - 1 : 0);
    if (bw == 0)
      bw = 1;
    uint8_t b = (uint8_t)bw;
    (void)txf_buf_append(s, &b, 1);
    txf_pq_rle_encode(s, c->idx, c->n_vals, bw);
    c->dict_pages++;
  } else {
    encoding = PQE_PLAIN;
    if (c->ptype == PQT_BOOLEAN)
      pack_bools(s, (const uint8_t *)c->vals.data, c->n_vals);
    else if (s != &c->vals)
      (void)txf_buf_append(s, c->vals.data, c->vals.len);
    c->plain_pages++;
  }
  x->codec.zstd_level = w->o.zstd_level;
  txf_pq_compress(&x->codec, w->pq_codec, s->data, s->len, &x->cbuf);

  /* Page statistics (and fold them into the chunk's). */
  const void *smin = NULL, *smax = NULL;
  size_t smin_len = 0, smax_len = 0;
  if (c->p_has && !c->width) {
    if (c->dict_mode) {
      smin = c->dict.data + c->d_off[c->p_dmin];
      smin_len = c->d_len[c->p_dmin];
      smax = c->dict.data + c->d_off[c->p_dmax];
      smax_len = c->d_len[c->p_dmax];
    } else {
      smin = c->vals.data + c->p_smin_off;
      smin_len = c->p_smin_len;
      smax = c->vals.data + c->p_smax_off;
      smax_len = c->p_smax_len;
    }
  }
  int page_stats = c->p_has && (c->width || (smin_len <= STAT_MAX_STR &&
                                              smax_len <= STAT_MAX_STR));
  if (c->p_has) {
    if (c->width) {
      if (!c->c_has || sval_lt(c, c->p_min, c->c_min))
        c->c_min = c->p_min;
      if (!c->c_has || sval_lt(c, c->c_max, c->p_max))
        c->c_max = c->p_max;
    } else {
      if (smin_len > STAT_MAX_STR || smax_len > STAT_MAX_STR)
        c->c_str_too_long = 1;
      if (!c->c_has ||
          txf_bytes_cmp(smin, smin_len, c->c_smin.data, c->c_smin.len) < 0) {
        txf_buf_reset(&c->c_smin);
        (void)txf_buf_append(&c->c_smin, smin, smin_len);
      }
      if (!c->c_has ||
          txf_bytes_cmp(smax, smax_len, c->c_smax.data, c->c_smax.len) > 0) {
        txf_buf_reset(&c->c_smax);
        (void)txf_buf_append(&c->c_smax, smax, smax_len);
      }
    }
    c->c_has = 1;
  }
  int64_t nulls = (int64_t)(c->n_rows - c->n_vals);
  c->c_nulls += nulls;
  c->c_values += (int64_t)c->n_rows;

  tw t;
  size_t lv = x->levels.len;
  txf_buf_reset(&x->hdr);
  txf_pq_tw_init(&t, &x->hdr);
  txf_pq_tw_struct_begin(&t);
  txf_pq_tw_i32(&t, 1, v2 ? PQP_DATA_PAGE_V2 : PQP_DATA_PAGE);
  txf_pq_tw_i32(&t, 2, (int32_t)(lv + s->len));
  txf_pq_tw_i32(&t, 3, (int32_t)(lv + x->cbuf.len));
  /* The page's bytes as written, levels and values: a reader (ours,
   * DuckDB, Arrow) that checks it finds a flipped bit before decoding. */
  txf_pq_tw_i32(&t, 4,
                (int32_t)txf_pq_crc32(txf_pq_crc32(0, x->levels.data, lv),
                                      x->cbuf.data, x->cbuf.len));
  if (v2) {
    txf_pq_tw_struct_field(&t, 8);
    txf_pq_tw_i32(&t, 1, (int32_t)c->n_rows);
    txf_pq_tw_i32(&t, 2, (int32_t)nulls);
    txf_pq_tw_i32(&t, 3, (int32_t)c->n_rows); /* flat: one value a row */
    txf_pq_tw_i32(&t, 4, encoding);
    txf_pq_tw_i32(&t, 5, (int32_t)lv);
    txf_pq_tw_i32(&t, 6, 0);
    txf_pq_tw_bool(&t, 7, w->pq_codec != PQZ_UNCOMPRESSED);
    write_stats(&t, 8, c, nulls, page_stats, c->p_min, c->p_max, smin,
                smin_len, smax, smax_len);
  } else {
    txf_pq_tw_struct_field(&t, 5);
    txf_pq_tw_i32(&t, 1, (int32_t)c->n_rows);
    txf_pq_tw_i32(&t, 2, encoding);
    txf_pq_tw_i32(&t, 3, PQE_RLE);
    txf_pq_tw_i32(&t, 4, PQE_RLE);
    /* null_count always; min/max unless a string bound is too long. */
    write_stats(&t, 5, c, nulls, page_stats, c->p_min, c->p_max, smin,
                smin_len, smax, smax_len);
  }
  txf_pq_tw_struct_end(&t);
  txf_pq_tw_struct_end(&t);
  (void)txf_buf_append(&c->chunk, x->hdr.data, x->hdr.len);
  (void)txf_buf_append(&c->chunk, x->levels.data, lv);
  (void)txf_buf_append(&c->chunk, x->cbuf.data, x->cbuf.len);
  c->c_uncomp += (int64_t)(x->hdr.len + lv + s->len);
  c->c_comp += (int64_t)(x->hdr.len + lv + x->cbuf.len);
  c->n_pages++;
  page_reset(c);
  /* An oversized dictionary: the pages so far keep it, the rest is
   * PLAIN. */
  if (c->dict_mode &&
      c->dict.len > (c->repeating ? DICT_REPEAT_MAX_BYTES : DICT_MAX_BYTES))
    c->dict_mode = 0;
}

/* ------------------------------------------------------------- file io */

/* Write-behind: with a pool, the bytes of the file are gathered into
 * buffers of WB_BUF and written (and fed to the checksum) in order by a
 * thread of the writer's own, so the thread that adds rows, which bounds
 * a partition's rewrite, does not wait for write() (copying into the
 * page cache, whose fresh pages cost most on a quiet VM) nor hash. At
 * most WB_RING buffers wait; the thread sleeps on a condition variable
 * when there is none. The bytes are the same. */
#define WB_BUF ((size_t)1 << 20)
#define WB_RING 4
/* The thread also starts the disk on what it wrote, every WB_START
 * bytes (sync_file_range, no wait for the disk): the commit's flush then
 * finds little left to start, and the writer's caller does not wait in
 * it (30 ms for a 270 MB partition, decision 1701). */
#define WB_START ((uint64_t)8 << 20)

typedef struct wbehind {
  pthread_t tid;
  pthread_mutex_t mu;
  pthread_cond_t work, room;
  txf_buf buf[WB_RING]; /* queued: [head, tail) modulo WB_RING */
  uint64_t head, tail;
  int stop;
  int rc; /* the first write error (then nothing more is written) */
  int err_no;
  txf_buf cur; /* being filled by the caller */
  FILE *fp;
  txf_sha256 *sha;
  uint64_t off, started; /* bytes written; those whose writeback began */
} wbehind;

static void *wb_main(void *arg) {
  wbehind *b = arg;
  pthread_setname_np(pthread_self(), "txf-write");
  pthread_mutex_lock(&b->mu);
  for (;;) {
    while (b->head == b->tail && !b->stop)
      pthread_cond_wait(&b->work, &b->mu);
    if (b->head == b->tail)
      break;
    txf_buf *x = &b->buf[b->head % WB_RING];
    int failed = b->rc;
    pthread_mutex_unlock(&b->mu);
    int e = 0;
    if (!failed && fwrite(x->data, 1, x->len, b->fp) != x->len)
      e = errno ? errno : EIO;
    if (!failed && !e && b->sha)
      txf_sha256_update(b->sha, x->data, x->len);
    b->off += x->len;
    if (!failed && !e && b->off - b->started >= WB_START) {
      if (fflush(b->fp) != 0)
        e = errno ? errno : EIO;
      else
        (void)sync_file_range(fileno(b->fp), (off_t)b->started,
                              (off_t)(b->off - b->started),
                              SYNC_FILE_RANGE_WRITE);
      b->started = b->off;
    }
    x->len = 0;
    pthread_mutex_lock(&b->mu);
    if (e && !b->rc) {
      b->rc = TXF_EIO;
      b->err_no = e;
    }
    b->head++;
    pthread_cond_signal(&b->room);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/* Start W's write-behind thread; without one W writes on the caller's. */
static void wb_start(txf_pq_writer *w) {
  wbehind *b = txf_xcalloc(1, sizeof *b);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->work, NULL);
  pthread_cond_init(&b->room, NULL);
  for (int i = 0; i < WB_RING; i++)
    txf_buf_init(&b->buf[i], 0);
  txf_buf_init(&b->cur, 0);
  b->fp = w->af.fp;
  b->sha = w->o.sha256;
  if (pthread_create(&b->tid, NULL, wb_main, b) != 0) {
    pthread_cond_destroy(&b->room);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->mu);
    free(b);
    return;
  }
  w->wb = b;
}

int txf_pq_writer_writes_behind(const txf_pq_writer *w) {
  return w->wb != NULL;
}

static int wb_error(txf_pq_writer *w, int e, txf_err *err) {
  errno = e;
  return txf_err_errno(err, TXF_EIO, "write %s", w->af.path);
}

/* Queue the caller's buffer (waiting for room). */
static int wb_submit(txf_pq_writer *w, txf_err *err) {
  wbehind *b = w->wb;
  pthread_mutex_lock(&b->mu);
  while (b->tail - b->head == WB_RING)
    pthread_cond_wait(&b->room, &b->mu);
  int rc = b->rc, e = b->err_no;
  if (!rc && b->cur.len) {
    txf_buf t = b->buf[b->tail % WB_RING]; /* written: empty, kept */
    b->buf[b->tail % WB_RING] = b->cur;
    b->cur = t;
    b->tail++;
    pthread_cond_signal(&b->work);
  }
  pthread_mutex_unlock(&b->mu);
  return rc ? wb_error(w, e, err) : 0;
}

/* Write what is queued, stop the thread and free it. Returns its first
 * write error (none when DISCARD: the file is being dropped). */
static int wb_finish(txf_pq_writer *w, int discard, txf_err *err) {
  wbehind *b = w->wb;
  if (!b)
    return 0;
  int rc = discard ? 0 : wb_submit(w, err);
  pthread_mutex_lock(&b->mu);
  b->stop = 1;
  pthread_cond_signal(&b->work);
  pthread_mutex_unlock(&b->mu);
  pthread_join(b->tid, NULL);
  if (!rc && !discard && b->rc)
    rc = wb_error(w, b->err_no, err);
  for (int i = 0; i < WB_RING; i++)
    txf_buf_release(&b->buf[i]);
  txf_buf_release(&b->cur);
  pthread_cond_destroy(&b->room);
  pthread_cond_destroy(&b->work);
  pthread_mutex_destroy(&b->mu);
  free(b);
  w->wb = NULL;
  return rc;
}

static int out(txf_pq_writer *w, const void *p, size_t n, txf_err *err) {
  if (w->wb) { /* in buffers of WB_BUF at most: 5 MiB a writer */
    const char *q = p;
    w->pos += n;
    while (n) {
      size_t k = WB_BUF - w->wb->cur.len;
      k = k < n ? k : n;
      (void)txf_buf_append(&w->wb->cur, q, k);
      q += k;
      n -= k;
      if (w->wb->cur.len == WB_BUF) {
        int rc = wb_submit(w, err);
        if (rc)
          return rc;
      }
    }
    return 0;
  }
  if (n && fwrite(p, 1, n, w->af.fp) != n)
    return txf_err_errno(err, TXF_EIO, "write %s", w->af.path);
  if (w->o.sha256 && n)
    txf_sha256_update(w->o.sha256, p, n);
  w->pos += n;
  return 0;
}

static void chunk_reset(wcol *c) {
  txf_buf_reset(&c->chunk);
  c->c_uncomp = c->c_comp = c->c_values = c->c_nulls = 0;
  c->n_pages = c->dict_pages = c->plain_pages = 0;
  c->c_has = c->c_str_too_long = 0;
  /* A column that was high-cardinality in the last chunk (ids,
   * timestamps) skips the dictionary trial in this one and tries again in
   * the next; the decision depends only on the data, so the bytes stay
   * deterministic. */
  c->dict_mode = c->allow_dict && !c->plain_hint;
  c->plain_hint = 0;
  dict_reset(c);
}

static void encode_schema_leaf(tw *t, const wcol *c) {
  txf_pq_tw_struct_begin(t);
  txf_pq_tw_i32(t, 1, c->ptype);
  txf_pq_tw_i32(t, 3, c->c.optional ? PQ_OPTIONAL : PQ_REQUIRED);
  txf_pq_tw_string(t, 4, c->c.name);
  /* Both annotations: the converted type for older readers, and the
   * logical type (a union: the struct of one member). */
  int converted, logical;
  switch (c->c.type) {
  case TXF_PQ_STRING:
    converted = PQC_UTF8;
    logical = PQL_STRING;
    break;
  case TXF_PQ_DATE:
    converted = PQC_DATE;
    logical = PQL_DATE;
    break;
  case TXF_PQ_TIMESTAMP_US:
    converted = PQC_TIMESTAMP_MICROS;
    logical = PQL_TIMESTAMP;
    break;
  case TXF_PQ_DECIMAL:
    converted = PQC_DECIMAL;
    logical = PQL_DECIMAL;
    break;
  default:
    txf_pq_tw_struct_end(t);
    return;
  }
  txf_pq_tw_i32(t, 6, converted);
  if (c->c.type == TXF_PQ_DECIMAL) {
    txf_pq_tw_i32(t, 7, c->c.scale);
    txf_pq_tw_i32(t, 8, c->c.precision);
  }
  txf_pq_tw_struct_field(t, 10);
  txf_pq_tw_struct_field(t, logical);
  if (c->c.type == TXF_PQ_TIMESTAMP_US) {
    txf_pq_tw_bool(t, 1, 1); /* isAdjustedToUTC */
    txf_pq_tw_struct_field(t, 2);
    txf_pq_tw_struct_field(t, PQU_MICROS);
    txf_pq_tw_struct_end(t);
    txf_pq_tw_struct_end(t);
  }
  if (c->c.type == TXF_PQ_DECIMAL) {
    txf_pq_tw_i32(t, 1, c->c.scale);
    txf_pq_tw_i32(t, 2, c->c.precision);
  }
  txf_pq_tw_struct_end(t);
  txf_pq_tw_struct_end(t);
  txf_pq_tw_struct_end(t);
}

/* Close column C's chunk (the end of a row group): its last page, its
 * dictionary page, and everything the footer needs, moved into F; C starts
 * the next chunk. */
static void finish_chunk(txf_pq_writer *w, wcol *c, fchunk *f, pq_ctx *x) {
  flush_page(w, c, x);
  f->has_dict = c->dict_pages > 0;
  txf_buf_reset(&f->dict_page);
  f->dict_uncomp = f->dict_comp = 0;
  if (f->has_dict) {
    x->codec.zstd_level = w->o.zstd_level;
    txf_pq_compress(&x->codec, w->pq_codec, c->dict.data, c->dict.len,
                    &x->cbuf);
    tw ht;
    txf_buf_reset(&x->hdr);
    txf_pq_tw_init(&ht, &x->hdr);
    txf_pq_tw_struct_begin(&ht);
    txf_pq_tw_i32(&ht, 1, PQP_DICTIONARY_PAGE);
    txf_pq_tw_i32(&ht, 2, (int32_t)c->dict.len);
    txf_pq_tw_i32(&ht, 3, (int32_t)x->cbuf.len);
    txf_pq_tw_i32(&ht, 4, (int32_t)txf_pq_crc32(0, x->cbuf.data, x->cbuf.len));
    txf_pq_tw_struct_field(&ht, 7);
    txf_pq_tw_i32(&ht, 1, (int32_t)c->n_dict);
    txf_pq_tw_i32(&ht, 2, PQE_PLAIN);
    txf_pq_tw_struct_end(&ht);
    txf_pq_tw_struct_end(&ht);
    (void)txf_buf_append(&f->dict_page, x->hdr.data, x->hdr.len);
    (void)txf_buf_append(&f->dict_page, x->cbuf.data, x->cbuf.len);
    f->dict_uncomp = (int64_t)(x->hdr.len + c->dict.len);
    f->dict_comp = (int64_t)(x->hdr.len + x->cbuf.len);
  }
  txf_buf t = f->data; /* empty: hand the chunk over, keep going */
  f->data = c->chunk;
  c->chunk = t;
  f->uncomp = c->c_uncomp;
  f->comp = c->c_comp;
  f->values = c->c_values;
  f->nulls = c->c_nulls;
  f->plain_pages = c->plain_pages;
  f->has_stats = c->c_has && (c->width || !c->c_str_too_long);
  f->mn = c->c_min;
  f->mx = c->c_max;
  t = f->smin;
  f->smin = c->c_smin;
  c->c_smin = t;
  t = f->smax;
  f->smax = c->c_smax;
  c->c_smax = t;
  chunk_reset(c);
}

/* Write row group R (every chunk finished) and its footer entry. */
static int write_row_group(txf_pq_writer *w, rgrec *r, txf_err *err) {
  txf_pq_writer *fw = w->follower;
  rgrec *fr = NULL;
  if (fw) {
    uint64_t k = w->n_rgs;
    if (fw->rg_open < k || k < fw->written || k >= fw->written + RG_RING)
      return txf_err_set(err, TXF_EUSAGE,
                         "%s: its follower %s is not at row group %" PRIu64,
                         w->af.path, fw->af.path, k);
    fr = &fw->rg[k % RG_RING];
  }
  tw t;
  txf_pq_tw_init(&t, &w->rgs);
  txf_pq_tw_struct_begin(&t);
  txf_pq_tw_list_begin(&t, 1, TC_STRUCT, w->n_cols);
  uint64_t rg_start = w->pos;
  int64_t rg_uncomp = 0, rg_comp = 0;
  for (size_t i = 0; i < w->n_cols; i++) {
    wcol *c = &w->cols[i];
    fchunk *f = &r->ch[i];
    uint64_t chunk_start = w->pos;
    uint64_t dict_off = 0;
    int64_t uncomp = f->uncomp + f->dict_uncomp,
            comp = f->comp + f->dict_comp;
    if (f->has_dict) {
      dict_off = w->pos;
      if (out(w, f->dict_page.data, f->dict_page.len, err))
        return err->code;
    }
    uint64_t data_off = w->pos;
    if (out(w, f->data.data, f->data.len, err))
      return err->code;
    rg_uncomp += uncomp;
    rg_comp += comp;

    txf_pq_tw_struct_begin(&t); /* ColumnChunk */
    txf_pq_tw_i64(&t, 2, (int64_t)chunk_start);
    txf_pq_tw_struct_field(&t, 3); /* ColumnMetaData */
    txf_pq_tw_i32(&t, 1, c->ptype);
    int encs[3], ne = 0;
    if (f->plain_pages || f->has_dict)
      encs[ne++] = PQE_PLAIN;
    encs[ne++] = PQE_RLE;
    if (f->has_dict)
      encs[ne++] = PQE_RLE_DICTIONARY;
    txf_pq_tw_list_begin(&t, 2, TC_I32, (size_t)ne);
    for (int k = 0; k < ne; k++)
      txf_pq_tw_zigzag(&t, encs[k]);
    txf_pq_tw_list_begin(&t, 3, TC_BINARY, 1);
    txf_pq_tw_varint(&t, strlen(c->c.name));
    (void)txf_buf_puts(t.b, c->c.name);
    txf_pq_tw_i32(&t, 4, w->pq_codec);
    txf_pq_tw_i64(&t, 5, f->values);
    txf_pq_tw_i64(&t, 6, uncomp);
    txf_pq_tw_i64(&t, 7, comp);
    txf_pq_tw_i64(&t, 9, (int64_t)data_off);
    if (f->has_dict)
      txf_pq_tw_i64(&t, 11, (int64_t)dict_off);
    write_stats(&t, 12, c, f->nulls, f->has_stats, f->mn, f->mx,
                f->smin.data, f->smin.len, f->smax.data, f->smax.len);
    txf_pq_tw_struct_end(&t); /* ColumnMetaData */
    txf_pq_tw_struct_end(&t); /* ColumnChunk */
    if (fr && i < fw->n_shared) {
      /* The follower writes these bytes too; it gives back the buffers
       * of the chunk it wrote last. */
      fchunk tmp = fr->ch[i];
      fr->ch[i] = *f;
      *f = tmp;
    }
    /* Kept for the column's next chunk: no new pages to fault in. */
    txf_buf_reset(&f->data);
    txf_buf_reset(&f->dict_page);
  }
  if (fr)
    fr->shared_in = 1;
  txf_pq_tw_i64(&t, 2, rg_uncomp);
  txf_pq_tw_i64(&t, 3, r->rows);
  txf_pq_tw_i64(&t, 5, (int64_t)rg_start);
  txf_pq_tw_i64(&t, 6, rg_comp);
  txf_pq_tw_field(&t, 7, TC_I16);
  txf_pq_tw_zigzag(&t, (int16_t)w->n_rgs);
  txf_pq_tw_struct_end(&t);
  w->n_rgs++;
  w->total_rows += r->rows;
  return 0;
}

/* ------------------------------------------------------------- public */

static void col_free(wcol *c) {
  free((char *)c->c.name);
  free(c->defs);
  txf_buf_release(&c->vals);
  free(c->idx);
  txf_buf_release(&c->dict);
  TXF_FREE_ALL(c->d_off, c->d_len, c->d_stamp, c->slots);
  txf_buf_release(&c->chunk);
  txf_buf_release(&c->c_smin);
  txf_buf_release(&c->c_smax);
}

static void idle_wait(txf_pq_writer *w);

void txf_pq_writer_free(txf_pq_writer *w) {
  if (!w)
    return;
  idle_wait(w); /* no task may still use it */
  (void)wb_finish(w, 1, NULL);
  if (w->lead)
    w->lead->follower = NULL;
  if (w->follower)
    w->follower->lead = NULL;
  free(w->bounds);
  if (w->open)
    txf_afile_abort(&w->af);
  for (size_t i = 0; i < w->n_cols; i++)
    col_free(&w->cols[i]);
  free(w->cols);
  for (size_t i = 0; i < w->n_kv * 2; i++)
    free(w->kv[i]);
  free(w->kv);
  txf_buf_release(&w->rgs);
  txf_pq_ctx_release(&w->ctx);
  for (int i = 0; i < SLAB_RING; i++) {
    free(w->slabs[i].val);
    free(w->slabs[i].nul);
    txf_buf_release(&w->slabs[i].bytes);
  }
  for (int i = 0; i < RG_RING; i++) {
    for (size_t k = 0; w->rg[i].ch && k < w->n_cols; k++) {
      fchunk *f = &w->rg[i].ch[k];
      txf_buf_release(&f->dict_page);
      txf_buf_release(&f->data);
      txf_buf_release(&f->smin);
      txf_buf_release(&f->smax);
    }
    free(w->rg[i].ch);
  }
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}

int txf_pq_writer_open(txf_pq_writer **out_w, const char *path,
                       const txf_pq_schema *schema,
                       const txf_pq_writer_opts *opts, txf_err *err) {
  *out_w = NULL;
  if (!schema || schema->n_cols == 0)
    return txf_err_set(err, TXF_EUSAGE, "%s: schema has no columns", path);
  for (size_t i = 0; i < schema->n_cols; i++) {
    const txf_pq_column *c = &schema->cols[i];
    if (!c->name || !*c->name)
      return txf_err_set(err, TXF_EUSAGE, "%s: column %zu has no name", path,
                         i + 1);
    for (size_t j = 0; j < i; j++)
      if (!strcmp(schema->cols[j].name, c->name))
        return txf_err_set(err, TXF_EUSAGE, "%s: duplicate column '%s'",
                           path, c->name);
    if ((int)c->type < TXF_PQ_BOOLEAN || c->type > TXF_PQ_DECIMAL)
      return txf_err_set(err, TXF_EUSAGE, "%s: column '%s': unknown type",
                         path, c->name);
    if (c->type == TXF_PQ_DECIMAL &&
        (c->precision < 1 || c->precision > 18 || c->scale < 0 ||
         c->scale > c->precision))
      return txf_err_set(err, TXF_EUSAGE,
                         "%s: column '%s': DECIMAL(%d,%d) is not supported "
                         "(precision 1..18, scale 0..precision)",
                         path, c->name, c->precision, c->scale);
  }
  txf_pq_writer_opts o;
  memset(&o, 0, sizeof o);
  if (opts)
    o = *opts;
  if (o.codec != TXF_PQ_UNCOMPRESSED && o.codec != TXF_PQ_SNAPPY &&
      o.codec != TXF_PQ_ZSTD)
    return txf_err_set(err, TXF_EUSAGE, "%s: unknown codec %d", path,
                       (int)o.codec);
  if (!o.row_group_bytes)
    o.row_group_bytes = (size_t)128 << 20;
  if (!o.page_bytes)
    o.page_bytes = (size_t)1 << 20;
  /* Page sizes are int32 in the format: stay far below. */
  if (o.page_bytes > MAX_VALUE_BYTES)
    o.page_bytes = MAX_VALUE_BYTES;
  if (txf_fs_exists(path))
    return txf_err_set(err, TXF_EEXIST, "%s: already exists", path);

  txf_pq_writer *w = txf_xcalloc(1, sizeof *w);
  w->o = o;
  w->pq_codec = o.codec == TXF_PQ_SNAPPY ? PQZ_SNAPPY
                : o.codec == TXF_PQ_ZSTD ? PQZ_ZSTD
                                         : PQZ_UNCOMPRESSED;
  if (o.kv) {
    size_t n = 0;
    while (o.kv[n * 2])
      n++;
    w->kv = txf_xcalloc(n * 2 + 1, sizeof *w->kv);
    for (size_t i = 0; i < n; i++) {
      w->kv[2 * i] = txf_xstrdup(o.kv[2 * i]);
      w->kv[2 * i + 1] = txf_xstrdup(o.kv[2 * i + 1] ? o.kv[2 * i + 1] : "");
    }
    w->n_kv = n;
  }
  w->o.kv = NULL;
  w->o.repeating = NULL; /* (read into the columns below) */
  w->pool = o.pool;
  w->o.pool = NULL;
  txf_pq_ctx_init(&w->ctx);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->n_cols = schema->n_cols;
  w->cols = txf_xcalloc(w->n_cols, sizeof *w->cols);
  for (size_t i = 0; i < w->n_cols; i++) {
    wcol *c = &w->cols[i];
    c->c = schema->cols[i];
    c->c.name = txf_xstrdup(schema->cols[i].name);
    switch (c->c.type) {
    case TXF_PQ_BOOLEAN:
      c->ptype = PQT_BOOLEAN;
      c->width = 1;
      break;
    case TXF_PQ_INT32:
    case TXF_PQ_DATE:
      c->ptype = PQT_INT32;
      c->width = 4;
      break;
    case TXF_PQ_DOUBLE:
      c->ptype = PQT_DOUBLE;
      c->width = 8;
      break;
    case TXF_PQ_STRING:
      c->ptype = PQT_BYTE_ARRAY;
      c->width = 0;
      break;
    default:
      c->ptype = PQT_INT64;
      c->width = 8;
    }
    txf_buf_init(&c->vals, 0);
    txf_buf_init(&c->dict, 0);
    txf_buf_init(&c->chunk, 0);
    txf_buf_init(&c->c_smin, 0);
    txf_buf_init(&c->c_smax, 0);
    c->slot_mask = 1023;
    c->slots = txf_xcalloc(1024, sizeof *c->slots);
    c->allow_dict = c->ptype != PQT_BOOLEAN && !o.no_dictionary;
    for (size_t r = 0; o.repeating && o.repeating[r] && c->allow_dict; r++)
      if (c->ptype == PQT_BYTE_ARRAY && !strcmp(o.repeating[r], c->c.name))
        c->repeating = 1;
    c->w = w;
    chunk_reset(c);
  }
  for (int i = 0; i < RG_RING; i++) {
    w->rg[i].ch = txf_xcalloc(w->n_cols, sizeof *w->rg[i].ch);
    for (size_t k = 0; k < w->n_cols; k++) {
      fchunk *f = &w->rg[i].ch[k];
      txf_buf_init(&f->dict_page, 0);
      txf_buf_init(&f->data, 0);
      txf_buf_init(&f->smin, 0);
      txf_buf_init(&f->smax, 0);
    }
  }
  txf_buf_init(&w->rgs, 0);
  int rc = txf_afile_open(&w->af, path, err);
  if (rc) {
    txf_pq_writer_free(w);
    return rc;
  }
  w->open = 1;
  w->af.defer_sync = w->o.defer_sync;
  /* A big stdio buffer: the file is written in few large syscalls. */
  setvbuf(w->af.fp, NULL, _IOFBF, (size_t)1 << 20);
  /* (w->o.pool is cleared above: the writer's pool is w->pool) */
  if (txf_pq_pool_threads(w->pool) > 0)
    wb_start(w);
  rc = out(w, "PAR1", 4, err);
  if (rc) {
    txf_pq_writer_free(w);
    return rc;
  }
  *out_w = w;
  return 0;
}

static void push_def(wcol *c, uint8_t d) {
  if (c->n_rows == c->defs_cap) {
    c->defs_cap = c->defs_cap ? c->defs_cap * 2 : 4096;
    c->defs = txf_xrealloc(c->defs, c->defs_cap);
  }
  c->defs[c->n_rows] = d;
}

static void push_idx(wcol *c, uint32_t e) {
  if (c->n_vals == c->idx_cap) {
    c->idx_cap = c->idx_cap ? c->idx_cap * 2 : 4096;
    c->idx = txf_xrealloc(c->idx, c->idx_cap * sizeof *c->idx);
  }
  c->idx[c->n_vals] = e;
}

static inline void add_fixed(wcol *c, const void *raw, sval sv, uint32_t h) {
  if (c->dict_mode) {
    push_idx(c, dict_fixed(c, raw, h));
  } else {
    txf_buf *b = &c->vals;
    if (b->len + 9 > b->cap)
      (void)txf_buf_grow(b, 8);
    if (c->width == 4)
      memcpy(b->data + b->len, raw, 4);
    else
      memcpy(b->data + b->len, raw, 8);
    b->len += (size_t)c->width;
    b->data[b->len] = 0; /* txf_buf's invariant */
  }
  if (is_float(c) && isnan(sv.d))
    return; /* NaN has no place in min/max */
  if (!c->p_has) {
    c->p_min = c->p_max = sv;
    c->p_has = 1;
  } else {
    if (sval_lt(c, sv, c->p_min))
      c->p_min = sv;
    if (sval_lt(c, c->p_max, sv))
      c->p_max = sv;
  }
}

static inline void add_string(wcol *c, const char *s, uint32_t n,
                              uint32_t h) {
  if (c->dict_mode) {
    uint32_t e = dict_str(c, s, n, h);
    push_idx(c, e);
    if (c->d_stamp[e] != c->page_no) {
      c->d_stamp[e] = c->page_no;
      const char *d = c->dict.data;
      if (!c->p_has) {
        c->p_dmin = c->p_dmax = e;
        c->p_has = 1;
      } else {
        if (txf_bytes_cmp(s, n, d + c->d_off[c->p_dmin], c->d_len[c->p_dmin]) <
            0)
          c->p_dmin = e;
        if (txf_bytes_cmp(s, n, d + c->d_off[c->p_dmax], c->d_len[c->p_dmax]) >
            0)
          c->p_dmax = e;
      }
    }
    return;
  }
  txf_buf *b = &c->vals;
  if (b->len + 4 + (size_t)n + 1 > b->cap)
    (void)txf_buf_grow(b, 4 + (size_t)n);
  put_u32le((uint8_t *)b->data + b->len, n);
  size_t off = b->len + 4;
  bytes_copy(b->data + off, s, n);
  b->len = off + n;
  b->data[b->len] = 0;
  const char *d = b->data;
  if (!c->p_has) {
    c->p_smin_off = c->p_smax_off = off;
    c->p_smin_len = c->p_smax_len = n;
    c->p_has = 1;
  } else {
    if (txf_bytes_cmp(s, n, d + c->p_smin_off, c->p_smin_len) < 0) {
      c->p_smin_off = off;
      c->p_smin_len = n;
    }
    if (txf_bytes_cmp(s, n, d + c->p_smax_off, c->p_smax_len) > 0) {
      c->p_smax_off = off;
      c->p_smax_len = n;
    }
  }
}

/* ------------------------------------------------------------- columns */

/* Prefetch distances (values ahead) for dictionary look-ups: the slot,
 * then the entry it names, then the entry's bytes, each a likely cache
 * miss on a big dictionary. Prefetches change nothing but speed. */
#define PF_SLOT 48
#define PF_ENTRY 32
#define PF_BYTES 16
/* Smaller dictionaries stay in cache: no prefetching. */
#define PF_MIN_SLOTS 16384

/* The entry the first probed slot of hash H names, or UINT32_MAX. */
static inline uint32_t first_entry(const wcol *c, uint32_t h) {
  uint64_t v = c->slots[h & c->slot_mask];
  return v && (uint32_t)(v >> 32) == h ? (uint32_t)v - 1 : UINT32_MAX;
}

/* Value J of slab S in column C (its slab values VAL, NUL) is present
 * and equals B, a present value of the slab. A null's slab value is not
 * set: its flag is read first. */
static inline int same_value(const wcol *c, const slab *s, const uint64_t *val,
                             const uint8_t *nul, size_t j, uint64_t b) {
  if (c->c.optional && nul[j])
    return 0;
  if (c->c.type != TXF_PQ_STRING)
    return val[j] == b;
  uint32_t n = (uint32_t)b;
  return (uint32_t)val[j] == n &&
         bytes_eq(s->bytes.data + (val[j] >> 32), s->bytes.data + (b >> 32), n);
}

/* Value I (> 0) of slab S in column C equals value I - 1, both present,
 * and C's dictionary page holds I - 1 (no page was flushed since:
 * N_VALS > 0): then I's index is C's last entry, and the page's
 * statistics and the entry's page stamp already have it. Long runs of
 * one value are common: the change log's own columns, a first load's
 * ingest date, the enums. */
static inline int repeats(const wcol *c, const slab *s, const uint64_t *val,
                          const uint8_t *nul, size_t i) {
  if (!c->dict_mode || !c->n_vals || c->n_rows >= PAGE_MAX_ROWS ||
      c->c.type == TXF_PQ_BOOLEAN || (c->c.optional && nul[i - 1]))
    return 0;
  return same_value(c, s, val, nul, i, val[i - 1]);
}

/* The values from I on (I < N) that REPEATS value I - 1 as it does: how
 * many (at least 1). */
static size_t repeat_run(const wcol *c, const slab *s, const uint64_t *val,
                         const uint8_t *nul, size_t i, size_t n) {
  size_t j = i + 1;
  while (j < n && same_value(c, s, val, nul, j, val[i - 1]))
    j++;
  return j - i;
}

/* Add the first of the K values REPEAT_RUN found (VB page bytes each) in
 * one step, up to where the page ends: how many it added. The page's
 * statistics and dictionary are unchanged by them. */
static size_t add_repeats(txf_pq_writer *w, wcol *c, size_t k, size_t vb,
                          pq_ctx *x) {
  size_t target = w->o.page_bytes, m = k;
  if (c->page_bytes + m * vb >= target) /* the page is full at m */
    m = (target - c->page_bytes + vb - 1) / vb;
  if (m > PAGE_MAX_ROWS - c->n_rows)
    m = PAGE_MAX_ROWS - c->n_rows;
  if (c->c.optional) {
    if (c->n_rows + m > c->defs_cap) {
      while (c->n_rows + m > c->defs_cap)
        c->defs_cap = c->defs_cap ? c->defs_cap * 2 : 4096;
      c->defs = txf_xrealloc(c->defs, c->defs_cap);
    }
    memset(c->defs + c->n_rows, 1, m);
  }
  if (c->n_vals + m > c->idx_cap) {
    while (c->n_vals + m > c->idx_cap)
      c->idx_cap = c->idx_cap ? c->idx_cap * 2 : 4096;
    c->idx = txf_xrealloc(c->idx, c->idx_cap * sizeof *c->idx);
  }
  uint32_t e = c->last_e, *o = c->idx + c->n_vals;
  for (size_t i = 0; i < m; i++)
    o[i] = e;
  c->n_rows += m;
  c->n_vals += m;
  c->page_bytes += m * vb;
  if (c->page_bytes >= target)
    flush_page(w, c, x);
  return m;
}

/* Encode slab S into column C: the per-value work of the old row-at-a-
 * time writer, one column at a time. */
static void encode_slab(txf_pq_writer *w, wcol *c, size_t ci, slab *s,
                        pq_ctx *x) {
  const uint64_t *val = s->val + ci * VAL_STRIDE;
  const uint8_t *nul = s->nul + ci * NUL_STRIDE; /* OPTIONAL columns only */
  const size_t page_bytes = w->o.page_bytes, n = s->n;
  const int opt = c->c.optional, type = c->c.type;
  /* Hashes for the dictionary, computed ahead so its slots can be
   * prefetched (dictionary mode only ends inside a slab, never starts). */
  uint32_t *hs = x->hashes;
  int pf = c->dict_mode && n > 0;
  if (pf) {
    for (size_t i = 0; i < n; i++) {
      uint64_t v = val[i];
      if (opt && nul[i])
        hs[i] = 0;
      else if (type == TXF_PQ_STRING)
        hs[i] = hash_bytes(s->bytes.data + (v >> 32), (uint32_t)v);
      else
        hs[i] = hash_u64(v);
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (pf && c->dict_mode && c->slot_mask + 1 >= PF_MIN_SLOTS) {
      if (i + PF_SLOT < n)
        __builtin_prefetch(&c->slots[hs[i + PF_SLOT] & c->slot_mask]);
      if (i + PF_ENTRY < n) {
        uint32_t e = first_entry(c, hs[i + PF_ENTRY]);
        if (e != UINT32_MAX && type == TXF_PQ_STRING)
          __builtin_prefetch(&c->d_off[e]);
        else if (e != UINT32_MAX)
          __builtin_prefetch(c->dict.data + (size_t)e * c->width);
      }
      if (i + PF_BYTES < n && type == TXF_PQ_STRING) {
        uint32_t e = first_entry(c, hs[i + PF_BYTES]);
        if (e != UINT32_MAX) {
          __builtin_prefetch(c->dict.data + c->d_off[e]);
          __builtin_prefetch(&c->d_len[e]);
          __builtin_prefetch(&c->d_stamp[e]);
        }
      }
    }
    if (i && repeats(c, s, val, nul, i)) {
      size_t vb = type == TXF_PQ_STRING ? 4 + (size_t)(uint32_t)val[i]
                  : type == TXF_PQ_INT32 || type == TXF_PQ_DATE ? 4
                                                                : 8;
      i += add_repeats(w, c, repeat_run(c, s, val, nul, i, n), vb, x) - 1;
      continue;
    }
    /* Null values add no page bytes: bound the rows too. */
    if (c->n_rows >= PAGE_MAX_ROWS)
      flush_page(w, c, x);
    if (opt)
      push_def(c, !nul[i]);
    c->n_rows++;
    if (opt && nul[i])
      continue;
    uint64_t v = val[i];
    uint32_t h = pf ? hs[i] : 0;
    size_t vb;
    switch (type) {
    case TXF_PQ_BOOLEAN: {
      uint8_t b = (uint8_t)v;
      sval sv = {.i = b};
      (void)txf_buf_append(&c->vals, &b, 1);
      if (!c->p_has) {
        c->p_min = c->p_max = sv;
        c->p_has = 1;
      } else {
        if (sv.i < c->p_min.i)
          c->p_min = sv;
        if (sv.i > c->p_max.i)
          c->p_max = sv;
      }
      vb = 1;
      break;
    }
    case TXF_PQ_INT32:
    case TXF_PQ_DATE: {
      int32_t i32 = (int32_t)(uint32_t)v;
      sval sv = {.i = i32};
      add_fixed(c, &i32, sv, h);
      vb = 4;
      break;
    }
    case TXF_PQ_DOUBLE: {
      sval sv;
      memcpy(&sv.d, &v, 8);
      add_fixed(c, &v, sv, h);
      vb = 8;
      break;
    }
    case TXF_PQ_STRING: {
      uint32_t len = (uint32_t)v;
      add_string(c, s->bytes.data + (v >> 32), len, h);
      vb = 4 + (size_t)len;
      break;
    }
    default: {
      sval sv = {.i = (int64_t)v};
      add_fixed(c, &v, sv, h);
      vb = 8;
    }
    }
    c->n_vals++;
    c->page_bytes += vb;
    if (c->page_bytes >= page_bytes)
      flush_page(w, c, x);
  }
  if (s->ends_rg)
    finish_chunk(w, c, &w->rg[s->rg % RG_RING].ch[ci], x);
}

/* A pool task: column C encodes every handed-over slab it has not, in
 * order, then stops (the next hand-over starts it again). */
static void column_task(void *arg, pq_ctx *x) {
  wcol *c = arg;
  txf_pq_writer *w = c->w;
  size_t ci = (size_t)(c - w->cols);
  pthread_mutex_lock(&w->mu);
  while (c->next_slab < w->pub) {
    slab *s = &w->slabs[c->next_slab % SLAB_RING];
    pthread_mutex_unlock(&w->mu);
    encode_slab(w, c, ci, s, x);
    pthread_mutex_lock(&w->mu);
    c->next_slab++;
    s->remaining--;
    if (s->ends_rg)
      w->rg[s->rg % RG_RING].done++;
    pthread_cond_broadcast(&w->cv);
  }
  c->busy = 0;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Wait (under w->mu, which it holds again on return) until DONE(w, arg),
 * running queued pool tasks meanwhile. */
static void wait_for(txf_pq_writer *w, int (*done)(txf_pq_writer *, uint64_t),
                     uint64_t arg) {
  while (!done(w, arg)) {
    pthread_mutex_unlock(&w->mu);
    int ran = txf_pq_pool_help(w->pool, &w->ctx);
    pthread_mutex_lock(&w->mu);
    /* Nothing queued: our tasks are running and will signal. */
    if (!ran && !done(w, arg))
      pthread_cond_wait(&w->cv, &w->mu);
  }
}

static int slab_free(txf_pq_writer *w, uint64_t k) {
  return w->slabs[k % SLAB_RING].remaining == 0;
}

static int rg_slot_free(txf_pq_writer *w, uint64_t k) {
  return k < w->written + RG_RING;
}

static int rg_done(txf_pq_writer *w, uint64_t k) {
  rgrec *r = &w->rg[k % RG_RING];
  return r->closed && r->done == w->n_cols - w->c0 &&
         (!w->n_shared || r->shared_in);
}

static int all_idle(txf_pq_writer *w, uint64_t unused) {
  (void)unused;
  for (size_t i = 0; i < w->n_cols; i++)
    if (w->cols[i].busy)
      return 0;
  return 1;
}

static void idle_wait(txf_pq_writer *w) {
  if (!w->pool)
    return;
  pthread_mutex_lock(&w->mu);
  wait_for(w, all_idle, 0);
  pthread_mutex_unlock(&w->mu);
}

/* Write every finished row group, in order, waiting for those before
 * UPTO (all closed) to finish. */
static int write_finished(txf_pq_writer *w, uint64_t upto, txf_err *err) {
  for (;;) {
    pthread_mutex_lock(&w->mu);
    uint64_t k = w->written;
    rgrec *r = &w->rg[k % RG_RING];
    if (k < upto && w->n_shared && !r->shared_in) {
      /* The lead closed row group K before us: have it written (which
       * moves its chunks here). Only this thread sets shared_in. */
      pthread_mutex_unlock(&w->mu);
      int rc = w->lead ? write_finished(w->lead, k + 1, err)
                       : txf_err_set(err, TXF_EUSAGE,
                                     "%s: the lead writer is gone before "
                                     "row group %" PRIu64,
                                     w->af.path, k);
      if (!rc && !r->shared_in)
        rc = txf_err_set(err, TXF_EUSAGE,
                         "%s: the lead writer did not write row group "
                         "%" PRIu64,
                         w->af.path, k);
      if (rc)
        return rc;
      pthread_mutex_lock(&w->mu);
    }
    if (k < upto && w->pool)
      wait_for(w, rg_done, k);
    int ready = rg_done(w, k);
    pthread_mutex_unlock(&w->mu);
    /* A lead moves its chunks into its follower's record of row group
     * K: that must be free (the follower wrote K - RG_RING). The
     * follower's row groups before K have their chunks already, so this
     * never calls back here. */
    txf_pq_writer *f = w->follower;
    if (ready && f && k >= f->written + RG_RING) {
      if (k >= upto)
        return 0;
      int rc = write_finished(f, k + 1 - RG_RING, err);
      if (rc)
        return rc;
    }
    if (!ready)
      return 0;
    /* The columns are done with it: no lock needed to write it. */
    int rc = write_row_group(w, r, err);
    if (rc)
      return rc;
    pthread_mutex_lock(&w->mu);
    r->closed = 0;
    r->done = 0;
    r->shared_in = 0;
    w->written++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
  }
}

/* Hand the current slab over to the columns. */
static int hand_over(txf_pq_writer *w, txf_err *err) {
  slab *s = w->cur;
  w->cur = NULL;
  s->remaining = w->n_cols - w->c0;
  if (s->ends_rg)
    w->rg[s->rg % RG_RING].closed = 1;
  if (!w->pool) {
    for (size_t i = w->c0; i < w->n_cols; i++)
      encode_slab(w, &w->cols[i], i, s, &w->ctx);
    s->remaining = 0;
    if (s->ends_rg)
      w->rg[s->rg % RG_RING].done = w->n_cols - w->c0;
    w->pub++;
    return write_finished(w, 0, err);
  }
  pthread_mutex_lock(&w->mu);
  w->pub++;
  for (size_t i = w->c0; i < w->n_cols; i++) {
    wcol *c = &w->cols[i];
    if (!c->busy) {
      c->busy = 1;
      txf_pq_pool_submit(w->pool, column_task, c);
    }
  }
  pthread_mutex_unlock(&w->mu);
  return write_finished(w, 0, err);
}

/* *OUT: the slab to add the next row to (waiting for one to be free). */
static int next_slab(txf_pq_writer *w, slab **out, txf_err *err) {
  *out = w->cur;
  if (w->cur)
    return 0;
  slab *s = &w->slabs[w->pub % SLAB_RING];
  /* A new row group needs its record: write the oldest first. */
  while (w->rg_rows == 0 && !rg_slot_free(w, w->rg_open)) {
    int rc = write_finished(w, w->rg_open + 1 - RG_RING, err);
    if (rc)
      return rc;
  }
  if (w->pool) {
    pthread_mutex_lock(&w->mu);
    wait_for(w, slab_free, w->pub);
    pthread_mutex_unlock(&w->mu);
  }
  if (!s->val) {
    s->val = txf_xmalloc(w->n_cols * VAL_STRIDE * sizeof *s->val);
    s->nul = txf_xcalloc(w->n_cols * NUL_STRIDE, 1);
    txf_buf_init(&s->bytes, 0);
  }
  s->n = 0;
  s->ends_rg = 0;
  s->rg = w->rg_open;
  txf_buf_reset(&s->bytes);
  w->cur = s;
  *out = s;
  return 0;
}

/* End the open row group with slab S's last row; a lead tells its
 * follower where. */
static void close_rg(txf_pq_writer *w, slab *s) {
  s->ends_rg = 1;
  w->rg[w->rg_open % RG_RING].rows = w->rg_rows;
  w->rg_open++;
  txf_pq_writer *f = w->follower;
  if (f) {
    if (f->n_bounds == f->bounds_cap) {
      f->bounds_cap = f->bounds_cap ? f->bounds_cap * 2 : 16;
      f->bounds = txf_xrealloc(f->bounds, f->bounds_cap * sizeof *f->bounds);
    }
    f->bounds[f->n_bounds++] = w->rg_rows;
  }
  w->rg_rows = 0;
  w->rg_bytes = 0;
}

/* A rejected row: the error for column I of VALUES. */
static int bad_row(txf_pq_writer *w, const txf_pq_value *values, size_t i,
                   txf_err *err) {
  if (values[i].is_null)
    return txf_err_set(err, TXF_EUSAGE,
                       "%s: row %" PRId64 ": null in REQUIRED column '%s'",
                       w->af.path, w->rows_added + 1, w->cols[i].c.name);
  return txf_err_set(err, TXF_ETOOBIG,
                     "%s: row %" PRId64 ": column '%s': a %" PRIu32
                     "-byte string is over the 256 MiB limit",
                     w->af.path, w->rows_added + 1, w->cols[i].c.name,
                     values[i].len);
}

static int same_column(const txf_pq_column *a, const txf_pq_column *b) {
  return !strcmp(a->name, b->name) && a->type == b->type &&
         !a->optional == !b->optional && a->precision == b->precision &&
         a->scale == b->scale;
}

int txf_pq_writer_follow(txf_pq_writer *f, txf_pq_writer *lead,
                         size_t n_shared, txf_err *err) {
  const txf_pq_writer_opts *a = &f->o, *b = &lead->o;
  const char *why = NULL;
  if (f == lead || f->lead || f->follower || lead->lead || lead->follower)
    why = "a writer has one lead or one follower, not both";
  else if (!f->open || !lead->open || f->rows_added || lead->rows_added ||
           f->failed || lead->failed)
    why = "both must be open and have no rows yet";
  else if (n_shared == 0 || n_shared > f->n_cols || n_shared > lead->n_cols)
    why = "the shared columns must be a prefix of both schemas";
  else if (a->codec != b->codec || a->zstd_level != b->zstd_level ||
           a->page_bytes != b->page_bytes ||
           !a->no_dictionary != !b->no_dictionary ||
           !a->data_page_v2 != !b->data_page_v2)
    why = "the codec, page size and page options must be the same";
  for (size_t i = 0; !why && i < n_shared; i++)
    if (!same_column(&f->cols[i].c, &lead->cols[i].c) ||
        f->cols[i].repeating != lead->cols[i].repeating)
      why = "the shared columns must be the same (name, type, nullability, "
            "repeating)";
  if (why)
    return txf_err_set(err, TXF_EUSAGE, "%s cannot follow %s: %s",
                       f->af.path, lead->af.path, why);
  f->lead = lead;
  lead->follower = f;
  f->n_shared = n_shared;
  f->c0 = n_shared;
  return 0;
}

int txf_pq_writer_add_row(txf_pq_writer *w, const txf_pq_value *values,
                          txf_err *err) {
  if (w->failed || !w->open)
    return txf_err_set(err, TXF_EUSAGE, "parquet writer is finished or failed");
  if (w->n_shared && !(w->lead ? w->rows_added < w->lead->rows_added
                               : w->rg_open < w->n_bounds)) {
    w->failed = 1;
    return txf_err_set(err, TXF_EUSAGE,
                       "%s: row %" PRId64 " is not a row of the lead writer",
                       w->af.path, w->rows_added + 1);
  }
  slab *s;
  int rc = next_slab(w, &s, err);
  if (rc) {
    w->failed = 1;
    return rc;
  }
  /* The row is copied into the slab as it is checked; a rejected row is
   * not counted (its row index is reused) and its strings are dropped,
   * so it leaves nothing behind. */
  size_t r = s->n, bytes = 0, str_len = s->bytes.len;
  for (size_t i = w->c0; i < w->n_cols; i++) { /* a follower's own only */
    const wcol *c = &w->cols[i];
    const txf_pq_value *v = &values[i];
    uint64_t *val = &s->val[i * VAL_STRIDE + r];
    if (c->c.optional) {
      s->nul[i * NUL_STRIDE + r] = (uint8_t)(v->is_null != 0);
      bytes++;
    }
    if (v->is_null) {
      if (c->c.optional)
        continue;
      s->bytes.len = str_len;
      return bad_row(w, values, i, err);
    }
    switch (c->c.type) {
    case TXF_PQ_BOOLEAN:
      *val = v->v.b != 0;
      bytes += 1;
      break;
    case TXF_PQ_INT32:
    case TXF_PQ_DATE:
      *val = (uint32_t)v->v.i32;
      bytes += 4;
      break;
    case TXF_PQ_DOUBLE:
      memcpy(val, &v->v.f64, 8);
      bytes += 8;
      break;
    case TXF_PQ_STRING: {
      uint32_t n = v->len;
      if (n > MAX_VALUE_BYTES) {
        s->bytes.len = str_len;
        return bad_row(w, values, i, err);
      }
      txf_buf *b = &s->bytes;
      if (b->len + n + 1 > b->cap)
        (void)txf_buf_grow(b, n);
      *val = (uint64_t)b->len << 32 | n;
      bytes_copy(b->data + b->len, v->v.str, n);
      b->len += n;
      bytes += 4 + (size_t)n;
      break;
    }
    default:
      *val = (uint64_t)v->v.i64;
      bytes += 8;
    }
  }
  if (s->bytes.cap)
    s->bytes.data[s->bytes.len] = 0; /* txf_buf's invariant */
  s->n++;
  w->rows_added++;
  w->rg_rows++;
  w->rg_bytes += bytes;
  if (w->n_shared ? w->rg_open < w->n_bounds &&
                        w->rg_rows == w->bounds[w->rg_open]
                  : w->rg_bytes >= w->o.row_group_bytes) {
    close_rg(w, s);
  } else if (s->n < SLAB_ROWS && s->bytes.len < SLAB_MAX_BYTES) {
    return 0;
  }
  rc = hand_over(w, err);
  if (rc)
    w->failed = 1;
  return rc;
}

int txf_pq_writer_add_rows(txf_pq_writer *w, const txf_pq_value *values,
                           size_t n_rows, txf_err *err) {
  for (size_t r = 0; r < n_rows; r++) {
    int rc = txf_pq_writer_add_row(w, values + r * w->n_cols, err);
    if (rc)
      return rc;
  }
  return 0;
}

int txf_pq_writer_finish(txf_pq_writer *w, txf_err *err) {
  if (w->failed || !w->open)
    return txf_err_set(err, TXF_EUSAGE, "parquet writer is finished or failed");
  int rc = 0;
  if (w->n_shared) {
    /* the lead closed its last row group at its finish: so do we */
    int lead_open = w->lead && w->lead->open;
    size_t last = w->rg_rows ? w->rg_open + 1 : w->rg_open;
    if (lead_open || last != w->n_bounds ||
        (w->rg_rows && w->rg_rows != w->bounds[w->rg_open])) {
      w->failed = 1;
      return txf_err_set(err, TXF_EUSAGE, "%s: %s", w->af.path,
                         lead_open ? "its lead writer is not finished"
                                   : "it has fewer rows than its lead writer");
    }
  }
  if (w->rg_rows > 0) { /* close the last row group */
    slab *s;
    rc = next_slab(w, &s, err);
    if (rc) {
      w->failed = 1;
      return rc;
    }
    close_rg(w, s);
  }
  if (w->cur)
    rc = hand_over(w, err);
  if (!rc)
    rc = write_finished(w, w->rg_open, err);
  if (rc) {
    w->failed = 1;
    return rc;
  }
  txf_buf f;
  txf_buf_init(&f, 0);
  tw t;
  txf_pq_tw_init(&t, &f);
  txf_pq_tw_struct_begin(&t);
  txf_pq_tw_i32(&t, 1, 1);
  txf_pq_tw_list_begin(&t, 2, TC_STRUCT, w->n_cols + 1);
  txf_pq_tw_struct_begin(&t);
  txf_pq_tw_string(&t, 4, "schema");
  txf_pq_tw_i32(&t, 5, (int32_t)w->n_cols);
  txf_pq_tw_struct_end(&t);
  for (size_t i = 0; i < w->n_cols; i++)
    encode_schema_leaf(&t, &w->cols[i]);
  txf_pq_tw_i64(&t, 3, w->total_rows);
  txf_pq_tw_list_begin(&t, 4, TC_STRUCT, w->n_rgs);
  (void)txf_buf_append(&f, w->rgs.data, w->rgs.len);
  txf_pq_tw_list_begin(&t, 5, TC_STRUCT, w->n_kv + 1);
  {
    char *ver = txf_xasprintf("txnflow version %s", TXF_VERSION);
    txf_pq_tw_struct_begin(&t);
    txf_pq_tw_string(&t, 1, "created_by");
    txf_pq_tw_string(&t, 2, ver);
    txf_pq_tw_struct_end(&t);
    for (size_t i = 0; i < w->n_kv; i++) {
      txf_pq_tw_struct_begin(&t);
      txf_pq_tw_string(&t, 1, w->kv[2 * i]);
      txf_pq_tw_string(&t, 2, w->kv[2 * i + 1]);
      txf_pq_tw_struct_end(&t);
    }
    txf_pq_tw_string(&t, 6, ver);
    free(ver);
  }
  txf_pq_tw_list_begin(&t, 7, TC_STRUCT, w->n_cols);
  for (size_t i = 0; i < w->n_cols; i++) {
    txf_pq_tw_struct_begin(&t);
    txf_pq_tw_struct_field(&t, 1); /* TYPE_ORDER */
    txf_pq_tw_struct_end(&t);
    txf_pq_tw_struct_end(&t);
  }
  txf_pq_tw_struct_end(&t);
  uint8_t tail[8];
  put_u32le(tail, (uint32_t)f.len);
  memcpy(tail + 4, "PAR1", 4);
  rc = out(w, f.data, f.len, err);
  if (!rc)
    rc = out(w, tail, 8, err);
  txf_buf_release(&f);
  if (!rc)
    rc = wb_finish(w, 0, err); /* every byte in the file */
  if (!rc) {
    w->open = 0;
    rc = txf_afile_commit(&w->af, err);
  }
  if (rc)
    w->failed = 1;
  return rc;
}
