/* txnflow keys rotate: a card feed's lake moved to a new key
 * (docs/card-data.md, "Rotating the key").
 *
 * A token is a keyed hash: it cannot be turned into another key's token
 * without the card number. The numbers are in bronze (where they landed),
 * so the old token -> new token map is made from bronze's card_number
 * columns under both keys; then every partition is rewritten with its
 * tokens mapped and card_key_id the new key's, every row an update in a
 * new version of the change log (so incremental models follow), and the
 * lot is committed by clean's journal: a crash leaves the old lake or the
 * new, never tokens of two keys. A token no bronze number gives (its file
 * was removed) stops the rotation before anything is committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/internal.h"
#include "pan/pan.h"

#define STAGING ".clean/staging"

/* old token -> new token, open addressing on the old token's first 16 hex
 * digits (a keyed hash: uniform) */
typedef struct tok_ent {
  char old[PAN_TOKEN_LEN], new_[PAN_TOKEN_LEN];
  uint8_t used;
} tok_ent;

typedef struct tok_map {
  tok_ent *v;
  size_t n, mask;
} tok_map;

static uint64_t tok_hash(const char *t) {
  uint64_t h = 0;
  for (int i = 0; i < 16; i++)
    h = h << 4 |
        (uint64_t)(t[i] <= '9' ? t[i] - '0' : (t[i] | 0x20) - 'a' + 10);
  return h;
}

static tok_ent *tok_slot(const tok_map *m, const char *old) {
  size_t j = (size_t)tok_hash(old) & m->mask;
  while (m->v[j].used && memcmp(m->v[j].old, old, PAN_TOKEN_LEN) != 0)
    j = (j + 1) & m->mask;
  return &m->v[j];
}

static void tok_put(tok_map *m, const char *old, const char *new_) {
  if (2 * (m->n + 1) > m->mask + 1) {
    tok_map g = {txf_xcalloc(2 * (m->mask + 1), sizeof *g.v), 0,
                 2 * (m->mask + 1) - 1};
    for (size_t i = 0; i <= m->mask; i++)
      if (m->v[i].used) {
        *tok_slot(&g, m->v[i].old) = m->v[i];
        g.n++;
      }
    free(m->v);
    *m = g;
  }
  tok_ent *e = tok_slot(m, old);
  if (e->used)
    return;
  memcpy(e->old, old, PAN_TOKEN_LEN);
  memcpy(e->new_, new_, PAN_TOKEN_LEN);
  e->used = 1;
  m->n++;
}

static const char *tok_get(void *ctx, const char *old) {
  const tok_ent *e = tok_slot(ctx, old);
  return e->used ? e->new_ : NULL;
}

/* Every card number of the bronze file PATH (a card feed's: its header
 * ends in card_number; another file adds nothing) into M. */
static int map_file(tok_map *m, const char *path, const txf_pan_key *old_key,
                    const txf_pan_key *new_key, int64_t *n_numbers,
                    txf_err *err) {
  txf_csv_reader *rd;
  int rc = txf_csv_reader_open_opts(&rd, path, 0, NULL, err);
  if (rc)
    return rc;
  txf_csv_record rec;
  int has = 0;
  rc = txf_csv_reader_next(rd, &rec, &has, err);
  if (!rc && has && txf_clean_header_cards(&rec)) {
    txf_csv_reader_expect(rd, TXF_BRONZE_N_COLS + 1);
    while (!rc) {
      rc = txf_csv_reader_next(rd, &rec, &has, err);
      if (rc || !has)
        break;
      if (rec.n_fields != TXF_BRONZE_N_COLS + 1)
        continue; /* quarantined by clean: not in silver */
      txf_pan_card a, b;
      txf_err e;
      const char *f = rec.field[TXF_BRONZE_N_COLS];
      size_t fl = rec.field_len[TXF_BRONZE_N_COLS];
      if (txf_pan_tokenize(old_key, f, fl, &a, &e) ||
          txf_pan_tokenize(new_key, f, fl, &b, &e))
        continue; /* bad_card_number: not in silver either */
      tok_put(m, a.token, b.token);
      (*n_numbers)++;
    }
  }
  txf_csv_reader_free(rd);
  return rc ? txf_err_wrap(err, "%s", path) : 0;
}

/* The map from every file under bronze/transactions/ingest_date=*. */
static int map_bronze(tok_map *m, const char *data_dir,
                      const txf_pan_key *old_key, const txf_pan_key *new_key,
                      int64_t *n_files, int64_t *n_numbers, txf_err *err) {
  char *root = txf_path_join(data_dir, "bronze/transactions");
  size_t nd = 0;
  char **days = txf_clean_list_dir(root, "ingest_date=", &nd);
  int rc = 0;
  for (size_t i = 0; i < nd && !rc; i++) {
    char *dir = txf_path_join(root, days[i]);
    size_t nf = 0;
    char **files = txf_clean_list_dir(dir, "", &nf);
    for (size_t k = 0; k < nf && !rc; k++) {
      if (files[k][0] == '_' || files[k][0] == '.')
        continue; /* the manifest, temporary files */
      char *p = txf_path_join(dir, files[k]);
      if (!txf_fs_is_dir(p)) {
        rc = map_file(m, p, old_key, new_key, n_numbers, err);
        (*n_files)++;
      }
      free(p);
    }
    txf_clean_list_free(files, nf);
    free(dir);
  }
  txf_clean_list_free(days, nd);
  free(root);
  return rc;
}

/* The journal's ops, for the snapshot's staging to add to. */
typedef struct op_list {
  jop **ops;
  size_t *n;
} op_list;

static void snap_op(void *ctx, const char *from, const char *to) {
  op_list *l = ctx;
  txf_clean_jops_add(l->ops, l->n, from, to);
}

/* The lake's key must be OLD_KEY's, and NEW_KEY another. */
static int check_keys(const char *zone, const char *lake_key,
                      const txf_clean_rotate_opts *o, txf_err *err) {
  const char *oid = txf_pan_key_id(o->old_key);
  const char *nid = txf_pan_key_id(o->new_key);
  if (!zone)
    return txf_err_set(err, TXF_ENOTFOUND, "%s: no silver lake yet",
                       o->data_dir);
  if (!lake_key)
    return txf_err_set(err, TXF_ECONFIG,
                       "the silver lake has no card columns (its feed has no "
                       "card numbers): there is no key to rotate");
  if (strcmp(lake_key, oid) != 0)
    return txf_err_set(err, TXF_ECONFIG,
                       "the silver lake's tokens are under key '%s', the old "
                       "key given is '%s'",
                       lake_key, oid);
  if (strcmp(oid, nid) == 0)
    return txf_err_set(err, TXF_ECONFIG,
                       "the new key is the old one ('%s'): nothing to rotate",
                       oid);
  return 0;
}

int txf_clean_keys_rotate(const txf_clean_rotate_opts *o, txf_store *store,
                          char **report_json, txf_err *err) {
  *report_json = NULL;
  int lock_fd = -1, recovered = 0;
  int rc = txf_clean_lake_lock(o->data_dir, &lock_fd, err);
  if (rc)
    return rc;
  char *staging = txf_path_join(o->data_dir, STAGING);
  char *zone = NULL, *lake_key = NULL;
  tok_map map = {txf_xcalloc(1024, sizeof *map.v), 0, 1023};
  txf_clean_manifest mf;
  memset(&mf, 0, sizeof mf);
  jop *ops = NULL;
  size_t n_ops = 0, n_pd = 0;
  txf_clean_part_dir *pd = NULL;
  int64_t n_files = 0, n_numbers = 0, n_rows = 0, version = 0;
  int64_t n_parts = 0;
  rc = txf_clean_recover(o->data_dir, store, &recovered, err);
  if (rc)
    txf_err_wrap(err, "recovering an interrupted clean");
  if (!rc)
    rc = txf_clean_meta_zone(o->data_dir, &zone, &lake_key, err);
  if (!rc)
    rc = check_keys(zone, lake_key, o, err);
  if (!rc)
    rc = txf_clean_manifest_load(&mf, o->data_dir, err);
  if (!rc)
    rc = txf_clean_last_version(o->data_dir, &version, err);
  version++;
  static const char *const sub[] = {"index", "part", "changes"};
  for (int i = 0; i < 3 && !rc; i++) {
    char *d = txf_path_join(staging, sub[i]);
    rc = txf_fs_mkdirs(d, err);
    free(d);
  }
  if (!rc)
    rc = map_bronze(&map, o->data_dir, o->old_key, o->new_key, &n_files,
                    &n_numbers, err);
  if (!rc)
    txf_log_info(o->log, "%lld card numbers in %lld bronze files: %zu cards",
                 (long long)n_numbers, (long long)n_files, map.n);
  txf_clean_rekey k = {o->data_dir, &mf, txf_pan_key_id(o->new_key), tok_get,
                       &map};
  txf_pq_pool *pool = txf_pq_pool_new(1);
  json_t *rows_per = json_object(); /* the snapshot's partitions changed */
  if (!rc)
    pd = txf_clean_partition_dirs(o->data_dir, &n_pd);
  for (size_t i = 0; i < n_pd && !rc; i++) {
    if (pd[i].day == INT32_MIN)
      continue; /* not a partition of ours: clean ignores it too */
    char *path = txf_clean_partition_path(o->data_dir, pd[i].day);
    int exists = txf_fs_exists(path);
    free(path);
    if (!exists)
      continue;
    char d[11];
    txf_date_format((txf_date){pd[i].day}, d);
    part_job j;
    memset(&j, 0, sizeof j);
    j.day = pd[i].day;
    char *out = txf_xasprintf("%s/part/%s.parquet", staging, d);
    char *chg = txf_xasprintf("%s/changes/%s.parquet", staging, d);
    j.out_path = out;
    j.chg = (change_out){chg, version, o->now_us, 0};
    rc = txf_clean_partition_rekey(&k, &j, pool, err);
    if (!rc) {
      char *from = txf_xasprintf(STAGING "/part/%s.parquet", d);
      char *to = txf_clean_partition_path("", pd[i].day);
      txf_clean_jops_add(&ops, &n_ops, from,
                         to + 1); /* relative: no leading '/' */
      free(from);
      free(to);
      from = txf_xasprintf(STAGING "/changes/%s.parquet", d);
      to = txf_xasprintf(TXF_SILVER_CHANGES_DIR
                         "/version=%010lld/part-%.4s%.2s%.2s.parquet",
                         (long long)version, d, d + 5, d + 8);
      txf_clean_jops_add(&ops, &n_ops, from, to);
      free(from);
      free(to);
      txf_clean_manifest_set_partition(&mf, j.day, j.size_bytes, j.sha);
      json_object_set_new(rows_per, d, json_integer(j.n_rows));
      n_rows += j.n_rows;
      n_parts++;
    }
    free(out);
    free(chg);
  }
  txf_pq_pool_free(pool);
  /* a lake version like a clean's: its snapshot record and versioned
   * files, committed in the same journal (docs/silver.md, "Snapshots"),
   * so lake log lists the rotation and sql --as-of reads either side */
  char run_id[64];
  snprintf(run_id, sizeof run_id, "keys-rotate-%lld-%ld", (long long)o->now_us,
           (long)getpid());
  if (!rc) {
    json_t *rep = json_pack("{s:O}", "rows_per_partition", rows_per);
    txf_clean_snap_in si = {.data_dir = o->data_dir,
                            .staging = staging,
                            .version = version,
                            .now_us = o->now_us,
                            .operation = "keys-rotate",
                            .run_id = run_id,
                            .ingest_date = NULL,
                            .report = rep,
                            .manifest = &mf,
                            .store = store,
                            .add_op = snap_op,
                            .ctx = &(op_list){&ops, &n_ops}};
    rc = txf_clean_snapshot_stage(&si, err);
    json_decref(rep);
  }
  json_decref(rows_per);
  if (!rc) {
    char *p = txf_path_join(staging, "index/_manifest.json");
    rc = txf_clean_manifest_write(&mf, p, err);
    free(p);
    txf_clean_jops_add(&ops, &n_ops, STAGING "/index/_manifest.json",
                       TXF_CLEAN_MANIFEST);
  }
  if (!rc) {
    char *p = txf_path_join(staging, "index/_meta.json");
    rc = txf_clean_meta_write(p, zone, txf_pan_key_id(o->new_key), err);
    free(p);
    txf_clean_jops_add(&ops, &n_ops, STAGING "/index/_meta.json",
                       "silver/_index/transactions/_meta.json");
  }
  txf_clean_crash c = {NULL, 0};
  char step[16];
  /* TXNFLOW_CRASH_AT=step:n, passed as it is (tests only) */
  if (o->crash_at && sscanf(o->crash_at, "%15[a-z]:%d", step, &c.n) == 2)
    c.step = step;
  if (!rc) {
    rc = txf_clean_journal_commit_files(o->data_dir, "keys-rotate", ops, n_ops,
                                        &c, err);
  } else {
    txf_err e2;
    if (txf_fs_rmtree(staging, &e2) != 0)
      txf_log_warn(o->log, "%s", e2.msg);
  }
  if (!rc) {
    json_t *rep = json_pack(
        "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "old_key_id",
        txf_pan_key_id(o->old_key), "new_key_id", txf_pan_key_id(o->new_key),
        "bronze_files", (json_int_t)n_files, "card_numbers",
        (json_int_t)n_numbers, "cards", (json_int_t)map.n, "partitions",
        (json_int_t)n_parts, "rows", (json_int_t)n_rows, "commit_version",
        (json_int_t)version);
    *report_json = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(rep);
  }
  for (size_t i = 0; i < n_ops; i++) {
    free(ops[i].from);
    free(ops[i].to);
  }
  free(ops);
  txf_clean_part_dirs_free(pd, n_pd);
  txf_clean_manifest_release(&mf);
  free(map.v);
  free(zone);
  free(lake_key);
  free(staging);
  close(lock_fd);
  return rc;
}
