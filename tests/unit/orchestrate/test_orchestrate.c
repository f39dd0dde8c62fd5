#include "../../lib/unit.h"
#include "orchestrate/orchestrate.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TEST(orch_retry_delay_backs_off_to_the_cap) {
  txf_task_spec t = {0};
  t.retry_delay_us = 100000;
  t.retry_backoff = 2;
  t.max_retry_delay_us = 500000;
  ASSERT_EQ_I64(txf_task_retry_delay(&t, 1), 100000);
  ASSERT_EQ_I64(txf_task_retry_delay(&t, 2), 200000);
  ASSERT_EQ_I64(txf_task_retry_delay(&t, 3), 400000);
  ASSERT_EQ_I64(txf_task_retry_delay(&t, 4), 500000);
  ASSERT_EQ_I64(txf_task_retry_delay(&t, 60), 500000);
}

TEST(orch_cron_next_in_seoul) {
  txf_cron c;
  txf_err err;
  txf_tz *tz = unit_zone("Asia/Seoul");
  ASSERT_OK(txf_cron_parse(&c, "0 6 * * *", &err), &err);
  /* 06:00 KST is 21:00 UTC the day before. */
  ASSERT_EQ_I64(txf_cron_next(&c, tz, unit_ts("2025-09-01T05:59:59+09:00")),
                unit_ts("2025-09-01T06:00:00+09:00"));
  ASSERT_EQ_I64(txf_cron_next(&c, tz, unit_ts("2025-09-01T06:00:00+09:00")),
                unit_ts("2025-09-02T06:00:00+09:00"));
  /* D is due at 06:00 on D+1. */
  txf_date d;
  ASSERT_OK(txf_date_parse("2025-09-01", SIZE_MAX, &d), NULL);
  ASSERT_EQ_I64(txf_sched_due_at(&c, tz, d),
                unit_ts("2025-09-02T06:00:00+09:00"));
  /* Weekdays only: Friday 2025-09-05 -> Monday 2025-09-08. */
  ASSERT_OK(txf_cron_parse(&c, "30 7 * * 1-5", &err), &err);
  ASSERT_EQ_I64(txf_cron_next(&c, tz, unit_ts("2025-09-05T08:00:00+09:00")),
                unit_ts("2025-09-08T07:30:00+09:00"));
  txf_tz_free(tz);
}

TEST(orch_lock_excludes_and_is_released_on_death) {
  const char *path = unit_path("locks/run.lock");
  txf_lock a, b;
  txf_err err;
  ASSERT_OK(txf_lock_try(&a, path, &err), &err);
  /* Another open file description (as another process has) is refused. */
  ASSERT_EQ_I64(txf_lock_try(&b, path, &err), TXF_ELOCKED);
  ASSERT_CONTAINS(err.msg, "held by pid");
  txf_lock_release(&a);
  /* A child takes it and dies without releasing: the kernel does. */
  pid_t pid = fork();
  if (pid == 0) {
    txf_lock c;
    txf_err e2;
    if (txf_lock_try(&c, path, &e2))
      _exit(1);
    kill(getpid(), SIGKILL);
  }
  int st;
  waitpid(pid, &st, 0);
  ASSERT(WIFSIGNALED(st));
  ASSERT_OK(txf_lock_try(&b, path, &err), &err);
  txf_lock_release(&b);
}

TEST(orch_attempt_timeout_kills_the_group) {
  const char *log = unit_path("logs/a.log");
  const char *pidfile = unit_path("child.pid");
  char *cmd = txf_xasprintf("sleep 30 & echo $! > %s; wait", pidfile);
  const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
  txf_attempt a;
  txf_err err;
  int64_t t0 = txf_mono_us();
  ASSERT_OK(txf_attempt_start(&a, argv, NULL, NULL, log, 300000, &err), &err);
  while (!txf_attempt_poll(&a)) {
    struct timespec ts2 = {0, 10000000};
    nanosleep(&ts2, NULL);
  }
  ASSERT(txf_mono_us() - t0 < 5 * TXF_US_PER_S);
  char out[128];
  ASSERT_EQ_I64(txf_attempt_outcome(&a, 300000, out, sizeof out), 0);
  ASSERT_CONTAINS(out, "timed out after 0.3s");
  /* The background sleep (same group) is gone too. */
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(pidfile, &b, &err), &err);
  pid_t child = (pid_t)atoi(b.data);
  txf_buf_release(&b);
  int gone = 0;
  for (int i = 0; i < 200 && !gone; i++) {
    gone = kill(child, 0) != 0;
    struct timespec ts2 = {0, 10000000};
    nanosleep(&ts2, NULL);
  }
  ASSERT(gone);
  free(cmd);
}

TEST(orch_attempt_env_and_exit_status) {
  const char *log = unit_path("b.log");
  const char *argv[] = {"/bin/sh", "-c", "echo \"$TXNFLOW_DATE\"; exit 3",
                        NULL};
  const char *env[] = {"TXNFLOW_DATE=2025-09-01", NULL};
  txf_attempt a;
  txf_err err;
  ASSERT_OK(txf_attempt_start(&a, argv, env, NULL, log, 0, &err), &err);
  while (!txf_attempt_poll(&a)) {
    struct timespec ts2 = {0, 5000000};
    nanosleep(&ts2, NULL);
  }
  char out[128];
  ASSERT_EQ_I64(txf_attempt_outcome(&a, 0, out, sizeof out), 0);
  ASSERT_EQ_STR(out, "exit 3");
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(log, &b, &err), &err);
  ASSERT_EQ_STR(b.data, "2025-09-01\n");
  txf_buf_release(&b);
}

static txf_dag *load_dag(const char *yml, txf_err *err, int *rc) {
  unit_write_file(unit_path("txnflow.yml"), yml);
  txf_project *p;
  *rc = txf_project_load(&p, unit_tmpdir(), err);
  if (*rc)
    return NULL;
  txf_dag *dag = NULL;
  *rc = txf_dag_load(&dag, p, err);
  txf_project_free(p);
  return dag;
}

TEST(orch_dag_default_chain_and_overrides) {
  txf_err err;
  int rc;
  txf_dag *dag =
      load_dag("name: x\nretries: 1\nretry_delay: 2s\n"
               "tasks:\n"
               "  clean: {retries: 4, timeout: 5m, retry_backoff: 3}\n"
               "  notify: {command: \"echo hi\"}\n",
               &err, &rc);
  ASSERT_OK(rc, &err);
  ASSERT_EQ_I64(dag->n_tasks, 4);
  ASSERT_EQ_STR(dag->tasks[0].name, "generate");
  ASSERT_EQ_I64(dag->tasks[0].parallel, 1);
  ASSERT_EQ_I64(dag->tasks[0].retries, 1);
  ASSERT_EQ_I64(dag->tasks[0].retry_delay_us, 2000000);
  ASSERT_EQ_STR(dag->tasks[1].name, "clean");
  ASSERT_EQ_I64(dag->tasks[1].retries, 4);
  ASSERT_EQ_I64(dag->tasks[1].timeout_us, 300 * TXF_US_PER_S);
  ASSERT_EQ_DBL(dag->tasks[1].retry_backoff, 3);
  ASSERT_EQ_STR(dag->tasks[2].name, "models");
  ASSERT_EQ_STR(dag->tasks[3].name, "notify");
  ASSERT_EQ_STR(dag->tasks[3].command, "echo hi");
  ASSERT_EQ_I64(dag->tasks[3].parallel, 0);
  ASSERT_EQ_I64(txf_dag_find(dag, "publish"), -1);
  txf_dag_free(dag);
}

TEST(orch_dag_landed_feed_and_publish) {
  txf_err err;
  int rc;
  txf_dag *dag = load_dag("name: x\nfeed: {kind: landed, poke_interval: 10ms,"
                          " sensor_timeout: 1m}\npublish: {s3: {bucket: b}}\n"
                          "tasks: {models: {enabled: false}}\n",
                          &err, &rc);
  ASSERT_OK(rc, &err);
  ASSERT_EQ_I64(dag->n_tasks, 3);
  ASSERT_EQ_STR(dag->tasks[0].name, "sensor");
  ASSERT_EQ_I64(dag->poke_interval_us, 10000);
  ASSERT_EQ_I64(dag->sensor_timeout_us, 60 * TXF_US_PER_S);
  ASSERT_EQ_STR(dag->tasks[1].name, "clean");
  ASSERT_EQ_STR(dag->tasks[2].name, "publish");
  txf_dag_free(dag);
}

TEST(orch_dag_load_between_clean_and_models) {
  txf_err err;
  int rc;
  txf_dag *dag = load_dag("name: x\nload: {target: pg}\npublish: {s3: "
                          "{bucket: b}}\ntasks: {load: {retries: 5}}\n",
                          &err, &rc);
  ASSERT_OK(rc, &err);
  ASSERT_EQ_I64(dag->n_tasks, 5);
  const char *want[] = {"generate", "clean", "load", "models", "publish"};
  for (size_t i = 0; i < 5; i++)
    ASSERT_EQ_STR(dag->tasks[i].name, want[i]);
  ASSERT_EQ_I64(dag->tasks[2].parallel, 0);
  ASSERT_EQ_I64(dag->tasks[2].retries, 5);
  ASSERT_EQ_I64(dag->tasks[2].batch, 0);
  ASSERT_EQ_I64(dag->tasks[3].batch, 1);
  txf_dag_free(dag);
  /* the older spelling: a load and no S3 publish */
  dag = load_dag("name: x\npublish:\n  warehouse: {target: pg}\n", &err, &rc);
  ASSERT_OK(rc, &err);
  ASSERT_EQ_I64(dag->n_tasks, 4);
  ASSERT_EQ_STR(dag->tasks[2].name, "load");
  ASSERT_EQ_STR(dag->tasks[3].name, "models");
  ASSERT_EQ_I64(txf_dag_find(dag, "publish"), -1);
  txf_dag_free(dag);
  dag = load_dag("name: x\npublish:\n  warehouse: {target: pg}\n"
                 "tasks: {publish: {retries: 1}}\n",
                 &err, &rc);
  ASSERT(dag == NULL);
  ASSERT_CONTAINS(err.msg, "'publish' runs only when publish.s3 is "
                           "configured (the warehouse load is the task "
                           "'load')");
  /* without a load, "load" is a name like any: a custom task */
  dag = load_dag("name: x\ntasks: {load: {command: \"true\"}}\n", &err, &rc);
  ASSERT_OK(rc, &err);
  ASSERT_EQ_STR(dag->tasks[3].name, "load");
  ASSERT_EQ_I64(dag->tasks[3].kind, TXF_TASK_CUSTOM);
  txf_dag_free(dag);
  /* a bad load section is the DAG's error */
  dag = load_dag("name: x\nload: {target: pg, tabel: t}\n", &err, &rc);
  ASSERT(dag == NULL);
  ASSERT_CONTAINS(err.msg, "tabel");
}

TEST(orch_dag_revert_swaps_the_lake_step) {
  txf_err err;
  int rc;
  txf_dag *dag = load_dag("name: x\nload: {target: pg}\npublish: {s3: "
                          "{bucket: b}}\non_failure: \"echo f\"\n"
                          "tasks:\n  clean: {retries: 4, timeout: 5m}\n"
                          "  notify: {command: \"echo hi\"}\n",
                          &err, &rc);
  ASSERT_OK(rc, &err);
  txf_dag *r = txf_dag_revert(dag);
  txf_dag_free(dag); /* the revert chain owns its strings */
  ASSERT_EQ_I64(r->n_tasks, 5);
  const char *want[] = {"revert", "load", "models", "publish", "notify"};
  for (size_t i = 0; i < 5; i++)
    ASSERT_EQ_STR(r->tasks[i].name, want[i]);
  ASSERT_EQ_I64(r->tasks[0].kind, TXF_TASK_REVERT);
  ASSERT(r->tasks[0].command == NULL);
  ASSERT_EQ_I64(r->tasks[0].parallel, 0);
  ASSERT_EQ_I64(r->tasks[0].retries, 4); /* clean's settings */
  ASSERT_EQ_I64(r->tasks[0].timeout_us, 300 * TXF_US_PER_S);
  ASSERT_EQ_I64(r->tasks[2].batch, 1);
  ASSERT_EQ_STR(r->tasks[4].command, "echo hi");
  ASSERT_EQ_STR(r->on_failure, "echo f");
  txf_dag_free(r);
  /* a landed feed: the sensor goes too */
  dag = load_dag("name: x\nfeed: {kind: landed}\n", &err, &rc);
  ASSERT_OK(rc, &err);
  r = txf_dag_revert(dag);
  ASSERT_EQ_I64(r->n_tasks, 2);
  ASSERT_EQ_STR(r->tasks[0].name, "revert");
  ASSERT_EQ_STR(r->tasks[1].name, "models");
  txf_dag_free(r);
  txf_dag_free(dag);
}

TEST(orch_attempt_log_report_finds_the_json_among_stderr) {
  const char *log = unit_path("attempt-1.log");
  unit_write_file(log, "# txnflow: 2025-09-03 revert attempt 1\n"
                       "warning: { not json\n"
                       "{\"other\": 1}\n"
                       "{\n  \"operation\": \"revert\",\n"
                       "  \"partitions_rewritten\": [\"2025-09-01\"]\n}\n"
                       "2025-09-03 done\n");
  char *rep = txf_attempt_log_report(log, "operation");
  ASSERT(rep != NULL);
  ASSERT_CONTAINS(rep, "\"partitions_rewritten\": [");
  ASSERT_CONTAINS(rep, "\"2025-09-01\"");
  free(rep);
  ASSERT(txf_attempt_log_report(log, "commit_version") == NULL);
  ASSERT(txf_attempt_log_report(unit_path("none.log"), "operation") == NULL);
}

TEST(orch_dag_bad_values_name_the_place) {
  txf_err err;
  int rc;
  txf_dag *dag =
      load_dag("name: x\ntasks:\n  clean: {retry_delay: soon}\n", &err, &rc);
  ASSERT(dag == NULL);
  ASSERT_EQ_I64(rc, TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "txnflow.yml:3:");
  ASSERT_CONTAINS(err.msg, "retry_delay");
  dag = load_dag("name: x\ntasks:\n  clean: {retires: 2}\n", &err, &rc);
  ASSERT(dag == NULL);
  ASSERT_CONTAINS(err.msg, "did you mean 'retries'");
  dag = load_dag("name: x\ntasks:\n  extra: {retries: 2}\n", &err, &rc);
  ASSERT(dag == NULL);
  ASSERT_CONTAINS(err.msg, "needs a 'command'");
}

TEST(orch_dag_pan_feed_scans_last) {
  txf_err err;
  int rc;
  txf_dag *dag = load_dag("name: x\nfeed: {kind: synthetic, pan: true}\n"
                          "publish: {s3: {bucket: b}}\n",
                          &err, &rc);
  ASSERT_OK(rc, &err);
  const char *want[] = {"generate", "clean", "models", "publish", "scan_pans"};
  ASSERT_EQ_I64(dag->n_tasks, 5);
  for (size_t i = 0; i < 5; i++)
    ASSERT_EQ_STR(dag->tasks[i].name, want[i]);
  ASSERT_EQ_I64(dag->tasks[4].kind, TXF_TASK_SCAN_PANS);
  ASSERT_EQ_I64(dag->tasks[4].parallel, 0);
  txf_dag_free(dag);
  dag = load_dag("name: x\nfeed: {kind: synthetic, pan: false}\n", &err, &rc);
  ASSERT_OK(rc, &err);
  ASSERT_EQ_I64(txf_dag_find(dag, "scan_pans"), -1);
  txf_dag_free(dag);
}
