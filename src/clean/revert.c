/* txf_clean_revert: take one batch out of the lake, every other batch
 * staying in (docs/silver.md, "Revert"; decision 2102).
 *
 *   lock -> recover -> the batch's ids (its history file) -> where the
 *   index puts them -> the rows of those partitions whose version came
 *   from the batch (lineage ingest_date = D) -> every other version of
 *   those ids (the other batches' history files) -> those lines from
 *   bronze, validated again -> the best of them replaces each row, or
 *   the id leaves -> partitions, index, manifest, snapshot, change log
 *   staged -> journal (commit point) -> apply -> record.
 *
 * Because a clean keeps, for each id, the best version of all the lines
 * it has seen (the greatest ingested_at, then content hash; equal content:
 * the earliest delivery), and a batch D decides only the ids whose
 * winning row it delivered, the lake without D differs from the lake
 * with it exactly in those rows: each becomes the best of its other
 * versions. Cost: the batch's history, the index shards and partitions
 * its ids are in, the other batches' history files (16 bytes a line)
 * and the bronze lines of the other versions, not the lake. */
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean/internal.h"
#include "pan/pan.h"

#define STAGING ".clean/staging"

/* A row of the lake whose version came from the batch. */
typedef struct aff {
  uint64_t idh;
  int32_t day;    /* its partition */
  const char *id; /* in rv.ids */
  uint8_t len;
  uint8_t has_best;
} aff;

/* A line of another batch with an affected id's hash. */
typedef struct cand {
  uint32_t aff;   /* index into rv.aff */
  uint32_t batch; /* index into rv.b */
  uint64_t loc;   /* file << HIST_OFF_BITS | offset */
} cand;

typedef struct obatch {
  char date[11];
  int32_t day;
  txf_clean_hist h; /* its files; entries released once joined */
} obatch;

typedef struct rv {
  txf_clean_merge m; /* first: wants() finds the revert through it */
  const txf_clean_revert_opts *o;
  txf_tz *tz;
  char *staging;
  char date_str[11];
  int32_t day;
  const txf_pan_key *key; /* a card feed's lake: its lines' key */
  txf_clean_manifest lake;
  csources src;
  int64_t version;
  jop *ops;
  size_t n_ops;
  txf_clean_crash crash;
  int stage_crash;
  txf_clean_hist dh; /* the batch's history */
  uint64_t *dids;    /* its distinct id hashes, sorted */
  size_t n_dids;
  aff *aff;
  size_t n_aff, cap_aff;
  crow *best; /* per aff, when has_best */
  txf_arena ids, strs;
  obatch *b;
  size_t n_b;
  cand *cand;
  size_t n_cand;
  uint64_t bytes_read;
  int64_t lines_other;
} rv;

static void op_add(void *ctx, const char *from, const char *to) {
  rv *r = ctx;
  txf_clean_jops_add(&r->ops, &r->n_ops, from, to);
}

static int has_did(const rv *r, uint64_t h) {
  size_t lo = 0, hi = r->n_dids;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (r->dids[mid] < h)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < r->n_dids && r->dids[lo] == h;
}

/* The merge is the first member of rv: the partition reader's filter
 * gets the revert through it. */
static int wants(const txf_clean_merge *m, uint64_t idh) {
  return has_did((const rv *)(const void *)m, idh);
}

static void take_row(void *ctx, const crow *row, int32_t ingest_day,
                     int32_t day) {
  rv *r = ctx;
  if (ingest_day != r->day)
    return; /* a version of another batch won: D changes nothing here */
  if (r->n_aff == r->cap_aff) {
    r->cap_aff = r->cap_aff ? 2 * r->cap_aff : 1024;
    r->aff = txf_xrealloc(r->aff, r->cap_aff * sizeof *r->aff);
  }
  r->aff[r->n_aff++] =
      (aff){row->idh, day, txf_arena_strndup(&r->ids, row->str, row->len[S_ID]),
            row->len[S_ID], 0};
}

static int cmp_aff(const void *pa, const void *pb) {
  const aff *a = pa, *b = pb;
  if (a->idh != b->idh)
    return a->idh < b->idh ? -1 : 1;
  return (a->day > b->day) - (a->day < b->day);
}

static int cmp_cand(const void *pa, const void *pb) {
  const cand *a = pa, *b = pb;
  if (a->batch != b->batch)
    return a->batch < b->batch ? -1 : 1;
  return (a->loc > b->loc) - (a->loc < b->loc);
}

static int cmp_i32(const void *pa, const void *pb) {
  int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
  return (a > b) - (a < b);
}

static uint64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The size of index shard S's file (what reading it costs). */
static uint64_t shard_bytes(const rv *r, unsigned s) {
  char *p = txf_clean_index_shard_path(r->o->data_dir, s);
  uint64_t n = file_size(p);
  free(p);
  return n;
}

/* Index shard S (checked against the lake's manifest) into *E, *NE, its
 * bytes counted as read. */
static int read_shard(rv *r, unsigned s, loc_ent **e, size_t *ne,
                      txf_err *err) {
  r->bytes_read += shard_bytes(r, s);
  return txf_clean_manifest_read_shard(&r->lake, r->o->data_dir, s, e, ne,
                                       err);
}

/* ---------------------------------------------------------------- batches */

static int not_in_lake(const char *date_str, txf_err *err) {
  return txf_err_set(err, TXF_ENOTFOUND,
                     "batch %s is not in the lake (no clean of it to revert; "
                     "%s/ingest_date=%s.idx does not exist)",
                     date_str, TXF_HIST_DIR, date_str);
}

/* The batches in the lake: one history file each (a clean writes it, a
 * revert removes it); a quarantine folder without one is a batch cleaned
 * before the history store, which a revert cannot see into. */
static int list_batches(rv *r, txf_err *err) {
  char *hdir = txf_path_join(r->o->data_dir, TXF_HIST_DIR);
  size_t n = 0;
  char **names = txf_clean_list_dir(hdir, "ingest_date=", &n);
  free(hdir);
  int rc = 0;
  int have_d = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *d = names[i] + strlen("ingest_date=");
    txf_date day;
    if (strlen(d) != 14 || strcmp(d + 10, ".idx") != 0 ||
        txf_date_parse(d, 10, &day) != 0)
      continue;
    if (day.days == r->day) {
      have_d = 1;
      continue;
    }
    r->b = txf_xrealloc(r->b, (r->n_b + 1) * sizeof *r->b);
    obatch *b = &r->b[r->n_b++];
    memset(b, 0, sizeof *b);
    memcpy(b->date, d, 10);
    b->date[10] = '\0';
    b->day = day.days;
  }
  txf_clean_list_free(names, n);
  char *qdir = txf_path_join(r->o->data_dir, "quarantine/transactions");
  names = txf_clean_list_dir(qdir, "ingest_date=", &n);
  free(qdir);
  for (size_t i = 0; i < n && !rc; i++) {
    const char *d = names[i] + strlen("ingest_date=");
    txf_date day;
    if (strlen(d) != 10 || txf_date_parse(d, 10, &day) != 0)
      continue;
    char *rej = txf_xasprintf("%s/quarantine/transactions/%s/rejects.csv",
                              r->o->data_dir, names[i]);
    int known = !txf_fs_exists(rej) || (day.days == r->day && have_d);
    free(rej);
    for (size_t k = 0; k < r->n_b && !known; k++)
      known = r->b[k].day == day.days;
    if (known)
      continue;
    if (day.days == r->day)
      rc = txf_err_set(err, TXF_ENOTFOUND,
                       "batch %s was cleaned before the history store "
                       "existed: clean it again (txnflow clean --date %s; "
                       "the lake does not change) and then revert it",
                       d, d);
    else
      rc = txf_err_set(err, TXF_ENOTFOUND,
                       "batch %s was cleaned before the history store "
                       "existed, so its versions of the reverted ids are "
                       "unknown: clean it again first (txnflow clean --date "
                       "%s; the lake does not change)",
                       d, d);
  }
  txf_clean_list_free(names, n);
  if (!rc && !have_d)
    rc = not_in_lake(r->date_str, err);
  return rc;
}

/* ---------------------------------------------------------------- rows */

/* The batch's ids, where the index puts them, and the rows there whose
 * version the batch delivered. */
static int find_rows(rv *r, txf_err *err) {
  char *hp = txf_clean_hist_path(r->o->data_dir, r->date_str);
  int rc = txf_clean_hist_read(hp, &r->dh, err);
  r->bytes_read += file_size(hp);
  free(hp);
  if (rc)
    return rc;
  r->dids = txf_xmalloc((r->dh.n ? r->dh.n : 1) * sizeof *r->dids);
  for (size_t i = 0; i < r->dh.n; i++)
    if (!r->n_dids || r->dids[r->n_dids - 1] != r->dh.e[i].idh)
      r->dids[r->n_dids++] = r->dh.e[i].idh; /* sorted already */
  int32_t *days = NULL;
  size_t n_days = 0, cap_days = 0;
  for (size_t i = 0; i < r->n_dids && !rc;) {
    unsigned s = IDX_SHARD(r->dids[i]);
    size_t j = i;
    while (j < r->n_dids && IDX_SHARD(r->dids[j]) == s)
      j++;
    loc_ent *e = NULL;
    size_t ne = 0;
    rc = read_shard(r, s, &e, &ne, err);
    for (size_t k = 0, q = i; !rc && k < ne; k++) {
      while (q < j && r->dids[q] < e[k].idh)
        q++;
      if (q == j)
        break;
      if (r->dids[q] != e[k].idh)
        continue;
      if (n_days == cap_days) {
        cap_days = cap_days ? 2 * cap_days : 64;
        days = txf_xrealloc(days, cap_days * sizeof *days);
      }
      days[n_days++] = e[k].day;
    }
    free(e);
    i = j;
  }
  /* each partition once */
  if (n_days)
    qsort(days, n_days, sizeof *days, cmp_i32);
  size_t nd = 0;
  for (size_t i = 0; i < n_days; i++)
    if (!nd || days[nd - 1] != days[i])
      days[nd++] = days[i];
  for (size_t i = 0; i < nd && !rc; i++) {
    char *p = txf_clean_partition_path(r->o->data_dir, days[i]);
    r->bytes_read += file_size(p);
    free(p);
    rc = txf_clean_partition_each(&r->m, days[i], wants, take_row, r, err);
    if (rc) {
      char ds[11];
      txf_clean_damage_hint(err);
      txf_err_wrap(err, "partition %s",
                   txf_date_format((txf_date){days[i]}, ds));
    }
  }
  free(days);
  if (r->n_aff)
    qsort(r->aff, r->n_aff, sizeof *r->aff, cmp_aff);
  return rc;
}

/* Every other batch's lines with an affected id's hash. */
static int find_versions(rv *r, txf_err *err) {
  size_t cap = 0;
  int rc = 0;
  for (size_t bi = 0; bi < r->n_b && !rc; bi++) {
    obatch *b = &r->b[bi];
    char *hp = txf_clean_hist_path(r->o->data_dir, b->date);
    rc = txf_clean_hist_read(hp, &b->h, err);
    r->bytes_read += file_size(hp);
    free(hp);
    if (rc)
      break;
    const hist_ent *e = b->h.e;
    for (size_t i = 0, k = 0; i < r->n_aff && k < b->h.n;) {
      if (e[k].idh < r->aff[i].idh) {
        k++;
        continue;
      }
      if (e[k].idh > r->aff[i].idh) {
        i++;
        continue;
      }
      for (size_t q = k; q < b->h.n && e[q].idh == r->aff[i].idh; q++) {
        if (r->n_cand == cap) {
          cap = cap ? 2 * cap : 1024;
          r->cand = txf_xrealloc(r->cand, cap * sizeof *r->cand);
        }
        r->cand[r->n_cand++] = (cand){(uint32_t)i, (uint32_t)bi, e[q].loc};
      }
      i++;
    }
    free(b->h.e); /* its files stay: the lines are read from them */
    b->h.e = NULL;
    b->h.n = b->h.cap = 0;
  }
  if (r->n_cand)
    qsort(r->cand, r->n_cand, sizeof *r->cand, cmp_cand);
  return rc;
}

/* Is A a better version than B for the lake (clean's rules)? */
static int better(const rv *r, const crow *a, const crow *b) {
  int c = txf_clean_version_cmp(a, b);
  if (c)
    return c > 0;
  const csource *x = &r->src.v[a->src], *y = &r->src.v[b->src];
  if (x->ingest_day != y->ingest_day)
    return x->ingest_day < y->ingest_day;
  return strcmp(x->path, y->path) < 0;
}

/* Line C (its record REC) of batch B's file FI: validated again, and if
 * it is the affected id's, a version of it. */
static int offer_line(rv *r, const cand *c, const obatch *b, uint32_t fi,
                      txf_csv_record *rec, txf_err *err) {
  crow row;
  char detail[160];
  txf_reject_reason why =
      r->key ? txf_clean_validate_card(rec, &row, &r->strs, r->tz, r->key,
                                       detail, sizeof detail)
             : txf_clean_validate(rec, &row, &r->strs, r->tz, detail,
                                  sizeof detail);
  if (why != TXF_REJ_NONE)
    return txf_err_set(err, TXF_ECORRUPT,
                       "%s, byte %llu: the line its clean accepted is now "
                       "rejected (%s): the bronze file changed since",
                       b->h.files[fi],
                       (unsigned long long)(c->loc &
                                            ((UINT64_C(1) << HIST_OFF_BITS) -
                                             1)),
                       txf_reject_reason_name(why));
  aff *a = &r->aff[c->aff];
  if (row.len[S_ID] != a->len || memcmp(row.str, a->id, a->len) != 0)
    return 0; /* another id with the same hash */
  r->lines_other++;
  const char *path = b->h.files[fi];
  row.src = txf_clean_sources_intern(&r->src, path, strlen(path), b->day);
  txf_clean_row_hash(&row);
  row.hashed = 1;
  if (!a->has_best || better(r, &row, &r->best[c->aff])) {
    r->best[c->aff] = row;
    a->has_best = 1;
  }
  return 0;
}

/* The lines [C, C + N) of one file (sorted by offset). */
static int read_lines(rv *r, const cand *c, size_t n, txf_err *err) {
  const obatch *b = &r->b[c->batch];
  uint32_t fi = (uint32_t)(c->loc >> HIST_OFF_BITS);
  const char *rel = b->h.files[fi];
  char *abs =
      rel[0] == '/' ? txf_xstrdup(rel) : txf_path_join(r->o->data_dir, rel);
  size_t want = TXF_BRONZE_N_COLS + (r->key ? 1 : 0);
  const uint64_t mask = (UINT64_C(1) << HIST_OFF_BITS) - 1;
  int rc = 0;
  uint64_t size = file_size(abs);
  if (!txf_fs_exists(abs))
    rc = txf_err_set(err, TXF_ENOTFOUND,
                     "%s is gone (bronze retention?): the revert needs %zu "
                     "of its lines, the versions of batch %s that the "
                     "reverted rows fall back to; nothing was changed",
                     rel, n, b->date);
  else if (size != b->h.sizes[fi])
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%s: %llu bytes, %llu when batch %s was cleaned: the "
                     "bronze file changed since; nothing was changed",
                     rel, (unsigned long long)size,
                     (unsigned long long)b->h.sizes[fi], b->date);
  int fd = rc ? -1 : open(abs, O_RDONLY | O_CLOEXEC);
  if (!rc && fd < 0)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot open", abs);
  unsigned char magic[4] = {0, 0, 0, 0};
  if (!rc && pread(fd, magic, 4, 0) < 0)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot read", abs);
  if (!rc && txf_csv_sniff(magic, 4) != TXF_CSV_COMP_NONE) {
    /* compressed: no seeking, the file is read through once */
    close(fd);
    fd = -1;
    txf_csv_reader *rd = NULL;
    rc = txf_csv_reader_open(&rd, abs, want, err);
    r->bytes_read += size;
    size_t k = 0;
    while (!rc && k < n) {
      uint64_t at = txf_csv_reader_offset(rd);
      txf_csv_record rec;
      int has = 0;
      rc = txf_csv_reader_next(rd, &rec, &has, err);
      if (rc || !has)
        break;
      while (k < n && (c[k].loc & mask) < at)
        k++;
      for (; !rc && k < n && (c[k].loc & mask) == at; k++)
        rc = offer_line(r, &c[k], b, fi, &rec, err);
    }
    if (!rc && k < n)
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "%s: no line at byte %llu: the bronze file changed "
                       "since its clean",
                       rel, (unsigned long long)(c[k].loc & mask));
    if (rd)
      txf_csv_reader_free(rd);
  }
  /* plain text: each line where the history says it is */
  size_t cap = 512; /* a line is about 150 bytes; a longer one grows it */
  char *buf = fd >= 0 ? txf_xmalloc(cap) : NULL;
  for (size_t k = 0; fd >= 0 && !rc && k < n; k++) {
    uint64_t off = c[k].loc & mask;
    for (;;) {
      ssize_t got = pread(fd, buf, cap, (off_t)off);
      if (got < 0) {
        rc = txf_err_errno(err, TXF_EIO, "%s: cannot read", abs);
        break;
      }
      r->bytes_read += (uint64_t)got;
      txf_csv_reader *rd =
          txf_csv_reader_open_mem(buf, (size_t)got, rel, want);
      txf_csv_record rec;
      int has = 0;
      rc = txf_csv_reader_next(rd, &rec, &has, err);
      int whole = !rc && has &&
                  ((rec.term[0] != '\0' && !rec.bad_quote) ||
                   off + (uint64_t)got >= size);
      if (!rc && !whole && (size_t)got == cap && cap < 2 * TXF_CSV_MAX_RECORD) {
        txf_csv_reader_free(rd);
        cap *= 4;
        buf = txf_xrealloc(buf, cap);
        continue;
      }
      if (!rc && !has)
        rc = txf_err_set(err, TXF_ECORRUPT,
                         "%s: no line at byte %llu: the bronze file changed "
                         "since its clean",
                         rel, (unsigned long long)off);
      if (!rc)
        rc = offer_line(r, &c[k], b, fi, &rec, err);
      txf_csv_reader_free(rd);
      break;
    }
  }
  free(buf);
  if (fd >= 0)
    close(fd);
  free(abs);
  return rc;
}

static int read_versions(rv *r, txf_err *err) {
  r->best = txf_xcalloc(r->n_aff ? r->n_aff : 1, sizeof *r->best);
  int rc = 0;
  for (size_t i = 0; i < r->n_cand && !rc;) {
    size_t j = i + 1;
    while (j < r->n_cand && r->cand[j].batch == r->cand[i].batch &&
           r->cand[j].loc >> HIST_OFF_BITS == r->cand[i].loc >> HIST_OFF_BITS)
      j++;
    rc = read_lines(r, &r->cand[i], j - i, err);
    i = j;
  }
  return rc;
}

/* ---------------------------------------------------------------- stage */

typedef struct idx_edit {
  uint64_t idh;
  int32_t from, to; /* to: INT32_MIN when the id leaves */
} idx_edit;

static int cmp_edit(const void *pa, const void *pb) {
  const idx_edit *a = pa, *b = pb;
  if (a->idh != b->idh)
    return a->idh < b->idh ? -1 : 1;
  return (a->from > b->from) - (a->from < b->from);
}

/* The index shards whose ids leave or move. */
static int stage_index(rv *r, const idx_edit *ed, size_t n, txf_err *err) {
  int rc = 0;
  for (size_t i = 0; i < n && !rc;) {
    unsigned s = IDX_SHARD(ed[i].idh);
    size_t j = i;
    while (j < n && IDX_SHARD(ed[j].idh) == s)
      j++;
    loc_ent *e = NULL;
    size_t ne = 0;
    rc = read_shard(r, s, &e, &ne, err);
    /* the pairs that leave (ED is sorted by (hash, from)) and the moved
     * ones' new places */
    loc_ent *gone = txf_xmalloc((j - i) * sizeof *gone);
    loc_ent *moved = txf_xmalloc((j - i) * sizeof *moved);
    size_t nmoved = 0, removed = 0, no = 0;
    for (size_t k = i; k < j; k++) {
      gone[k - i] = (loc_ent){ed[k].idh, ed[k].from};
      if (ed[k].to != INT32_MIN)
        moved[nmoved++] = (loc_ent){ed[k].idh, ed[k].to};
    }
    txf_clean_index_sort(moved, nmoved);
    loc_ent *o = rc ? NULL
                    : txf_clean_index_edit(e, ne, gone, j - i, moved, nmoved,
                                           &no, &removed);
    if (!rc && removed != j - i)
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "index shard %u does not place an id where its "
                       "partition holds it; run 'txnflow index rebuild'",
                       s);
    free(gone);
    free(moved);
    free(e);
    e = o;
    ne = no;
    if (!rc) {
      char *path = txf_xasprintf("%s/index/shard-%03u.idx", r->staging, s);
      rc = txf_clean_index_write(path, s, e, ne, &r->m.shard_file[s], err);
      free(path);
      r->m.touched[s] = 1;
      char from[64], to[IDX_SHARD_REL_MAX];
      snprintf(from, sizeof from, STAGING "/index/shard-%03u.idx", s);
      txf_clean_index_shard_rel(s, to);
      op_add(r, from, to);
    }
    free(e);
    i = j;
  }
  return rc;
}

/* The removals, the fallbacks' runs and the index edits. */
static int stage_changes(rv *r, int64_t *restored, int64_t *deleted,
                         int64_t *moved, txf_err *err) {
  txf_clean_merge *m = &r->m;
  m->rm = txf_xmalloc((r->n_aff ? r->n_aff : 1) * sizeof *m->rm);
  m->cap_rm = r->n_aff;
  crow **adds = txf_xmalloc((r->n_aff ? r->n_aff : 1) * sizeof *adds);
  idx_edit *ed = txf_xmalloc((r->n_aff ? r->n_aff : 1) * sizeof *ed);
  size_t na = 0, ne = 0;
  for (size_t i = 0; i < r->n_aff; i++) {
    aff *a = &r->aff[i];
    m->rm[m->n_rm++] = (rm_ent){a->day, a->idh, a->id, a->len, !a->has_best};
    if (!a->has_best) {
      (*deleted)++;
      ed[ne++] = (idx_edit){a->idh, a->day, INT32_MIN};
      continue;
    }
    crow *w = &r->best[i];
    w->fate = FATE_UPDATE;
    w->replace = 1;
    w->had_old = 1;
    adds[na++] = w;
    (*restored)++;
    if (w->event_day != a->day) {
      (*moved)++;
      ed[ne++] = (idx_edit){a->idh, a->day, w->event_day};
    }
  }
  txf_clean_merge_emit(m, adds, na);
  qsort(ed, ne, sizeof *ed, cmp_edit);
  int rc = stage_index(r, ed, ne, err);
  free(adds);
  free(ed);
  return rc;
}

/* The batch's clean as the metadata recorded it: lines read and
 * quarantined (-1: not known). */
static void batch_counts(rv *r, txf_store *store, int64_t *lines,
                         int64_t *quarantined) {
  *lines = *quarantined = -1;
  if (!store)
    return;
  txf_meta_clean_query q = {r->date_str, r->date_str, 1};
  txf_meta_clean_run_list l;
  memset(&l, 0, sizeof l);
  txf_err e2;
  if (txf_meta_clean_runs_succeeded(store, &q, &l, &e2) == 0 && l.n) {
    *lines = l.v[l.n - 1].lines_read;
    *quarantined = l.v[l.n - 1].quarantined;
  }
  txf_meta_clean_run_list_release(&l);
}

static int check_meta(rv *r, txf_err *err) {
  char *tz = NULL, *key = NULL;
  int rc = txf_clean_meta_zone(r->o->data_dir, &tz, &key, err);
  if (!rc && !tz)
    rc = txf_err_set(err, TXF_ENOTFOUND,
                     "%s has no silver lake to revert a batch from",
                     r->o->data_dir);
  if (!rc && r->o->timezone && strcmp(tz, r->o->timezone) != 0)
    rc = txf_err_set(err, TXF_ECONFIG,
                     "the silver lake is partitioned in time zone '%s', not "
                     "'%s'",
                     tz, r->o->timezone);
  if (!rc && key) {
    const char *have = r->o->pan_key ? txf_pan_key_id(r->o->pan_key) : NULL;
    if (!have || strcmp(have, key) != 0)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "the silver lake's card tokens are under key '%s': a "
                       "revert validates its bronze lines again and needs "
                       "that key (TXNFLOW_PAN_KEY_FILE; docs/card-data.md)",
                       key);
    r->key = r->o->pan_key;
    r->m.cards = 1;
    r->m.key_id = r->key ? txf_pan_key_id(r->key) : NULL;
  }
  if (!rc)
    rc = txf_tz_load(&r->tz, tz, err);
  free(tz);
  free(key);
  return rc;
}

static int do_revert(rv *r, txf_store *store, char **report_json,
                     txf_err *err) {
  const txf_clean_revert_opts *o = r->o;
  int64_t t0 = txf_mono_us();
  int rc = check_meta(r, err);
  if (!rc)
    rc = list_batches(r, err);
  static const char *const sub[] = {"index", "part", "changes"};
  for (int i = 0; i < 3 && !rc; i++) {
    char *d = txf_path_join(r->staging, sub[i]);
    rc = txf_fs_mkdirs(d, err);
    free(d);
  }
  if (!rc)
    rc = txf_clean_manifest_load(&r->lake, o->data_dir, err);
  if (!rc)
    rc = txf_clean_last_version(o->data_dir, &r->version, err);
  r->version++;
  /* the merge's parts a rewrite reads: the rows' lineage, the blocks of
   * their records, the lake's manifest */
  txf_clean_merge *m = &r->m;
  m->src = &r->src;
  m->pool = txf_clean_pool_new();
  m->manifest = &r->lake;
  m->data_dir = o->data_dir;
  m->staging_dir = r->staging;
  if (!rc)
    rc = find_rows(r, err);
  if (!rc)
    rc = find_versions(r, err);
  if (!rc)
    rc = read_versions(r, err);
  if (rc)
    return rc;
  int64_t restored = 0, deleted = 0, moved = 0;
  json_t *rep = json_object();
  char run_id[64];
  snprintf(run_id, sizeof run_id, "revert-%s-%lld-%ld", r->date_str,
           (long long)txf_wall_us(), (long)getpid());
  json_object_set_new(rep, "run_id", json_string(run_id));
  json_object_set_new(rep, "operation", json_string("revert"));
  json_object_set_new(rep, "ingest_date", json_string(r->date_str));
  if (!o->dry_run) {
    rc = stage_changes(r, &restored, &deleted, &moved, err);
    txf_clean_stage_parts sp = {.data_dir = o->data_dir,
                                .staging = r->staging,
                                .version = r->version,
                                .now_us = o->now_us,
                                .threads = o->threads,
                                .crash = &r->crash,
                                .crash_counter = &r->stage_crash,
                                .add_op = op_add,
                                .ctx = r};
    if (!rc)
      rc = txf_clean_partitions_stage(m, &sp, rep, err);
    /* each rewritten partition's old file was read through once more */
    const char *dk;
    json_t *dv;
    json_object_foreach(json_object_get(rep, "rows_per_partition"), dk, dv) {
      txf_date dd;
      if (txf_date_parse(dk, 10, &dd) == 0) {
        char *pp = txf_clean_partition_path(o->data_dir, dd.days);
        r->bytes_read += file_size(pp);
        free(pp);
      }
    }
    int staged = 0;
    if (!rc)
      rc = txf_clean_manifest_stage(&r->lake, o->data_dir, r->staging,
                                    m->touched, m->shard_file, rep, &staged,
                                    err);
    if (!rc && staged)
      op_add(r, STAGING "/index/_manifest.json", TXF_CLEAN_MANIFEST);
  } else {
    json_t *days = json_array();
    for (size_t i = 0; i < r->n_aff; i++) {
      int32_t ds[2] = {r->aff[i].day, r->aff[i].has_best
                                          ? r->best[i].event_day
                                          : r->aff[i].day};
      restored += r->aff[i].has_best;
      deleted += !r->aff[i].has_best;
      moved += ds[1] != ds[0];
      for (int k = 0; k < 2; k++) {
        char d[11];
        txf_date_format((txf_date){ds[k]}, d);
        size_t q;
        json_t *x;
        int seen = 0;
        json_array_foreach(days, q, x) seen |= strcmp(json_string_value(x),
                                                      d) == 0;
        if (!seen)
          json_array_append_new(days, json_string(d));
      }
    }
    json_object_set_new(rep, "partitions_rewritten", days);
    json_object_set_new(rep, "commit_version", json_null());
  }
  if (rc) {
    json_decref(rep);
    return rc;
  }
  /* the batch's quarantine and history leave with it */
  if (!o->dry_run) {
    char to[128];
    snprintf(to, sizeof to,
             "quarantine/transactions/ingest_date=%s/rejected_lines.csv",
             r->date_str);
    op_add(r, NULL, to);
    snprintf(to, sizeof to, "quarantine/transactions/ingest_date=%s/rejects.csv",
             r->date_str);
    op_add(r, NULL, to);
    snprintf(to, sizeof to, TXF_HIST_DIR "/ingest_date=%s.idx", r->date_str);
    op_add(r, NULL, to);
  }
  /* the reconciliation: every line of the batch leaves; its valid lines'
   * ids either kept another batch's row (nothing to do) or had the
   * batch's, which is restored from the others or deleted */
  int64_t lines = -1, quarantined = -1;
  batch_counts(r, store, &lines, &quarantined);
  int64_t valid = (int64_t)r->dh.n;
  json_object_set_new(rep, "dry_run", json_boolean(o->dry_run));
  /* the batch taken out, as a clean names the one it read: a batch landed
   * in its place later is a new one, which the daily run cleans */
  char msha[65];
  txf_err merr;
  if (txf_bronze_batch_sha256(o->data_dir, o->ingest_date, msha, &merr) == 0)
    json_object_set_new(rep, "batch_sha256", json_string(msha));
  json_object_set_new(rep, "lines_removed",
                      json_integer(lines >= 0 ? lines : valid));
  json_object_set_new(rep, "lines_read", json_integer(lines >= 0 ? lines
                                                                   : valid));
  json_object_set_new(rep, "valid_lines", json_integer(valid));
  json_object_set_new(rep, "quarantined",
                      quarantined >= 0 ? json_integer(quarantined)
                                       : json_null());
  json_object_set_new(rep, "ids_in_batch", json_integer((int64_t)r->n_dids));
  json_object_set_new(rep, "rows_from_batch", json_integer((int64_t)r->n_aff));
  json_object_set_new(rep, "restored", json_integer(restored));
  json_object_set_new(rep, "updated", json_integer(restored));
  json_object_set_new(rep, "deleted", json_integer(deleted));
  json_object_set_new(rep, "moved", json_integer(moved));
  json_object_set_new(rep, "other_versions_read", json_integer(r->lines_other));
  json_object_set_new(rep, "bytes_read", json_integer((int64_t)r->bytes_read));
  json_object_set_new(rep, "reconciled",
                      json_boolean(lines < 0 || lines == valid + quarantined));
  json_object_set_new(rep, "started_at_us", json_integer(o->now_us));
  json_object_set_new(rep, "ended_at_us",
                      json_integer(o->now_us + (txf_mono_us() - t0)));
  static const char *const order[] = {
      "run_id", "operation", "ingest_date", "dry_run", "lines_removed",
      "valid_lines", "quarantined", "ids_in_batch", "rows_from_batch",
      "restored", "deleted", "moved", "reconciled", "partitions_rewritten",
      "rows_per_partition", "commit_version", "changes",
      "other_versions_read", "bytes_read", NULL};
  json_t *out = json_object();
  for (const char *const *k = order; *k; k++)
    if (json_object_get(rep, *k))
      json_object_set(out, *k, json_object_get(rep, *k));
  json_object_update_missing(out, rep);
  json_decref(rep);
  if (lines >= 0 && lines != valid + quarantined) {
    json_decref(out);
    return txf_err_set(err, TXF_EINTERNAL,
                       "reconciliation does not add up: batch %s's clean "
                       "read %lld lines, its history holds %lld valid and "
                       "%lld were quarantined; nothing committed",
                       r->date_str, (long long)lines, (long long)valid,
                       (long long)quarantined);
  }
  if (o->dry_run) {
    *report_json = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(out);
    return 0;
  }
  txf_clean_snap_in si = {.data_dir = o->data_dir,
                          .staging = r->staging,
                          .version = r->version,
                          .now_us = o->now_us,
                          .operation = "revert",
                          .run_id = run_id,
                          .ingest_date = r->date_str,
                          .removes = 1,
                          .manifest = &r->lake,
                          .store = store,
                          .add_op = op_add,
                          .ctx = r};
  return txf_clean_run_commit(&si, out, &r->ops, &r->n_ops, &r->crash,
                              &r->stage_crash, report_json, err);
}

/* Was the batch's latest run a revert, and is it out of the lake? */
static int already_reverted(const rv *r, txf_store *store) {
  char *hp = txf_clean_hist_path(r->o->data_dir, r->date_str);
  int gone = !txf_fs_exists(hp);
  free(hp);
  if (!gone || !store)
    return 0;
  txf_meta_clean_run_list l;
  memset(&l, 0, sizeof l);
  txf_err e2;
  int was = txf_meta_clean_latest(store, r->date_str, &l, &e2) == 0 && l.n &&
            l.v[0].state && strcmp(l.v[0].state, "reverted") == 0;
  txf_meta_clean_run_list_release(&l);
  if (was) {
    char *qd = txf_xasprintf("%s/quarantine/transactions/ingest_date=%s",
                             r->o->data_dir, r->date_str);
    (void)rmdir(qd);
    free(qd);
  }
  return was;
}

int txf_clean_revert_check(const char *data_dir, txf_date date,
                           txf_store *store, txf_err *err) {
  rv r;
  memset(&r, 0, sizeof r);
  txf_clean_revert_opts o = {.data_dir = data_dir, .ingest_date = date};
  r.o = &o;
  txf_date_format(date, r.date_str);
  char *hp = txf_clean_hist_path(data_dir, r.date_str);
  int in = txf_fs_exists(hp);
  free(hp);
  if (in || already_reverted(&r, store))
    return 0;
  return not_in_lake(r.date_str, err);
}

int txf_clean_revert(const txf_clean_revert_opts *o, txf_store *store,
                     char **report_json, txf_err *err) {
  *report_json = NULL;
  rv r;
  memset(&r, 0, sizeof r);
  _Static_assert(offsetof(rv, m) == 0, "wants() finds the revert from m");
  r.o = o;
  char step[16];
  if (o->crash_at && sscanf(o->crash_at, "%15[a-z]:%d", step, &r.crash.n) == 2)
    r.crash.step = step;
  r.day = o->ingest_date.days;
  txf_date_format(o->ingest_date, r.date_str);
  pthread_mutex_init(&r.m.mu, NULL);
  txf_arena_init(&r.m.rm_ids, 1 << 12);
  txf_arena_init(&r.ids, 1 << 16);
  txf_arena_init(&r.strs, 1 << 16);
  int lock_fd = -1;
  int rc = txf_clean_lake_enter(o->data_dir, store, o->log, &lock_fd, err);
  if (rc)
    goto out;
  r.staging = txf_path_join(o->data_dir, STAGING);
  if (already_reverted(&r, store)) {
    /* a rerun after a kill once the journal was written: the recovery
     * above finished it */
    *report_json = txf_xasprintf(
        "{\n  \"operation\": \"revert\",\n  \"ingest_date\": \"%s\",\n"
        "  \"already_reverted\": true,\n  \"dry_run\": %s\n}",
        r.date_str, o->dry_run ? "true" : "false");
    goto out;
  }
  rc = do_revert(&r, store, report_json, err);
  /* the batch's quarantine folder, emptied by the commit */
  char *qd = txf_xasprintf("%s/quarantine/transactions/ingest_date=%s",
                           o->data_dir, r.date_str);
  if (!rc && !o->dry_run)
    (void)rmdir(qd);
  free(qd);
  char *j = txf_path_join(o->data_dir, ".clean/journal.json");
  if ((rc || o->dry_run) && !txf_fs_exists(j)) {
    txf_err e2;
    if (txf_fs_rmtree(r.staging, &e2) != 0)
      txf_log_warn(o->log, "%s", e2.msg);
  }
  free(j);
out:
  for (size_t i = 0; i < r.n_ops; i++) {
    free(r.ops[i].from);
    free(r.ops[i].to);
  }
  free(r.ops);
  for (size_t i = 0; i < r.n_b; i++)
    txf_clean_hist_release(&r.b[i].h);
  free(r.b);
  txf_clean_hist_release(&r.dh);
  free(r.dids);
  free(r.aff);
  free(r.best);
  free(r.cand);
  free(r.m.run);
  free(r.m.rm);
  txf_clean_pool_free(r.m.pool);
  txf_arena_release(&r.m.rm_ids);
  txf_arena_release(&r.ids);
  txf_arena_release(&r.strs);
  pthread_mutex_destroy(&r.m.mu);
  txf_clean_sources_release(&r.src);
  txf_clean_manifest_release(&r.lake);
  free(r.staging);
  txf_tz_free(r.tz);
  if (lock_fd >= 0)
    close(lock_fd);
  return rc;
}
