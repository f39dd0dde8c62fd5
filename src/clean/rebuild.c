/* txnflow index rebuild: the id index and the manifest, from silver
 * (docs/silver.md, "Checksums and the manifest").
 *
 * Silver is the truth, the index a map to it: every partition file is
 * read whole (every page's CRC checked), each row must be a silver row of
 * its partition (an id, its event date that day, in silver order), and
 * the (id hash, day) pairs of all rows become the 256 shards. The
 * partitions' sizes and SHA-256 and the new shards' go into a new
 * manifest. Shards and manifest are staged and committed by the clean's
 * journal, so a crash leaves the old index or the new one. A damaged
 * partition stops the rebuild (nothing is changed) with the file named:
 * the index is never built from damage. Memory: 16 bytes an id. */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/internal.h"

#define STAGING ".clean/staging"

typedef struct rebuild {
  const char *data_dir;
  const txf_tz *tz;
  loc_ent *e;
  size_t n, cap;
  int64_t rows;
  txf_clean_manifest mf;
} rebuild;

static int damaged(const char *ds, const char *rel, const char *why,
                   txf_err *err) {
  return txf_err_set(err, TXF_ECORRUPT,
                     "silver partition %s (%s) is damaged: %s; nothing was "
                     "changed; restore the file from a copy (the published "
                     "lake holds one), or delete it, rebuild, and clean "
                     "again the ingest dates of its rows",
                     ds, rel, why);
}

/* Read partition DAY (file ABS) whole: its pairs into B, its checksum
 * into the manifest. */
static int read_partition(rebuild *b, int32_t day, const char *abs,
                          txf_err *err) {
  const char *rel = abs + strlen(b->data_dir) + 1;
  char ds[11];
  txf_date_format((txf_date){day}, ds);
  char sha[65];
  uint64_t size;
  int rc = txf_sha256_file(abs, sha, &size, err);
  if (rc)
    return rc;
  txf_pq_reader *rd = NULL;
  rc = txf_pq_reader_open(&rd, abs, err);
  /* Exactly silver's columns (a card feed's lake: and its card columns),
   * in order: all of them are read (and their pages checked) in that
   * order. */
  const txf_pq_schema *sc = rd ? txf_pq_reader_schema(rd) : NULL;
  size_t nc = sc ? sc->n_cols : 0;
  if (!rc && nc != TXF_SILVER_N_COLS && nc != TXF_SILVER_MAX_COLS)
    rc = txf_err_set(err, TXF_ECORRUPT, "%s: not the silver schema", abs);
  for (size_t i = 0; !rc && i < nc; i++)
    if (strcmp(sc->cols[i].name, txf_silver_columns_all[i].name) != 0 ||
        sc->cols[i].type != txf_silver_columns_all[i].type)
      rc = txf_err_set(err, TXF_ECORRUPT, "%s: not the silver schema", abs);
  txf_pq_value v[TXF_SILVER_MAX_COLS];
  char prev_id[MAX_ID_LEN];
  size_t prev_len = 0;
  int64_t prev_ts = INT64_MIN, row = 0;
  int bad_row = 0;
  while (!rc && txf_clean_read_row(rd, v, &row, &rc, err)) {
    char why[160];
    why[0] = '\0';
    const char *id = v[0].v.str;
    size_t len = v[0].is_null ? 0 : v[0].len;
    int64_t ts = v[4].v.i64;
    /* (previous row) vs (this row) in silver order: must be < 0 */
    int c = prev_ts != ts ? (prev_ts < ts ? -1 : 1)
                          : txf_bytes_cmp(prev_id, prev_len, id, len);
    if (len == 0 || len > MAX_ID_LEN)
      snprintf(why, sizeof why, "row %lld has no valid transaction_id",
               (long long)row);
    else if (txf_tz_local_date(b->tz, ts).days != day)
      snprintf(why, sizeof why, "row %lld has another event date",
               (long long)row);
    else if (row > 1 && c >= 0)
      snprintf(why, sizeof why, "row %lld is out of silver order",
               (long long)row);
    if (why[0]) {
      rc = damaged(ds, rel, why, err);
      bad_row = 1;
      break;
    }
    memcpy(prev_id, id, len);
    prev_len = len;
    prev_ts = ts;
    if (b->n == b->cap) {
      b->cap = b->cap ? 2 * b->cap : 1 << 16;
      b->e = txf_xrealloc(b->e, b->cap * sizeof *b->e);
    }
    b->e[b->n++] = (loc_ent){txf_clean_id_hash(id, len), day};
  }
  txf_pq_reader_free(rd);
  if (rc && rc != TXF_ECORRUPT && rc != TXF_EUNSUPPORTED && rc != TXF_ENOTFOUND)
    return rc;
  if (rc && !bad_row) {
    char m[400];
    memcpy(m, err->msg, sizeof m - 1);
    m[sizeof m - 1] = '\0';
    return damaged(ds, rel, m, err);
  }
  if (rc)
    return rc;
  b->rows += row;
  txf_clean_manifest_set_partition(&b->mf, day, size, sha);
  return 0;
}

/* Every partition under silver/transactions, in day order. */
static int read_silver(rebuild *b, int64_t *n_parts, txf_err *err) {
  size_t nd;
  txf_clean_part_dir *pd = txf_clean_partition_dirs(b->data_dir, &nd);
  int rc = 0;
  *n_parts = 0;
  for (size_t i = 0; i < nd && !rc; i++) {
    char *ddir = txf_path_join(b->data_dir, pd[i].rel);
    size_t nf;
    char **files = txf_clean_list_dir(ddir, "", &nf);
    if (pd[i].day == INT32_MIN)
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "%s: not a partition directory (year=YYYY/"
                       "month=MM/day=DD); move it out of silver",
                       pd[i].rel);
    for (size_t fi = 0; fi < nf && !rc; fi++) {
      const char *f = files[fi];
      size_t fl = strlen(f);
      if (f[0] == '.' || fl < 8 || strcmp(f + fl - 8, ".parquet") != 0)
        continue; /* readers see *.parquet only */
      char *abs = txf_path_join(ddir, f);
      if (strcmp(f, "part-00000.parquet") != 0)
        rc = txf_err_set(err, TXF_ECORRUPT,
                         "%s: not a file clean writes (readers would "
                         "see its rows); move it out of silver",
                         abs + strlen(b->data_dir) + 1);
      else {
        rc = read_partition(b, pd[i].day, abs, err);
        (*n_parts)++;
      }
      free(abs);
    }
    txf_clean_list_free(files, nf);
    free(ddir);
  }
  txf_clean_part_dirs_free(pd, nd);
  return rc;
}

/* The lake's zone: _meta.json's, else TZ (then also staged as
 * _meta.json: *STAGE_META). */
static int lake_zone(const char *data_dir, const char *staging, const char *tz,
                     char **zone, int *stage_meta, txf_err *err) {
  *stage_meta = 0;
  int rc = txf_clean_meta_zone(data_dir, zone, NULL, err);
  if (!rc && !*zone) {
    *zone = txf_xstrdup(tz);
    char *st = txf_path_join(staging, "index/_meta.json");
    rc = txf_clean_meta_write(st, tz, NULL, err);
    free(st);
    *stage_meta = !rc;
  }
  return rc;
}

int txf_clean_index_rebuild(const txf_clean_rebuild_opts *o, txf_store *store,
                            char **report_json, txf_err *err) {
  *report_json = NULL;
  int lock_fd = -1, recovered = 0, stage_meta = 0;
  int rc = txf_clean_lake_lock(o->data_dir, &lock_fd, err);
  if (rc)
    return rc;
  rebuild b;
  memset(&b, 0, sizeof b);
  b.data_dir = o->data_dir;
  txf_tz *tz = NULL;
  char *zone = NULL;
  jop *ops = NULL;
  size_t n_ops = 0;
  char *staging = txf_path_join(o->data_dir, STAGING);
  char *sdir = txf_path_join(staging, "index");
  rc = txf_clean_recover(o->data_dir, store, &recovered, err);
  if (rc)
    txf_err_wrap(err, "recovering an interrupted clean");
  if (!rc)
    rc = txf_fs_mkdirs(sdir, err);
  if (!rc)
    rc = lake_zone(o->data_dir, staging, o->timezone, &zone, &stage_meta, err);
  if (!rc)
    rc = txf_tz_load(&tz, zone, err);
  b.tz = tz;
  int64_t n_parts = 0;
  if (!rc)
    rc = read_silver(&b, &n_parts, err);
  int written = 0, removed = 0;
  if (!rc) {
    txf_clean_index_sort(b.e, b.n);
    char *live = txf_clean_index_dir(o->data_dir);
    for (size_t i = 0; i < b.n && !rc;) {
      unsigned s = IDX_SHARD(b.e[i].idh);
      size_t j = i;
      while (j < b.n && IDX_SHARD(b.e[j].idh) == s)
        j++;
      char from[64], path_rel[64];
      snprintf(from, sizeof from, STAGING "/index/shard-%03u.idx", s);
      snprintf(path_rel, sizeof path_rel, "index/shard-%03u.idx", s);
      char *path = txf_path_join(staging, path_rel);
      rc = txf_clean_index_write(path, s, b.e + i, j - i, &b.mf.shard[s], err);
      b.mf.has_shard[s] = !rc;
      free(path);
      written++;
      i = j;
    }
    for (unsigned s = 0; s < IDX_SHARDS && !rc; s++) {
      char name[24], to[IDX_SHARD_REL_MAX];
      snprintf(name, sizeof name, "shard-%03u.idx", s);
      txf_clean_index_shard_rel(s, to);
      if (b.mf.has_shard[s]) {
        char from[80];
        snprintf(from, sizeof from, STAGING "/index/%s", name);
        txf_clean_jops_add(&ops, &n_ops, from, to);
      } else {
        char *p = txf_path_join(live, name);
        if (txf_fs_exists(p)) {
          txf_clean_jops_add(&ops, &n_ops, NULL, to);
          removed++;
        }
        free(p);
      }
    }
    free(live);
  }
  if (!rc && stage_meta)
    txf_clean_jops_add(&ops, &n_ops, STAGING "/index/_meta.json",
                       "silver/_index/transactions/_meta.json");
  if (!rc) {
    char *path = txf_path_join(staging, "index/_manifest.json");
    rc = txf_clean_manifest_write(&b.mf, path, err);
    free(path);
    txf_clean_jops_add(&ops, &n_ops, STAGING "/index/_manifest.json",
                       TXF_CLEAN_MANIFEST);
  }
  json_t *rep = json_pack("{s:s,s:I,s:I,s:I,s:i,s:i}", "timezone",
                          zone ? zone : "", "partitions", (json_int_t)n_parts,
                          "rows", (json_int_t)b.rows, "ids", (json_int_t)b.n,
                          "shards_written", written, "shards_removed", removed);
  char *text = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(rep);
  if (!rc) {
    rc = txf_clean_journal_commit_files(o->data_dir, "index-rebuild", ops,
                                        n_ops, NULL, err);
  } else {
    txf_err e2;
    if (txf_fs_rmtree(staging, &e2) != 0)
      txf_log_warn(o->log, "%s", e2.msg);
  }
  if (!rc)
    *report_json = text;
  else
    free(text);
  for (size_t i = 0; i < n_ops; i++) {
    free(ops[i].from);
    free(ops[i].to);
  }
  free(ops);
  free(b.e);
  txf_clean_manifest_release(&b.mf);
  txf_tz_free(tz);
  free(zone);
  free(sdir);
  free(staging);
  close(lock_fd);
  return rc;
}
