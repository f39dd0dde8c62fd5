/* The run journal: the commit point of a clean (docs/silver.md,
 * "Commit and recovery").
 *
 * Everything a run changes is first built under DATA/.clean/staging and
 * fsynced. Then DATA/.clean/journal.json is written atomically: the list of
 * renames (staging file -> its place in the lake) and deletions, and the
 * run's report. Its appearance is the commit. Applying it is idempotent (a
 * rename whose source is gone was done already), so recovery after a crash
 * at any point simply applies it again, records the run in the metadata
 * database if it is not there yet, and removes it. Without a journal, the
 * staging area is garbage from a run that never committed. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/internal.h"

#define JOURNAL ".clean/journal.json"
#define STAGING ".clean/staging"

int txf_clean_journal_write(const char *data_dir, const char *run_id,
                            const jop *ops, size_t n, const char *report_json,
                            txf_err *err) {
  json_t *j = json_object();
  json_object_set_new(j, "format", json_string("txnflow-clean-journal/1"));
  json_object_set_new(j, "run_id", json_string(run_id));
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("[s?s]", ops[i].from, ops[i].to));
  json_object_set_new(j, "ops", a);
  json_error_t je;
  json_t *rep = json_loads(report_json, 0, &je);
  json_object_set_new(j, "report", rep ? rep : json_null());
  char *text = json_dumps(j, JSON_INDENT(1));
  json_decref(j);
  char *path = txf_path_join(data_dir, JOURNAL);
  int rc = txf_fs_write_atomic(path, text, strlen(text), err);
  free(path);
  free(text);
  return rc;
}

/* Remove DIR and its parents up to (not including) STOP while empty. */
static void prune_dirs(char *dir, const char *stop) {
  size_t stop_len = strlen(stop);
  while (strlen(dir) > stop_len && txf_str_has_prefix(dir, stop)) {
    if (rmdir(dir) != 0)
      return;
    char *slash = strrchr(dir, '/');
    if (!slash)
      return;
    *slash = '\0';
  }
}

static int add_dir(char ***dirs, size_t *n, const char *path) {
  char *d = txf_xstrdup(path);
  *strrchr(d, '/') = '\0';
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*dirs)[i], d) == 0) {
      free(d);
      return 0;
    }
  *dirs = txf_xrealloc(*dirs, (*n + 1) * sizeof **dirs);
  (*dirs)[(*n)++] = d;
  return 0;
}

/* Renames are plain rename(2)s; the directories they touched are fsynced
 * once each at the end, before the journal is removed. */
static int apply_ops(const char *data_dir, json_t *ops,
                     const txf_clean_crash *crash, txf_err *err) {
  int crash_n = 0;
  char **dirs = NULL;
  size_t n_dirs = 0;
  int rc = 0;
  size_t i;
  json_t *op;
  json_array_foreach(ops, i, op) {
    const char *from = json_string_value(json_array_get(op, 0));
    const char *to = json_string_value(json_array_get(op, 1));
    if (!to) {
      rc = txf_err_set(err, TXF_ECORRUPT, "journal: op %zu has no target",
                       i);
      break;
    }
    char *to_abs = txf_path_join(data_dir, to);
    if (from) {
      char *from_abs = txf_path_join(data_dir, from);
      if (txf_fs_exists(from_abs)) {
        char *dir = txf_xstrdup(to_abs);
        *strrchr(dir, '/') = '\0';
        rc = txf_fs_mkdirs(dir, err);
        free(dir);
        if (!rc && rename(from_abs, to_abs) != 0)
          rc = txf_err_errno(err, TXF_EIO, "rename %s -> %s", from, to);
        add_dir(&dirs, &n_dirs, to_abs);
      } else if (!txf_fs_exists(to_abs)) {
        rc = txf_err_set(err, TXF_ECORRUPT,
                         "journal: neither %s nor %s exists", from, to);
      }
      free(from_abs);
    } else {
      if (unlink(to_abs) != 0 && errno != ENOENT)
        rc = txf_err_errno(err, TXF_EIO, "%s: cannot remove", to_abs);
      if (!rc) {
        char *dir = txf_xstrdup(to_abs);
        *strrchr(dir, '/') = '\0';
        char *stop = txf_path_join(data_dir, "silver/transactions");
        prune_dirs(dir, stop);
        free(stop);
        free(dir);
      }
    }
    free(to_abs);
    if (rc)
      break;
    txf_clean_crash_point(crash, "apply", &crash_n);
  }
  for (size_t k = 0; k < n_dirs; k++) {
    if (!rc && txf_fs_is_dir(dirs[k]))
      rc = txf_fs_fsync_dir(dirs[k], err);
    free(dirs[k]);
  }
  free(dirs);
  return rc;
}

/* Record the run in the metadata database unless it is there already. */
static int store_report(txf_store *store, json_t *rep, txf_err *err) {
  const char *run_id = json_string_value(json_object_get(rep, "run_id"));
  if (!run_id)
    return txf_err_set(err, TXF_ECORRUPT, "journal: report has no run_id");
  int64_t ended = json_integer_value(json_object_get(rep, "ended_at_us"));
  txf_meta_clean_run run = {
      .ingest_date = json_string_value(json_object_get(rep, "ingest_date")),
      .started_at_us =
          json_integer_value(json_object_get(rep, "started_at_us")),
      .ended_at_us = ended,
      .lines_read = json_integer_value(json_object_get(rep, "lines_read")),
      .inserted = json_integer_value(json_object_get(rep, "inserted")),
      .updated = json_integer_value(json_object_get(rep, "updated")),
      .duplicates = json_integer_value(json_object_get(rep, "duplicates")),
      .stale = json_integer_value(json_object_get(rep, "stale")),
      .quarantined = json_integer_value(json_object_get(rep, "quarantined")),
      .ties = json_integer_value(json_object_get(rep, "ties")),
      .partitions_rewritten = (int64_t)json_array_size(
          json_object_get(rep, "partitions_rewritten"))};
  json_t *by_reason = json_object_get(rep, "quarantined_by_reason");
  json_t *rows = json_object_get(rep, "rows_per_partition");
  json_t *files = json_object_get(rep, "partition_files");
  txf_meta_count *reasons =
      txf_xcalloc(json_object_size(by_reason) + 1, sizeof *reasons);
  txf_meta_partition_commit *commits =
      txf_xcalloc(json_object_size(rows) + 1, sizeof *commits);
  size_t n_reasons = 0, n_commits = 0;
  const char *k;
  json_t *v;
  json_object_foreach(by_reason, k, v) {
    reasons[n_reasons++] = (txf_meta_count){k, json_integer_value(v)};
  }
  json_object_foreach(rows, k, v) {
    json_t *f = json_object_get(files, k);
    commits[n_commits++] = (txf_meta_partition_commit){
        .partition = k,
        .n_rows = json_integer_value(v),
        .size_bytes = f ? json_integer_value(json_object_get(f, "size_bytes"))
                        : TXF_META_NULL,
        .sha256 = f ? json_string_value(json_object_get(f, "sha256")) : NULL,
        .committed_at_us = ended};
  }
  char *text = json_dumps(rep, JSON_COMPACT | JSON_SORT_KEYS);
  run.details_json = text;
  int rc = txf_meta_clean_record(store, run_id, &run, reasons, n_reasons,
                                 commits, n_commits, err);
  free(text);
  free(reasons);
  free(commits);
  return rc;
}

/* Apply the journal (if any), record the run, remove journal and staging.
 * CRASH (may be NULL) is the crash injection of a live run. */
int txf_clean_journal_finish(const char *data_dir, txf_store *store,
                             const txf_clean_crash *crash, int *applied,
                             txf_err *err) {
  *applied = 0;
  char *jpath = txf_path_join(data_dir, JOURNAL);
  char *staging = txf_path_join(data_dir, STAGING);
  int rc = 0;
  if (txf_fs_exists(jpath)) {
    json_error_t je;
    json_t *j = json_load_file(jpath, 0, &je);
    if (!j) {
      rc = txf_err_set(err, TXF_ECORRUPT, "%s:%d: %s", jpath, je.line,
                       je.text);
      goto out;
    }
    rc = apply_ops(data_dir, json_object_get(j, "ops"), crash, err);
    /* An index rebuild commits files but is no clean: no report. */
    if (!rc && store && !json_is_null(json_object_get(j, "report")))
      rc = store_report(store, json_object_get(j, "report"), err);
    json_decref(j);
    if (rc)
      goto out;
    int n = 0;
    txf_clean_crash_point(crash, "meta", &n);
    if (unlink(jpath) != 0) {
      rc = txf_err_errno(err, TXF_EIO, "%s: cannot remove", jpath);
      goto out;
    }
    char *cdir = txf_path_join(data_dir, ".clean");
    rc = txf_fs_fsync_dir(cdir, err);
    free(cdir);
    if (rc)
      goto out;
    *applied = 1;
    txf_clean_crash_point(crash, "done", &n);
  }
  rc = txf_fs_rmtree(staging, err);
out:
  free(jpath);
  free(staging);
  return rc;
}
