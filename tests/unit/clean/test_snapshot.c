/* Snapshot records: which version an --as-of names (a number, a time, a
 * run id), and what lake log lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/unit.h"
#include "clean/internal.h"

/* A record of version V committed at AT_US by RUN, naming one file. */
static void put_record(const char *dir, int v, int64_t at_us, const char *run) {
  char *rel = txf_xasprintf(TXF_SNAP_DIR "/v%010d.json", v);
  char *p = txf_path_join(dir, rel);
  char *d = txf_xstrdup(p);
  *strrchr(d, '/') = '\0';
  txf_err err;
  ASSERT_OK(txf_fs_mkdirs(d, &err), &err);
  char *text = txf_xasprintf(
      "{\"format\": \"txnflow-silver-snapshot/1\", \"version\": %d,"
      " \"run_id\": \"%s\", \"committed_at\": \"x\","
      " \"committed_at_us\": %lld, \"batches\": [], \"rows\": %d,"
      " \"partitions\": {\"2025-09-01\": {\"file\": "
      "\"" TXF_SNAP_DIR "/files/year=2025/month=09/day=01/v%010d.parquet\"}}}",
      v, run, (long long)at_us, 10 * v, v);
  unit_write_file(p, text);
  free(text);
  free(d);
  free(p);
  free(rel);
}

/* The version AS_OF names in DIR, or -1 when none (ERR set). */
static int64_t find(const char *dir, const char *as_of, txf_err *err) {
  int64_t v = -1;
  char **files = NULL;
  size_t n = 0;
  if (txf_clean_snapshot_find(dir, as_of, &v, &files, &n, err) != 0)
    return -1;
  ASSERT_EQ_U64(n, 1);
  char want[64];
  snprintf(want, sizeof want, "/v%010lld.parquet", (long long)v);
  ASSERT(strstr(files[0], want) != NULL);
  ASSERT(strncmp(files[0], dir, strlen(dir)) == 0); /* absolute, in DIR */
  txf_clean_snapshot_files_free(files, n);
  return v;
}

TEST(snapshot_as_of_by_version_time_and_run) {
  const char *d = unit_tmpdir();
  txf_err err;
  put_record(d, 3, 3000, "clean-a");
  put_record(d, 4, 4000, "clean-b");
  put_record(d, 7, 7000, "clean-c"); /* versions 5, 6 have none */
  ASSERT_EQ_I64(find(d, "4", &err), 4);
  ASSERT_EQ_I64(find(d, "0000000007", &err), 7);
  ASSERT_EQ_I64(find(d, "clean-a", &err), 3);
  /* 1970-01-01T00:00:00.004500Z is 4500 us: the last one at or before */
  ASSERT_EQ_I64(find(d, "1970-01-01T00:00:00.0045Z", &err), 4);
  ASSERT_EQ_I64(find(d, "1970-01-01T00:00:00.004Z", &err), 4);
  ASSERT_EQ_I64(find(d, "1970-01-01T09:00:00.009+09:00", &err), 7);
  ASSERT_EQ_I64(find(d, "5", &err), -1);
  ASSERT_EQ_I64(err.code, TXF_ENOTFOUND);
  ASSERT_CONTAINS(err.msg, "versions 3 to 7");
  ASSERT_EQ_I64(find(d, "1970-01-01T00:00:00.001Z", &err), -1);
  ASSERT_CONTAINS(err.msg, "at or before");
  ASSERT_EQ_I64(find(d, "clean-z", &err), -1);
  ASSERT_CONTAINS(err.msg, "neither a version");
}

/* No AS_OF: the latest record, the last complete version, also while a
 * journal waits (txf_clean_commit_settled says so, naming its run). */
TEST(snapshot_latest_and_an_unfinished_commit) {
  const char *d = unit_tmpdir();
  txf_err err;
  ASSERT_EQ_I64(find(d, NULL, &err), -1);
  ASSERT_EQ_I64(err.code, TXF_ENOTFOUND);
  ASSERT_CONTAINS(err.msg, "has no snapshot yet");
  put_record(d, 2, 2000, "clean-a");
  put_record(d, 5, 5000, "clean-b");
  ASSERT_EQ_I64(find(d, NULL, &err), 5);
  char *run = NULL;
  ASSERT_OK(txf_clean_commit_settled(d, &run, &err), &err);
  ASSERT(run == NULL);
  char *j = txf_path_join(d, ".clean/journal.json");
  char *cdir = txf_path_join(d, ".clean");
  ASSERT_OK(txf_fs_mkdirs(cdir, &err), &err);
  unit_write_file(j, "{\"format\": \"txnflow-clean-journal/1\", "
                     "\"run_id\": \"clean-c\", \"ops\": []}");
  ASSERT_EQ_I64(txf_clean_commit_settled(d, &run, &err), TXF_ELOCKED);
  ASSERT(run && strcmp(run, "clean-c") == 0);
  ASSERT_CONTAINS(err.msg, "last commit (clean-c) is not fully applied");
  free(run);
  ASSERT_EQ_I64(find(d, NULL, &err), 5);
  unit_write_file(j, "{\"run"); /* torn: still a commit waiting */
  ASSERT_EQ_I64(txf_clean_commit_settled(d, &run, &err), TXF_ELOCKED);
  ASSERT(run && strcmp(run, "?") == 0);
  free(run);
  free(cdir);
  free(j);
}

TEST(snapshot_lake_log_lists_records_in_order) {
  const char *d = unit_tmpdir();
  txf_err err;
  char *log = NULL;
  ASSERT_OK(txf_clean_lake_log(d, &log, &err), &err);
  ASSERT_EQ_STR(log, "[]");
  free(log);
  put_record(d, 12, 2, "r12");
  put_record(d, 2, 1, "r2");
  ASSERT_OK(txf_clean_lake_log(d, &log, &err), &err);
  const char *a = strstr(log, "\"r2\""), *b = strstr(log, "\"r12\"");
  ASSERT(a && b && a < b);
  ASSERT_CONTAINS(log, "\"rows\": 120");
  free(log);
  /* a damaged record is an error naming it, not a shorter log */
  char *p = txf_path_join(d, TXF_SNAP_DIR "/v0000000012.json");
  unit_write_file(p, "{\"version\": 12");
  free(p);
  log = NULL;
  ASSERT(txf_clean_lake_log(d, &log, &err) == TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "v0000000012.json");
  ASSERT(log == NULL);
}

TEST(snapshot_record_naming_a_file_outside_the_lake_is_refused) {
  const char *d = unit_tmpdir();
  txf_err err;
  char *rel = txf_path_join(d, TXF_SNAP_DIR);
  ASSERT_OK(txf_fs_mkdirs(rel, &err), &err);
  char *p = txf_path_join(rel, "v0000000001.json");
  unit_write_file(p, "{\"version\": 1, \"partitions\": {\"2025-09-01\": "
                     "{\"file\": \"../../etc/passwd\"}}}");
  int64_t v;
  char **files = NULL;
  size_t n = 0;
  ASSERT(txf_clean_snapshot_find(d, "1", &v, &files, &n, &err) == TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "names no file of the lake");
  ASSERT(files == NULL && n == 0);
  free(p);
  free(rel);
}
