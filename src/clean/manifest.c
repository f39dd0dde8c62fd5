/* The lake's manifest (docs/silver.md, "Checksums and the manifest").
 *
 * silver/_index/transactions/_manifest.json lists every index shard and
 * every silver partition file with its size and SHA-256, as the commit
 * that wrote them left them:
 *
 *   {"format": "txnflow-silver-manifest/1",
 *    "shards": {"shard-042.idx": {"size_bytes": 1234, "sha256": "…"}, …},
 *    "partitions": {"2025-09-01": {"path": "year=2025/…/part-00000.parquet",
 *                                  "size_bytes": 52533, "sha256": "…"}, …}}
 *
 * A clean commits it with the files (same journal, renamed last). Before
 * a clean trusts a file (an index shard it merges with, a partition it
 * reads to decide ids or rewrites), the file must be the one listed: a
 * missing, changed or unlisted file stops the clean before anything is
 * written. Without this, a deleted shard reads as empty (its ids become
 * new: duplicates) and a flipped bit in a partition is re-encoded into a
 * fresh file that looks valid. */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clean/internal.h"

#define MANIFEST_FORMAT "txnflow-silver-manifest/1"
#define REBUILD_HINT                                                           \
  "run 'txnflow index rebuild' to check every partition and rebuild the "      \
  "index and its manifest from silver"

/* Write J (taken) as indented JSON with sorted keys and a final newline
 * to PATH (created, flushed; made durable by the commit's syncfs). */
int txf_clean_json_write(json_t *j, const char *path, txf_err *err) {
  char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
  json_decref(j);
  int rc = 0;
  FILE *fp = fopen(path, "wb");
  if (!fp || fputs(text, fp) < 0 || fputc('\n', fp) < 0 || fflush(fp) != 0)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot write", path);
  if (fp && fclose(fp) != 0 && !rc)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot close", path);
  free(text);
  return rc;
}

static int bad_manifest(const char *path, const char *why, txf_err *err) {
  return txf_err_set(err, TXF_ECORRUPT, "%s: %s; nothing was changed; %s", path,
                     why, REBUILD_HINT);
}

static int is_hex64(const char *s) {
  if (!s || strlen(s) != 64)
    return 0;
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

static int file_of(json_t *v, man_file *f) {
  json_t *sz = json_object_get(v, "size_bytes");
  const char *sha = json_string_value(json_object_get(v, "sha256"));
  if (!json_is_integer(sz) || json_integer_value(sz) < 0 || !is_hex64(sha))
    return -1;
  f->size_bytes = (uint64_t)json_integer_value(sz);
  memcpy(f->sha, sha, 65);
  return 0;
}

/* Partition DAY's file under silver/transactions, as the manifest's
 * "path" (what txf_clean_partition_path names under the data dir). */
static void part_rel(int32_t day, char out[64]) {
  int y, m, d;
  txf_date_to_ymd((txf_date){day}, &y, &m, &d);
  snprintf(out, 64, "year=%04d/month=%02d/day=%02d/part-00000.parquet", y, m,
           d);
}

/* Where DAY is or would go in the sorted partitions. */
static size_t part_at(const txf_clean_manifest *mf, int32_t day) {
  size_t lo = 0, hi = mf->n_part;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (mf->part[mid].day < day)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static man_part *find_part(const txf_clean_manifest *mf, int32_t day) {
  size_t at = part_at(mf, day);
  return at < mf->n_part && mf->part[at].day == day ? &mf->part[at] : NULL;
}

void txf_clean_manifest_set_partition(txf_clean_manifest *mf, int32_t day,
                                      uint64_t size_bytes, const char *sha) {
  size_t lo = part_at(mf, day);
  int found = lo < mf->n_part && mf->part[lo].day == day;
  if (!sha) {
    if (found) {
      memmove(mf->part + lo, mf->part + lo + 1,
              (mf->n_part - lo - 1) * sizeof *mf->part);
      mf->n_part--;
    }
    return;
  }
  if (!found) {
    if (mf->n_part == mf->cap_part) {
      mf->cap_part = mf->cap_part ? 2 * mf->cap_part : 64;
      mf->part = txf_xrealloc(mf->part, mf->cap_part * sizeof *mf->part);
    }
    memmove(mf->part + lo + 1, mf->part + lo,
            (mf->n_part - lo) * sizeof *mf->part);
    mf->n_part++;
  }
  man_part *p = &mf->part[lo];
  p->day = day;
  p->f.size_bytes = size_bytes;
  memcpy(p->f.sha, sha, 64);
  p->f.sha[64] = '\0';
  p->verified = 1; /* we just wrote it */
}

/* Does DIR hold an entry whose name starts with PREFIX? */
static int dir_has(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *e;
  int found = 0;
  while (!found && (e = readdir(d)))
    found = strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  closedir(d);
  return found;
}

int txf_clean_lake_has_data(const char *data_dir) {
  char *idx = txf_clean_index_dir(data_dir);
  char *silver = txf_path_join(data_dir, "silver/transactions");
  int has = dir_has(idx, "shard-") || dir_has(silver, "year=");
  free(idx);
  free(silver);
  return has;
}

void txf_clean_manifest_release(txf_clean_manifest *mf) {
  free(mf->part);
  memset(mf, 0, sizeof *mf);
}

int txf_clean_manifest_load(txf_clean_manifest *mf, const char *data_dir,
                            txf_err *err) {
  memset(mf, 0, sizeof *mf);
  char *path = txf_path_join(data_dir, TXF_CLEAN_MANIFEST);
  int rc = 0;
  if (!txf_fs_exists(path)) {
    if (txf_clean_lake_has_data(data_dir))
      rc = bad_manifest(TXF_CLEAN_MANIFEST,
                        "missing, but the lake holds data (a lake written "
                        "before checksums, or the file was lost)",
                        err);
    free(path);
    return rc;
  }
  json_error_t je;
  json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
  const char *fmt = json_string_value(json_object_get(j, "format"));
  json_t *shards = json_object_get(j, "shards");
  json_t *parts = json_object_get(j, "partitions");
  char why[300];
  if (!j)
    snprintf(why, sizeof why, "unreadable (line %d: %s)", je.line, je.text);
  else if (!fmt || strcmp(fmt, MANIFEST_FORMAT) != 0 ||
           !json_is_object(shards) || !json_is_object(parts))
    snprintf(why, sizeof why, "not a %s manifest", MANIFEST_FORMAT);
  else
    why[0] = '\0';
  const char *k;
  json_t *v;
  if (!why[0])
    json_object_foreach(shards, k, v) {
      unsigned s;
      char tail;
      man_file f;
      if (sscanf(k, "shard-%3u.idx%c", &s, &tail) != 1 || s >= IDX_SHARDS ||
          strlen(k) != 13 || file_of(v, &f) != 0) {
        snprintf(why, sizeof why, "bad shard entry '%.40s'", k);
        break;
      }
      mf->has_shard[s] = 1;
      mf->shard[s] = f;
    }
  if (!why[0])
    json_object_foreach(parts, k, v) {
      txf_date d;
      man_file f;
      if (txf_date_parse(k, strlen(k), &d) != 0 || file_of(v, &f) != 0) {
        snprintf(why, sizeof why, "bad partition entry '%.40s'", k);
        break;
      }
      txf_clean_manifest_set_partition(mf, d.days, f.size_bytes, f.sha);
    }
  for (size_t i = 0; i < mf->n_part; i++)
    mf->part[i].verified = 0;
  json_decref(j);
  if (why[0]) {
    rc = bad_manifest(TXF_CLEAN_MANIFEST, why, err);
    txf_clean_manifest_release(mf);
  }
  free(path);
  return rc;
}

/* Compare the file REL (size SIZE, hash SHA) with what the manifest says. */
static int differs(const man_file *want, uint64_t size, const char *sha) {
  return want->size_bytes != size || strcmp(want->sha, sha) != 0;
}

int txf_clean_manifest_read_shard(const txf_clean_manifest *mf,
                                  const char *data_dir, unsigned s, loc_ent **e,
                                  size_t *n, txf_err *err) {
  *e = NULL;
  *n = 0;
  char rel[IDX_SHARD_REL_MAX];
  txf_clean_index_shard_rel(s, rel);
  char *path = txf_path_join(data_dir, rel);
  int rc = 0;
  if (!txf_fs_exists(path)) {
    if (mf->has_shard[s])
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "index shard %s is missing (the manifest lists it: "
                       "%llu bytes); nothing was changed; %s",
                       rel, (unsigned long long)mf->shard[s].size_bytes,
                       REBUILD_HINT);
    free(path);
    return rc;
  }
  txf_buf b;
  txf_buf_init(&b, 0);
  rc = txf_fs_read_file(path, &b, err);
  if (!rc) {
    char sha[65];
    txf_sha256_hex(b.data, b.len, sha);
    if (!mf->has_shard[s])
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "index shard %s is not in the manifest; nothing was "
                       "changed; %s",
                       rel, REBUILD_HINT);
    else if (differs(&mf->shard[s], b.len, sha))
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "index shard %s is damaged (%zu bytes, SHA-256 %.12s…; "
                       "the manifest says %llu bytes, %.12s…); nothing was "
                       "changed; %s",
                       rel, b.len, sha,
                       (unsigned long long)mf->shard[s].size_bytes,
                       mf->shard[s].sha, REBUILD_HINT);
  }
  if (!rc)
    rc = txf_clean_index_parse(path, s, &b, e, n, err);
  txf_buf_release(&b);
  free(path);
  return rc;
}

int txf_clean_manifest_check_partition(txf_clean_manifest *mf,
                                       const char *data_dir, int32_t day,
                                       txf_err *err) {
  man_part *p = find_part(mf, day);
  if (p && p->verified)
    return 0;
  char prel[64];
  part_rel(day, prel);
  char *path = txf_xasprintf("%s/silver/transactions/%s", data_dir, prel);
  const char *rel = path + strlen(data_dir) + 1;
  char ds[11];
  txf_date_format((txf_date){day}, ds);
  int rc = 0;
  struct stat st;
  if (stat(path, &st) != 0) {
    if (p)
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "silver partition %s is missing: %s (the manifest "
                       "lists it: %llu bytes); nothing was changed; restore "
                       "the file from a copy (the published lake holds "
                       "one), or run 'txnflow index rebuild' and clean its "
                       "ingest dates again",
                       ds, rel, (unsigned long long)p->f.size_bytes);
    free(path);
    return rc;
  }
  if (!p) {
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "silver partition %s (%s) is not in the manifest; "
                     "nothing was changed; %s",
                     ds, rel, REBUILD_HINT);
    free(path);
    return rc;
  }
  char sha[65];
  uint64_t size = 0;
  rc = txf_sha256_file(path, sha, &size, err);
  if (!rc && differs(&p->f, size, sha))
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "silver partition %s is damaged: %s has %llu bytes, "
                     "SHA-256 %.12s…, but its commit recorded %llu bytes, "
                     "%.12s…; nothing was changed; restore the file from a "
                     "copy (the published lake holds one), or delete it, run "
                     "'txnflow index rebuild' and clean the ingest dates of "
                     "its rows again",
                     ds, rel, (unsigned long long)size, sha,
                     (unsigned long long)p->f.size_bytes, p->f.sha);
  if (!rc)
    p->verified = 1;
  free(path);
  return rc;
}

int txf_clean_manifest_write(const txf_clean_manifest *mf, const char *path,
                             txf_err *err) {
  json_t *shards = json_object(), *parts = json_object();
  for (unsigned s = 0; s < IDX_SHARDS; s++) {
    if (!mf->has_shard[s])
      continue;
    char k[32];
    snprintf(k, sizeof k, "shard-%03u.idx", s);
    json_object_set_new(shards, k,
                        json_pack("{s:I,s:s}", "size_bytes",
                                  (json_int_t)mf->shard[s].size_bytes, "sha256",
                                  mf->shard[s].sha));
  }
  for (size_t i = 0; i < mf->n_part; i++) {
    const man_part *p = &mf->part[i];
    char k[11];
    txf_date_format((txf_date){p->day}, k);
    char rel[64];
    part_rel(p->day, rel);
    json_object_set_new(parts, k,
                        json_pack("{s:s,s:I,s:s}", "path", rel, "size_bytes",
                                  (json_int_t)p->f.size_bytes, "sha256",
                                  p->f.sha));
  }
  json_t *j = json_pack("{s:s,s:o,s:o}", "format", MANIFEST_FORMAT, "shards",
                        shards, "partitions", parts);
  return txf_clean_json_write(j, path, err);
}

int txf_clean_manifest_stage(txf_clean_manifest *mf, const char *data_dir,
                             const char *staging, const unsigned char *touched,
                             const man_file *shard_files, json_t *rep,
                             int *staged, txf_err *err) {
  *staged = 0;
  int changed = 0, rc = 0;
  for (unsigned s = 0; s < IDX_SHARDS; s++) {
    if (!touched[s])
      continue;
    /* hashed as they were written, by the thread that wrote them */
    mf->shard[s] = shard_files[s];
    mf->has_shard[s] = 1;
    changed = 1;
  }
  json_t *rows = json_object_get(rep, "rows_per_partition");
  json_t *files = json_object_get(rep, "partition_files");
  const char *k;
  json_t *v;
  json_object_foreach(rows, k, v) {
    if (rc)
      break;
    txf_date d;
    man_file f;
    json_t *fj = json_object_get(files, k);
    if (txf_date_parse(k, strlen(k), &d) != 0 ||
        (json_integer_value(v) > 0 && (!fj || file_of(fj, &f) != 0))) {
      rc = txf_err_set(err, TXF_EINTERNAL, "partition %s: no checksum", k);
      break;
    }
    if (json_integer_value(v) > 0)
      txf_clean_manifest_set_partition(mf, d.days, f.size_bytes, f.sha);
    else
      txf_clean_manifest_set_partition(mf, d.days, 0, NULL);
    changed = 1;
  }
  char *final = txf_path_join(data_dir, TXF_CLEAN_MANIFEST);
  if (!txf_fs_exists(final))
    changed = 1;
  free(final);
  if (!rc && changed) {
    char *path = txf_path_join(staging, "index/_manifest.json");
    rc = txf_clean_manifest_write(mf, path, err);
    free(path);
    *staged = !rc;
  }
  return rc;
}

int txf_clean_meta_write(const char *path, const char *timezone,
                         const char *card_key_id, txf_err *err) {
  json_t *j = json_pack("{s:s,s:i,s:s}", "format", "txnflow-silver-index/1",
                        "shards", IDX_SHARDS, "timezone", timezone);
  if (card_key_id) /* only then: older lakes' files stay as they were */
    json_object_set_new(j, "card_key_id", json_string(card_key_id));
  return txf_clean_json_write(j, path, err);
}

void txf_clean_damage_hint(txf_err *err) {
  /* What reading a file clean wrote can fail with, but for damage: an
   * encoding it never writes, a page bigger than it ever makes. */
  if ((err->code != TXF_ECORRUPT && err->code != TXF_EUNSUPPORTED &&
       err->code != TXF_ETOOBIG) ||
      strstr(err->msg, "nothing was changed") ||
      strstr(err->msg, "run 'txnflow"))
    return;
  size_t n = strlen(err->msg);
  snprintf(err->msg + n, sizeof err->msg - n,
           "%s; nothing was changed; restore it from a copy (the published "
           "lake holds one), or delete it, run 'txnflow index rebuild' and "
           "clean again the ingest dates of its rows",
           strstr(err->msg, "damaged") ? "" : ": the file is damaged");
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char **txf_clean_list_dir(const char *dir, const char *prefix, size_t *n) {
  *n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  char **v = NULL;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
      v = txf_xrealloc(v, (*n + 1) * sizeof *v);
      v[(*n)++] = txf_xstrdup(e->d_name);
    }
  closedir(d);
  if (*n)
    qsort(v, *n, sizeof *v, cmp_name);
  return v;
}

void txf_clean_list_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

txf_clean_part_dir *txf_clean_partition_dirs(const char *data_dir, size_t *n) {
  static const char *const level[3] = {"year=", "month=", "day="};
  static const size_t len[3] = {9, 8, 6}; /* the names' lengths */
  /* breadth first: the directories of one level, then of the next */
  char **cur = txf_xmalloc(sizeof *cur), **bad = NULL;
  size_t n_cur = 1, n_bad = 0;
  cur[0] = txf_xstrdup("silver/transactions");
  for (int l = 0; l < 3; l++) {
    char **next = NULL;
    size_t n_next = 0;
    for (size_t i = 0; i < n_cur; i++) {
      char *abs = txf_path_join(data_dir, cur[i]);
      size_t k;
      char **names = txf_clean_list_dir(abs, level[l], &k);
      next = txf_xrealloc(next, (n_next + k + 1) * sizeof *next);
      for (size_t j = 0; j < k; j++) {
        char *rel = txf_path_join(cur[i], names[j]);
        if (strlen(names[j]) == len[l]) {
          next[n_next++] = rel;
        } else { /* not ours, but a reader's glob sees inside */
          bad = txf_xrealloc(bad, (n_bad + 1) * sizeof *bad);
          bad[n_bad++] = rel;
        }
      }
      txf_clean_list_free(names, k);
      free(abs);
    }
    txf_clean_list_free(cur, n_cur);
    cur = next;
    n_cur = n_next;
  }
  cur = txf_xrealloc(cur, (n_cur + n_bad + 1) * sizeof *cur);
  if (n_bad)
    memcpy(cur + n_cur, bad, n_bad * sizeof *bad);
  free(bad);
  n_cur += n_bad;
  txf_clean_part_dir *v = txf_xmalloc((n_cur ? n_cur : 1) * sizeof *v);
  for (size_t i = 0; i < n_cur; i++) {
    /* silver/transactions/year=YYYY/month=MM/day=DD: 20 + 10 + 9 + 6 */
    const char *r = cur[i];
    char iso[11];
    txf_date d;
    v[i].rel = cur[i];
    v[i].day = INT32_MIN;
    if (strlen(r) == 45 && strncmp(r + 20, "year=", 5) == 0) {
      snprintf(iso, sizeof iso, "%.4s-%.2s-%.2s", r + 25, r + 36, r + 43);
      if (txf_date_parse(iso, 10, &d) == 0)
        v[i].day = d.days;
    }
  }
  free(cur);
  *n = n_cur;
  return v;
}

void txf_clean_part_dirs_free(txf_clean_part_dir *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i].rel);
  free(v);
}

/* The partition days whose file is present (caller frees). */
static int32_t *present_days(const char *data_dir, size_t *n) {
  size_t nd;
  txf_clean_part_dir *pd = txf_clean_partition_dirs(data_dir, &nd);
  int32_t *v = txf_xmalloc((nd ? nd : 1) * sizeof *v);
  *n = 0;
  for (size_t i = 0; i < nd; i++) {
    char *f = txf_xasprintf("%s/%s/part-00000.parquet", data_dir, pd[i].rel);
    if (pd[i].day != INT32_MIN && txf_fs_exists(f))
      v[(*n)++] = pd[i].day;
    free(f);
  }
  txf_clean_part_dirs_free(pd, nd);
  return v;
}

int64_t txf_clean_manifest_audit(const char *data_dir,
                                 void (*note)(void *ctx, const char *text),
                                 void *ctx, loc_ent **pairs, size_t *n_pairs) {
  *pairs = NULL;
  *n_pairs = 0;
  txf_clean_manifest mf;
  txf_err err;
  txf_err_clear(&err);
  int64_t bad = 0;
  if (txf_clean_manifest_load(&mf, data_dir, &err) != 0) {
    note(ctx, err.msg);
    return 1;
  }
  /* every shard: listed ones as listed, others absent */
  loc_ent *all = NULL;
  size_t n = 0;
  for (unsigned s = 0; s < IDX_SHARDS; s++) {
    loc_ent *e;
    size_t ne;
    if (txf_clean_manifest_read_shard(&mf, data_dir, s, &e, &ne, &err)) {
      note(ctx, err.msg);
      bad++;
      continue;
    }
    if (ne) {
      all = txf_xrealloc(all, (n + ne) * sizeof *all);
      memcpy(all + n, e, ne * sizeof *e);
      n += ne;
    }
    free(e);
  }
  /* every partition the manifest lists, and every one present */
  size_t nd;
  int32_t *days = present_days(data_dir, &nd);
  for (size_t i = 0; i < mf.n_part; i++) {
    days = txf_xrealloc(days, (nd + 1) * sizeof *days);
    days[nd++] = mf.part[i].day;
  }
  for (size_t i = 0; i < nd; i++) {
    int seen = 0;
    for (size_t k = 0; k < i && !seen; k++)
      seen = days[k] == days[i];
    if (seen)
      continue;
    if (txf_clean_manifest_check_partition(&mf, data_dir, days[i], &err)) {
      note(ctx, err.msg);
      bad++;
    }
  }
  free(days);
  txf_clean_manifest_release(&mf);
  txf_clean_index_sort(all, n);
  *pairs = all;
  *n_pairs = n;
  return bad;
}

int txf_clean_meta_zone(const char *data_dir, char **zone, char **card_key_id,
                        txf_err *err) {
  *zone = NULL;
  if (card_key_id)
    *card_key_id = NULL;
  char *dir = txf_clean_index_dir(data_dir);
  char *meta = txf_path_join(dir, "_meta.json");
  free(dir);
  int rc = 0;
  if (txf_fs_exists(meta)) {
    json_error_t je;
    json_t *j = json_load_file(meta, 0, &je);
    const char *z = json_string_value(json_object_get(j, "timezone"));
    const char *k = json_string_value(json_object_get(j, "card_key_id"));
    if (k && card_key_id)
      *card_key_id = txf_xstrdup(k);
    if (z)
      *zone = txf_xstrdup(z);
    else
      rc =
          txf_err_set(err, TXF_ECORRUPT,
                      "%s: unreadable (it records the lake's time zone)", meta);
    json_decref(j);
  }
  free(meta);
  return rc;
}
