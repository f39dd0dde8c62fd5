#include "../../lib/unit.h"
#include "duck/duck.h"
#include "warehouse/warehouse.h"
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run SQL on DB (a file), read-write. */
static void run_sql(const char *db, const char *sql) {
  txf_duck *d;
  txf_err err;
  ASSERT_OK(txf_duck_open(&d, db, 1, 0, &err), &err);
  ASSERT_OK(txf_duck_exec(d, sql, &err), &err);
  txf_duck_close(d);
}

/* SQL's one integer on DB, opened read-only as a reader would. */
static int64_t read_i64(const char *db, const char *sql) {
  txf_duck *d;
  txf_err err;
  ASSERT_OK(txf_duck_open(&d, db, 1, 1, &err), &err);
  int64_t v = 0;
  ASSERT_OK(txf_duck_query_i64(d, sql, &v, &err), &err);
  txf_duck_close(d);
  return v;
}

/* A first session on P publishes t(k) = 0, 1, 2 as a copied table. */
static void publish_t(const char *p) {
  txf_err err;
  txf_wh *w;
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  run_sql(txf_wh_path(w), "CREATE TABLE t AS SELECT range AS k FROM range(3)");
  txf_wh_note_copy(w, "main", "t");
  ASSERT_OK(txf_wh_publish(w, &err), &err);
}

/* T of publish_t with the rows WHERE deletes taken out and VALUES put in,
 * noted as a delta and published; the next session has replayed it into
 * the other copy, P.a. Returns that session. */
static txf_wh *delta_replayed(const char *p, const char *where,
                              const char *values) {
  txf_err err;
  txf_wh *w;
  publish_t(p);
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  char *old_rel = txf_wh_keep_rel("old__t"),
       *new_rel = txf_wh_keep_rel("new__t");
  char sql[1024];
  snprintf(sql, sizeof sql,
           "CREATE SCHEMA IF NOT EXISTS " TXF_WH_SCHEMA "; "
           "CREATE TABLE %s AS SELECT * FROM t WHERE %s; "
           "DELETE FROM t WHERE %s; "
           "CREATE TABLE %s (k BIGINT); INSERT INTO %s VALUES %s; "
           "INSERT INTO t SELECT * FROM %s",
           old_rel, where, where, new_rel, new_rel, values, new_rel);
  run_sql(txf_wh_path(w), sql);
  txf_wh_note_delta(w, "main", "t", "\"k\"", old_rel, new_rel, "\"k\"");
  free(old_rel);
  free(new_rel);
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  char a[512];
  snprintf(a, sizeof a, "%s.a", p);
  ASSERT_EQ_STR(txf_wh_path(w), a);
  return w;
}

static char *link_target(const char *path) {
  static char buf[256];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  ASSERT(n > 0);
  buf[n] = '\0';
  return buf;
}

/* A session writes the unpublished copy, readers keep the published one
 * until the swap; the next session replays the log (a table copied, a
 * view recreated, a delta of rows), so both copies end the same. */
TEST(warehouse_copies_publish_and_replay) {
  const char *p = unit_path("wh.duckdb");
  char a[512], b[512];
  snprintf(a, sizeof a, "%s.a", p);
  snprintf(b, sizeof b, "%s.b", p);
  txf_err err;
  txf_wh *w;
  /* 1: a new warehouse, written as copy a */
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_STR(txf_wh_path(w), a);
  run_sql(a, "CREATE TABLE t AS SELECT range AS k, range * 10 AS v FROM "
             "range(5); CREATE TABLE s AS SELECT 1 AS x");
  txf_wh_note_copy(w, "main", "t");
  txf_wh_note_copy(w, "main", "s");
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  ASSERT_EQ_STR(link_target(p), "wh.duckdb.a");
  ASSERT_EQ_I64(read_i64(p, "SELECT sum(v) FROM t"), 100);

  /* 2: copy b (copied from a, once), a delta and a view; a reader of the
   * link sees a until the publish */
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_STR(txf_wh_path(w), b);
  char *old_rel = txf_wh_keep_rel("old__t"),
       *new_rel = txf_wh_keep_rel("new__t");
  char sql[1024];
  snprintf(sql, sizeof sql,
           "CREATE SCHEMA IF NOT EXISTS " TXF_WH_SCHEMA "; "
           "CREATE TABLE %s AS SELECT * FROM t WHERE k IN (1, 2); "
           "DELETE FROM t WHERE k IN (1, 2); "
           "CREATE TABLE %s AS SELECT 2 AS k, 99 AS v UNION ALL SELECT 7, 70; "
           "INSERT INTO t SELECT * FROM %s; "
           "CREATE VIEW vt AS SELECT count(*) AS n FROM t",
           old_rel, new_rel, new_rel);
  run_sql(b, sql);
  ASSERT_EQ_I64(read_i64(p, "SELECT sum(v) FROM t"), 100);
  txf_wh_note_delta(w, "main", "t", "\"k\"", old_rel, new_rel, "\"k\"");
  txf_wh_note_view(w, "main", "vt", "SELECT count(*) AS n FROM t");
  free(old_rel);
  free(new_rel);
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  ASSERT_EQ_STR(link_target(p), "wh.duckdb.b");
  int64_t want = 0 + 30 + 40 + 99 + 70;
  ASSERT_EQ_I64(read_i64(p, "SELECT sum(v) FROM t"), want);

  /* 3: copy a catches up by the log alone, writes nothing, publishes */
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_STR(txf_wh_path(w), a);
  ASSERT_EQ_I64(read_i64(a, "SELECT sum(v) FROM t"), want);
  ASSERT_EQ_I64(read_i64(a, "SELECT n FROM vt"), 5);
  ASSERT_EQ_I64(read_i64(a, "SELECT count(*) FROM t WHERE k = 1"), 0);
  ASSERT_EQ_I64(
      read_i64(a, "SELECT count(*) FROM _txnflow_copies.copy_state WHERE "
                  "seq = 2 AND dirty"),
      1);
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  ASSERT_EQ_I64(read_i64(p, "SELECT seq FROM _txnflow_copies.copy_state"), 3);

  /* a second writer is refused while a session is open */
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  txf_wh *w2;
  ASSERT(txf_wh_begin(&w2, p, 1000, &err) == TXF_ELOCKED);
  ASSERT_CONTAINS(err.msg, "is being written by another process");
  /* an aborted session leaves the copy dirty: the next one copies the
   * file and the readers never saw the abandoned change */
  run_sql(txf_wh_path(w), "DROP TABLE t");
  txf_wh_abort(w);
  ASSERT_EQ_I64(read_i64(p, "SELECT sum(v) FROM t"), want);
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_I64(read_i64(txf_wh_path(w), "SELECT sum(v) FROM t"), want);
  txf_wh_abort(w);
}

/* A delta's new rows come into the other copy in its order, one INSERT
 * per value (NULLs last), by the log and not by a copy of the file: the
 * build stored them 9, NULL, 8 (as read), the replay puts 8, 9, NULL. */
TEST(warehouse_copies_delta_inserted_by_value) {
  txf_wh *w =
      delta_replayed(unit_path("byvalue.duckdb"), "k = 1", "(9), (NULL), (8)");
  const char *a = txf_wh_path(w);
  ASSERT_EQ_I64(read_i64(a, "SELECT (string_agg(coalesce(k::VARCHAR, 'n'), "
                            "',' ORDER BY rowid) = '0,2,8,9,n')::INTEGER "
                            "FROM t"),
                1);
  txf_wh_abort(w);
}

/* A delta that replaced half its table's rows or more (the customer
 * models' daily change) comes into the other copy as a copy of the
 * published table, in that table's order (9 before 8, as the build
 * inserted them), not by a delete and an insert by value (8 before 9). */
TEST(warehouse_copies_mostly_changed_delta_copied_whole) {
  txf_wh *w =
      delta_replayed(unit_path("whole.duckdb"), "k IN (1, 2)", "(9), (8)");
  const char *a = txf_wh_path(w);
  ASSERT_EQ_I64(read_i64(a, "SELECT (string_agg(k::VARCHAR, ',' ORDER BY "
                            "rowid) = '0,9,8')::INTEGER FROM t"),
                1);
  txf_wh_abort(w);
}

/* A log with a note this binary does not know (a later binary's) is not
 * replayed without it: the copy becomes a copy of the published file, so
 * it is not left without that note's change (which here only the file
 * holds: a table no other note names). */
TEST(warehouse_copies_unknown_note_copies_the_file) {
  const char *p = unit_path("future.duckdb");
  txf_err err;
  txf_wh *w;
  publish_t(p);
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  run_sql(txf_wh_path(w), "INSERT INTO t VALUES (100)");
  txf_wh_note_copy(w, "main", "t");
  char pub[512];
  snprintf(pub, sizeof pub, "%s", txf_wh_path(w));
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  run_sql(pub, "CREATE TABLE only_in_the_file AS SELECT 1 AS x; "
               "INSERT INTO _txnflow_copies.copy_log SELECT seq, 1, "
               "'from_the_future', NULL, NULL, NULL, NULL, NULL, NULL, NULL "
               "FROM _txnflow_copies.copy_state");
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_I64(read_i64(txf_wh_path(w), "SELECT sum(k) FROM t"), 103);
  ASSERT_EQ_I64(read_i64(txf_wh_path(w), "SELECT x FROM only_in_the_file"), 1);
  ASSERT_EQ_I64(read_i64(txf_wh_path(w), "SELECT count(*) FROM "
                                         "_txnflow_copies.copy_log"),
                0);
  txf_wh_abort(w);
}

/* A plain file from before the copies becomes copy a, unchanged; a
 * session that ran SQL it cannot describe (note_all) makes the next one
 * copy the file; a link that points elsewhere is refused, not followed. */
TEST(warehouse_copies_migrate_all_and_foreign_link) {
  const char *p = unit_path("old.duckdb");
  char a[512], b[512];
  snprintf(a, sizeof a, "%s.a", p);
  snprintf(b, sizeof b, "%s.b", p);
  run_sql(p, "CREATE TABLE t AS SELECT range AS k FROM range(4)");
  txf_err err;
  txf_wh *w;
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_STR(link_target(p), "old.duckdb.a");
  ASSERT_EQ_STR(txf_wh_path(w), b);
  ASSERT_EQ_I64(read_i64(b, "SELECT sum(k) FROM t"), 6);
  run_sql(b, "INSERT INTO t VALUES (10)");
  txf_wh_note_all(w);
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  ASSERT_EQ_I64(read_i64(p, "SELECT sum(k) FROM t"), 16);

  /* a is one publish behind but the log says "all": copied whole */
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_STR(txf_wh_path(w), a);
  ASSERT_EQ_I64(read_i64(a, "SELECT sum(k) FROM t"), 16);
  ASSERT_EQ_I64(read_i64(a, "SELECT count(*) FROM _txnflow_copies.copy_log"),
                0);
  txf_wh_abort(w);

  ASSERT(unlink(p) == 0);
  ASSERT(symlink("elsewhere.duckdb", p) == 0);
  ASSERT(txf_wh_begin(&w, p, 1000, &err) == TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "points to 'elsewhere.duckdb'");
  ASSERT_EQ_I64(read_i64(a, "SELECT sum(k) FROM t"), 16);
}

/* A log the other copy cannot follow (here its table was dropped behind
 * the session's back) is left: the copy is replaced by the file, whole. */
TEST(warehouse_copies_unfollowable_log_copies_the_file) {
  const char *p = unit_path("lost.duckdb");
  char a[512];
  snprintf(a, sizeof a, "%s.a", p);
  txf_err err;
  txf_wh *w;
  for (int round = 0; round < 2; round++) {
    ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
    run_sql(txf_wh_path(w), "CREATE OR REPLACE TABLE t AS SELECT range AS k "
                            "FROM range(3)");
    txf_wh_note_copy(w, "main", "t");
    ASSERT_OK(txf_wh_publish(w, &err), &err);
  }
  /* b is published; a is one behind and will replay b's log */
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_STR(txf_wh_path(w), a);
  run_sql(a, "UPDATE t SET k = k + 10");
  txf_wh_note_delta(w, "main", "t", "\"k\"", "\"main\".\"nowhere\"",
                    "\"main\".\"nowhere\"", NULL);
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  ASSERT_EQ_I64(read_i64(p, "SELECT sum(k) FROM t"), 33);
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_I64(read_i64(txf_wh_path(w), "SELECT sum(k) FROM t"), 33);
  txf_wh_abort(w);
}

/* The bytes "copy patched" reports written, from the debug log LOGF. */
static long long patched_bytes(const char *logf, long long *size) {
  FILE *f = fopen(logf, "r");
  ASSERT(f != NULL);
  char line[512];
  long long w = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "warehouse: copy patched: %lld of %lld", &w, size) == 2)
      break;
  fclose(f);
  return w;
}

/* A copy of the file into a copy that is there is a patch in place: only
 * what differs is written (the last session's writes), and the copy ends
 * equal to the published one. A patch left unfinished (its mark beside
 * the copy) is done again before the copy is read; a reader that still
 * holds the copy from when it was published gets a new file, not a torn one. */
TEST(warehouse_copies_patched_in_place) {
  const char *p = unit_path("patch.duckdb");
  const char *logf = unit_path("patch.log");
  char a[512], mark[512];
  snprintf(a, sizeof a, "%s.a", p);
  snprintf(mark, sizeof mark, "%s.a.patching", p);
  txf_err err;
  txf_wh *w;
  /* (every patch below in two halves at once, as a warehouse of 128 MiB
   * or more is) */
  txf_wh_set_patch_split(2 * 1024 * 1024);
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  run_sql(txf_wh_path(w),
          "CREATE TABLE t AS SELECT range AS k, "
          "md5(CAST(range AS VARCHAR)) || md5(CAST(-range AS VARCHAR)) AS pad "
          "FROM range(200000)");
  txf_wh_note_copy(w, "main", "t");
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  /* b: a new file; a session that ran SQL it cannot describe */
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  run_sql(txf_wh_path(w), "INSERT INTO t VALUES (-1, 'y')");
  txf_wh_note_all(w);
  ASSERT_OK(txf_wh_publish(w, &err), &err);
  /* a is patched to b: a fraction of the file written */
  FILE *f = fopen(logf, "w");
  ASSERT(f != NULL);
  txf_logger lg = {TXF_LOG_DEBUG, f, 0};
  ASSERT_OK(txf_wh_begin_log(&w, p, 1000, &lg, &err), &err);
  fclose(f);
  ASSERT_EQ_STR(txf_wh_path(w), a);
  long long size = 0, wrote = patched_bytes(logf, &size);
  ASSERT(wrote > 0);
  ASSERT(size > 4 * 1024 * 1024);
  ASSERT(wrote < size / 2);
  ASSERT_EQ_I64(read_i64(a, "SELECT sum(k) FROM t"), 199999LL * 100000 - 1);
  ASSERT(access(mark, F_OK) != 0);
  txf_wh_abort(w);

  /* a crash in a patch: the copy half written, the mark left. Opened as
   * it is, it would not be a database at all */
  ASSERT(truncate(a, 8192) == 0);
  FILE *m = fopen(mark, "w");
  ASSERT(m != NULL);
  fclose(m);
  ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
  ASSERT_EQ_I64(read_i64(a, "SELECT count(*) FROM t"), 200001);
  ASSERT(access(mark, F_OK) != 0);
  txf_wh_abort(w);

  /* a reader in another process holds a (its shared lock, as DuckDB
   * takes it): a is not torn under it but copied whole, a new file; the
   * reader keeps the old one */
  int fds[2];
  ASSERT(pipe(fds) == 0);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    int fd = open(a, O_RDONLY);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    char c = fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
    if (write(fds[1], &c, 1) != 1)
      _exit(1);
    sleep(5);
    _exit(0);
  }
  close(fds[1]);
  char c = 0;
  ASSERT(read(fds[0], &c, 1) == 1);
  ASSERT(c == 'y');
  close(fds[0]);
  struct stat before, after;
  ASSERT(stat(a, &before) == 0);
  m = fopen(mark, "w"); /* straight to the copy */
  ASSERT(m != NULL);
  fclose(m);
  f = fopen(logf, "w");
  ASSERT(f != NULL);
  lg.out = f;
  ASSERT_OK(txf_wh_begin_log(&w, p, 1000, &lg, &err), &err);
  fclose(f);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  ASSERT(stat(a, &after) == 0);
  ASSERT(after.st_ino != before.st_ino);
  ASSERT(access(mark, F_OK) != 0);
  ASSERT_EQ_I64(patched_bytes(logf, &size), -1);
  ASSERT_EQ_I64(read_i64(a, "SELECT count(*) FROM t"), 200001);
  txf_wh_abort(w);
  txf_wh_set_patch_split(128 * 1024 * 1024);
}

/* The copies' own state (copy_state, copy_log) is written by DELETE and
 * INSERT, and a held checkpoint does not vacuum: each session left row
 * groups of deleted rows behind, which every first read after an open
 * loaded again. Made again whole each session, they stay one row group
 * whatever the number of sessions. */
TEST(warehouse_copies_state_does_not_pile_up) {
  const char *p = unit_path("state.duckdb");
  txf_err err;
  txf_wh *w;
  for (int k = 0; k < 8; k++) {
    ASSERT_OK(txf_wh_begin(&w, p, 1000, &err), &err);
    char sql[128];
    snprintf(sql, sizeof sql,
             "CREATE OR REPLACE TABLE t AS SELECT %d AS k", k);
    /* as a build writes it: held, checkpointed beside the hold */
    txf_duck *d;
    ASSERT_OK(txf_duck_open(&d, txf_wh_path(w), 0, 0, &err), &err);
    ASSERT_OK(txf_duck_hold(d, &err), &err);
    ASSERT_OK(txf_duck_exec(d, sql, &err), &err);
    ASSERT_OK(txf_wh_checkpoint(w, d, &err), &err);
    txf_duck_close(d);
    txf_wh_note_copy(w, "main", "t");
    ASSERT_OK(txf_wh_publish(w, &err), &err);
  }
  ASSERT_EQ_I64(read_i64(p, "SELECT k FROM t"), 7);
  char a[512];
  snprintf(a, sizeof a, "%s.a", p);
  const char *rgs =
      "SELECT count(DISTINCT row_group_id) FROM "
      "pragma_storage_info('" TXF_WH_SCHEMA ".copy_state')";
  /* (the last sessions' own writes: three; fifteen and twelve after
   * eight sessions when each added to what the ones before left) */
  ASSERT(read_i64(p, rgs) <= 4);
  ASSERT(read_i64(a, rgs) <= 4);
  ASSERT_EQ_I64(read_i64(p, "SELECT count(*) FROM " TXF_WH_SCHEMA
                            ".copy_state"),
                1);
}

/* A session written through one handle (decision 1801, eighteenth round):
 * the catch-up's, by a copy of the file or by the log, handed over held
 * and with the published copy detached; the publish recorded through it.
 * The copies end the same, and a session whose handle closes without its
 * record leaves the published state and a dirty copy, copied over next. */
TEST(warehouse_copies_one_open_a_session) {
  const char *p = unit_path("one.duckdb");
  txf_err err;
  txf_wh *w;
  txf_duck *d;
  publish_t(p);
  for (int k = 0; k < 2; k++) {
    /* k 0: copy b made from a (a file copy); k 1: a replays b's log */
    ASSERT_OK(txf_wh_begin_open(&w, p, 1000, NULL, &d, &err), &err);
    ASSERT(d != NULL);
    int64_t attached = -1;
    ASSERT_OK(txf_duck_query_i64(d,
                                 "SELECT count(*) FROM duckdb_databases() "
                                 "WHERE database_name = 'txf_published'",
                                 &attached, &err),
              &err);
    ASSERT_EQ_I64(attached, 0);
    int64_t n = 0;
    ASSERT_OK(txf_duck_query_i64(d, "SELECT count(*) FROM t", &n, &err),
              &err);
    ASSERT_EQ_I64(n, 3 + k);
    ASSERT_OK(txf_duck_exec(d, "CREATE OR REPLACE TABLE t AS SELECT * FROM t "
                               "UNION ALL SELECT max(k) + 1 FROM t",
                            &err),
              &err);
    txf_wh_note_copy(w, "main", "t");
    ASSERT_OK(txf_wh_record(w, d, &err), &err);
    txf_duck_close(d);
    ASSERT_OK(txf_wh_publish(w, &err), &err);
    ASSERT_EQ_I64(read_i64(p, "SELECT count(*) FROM t"), 4 + k);
    ASSERT_EQ_I64(read_i64(p, "SELECT seq FROM " TXF_WH_SCHEMA ".copy_state"),
                  2 + k);
  }
  /* closed unrecorded (a build killed): readers keep the published state,
   * and the next session copies it over the dirty copy */
  ASSERT_OK(txf_wh_begin_open(&w, p, 1000, NULL, &d, &err), &err);
  ASSERT(d != NULL);
  ASSERT_OK(txf_duck_exec(d, "DROP TABLE t", &err), &err);
  txf_duck_close(d);
  txf_wh_abort(w);
  ASSERT_EQ_I64(read_i64(p, "SELECT count(*) FROM t"), 5);
  ASSERT_OK(txf_wh_begin_open(&w, p, 1000, NULL, &d, &err), &err);
  ASSERT(d != NULL);
  int64_t n = 0;
  ASSERT_OK(txf_duck_query_i64(d, "SELECT count(*) FROM t", &n, &err), &err);
  ASSERT_EQ_I64(n, 5);
  txf_duck_close(d);
  txf_wh_abort(w);
}
