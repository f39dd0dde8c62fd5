/* Rewriting one silver partition: a streaming merge of the lake's current
 * file (rows already sorted by (txn_ts, transaction_id)) minus the ids that
 * moved or were replaced, with the batch's rows for that day. Memory is the
 * batch's rows plus one row group of the old file. What leaves and what
 * comes in is written to the change log as it passes. */
#include <stdlib.h>
#include <string.h>

#include "clean/internal.h"
#include "parquet/parquet.h"

enum {
  C_ID, C_CUSTOMER, C_CARD, C_MERCHANT, C_TXN_TS, C_AMOUNT, C_CURRENCY, C_MCC,
  C_STATUS, C_REFUND, C_CHANNEL, C_INGESTED_AT, C_ORIG, C_SOURCE_FILE,
  C_INGEST_DATE, C_N
};
_Static_assert(C_N == TXF_SILVER_N_COLS, "clean writes the silver schema");

char *txf_clean_partition_path(const char *data_dir, int32_t day) {
  int y, m, d;
  txf_date_to_ymd((txf_date){day}, &y, &m, &d);
  return txf_xasprintf(
      "%s/silver/transactions/year=%04d/month=%02d/day=%02d/part-00000.parquet",
      data_dir, y, m, d);
}

static void str_val(txf_pq_value *v, const char *p, size_t n) {
  v->is_null = 0;
  v->v.str.ptr = p;
  v->v.str.len = (uint32_t)n;
}

/* Values of batch row R; MCC_BUF holds the 4 digits. */
static void row_values(const crow *r, const csources *src, char mcc_buf[5],
                       txf_pq_value *v) {
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
  const char *st = txf_clean_status_names[r->status];
  str_val(&v[C_STATUS], st, strlen(st));
  v[C_REFUND].is_null = 0;
  v[C_REFUND].v.b = r->is_refund;
  const char *ch = txf_clean_channel_names[r->channel];
  str_val(&v[C_CHANNEL], ch, strlen(ch));
  v[C_INGESTED_AT].is_null = 0;
  v[C_INGESTED_AT].v.i64 = r->ingested_at_us;
  if (r->has_orig)
    str_val(&v[C_ORIG], s, r->len[S_ORIG]);
  else
    v[C_ORIG].is_null = 1;
  const csource *c = &src->v[r->src];
  str_val(&v[C_SOURCE_FILE], c->path, strlen(c->path));
  v[C_INGEST_DATE].is_null = 0;
  v[C_INGEST_DATE].v.i32 = c->ingest_day;
}

/* The change log's file of one partition: opened on its first change. */
typedef struct change_file {
  change_out *out;
  txf_pq_writer *w;
  int32_t day;
} change_file;

/* Append the image V (silver columns) of a row of partition DAY_OF_ROW to
 * the change file, with its change type. */
static int change_add(change_file *cf, const txf_pq_value *v, int32_t row_day,
                      const char *type, txf_err *err) {
  if (!cf->out)
    return 0;
  if (!cf->w) {
    txf_pq_column cols[TXF_SILVER_CHANGE_N_COLS];
    memcpy(cols, txf_silver_columns, sizeof txf_silver_columns);
    memcpy(cols + TXF_SILVER_N_COLS, txf_silver_change_extra,
           sizeof txf_silver_change_extra);
    txf_pq_schema schema = {cols, TXF_SILVER_CHANGE_N_COLS};
    txf_pq_writer_opts wo;
    memset(&wo, 0, sizeof wo);
    wo.codec = TXF_PQ_ZSTD;
    wo.zstd_level = 1;
    int rc = txf_pq_writer_open(&cf->w, cf->out->path, &schema, &wo, err);
    if (rc)
      return txf_err_wrap(err, "change log");
  }
  txf_pq_value cv[TXF_SILVER_CHANGE_N_COLS];
  memcpy(cv, v, C_N * sizeof *v);
  int y, m, d;
  txf_date_to_ymd((txf_date){row_day}, &y, &m, &d);
  for (int i = C_N; i < TXF_SILVER_CHANGE_N_COLS; i++)
    cv[i].is_null = 0;
  cv[C_N].v.i32 = row_day;
  cv[C_N + 1].v.i32 = y;
  cv[C_N + 2].v.i32 = m;
  cv[C_N + 3].v.i32 = d;
  str_val(&cv[C_N + 4], type, strlen(type));
  cv[C_N + 5].v.i64 = cf->out->version;
  cv[C_N + 6].v.i64 = cf->out->commit_us;
  cf->out->n_changes++;
  return txf_pq_writer_add_row(cf->w, cv, err);
}

static int cmp_old_add(const txf_pq_value *ov, const crow *a) {
  int64_t ts = ov[C_TXN_TS].v.i64;
  if (ts != a->txn_ts_us)
    return ts < a->txn_ts_us ? -1 : 1;
  size_t la = ov[C_ID].v.str.len, lb = a->len[S_ID];
  int d = memcmp(ov[C_ID].v.str.ptr, a->str, la < lb ? la : lb);
  if (d)
    return d;
  return la < lb ? -1 : la > lb;
}

/* The ids to remove from one partition, as an open-addressing set on
 * their hash: one probe per old row instead of a binary search. */
typedef struct rm_set {
  const rm_id *rm;
  uint32_t *slot; /* index + 1 into rm; 0 = empty */
  size_t mask;
} rm_set;

static void rm_set_init(rm_set *s, const rm_id *rm, size_t n) {
  size_t cap = 16;
  while (cap < 2 * n)
    cap *= 2;
  s->rm = rm;
  s->mask = cap - 1;
  s->slot = txf_xcalloc(cap, sizeof *s->slot);
  for (size_t i = 0; i < n; i++) {
    size_t j = (size_t)rm[i].idh & s->mask;
    while (s->slot[j])
      j = (j + 1) & s->mask;
    s->slot[j] = (uint32_t)i + 1;
  }
}

static int rm_set_has(const rm_set *s, uint64_t h, const char *id,
                      size_t len) {
  for (size_t j = (size_t)h & s->mask; s->slot[j]; j = (j + 1) & s->mask) {
    const rm_id *e = &s->rm[s->slot[j] - 1];
    if (e->idh == h && e->len == len && memcmp(e->id, id, len) == 0)
      return 1;
  }
  return 0;
}

int txf_clean_partition_rewrite(const char *data_dir, int32_t day,
                                const char *out_path, crow **adds,
                                size_t n_adds, const rm_id *rm, size_t n_rm,
                                csources *src, change_out *chg,
                                int64_t *n_rows, txf_err *err) {
  *n_rows = 0;
  change_file cf = {chg, NULL, day};
  if (chg)
    chg->n_changes = 0;
  char *old_path = txf_clean_partition_path(data_dir, day);
  txf_pq_reader *rd = NULL;
  int rc = 0;
  txf_pq_value ov[C_N], nv[C_N];
  int has_old = 0;
  size_t removed = 0;
  rm_set rms;
  rm_set_init(&rms, rm, n_rm);
  if (txf_fs_exists(old_path)) {
    rc = txf_pq_reader_open(&rd, old_path, err);
    if (!rc) {
      const char *names[C_N];
      for (int i = 0; i < C_N; i++)
        names[i] = txf_silver_columns[i].name;
      rc = txf_pq_reader_project(rd, names, C_N, err);
    }
    if (rc) {
      txf_err_wrap(err, "silver partition");
      goto out;
    }
  }
  /* Read the next kept old row into OV (has_old = 0 at the end). */
#define NEXT_OLD()                                                             \
  do {                                                                         \
    has_old = 0;                                                               \
    while (rd) {                                                               \
      int has_;                                                                \
      rc = txf_pq_reader_next(rd, ov, &has_, err);                             \
      if (rc || !has_)                                                         \
        break;                                                                 \
      if (n_rm &&                                                              \
          rm_set_has(                                                          \
              &rms, txf_clean_id_hash(ov[C_ID].v.str.ptr, ov[C_ID].v.str.len), \
              ov[C_ID].v.str.ptr, ov[C_ID].v.str.len)) {                       \
        removed++;                                                             \
        if ((rc = change_add(&cf, ov, day, "update_preimage", err)))           \
          break;                                                               \
        continue;                                                              \
      }                                                                        \
      has_old = 1;                                                             \
      break;                                                                   \
    }                                                                          \
  } while (0)

  NEXT_OLD();
  if (rc)
    goto out;
  if (!has_old && n_adds == 0)
    goto check; /* the partition becomes empty */
  txf_pq_writer *w = NULL;
  txf_pq_schema schema = {txf_silver_columns, C_N};
  txf_pq_writer_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.codec = TXF_PQ_ZSTD;
  wo.zstd_level = 1;
  rc = txf_pq_writer_open(&w, out_path, &schema, &wo, err);
  if (rc)
    goto out;
  size_t ai = 0;
  char mcc_buf[5];
  while (!rc && (has_old || ai < n_adds)) {
    if (has_old && (ai == n_adds || cmp_old_add(ov, adds[ai]) < 0)) {
      rc = txf_pq_writer_add_row(w, ov, err);
      if (!rc)
        NEXT_OLD();
    } else {
      const crow *a = adds[ai++];
      row_values(a, src, mcc_buf, nv);
      rc = txf_pq_writer_add_row(w, nv, err);
      if (!rc)
        rc = change_add(&cf, nv, day,
                        a->had_old ? "update_postimage" : "insert", err);
    }
    if (!rc)
      (*n_rows)++;
  }
  if (!rc)
    rc = txf_pq_writer_finish(w, err);
  txf_pq_writer_free(w);
  if (rc)
    goto out;
check:
  if (!rc && cf.w)
    rc = txf_pq_writer_finish(cf.w, err);
  if (!rc && removed != n_rm) {
    char d[11];
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "silver partition %s holds %zu of the %zu ids the index "
                     "places there; run 'txnflow audit'",
                     txf_date_format((txf_date){day}, d), removed, n_rm);
  }
out:
#undef NEXT_OLD
  txf_pq_writer_free(cf.w);
  txf_pq_reader_free(rd);
  free(rms.slot);
  free(old_path);
  return rc;
}
