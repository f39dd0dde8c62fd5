/* The id index beside silver (docs/silver.md, "The id index").
 *
 * 256 shard files, shard = top byte of the id hash, each a sorted run of
 * entries id -> (event day, ingested_at, content hash, ingest day). A
 * clean merges its batch's winners (sorted the same way) with each shard
 * it touches in one sequential pass, which both finds every id's current
 * version and produces the new shard. Memory: the batch plus one shard. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/internal.h"

#define IDX_MAGIC "TXFIDX1\n"
#define ENTRY_FIXED 45 /* idh h0 h1 ingested_at (8 each) days (4+4) len */

char *txf_clean_index_dir(const char *data_dir) {
  return txf_path_join(data_dir, "silver/_index/transactions");
}

typedef struct ientry {
  uint64_t idh, h0, h1;
  int64_t ingested_at_us;
  int32_t event_day, ingest_day;
  uint8_t len;
  const char *id;
} ientry;

static const char *get_entry(const char *p, const char *end, ientry *e) {
  if (end - p < ENTRY_FIXED)
    return NULL;
  memcpy(&e->idh, p, 8);
  memcpy(&e->h0, p + 8, 8);
  memcpy(&e->h1, p + 16, 8);
  memcpy(&e->ingested_at_us, p + 24, 8);
  memcpy(&e->event_day, p + 32, 4);
  memcpy(&e->ingest_day, p + 36, 4);
  e->len = (uint8_t)p[40];
  /* 4 bytes reserved (zero) at 41..44 */
  p += ENTRY_FIXED;
  if (end - p < e->len)
    return NULL;
  e->id = p;
  return p + e->len;
}

static void put_entry(txf_buf *b, const ientry *e) {
  char h[ENTRY_FIXED];
  memcpy(h, &e->idh, 8);
  memcpy(h + 8, &e->h0, 8);
  memcpy(h + 16, &e->h1, 8);
  memcpy(h + 24, &e->ingested_at_us, 8);
  memcpy(h + 32, &e->event_day, 4);
  memcpy(h + 36, &e->ingest_day, 4);
  h[40] = (char)e->len;
  memset(h + 41, 0, 4);
  (void)txf_buf_append(b, h, sizeof h);
  (void)txf_buf_append(b, e->id, e->len);
}

static void entry_of_row(const crow *r, const csources *src, ientry *e) {
  e->idh = r->idh;
  e->h0 = r->h0;
  e->h1 = r->h1;
  e->ingested_at_us = r->ingested_at_us;
  e->event_day = r->event_day;
  e->ingest_day = src->v[r->src].ingest_day;
  e->len = r->len[S_ID];
  e->id = r->str;
}

typedef struct shard_job {
  const char *data_dir, *staging_dir;
  crow **w;
  size_t n;
  const csources *src;
  unsigned char *touched;
  size_t start[IDX_SHARDS + 1];
  int next; /* shard to take next (under mu) */
  pthread_mutex_t mu;
  int rc;
  txf_err err;
  idx_stats st;
} shard_job;

/* Decide the fate of batch winner W against the lake's entry O (NULL: the
 * id is new). Returns 1 when W's entry replaces O in the index. */
static int decide(crow *w, const ientry *o, const csources *src,
                  idx_stats *st) {
  if (!o) {
    w->fate = FATE_INSERT;
    return 1;
  }
  w->had_old = 1;
  w->old_day = o->event_day;
  int c;
  if (w->ingested_at_us != o->ingested_at_us)
    c = w->ingested_at_us > o->ingested_at_us ? 1 : -1;
  else if (w->h0 != o->h0)
    c = w->h0 > o->h0 ? 1 : -1;
  else if (w->h1 != o->h1)
    c = w->h1 > o->h1 ? 1 : -1;
  else
    c = 0;
  if (c == 0) {
    /* The same content again: a duplicate. Its lineage is the earliest
     * delivery, so a duplicate from an earlier ingest day moves the
     * lineage (order independence). */
    w->fate = FATE_DUP;
    if (src->v[w->src].ingest_day < o->ingest_day) {
      st->lineage_moves++;
      return 1;
    }
    return 0;
  }
  if (w->ingested_at_us == o->ingested_at_us)
    st->ties++;
  if (c < 0) {
    w->fate = FATE_STALE;
    return 0;
  }
  w->fate = FATE_UPDATE;
  return 1;
}

static int do_shard(shard_job *j, unsigned s, idx_stats *st, txf_err *err) {
  char name[32];
  snprintf(name, sizeof name, "shard-%03u.idx", s);
  char *dir = txf_clean_index_dir(j->data_dir);
  char *old_path = txf_path_join(dir, name);
  free(dir);
  txf_buf old;
  txf_buf_init(&old, 0);
  int rc = 0;
  const char *p = NULL, *end = NULL;
  if (txf_fs_exists(old_path)) {
    rc = txf_fs_read_file(old_path, &old, err);
    if (!rc) {
      uint64_t n_entries;
      if (old.len < 16 || memcmp(old.data + old.len - 8, IDX_MAGIC, 8) != 0) {
        rc = txf_err_set(err, TXF_ECORRUPT, "%s: not an index shard",
                         old_path);
      } else {
        memcpy(&n_entries, old.data + old.len - 16, 8);
        p = old.data;
        end = old.data + old.len - 16;
      }
    }
  }
  txf_buf out;
  txf_buf_init(&out, 0);
  uint64_t n_out = 0;
  size_t wi = j->start[s], we = j->start[s + 1];
  ientry o, ne;
  int have_o = 0, changed = 0;
  const char *prev_id = NULL;
  size_t prev_len = 0;
  uint64_t prev_h = 0;
  while (!rc) {
    if (!have_o && p && p < end) {
      const char *q = get_entry(p, end, &o);
      if (!q) {
        rc = txf_err_set(err, TXF_ECORRUPT, "%s: truncated entry", old_path);
        break;
      }
      if (prev_id && txf_clean_id_cmp(prev_h, prev_id, prev_len, o.idh, o.id,
                                      o.len) >= 0) {
        rc = txf_err_set(err, TXF_ECORRUPT, "%s: entries out of order",
                         old_path);
        break;
      }
      prev_id = o.id;
      prev_len = o.len;
      prev_h = o.idh;
      p = q;
      have_o = 1;
    }
    if (wi == we && !have_o)
      break;
    int c;
    if (wi == we)
      c = 1;
    else if (!have_o)
      c = -1;
    else {
      crow *w = j->w[wi];
      c = txf_clean_id_cmp(w->idh, w->str, w->len[S_ID], o.idh, o.id, o.len);
    }
    if (c < 0) { /* a new id */
      crow *w = j->w[wi++];
      w->replace = (uint8_t)decide(w, NULL, j->src, st);
      changed = 1;
      entry_of_row(w, j->src, &ne);
      put_entry(&out, &ne);
    } else if (c > 0) { /* an untouched id */
      put_entry(&out, &o);
      have_o = 0;
    } else {
      crow *w = j->w[wi++];
      w->replace = (uint8_t)decide(w, &o, j->src, st);
      if (w->replace) {
        changed = 1;
        entry_of_row(w, j->src, &ne);
        put_entry(&out, &ne);
      } else {
        put_entry(&out, &o);
      }
      have_o = 0;
    }
    n_out++;
  }
  if (!rc && !changed) {
    j->touched[s] = 0; /* nothing new: the shard stays as it is */
  } else if (!rc) {
    (void)txf_buf_append(&out, &n_out, 8);
    (void)txf_buf_append(&out, IDX_MAGIC, 8);
    char *path = txf_path_join(j->staging_dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(out.data, 1, out.len, fp) != out.len ||
        fflush(fp) != 0) /* made durable by one syncfs before commit */
      rc = txf_err_errno(err, TXF_EIO, "%s: cannot write", path);
    if (fp && fclose(fp) != 0 && !rc)
      rc = txf_err_errno(err, TXF_EIO, "%s: cannot close", path);
    free(path);
  }
  txf_buf_release(&out);
  txf_buf_release(&old);
  free(old_path);
  return rc;
}

static void *shard_worker(void *arg) {
  shard_job *j = arg;
  idx_stats st = {0, 0};
  txf_err err;
  txf_err_clear(&err);
  int rc = 0;
  for (;;) {
    pthread_mutex_lock(&j->mu);
    int s = j->rc ? IDX_SHARDS : j->next;
    while (s < IDX_SHARDS && !j->touched[s])
      s++;
    j->next = s + 1;
    pthread_mutex_unlock(&j->mu);
    if (s >= IDX_SHARDS)
      break;
    rc = do_shard(j, (unsigned)s, &st, &err);
    if (rc)
      break;
  }
  pthread_mutex_lock(&j->mu);
  j->st.ties += st.ties;
  j->st.lineage_moves += st.lineage_moves;
  if (rc && !j->rc) {
    j->rc = rc;
    j->err = err;
  }
  pthread_mutex_unlock(&j->mu);
  return NULL;
}

int txf_clean_index_merge(const char *data_dir, const char *staging_dir,
                          crow **w, size_t n, const csources *src, int threads,
                          unsigned char touched[IDX_SHARDS], idx_stats *st,
                          txf_err *err) {
  shard_job *j = txf_xcalloc(1, sizeof *j);
  j->data_dir = data_dir;
  j->staging_dir = staging_dir;
  j->w = w;
  j->n = n;
  j->src = src;
  j->touched = touched;
  memset(touched, 0, IDX_SHARDS);
  size_t k = 0;
  for (unsigned s = 0; s < IDX_SHARDS; s++) {
    j->start[s] = k;
    while (k < n && IDX_SHARD(w[k]->idh) == s)
      k++;
    touched[s] = k > j->start[s];
  }
  j->start[IDX_SHARDS] = n;
  pthread_mutex_init(&j->mu, NULL);
  int nt = threads < 1 ? 1 : threads > 8 ? 8 : threads;
  pthread_t tid[8];
  int started = 0;
  for (int t = 1; t < nt; t++)
    if (pthread_create(&tid[started], NULL, shard_worker, j) == 0)
      started++;
  shard_worker(j);
  for (int t = 0; t < started; t++)
    pthread_join(tid[t], NULL);
  pthread_mutex_destroy(&j->mu);
  int rc = j->rc;
  if (rc)
    *err = j->err;
  st->ties += j->st.ties;
  st->lineage_moves += j->st.lineage_moves;
  free(j);
  return rc;
}
