/* The batch's rows in memory, compact (docs/silver.md, "Memory").
 *
 * A valid line becomes a record of 43 bytes plus its five strings, with
 * no pointer, no hash and no padding: 90 bytes or so on the generated
 * feed, against 150 for a row struct and its strings. Records go into
 * buckets (one per index shard) as the batch is read, then into runs
 * (one per shard and event day, sorted like silver) as the shards are
 * merged; a run's pages are given back to the system as the partition
 * rewrite reads past them, so the batch leaves memory as silver is
 * written. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clean/internal.h"

/* ---------------------------------------------------------------- records */

/* Layout (host byte order: records never leave the process):
 *   0 txn_ts  8 ingested_at  16 amount   (8 each)
 *  24 event_day  28 src                  (4 each)
 *  32 mcc (2)  34 currency (3)  37 flags  38 len[5]  43 strings
 * flags: status (2 bits), channel (2), is_refund, has_orig, had_old. */

size_t txf_clean_rec_size(const crow *r) {
  return REC_HDR + (size_t)r->len[0] + r->len[1] + r->len[2] + r->len[3] +
         r->len[4];
}

size_t txf_clean_rec_len(const char *p) {
  const uint8_t *l = (const uint8_t *)p + 38;
  return REC_HDR + (size_t)l[0] + l[1] + l[2] + l[3] + l[4];
}

void txf_clean_rec_put(char *p, const crow *r) {
  memcpy(p, &r->txn_ts_us, 8);
  memcpy(p + 8, &r->ingested_at_us, 8);
  memcpy(p + 16, &r->amount_minor, 8);
  memcpy(p + 24, &r->event_day, 4);
  memcpy(p + 28, &r->src, 4);
  memcpy(p + 32, &r->mcc, 2);
  memcpy(p + 34, r->currency, 3);
  p[37] = (char)(r->status | r->channel << 2 | r->is_refund << 4 |
                 r->has_orig << 5 | r->had_old << 6);
  memcpy(p + 38, r->len, 5);
  memcpy(p + REC_HDR, r->str,
         (size_t)r->len[0] + r->len[1] + r->len[2] + r->len[3] + r->len[4]);
}

const char *txf_clean_rec_get(const char *p, crow *r) {
  memcpy(&r->txn_ts_us, p, 8);
  memcpy(&r->ingested_at_us, p + 8, 8);
  memcpy(&r->amount_minor, p + 16, 8);
  memcpy(&r->event_day, p + 24, 4);
  memcpy(&r->src, p + 28, 4);
  memcpy(&r->mcc, p + 32, 2);
  memcpy(r->currency, p + 34, 3);
  uint8_t f = (uint8_t)p[37];
  r->status = f & 3;
  r->channel = f >> 2 & 3;
  r->is_refund = f >> 4 & 1;
  r->has_orig = f >> 5 & 1;
  r->had_old = f >> 6 & 1;
  memcpy(r->len, p + 38, 5);
  r->str = p + REC_HDR;
  r->idh = txf_clean_id_hash(r->str, r->len[S_ID]);
  r->hashed = 0;
  r->rec = 0;
  r->fate = FATE_NONE;
  r->replace = 0;
  r->old_day = 0;
  return p + REC_HDR + r->len[0] + r->len[1] + r->len[2] + r->len[3] +
         r->len[4];
}

void txf_clean_rec_hash(crow *r) {
  if (!r->hashed)
    txf_clean_row_hash(r);
  r->hashed = 1;
}

/* ---------------------------------------------------------------- buckets */

#define BLOCK_BYTES ((128 << 10) - 64)

/* Blocks are mapped, not malloc'd: a bucket taken out gives its memory
 * back to the system at once, before the runs it becomes are made. */
typedef struct block {
  struct block *next;
  size_t len, map;
  char data[];
} block;

static block *block_new(size_t cap) {
  size_t ps = 4096, map = (sizeof(block) + cap + ps - 1) / ps * ps;
  void *p = mmap(NULL, map, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  block *b;
  if (p == MAP_FAILED) { /* as txf_xmalloc would: out of memory is fatal */
    b = txf_xmalloc(sizeof *b + cap);
    b->map = 0;
  } else {
    b = p;
    b->map = map;
  }
  b->next = NULL;
  b->len = 0;
  return b;
}

static void block_free(block *b) {
  if (b->map)
    munmap(b, b->map);
  else
    free(b);
}

typedef struct bucket {
  block *head, *tail;
  uint64_t bytes;
} bucket;

struct txf_clean_buckets {
  bucket *b;
  unsigned n;
};

txf_clean_buckets *txf_clean_buckets_new(unsigned n) {
  txf_clean_buckets *b = txf_xcalloc(1, sizeof *b);
  b->b = txf_xcalloc(n ? n : 1, sizeof *b->b);
  b->n = n;
  return b;
}

static void free_chain(block *k) {
  while (k) {
    block *next = k->next;
    block_free(k);
    k = next;
  }
}

void txf_clean_buckets_free(txf_clean_buckets *b) {
  if (!b)
    return;
  for (unsigned i = 0; i < b->n; i++)
    free_chain(b->b[i].head);
  free(b->b);
  free(b);
}

void txf_clean_buckets_add(txf_clean_buckets *b, unsigned k, const void *p,
                           size_t n) {
  bucket *u = &b->b[k];
  block *t = u->tail;
  if (!t || t->len + n > BLOCK_BYTES) {
    block *nb = block_new(n > BLOCK_BYTES ? n : BLOCK_BYTES);
    if (t)
      t->next = nb;
    else
      u->head = nb;
    u->tail = t = nb;
  }
  memcpy(t->data + t->len, p, n);
  t->len += n;
  u->bytes += n;
}

uint64_t txf_clean_buckets_bytes(const txf_clean_buckets *b, unsigned k) {
  return b->b[k].bytes;
}

void txf_clean_buckets_take(txf_clean_buckets *b, unsigned k, txf_buf *out) {
  bucket *u = &b->b[k];
  txf_buf_reset(out);
  (void)txf_buf_grow(out, (size_t)u->bytes + 1);
  for (block *t = u->head; t; t = t->next) {
    memcpy(out->data + out->len, t->data, t->len);
    out->len += t->len;
  }
  out->data[out->len] = 0;
  free_chain(u->head);
  u->head = u->tail = NULL;
  u->bytes = 0;
}

/* ---------------------------------------------------------------- runs */

struct run_buf {
  char *data;
  size_t cap; /* mapped bytes */
};

static size_t page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096;
}

/* Runs live in their own mapping, so that what the rewrite has read can
 * be handed back page by page (madvise), whatever malloc would keep. */
run_buf *txf_clean_runbuf_new(size_t bytes, char **data) {
  run_buf *b = txf_xcalloc(1, sizeof *b);
  size_t ps = page_size();
  b->cap = (bytes + ps - 1) / ps * ps;
  if (!b->cap)
    b->cap = ps;
  void *p = mmap(NULL, b->cap, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { /* as txf_xmalloc would: out of memory is fatal */
    b->data = txf_xmalloc(b->cap);
    b->cap = 0;
  } else {
    b->data = p;
  }
  *data = b->data;
  return b;
}

void txf_clean_runbuf_release(run_buf *b, uint64_t from, uint64_t to) {
  if (!b->cap)
    return; /* malloc'd: kept to the end */
  size_t ps = page_size();
  uint64_t a = (from + ps - 1) / ps * ps, z = to / ps * ps;
  if (z > a)
    (void)madvise(b->data + a, (size_t)(z - a), MADV_DONTNEED);
}

void txf_clean_runbuf_free(run_buf *b) {
  if (!b)
    return;
  if (b->cap)
    munmap(b->data, b->cap);
  else
    free(b->data);
  free(b);
}

void txf_clean_runrd_open(txf_clean_runrd *r, const run_ref *ref) {
  r->ref = ref;
  r->pos = ref->off;
  r->end = ref->off + ref->len;
  r->released = ref->off;
}

int txf_clean_runrd_next(txf_clean_runrd *r, crow *row) {
  run_buf *b = r->ref->buf;
  if (r->pos >= r->end) {
    txf_clean_runbuf_release(b, r->released, r->end);
    return 0;
  }
  /* The previous row of this run is done with: give back the pages read
   * before this one, a few at a time. */
  if (r->pos - r->released >= (256 << 10)) {
    size_t ps = page_size();
    txf_clean_runbuf_release(b, r->released, r->pos);
    r->released = r->pos / ps * ps;
  }
  const char *p = b->data + r->pos;
  r->pos = (uint64_t)(txf_clean_rec_get(p, row) - b->data);
  return 1;
}
