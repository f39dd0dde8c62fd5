/* txnflow lake vacuum: retention over the lake's history (docs/silver.md,
 * Retention). Expired snapshot records (never the latest), then the
 * versioned partition files no kept record names, then whole bronze and
 * quarantine batches, under the lake lock after a pending journal is
 * finished. Above clean.c (the lock, the recovery) and snapshot.c (the
 * records). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean/internal.h"
#include "project/project.h"

/* The files under DATA/REL, DEPTH folders down (year=/month=/day=), as
 * paths relative to DATA appended to *OUT. */
static int walk_files(const char *data, const char *rel, int depth, char ***out,
                      size_t *n, txf_err *err) {
  char *dir = txf_path_join(data, rel);
  char **names = NULL;
  size_t nn = 0;
  int rc = txf_fs_list(dir, depth ? "" : ".parquet", &names, &nn, err);
  for (size_t i = 0; i < nn; i++) {
    char *sub = txf_xasprintf("%s/%s", rel, names[i]);
    if (!rc && depth) {
      rc = walk_files(data, sub, depth - 1, out, n, err);
      free(sub);
    } else if (!rc) {
      *out = txf_xrealloc(*out, (*n + 1) * sizeof **out);
      (*out)[(*n)++] = sub;
    } else {
      free(sub);
    }
    free(names[i]);
  }
  free(names);
  free(dir);
  return rc;
}

/* Every versioned file under files/ as a path relative to the data dir,
 * sorted (year=/month=/day=/vV.parquet). */
static int list_versioned(const char *data_dir, char ***out, size_t *n,
                          txf_err *err) {
  *out = NULL;
  *n = 0;
  return walk_files(data_dir, TXF_SNAP_DIR "/files", 3, out, n, err);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The dates D of DIR's "ingest_date=D" entries older than CUTOFF (a day
 * number: D < CUTOFF), appended to A as strings. */
static int expired_batches(const char *dir, int32_t cutoff, json_t *a,
                           txf_err *err) {
  char **names = NULL;
  size_t n = 0;
  int rc = txf_fs_list(dir, "", &names, &n, err);
  for (size_t i = 0; i < n; i++) {
    txf_date d;
    const char *s = names[i] + strlen("ingest_date=");
    if (!rc && txf_str_has_prefix(names[i], "ingest_date=") &&
        txf_date_parse(s, strlen(s), &d) == 0 && d.days < cutoff)
      json_array_append_new(a, json_string(s));
    free(names[i]);
  }
  free(names);
  return rc;
}

/* Remove the batch directory DIR/ingest_date=D at once: renamed into
 * TRASH first, so a kill leaves it whole or gone, never half a batch. */
static int remove_batch(const char *dir, const char *d, const char *trash,
                        const char *kind, txf_err *err) {
  char *from = txf_xasprintf("%s/ingest_date=%s", dir, d);
  char *to = txf_xasprintf("%s/%s-%s", trash, kind, d);
  int rc = txf_fs_rmtree(to, err);
  if (!rc && rename(from, to) != 0)
    rc = txf_err_errno(err, TXF_EIO, "rename %s -> %s", from, to);
  if (!rc)
    rc = txf_fs_fsync_dir(dir, err);
  if (!rc)
    rc = txf_fs_rmtree(to, err);
  free(from);
  free(to);
  return rc;
}

/* Remove DIR and its parents up to (not including) STOP while empty. */
static void prune_empty(char *dir, const char *stop) {
  while (strlen(dir) > strlen(stop) && rmdir(dir) == 0) {
    char *slash = strrchr(dir, '/');
    if (!slash)
      return;
    *slash = '\0';
  }
}

/* The bronze files holding card numbers (PCI DSS 3.2.1: deleted when no
 * longer needed) whose ingest date is past O->keep_card_files_us, one by
 * one: each renamed into TRASH, then removed, so a kill leaves a file
 * whole or gone. Their batch's other files and manifest stay (the manifest
 * says what was delivered; the general bronze rule removes them). Paths
 * appended to OUT. */
static int remove_card_files(const txf_clean_vacuum_opts *o, const char *trash,
                             const json_t *batches_gone, json_t *out,
                             txf_clean_crash *crash, int *crash_n,
                             txf_err *err) {
  txf_bronze_card_file *v;
  size_t n;
  txf_bronze_card_files(o->data_dir, &v, &n);
  int32_t today = txf_ts_utc_date(o->now_us).days;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    txf_date d;
    if (txf_date_parse(v[i].ingest_date, 10, &d) != 0 ||
        txf_project_retention_removal_day(d.days, o->keep_card_files_us) >
            today)
      continue;
    size_t k; /* a dry run's batch that step 3 removes whole */
    json_t *g;
    int in_gone = 0;
    json_array_foreach(batches_gone, k, g) in_gone |=
        strcmp(json_string_value(g), v[i].ingest_date) == 0;
    if (in_gone)
      continue;
    json_array_append_new(out, json_string(v[i].rel));
    if (o->dry_run)
      continue;
    char *from = txf_path_join(o->data_dir, v[i].rel);
    char *to = txf_xasprintf("%s/card-file", trash);
    if (rename(from, to) != 0)
      rc = txf_err_errno(err, TXF_EIO, "rename %s -> %s", from, to);
    *strrchr(from, '/') = '\0';
    if (!rc)
      rc = txf_fs_fsync_dir(from, err);
    if (!rc && unlink(to) != 0)
      rc = txf_err_errno(err, TXF_EIO, "%s: cannot remove", to);
    free(from);
    free(to);
    txf_clean_crash_point(crash, "vacuum", crash_n);
  }
  txf_bronze_card_files_free(v, n);
  return rc;
}

static int do_vacuum(const txf_clean_vacuum_opts *o, json_t *rep,
                     txf_err *err) {
  const char *data = o->data_dir;
  int crash_n = 0;
  txf_clean_crash crash = {o->crash_step, o->crash_n};
  char *trash = txf_path_join(data, ".clean/vacuum");
  /* what a killed vacuum had moved aside, gone for good now */
  int rc = o->dry_run ? 0 : txf_fs_rmtree(trash, err);
  if (!rc && !o->dry_run)
    rc = txf_fs_mkdirs(trash, err);
  /* 1. expired snapshot records, oldest first; the latest always stays */
  int64_t *vs = NULL;
  size_t nv = 0;
  if (!rc)
    rc = txf_clean_snapshot_versions(data, &vs, &nv, err);
  json_t *gone = json_array(), *kept = json_array();
  int *keep = txf_xcalloc(nv + 1, sizeof *keep);
  for (size_t i = 0; i < nv && !rc; i++) {
    json_t *r = NULL;
    rc = txf_clean_snapshot_load(data, vs[i], &r, err);
    if (rc)
      break;
    int64_t at = json_integer_value(json_object_get(r, "committed_at_us"));
    keep[i] = i + 1 == nv || o->keep_snapshots_us < 0 ||
              at >= o->now_us - o->keep_snapshots_us;
    json_array_append_new(keep[i] ? kept : gone, json_integer(vs[i]));
    json_decref(r);
  }
  for (size_t i = 0; i < nv && !rc && !o->dry_run; i++) {
    if (keep[i])
      continue;
    char *path = txf_xasprintf("%s/" TXF_SNAP_DIR "/v%010lld.json", data,
                               (long long)vs[i]);
    if (unlink(path) != 0 && errno != ENOENT)
      rc = txf_err_errno(err, TXF_EIO, "%s: cannot remove", path);
    free(path);
    txf_clean_crash_point(&crash, "vacuum", &crash_n);
  }
  /* 2. the files no kept record names (read from the records that are
   * left, so a rerun after a kill sees the same) */
  char **refs = NULL;
  size_t nr = 0;
  for (size_t i = 0; i < nv && !rc; i++) {
    if (!keep[i])
      continue;
    json_t *r = NULL;
    rc = txf_clean_snapshot_load(data, vs[i], &r, err);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "partitions"), k, v) {
      const char *f = json_string_value(json_object_get(v, "file"));
      if (f) {
        refs = txf_xrealloc(refs, (nr + 1) * sizeof *refs);
        refs[nr++] = txf_xstrdup(f);
      }
    }
    json_decref(r);
  }
  if (nr)
    qsort(refs, nr, sizeof *refs, cmp_str);
  char **files = NULL;
  size_t nf = 0;
  if (!rc)
    rc = list_versioned(data, &files, &nf, err);
  json_t *removed = json_array();
  int64_t freed = 0;
  for (size_t i = 0; i < nf && !rc; i++) {
    if (nr && bsearch(&files[i], refs, nr, sizeof *refs, cmp_str))
      continue;
    char *path = txf_path_join(data, files[i]);
    struct stat st;
    /* a link the live partition still shares frees nothing */
    if (stat(path, &st) == 0 && st.st_nlink == 1)
      freed += (int64_t)st.st_size;
    json_array_append_new(removed, json_string(files[i]));
    if (!o->dry_run) {
      if (unlink(path) != 0 && errno != ENOENT)
        rc = txf_err_errno(err, TXF_EIO, "%s: cannot remove", path);
      char *stop = txf_path_join(data, TXF_SNAP_DIR "/files");
      *strrchr(path, '/') = '\0';
      prune_empty(path, stop);
      free(stop);
      txf_clean_crash_point(&crash, "vacuum", &crash_n);
    }
    free(path);
  }
  /* 3. bronze and quarantine batches past their retention */
  json_t *bronze = json_array(), *quar = json_array();
  static const char *const dirs[2] = {"bronze/transactions",
                                      "quarantine/transactions"};
  json_t *lists[2] = {bronze, quar};
  const int64_t keeps[2] = {o->keep_bronze_us, o->keep_quarantine_us};
  for (int k = 0; k < 2 && !rc; k++) {
    if (keeps[k] < 0)
      continue;
    char *dir = txf_path_join(data, dirs[k]);
    /* a batch is as old as its ingest date's end (UTC) */
    int32_t cutoff = txf_ts_utc_date(o->now_us - keeps[k]).days;
    rc = expired_batches(dir, cutoff, lists[k], err);
    size_t i;
    json_t *d;
    json_array_foreach(lists[k], i, d) {
      if (rc || o->dry_run)
        break;
      rc = remove_batch(dir, json_string_value(d), trash,
                        k ? "quarantine" : "bronze", err);
      txf_clean_crash_point(&crash, "vacuum", &crash_n);
    }
    free(dir);
  }
  /* 4. bronze files holding card numbers past their own rule */
  json_t *cards = json_array();
  if (!rc && o->keep_card_files_us >= 0)
    rc = remove_card_files(o, trash, bronze, cards, &crash, &crash_n, err);
  if (!rc && !o->dry_run)
    rc = txf_fs_rmtree(trash, err);
  json_object_set_new(rep, "dry_run", json_boolean(o->dry_run));
  json_object_set_new(rep, "snapshots_removed", gone);
  json_object_set_new(rep, "snapshots_kept", kept);
  json_object_set_new(rep, "files_removed", removed);
  json_object_set_new(rep, "bytes_freed", json_integer(freed));
  json_object_set_new(rep, "bronze_removed", bronze);
  json_object_set_new(rep, "quarantine_removed", quar);
  json_object_set_new(rep, "bronze_card_files_removed", cards);
  for (size_t i = 0; i < nr; i++)
    free(refs[i]);
  free(refs);
  txf_clean_snapshot_files_free(files, nf);
  free(keep);
  free(vs);
  free(trash);
  return rc;
}

int txf_clean_lake_vacuum(const txf_clean_vacuum_opts *o, txf_store *store,
                          char **report_json, txf_err *err) {
  *report_json = NULL;
  int fd = -1;
  int rc = txf_clean_lake_lock(o->data_dir, &fd, err);
  if (rc)
    return rc;
  /* a clean killed after its commit point: finish it first, so its
   * version's files are named by a record before anything is judged
   * unreferenced */
  int recovered = 0;
  rc = txf_clean_recover(o->data_dir, store, &recovered, err);
  if (rc)
    txf_err_wrap(err, "recovering an interrupted clean");
  json_t *rep = json_object();
  if (!rc)
    rc = do_vacuum(o, rep, err);
  if (!rc)
    *report_json = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(rep);
  close(fd);
  return rc;
}
