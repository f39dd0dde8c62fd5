/* The typed metadata API (src/metadata/) on a fresh database. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/unit.h"
#include "metadata/metadata.h"

static txf_store *fresh(const char *name) {
  txf_store *s = NULL;
  txf_err err;
  if (txf_store_open(&s, unit_path(name), 0, &err))
    unit_fail(__FILE__, __LINE__, "open: %s", err.msg);
  return s;
}

/* A run of DATE ended in STATE at ENDED_US (started 1000 µs before). */
static int64_t add_run(txf_store *s, const char *date, const char *state,
                       int64_t ended_us) {
  txf_err err;
  int64_t id = 0;
  if (txf_meta_run_begin(s, date, "manual", ended_us - 1000, 0, 42, &id,
                         &err) ||
      txf_meta_run_finish(s, id, state, ended_us, NULL, &err))
    unit_fail(__FILE__, __LINE__, "run: %s", err.msg);
  return id;
}

TEST(meta_runs_latest_is_each_dates_latest_run) {
  txf_store *s = fresh("runs.db");
  txf_err err;
  add_run(s, "2025-09-01", "failed", 10000);
  int64_t r1 = add_run(s, "2025-09-01", "success", 20000);
  int64_t r2 = add_run(s, "2025-09-02", "failed", 30000);
  int64_t r3 = add_run(s, "2025-09-03", "success", 40000);
  int added;
  ASSERT_OK(txf_meta_sla_miss_add(s, "2025-09-02", r2, 25000, 26000, &added,
                                  &err),
            &err);
  ASSERT_EQ_I64(added, 1);

  txf_meta_runs_query all = {NULL, NULL, NULL, -1, 0, NULL};
  txf_meta_run_list l;
  ASSERT_OK(txf_meta_runs_latest(s, &all, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 3);
  ASSERT_EQ_I64(l.v[0].run_id, r3);
  ASSERT_EQ_I64(l.v[1].run_id, r2);
  ASSERT_EQ_I64(l.v[2].run_id, r1); /* not the earlier failed run */
  ASSERT_EQ_STR(l.v[2].state, "success");
  ASSERT_EQ_I64(l.v[1].sla_missed, 1);
  ASSERT_EQ_I64(l.v[1].sla_miss_deadline_us, 25000);
  ASSERT_EQ_I64(l.v[0].sla_missed, 0);
  ASSERT_EQ_I64(l.v[0].sla_miss_deadline_us, TXF_META_NULL);
  ASSERT_EQ_I64(l.v[0].sla_deadline_us, TXF_META_NULL); /* 0: no SLA */
  ASSERT(l.v[0].error == NULL);
  txf_meta_run_list_release(&l);

  txf_meta_runs_query window = {"2025-09-02", "2025-09-03", NULL, -1, 1, NULL};
  ASSERT_OK(txf_meta_runs_latest(s, &window, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 2);
  ASSERT_EQ_STR(l.v[0].logical_date, "2025-09-02"); /* ascending */
  txf_meta_run_list_release(&l);

  txf_meta_runs_query failed = {NULL, NULL, "failed", -1, 0, NULL};
  ASSERT_OK(txf_meta_runs_latest(s, &failed, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 1); /* 2025-09-01's failed run is not its latest */
  ASSERT_EQ_I64(l.v[0].run_id, r2);
  txf_meta_run_list_release(&l);

  txf_meta_runs_query missed = {NULL, NULL, "sla_missed", -1, 0, NULL};
  ASSERT_OK(txf_meta_runs_latest(s, &missed, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 1);
  txf_meta_run_list_release(&l);

  txf_meta_runs_query none = {NULL, NULL, NULL, 0, 0, NULL};
  ASSERT_OK(txf_meta_runs_latest(s, &none, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 0); /* a limit of 0 is 0 rows */
  txf_meta_run_list_release(&l);

  ASSERT_OK(txf_meta_run_latest(s, "2025-09-01", &l, &err), &err);
  ASSERT_EQ_U64(l.n, 1);
  ASSERT_EQ_I64(l.v[0].run_id, r1);
  txf_meta_run_list_release(&l);
  ASSERT_OK(txf_meta_run_latest(s, "2025-09-04", &l, &err), &err);
  ASSERT_EQ_U64(l.n, 0);
  txf_meta_run_list_release(&l);
  txf_store_close(s);
}

TEST(meta_run_latest_except_sets_a_kind_aside) {
  txf_store *s = fresh("runs-kind.db");
  txf_err err;
  int64_t daily = add_run(s, "2025-09-05", "success", 10000);
  int64_t rev = 0;
  ASSERT_OK(
      txf_meta_run_begin(s, "2025-09-05", "revert", 20000, 0, 42, &rev, &err),
      &err);
  txf_meta_run_list l;
  /* status and a revert see the revert run; the daily DAG its own */
  ASSERT_OK(txf_meta_run_latest(s, "2025-09-05", &l, &err), &err);
  ASSERT_EQ_U64(l.n, 1);
  ASSERT_EQ_I64(l.v[0].run_id, rev);
  ASSERT_EQ_STR(l.v[0].kind, "revert");
  txf_meta_run_list_release(&l);
  ASSERT_OK(txf_meta_run_latest_except(s, "2025-09-05", "revert", &l, &err),
            &err);
  ASSERT_EQ_U64(l.n, 1);
  ASSERT_EQ_I64(l.v[0].run_id, daily);
  ASSERT_EQ_STR(l.v[0].state, "success");
  txf_meta_run_list_release(&l);
  /* a date with only a revert run has no daily run */
  ASSERT_OK(
      txf_meta_run_begin(s, "2025-09-06", "revert", 30000, 0, 42, &rev, &err),
      &err);
  ASSERT_OK(txf_meta_run_latest_except(s, "2025-09-06", "revert", &l, &err),
            &err);
  ASSERT_EQ_U64(l.n, 0);
  txf_meta_run_list_release(&l);
  txf_store_close(s);
}

static int64_t add_attempt(txf_store *s, int64_t run_id, const char *task,
                           int no, const char *state) {
  txf_meta_attempt a = {.run_id = run_id,
                        .task = task,
                        .attempt = no,
                        .state = "running",
                        .pid = TXF_META_NULL,
                        .started_at_us = 100,
                        .ended_at_us = TXF_META_NULL};
  txf_err err;
  int64_t id;
  if (txf_meta_attempt_begin(s, &a, &id, &err) ||
      txf_meta_attempt_finish(s, id, state, 200, 0, NULL, TXF_META_NULL,
                              &err))
    unit_fail(__FILE__, __LINE__, "attempt: %s", err.msg);
  return id;
}

TEST(meta_attempts_by_run_task_and_number) {
  txf_store *s = fresh("attempts.db");
  txf_err err;
  int64_t r1 = add_run(s, "2025-09-01", "failed", 1000);
  add_attempt(s, r1, "generate", 1, "success");
  add_attempt(s, r1, "clean", 1, "up_for_retry");
  add_attempt(s, r1, "clean", 2, "failed");
  int64_t r2 = add_run(s, "2025-09-01", "success", 2000);
  int64_t last = add_attempt(s, r2, "clean", 3, "success");

  int no;
  ASSERT_OK(txf_meta_attempt_next_no(s, "2025-09-01", "clean", &no, &err),
            &err);
  ASSERT_EQ_I64(no, 4); /* numbers go on over the date's runs */
  ASSERT_OK(txf_meta_attempt_next_no(s, "2025-09-02", "clean", &no, &err),
            &err);
  ASSERT_EQ_I64(no, 1);
  int yes;
  ASSERT_OK(txf_meta_attempt_succeeded(s, r1, "clean", &yes, &err), &err);
  ASSERT_EQ_I64(yes, 0);
  ASSERT_OK(txf_meta_attempt_succeeded(s, r1, "generate", &yes, &err), &err);
  ASSERT_EQ_I64(yes, 1);

  txf_meta_attempt_list l;
  ASSERT_OK(txf_meta_attempt_last(s, "2025-09-01", "clean", "success", &l,
                                  &err),
            &err);
  ASSERT_EQ_U64(l.n, 1);
  ASSERT_EQ_I64(l.v[0].attempt_id, last);
  txf_meta_attempt_list_release(&l);

  ASSERT_OK(txf_meta_attempt_get(s, last, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 1);
  ASSERT_EQ_STR(l.v[0].logical_date, "2025-09-01");
  ASSERT_EQ_I64(l.v[0].exit_status, 0);
  ASSERT_EQ_I64(l.v[0].retry_at_us, TXF_META_NULL);
  txf_meta_attempt_list_release(&l);

  /* In attempt order, or by (task, attempt); with or without a task. */
  ASSERT_OK(txf_meta_attempts_of_run(s, r1, NULL, 0, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 3);
  ASSERT_EQ_STR(l.v[0].task, "generate");
  txf_meta_attempt_list_release(&l);
  ASSERT_OK(txf_meta_attempts_of_run(s, r1, NULL, 1, &l, &err), &err);
  ASSERT_EQ_STR(l.v[0].task, "clean");
  ASSERT_EQ_I64(l.v[1].attempt, 2);
  txf_meta_attempt_list_release(&l);
  ASSERT_OK(txf_meta_attempts_of_run(s, r1, "clean", 1, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 2);
  txf_meta_attempt_list_release(&l);

  /* Each (run, task): its highest attempt, with that attempt's state. */
  ASSERT_OK(txf_meta_attempts_latest(s, r1, r2, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 3);
  ASSERT_EQ_I64(l.v[0].run_id, r1);
  ASSERT_EQ_STR(l.v[0].task, "clean");
  ASSERT_EQ_I64(l.v[0].attempt, 2);
  ASSERT_EQ_STR(l.v[0].state, "failed");
  ASSERT_EQ_I64(l.v[2].run_id, r2);
  txf_meta_attempt_list_release(&l);

  txf_meta_name_list names;
  ASSERT_OK(txf_meta_task_names(s, &names, &err), &err);
  ASSERT_EQ_U64(names.n, 2);
  ASSERT_EQ_STR(names.v[0], "generate"); /* first attempted first */
  ASSERT_EQ_STR(names.v[1], "clean");
  txf_meta_name_list_release(&names);
  txf_store_close(s);
}

TEST(meta_runs_abandon_fails_what_a_dead_runner_left) {
  txf_store *s = fresh("abandon.db");
  txf_err err;
  int64_t run;
  ASSERT_OK(txf_meta_run_begin(s, "2025-09-01", "manual", 1, 0, 777, &run,
                               &err),
            &err);
  ASSERT_OK(txf_meta_run_start(s, run, &err), &err);
  txf_meta_attempt a = {.run_id = run,
                        .task = "clean",
                        .attempt = 1,
                        .state = "running",
                        .pid = 4242,
                        .started_at_us = 5,
                        .ended_at_us = TXF_META_NULL};
  int64_t id;
  ASSERT_OK(txf_meta_attempt_begin(s, &a, &id, &err), &err);
  txf_meta_attempt_list l;
  ASSERT_OK(txf_meta_attempts_running(s, "2025-09-01", &l, &err), &err);
  ASSERT_EQ_U64(l.n, 1);
  ASSERT_EQ_I64(l.v[0].pid, 4242);
  txf_meta_attempt_list_release(&l);

  ASSERT_OK(txf_meta_runs_abandon(s, "2025-09-01", 99, &err), &err);
  ASSERT_OK(txf_meta_attempt_get(s, id, &l, &err), &err);
  ASSERT_EQ_STR(l.v[0].state, "failed");
  ASSERT_EQ_STR(l.v[0].error, "abandoned: its runner (pid 777) died");
  ASSERT_EQ_I64(l.v[0].ended_at_us, 99);
  txf_meta_attempt_list_release(&l);
  txf_meta_run_list runs;
  ASSERT_OK(txf_meta_run_latest(s, "2025-09-01", &runs, &err), &err);
  ASSERT_EQ_STR(runs.v[0].state, "interrupted");
  ASSERT_EQ_STR(runs.v[0].error, "runner died");
  txf_meta_run_list_release(&runs);
  ASSERT_OK(txf_meta_run_resume(s, run, 778, &err), &err);
  ASSERT_OK(txf_meta_run_latest(s, "2025-09-01", &runs, &err), &err);
  ASSERT_EQ_STR(runs.v[0].state, "queued");
  ASSERT(runs.v[0].error == NULL);
  txf_meta_run_list_release(&runs);
  txf_store_close(s);
}

TEST(meta_sla_miss_is_recorded_once) {
  txf_store *s = fresh("sla.db");
  txf_err err;
  int due, added;
  ASSERT_OK(txf_meta_sla_due(s, "2025-09-01", 500, &due, &err), &err);
  ASSERT_EQ_I64(due, 1);
  add_run(s, "2025-09-01", "success", 600); /* after the deadline */
  ASSERT_OK(txf_meta_sla_due(s, "2025-09-01", 500, &due, &err), &err);
  ASSERT_EQ_I64(due, 1);
  ASSERT_OK(txf_meta_sla_due(s, "2025-09-01", 600, &due, &err), &err);
  ASSERT_EQ_I64(due, 0);
  ASSERT_OK(txf_meta_sla_miss_add(s, "2025-09-01", 0, 500, 501, &added, &err),
            &err);
  ASSERT_EQ_I64(added, 1);
  ASSERT_OK(txf_meta_sla_miss_add(s, "2025-09-01", 0, 500, 502, &added, &err),
            &err);
  ASSERT_EQ_I64(added, 0);
  ASSERT_OK(txf_meta_sla_due(s, "2025-09-01", 500, &due, &err), &err);
  ASSERT_EQ_I64(due, 0);
  int64_t v;
  ASSERT_OK(txf_meta_key_get_or_set(s, "k", 7, &v, &err), &err);
  ASSERT_EQ_I64(v, 7);
  ASSERT_OK(txf_meta_key_get_or_set(s, "k", 8, &v, &err), &err);
  ASSERT_EQ_I64(v, 7); /* the first caller wins */
  txf_meta_counts c;
  ASSERT_OK(txf_meta_counts_read(s, &c, &err), &err);
  ASSERT_EQ_I64(c.sla_misses, 1);
  ASSERT_EQ_I64(c.clean_runs, 0);
  txf_store_close(s);
}

TEST(meta_clean_record_is_recorded_once_per_run_id) {
  txf_store *s = fresh("clean.db");
  txf_err err;
  txf_meta_clean_run run = {.ingest_date = "2025-09-02",
                            .started_at_us = 1000,
                            .ended_at_us = 2000,
                            .lines_read = 10,
                            .inserted = 6,
                            .updated = 1,
                            .duplicates = 1,
                            .stale = 1,
                            .quarantined = 1,
                            .partitions_rewritten = 2,
                            .details_json = "{\"run_id\":\"r-1\"}"};
  txf_meta_count reasons[] = {{"bad_amount", 1}};
  txf_meta_partition_commit commits[] = {
      {"2025-09-01", 3, 100, "aa", 2000},
      {"2025-09-02", 4, TXF_META_NULL, NULL, 2000}};
  for (int i = 0; i < 2; i++) /* recovery may record it again */
    ASSERT_OK(txf_meta_clean_record(s, "r-1", &run, reasons, 1, commits, 2,
                                    &err),
              &err);
  ASSERT_OK(txf_meta_clean_failed(s, "2025-09-03", 5, 6, "boom", &err), &err);

  txf_meta_clean_query all = {NULL, NULL, 0};
  txf_meta_clean_run_list l;
  ASSERT_OK(txf_meta_clean_runs_succeeded(s, &all, &l, &err), &err);
  ASSERT_EQ_U64(l.n, 1);
  ASSERT_EQ_I64(l.v[0].lines_read, 10);
  ASSERT_EQ_I64(l.v[0].partitions_rewritten, 2);
  int64_t clean_id = l.v[0].clean_id;
  txf_meta_clean_run_list_release(&l);

  ASSERT_OK(txf_meta_clean_latest(s, "2025-09-03", &l, &err), &err);
  ASSERT_EQ_STR(l.v[0].state, "failed");
  ASSERT_EQ_I64(l.v[0].lines_read, 0); /* not recorded */
  ASSERT_EQ_STR(l.v[0].error, "boom");
  txf_meta_clean_run_list_release(&l);

  int64_t n_files, bytes;
  ASSERT_OK(txf_meta_clean_commit_totals(s, clean_id, &n_files, &bytes, &err),
            &err);
  ASSERT_EQ_I64(n_files, 2);
  ASSERT_EQ_I64(bytes, 100);

  int found;
  txf_meta_name_list parts;
  ASSERT_OK(txf_meta_clean_partitions(s, "2025-09-02", &found, &parts, &err),
            &err);
  ASSERT_EQ_I64(found, 1);
  ASSERT_EQ_U64(parts.n, 2);
  ASSERT_EQ_STR(parts.v[1], "2025-09-02");
  txf_meta_name_list_release(&parts);
  ASSERT_OK(txf_meta_clean_partitions(s, "2025-09-03", &found, &parts, &err),
            &err);
  ASSERT_EQ_I64(found, 0); /* only a failed clean */
  txf_meta_name_list_release(&parts);

  char *details;
  ASSERT_OK(txf_meta_clean_details_between(s, "2025-09-02", 0, 1000, &details,
                                           &err),
            &err);
  ASSERT_EQ_STR(details, "{\"run_id\":\"r-1\"}");
  free(details);
  ASSERT_OK(txf_meta_clean_details_between(s, "2025-09-02", 1001, 3000,
                                           &details, &err),
            &err);
  ASSERT(details == NULL);

  int64_t bronze, silver;
  ASSERT_OK(txf_meta_lake_rows(s, &bronze, &silver, &err), &err);
  ASSERT_EQ_I64(bronze, 10); /* the failed clean of 09-03 read nothing */
  ASSERT_EQ_I64(silver, 7);
  txf_store_close(s);
}

TEST(meta_published_objects_and_the_warehouse_sync) {
  txf_store *s = fresh("published.db");
  txf_err err;
  char sha[65];
  uint64_t size = 0;
  ASSERT_EQ_I64(txf_meta_published_get(s, "s3", "k1", sha, &size), 0);
  ASSERT_OK(txf_meta_published_put(s, "s3", "k1", "aa", 10, 1, &err), &err);
  ASSERT_OK(txf_meta_published_put(s, "s3", "k1", "bb", 11, 2, &err), &err);
  ASSERT_EQ_I64(txf_meta_published_get(s, "s3", "k1", sha, &size), 1);
  ASSERT_EQ_STR(sha, "bb");
  ASSERT_EQ_U64(size, 11);
  ASSERT_OK(txf_meta_published_forget(s, "s3", "k1", &err), &err);
  ASSERT_EQ_I64(txf_meta_published_get(s, "s3", "k1", sha, &size), 0);

  txf_meta_published load[] = {{"2025-09-02", "x2"}, {"2025-09-01", "x1"}};
  ASSERT_OK(txf_meta_published_sync(s, "pg", load, 2, 5, &err), &err);
  txf_meta_published again[] = {{"2025-09-01", NULL}, {"2025-09-02", "y2"}};
  ASSERT_OK(txf_meta_published_sync(s, "pg", again, 2, 6, &err), &err);
  txf_meta_published_list l;
  ASSERT_OK(txf_meta_published_list_read(s, "pg", &l, &err), &err);
  ASSERT_EQ_U64(l.n, 1);
  ASSERT_EQ_STR(l.v[0].key, "2025-09-02");
  ASSERT_EQ_STR(l.v[0].sha256, "y2");
  txf_meta_published_list_release(&l);
  ASSERT_OK(txf_meta_published_list_read(s, "nothing", &l, &err), &err);
  ASSERT_EQ_U64(l.n, 0);
  txf_meta_published_list_release(&l);
  txf_store_close(s);
}
