/* The batch against the lake, one index shard at a time
 * (docs/silver.md, "Dedup and merge rules", "The id index").
 *
 * A shard's rows (about 1/256 of the batch) are sorted by id and deduped;
 * each winner's id is looked up in the shard of the index. An id the
 * index does not hold is new: it goes into silver, into a run per event
 * day, sorted like silver. An id it holds is pending: its partition is
 * read (partition.c, txf_clean_resolve_day), which offers each of its
 * rows with a pending id's hash (txf_clean_merge_offer), and the rules
 * decide there; txf_clean_merge_pending then puts the winners into runs.
 * Memory: one shard of the batch and of the index per thread, beside the
 * batch's records and, for a shard whose pending ids wait, the pairs of
 * its new ids (its shard is written once, when they are decided). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/internal.h"

/* ---------------------------------------------------------------- sort */

/* Sorting rows by a 64-bit key first: an LSD radix sort of (key, row)
 * pairs (16 bits a pass, passes where every key has the same digit
 * skipped), then each run of equal keys sorted by the full comparator.
 * No pointer is followed until keys tie. */
typedef struct kent {
  uint64_t k;
  crow *p;
} kent;

static void radix_sort(kent *v, size_t n) {
  if (n < 2)
    return;
  /* 11-bit digits for small inputs: the counts stay in cache. */
  int bits = n < (1u << 20) ? 11 : 16;
  size_t nd = (size_t)1 << bits;
  uint64_t mask = nd - 1;
  kent *tmp = txf_xmalloc(n * sizeof *tmp);
  size_t *cnt = txf_xmalloc(nd * sizeof *cnt);
  kent *src = v, *dst = tmp;
  for (int shift = 0; shift < 64; shift += bits) {
    memset(cnt, 0, nd * sizeof *cnt);
    for (size_t i = 0; i < n; i++)
      cnt[(src[i].k >> shift) & mask]++;
    if (cnt[(src[0].k >> shift) & mask] == n)
      continue; /* every key has this digit */
    size_t sum = 0;
    for (size_t d = 0; d < nd; d++) {
      size_t c = cnt[d];
      cnt[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++)
      dst[cnt[(src[i].k >> shift) & mask]++] = src[i];
    kent *t = src;
    src = dst;
    dst = t;
  }
  if (src != v)
    memcpy(v, src, n * sizeof *v);
  free(cnt);
  free(tmp);
}

void txf_clean_key_sort(crow **v, size_t n, uint64_t (*key)(const crow *),
                        txf_clean_cmp_fn cmp) {
  if (n < 2)
    return;
  kent *e = txf_xmalloc(n * sizeof *e);
  for (size_t i = 0; i < n; i++)
    e[i] = (kent){key(v[i]), v[i]};
  radix_sort(e, n);
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && e[j].k == e[i].k)
      j++;
    for (size_t k = i; k < j; k++)
      v[k] = e[k].p;
    if (j - i > 1)
      qsort(v + i, j - i, sizeof *v, cmp);
    i = j;
  }
  free(e);
}

/* Versions of one id: best first, then earliest lineage (equal content
 * from the same file is the same row: which copy wins does not show). */
static int cmp_version(const void *pa, const void *pb) {
  const crow *a = *(crow *const *)pa, *b = *(crow *const *)pb;
  int c = txf_clean_version_cmp(a, b);
  if (c)
    return -c;
  return (a->src > b->src) - (a->src < b->src);
}

static int cmp_id(const void *pa, const void *pb) {
  const crow *a = *(crow *const *)pa, *b = *(crow *const *)pb;
  return txf_clean_id_cmp(a->idh, a->str, a->len[S_ID], b->idh, b->str,
                          b->len[S_ID]);
}

static int cmp_part(const void *pa, const void *pb) {
  const crow *a = *(crow *const *)pa, *b = *(crow *const *)pb;
  if (a->event_day != b->event_day)
    return a->event_day < b->event_day ? -1 : 1;
  return txf_clean_silver_order(a, b);
}

static uint64_t key_id(const crow *r) { return r->idh; }

/* txn_ts as an unsigned key in the same order. */
static uint64_t key_ts(const crow *r) {
  return (uint64_t)r->txn_ts_us ^ ((uint64_t)1 << 63);
}

/* ---------------------------------------------------------------- rows */

/* Parse the records of the chains CH (N_CH) into rows; *V (caller frees)
 * points at them. */
static crow *parse_rows(txf_clean_block *const *ch, int n_ch, crow ***v,
                        size_t *n) {
  size_t k = 0;
  for (int c = 0; c < n_ch; c++)
    for (const txf_clean_block *b = ch[c]; b; b = txf_clean_block_next(b)) {
      const char *p = txf_clean_block_data(b), *e = p + txf_clean_block_len(b);
      for (; p < e; p += txf_clean_rec_len(p))
        k++;
    }
  crow *rows = txf_xmalloc((k ? k : 1) * sizeof *rows);
  *v = txf_xmalloc((k ? k : 1) * sizeof **v);
  size_t i = 0;
  for (int c = 0; c < n_ch; c++)
    for (const txf_clean_block *b = ch[c]; b; b = txf_clean_block_next(b)) {
      const char *p = txf_clean_block_data(b), *e = p + txf_clean_block_len(b);
      while (p < e) {
        p = txf_clean_rec_get(p, &rows[i]);
        (*v)[i] = &rows[i];
        i++;
      }
    }
  *n = k;
  return rows;
}

/* Put the winners V (N, each going into silver) into runs: sorted by
 * (event day, txn_ts, id), one run per day, in blocks of the pool. */
static void emit_runs(txf_clean_merge *m, crow **v, size_t n) {
  if (!n)
    return;
  /* The event day follows txn_ts, so this is already by day unless a
   * zone's clock went back across midnight. */
  txf_clean_key_sort(v, n, key_ts, cmp_part);
  for (size_t i = 1; i < n; i++)
    if (v[i]->event_day < v[i - 1]->event_day) {
      qsort(v, n, sizeof *v, cmp_part);
      break;
    }
  txf_clean_block *head = NULL, *tail = NULL;
  run_ref *runs = NULL;
  size_t nr = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    txf_clean_block *counted = NULL;
    runs = txf_xrealloc(runs, (nr + 1) * sizeof *runs);
    run_ref *r = &runs[nr++];
    r->day = v[i]->event_day;
    r->n = 0;
    for (; j < n && v[j]->event_day == r->day; j++) {
      /* Rows come in silver order, scattered in memory: fetch ahead. */
      if (j + 8 < n)
        __builtin_prefetch(v[j + 8]);
      if (j + 4 < n)
        __builtin_prefetch(v[j + 4]->str);
      size_t sz = txf_clean_rec_size(v[j]);
      char *at = txf_clean_blocks_add(m->pool, &head, &tail, sz);
      txf_clean_rec_put(at, v[j]);
      if (tail != counted) { /* one reference per run a block holds */
        if (!counted) {
          r->b = tail;
          r->off = (uint32_t)(at - txf_clean_block_data(tail));
        }
        txf_clean_block_ref(tail);
        counted = tail;
      }
      r->n++;
    }
    i = j;
  }
  pthread_mutex_lock(&m->mu);
  if (m->n_run + nr > m->cap_run) {
    while (m->n_run + nr > m->cap_run)
      m->cap_run = m->cap_run ? 2 * m->cap_run : 256;
    m->run = txf_xrealloc(m->run, m->cap_run * sizeof *m->run);
  }
  memcpy(m->run + m->n_run, runs, nr * sizeof *runs);
  m->n_run += nr;
  pthread_mutex_unlock(&m->mu);
  free(runs);
}

void txf_clean_merge_emit(txf_clean_merge *m, crow **v, size_t n) {
  emit_runs(m, v, n);
}

static char *shard_path(const txf_clean_merge *m, unsigned s) {
  return txf_xasprintf("%s/index/shard-%03u.idx", m->staging_dir, s);
}

/* ---------------------------------------------------------------- shard */

int txf_clean_merge_shard(txf_clean_merge *m, unsigned s, txf_err *err) {
  txf_clean_block *ch[8];
  for (int t = 0; t < m->n_lanes; t++)
    ch[t] = txf_clean_buckets_take(m->rows[t], s);
  crow **v;
  size_t n;
  crow *rows = parse_rows(ch, m->n_lanes, &v, &n);
  txf_clean_key_sort(v, n, key_id, cmp_id);
  merge_stats st = {0, 0, 0, 0, 0, 0};
  size_t nw = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n &&
           txf_clean_id_cmp(v[i]->idh, v[i]->str, v[i]->len[S_ID], v[j]->idh,
                            v[j]->str, v[j]->len[S_ID]) == 0)
      j++;
    if (j - i > 1) { /* versions of one id: the content hash decides ties */
      for (size_t k = i; k < j; k++)
        txf_clean_rec_hash(v[k]);
      qsort(v + i, j - i, sizeof *v, cmp_version);
      for (size_t k = i + 1; k < j; k++) {
        if (txf_clean_version_cmp(v[i], v[k]) == 0) {
          st.duplicates++;
        } else {
          st.stale++;
          if (v[k]->ingested_at_us == v[i]->ingested_at_us)
            st.ties++;
        }
      }
    }
    v[nw++] = v[i]; /* the batch's winner for this id */
    i = j;
  }
  int rc = 0;

  loc_ent *e = NULL;
  size_t ne = 0;
  rc = txf_clean_manifest_read_shard(m->manifest, m->data_dir, s, &e, &ne, err);

  /* Look every winner up: new ids go into silver now, the others wait for
   * their partition to be read. */
  crow **adds = txf_xmalloc((nw ? nw : 1) * sizeof *adds);
  loc_ent *ins = txf_xmalloc((nw ? nw : 1) * sizeof *ins);
  cand_ent *cand = NULL;
  size_t na = 0, ncand = 0, capc = 0, npend = 0;
  for (size_t i = 0, k = 0; i < nw && !rc; i++) {
    crow *w = v[i];
    while (k < ne && e[k].idh < w->idh)
      k++;
    if (k < ne && e[k].idh == w->idh) {
      for (size_t q = k; q < ne && e[q].idh == w->idh; q++) {
        if (ncand == capc) {
          capc = capc ? 2 * capc : 256;
          cand = txf_xrealloc(cand, capc * sizeof *cand);
        }
        cand[ncand++] = (cand_ent){e[q].day, w->idh};
      }
      txf_buf *pb = &m->pending[s];
      (void)txf_buf_grow(pb, txf_clean_rec_size(w));
      txf_clean_rec_put(pb->data + pb->len, w);
      pb->len += txf_clean_rec_size(w);
      npend++;
      continue;
    }
    w->fate = FATE_INSERT;
    w->replace = 1;
    w->had_old = 0;
    adds[na] = w;
    ins[na++] = (loc_ent){w->idh, w->event_day};
  }
  st.inserted = (int64_t)na;
  if (!rc)
    emit_runs(m, adds, na);
  if (!rc)
    txf_clean_index_sort(ins, na);
  if (!rc && na && !npend) {
    size_t nu, none;
    loc_ent *u = txf_clean_index_edit(e, ne, NULL, 0, ins, na, &nu, &none);
    char *path = shard_path(m, s);
    rc = txf_clean_index_write(path, s, u, nu, &m->shard_file[s], err);
    free(path);
    free(u);
  }
  pthread_mutex_lock(&m->mu);
  if (!rc) {
    m->touched[s] = na > 0 && !npend;
    m->new_ids_in[s] = na > 0;
    if (npend) { /* the shard is written once they are decided */
      m->fresh[s] = ins;
      m->n_fresh[s] = na;
      ins = NULL;
    }
    m->n_pending[s] = npend;
    if (m->n_cand + ncand > m->cap_cand) {
      while (m->n_cand + ncand > m->cap_cand)
        m->cap_cand = m->cap_cand ? 2 * m->cap_cand : 1024;
      m->cand = txf_xrealloc(m->cand, m->cap_cand * sizeof *m->cand);
    }
    if (ncand)
      memcpy(m->cand + m->n_cand, cand, ncand * sizeof *cand);
    m->n_cand += ncand;
    m->st.inserted += st.inserted;
    m->st.duplicates += st.duplicates;
    m->st.stale += st.stale;
    m->st.ties += st.ties;
  }
  pthread_mutex_unlock(&m->mu);
  TXF_FREE_ALL(cand, ins, adds, e, v, rows);
  for (int t = 0; t < m->n_lanes; t++) /* for the runs of later shards */
    txf_clean_block_put(m->pool, ch[t]);
  return rc;
}

/* Decide the fate of batch winner W against the lake's version O (its
 * partition DAY, ingest day O_INGEST; both content hashes computed) into
 * D: does W replace O in silver? */
static void decide(const crow *w, const crow *o, int32_t o_ingest,
                   int32_t day, const csources *src, pend_dec *d) {
  d->found = 1;
  d->old_day = day;
  d->replace = d->tie = d->lineage = 0;
  int c = txf_clean_version_cmp(w, o);
  if (c == 0) {
    /* The same content again: a duplicate. Its lineage is the earliest
     * delivery, so a duplicate from an earlier ingest day moves the
     * lineage (order independence). */
    d->fate = FATE_DUP;
    if (src->v[w->src].ingest_day < o_ingest)
      d->replace = d->lineage = 1;
    return;
  }
  d->tie = w->ingested_at_us == o->ingested_at_us;
  d->fate = c < 0 ? FATE_STALE : FATE_UPDATE;
  d->replace = c > 0;
}

void txf_clean_merge_index_pending(txf_clean_merge *m) {
  size_t n = 0;
  for (unsigned s = 0; s < IDX_SHARDS; s++)
    n += m->n_pending[s];
  size_t cap = 16;
  while (cap < n + n / 2)
    cap *= 2;
  m->pmap = txf_xcalloc(cap, sizeof *m->pmap);
  m->pmap_mask = cap - 1;
  txf_clean_filter_init(&m->pfilter, n);
  for (unsigned s = 0; s < IDX_SHARDS; s++) {
    if (!m->n_pending[s])
      continue;
    m->dec[s] = txf_xcalloc(m->n_pending[s], sizeof *m->dec[s]);
    const char *p = m->pending[s].data;
    for (size_t i = 0; i < m->n_pending[s]; i++) {
      crow r;
      const char *e = txf_clean_rec_get(p, &r);
      size_t j = (size_t)r.idh & m->pmap_mask;
      while (m->pmap[j].rec)
        j = (j + 1) & m->pmap_mask;
      m->pmap[j] = (pend_ref){r.idh, p, &m->dec[s][i]};
      txf_clean_filter_add(&m->pfilter, r.idh);
      p = e;
    }
  }
}

void txf_clean_merge_offer(txf_clean_merge *m, const crow *old,
                           int32_t old_ingest, int32_t day) {
  if (!m->pmap)
    return;
  for (size_t j = (size_t)old->idh & m->pmap_mask; m->pmap[j].rec;
       j = (j + 1) & m->pmap_mask) {
    const pend_ref *e = &m->pmap[j];
    if (e->idh != old->idh)
      continue;
    crow w;
    txf_clean_rec_get(e->rec, &w);
    if (txf_clean_id_cmp(w.idh, w.str, w.len[S_ID], old->idh, old->str,
                         old->len[S_ID]) != 0)
      continue; /* another id with the same hash */
    /* An id is in one partition: one thread decides it. */
    txf_clean_rec_hash(&w);
    decide(&w, old, old_ingest, day, m->src, e->dec);
    return;
  }
}

int txf_clean_merge_pending(txf_clean_merge *m, unsigned s, txf_err *err) {
  size_t nw = m->n_pending[s];
  /* The lake's shard again (its bytes were checked against the manifest
   * as the shard was looked up, under the lake's lock). */
  char *lake = txf_clean_index_shard_path(m->data_dir, s);
  loc_ent *e = NULL;
  size_t ne = 0;
  int rc = txf_clean_index_read(lake, s, &e, &ne, err);
  free(lake);
  merge_stats st = {0, 0, 0, 0, 0, 0};
  crow *rows = txf_xmalloc((nw ? nw : 1) * sizeof *rows);
  crow **adds = txf_xmalloc((nw ? nw : 1) * sizeof *adds);
  /* the pairs that go in: the shard's new ids and the moved ones' */
  size_t nins = m->n_fresh[s];
  loc_ent *ins = txf_xrealloc(m->fresh[s], (nw + nins) * sizeof *ins);
  m->fresh[s] = NULL;
  m->n_fresh[s] = 0;
  loc_ent *gone = txf_xmalloc((nw ? nw : 1) * sizeof *gone);
  rm_ent *rm = txf_xmalloc((nw ? nw : 1) * sizeof *rm);
  size_t na = 0, nrm = 0, ngone = 0;
  int changed = m->new_ids_in[s]; /* new ids went in already */
  const char *p = m->pending[s].data;
  for (size_t i = 0; i < nw && !rc; i++) {
    crow *x = &rows[i];
    p = txf_clean_rec_get(p, x);
    const pend_dec *d = &m->dec[s][i];
    if (!d->found) {
      /* The index held another id with the same hash: this one is new. */
      x->fate = FATE_INSERT;
      x->had_old = 0;
      st.inserted++;
      adds[na++] = x;
      ins[nins++] = (loc_ent){x->idh, x->event_day};
      continue;
    }
    st.ties += d->tie;
    st.lineage_moves += d->lineage;
    if (d->fate == FATE_DUP)
      st.duplicates++;
    else if (d->fate == FATE_STALE)
      st.stale++;
    else
      st.updated++;
    if (!d->replace)
      continue;
    x->had_old = 1;
    adds[na++] = x;
    rm[nrm++] = (rm_ent){d->old_day, x->idh, x->str, x->len[S_ID], 0};
    if (x->event_day != d->old_day) { /* the row moves */
      gone[ngone++] = (loc_ent){x->idh, d->old_day};
      ins[nins++] = (loc_ent){x->idh, x->event_day};
    }
  }
  if (!rc)
    emit_runs(m, adds, na);
  if (!rc && (nins || changed)) {
    /* one pass over the shard: the moved ids' old pairs out, the new
     * pairs in */
    txf_clean_index_sort(ins, nins);
    txf_clean_index_sort(gone, ngone);
    size_t nu, removed;
    loc_ent *u =
        txf_clean_index_edit(e, ne, gone, ngone, ins, nins, &nu, &removed);
    if (removed != ngone)
      rc = txf_err_set(err, TXF_EINTERNAL, "index shard %u lost an entry", s);
    char *path = shard_path(m, s);
    if (!rc)
      rc = txf_clean_index_write(path, s, u, nu, &m->shard_file[s], err);
    free(path);
    free(u);
    changed = 1;
  }
  pthread_mutex_lock(&m->mu);
  if (!rc) {
    m->touched[s] = (unsigned char)changed;
    if (m->n_rm + nrm > m->cap_rm) {
      while (m->n_rm + nrm > m->cap_rm)
        m->cap_rm = m->cap_rm ? 2 * m->cap_rm : 1024;
      m->rm = txf_xrealloc(m->rm, m->cap_rm * sizeof *m->rm);
    }
    for (size_t i = 0; i < nrm; i++) { /* the ids outlive this shard */
      rm[i].id = txf_arena_strndup(&m->rm_ids, rm[i].id, rm[i].len);
      m->rm[m->n_rm++] = rm[i];
    }
    m->st.inserted += st.inserted;
    m->st.updated += st.updated;
    m->st.duplicates += st.duplicates;
    m->st.stale += st.stale;
    m->st.ties += st.ties;
    m->st.lineage_moves += st.lineage_moves;
  }
  pthread_mutex_unlock(&m->mu);
  TXF_FREE_ALL(rm, gone, ins, adds, rows, e);
  txf_buf_release(&m->pending[s]);
  return rc;
}
