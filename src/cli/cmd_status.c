/* txnflow status: the runs x tasks grid from the metadata database. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

TXF_COMMAND(status, "show runs x tasks for recent logical dates");

static const char usage[] =
    "usage: txnflow status [--last N] [--json] [--data DIR]\n"
    "\n"
    "Show the latest run of each logical date and the state of each of its\n"
    "tasks (success, failed, running, up_for_retry, skipped), with attempts\n"
    "and durations, newest date first. SLA misses are marked.\n"
    "\n"
    "Options:\n"
    "  --last N      show the N most recent dates (default 14)\n"
    "  --json        machine-readable output\n"
    "  --data DIR    data directory (default: the project's)\n"
    "  -h, --help    show this help\n"
    "\n"
    "Example:\n"
    "  txnflow status --last 7\n";

typedef struct cell {
  char task[32];
  char state[16];
  int attempts;
  int64_t duration_us;
} cell;

static const char *color_of(const char *state) {
  if (!strcmp(state, "success"))
    return "\033[32m";
  if (!strcmp(state, "failed"))
    return "\033[31m";
  if (!strcmp(state, "running") || !strcmp(state, "up_for_retry"))
    return "\033[33m";
  return "\033[2m";
}

int cmd_status(int argc, char **argv, txf_ctx *ctx) {
  static const struct option opts[] = {{"last", required_argument, 0, 'n'},
                                       {"json", no_argument, 0, 'j'},
                                       {"data", required_argument, 0, 'd'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *data_opt = NULL;
  int json = 0;
  uint64_t last = 14;
  int c;
  while ((c = txf_cli_getopt("status", argc, argv, ":h", opts)) != -1) {
    switch (c) {
    case 'n':
      if (txf_parse_u64(optarg, &last) || last == 0 || last > 100000)
        return txf_cli_usage_error("status", "--last: '%s' is not a count",
                                   optarg);
      break;
    case 'j':
      json = 1;
      break;
    case 'd':
      data_opt = optarg;
      break;
    case 'h':
      return txf_cli_help(usage);
    default:
      return TXF_EXIT_USAGE;
    }
  }
  if (optind != argc)
    return txf_cli_usage_error("status", "unexpected argument '%s'",
                               argv[optind]);
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL;
  if (txf_ctx_data_dir(ctx, data_opt, &data, &err))
    return txf_cli_fail("status", &err);
  char *dbpath = txf_path_join(data, "txnflow.db");
  free(data);
  txf_store *st = NULL;
  int rc = txf_fs_exists(dbpath) ? txf_store_open(&st, dbpath, 1, &err) : 0;
  free(dbpath);
  if (rc)
    return txf_cli_fail("status", &err);

  json_t *out = json_array();
  sqlite3_stmt *runs = NULL, *tasks = NULL;
  int n_runs = 0;
  if (st) {
    rc = txf_store_prepare(
        st,
        "SELECT r.run_id, r.logical_date, r.state, r.started_at_us, "
        "r.ended_at_us, (SELECT count(*) FROM sla_misses m WHERE "
        "m.logical_date = r.logical_date) FROM runs r WHERE r.run_id = "
        "(SELECT max(run_id) FROM runs r2 WHERE r2.logical_date = "
        "r.logical_date) ORDER BY r.logical_date DESC LIMIT ?",
        &runs, &err);
    if (!rc)
      rc = txf_store_prepare(
          st,
          "SELECT task, state, attempt, coalesce(ended_at_us, 0) - "
          "coalesce(started_at_us, 0) FROM task_attempts a WHERE run_id = ? "
          "AND attempt = (SELECT max(attempt) FROM task_attempts b WHERE "
          "b.run_id = a.run_id AND b.task = a.task) ORDER BY attempt_id",
          &tasks, &err);
    if (rc) {
      sqlite3_finalize(runs);
      txf_store_close(st);
      json_decref(out);
      return txf_cli_fail("status", &err);
    }
    sqlite3_bind_int64(runs, 1, (sqlite3_int64)last);
    while (sqlite3_step(runs) == SQLITE_ROW) {
      n_runs++;
      json_t *r = json_object();
      json_object_set_new(r, "run_id", json_integer(sqlite3_column_int64(runs, 0)));
      json_object_set_new(r, "logical_date",
                          json_string((const char *)sqlite3_column_text(runs, 1)));
      json_object_set_new(r, "state",
                          json_string((const char *)sqlite3_column_text(runs, 2)));
      int64_t s0 = sqlite3_column_int64(runs, 3), s1 = sqlite3_column_int64(runs, 4);
      json_object_set_new(r, "duration_s",
                          s1 > s0 && s0 ? json_real((double)(s1 - s0) / 1e6)
                                        : json_null());
      json_object_set_new(r, "sla_missed",
                          json_boolean(sqlite3_column_int(runs, 5) > 0));
      json_t *ts = json_array();
      sqlite3_reset(tasks);
      sqlite3_bind_int64(tasks, 1, sqlite3_column_int64(runs, 0));
      while (sqlite3_step(tasks) == SQLITE_ROW) {
        json_t *t = json_object();
        json_object_set_new(t, "task", json_string((const char *)sqlite3_column_text(tasks, 0)));
        json_object_set_new(t, "state", json_string((const char *)sqlite3_column_text(tasks, 1)));
        json_object_set_new(t, "attempts", json_integer(sqlite3_column_int(tasks, 2)));
        int64_t d = sqlite3_column_int64(tasks, 3);
        json_object_set_new(t, "duration_s", d > 0 ? json_real((double)d / 1e6) : json_null());
        json_array_append_new(ts, t);
      }
      json_object_set_new(r, "tasks", ts);
      json_array_append_new(out, r);
    }
    sqlite3_finalize(runs);
    sqlite3_finalize(tasks);
    txf_store_close(st);
  }

  if (json) {
    json_t *doc = json_pack("{s:o}", "runs", out);
    char *s = json_dumps(doc, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(doc);
    return TXF_EXIT_OK;
  }
  if (n_runs == 0) {
    printf("no runs yet (try: txnflow run --date YYYY-MM-DD)\n");
    json_decref(out);
    return TXF_EXIT_OK;
  }
  int color = ctx->stdout_tty && !getenv("NO_COLOR");
  printf("%-12s %-9s %s\n", "DATE", "RUN", "TASKS (state/attempts/seconds)");
  size_t i;
  json_t *r;
  json_array_foreach(out, i, r) {
    const char *state = json_string_value(json_object_get(r, "state"));
    printf("%-12s %s%-9s%s", json_string_value(json_object_get(r, "logical_date")),
           color ? color_of(state) : "", state, color ? "\033[0m" : "");
    size_t j;
    json_t *t;
    json_array_foreach(json_object_get(r, "tasks"), j, t) {
      const char *ts = json_string_value(json_object_get(t, "state"));
      json_t *d = json_object_get(t, "duration_s");
      printf(" %s:%s%s%s/%d/%.1f",
             json_string_value(json_object_get(t, "task")),
             color ? color_of(ts) : "", ts, color ? "\033[0m" : "",
             (int)json_integer_value(json_object_get(t, "attempts")),
             json_is_real(d) ? json_real_value(d) : 0.0);
    }
    if (json_is_true(json_object_get(r, "sla_missed")))
      printf(" %sSLA MISSED%s", color ? "\033[31;1m" : "", color ? "\033[0m" : "");
    putchar('\n');
  }
  json_decref(out);
  return TXF_EXIT_OK;
}
