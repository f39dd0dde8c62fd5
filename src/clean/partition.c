/* Silver partitions: reading one for the versions of ids the index places
 * there (txf_clean_resolve_day), and rewriting one as a streaming merge of
 * the lake's current file (rows already sorted by (txn_ts,
 * transaction_id)) minus the ids that moved or were replaced, with the
 * batch's runs for that day (each sorted the same way). Memory is a
 * buffer per run, one row group of the old file and the writers' row
 * groups. What leaves and what comes in is written to the change log as
 * it passes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clean/internal.h"
#include "parquet/parquet.h"

/* clang-format off */
enum {
  C_ID, C_CUSTOMER, C_CARD, C_MERCHANT, C_TXN_TS, C_AMOUNT, C_CURRENCY, C_MCC,
  C_STATUS, C_REFUND, C_CHANNEL, C_INGESTED_AT, C_ORIG, C_SOURCE_FILE,
  C_INGEST_DATE, C_N,
  /* a card feed's lake */
  C_TOKEN = C_N, C_BIN, C_LAST4, C_KEY_ID, C_MAX
};
/* clang-format on */
_Static_assert(C_N == TXF_SILVER_N_COLS, "clean writes the silver schema");
_Static_assert(C_MAX == TXF_SILVER_MAX_COLS, "and a card feed's");

static int n_cols(const txf_clean_merge *m) { return m->cards ? C_MAX : C_N; }

char *txf_clean_partition_path(const char *data_dir, int32_t day) {
  int y, m, d;
  txf_date_to_ymd((txf_date){day}, &y, &m, &d);
  return txf_xasprintf(
      "%s/silver/transactions/year=%04d/month=%02d/day=%02d/part-00000.parquet",
      data_dir, y, m, d);
}

static void str_val(txf_pq_value *v, const char *p, size_t n) {
  v->is_null = 0;
  v->v.str = p;
  v->len = (uint32_t)n;
}

/* The lengths of the enums' names (row_values runs once a row). */
typedef struct enum_lens {
  uint8_t status[4], channel[3];
} enum_lens;

static void enum_lens_init(enum_lens *e) {
  for (int i = 0; i < 4; i++)
    e->status[i] = (uint8_t)strlen(txf_clean_status_names[i]);
  for (int i = 0; i < 3; i++)
    e->channel[i] = (uint8_t)strlen(txf_clean_channel_names[i]);
}

/* Values of batch row R of M; MCC_BUF holds the 4 digits. */
static void row_values(const crow *r, const txf_clean_merge *m,
                       const enum_lens *el, char mcc_buf[5], txf_pq_value *v) {
  const csources *src = m->src;
  const char *s = r->str;
  for (int i = 0; i < 4; i++) {
    str_val(&v[i], s, r->len[i]);
    s += r->len[i];
  }
  v[C_TXN_TS].is_null = 0;
  v[C_TXN_TS].v.i64 = r->txn_ts_us;
  v[C_AMOUNT].is_null = 0;
  v[C_AMOUNT].v.i64 = r->amount_minor;
  str_val(&v[C_CURRENCY], r->currency, 3);
  mcc_buf[0] = (char)('0' + r->mcc / 1000);
  mcc_buf[1] = (char)('0' + r->mcc / 100 % 10);
  mcc_buf[2] = (char)('0' + r->mcc / 10 % 10);
  mcc_buf[3] = (char)('0' + r->mcc % 10);
  str_val(&v[C_MCC], mcc_buf, 4);
  str_val(&v[C_STATUS], txf_clean_status_names[r->status],
          el->status[r->status]);
  v[C_REFUND].is_null = 0;
  v[C_REFUND].v.b = r->is_refund;
  str_val(&v[C_CHANNEL], txf_clean_channel_names[r->channel],
          el->channel[r->channel]);
  v[C_INGESTED_AT].is_null = 0;
  v[C_INGESTED_AT].v.i64 = r->ingested_at_us;
  if (r->has_orig)
    str_val(&v[C_ORIG], s, r->len[S_ORIG]);
  else
    v[C_ORIG].is_null = 1;
  const csource *c = &src->v[r->src];
  str_val(&v[C_SOURCE_FILE], c->path, c->path_len);
  v[C_INGEST_DATE].is_null = 0;
  v[C_INGEST_DATE].v.i32 = c->ingest_day;
  if (m->cards) { /* every row of a card feed's batch has its card */
    const char *t = crow_s(r, S_PAN);
    str_val(&v[C_TOKEN], t, PAN_TOKEN_LEN);
    str_val(&v[C_BIN], t + PAN_TOKEN_LEN, 6);
    str_val(&v[C_LAST4], t + PAN_TOKEN_LEN + 6, 4);
    str_val(&v[C_KEY_ID], m->key_id, strlen(m->key_id));
  }
}

/* A lake's row holds a token of the key this clean has: tokens of two
 * keys in one lake would make one card two (txnflow keys rotate moves a
 * lake to a new key whole). */
static int key_check(const txf_clean_merge *m, const txf_pq_value *v,
                     const char *path, txf_err *err) {
  const txf_pq_value *k = &v[C_KEY_ID];
  if (!m->cards || (k->len == strlen(m->key_id) &&
                    memcmp(k->v.str, m->key_id, k->len) == 0))
    return 0;
  return txf_err_set(err, TXF_ECONFIG,
                     "%s: its card tokens are under key '%.*s', this key is "
                     "'%s'; give the lake's key, or move the lake to this "
                     "one with 'txnflow keys rotate'",
                     path, (int)(k->len > 40 ? 40 : k->len),
                     k->v.str, m->key_id);
}

/* The change log's file of one partition: opened on its first change. */
typedef struct change_file {
  change_out *out;
  txf_pq_writer *w;
  int32_t day; /* the partition's */
  int nc;      /* silver columns: C_N, or C_MAX in a card feed's lake */
  txf_pq_value cv[TXF_SILVER_CHANGE_MAX_COLS];
  txf_pq_pool *pool;
  int follows; /* w follows the partition's writer: it reads only its own
                  columns (cv[nc..]) of a row */
} change_file;

/* The writer options of every silver file clean writes (partitions and
 * the change log, which follows a new partition's writer and so must
 * encode alike): zstd level 1, the repeating ids dictionary-encoded
 * (docs/parquet.md), encoded on POOL. */
static txf_pq_writer_opts silver_opts(txf_pq_pool *pool) {
  return (txf_pq_writer_opts){.codec = TXF_PQ_ZSTD,
                              .zstd_level = 1,
                              .repeating = txf_silver_repeating,
                              .pool = pool};
}

/* Open the change file (cf->out set, cf->w not yet open). */
static int change_open(change_file *cf, txf_err *err) {
  txf_pq_value *cv = cf->cv;
  int nc = cf->nc;
  txf_pq_column cols[TXF_SILVER_CHANGE_MAX_COLS];
  memcpy(cols, txf_silver_columns_all, (size_t)nc * sizeof *cols);
  memcpy(cols + nc, txf_silver_change_extra, sizeof txf_silver_change_extra);
  txf_pq_schema schema = {cols, (size_t)nc + 7};
  txf_pq_writer_opts wo = silver_opts(cf->pool);
  wo.defer_sync = 1; /* staged: the commit syncs them all at once */
  int rc = txf_pq_writer_open(&cf->w, cf->out->path, &schema, &wo, err);
  if (rc)
    return txf_err_wrap(err, "change log");
  /* What a change adds to the row is the same for the whole file but its
   * type. */
  int y, m, d;
  txf_date_to_ymd((txf_date){cf->day}, &y, &m, &d);
  for (int i = nc; i < nc + 7; i++)
    cv[i].is_null = 0;
  cv[nc].v.i32 = cf->day;
  cv[nc + 1].v.i32 = y;
  cv[nc + 2].v.i32 = m;
  cv[nc + 3].v.i32 = d;
  cv[nc + 5].v.i64 = cf->out->version;
  cv[nc + 6].v.i64 = cf->out->commit_us;
  return 0;
}

/* Append the image V (silver columns) of a row of the partition to the
 * change file, with its change type (a string literal). */
#define change_add(cf, v, type, err)                                          \
  change_add_n(cf, v, type, sizeof(type) - 1, err)
static int change_add_n(change_file *cf, const txf_pq_value *v,
                        const char *type, size_t type_len, txf_err *err) {
  if (!cf->out)
    return 0;
  txf_pq_value *cv = cf->cv;
  if (!cf->w) {
    int rc = change_open(cf, err);
    if (rc)
      return rc;
  }
  /* A follower takes the silver columns from its lead's chunks: copying
   * them here would be 360 bytes a row for nothing, on the thread that
   * bounds the partitions phase. */
  if (!cf->follows)
    memcpy(cv, v, (size_t)cf->nc * sizeof *v);
  str_val(&cv[cf->nc + 4], type, type_len);
  cf->out->n_changes++;
  return txf_pq_writer_add_row(cf->w, cv, err);
}

/* The ids to remove from one partition, as an open-addressing set on
 * their hash: one probe per old row instead of a binary search. */
typedef struct rm_set {
  const rm_ent *rm;
  uint32_t *slot; /* index + 1 into rm; 0 = empty */
  size_t mask;
  txf_clean_filter f;
} rm_set;

static void rm_set_init(rm_set *s, const rm_ent *rm, size_t n) {
  size_t cap = 16;
  while (cap < 2 * n)
    cap *= 2;
  s->rm = rm;
  s->mask = cap - 1;
  s->slot = txf_xcalloc(cap, sizeof *s->slot);
  txf_clean_filter_init(&s->f, n);
  for (size_t i = 0; i < n; i++) {
    txf_clean_filter_add(&s->f, rm[i].idh);
    size_t j = (size_t)rm[i].idh & s->mask;
    while (s->slot[j])
      j = (j + 1) & s->mask;
    s->slot[j] = (uint32_t)i + 1;
  }
}

/* The entry of the id (hash H, bytes ID) to remove, or NULL. */
static const rm_ent *rm_set_find(const rm_set *s, uint64_t h, const char *id,
                                 size_t len) {
  if (!txf_clean_filter_has(&s->f, h))
    return NULL;
  for (size_t j = (size_t)h & s->mask; s->slot[j]; j = (j + 1) & s->mask) {
    const rm_ent *e = &s->rm[s->slot[j] - 1];
    if (e->idh == h && e->len == len && memcmp(e->id, id, len) == 0)
      return e;
  }
  return NULL;
}

/* ---------------------------------------------------------------- resolve */

static int enum_of(const txf_pq_value *v, const char *const *names, int k) {
  for (int i = 0; i < k; i++)
    if (strlen(names[i]) == v->len &&
        memcmp(names[i], v->v.str, v->len) == 0)
      return i;
  return -1;
}

/* The row V of a silver file as a crow (strings copied to BUF), with the
 * content hash clean computed when it validated it. CARDS: V has the card
 * columns (a card feed's lake). */
static int row_of_values(const txf_pq_value *v, int cards, char *buf, crow *r) {
  memset(r, 0, sizeof *r);
  static const int scol[S_PAN] = {C_ID, C_CUSTOMER, C_CARD, C_MERCHANT, C_ORIG};
  char *p = buf;
  for (int i = 0; i < S_PAN; i++) {
    const txf_pq_value *x = &v[scol[i]];
    size_t n = x->is_null ? 0 : x->len;
    if (n > MAX_ID_LEN)
      return -1;
    if (n)
      memcpy(p, x->v.str, n);
    p += n;
    r->len[i] = (uint8_t)n;
  }
  if (cards) {
    static const int ccol[3] = {C_TOKEN, C_BIN, C_LAST4};
    static const uint32_t clen[3] = {PAN_TOKEN_LEN, 6, 4};
    for (int i = 0; i < 3; i++) {
      if (v[ccol[i]].len != clen[i])
        return -1;
      memcpy(p, v[ccol[i]].v.str, clen[i]);
      p += clen[i];
    }
    r->len[S_PAN] = PAN_BLOCK_LEN;
  }
  r->str = buf;
  r->has_orig = !v[C_ORIG].is_null && v[C_ORIG].len > 0;
  r->txn_ts_us = v[C_TXN_TS].v.i64;
  r->amount_minor = v[C_AMOUNT].v.i64;
  r->ingested_at_us = v[C_INGESTED_AT].v.i64;
  if (v[C_CURRENCY].len != 3 || v[C_MCC].len != 4)
    return -1;
  memcpy(r->currency, v[C_CURRENCY].v.str, 3);
  int mcc = 0;
  for (int i = 0; i < 4; i++) {
    char c = v[C_MCC].v.str[i];
    if (c < '0' || c > '9')
      return -1;
    mcc = mcc * 10 + (c - '0');
  }
  r->mcc = (uint16_t)mcc;
  int st = enum_of(&v[C_STATUS], txf_clean_status_names, 4);
  int ch = enum_of(&v[C_CHANNEL], txf_clean_channel_names, 3);
  if (st < 0 || ch < 0)
    return -1;
  r->status = (uint8_t)st;
  r->channel = (uint8_t)ch;
  r->is_refund = (uint8_t)(v[C_REFUND].v.b != 0);
  r->idh = txf_clean_id_hash(r->str, r->len[S_ID]);
  txf_clean_row_hash(r);
  r->hashed = 1;
  return 0;
}

static int open_partition(const char *path, int nc, txf_pq_reader **rd,
                          txf_err *err) {
  int rc = txf_pq_reader_open(rd, path, err);
  if (!rc) {
    const char *names[C_MAX];
    for (int i = 0; i < nc; i++)
      names[i] = txf_silver_columns_all[i].name;
    rc = txf_pq_reader_project(*rd, names, (size_t)nc, err);
  }
  if (rc) {
    txf_pq_reader_free(*rd);
    *rd = NULL;
    return txf_err_wrap(err, "silver partition");
  }
  return 0;
}

int txf_clean_partition_each(const txf_clean_merge *m, int32_t day,
                             int (*wants)(const txf_clean_merge *m,
                                          uint64_t idh),
                             void (*fn)(void *ctx, const crow *r,
                                        int32_t ingest_day, int32_t day),
                             void *ctx, txf_err *err) {
  int rc =
      txf_clean_manifest_check_partition(m->manifest, m->data_dir, day, err);
  if (rc)
    return rc;
  char *path = txf_clean_partition_path(m->data_dir, day);
  if (!txf_fs_exists(path)) { /* nothing there: the ids are new */
    free(path);
    return 0;
  }
  txf_pq_reader *rd = NULL;
  rc = open_partition(path, n_cols(m), &rd, err);
  txf_pq_value v[C_MAX];
  char buf[S_N * (MAX_ID_LEN + 1)];
  int64_t row = 0;
  /* the ids first: the other values of a row are made only for the ids
   * wanted (a daily job's 0.5 % of the partitions it reads; decision
   * 1801, twenty-first round) */
  for (;;) {
    int has = 0;
    txf_pq_value id;
    if (rc || (rc = txf_pq_reader_next_key(rd, C_ID, &id, &has, err)) ||
        !has)
      break;
    row++;
    uint64_t h = txf_clean_id_hash(id.v.str, id.len);
    if (!wants(m, h))
      continue;
    crow r;
    if ((rc = txf_pq_reader_rest(rd, v, err)) ||
        (rc = key_check(m, v, path, err)))
      break;
    if (row_of_values(v, m->cards, buf, &r) != 0) {
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "%s: row %lld is not a silver row", path,
                       (long long)row);
      break;
    }
    r.event_day = day;
    fn(ctx, &r, v[C_INGEST_DATE].v.i32, day);
  }
  txf_pq_reader_free(rd);
  free(path);
  return rc;
}

static void offer(void *ctx, const crow *r, int32_t ingest_day, int32_t day) {
  txf_clean_merge_offer(ctx, r, ingest_day, day);
}

int txf_clean_resolve_day(txf_clean_merge *m, int32_t day, txf_err *err) {
  return txf_clean_partition_each(m, day, txf_clean_merge_wants, offer, m,
                                  err);
}

/* ---------------------------------------------------------------- rewrite */

/* J's file written: its size into J. */
static int out_size(part_job *j, txf_err *err) {
  struct stat st;
  if (stat(j->out_path, &st) != 0)
    return txf_err_errno(err, TXF_EIO, "%s: cannot stat", j->out_path);
  j->size_bytes = (uint64_t)st.st_size;
  return 0;
}

/* The rows of a rewrite come from two threads of their own, in batches:
 * the old file's rows, read and filtered (those that leave it marked for
 * the change log), and the batch's runs merged. The caller's thread merges
 * the two streams and adds the rows to the partition's writer and the
 * change log's, in the order one thread doing it all gave them (a row
 * leaving the old file goes to the change log as soon as it is read).
 * That one thread bounded the partitions phase on two cores (55 % of the
 * phase's CPU in a daily job, decision 1701). A batch holds its rows'
 * values; an old row's strings are copied into it (the reader's buffers
 * move on), a new row's stay in their run block, which the runs hold for
 * the batch until the caller is done with it. Without a pool the caller
 * fills the batches itself, one at a time. */
enum { ROW_KEEP, ROW_DELETE, ROW_PREIMAGE, ROW_INSERT, ROW_POSTIMAGE };
#define SRC_ROWS 2048 /* rows a batch */
#define SRC_RING 4    /* batches in flight, a source */
#define SRC_BYTES ((size_t)512 << 10) /* string bytes a batch, usually */

typedef struct src_batch {
  size_t n;
  uint8_t kind[SRC_ROWS];
  txf_pq_value (*v)[C_MAX];
  char *bytes; /* the old rows' strings */
  size_t cap, len;
  /* the runs' rows: their strings stay in the run blocks, HELD until the
   * caller is done with the batch; MCC and currency are copied here */
  txf_clean_block *held;
  char (*fix)[8];
} src_batch;

typedef struct src {
  const txf_clean_merge *m;
  int nc;
  const uint8_t *is_str; /* per column */
  /* the old file's rows (OLD) or the runs' */
  int old;
  txf_pq_reader *rd;
  const char *old_path;
  const rm_set *rms;
  size_t n_rm, removed;
  txf_pq_value ov[C_MAX]; /* the old row read, when OLD_KIND >= 0 */
  int old_kind;           /* what it is (ROW_*), -1: none read */
  txf_clean_runs *R;
  enum_lens el;
  int full; /* the last step found the batch's strings full */
  /* the ring: the source fills batch FILLED % SRC_RING, the caller takes
   * TAKEN % SRC_RING */
  src_batch b[SRC_RING];
  uint64_t filled, taken;
  int done, stop; /* every row given (or an error); the caller quits */
  int rc;
  txf_err err;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int threaded;
  pthread_t tid;
} src;

/* Append row V (KIND) to batch B: 0, or 1 when B has no room left for its
 * strings (B is not empty: the row goes into the next batch). */
static int batch_put(src *S, src_batch *B, int kind, const txf_pq_value *v) {
  size_t need = 0;
  for (int i = 0; i < S->nc; i++)
    if (S->is_str[i] && !v[i].is_null)
      need += v[i].len;
  if (B->len + need > B->cap) {
    if (B->n) {
      S->full = 1;
      return 1;
    }
    B->cap = need > SRC_BYTES ? need : SRC_BYTES; /* empty: no pointer yet */
    free(B->bytes);
    B->bytes = txf_xmalloc(B->cap);
  }
  txf_pq_value *d = B->v[B->n];
  memcpy(d, v, (size_t)S->nc * sizeof *d);
  for (int i = 0; i < S->nc; i++) {
    if (!S->is_str[i] || v[i].is_null)
      continue;
    char *at = B->bytes + B->len;
    if (v[i].len)
      memcpy(at, v[i].v.str, v[i].len);
    d[i].v.str = at;
    B->len += v[i].len;
  }
  B->kind[B->n++] = (uint8_t)kind;
  return 0;
}

/* The next old row into B (which has room for one more row): 0 (put, or
 * B's strings full: the row waits for the next batch), or 1 at the end.
 * Sets S->rc on an error. */
static int step_old(src *S, src_batch *B) {
  if (S->old_kind < 0) {
    int has = 0;
    S->rc = txf_pq_reader_next(S->rd, S->ov, &has, &S->err);
    if (!S->rc && has)
      S->rc = key_check(S->m, S->ov, S->old_path, &S->err);
    if (S->rc || !has)
      return 1;
    const txf_pq_value *id = &S->ov[C_ID];
    const rm_ent *gone =
        S->n_rm ? rm_set_find(S->rms,
                              txf_clean_id_hash(id->v.str, id->len),
                              id->v.str, id->len)
                : NULL;
    /* one that leaves the partition goes to the change log only */
    S->old_kind = !gone ? ROW_KEEP : gone->del ? ROW_DELETE : ROW_PREIMAGE;
  }
  if (!batch_put(S, B, S->old_kind, S->ov)) {
    S->removed += S->old_kind != ROW_KEEP;
    S->old_kind = -1;
  }
  return 0;
}

/* The next row of the runs into B, the same way; it always has room:
 * its values point into the run blocks the runs hold for B (the currency
 * is the head's, so it and the MCC's digits are copied). */
static int step_new(src *S, src_batch *B) {
  const crow *a = txf_clean_runs_peek(S->R);
  if (!a)
    return 1;
  size_t i = B->n++;
  char *fix = B->fix[i];
  txf_pq_value *v = B->v[i];
  row_values(a, S->m, &S->el, fix, v);
  memcpy(fix + 4, a->currency, 3);
  v[C_CURRENCY].v.str = fix + 4;
  B->kind[i] = a->had_old ? ROW_POSTIMAGE : ROW_INSERT;
  txf_clean_runs_pop(S->R);
  return 0;
}

/* Fill batch B: 1 when it holds the last rows (or S->rc is set). Each
 * step puts a row, or finds B's strings full, or ends. B's rows were
 * used: the blocks held for them go. */
static int src_fill(src *S, src_batch *B) {
  if (!B->v)
    B->v = txf_xmalloc(SRC_ROWS * sizeof *B->v);
  if (!S->old && !B->fix)
    B->fix = txf_xmalloc(SRC_ROWS * sizeof *B->fix);
  if (B->held)
    txf_clean_blocks_retire(S->m->pool, B->held);
  B->held = NULL;
  B->n = 0;
  B->len = 0;
  int end = 0;
  while (!end && B->n < SRC_ROWS) {
    end = S->old ? step_old(S, B) : step_new(S, B);
    if (S->full) {
      S->full = 0;
      break;
    }
  }
  if (!S->old)
    B->held = txf_clean_runs_take_held(S->R);
  return end;
}

static void *src_main(void *arg) {
  src *S = arg;
  pthread_setname_np(pthread_self(), S->old ? "txf-old-rows" : "txf-new-rows");
  pthread_mutex_lock(&S->mu);
  while (!S->done && !S->stop) {
    while (S->filled - S->taken == SRC_RING && !S->stop)
      pthread_cond_wait(&S->cv, &S->mu);
    if (S->stop)
      break;
    src_batch *B = &S->b[S->filled % SRC_RING];
    pthread_mutex_unlock(&S->mu);
    int end = src_fill(S, B);
    pthread_mutex_lock(&S->mu);
    S->filled++;
    S->done = end;
    pthread_cond_broadcast(&S->cv);
  }
  pthread_mutex_unlock(&S->mu);
  return NULL;
}

static void src_init(src *S, const txf_clean_merge *m, int nc,
                     const uint8_t *is_str) {
  memset(S, 0, sizeof *S);
  S->m = m;
  S->nc = nc;
  S->is_str = is_str;
  S->old_kind = -1;
  enum_lens_init(&S->el);
  pthread_mutex_init(&S->mu, NULL);
  pthread_cond_init(&S->cv, NULL);
}

static void src_start(src *S, int threads) {
  S->threaded = threads && pthread_create(&S->tid, NULL, src_main, S) == 0;
}

/* Stop S's thread (if any) and free S's batches; its rc stays. */
static void src_release(src *S) {
  if (S->threaded) {
    pthread_mutex_lock(&S->mu);
    S->stop = 1;
    pthread_cond_broadcast(&S->cv);
    pthread_mutex_unlock(&S->mu);
    pthread_join(S->tid, NULL);
    S->threaded = 0;
  }
  for (int i = 0; i < SRC_RING; i++) {
    if (S->b[i].held)
      txf_clean_blocks_retire(S->m->pool, S->b[i].held);
    free(S->b[i].v);
    free(S->b[i].bytes);
    free(S->b[i].fix);
  }
  pthread_mutex_destroy(&S->mu);
  pthread_cond_destroy(&S->cv);
}

/* The next batch of S (NULL: no more); the one before is S's again. */
static src_batch *src_next(src *S, src_batch *prev) {
  if (!S->threaded) {
    if (S->done)
      return NULL;
    S->done = src_fill(S, &S->b[0]);
    return &S->b[0];
  }
  pthread_mutex_lock(&S->mu);
  if (prev) {
    S->taken++;
    pthread_cond_broadcast(&S->cv);
  }
  while (S->filled == S->taken && !S->done)
    pthread_cond_wait(&S->cv, &S->mu);
  src_batch *B = S->filled > S->taken ? &S->b[S->taken % SRC_RING] : NULL;
  pthread_mutex_unlock(&S->mu);
  return B;
}

/* A stream's read position: batch B (NULL: none yet or the end), row I.
 * DIRECT: the runs' rows themselves, one at a time (no batches): a row's
 * values point into its run block, which stays until the row is taken
 * (cursor_take), after the writers have copied it. */
typedef struct cursor {
  src *S;
  src_batch *B;
  size_t i;
  int end;
  int direct, has; /* DIRECT: V holds the row at the head (HAS) */
  int kind;
  txf_pq_value v[C_MAX];
  char mcc_buf[5];
} cursor;

/* The runs' row at the head, as values, or NULL at their end. */
static const txf_pq_value *direct_row(cursor *c) {
  if (!c->has) {
    const crow *a = txf_clean_runs_peek(c->S->R);
    if (!a)
      return NULL;
    row_values(a, c->S->m, &c->S->el, c->mcc_buf, c->v);
    c->kind = a->had_old ? ROW_POSTIMAGE : ROW_INSERT;
    c->has = 1;
  }
  return c->v;
}

/* The row at C, or NULL at the stream's end (KIND set). */
static const txf_pq_value *cur_row(cursor *c, int *kind) {
  if (c->direct) {
    const txf_pq_value *v = direct_row(c);
    *kind = c->kind;
    return v;
  }
  while (!c->end && (!c->B || c->i == c->B->n)) {
    c->B = c->S ? src_next(c->S, c->B) : NULL;
    c->i = 0;
    c->end = !c->B;
  }
  if (c->end)
    return NULL;
  *kind = c->B->kind[c->i];
  return c->B->v[c->i];
}

/* Rows ahead whose strings a cursor asks for: a new row's are in its run
 * block, last read on the source's thread. */
#define CUR_PREFETCH 8

/* The row at C is used: on to the next. */
static void cursor_take(cursor *c) {
  if (c->direct) {
    txf_clean_runs_pop(c->S->R);
    c->has = 0;
    return;
  }
  c->i++;
  if (c->i + CUR_PREFETCH < c->B->n) {
    const char *s = c->B->v[c->i + CUR_PREFETCH][C_ID].v.str;
    __builtin_prefetch(s);
    __builtin_prefetch(s + 64);
  }
}

/* Old row O before new row N in silver order. */
static int old_first(const txf_pq_value *o, const txf_pq_value *n) {
  int64_t a = o[C_TXN_TS].v.i64, b = n[C_TXN_TS].v.i64;
  if (a != b)
    return a < b;
  return txf_bytes_cmp(o[C_ID].v.str, o[C_ID].len, n[C_ID].v.str,
                       n[C_ID].len) < 0;
}

int txf_clean_partition_rewrite(txf_clean_merge *m, part_job *j,
                                txf_pq_pool *pool, txf_err *err) {
  int32_t day = j->day;
  j->n_rows = 0;
  j->size_bytes = 0;
  j->sha[0] = '\0';
  change_out *chg = &j->chg;
  change_file cf = {.out = chg, .day = day, .nc = n_cols(m), .pool = pool};
  chg->n_changes = 0;
  char *old_path = txf_clean_partition_path(m->data_dir, day);
  uint8_t is_str[C_MAX];
  for (int i = 0; i < cf.nc; i++)
    is_str[i] = txf_silver_columns_all[i].type == TXF_PQ_STRING;
  rm_set rms;
  rm_set_init(&rms, j->rm, j->n_rm);
  txf_clean_runs R;
  txf_clean_runs_open(&R, m->pool, j->run, j->n_run);
  src old, add;
  src_init(&old, m, cf.nc, is_str);
  src_init(&add, m, cf.nc, is_str);
  old.old = 1;
  old.old_path = old_path;
  old.rms = &rms;
  old.n_rm = j->n_rm;
  add.R = &R;
  /* The old rows are copied into the new file: they must be the ones
   * committed (checked once a run, with the read that decided ids). */
  int rc =
      txf_clean_manifest_check_partition(m->manifest, m->data_dir, day, err);
  if (!rc && txf_fs_exists(old_path))
    rc = open_partition(old_path, cf.nc, &old.rd, err);
  int threads = txf_pq_pool_threads(pool) > 0;
  if (!rc && old.rd)
    src_start(&old, threads);
  /* With no old file (a first load, a new day) and no pool, nothing is
   * merged with the runs: their rows go straight to the writers, without
   * the copy into batches. With a pool the batches stay: the thread that
   * fills them keeps the merge off the caller's thread, which otherwise
   * held half the phase's CPU and left the second core idle more often
   * (decision 1701). */
  int direct = !old.rd && !threads;
  if (!direct) /* the batches point into the run blocks */
    txf_clean_runs_hold(&R);
  if (!rc && !direct)
    src_start(&add, threads);
  cursor co = {.S = old.rd ? &old : NULL}, cn = {.S = &add, .direct = direct};
  txf_pq_writer *w = NULL;
  txf_sha256 sha;
  int has_sha = 0;
  while (!rc) {
    int ko = 0, kn = 0, kind;
    const txf_pq_value *o = cur_row(&co, &ko), *n = cur_row(&cn, &kn), *v;
    if (!o && !n)
      break;
    /* the row is taken once the writers have it (a direct row's
     * strings are in its run block) */
    cursor *from = &cn;
    if (o && (ko != ROW_KEEP || !n || old_first(o, n))) {
      v = o;
      kind = ko;
      from = &co;
    } else {
      v = n;
      kind = kn;
    }
    if (kind == ROW_DELETE || kind == ROW_PREIMAGE) {
      rc = kind == ROW_DELETE ? change_add(&cf, v, "delete", err)
                              : change_add(&cf, v, "update_preimage", err);
      cursor_take(from);
      continue;
    }
    if (!w) { /* the partition's first row: its file */
      txf_pq_schema schema = txf_silver_schema(m->cards);
      txf_pq_writer_opts wo = silver_opts(pool);
      txf_sha256_init(&sha);
      has_sha = 1;
      wo.sha256 = &sha;
      wo.defer_sync = 1; /* staged: the commit syncs them all at once */
      rc = txf_pq_writer_open(&w, j->out_path, &schema, &wo, err);
      /* A new partition (a first load, the batch's own day): every row
       * is a change, so the change file's silver columns are the
       * partition's, row for row. It takes them as the partition's
       * writer encoded them instead of encoding them again (its row
       * groups then end where the partition's do). */
      if (!rc && !old.rd && cf.out) {
        rc = change_open(&cf, err);
        if (!rc)
          rc = txf_pq_writer_follow(cf.w, w, cf.nc, err);
        cf.follows = !rc;
      }
      if (rc)
        break;
    }
    rc = txf_pq_writer_add_row(w, v, err);
    if (!rc && kind == ROW_INSERT)
      rc = change_add(&cf, v, "insert", err);
    else if (!rc && kind == ROW_POSTIMAGE)
      rc = change_add(&cf, v, "update_postimage", err);
    if (!rc)
      j->n_rows++;
    cursor_take(from);
  }
  src_release(&old);
  src_release(&add);
  if (!rc && (old.rc || add.rc)) {
    rc = old.rc ? old.rc : add.rc;
    *err = old.rc ? old.err : add.err;
  }
  if (!rc && w)
    rc = txf_pq_writer_finish(w, err);
  txf_pq_writer_free(w);
  if (has_sha)
    txf_sha256_final_hex(&sha, j->sha); /* releases it, whatever came */
  if (!rc && w)
    rc = out_size(j, err);
  if (!rc && cf.w)
    rc = txf_pq_writer_finish(cf.w, err);
  if (!rc && old.removed != j->n_rm) {
    char d[11];
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "silver partition %s holds %zu of the %zu ids the index "
                     "places there; run 'txnflow audit'",
                     txf_date_format((txf_date){day}, d), old.removed, j->n_rm);
  }
  txf_pq_writer_free(cf.w);
  txf_pq_reader_free(old.rd);
  txf_clean_runs_release(&R);
  free(rms.slot);
  free(rms.f.w);
  free(old_path);
  return rc;
}

/* ---------------------------------------------------------------- stage */

static int cmp_run_day(const void *pa, const void *pb) {
  const run_ref *a = pa, *b = pb;
  return (a->day > b->day) - (a->day < b->day);
}

static int cmp_rm_day(const void *pa, const void *pb) {
  const rm_ent *a = pa, *b = pb;
  return (a->day > b->day) - (a->day < b->day);
}

int txf_clean_partitions_stage(txf_clean_merge *m,
                               const txf_clean_stage_parts *p, json_t *rep,
                               txf_err *err) {
  if (m->n_run)
    qsort(m->run, m->n_run, sizeof *m->run, cmp_run_day);
  if (m->n_rm)
    qsort(m->rm, m->n_rm, sizeof *m->rm, cmp_rm_day);
  /* one job per touched day, in day order */
  part_job *jobs = NULL;
  int64_t *cost = NULL;
  size_t nj = 0, ri = 0, mi = 0;
  while (ri < m->n_run || mi < m->n_rm) {
    int32_t day = ri < m->n_run ? m->run[ri].day : INT32_MAX;
    if (mi < m->n_rm && m->rm[mi].day < day)
      day = m->rm[mi].day;
    jobs = txf_xrealloc(jobs, (nj + 1) * sizeof *jobs);
    cost = txf_xrealloc(cost, (nj + 1) * sizeof *cost);
    part_job *j = &jobs[nj];
    memset(j, 0, sizeof *j);
    j->day = day;
    j->run = m->run + ri;
    int64_t run_bytes = 0; /* about 100 a row */
    for (; ri < m->n_run && m->run[ri].day == day; ri++)
      run_bytes += 100 * (int64_t)m->run[ri].n;
    j->n_run = (size_t)(m->run + ri - j->run);
    j->rm = m->rm + mi;
    while (mi < m->n_rm && m->rm[mi].day == day)
      mi++;
    j->n_rm = (size_t)(m->rm + mi - j->rm);
    char d[11];
    txf_date_format((txf_date){day}, d);
    j->out_path = txf_xasprintf("%s/part/%s.parquet", p->staging, d);
    j->chg.path = txf_xasprintf("%s/changes/%s.parquet", p->staging, d);
    j->chg.version = p->version;
    j->chg.commit_us = p->now_us;
    char *old = txf_clean_partition_path(p->data_dir, day);
    struct stat st;
    cost[nj] = (stat(old, &st) == 0 ? (int64_t)st.st_size : 0) + run_bytes;
    free(old);
    nj++;
  }
  /* The biggest first: the small ones fill in at the end. Each is encoded
   * on every thread (the writers' pool), so one big partition uses them
   * all. */
  size_t *order = txf_xmalloc((nj ? nj : 1) * sizeof *order);
  for (size_t i = 0; i < nj; i++)
    order[i] = i;
  for (size_t i = 1; i < nj; i++) /* insertion sort: a few dozen days */
    for (size_t k = i; k > 0 && cost[order[k]] > cost[order[k - 1]]; k--) {
      size_t t = order[k];
      order[k] = order[k - 1];
      order[k - 1] = t;
    }
  int nt = p->threads < 1 ? 1 : p->threads;
  txf_pq_pool *pool = nt > 1 ? txf_pq_pool_new(nt - 1) : NULL;
  int rc = 0;
  for (size_t i = 0; i < nj && !rc; i++) {
    part_job *j = &jobs[order[i]];
    rc = txf_clean_partition_rewrite(m, j, pool, err);
    if (rc) {
      char d[11];
      txf_clean_damage_hint(err);
      txf_err_wrap(err, "partition %s", txf_date_format((txf_date){j->day}, d));
    }
  }
  txf_pq_pool_free(pool);
  json_t *rewritten = json_array(), *per = json_object(),
         *files = json_object();
  int64_t n_changes = 0;
  for (size_t i = 0; i < nj && !rc; i++) {
    part_job *j = &jobs[i];
    char d[11];
    txf_date_format((txf_date){j->day}, d);
    char *final = txf_clean_partition_path(p->data_dir, j->day);
    const char *final_rel = final + strlen(p->data_dir) + 1;
    if (j->n_rows > 0) {
      char *from = txf_xasprintf(".clean/staging/part/%s.parquet", d);
      p->add_op(p->ctx, from, final_rel);
      free(from);
      json_object_set_new(files, d,
                          json_pack("{s:I,s:s}", "size_bytes",
                                    (json_int_t)j->size_bytes, "sha256",
                                    j->sha));
    } else {
      p->add_op(p->ctx, NULL, final_rel);
    }
    free(final);
    if (j->chg.n_changes > 0) {
      char *from = txf_xasprintf(".clean/staging/changes/%s.parquet", d);
      char *to = txf_xasprintf(TXF_SILVER_CHANGES_DIR
                               "/version=%010lld/part-%.4s%.2s%.2s.parquet",
                               (long long)p->version, d, d + 5, d + 8);
      p->add_op(p->ctx, from, to);
      free(from);
      free(to);
      n_changes += j->chg.n_changes;
    }
    json_array_append_new(rewritten, json_string(d));
    json_object_set_new(per, d, json_integer(j->n_rows));
    txf_clean_crash_point(p->crash, "stage", p->crash_counter);
  }
  json_object_set_new(rep, "partitions_rewritten", rewritten);
  json_object_set_new(rep, "rows_per_partition", per);
  json_object_set_new(rep, "partition_files", files);
  /* A clean that changed nothing commits no version. */
  json_object_set_new(rep, "commit_version",
                      n_changes ? json_integer(p->version) : json_null());
  json_object_set_new(rep, "changes", json_integer(n_changes));
  for (size_t i = 0; i < nj; i++) {
    free((char *)jobs[i].out_path);
    free((char *)jobs[i].chg.path);
  }
  free(jobs);
  free(cost);
  free(order);
  return rc;
}

/* ---------------------------------------------------------------- rekey */

int txf_clean_partition_rekey(const txf_clean_rekey *k, part_job *j,
                              txf_pq_pool *pool, txf_err *err) {
  int32_t day = j->day;
  j->n_rows = 0;
  j->size_bytes = 0;
  j->sha[0] = '\0';
  change_file cf = {.out = &j->chg, .day = day, .nc = C_MAX, .pool = pool};
  j->chg.n_changes = 0;
  char *path = txf_clean_partition_path(k->data_dir, day);
  txf_pq_reader *rd = NULL;
  txf_pq_writer *w = NULL;
  txf_sha256 sha;
  txf_sha256_init(&sha);
  int rc =
      txf_clean_manifest_check_partition(k->manifest, k->data_dir, day, err);
  if (!rc)
    rc = open_partition(path, C_MAX, &rd, err);
  if (!rc) {
    txf_pq_schema schema = txf_silver_schema(1);
    txf_pq_writer_opts wo = silver_opts(pool);
    wo.sha256 = &sha;
    rc = txf_pq_writer_open(&w, j->out_path, &schema, &wo, err);
  }
  txf_pq_value v[C_MAX];
  size_t key_len = strlen(k->key_id);
  while (!rc) {
    int has;
    rc = txf_pq_reader_next(rd, v, &has, err);
    if (rc || !has)
      break;
    const txf_pq_value *t = &v[C_TOKEN];
    const char *to =
        t->len == PAN_TOKEN_LEN ? k->map(k->ctx, t->v.str) : NULL;
    if (!to) {
      char d[11];
      rc = txf_err_set(err, TXF_ENOTFOUND,
                       "silver partition %s, row %lld (%.*s): no card "
                       "number in bronze gives its card token under the "
                       "lake's key (was its bronze file removed?)",
                       txf_date_format((txf_date){day}, d),
                       (long long)j->n_rows + 1, (int)v[C_ID].len,
                       v[C_ID].v.str);
      break;
    }
    rc = change_add(&cf, v, "update_preimage", err);
    str_val(&v[C_TOKEN], to, PAN_TOKEN_LEN);
    str_val(&v[C_KEY_ID], k->key_id, key_len);
    if (!rc)
      rc = txf_pq_writer_add_row(w, v, err);
    if (!rc)
      rc = change_add(&cf, v, "update_postimage", err);
    j->n_rows++;
  }
  if (!rc)
    rc = txf_pq_writer_finish(w, err);
  if (!rc && cf.w)
    rc = txf_pq_writer_finish(cf.w, err);
  txf_pq_writer_free(w);
  txf_pq_writer_free(cf.w);
  txf_sha256_final_hex(&sha, j->sha);
  if (!rc)
    rc = out_size(j, err);
  txf_pq_reader_free(rd);
  free(path);
  return rc;
}
