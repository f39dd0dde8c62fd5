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

int journal_write(const char *data_dir, const char *run_id, const jop *ops,
                  size_t n, const char *report_json, txf_err *err) {
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
                     const txf_clean_opts *o, txf_err *err) {
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
    if (o)
      crash_point(o, "apply", &crash_n);
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
  sqlite3 *db = txf_store_db(store);
  sqlite3_stmt *st = NULL;
  int rc = txf_store_begin(store, err);
  if (rc)
    return rc;
  rc = txf_store_prepare(store,
                         "SELECT 1 FROM clean_runs WHERE "
                         "json_extract(details_json, '$.run_id') = ?1",
                         &st, err);
  if (rc)
    goto fail;
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_TRANSIENT);
  int exists = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  st = NULL;
  if (exists)
    return txf_store_commit(store, err);
  char *text = json_dumps(rep, JSON_COMPACT | JSON_SORT_KEYS);
  rc = txf_store_prepare(
      store,
      "INSERT INTO clean_runs(ingest_date, started_at_us, ended_at_us, state,"
      " lines_read, inserted, updated, duplicates, stale, quarantined, ties,"
      " partitions_rewritten, details_json) VALUES"
      " (?1, ?2, ?3, 'success', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
      &st, err);
  if (!rc) {
    sqlite3_bind_text(st, 1,
                      json_string_value(json_object_get(rep, "ingest_date")),
                      -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2,
                       json_integer_value(json_object_get(rep, "started_at_us")));
    sqlite3_bind_int64(st, 3,
                       json_integer_value(json_object_get(rep, "ended_at_us")));
    static const char *const keys[] = {"lines_read", "inserted", "updated",
                                       "duplicates", "stale", "quarantined",
                                       "ties"};
    for (int k = 0; k < 7; k++)
      sqlite3_bind_int64(st, 4 + k,
                         json_integer_value(json_object_get(rep, keys[k])));
    sqlite3_bind_int64(st, 11,
                       (sqlite3_int64)json_array_size(
                           json_object_get(rep, "partitions_rewritten")));
    sqlite3_bind_text(st, 12, text, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = txf_store_error(store, err, "insert clean_runs");
    sqlite3_finalize(st);
    st = NULL;
  }
  free(text);
  if (rc)
    goto fail;
  sqlite3_int64 clean_id = sqlite3_last_insert_rowid(db);
  const char *k;
  json_t *v;
  rc = txf_store_prepare(store,
                         "INSERT INTO quarantine_counts(clean_id, reason, n)"
                         " VALUES (?1, ?2, ?3)",
                         &st, err);
  if (rc)
    goto fail;
  json_object_foreach(json_object_get(rep, "quarantined_by_reason"), k, v) {
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, clean_id);
    sqlite3_bind_text(st, 2, k, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, json_integer_value(v));
    if (sqlite3_step(st) != SQLITE_DONE) {
      rc = txf_store_error(store, err, "insert quarantine_counts");
      goto fail;
    }
  }
  sqlite3_finalize(st);
  st = NULL;
  rc = txf_store_prepare(store,
                         "INSERT INTO partition_commits(clean_id, partition,"
                         " n_rows, size_bytes, sha256, committed_at_us)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         &st, err);
  if (rc)
    goto fail;
  json_t *files = json_object_get(rep, "partition_files");
  json_object_foreach(json_object_get(rep, "rows_per_partition"), k, v) {
    json_t *f = json_object_get(files, k);
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, clean_id);
    sqlite3_bind_text(st, 2, k, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, json_integer_value(v));
    if (f) {
      sqlite3_bind_int64(st, 4,
                         json_integer_value(json_object_get(f, "size_bytes")));
      sqlite3_bind_text(st, 5, json_string_value(json_object_get(f, "sha256")),
                        -1, SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(st, 4);
      sqlite3_bind_null(st, 5);
    }
    sqlite3_bind_int64(st, 6,
                       json_integer_value(json_object_get(rep, "ended_at_us")));
    if (sqlite3_step(st) != SQLITE_DONE) {
      rc = txf_store_error(store, err, "insert partition_commits");
      goto fail;
    }
  }
  sqlite3_finalize(st);
  return txf_store_commit(store, err);
fail:
  if (st)
    sqlite3_finalize(st);
  txf_store_rollback(store);
  return rc;
}

/* Apply the journal (if any), record the run, remove journal and staging.
 * O (may be NULL) carries the crash injection of a live run. */
int journal_finish(const char *data_dir, txf_store *store,
                   const txf_clean_opts *o, int *applied, txf_err *err) {
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
    rc = apply_ops(data_dir, json_object_get(j, "ops"), o, err);
    if (!rc && store)
      rc = store_report(store, json_object_get(j, "report"), err);
    json_decref(j);
    if (rc)
      goto out;
    int n = 0;
    if (o)
      crash_point(o, "meta", &n);
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
    if (o)
      crash_point(o, "done", &n);
  }
  rc = txf_fs_rmtree(staging, err);
out:
  free(jpath);
  free(staging);
  return rc;
}
