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
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

int txf_clean_journal_check(const char *data_dir, const jop *ops, size_t n,
                            txf_err *err) {
  char **seen = NULL;
  size_t n_seen = 0;
  int rc = 0;
  for (size_t i = 0; i <= n && !rc; i++) {
    /* the target's directory, or the nearest one that exists (where the
     * rest would be made); last, .clean itself (the undo links) */
    char *dir = i < n ? txf_path_join(data_dir, ops[i].to)
                      : txf_path_join(data_dir, ".clean/x");
    do
      *strrchr(dir, '/') = '\0';
    while (!txf_fs_is_dir(dir) && strchr(dir + strlen(data_dir), '/'));
    size_t k = 0;
    while (k < n_seen && strcmp(seen[k], dir) != 0)
      k++;
    if (k < n_seen) {
      free(dir);
      continue;
    }
    seen = txf_xrealloc(seen, (n_seen + 1) * sizeof *seen);
    seen[n_seen++] = dir;
    /* Try what the apply does: make an entry and remove it. access(2)
     * would miss immutable directories, ACLs and read-only mounts for
     * root. */
    char *probe = txf_xasprintf("%s/.txnflow-probe-%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      rc = txf_err_errno(err, TXF_EIO,
                         "%s: cannot write there, which the commit needs; "
                         "nothing was committed",
                         dir + strlen(data_dir) +
                             (dir[strlen(data_dir)] == '/'));
    else {
      close(fd);
      if (unlink(probe) != 0)
        rc = txf_err_errno(err, TXF_EIO,
                           "%s: cannot remove files there, which the commit "
                           "needs; nothing was committed",
                           dir);
    }
    free(probe);
  }
  for (size_t k = 0; k < n_seen; k++)
    free(seen[k]);
  free(seen);
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

/* Apply the journal's ops in order. Each op first keeps the file it
 * replaces or removes as a hard link in .clean/undo/<i> (kept across
 * attempts: an op done by an earlier, interrupted attempt still has its
 * link). When an op fails (a permission, a read-only or full file
 * system), the ops done so far are undone in reverse: the new file goes
 * back to staging and the old one to its place. Readers then see the
 * lake as it was before the commit, never a mix, and the journal stays
 * for the next clean to apply once the cause is fixed. The directories
 * touched are fsynced once each at the end. */
#define UNDO ".clean/undo"

static char *undo_path(const char *data_dir, size_t i) {
  return txf_xasprintf("%s/" UNDO "/%zu", data_dir, i);
}

/* Undo ops [0, n) of OPS in reverse; 0, or -1 when some could not be (the
 * message says so in ERR, which keeps the original failure first). */
static int undo_ops(const char *data_dir, json_t *ops, size_t n, txf_err *err) {
  int bad = 0;
  while (n-- > 0) {
    json_t *op = json_array_get(ops, n);
    const char *from = json_string_value(json_array_get(op, 0));
    const char *to = json_string_value(json_array_get(op, 1));
    char *to_abs = txf_path_join(data_dir, to);
    char *keep = undo_path(data_dir, n);
    if (from) {
      char *from_abs = txf_path_join(data_dir, from);
      if (!txf_fs_exists(from_abs) && txf_fs_exists(to_abs) &&
          rename(to_abs, from_abs) != 0)
        bad = 1;
      free(from_abs);
    }
    if (txf_fs_exists(keep) && rename(keep, to_abs) != 0)
      bad = 1;
    free(keep);
    free(to_abs);
  }
  return bad ? -1 : 0;
}

static int apply_ops(const char *data_dir, json_t *ops,
                     const txf_clean_crash *crash, txf_err *err) {
  int crash_n = 0;
  char **dirs = NULL;
  size_t n_dirs = 0;
  int rc = 0;
  size_t i;
  json_t *op;
  char *undo = txf_path_join(data_dir, UNDO);
  rc = txf_fs_mkdirs(undo, err);
  json_array_foreach(ops, i, op) {
    if (rc)
      break;
    const char *from = json_string_value(json_array_get(op, 0));
    const char *to = json_string_value(json_array_get(op, 1));
    if (!to) {
      rc = txf_err_set(err, TXF_ECORRUPT, "journal: op %zu has no target",
                       i);
      break;
    }
    char *to_abs = txf_path_join(data_dir, to);
    char *keep = undo_path(data_dir, i);
    char *from_abs = from ? txf_path_join(data_dir, from) : NULL;
    /* Not done yet (its source is there, or it deletes a file that is
     * there): keep what it replaces. */
    if ((from_abs ? txf_fs_exists(from_abs) : 1) && txf_fs_exists(to_abs)) {
      unlink(keep);
      if (link(to_abs, keep) != 0)
        rc = txf_err_errno(err, TXF_EIO, "link %s -> %s", to, keep);
    }
    if (rc) {
    } else if (from_abs) {
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
    free(from_abs);
    free(keep);
    free(to_abs);
    if (rc) {
      if (undo_ops(data_dir, ops, i, err) == 0)
        txf_err_wrap(err, "the commit was undone, the lake is as before it; "
                          "the journal stays and the next clean applies it "
                          "once this is fixed");
      else
        txf_err_wrap(err, "the commit could not be undone either; the next "
                          "clean applies it once this is fixed");
      break;
    }
    txf_clean_crash_point(crash, "apply", &crash_n);
  }
  for (size_t k = 0; k < n_dirs; k++) {
    if (!rc && txf_fs_is_dir(dirs[k]))
      rc = txf_fs_fsync_dir(dirs[k], err);
    free(dirs[k]);
  }
  free(dirs);
  free(undo);
  return rc;
}

/* Record the run in the metadata database unless it is there already. */
static int store_report(txf_store *store, json_t *rep, txf_err *err) {
  const char *run_id = json_string_value(json_object_get(rep, "run_id"));
  if (!run_id)
    return txf_err_set(err, TXF_ECORRUPT, "journal: report has no run_id");
  int64_t ended = json_integer_value(json_object_get(rep, "ended_at_us"));
  const char *op = json_string_value(json_object_get(rep, "operation"));
  txf_meta_clean_run run = {
      .ingest_date = json_string_value(json_object_get(rep, "ingest_date")),
      .state = op && strcmp(op, "revert") == 0 ? "reverted" : "success",
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
  if (!rc) { /* the old files the commit replaced */
    char *udir = txf_path_join(data_dir, UNDO);
    rc = txf_fs_rmtree(udir, err);
    free(udir);
  }
out:
  free(jpath);
  free(staging);
  return rc;
}

int txf_clean_journal_commit(const char *data_dir, const char *staging,
                             const char *run_id, const jop *ops, size_t n,
                             const char *report_json, txf_store *store,
                             const txf_clean_crash *crash, txf_err *err) {
  /* Every staged file durable at once: one syncfs instead of an fsync
   * per file (hundreds of index shards). */
  int rc = 0;
  int sfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0 || syncfs(sfd) != 0)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot sync", staging);
  if (sfd >= 0)
    close(sfd);
  if (!rc)
    rc = txf_clean_journal_check(data_dir, ops, n, err);
  if (!rc)
    rc = txf_clean_journal_write(data_dir, run_id, ops, n, report_json, err);
  if (rc)
    return rc;
  int jn = 0, applied;
  txf_clean_crash_point(crash, "journal", &jn);
  rc = txf_clean_journal_finish(data_dir, store, crash, &applied, err);
  if (rc)
    return txf_err_wrap(err, "committed, but not finished (the next clean "
                             "finishes it)");
  return 0;
}

int txf_clean_journal_commit_files(const char *data_dir, const char *prefix,
                                   const jop *ops, size_t n,
                                   const txf_clean_crash *crash, txf_err *err) {
  char run_id[64];
  snprintf(run_id, sizeof run_id, "%s-%lld-%ld", prefix,
           (long long)txf_wall_us(), (long)getpid());
  int stage = 0;
  txf_clean_crash_point(crash, "stage", &stage);
  /* Not a clean: the journal commits files and records no run. */
  char *staging = txf_path_join(data_dir, STAGING);
  int rc = txf_clean_journal_commit(data_dir, staging, run_id, ops, n, "null",
                                    NULL, crash, err);
  free(staging);
  return rc;
}

void txf_clean_jops_add(jop **ops, size_t *n, const char *from,
                        const char *to) {
  *ops = txf_xrealloc(*ops, (*n + 1) * sizeof **ops);
  (*ops)[*n].from = from ? txf_xstrdup(from) : NULL;
  (*ops)[*n].to = txf_xstrdup(to);
  (*n)++;
}

int txf_clean_commit_settled(const char *data_dir, char **run_id,
                             txf_err *err) {
  if (run_id)
    *run_id = NULL;
  char *jpath = txf_path_join(data_dir, JOURNAL);
  int rc = 0;
  if (txf_fs_exists(jpath)) {
    /* the run id only names the commit; an unreadable journal is still
     * one (the next clean says what is wrong with it) */
    json_t *j = json_load_file(jpath, 0, NULL);
    const char *id = j ? json_string_value(json_object_get(j, "run_id")) : NULL;
    if (run_id)
      *run_id = txf_xstrdup(id ? id : "?");
    rc = txf_err_set(err, TXF_ELOCKED,
                     "the lake's last commit (%s) is not fully applied: the "
                     "files under silver/transactions may mix two versions "
                     "until `txnflow clean` finishes it (once what stopped "
                     "it is fixed); nothing was read",
                     id ? id : jpath);
    json_decref(j);
  }
  free(jpath);
  return rc;
}

int txf_clean_lake_lock(const char *data_dir, int *fd_out, txf_err *err) {
  char *path = txf_path_join(data_dir, ".clean.lock");
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int rc = txf_err_errno(err, TXF_EIO, "%s: cannot open", path);
    free(path);
    return rc;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int rc = errno == EWOULDBLOCK
                 ? txf_err_set(err, TXF_ELOCKED,
                               "another clean is running on %s (lock %s)",
                               data_dir, path)
                 : txf_err_errno(err, TXF_EIO, "%s: cannot lock", path);
    close(fd);
    free(path);
    return rc;
  }
  free(path);
  *fd_out = fd;
  return 0;
}

int txf_clean_lake_enter(const char *data_dir, txf_store *store,
                         const txf_logger *log, int *lock_fd, txf_err *err) {
  *lock_fd = -1;
  int rc = txf_clean_lake_lock(data_dir, lock_fd, err);
  if (rc)
    return rc;
  int recovered = 0;
  rc = txf_clean_journal_finish(data_dir, store, NULL, &recovered, err);
  if (rc)
    return txf_err_wrap(err, "recovering an interrupted clean");
  if (recovered)
    txf_log_info(log, "finished an interrupted clean first");
  return 0;
}
