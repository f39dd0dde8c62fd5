/* The batch's rows in memory, compact (docs/silver.md, "Memory").
 *
 * A valid line becomes a record of about 30 bytes plus its strings,
 * with no pointer, no hash and no padding: 74 bytes on the generated
 * feed, against 150 for a row struct and its strings. Records go into
 * buckets (one per index shard) as the batch is read, then into runs
 * (one per shard and event day, sorted like silver) as the shards are
 * merged; a run's blocks are given back to the system as the partition
 * rewrite reads past them, so the batch leaves memory as silver is
 * written. */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <pthread.h>

#include "clean/internal.h"

/* ---------------------------------------------------------------- records */

/* Layout (host byte order: records never leave the process):
 *   0 txn_ts (8)  8 mcc (2)  10 currency (3)  13 flags  14 day  15 len[6]
 *  21 varints: src, amount, zigzag(ingested_at - txn_ts)
 *  then the strings (id, customer, card, merchant, original id, card
 *  feed's token, BIN and last 4)
 * flags: status (2 bits), channel (2), is_refund, has_orig, had_old.
 * day: the event day minus txn_ts's UTC day (a zone is less than a day
 * off UTC), so one byte. About 30 bytes and the strings: 74 a row on the
 * generated feed. */
#define REC_FIXED 21
#define DAY_US INT64_C(86400000000)

static int32_t utc_day(int64_t ts) {
  int64_t d = ts / DAY_US;
  return (int32_t)(ts % DAY_US < 0 ? d - 1 : d);
}

static char *put_varint(char *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (char)(v | 0x80);
    v >>= 7;
  }
  *p++ = (char)v;
  return p;
}

static const char *get_varint(const char *p, uint64_t *v) {
  uint64_t x = 0;
  for (int sh = 0;; sh += 7) {
    uint8_t c = (uint8_t)*p++;
    x |= (uint64_t)(c & 0x7f) << sh;
    if (!(c & 0x80))
      break;
  }
  *v = x;
  return p;
}

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint64_t zigzag(int64_t v) {
  return (uint64_t)v << 1 ^ (uint64_t)(v >> 63);
}

static size_t strings_len(const uint8_t *l) {
  return (size_t)l[0] + l[1] + l[2] + l[3] + l[4] + l[5];
}

size_t txf_clean_rec_size(const crow *r) {
  return REC_FIXED + varint_len(r->src) +
         varint_len((uint64_t)r->amount_minor) +
         varint_len(zigzag(r->ingested_at_us - r->txn_ts_us)) +
         strings_len(r->len);
}

size_t txf_clean_rec_len(const char *p) {
  const char *q = p + REC_FIXED;
  for (int k = 0; k < 3; k++)
    while (*q++ & 0x80)
      ;
  return (size_t)(q - p) + strings_len((const uint8_t *)p + 15);
}

void txf_clean_rec_put(char *p, const crow *r) {
  memcpy(p, &r->txn_ts_us, 8);
  memcpy(p + 8, &r->mcc, 2);
  memcpy(p + 10, r->currency, 3);
  p[13] = (char)(r->status | r->channel << 2 | r->is_refund << 4 |
                 r->has_orig << 5 | r->had_old << 6);
  int32_t d = r->event_day - utc_day(r->txn_ts_us);
  assert(d >= -127 && d <= 127); /* a zone is within a day of UTC */
  p[14] = (char)(int8_t)d;
  memcpy(p + 15, r->len, S_N);
  char *q = put_varint(p + REC_FIXED, r->src);
  q = put_varint(q, (uint64_t)r->amount_minor);
  q = put_varint(q, zigzag(r->ingested_at_us - r->txn_ts_us));
  memcpy(q, r->str, strings_len(r->len));
}

/* The record at P into *R without the id hash (R->idh left 0). */
static const char *rec_decode(const char *p, crow *r) {
  memcpy(&r->txn_ts_us, p, 8);
  memcpy(&r->mcc, p + 8, 2);
  memcpy(r->currency, p + 10, 3);
  uint8_t f = (uint8_t)p[13];
  r->status = f & 3;
  r->channel = f >> 2 & 3;
  r->is_refund = f >> 4 & 1;
  r->has_orig = f >> 5 & 1;
  r->had_old = f >> 6 & 1;
  r->event_day = utc_day(r->txn_ts_us) + (int8_t)p[14];
  memcpy(r->len, p + 15, S_N);
  uint64_t v;
  const char *q = get_varint(p + REC_FIXED, &v);
  r->src = (uint32_t)v;
  q = get_varint(q, &v);
  r->amount_minor = (int64_t)v;
  q = get_varint(q, &v);
  r->ingested_at_us = r->txn_ts_us + (int64_t)(v >> 1 ^ -(v & 1));
  r->str = q;
  r->idh = 0;
  r->hashed = 0;
  r->rec = 0;
  r->fate = FATE_NONE;
  r->replace = 0;
  r->old_day = 0;
  return q + strings_len(r->len);
}

const char *txf_clean_rec_get(const char *p, crow *r) {
  const char *end = rec_decode(p, r);
  r->idh = txf_clean_id_hash(r->str, r->len[S_ID]);
  return end;
}

void txf_clean_rec_hash(crow *r) {
  if (!r->hashed)
    txf_clean_row_hash(r);
  r->hashed = 1;
}

/* ---------------------------------------------------------------- blocks */

/* Records live in 64 KiB blocks, each mapped on its own (not malloc'd):
 * the blocks a shard's rows leave are reused for the runs they become,
 * with no new page to fault in, and the pages of a block the rewrite has
 * read go back to the system soon after (at most RETIRE_BATCH blocks
 * later), whatever malloc would keep. A record never spans two blocks.
 *
 * Giving pages back costs a TLB shootdown per system call: with a
 * second thread of the process on the other core, an interrupt to it and
 * a wait for its answer. One munmap per block was 13 % of a 10 M-line
 * first load's CPU on this VM (decision 1701, "Blocks given back in
 * batches"). So retired blocks are gathered and their pages dropped
 * RETIRE_BATCH at a time by one process_madvise(MADV_DONTNEED) over
 * them all (Linux >= 6.13 accepts it for the calling process; 6.18
 * flushes the TLB once for the whole vector); the mappings stay, empty,
 * for reuse, and are unmapped together when the pool is freed. Where
 * the kernel refuses it, each block is unmapped as before. */
#define BLOCK_MAP (64 << 10)
#define RETIRE_BATCH 32

struct txf_clean_block {
  txf_clean_block *next;
  uint32_t len;  /* bytes of records */
  uint32_t refs; /* runs still to read it */
  size_t slot;   /* in the pool's registry */
  char data[];
};
#define BLOCK_CAP (BLOCK_MAP - offsetof(txf_clean_block, data))
_Static_assert(REC_MAX < BLOCK_CAP, "a record fits a block");

/* A block whose header may be gone (its pages dropped): where it is and
 * its slot in the registry. */
typedef struct blk_ent {
  txf_clean_block *b;
  size_t slot;
} blk_ent;

struct txf_clean_pool {
  pthread_mutex_t mu;
  txf_clean_block *free_list; /* pages in memory, ready for reuse */
  txf_clean_block **all;      /* every mapped block (NULL: unmapped) */
  size_t n_all, cap_all;
  blk_ent retired[RETIRE_BATCH]; /* pages still to drop */
  unsigned n_retired;
  blk_ent *empty; /* mapped, pages dropped: reused after FREE_LIST */
  size_t n_empty, cap_empty;
  int pidfd; /* this process, for process_madvise; -1: unmap instead */
};

txf_clean_pool *txf_clean_pool_new(void) {
  txf_clean_pool *p = txf_xcalloc(1, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
#if defined(SYS_pidfd_open) && defined(SYS_process_madvise)
  p->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)getpid(), 0);
#else
  p->pidfd = -1;
#endif
  return p;
}

void txf_clean_pool_unmap_only(txf_clean_pool *p) {
  if (p->pidfd >= 0)
    close(p->pidfd);
  p->pidfd = -1;
}

static int addr_cmp(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (txf_clean_block *const *)a,
            y = (uintptr_t) * (txf_clean_block *const *)b;
  return (x > y) - (x < y);
}

void txf_clean_pool_free(txf_clean_pool *p) {
  if (!p)
    return;
  /* Neighbouring blocks (mmap places them side by side) in one call. */
  size_t n = 0;
  for (size_t i = 0; i < p->n_all; i++)
    if (p->all[i])
      p->all[n++] = p->all[i];
  if (n > 1)
    qsort(p->all, n, sizeof *p->all, addr_cmp);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && (char *)p->all[j] == (char *)p->all[j - 1] + BLOCK_MAP)
      j++;
    munmap(p->all[i], (j - i) * (size_t)BLOCK_MAP);
    i = j;
  }
  if (p->pidfd >= 0)
    close(p->pidfd);
  free(p->all);
  free(p->empty);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

txf_clean_block *txf_clean_block_get(txf_clean_pool *p) {
  pthread_mutex_lock(&p->mu);
  txf_clean_block *b = p->free_list;
  if (b) {
    p->free_list = b->next;
  } else if (p->n_empty) {
    blk_ent e = p->empty[--p->n_empty];
    b = e.b;
    b->slot = e.slot;
  } else {
    /* populated: a block is filled before the next is taken, and one
     * entry into the kernel costs less than its 16 page faults */
    void *m = mmap(NULL, BLOCK_MAP, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED) {
      pthread_mutex_unlock(&p->mu);
      txf_xmalloc((size_t)-1); /* out of memory is fatal, in one place */
    }
    b = m;
    if (p->n_all == p->cap_all) {
      p->cap_all = p->cap_all ? 2 * p->cap_all : 1024;
      p->all = txf_xrealloc(p->all, p->cap_all * sizeof *p->all);
    }
    b->slot = p->n_all;
    p->all[p->n_all++] = b;
  }
  pthread_mutex_unlock(&p->mu);
  b->next = NULL;
  b->len = 0;
  b->refs = 0;
  return b;
}

void txf_clean_block_put(txf_clean_pool *p, txf_clean_block *chain) {
  if (!chain)
    return;
  txf_clean_block *last = chain;
  while (last->next)
    last = last->next;
  pthread_mutex_lock(&p->mu);
  last->next = p->free_list;
  p->free_list = chain;
  pthread_mutex_unlock(&p->mu);
}

/* Drop the pages of the retired blocks (P's lock held): one
 * process_madvise for them all, or one munmap each where it fails. */
static void drop_retired(txf_clean_pool *p) {
  unsigned n = p->n_retired, done = 0;
  if (!n)
    return;
#if defined(SYS_pidfd_open) && defined(SYS_process_madvise)
  if (p->pidfd >= 0) {
    struct iovec iov[RETIRE_BATCH];
    for (unsigned i = 0; i < n; i++)
      iov[i] = (struct iovec){p->retired[i].b, BLOCK_MAP};
    long got = syscall(SYS_process_madvise, p->pidfd, iov, (size_t)n,
                       MADV_DONTNEED, 0u);
    if (got < 0) { /* refused (an older kernel): unmap from now on */
      close(p->pidfd);
      p->pidfd = -1;
    } else {
      done = (unsigned)((size_t)got / BLOCK_MAP);
    }
  }
#endif
  if (p->n_empty + done > p->cap_empty) {
    while (p->n_empty + done > p->cap_empty)
      p->cap_empty = p->cap_empty ? 2 * p->cap_empty : 1024;
    p->empty = txf_xrealloc(p->empty, p->cap_empty * sizeof *p->empty);
  }
  for (unsigned i = 0; i < done; i++)
    p->empty[p->n_empty++] = p->retired[i];
  for (unsigned i = done; i < n; i++) {
    p->all[p->retired[i].slot] = NULL;
    munmap(p->retired[i].b, BLOCK_MAP);
  }
  p->n_retired = 0;
}

/* Block B will not be read again (P's lock held). */
static void retire(txf_clean_pool *p, txf_clean_block *b) {
  p->retired[p->n_retired++] = (blk_ent){b, b->slot};
  if (p->n_retired == RETIRE_BATCH)
    drop_retired(p);
}

static void block_retire(txf_clean_pool *p, txf_clean_block *b) {
  pthread_mutex_lock(&p->mu);
  retire(p, b);
  pthread_mutex_unlock(&p->mu);
}

void txf_clean_pool_trim(txf_clean_pool *p) {
  pthread_mutex_lock(&p->mu);
  for (txf_clean_block *b = p->free_list, *next; b; b = next) {
    next = b->next;
    retire(p, b);
  }
  p->free_list = NULL;
  drop_retired(p);
  pthread_mutex_unlock(&p->mu);
}

char *txf_clean_blocks_add(txf_clean_pool *p, txf_clean_block **head,
                           txf_clean_block **tail, size_t n) {
  txf_clean_block *t = *tail;
  if (!t || t->len + n > BLOCK_CAP) {
    txf_clean_block *nb = txf_clean_block_get(p);
    if (t)
      t->next = nb;
    else
      *head = nb;
    *tail = t = nb;
  }
  char *at = t->data + t->len;
  t->len += (uint32_t)n;
  return at;
}

const char *txf_clean_block_data(const txf_clean_block *b) { return b->data; }
size_t txf_clean_block_len(const txf_clean_block *b) { return b->len; }
txf_clean_block *txf_clean_block_next(const txf_clean_block *b) {
  return b->next;
}
void txf_clean_block_ref(txf_clean_block *b) { b->refs++; }

/* ---------------------------------------------------------------- buckets */

typedef struct bucket {
  txf_clean_block *head, *tail;
  uint64_t bytes;
} bucket;

struct txf_clean_buckets {
  txf_clean_pool *pool;
  bucket *b;
  unsigned n;
};

txf_clean_buckets *txf_clean_buckets_new(txf_clean_pool *pool, unsigned n) {
  txf_clean_buckets *b = txf_xcalloc(1, sizeof *b);
  b->pool = pool;
  b->b = txf_xcalloc(n ? n : 1, sizeof *b->b);
  b->n = n;
  return b;
}

void txf_clean_buckets_free(txf_clean_buckets *b) {
  if (!b)
    return;
  for (unsigned i = 0; i < b->n; i++)
    txf_clean_block_put(b->pool, b->b[i].head);
  free(b->b);
  free(b);
}

void txf_clean_buckets_add(txf_clean_buckets *b, unsigned k, const void *p,
                           size_t n) {
  bucket *u = &b->b[k];
  /* whole records: split P into what fits each block */
  const char *q = p;
  while (n) {
    size_t room = u->tail ? BLOCK_CAP - u->tail->len : 0, take = 0;
    if (n <= room) { /* the usual case: all of them (a chunk's few) */
      take = n;
    } else {
      size_t len;
      while (take < n && take + (len = txf_clean_rec_len(q + take)) <= room)
        take += len;
    }
    if (!take) { /* the next record needs a fresh block */
      txf_clean_block *nb = txf_clean_block_get(b->pool);
      if (u->tail)
        u->tail->next = nb;
      else
        u->head = nb;
      u->tail = nb;
      continue;
    }
    memcpy(u->tail->data + u->tail->len, q, take);
    u->tail->len += (uint32_t)take;
    u->bytes += take;
    q += take;
    n -= take;
  }
}

uint64_t txf_clean_buckets_bytes(const txf_clean_buckets *b, unsigned k) {
  return b->b[k].bytes;
}

txf_clean_block *txf_clean_buckets_take(txf_clean_buckets *b, unsigned k) {
  bucket *u = &b->b[k];
  txf_clean_block *h = u->head;
  u->head = u->tail = NULL;
  u->bytes = 0;
  return h;
}

/* ---------------------------------------------------------------- runs */

void txf_clean_runrd_open(txf_clean_runrd *r, txf_clean_pool *pool,
                          const run_ref *ref) {
  r->pool = pool;
  r->b = ref->b;
  r->pos = ref->off;
  r->left = ref->n;
  r->held = NULL;
}

/* Leave block B: the last run to read it gives it back, or holds it. */
static void leave(txf_clean_runrd *r, txf_clean_block *b) {
  if (--b->refs)
    return;
  if (r->held) { /* no run reads it: its link is free */
    b->next = *r->held;
    *r->held = b;
  } else {
    block_retire(r->pool, b);
  }
}

void txf_clean_blocks_retire(txf_clean_pool *p, txf_clean_block *chain) {
  if (!chain)
    return;
  pthread_mutex_lock(&p->mu);
  for (txf_clean_block *b = chain, *next; b; b = next) {
    next = b->next;
    retire(p, b);
  }
  pthread_mutex_unlock(&p->mu);
}

int txf_clean_runrd_next(txf_clean_runrd *r, crow *row) {
  if (!r->left) {
    if (r->b) {
      leave(r, r->b);
      r->b = NULL;
    }
    return 0;
  }
  if (r->pos >= r->b->len) {
    txf_clean_block *next = r->b->next;
    leave(r, r->b);
    r->b = next;
    r->pos = 0;
  }
  /* The rewrite orders runs by (txn_ts, id bytes) and never looks at
   * the id hash: not computing it saves 7 % of the main thread's work
   * in the partitions phase, where that thread bounds the wall time. */
  const char *p = r->b->data + r->pos;
  r->pos = (uint32_t)(rec_decode(p, row) - r->b->data);
  r->left--;
  /* A merge of many runs reads each in steps too far apart for the
   * hardware to see a stream: the next record is asked for now, as the
   * run's head is read (~75 bytes: two lines; past the block's end the
   * line is unused, a prefetch never faults). */
  __builtin_prefetch(r->b->data + r->pos);
  __builtin_prefetch(r->b->data + r->pos + 64);
  return 1;
}

/* ---------------------------------------------------------------- merge */

/* Head I's PRE and ID8 (txf_clean_runs). */
static void runs_id8(txf_clean_runs *R, size_t i) {
  const crow *h = &R->head[i];
  size_t n = h->len[S_ID], o = R->pfx_len;
  uint8_t b[8] = {0};
  R->pre[i] = n >= o && txf_bytes_cmp(h->str, o, R->pfx, o) == 0;
  if (R->pre[i])
    memcpy(b, h->str + o, n - o < 8 ? n - o : 8);
  uint64_t v;
  memcpy(&v, b, 8);
  R->id8[i] = __builtin_bswap64(v);
}

static void runs_next(txf_clean_runs *R, size_t i) {
  R->live[i] = (uint8_t)txf_clean_runrd_next(&R->rd[i], &R->head[i]);
  R->key[i] = R->live[i] ? R->head[i].txn_ts_us : INT64_MAX;
  if (R->live[i])
    runs_id8(R, i);
}

/* Run A's head comes strictly before run B's (a done run comes last).
 * Two ids with the prefix whose next 8 bytes differ are in the order of
 * those bytes (zero padding sorts a shorter id first, as the bytes do). */
static int runs_before(const txf_clean_runs *R, int a, int b) {
  if (R->key[a] != R->key[b])
    return R->key[a] < R->key[b];
  if (!R->live[a] || !R->live[b])
    return R->live[a] > R->live[b];
  if (R->pre[a] & R->pre[b] && R->id8[a] != R->id8[b])
    return R->id8[a] < R->id8[b];
  return txf_clean_silver_order(&R->head[a], &R->head[b]) < 0;
}

/* PFX: the longest prefix (up to 16 bytes) of the live heads' ids; then
 * every head's ID8. */
static void runs_prefix(txf_clean_runs *R) {
  int first = 1;
  for (size_t i = 0; i < R->k; i++) {
    if (!R->live[i])
      continue;
    const crow *h = &R->head[i];
    size_t n = h->len[S_ID], o = 0;
    if (first) {
      R->pfx_len = n < sizeof R->pfx ? n : sizeof R->pfx;
      memcpy(R->pfx, h->str, R->pfx_len);
      first = 0;
    }
    while (o < R->pfx_len && o < n && h->str[o] == R->pfx[o])
      o++;
    R->pfx_len = o;
  }
  for (size_t i = 0; i < R->k; i++)
    if (R->live[i])
      runs_id8(R, i);
}

void txf_clean_runs_open(txf_clean_runs *R, txf_clean_pool *pool,
                         const run_ref *ref, size_t n) {
  memset(R, 0, sizeof *R);
  size_t k = 1;
  while (k < n)
    k *= 2;
  R->k = k;
  R->rd = txf_xcalloc(k, sizeof *R->rd);
  R->head = txf_xcalloc(k, sizeof *R->head);
  R->key = txf_xmalloc(k * sizeof *R->key);
  R->live = txf_xcalloc(k, 1);
  R->loser = txf_xcalloc(k, sizeof *R->loser);
  R->id8 = txf_xcalloc(k, sizeof *R->id8);
  R->pre = txf_xcalloc(k, 1);
  for (size_t i = 0; i < k; i++) { /* leaves past N: done from the start */
    R->key[i] = INT64_MAX;
    if (i < n) {
      txf_clean_runrd_open(&R->rd[i], pool, &ref[i]);
      runs_next(R, i);
    }
  }
  runs_prefix(R);
  /* winners bottom-up (leaves at K..2K-1), the losers kept */
  int *win = txf_xmalloc(2 * k * sizeof *win);
  for (size_t i = 0; i < k; i++)
    win[k + i] = (int)i;
  for (size_t j = k - 1; j >= 1; j--) {
    int a = win[2 * j], b = win[2 * j + 1];
    int b_first = runs_before(R, b, a);
    win[j] = b_first ? b : a;
    R->loser[j] = b_first ? a : b;
  }
  R->loser[0] = win[1]; /* (one run: its leaf) */
  free(win);
}

void txf_clean_runs_pop(txf_clean_runs *R) {
  int w = R->loser[0];
  runs_next(R, (size_t)w);
  int64_t kw = R->key[w];
  for (size_t j = (R->k + (size_t)w) >> 1; j; j >>= 1) {
    int l = R->loser[j];
    int64_t kl = R->key[l];
    int l_first =
        __builtin_expect(kl == kw, 0) ? runs_before(R, l, w) : kl < kw;
    /* without branches: which run wins here is a coin toss */
    R->loser[j] = l_first ? w : l;
    w = l_first ? l : w;
    kw = l_first ? kl : kw;
  }
  R->loser[0] = w;
}

void txf_clean_runs_hold(txf_clean_runs *R) {
  for (size_t i = 0; i < R->k; i++)
    R->rd[i].held = &R->held;
}

txf_clean_block *txf_clean_runs_take_held(txf_clean_runs *R) {
  txf_clean_block *h = R->held;
  R->held = NULL;
  return h;
}

void txf_clean_runs_release(txf_clean_runs *R) {
  if (R->held)
    txf_clean_blocks_retire(R->rd[0].pool, txf_clean_runs_take_held(R));
  TXF_FREE_ALL(R->rd, R->head, R->key, R->live, R->loser, R->id8, R->pre);
}
