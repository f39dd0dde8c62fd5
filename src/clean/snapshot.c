/* Lake snapshots (docs/silver.md, "Snapshots and versions"; issue 21).
 *
 * Every clean that commits a lake version V also commits, in the same
 * journal, a snapshot record silver/_snapshots/transactions/vV.json (V in
 * ten digits) listing every partition file of the lake as of V, and a
 * permanent name for each partition file V wrote:
 *
 *   silver/_snapshots/transactions/files/year=Y/month=M/day=D/vV.parquet
 *
 * That name is a hard link to the same inode as the live partition file
 * (no copy, no bytes), staged beside the partition and renamed into place
 * by the journal before the record. When a later commit replaces or
 * removes the live file, the versioned name keeps the old bytes for the
 * snapshots that list them, until retention removes them. A snapshot
 * record names only versioned files, which never change, so a reader of
 * an old version needs no lock and races with no commit.
 *
 * Snapshots are the lake's history, like the change log: they depend on
 * the order of the cleans (version numbers, run ids, times); the silver
 * files do not. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean/internal.h"

#define SNAP_FORMAT "txnflow-silver-snapshot/1"

/* "silver/_snapshots/transactions/files/year=…/vV.parquet" (caller frees) */
static char *versioned_rel(int32_t day, int64_t version) {
  int y, m, d;
  txf_date_to_ymd((txf_date){day}, &y, &m, &d);
  return txf_xasprintf(TXF_SNAP_DIR
                       "/files/year=%04d/month=%02d/day=%02d/v%010lld.parquet",
                       y, m, d, (long long)version);
}

static int parse_version_name(const char *name, int64_t *v) {
  size_t n = strlen(name);
  if (n != 16 || name[0] != 'v' || strcmp(name + 11, ".json") != 0)
    return -1;
  int64_t x = 0;
  for (int i = 1; i < 11; i++) {
    if (name[i] < '0' || name[i] > '9')
      return -1;
    x = x * 10 + (name[i] - '0');
  }
  *v = x;
  return 0;
}

int txf_clean_snapshot_versions(const char *data_dir, int64_t **vs, size_t *n,
                                txf_err *err) {
  char *dir = txf_path_join(data_dir, TXF_SNAP_DIR);
  char **names = NULL;
  size_t nn = 0;
  int rc = txf_fs_list(dir, ".json", &names, &nn, err);
  free(dir);
  *vs = txf_xmalloc((nn ? nn : 1) * sizeof **vs);
  *n = 0;
  for (size_t i = 0; i < nn; i++) {
    int64_t v;
    if (!rc && parse_version_name(names[i], &v) == 0)
      (*vs)[(*n)++] = v; /* sorted by name = by version (10 digits) */
    free(names[i]);
  }
  free(names);
  return rc;
}

int txf_clean_snapshot_load(const char *data_dir, int64_t v, json_t **out,
                            txf_err *err) {
  char *path = txf_xasprintf("%s/" TXF_SNAP_DIR "/v%010lld.json", data_dir,
                             (long long)v);
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  int rc = 0;
  if (!j)
    rc = txf_err_set(err, TXF_ECORRUPT, "%s:%d: %s", path, je.line, je.text);
  else if (!json_is_object(json_object_get(j, "partitions")) ||
           json_integer_value(json_object_get(j, "version")) != v) {
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%s: not a snapshot record of version "
                     "%lld",
                     path, (long long)v);
    json_decref(j);
    j = NULL;
  }
  free(path);
  *out = j;
  return rc;
}

/* ------------------------------------------------------------ staging */

/* Add NAME to the sorted, distinct string array A. */
static void batch_add(json_t *a, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    int c = strcmp(json_string_value(v), name);
    if (c == 0)
      return;
    if (c > 0) {
      json_array_insert_new(a, i, json_string(name));
      return;
    }
  }
  json_array_append_new(a, json_string(name));
}

/* Link SRC to STAGING/snap/NAME: the staged versioned name of a file. */
static int stage_link(const char *staging, const char *src, const char *name,
                      txf_err *err) {
  char *to = txf_xasprintf("%s/snap/%s", staging, name);
  unlink(to); /* debris of nothing: staging is fresh, but be exact */
  int rc = 0;
  if (link(src, to) != 0)
    rc = txf_err_errno(err, TXF_EIO, "link %s -> %s", src, to);
  free(to);
  return rc;
}

int txf_clean_snapshot_stage(const txf_clean_snap_in *in, txf_err *err) {
  char *snapdir = txf_path_join(in->staging, "snap");
  int rc = txf_fs_mkdirs(snapdir, err);
  free(snapdir);
  if (rc)
    return rc;
  /* the previous snapshot, if any: the entries of untouched partitions */
  int64_t *vs = NULL;
  size_t nv = 0;
  json_t *prev = NULL;
  rc = txf_clean_snapshot_versions(in->data_dir, &vs, &nv, err);
  if (!rc && nv)
    rc = txf_clean_snapshot_load(in->data_dir, vs[nv - 1], &prev, err);
  free(vs);
  if (rc)
    return txf_err_wrap(err, "the lake's last snapshot");
  json_t *prev_parts = prev ? json_object_get(prev, "partitions") : NULL;
  json_t *rows_per = json_object_get(in->report, "rows_per_partition");
  json_t *parts = json_object();
  int64_t total = 0;
  const txf_clean_manifest *mf = in->manifest;
  for (size_t i = 0; i < mf->n_part && !rc; i++) {
    const man_part *p = &mf->part[i];
    char d[11];
    txf_date_format((txf_date){p->day}, d);
    json_t *touched = json_object_get(rows_per, d);
    json_t *old = prev_parts ? json_object_get(prev_parts, d) : NULL;
    json_t *e = NULL;
    int64_t n_rows = 0;
    char *src = NULL;
    if (touched && json_integer_value(touched) > 0) {
      /* written by this commit: its staged file */
      n_rows = json_integer_value(touched);
      src = txf_xasprintf("%s/part/%s.parquet", in->staging, d);
    } else if (old &&
               strcmp(json_string_value(json_object_get(old, "sha256")) ?: "",
                      p->f.sha) == 0) {
      e = json_deep_copy(old); /* unchanged since the last snapshot */
    } else {
      /* A lake from before snapshots (or whose last record is not this
       * lake's): the live file, named by this version from now on. */
      src = txf_clean_partition_path(in->data_dir, p->day);
      txf_pq_reader *rd = NULL;
      rc = txf_pq_reader_open(&rd, src, err);
      if (!rc)
        n_rows = txf_pq_reader_num_rows(rd);
      txf_pq_reader_free(rd);
    }
    if (src && !rc) {
      char name[32];
      snprintf(name, sizeof name, "%s.parquet", d);
      rc = stage_link(in->staging, src, name, err);
      char *rel = versioned_rel(p->day, in->version);
      char *from = txf_xasprintf(".clean/staging/snap/%s", name);
      if (!rc)
        in->add_op(in->ctx, from, rel);
      e = json_pack("{s:s,s:I,s:I,s:s,s:I}", "file", rel, "rows",
                    (json_int_t)n_rows, "size_bytes",
                    (json_int_t)p->f.size_bytes, "sha256", p->f.sha, "version",
                    (json_int_t)in->version);
      free(from);
      free(rel);
    }
    free(src);
    if (e) {
      total += json_integer_value(json_object_get(e, "rows"));
      json_object_set_new(parts, d, e);
    }
  }
  /* the batches in the lake: the last snapshot's and this one; a lake
   * from before snapshots takes the metadata's cleaned dates */
  json_t *batches = json_array();
  json_t *pb = prev ? json_object_get(prev, "batches") : NULL;
  size_t i;
  json_t *v;
  json_array_foreach(pb, i, v) {
    if (json_is_string(v) &&
        !(in->removes && strcmp(json_string_value(v), in->ingest_date) == 0))
      batch_add(batches, json_string_value(v));
  }
  if (!prev && in->store && !rc) {
    txf_meta_clean_query q = {NULL, NULL, 1};
    txf_meta_clean_run_list l;
    memset(&l, 0, sizeof l);
    rc = txf_meta_clean_runs_succeeded(in->store, &q, &l, err);
    for (size_t k = 0; !rc && k < l.n; k++)
      if (!(in->removes && strcmp(l.v[k].ingest_date, in->ingest_date) == 0))
        batch_add(batches, l.v[k].ingest_date);
    txf_meta_clean_run_list_release(&l);
  }
  if (in->ingest_date && !in->removes)
    batch_add(batches, in->ingest_date);
  char when[40];
  txf_ts_format(in->now_us, 0, 1, when);
  json_t *changed = json_array();
  const char *k;
  json_object_foreach(rows_per, k, v) {
    json_array_append_new(changed, json_string(k));
  }
  json_t *rec = json_pack(
      "{s:s,s:I,s:s,s:s,s:s?,s:s,s:I,s:o,s:o,s:I,s:I,s:o}", "format",
      SNAP_FORMAT, "version", (json_int_t)in->version, "operation",
      in->operation, "run_id", in->run_id, "ingest_date", in->ingest_date,
      "committed_at", when, "committed_at_us", (json_int_t)in->now_us,
      "batches", batches, "partitions_changed", changed, "rows",
      (json_int_t)total, "n_partitions", (json_int_t)json_object_size(parts),
      "partitions", parts);
  if (prev)
    json_decref(prev);
  if (rc) {
    json_decref(rec);
    return rc;
  }
  char name[32];
  snprintf(name, sizeof name, "v%010lld.json", (long long)in->version);
  char *path = txf_xasprintf("%s/snap/%s", in->staging, name);
  rc = txf_clean_json_write(rec, path, err);
  free(path);
  if (!rc) {
    /* the record last: once it is there, every file it names is */
    char *from = txf_xasprintf(".clean/staging/snap/%s", name);
    char *to = txf_xasprintf(TXF_SNAP_DIR "/%s", name);
    in->add_op(in->ctx, from, to);
    free(from);
    free(to);
  }
  return rc;
}

/* ------------------------------------------------------------ reading */

int txf_clean_lake_log(const char *data_dir, char **json_out, txf_err *err) {
  *json_out = NULL;
  int64_t *vs = NULL;
  size_t nv = 0;
  int rc = txf_clean_snapshot_versions(data_dir, &vs, &nv, err);
  json_t *out = json_array();
  for (size_t i = 0; i < nv && !rc; i++) {
    json_t *r = NULL;
    rc = txf_clean_snapshot_load(data_dir, vs[i], &r, err);
    if (rc)
      break;
    json_t *e = json_object();
    static const char *const keys[] = {"version",
                                       "committed_at",
                                       "operation",
                                       "run_id",
                                       "ingest_date",
                                       "batches",
                                       "partitions_changed",
                                       "rows",
                                       "n_partitions",
                                       NULL};
    for (const char *const *k = keys; *k; k++) {
      json_t *x = json_object_get(r, *k);
      json_object_set(e, *k, x ? x : json_null());
    }
    json_array_append_new(out, e);
    json_decref(r);
  }
  free(vs);
  if (!rc)
    *json_out = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(out);
  return rc;
}

static int all_digits(const char *s) {
  if (!*s)
    return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return 0;
  return 1;
}

int txf_clean_snapshot_find(const char *data_dir, const char *as_of,
                            int64_t *version, char ***files, size_t *n_files,
                            txf_err *err) {
  *version = 0;
  *files = NULL;
  *n_files = 0;
  int64_t *vs = NULL;
  size_t nv = 0;
  int rc = txf_clean_snapshot_versions(data_dir, &vs, &nv, err);
  if (!rc && !nv)
    rc = txf_err_set(err, TXF_ENOTFOUND,
                     "the lake at %s has no snapshot yet (a clean that "
                     "changes it commits the first)",
                     data_dir);
  int64_t ts = 0;
  json_t *found = NULL;
  if (!as_of) { /* the latest: renamed after every file it names */
    if (!rc)
      rc = txf_clean_snapshot_load(data_dir, vs[nv - 1], &found, err);
    as_of = "";
  }
  int by_version = all_digits(as_of);
  int by_time =
      !by_version && txf_ts_parse(as_of, strlen(as_of), &ts, NULL) == 0;
  /* newest first: a timestamp takes the last version committed at or
   * before it, a run id the version its run committed */
  for (size_t i = nv; i-- > 0 && !rc && !found;) {
    if (by_version) {
      if (vs[i] == strtoll(as_of, NULL, 10))
        rc = txf_clean_snapshot_load(data_dir, vs[i], &found, err);
      continue;
    }
    json_t *r = NULL;
    rc = txf_clean_snapshot_load(data_dir, vs[i], &r, err);
    if (rc)
      break;
    const char *run = json_string_value(json_object_get(r, "run_id"));
    if (by_time
            ? json_integer_value(json_object_get(r, "committed_at_us")) <= ts
            : (run && strcmp(run, as_of) == 0))
      found = r;
    else
      json_decref(r);
  }
  if (!rc && !found)
    rc = txf_err_set(
        err, TXF_ENOTFOUND,
        by_version ? "no lake version %s (the lake has versions %lld to %lld "
                     "with snapshots; 'txnflow lake log' lists them)"
        : by_time  ? "no lake version was committed at or before %s (the "
                     "first with a snapshot is %lld; last %lld)"
                   : "'%s' is neither a version, a timestamp with an offset "
                     "(2025-09-05T12:00:00Z) nor the run id of a version "
                     "(versions %lld to %lld; 'txnflow lake log' lists them)",
        as_of, (long long)(nv ? vs[0] : 0), (long long)(nv ? vs[nv - 1] : 0));
  free(vs);
  if (rc)
    return rc;
  json_t *parts = json_object_get(found, "partitions");
  *version = json_integer_value(json_object_get(found, "version"));
  *files = txf_xmalloc((json_object_size(parts) + 1) * sizeof **files);
  const char *k;
  json_t *v;
  json_object_foreach(parts, k, v) {
    const char *rel = json_string_value(json_object_get(v, "file"));
    if (!rel || strstr(rel, "..") || rel[0] == '/') {
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "snapshot of version %lld: partition %s names no "
                       "file of the lake",
                       (long long)*version, k);
      break;
    }
    (*files)[(*n_files)++] = txf_path_join(data_dir, rel);
  }
  json_decref(found);
  if (rc) {
    txf_clean_snapshot_files_free(*files, *n_files);
    *files = NULL;
    *n_files = 0;
  }
  return rc;
}

void txf_clean_snapshot_files_free(char **files, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(files[i]);
  free(files);
}

/* FROM at TO (its directory made): a hard link, a copy across file
 * systems. */
static int link_or_copy(const char *from, const char *to, txf_err *err) {
  int rc = txf_fs_mkdirs_parent(to, err);
  if (rc || link(from, to) == 0)
    return rc;
  if (errno != EXDEV && errno != EPERM)
    return txf_err_errno(err, TXF_EIO, "link %s -> %s", from, to);
  txf_buf b;
  txf_buf_init(&b, 0);
  rc = txf_fs_read_file(from, &b, err);
  if (!rc)
    rc = txf_fs_write_atomic(to, b.data, b.len, err);
  txf_buf_release(&b);
  return rc;
}

int txf_clean_snapshot_lake(const char *data_dir, const char *as_of,
                            const char *dest, int64_t *version, txf_err *err) {
  char **files = NULL;
  size_t n = 0;
  int rc = txf_clean_snapshot_find(data_dir, as_of, version, &files, &n, err);
  if (rc)
    return rc;
  /* ours, made whole each time: removed only when an earlier call made
   * it (its mark is there), never a directory of someone else's */
  char *mark = txf_path_join(dest, ".txnflow-as-of");
  if (txf_fs_exists(dest) && !txf_fs_exists(mark))
    rc = txf_err_set(err, TXF_EEXIST,
                     "%s exists and is not a lake a build as of a version "
                     "made: give another --target-path",
                     dest);
  if (!rc)
    rc = txf_fs_rmtree(dest, err);
  if (!rc)
    rc = txf_fs_mkdirs(dest, err);
  if (!rc)
    rc = txf_fs_write_atomic(mark, "", 0, err);
  free(mark);
  /* files/year=Y/month=M/day=D/vV.parquet -> the live layout's
   * silver/transactions/year=Y/month=M/day=D/part-00000.parquet */
  for (size_t i = 0; i < n && !rc; i++) {
    const char *at = strstr(files[i], "/files/year=");
    const char *slash = strrchr(files[i], '/');
    if (!at || slash <= at + 6) {
      rc = txf_err_set(err, TXF_ECORRUPT, "%s: not a versioned partition file",
                       files[i]);
      break;
    }
    char *to = txf_xasprintf("%s/silver/transactions/%.*s/part-00000.parquet",
                             dest, (int)(slash - (at + 7)), at + 7);
    rc = link_or_copy(files[i], to, err);
    free(to);
  }
  txf_clean_snapshot_files_free(files, n);
  /* the change log up to the version: what the by-change models read, and
   * the version they take for the lake's */
  char *log = txf_path_join(data_dir, TXF_SILVER_CHANGES_DIR);
  char **vdirs = NULL;
  size_t nv = 0;
  if (!rc)
    rc = txf_fs_list(log, "", &vdirs, &nv, err);
  for (size_t i = 0; i < nv; i++) {
    char *end = NULL;
    long long v = !strncmp(vdirs[i], "version=", 8)
                      ? strtoll(vdirs[i] + 8, &end, 10)
                      : -1;
    char **names = NULL;
    size_t nn = 0;
    char *vdir = txf_path_join(log, vdirs[i]);
    if (!rc && end && !*end && v >= 0 && v <= *version)
      rc = txf_fs_list(vdir, ".parquet", &names, &nn, err);
    for (size_t k = 0; k < nn; k++) {
      if (!rc) {
        char *from = txf_path_join(vdir, names[k]);
        char *to = txf_xasprintf("%s/" TXF_SILVER_CHANGES_DIR "/%s/%s", dest,
                                 vdirs[i], names[k]);
        rc = link_or_copy(from, to, err);
        free(from);
        free(to);
      }
      free(names[k]);
    }
    free(names);
    free(vdir);
    free(vdirs[i]);
  }
  free(vdirs);
  free(log);
  return rc;
}

int txf_clean_run_commit(txf_clean_snap_in *in, json_t *out, jop *const *ops,
                         const size_t *n_ops, const txf_clean_crash *crash,
                         int *stage_counter, char **report_json,
                         txf_err *err) {
  char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  int rc = 0;
  /* the snapshot of the version this commits (docs/silver.md,
   * "Snapshots"); a run that changed nothing commits none */
  if (json_is_integer(json_object_get(out, "commit_version"))) {
    in->report = out;
    rc = txf_clean_snapshot_stage(in, err);
  }
  json_decref(out);
  if (!rc)
    txf_clean_crash_point(crash, "stage", stage_counter);
  if (!rc)
    rc = txf_clean_journal_commit(in->data_dir, in->staging, in->run_id, *ops,
                                  *n_ops, text, in->store, crash, err);
  if (rc) {
    free(text);
    return rc;
  }
  *report_json = text;
  return 0;
}
