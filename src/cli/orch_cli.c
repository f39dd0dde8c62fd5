/* Set-up shared by txnflow run, backfill and scheduler, and the runs as
 * JSON (status, run --json, backfill --json). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/orch_cli.h"

/* GLOBAL: the signal handler's only way to ask the loop to stop. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

int txf_orch_cli_open(txf_orch_cli *oc, txf_ctx *ctx, const char *cmd,
                      int64_t now_us) {
  memset(oc, 0, sizeof *oc);
  txf_err err;
  txf_err_clear(&err);
  txf_project *p;
  int rc = txf_ctx_project(ctx, &p, &err);
  if (!rc)
    rc = txf_ctx_data_dir(ctx, NULL, &oc->data_dir, &err);
  if (!rc)
    rc = txf_dag_load(&oc->dag, p, &err);
  if (!rc)
    rc = txf_ctx_open_store(ctx, oc->data_dir, &oc->store, &err);
  if (rc) {
    txf_orch_cli_close(oc);
    return txf_cli_fail(cmd, &err);
  }
  txf_clock_init(&oc->clock, now_us ? now_us : ctx->pinned_now_us);
  oc->env.project = p;
  oc->env.dag = oc->dag;
  oc->env.store = oc->store;
  oc->env.exe = ctx->exe;
  oc->env.data_dir = oc->data_dir;
  oc->env.log = &ctx->log;
  oc->env.clock = &oc->clock;
  oc->env.stop = &stop_requested;
  stop_requested = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  return 0;
}

void txf_orch_cli_close(txf_orch_cli *oc) {
  txf_store_close(oc->store);
  txf_dag_free(oc->dag);
  free(oc->data_dir);
  memset(oc, 0, sizeof *oc);
}

/* --kind KIND: O->value is a const char *. */
static int kind_option(const char *cmd, const txf_cli_option *o,
                       const char *arg) {
  if (strcmp(arg, "manual") && strcmp(arg, "scheduled") &&
      strcmp(arg, "backfill"))
    return txf_cli_usage_error(
        cmd, "--kind: expected manual, scheduled or backfill, got '%s'", arg);
  *(const char **)o->value = arg;
  return 0;
}

int txf_orch_cli_parse(const char *cmd, int argc, char **argv,
                       const char *usage, unsigned accept, txf_orch_args *a) {
  memset(a, 0, sizeof *a);
  a->parallel = accept & TXF_ORCH_OPT_PARALLEL ? 2 : 1;
  a->kind = accept & TXF_ORCH_OPT_KIND ? "manual" : "backfill";
  txf_date date, from, to;
  int have_date = 0, have_from = 0, have_to = 0;
  const struct {
    unsigned mask;
    txf_cli_option opt;
  } all[] = {
      {TXF_ORCH_OPT_DATE, TXF_OPT_DATE(0, "date", &date, "D", &have_date)},
      {TXF_ORCH_OPT_RANGE, TXF_OPT_DATE(0, "from", &from, "D1", &have_from)},
      {TXF_ORCH_OPT_RANGE, TXF_OPT_DATE(0, "to", &to, "D2", &have_to)},
      {TXF_ORCH_OPT_PARALLEL,
       TXF_OPT_UINT(0, "parallel", &a->parallel, "N", 1, 64, "1..64")},
      {TXF_ORCH_OPT_KIND,
       TXF_OPT_CALLBACK(0, "kind", &a->kind, "KIND", kind_option)},
      {TXF_ORCH_OPT_FROM_SCRATCH,
       TXF_OPT_FLAG(0, "from-scratch", &a->from_scratch)},
      {TXF_ORCH_OPT_JSON, TXF_OPT_FLAG(0, "json", &a->json)},
  };
  txf_cli_option opts[TXF_ARRAY_LEN(all) + 1];
  size_t n = 0;
  for (size_t i = 0; i < TXF_ARRAY_LEN(all); i++)
    if (accept & all[i].mask)
      opts[n++] = all[i].opt;
  opts[n] = (txf_cli_option)TXF_OPT_END;
  int ec = txf_cli_options_parse(cmd, usage, opts, TXF_CLI_NO_OPERANDS, &argc,
                                 argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (accept & TXF_ORCH_OPT_DATE) {
    if (!have_date)
      return txf_cli_usage_error(cmd, "--date D is required");
    from = to = date;
  } else {
    if (!have_from || !have_to)
      return txf_cli_usage_error(cmd, "--from D1 and --to D2 are required");
    if (to.days < from.days)
      return txf_cli_usage_error(cmd, "--to is before --from");
    if (to.days - from.days >= 3660)
      return txf_cli_usage_error(cmd, "range too long (10 years at most)");
  }
  a->n_dates = (size_t)(to.days - from.days + 1);
  a->dates = txf_xcalloc(a->n_dates, sizeof *a->dates);
  for (size_t i = 0; i < a->n_dates; i++)
    a->dates[i].days = from.days + (int32_t)i;
  return -1;
}

static json_t *ts_json(sqlite3_stmt *s, int col) {
  if (sqlite3_column_type(s, col) == SQLITE_NULL)
    return json_null();
  char buf[40];
  txf_ts_format(sqlite3_column_int64(s, col), 0, 1, buf);
  return json_string(buf);
}

static json_t *text_json(sqlite3_stmt *s, int col) {
  const unsigned char *t = sqlite3_column_text(s, col);
  return t ? json_string((const char *)t) : json_null();
}

/* Duration of [start, end] (END NULL: still going, up to NOW). */
static json_t *dur_json(sqlite3_stmt *s, int c0, int c1, int64_t now) {
  if (sqlite3_column_type(s, c0) == SQLITE_NULL)
    return json_null();
  int64_t a = sqlite3_column_int64(s, c0);
  int64_t b = sqlite3_column_type(s, c1) == SQLITE_NULL
                  ? now
                  : sqlite3_column_int64(s, c1);
  return json_real(b > a ? (double)(b - a) / 1e6 : 0.0);
}

int txf_orch_cli_runs_json(txf_store *st, const char *from, const char *to,
                           uint64_t last, int ascending, int64_t now,
                           json_t *out, txf_err *err) {
  sqlite3_stmt *runs = NULL, *att = NULL;
  char sql[700];
  snprintf(sql, sizeof sql,
           "SELECT r.run_id, r.logical_date, r.kind, r.state, "
           "r.started_at_us, r.ended_at_us, r.error, r.sla_deadline_us, "
           "(SELECT count(*) FROM sla_misses m WHERE m.logical_date = "
           "r.logical_date) FROM runs r WHERE r.run_id = (SELECT max(run_id) "
           "FROM runs r2 WHERE r2.logical_date = r.logical_date) AND (?2 IS "
           "NULL OR r.logical_date >= ?2) AND (?3 IS NULL OR r.logical_date "
           "<= ?3) ORDER BY r.logical_date %s LIMIT ?1",
           ascending ? "ASC" : "DESC");
  int rc = txf_store_prepare(st, sql, &runs, err);
  if (!rc)
    rc = txf_store_prepare(st,
                           "SELECT task, attempt, state, started_at_us, "
                           "ended_at_us, exit_status, error, log_path, "
                           "retry_at_us FROM task_attempts WHERE run_id = ? "
                           "ORDER BY attempt_id",
                           &att, err);
  if (rc) {
    sqlite3_finalize(runs);
    return rc;
  }
  sqlite3_bind_int64(runs, 1, last ? (sqlite3_int64)last : -1);
  if (from)
    sqlite3_bind_text(runs, 2, from, -1, SQLITE_TRANSIENT);
  if (to)
    sqlite3_bind_text(runs, 3, to, -1, SQLITE_TRANSIENT);
  while (sqlite3_step(runs) == SQLITE_ROW) {
    json_t *r = json_object();
    json_object_set_new(r, "run_id",
                        json_integer(sqlite3_column_int64(runs, 0)));
    json_object_set_new(r, "logical_date", text_json(runs, 1));
    json_object_set_new(r, "kind", text_json(runs, 2));
    json_object_set_new(r, "state", text_json(runs, 3));
    json_object_set_new(r, "started_at", ts_json(runs, 4));
    json_object_set_new(r, "ended_at", ts_json(runs, 5));
    json_object_set_new(r, "duration_s", dur_json(runs, 4, 5, now));
    json_object_set_new(r, "error", text_json(runs, 6));
    json_object_set_new(r, "sla_deadline", ts_json(runs, 7));
    json_object_set_new(r, "sla_missed",
                        json_boolean(sqlite3_column_int(runs, 8) > 0));
    json_t *tasks = json_array();
    sqlite3_reset(att);
    sqlite3_bind_int64(att, 1, sqlite3_column_int64(runs, 0));
    while (sqlite3_step(att) == SQLITE_ROW) {
      const char *name = (const char *)sqlite3_column_text(att, 0);
      json_t *t = NULL;
      size_t i;
      json_t *e;
      json_array_foreach(tasks, i, e) {
        if (!strcmp(json_string_value(json_object_get(e, "task")), name))
          t = e;
      }
      if (!t) {
        t = json_object();
        json_object_set_new(t, "task", json_string(name));
        json_object_set_new(t, "attempts", json_integer(0));
        json_object_set_new(t, "attempt_list", json_array());
        json_array_append_new(tasks, t);
      }
      const char *state = (const char *)sqlite3_column_text(att, 2);
      json_object_set_new(t, "state", json_string(state));
      json_t *a = json_object();
      json_object_set_new(a, "attempt",
                          json_integer(sqlite3_column_int(att, 1)));
      json_object_set_new(a, "state", json_string(state));
      json_object_set_new(a, "started_at", ts_json(att, 3));
      json_object_set_new(a, "ended_at", ts_json(att, 4));
      json_object_set_new(a, "duration_s", dur_json(att, 3, 4, now));
      json_object_set_new(a, "exit_status",
                          sqlite3_column_type(att, 5) == SQLITE_NULL
                              ? json_null()
                              : json_integer(sqlite3_column_int(att, 5)));
      json_object_set_new(a, "error", text_json(att, 6));
      json_object_set_new(a, "log", text_json(att, 7));
      json_object_set_new(a, "retry_at", ts_json(att, 8));
      /* A skipped task has a marker row, not an attempt. */
      if (strcmp(state, "skipped") != 0) {
        json_object_set_new(
            t, "attempts",
            json_integer(json_integer_value(json_object_get(t, "attempts")) +
                         1));
        json_object_set(t, "duration_s", json_object_get(a, "duration_s"));
      } else {
        json_object_set_new(t, "duration_s", json_null());
      }
      json_object_set(t, "error", json_object_get(a, "error"));
      json_array_append_new(json_object_get(t, "attempt_list"), a);
    }
    json_object_set_new(r, "tasks", tasks);
    json_array_append_new(out, r);
  }
  sqlite3_finalize(runs);
  sqlite3_finalize(att);
  return 0;
}

int txf_orch_cli_execute(txf_ctx *ctx, const char *cmd,
                         const txf_orch_args *a, txf_orch_summary *sum,
                         int64_t *elapsed_us, json_t *runs) {
  memset(sum, 0, sizeof *sum);
  if (elapsed_us)
    *elapsed_us = 0;
  txf_orch_cli oc;
  int ec = txf_orch_cli_open(&oc, ctx, cmd, 0);
  if (ec)
    return ec;
  txf_orch_opts o = {a->parallel, a->from_scratch, a->kind};
  txf_err err;
  txf_err_clear(&err);
  int64_t t0 = txf_mono_us();
  int rc = txf_orch_execute(&oc.env, a->dates, a->n_dates, &o, sum, &err);
  if (elapsed_us)
    *elapsed_us = txf_mono_us() - t0;
  if (!rc && runs) {
    char from[11], to[11];
    txf_date_format(a->dates[0], from);
    txf_date_format(a->dates[a->n_dates - 1], to);
    rc = txf_orch_cli_runs_json(oc.store, from, to, 0, 1,
                                txf_clock_now(&oc.clock), runs, &err);
  }
  txf_orch_cli_close(&oc);
  if (rc)
    return txf_cli_fail(cmd, &err);
  if (sum->interrupted || sum->n_failed)
    return TXF_EXIT_FAIL;
  return TXF_EXIT_OK;
}

void txf_orch_cli_print_json(const txf_orch_args *a,
                             const txf_orch_summary *sum, int64_t elapsed_us,
                             json_t *runs) {
  char from[11], to[11];
  txf_date_format(a->dates[0], from);
  txf_date_format(a->dates[a->n_dates - 1], to);
  json_t *doc = json_object();
  json_object_set_new(doc, "from", json_string(from));
  json_object_set_new(doc, "to", json_string(to));
  json_object_set_new(doc, "dates", json_integer((json_int_t)a->n_dates));
  json_object_set_new(doc, "succeeded", json_integer(sum->n_success));
  json_object_set_new(doc, "already_done", json_integer(sum->n_skipped));
  json_object_set_new(doc, "failed", json_integer(sum->n_failed));
  json_object_set_new(doc, "interrupted", json_boolean(sum->interrupted));
  json_object_set_new(doc, "elapsed_s", json_real((double)elapsed_us / 1e6));
  json_object_set_new(doc, "first_failure",
                      sum->first_failure[0] ? json_string(sum->first_failure)
                                            : json_null());
  json_object_set_new(doc, "runs", runs);
  char *s = json_dumps(doc, JSON_INDENT(2));
  puts(s);
  free(s);
  json_decref(doc);
}
