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

/* Returns -1 when the command should go on with *A filled in (the caller
 * frees a->dates), else the exit status (help: 0, usage error: 2, already
 * printed); then nothing is left to free. */
static int parse_args(const char *cmd, int argc, char **argv, const char *usage,
                      unsigned accept, txf_orch_args *a) {
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
      {TXF_ORCH_OPT_REGENERATE,
       TXF_OPT_FLAG(0, "regenerate", &a->regenerate)},
      {TXF_ORCH_OPT_JSON, TXF_OPT_FLAG(0, "json", &a->json)},
  };
  txf_cli_option opts[TXF_ARRAY_LEN(all) + 1];
  size_t n = 0;
  for (size_t i = 0; i < TXF_ARRAY_LEN(all); i++)
    if (accept & all[i].mask)
      opts[n++] = all[i].opt;
  opts[n] = (txf_cli_option)TXF_OPT_END;
  int ec =
      txf_cli_options_parse(cmd, usage, opts, TXF_CLI_NO_OPERANDS, &argc, argv);
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
  if (a->regenerate)
    a->from_scratch = 1; /* a new batch: everything downstream again */
  a->n_dates = (size_t)(to.days - from.days + 1);
  a->dates = txf_xcalloc(a->n_dates, sizeof *a->dates);
  for (size_t i = 0; i < a->n_dates; i++)
    a->dates[i].days = from.days + (int32_t)i;
  return -1;
}

static json_t *ts_json(int64_t us) {
  if (us == TXF_META_NULL)
    return json_null();
  char buf[40];
  txf_ts_format(us, 0, 1, buf);
  return json_string(buf);
}

static json_t *text_json(const char *t) {
  return t ? json_string(t) : json_null();
}

/* OBJ's "started_at", "ended_at" and "duration_s" (of [start, end]; END
 * NULL: still going, up to NOW). */
static void set_times(json_t *obj, int64_t start, int64_t end, int64_t now) {
  json_object_set_new(obj, "started_at", ts_json(start));
  json_object_set_new(obj, "ended_at", ts_json(end));
  json_t *dur = json_null();
  if (start != TXF_META_NULL) {
    int64_t b = end == TXF_META_NULL ? now : end;
    dur = json_real(b > start ? (double)(b - start) / 1e6 : 0.0);
  }
  json_object_set_new(obj, "duration_s", dur);
}

/* The tasks of a run's attempts ATTS, each with its attempts (a skipped
 * task has a marker row, not an attempt). */
static json_t *tasks_json(const txf_meta_attempt_list *atts, int64_t now) {
  json_t *tasks = json_array();
  for (size_t k = 0; k < atts->n; k++) {
    const txf_meta_attempt *at = &atts->v[k];
    json_t *t = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(tasks, i, e) {
      if (!strcmp(json_string_value(json_object_get(e, "task")), at->task))
        t = e;
    }
    if (!t) {
      t = json_object();
      json_object_set_new(t, "task", json_string(at->task));
      json_object_set_new(t, "attempts", json_integer(0));
      json_object_set_new(t, "attempt_list", json_array());
      json_array_append_new(tasks, t);
    }
    json_object_set_new(t, "state", json_string(at->state));
    json_t *a = json_object();
    json_object_set_new(a, "attempt", json_integer(at->attempt));
    json_object_set_new(a, "state", json_string(at->state));
    set_times(a, at->started_at_us, at->ended_at_us, now);
    json_object_set_new(a, "exit_status",
                        at->exit_status == TXF_META_NULL
                            ? json_null()
                            : json_integer((int)at->exit_status));
    json_object_set_new(a, "error", text_json(at->error));
    json_object_set_new(a, "log", text_json(at->log_path));
    json_object_set_new(a, "retry_at", ts_json(at->retry_at_us));
    json_object_set_new(a, "max_rss_mb",
                        at->max_rss_kb == TXF_META_NULL
                            ? json_null()
                            : json_real((double)at->max_rss_kb / 1024.0));
    json_object_set_new(a, "cpu_s",
                        at->cpu_us == TXF_META_NULL
                            ? json_null()
                            : json_real((double)at->cpu_us / 1e6));
    if (strcmp(at->state, "skipped") != 0) {
      json_object_set_new(
          t, "attempts",
          json_integer(json_integer_value(json_object_get(t, "attempts")) + 1));
      json_object_set(t, "duration_s", json_object_get(a, "duration_s"));
    } else {
      json_object_set_new(t, "duration_s", json_null());
    }
    json_object_set(t, "error", json_object_get(a, "error"));
    json_array_append_new(json_object_get(t, "attempt_list"), a);
  }
  return tasks;
}

int txf_orch_cli_runs_json(txf_store *st, const char *from, const char *to,
                           uint64_t last, int ascending, int64_t now,
                           json_t *out, txf_err *err) {
  txf_meta_runs_query q = {from, to, NULL, last ? (int64_t)last : -1,
                           ascending, NULL};
  txf_meta_run_list runs;
  int rc = txf_meta_runs_latest(st, &q, &runs, err);
  for (size_t k = 0; !rc && k < runs.n; k++) {
    const txf_meta_run *run = &runs.v[k];
    txf_meta_attempt_list atts;
    rc = txf_meta_attempts_of_run(st, run->run_id, NULL, 0, &atts, err);
    if (rc)
      break;
    json_t *r = json_object();
    json_object_set_new(r, "run_id", json_integer(run->run_id));
    json_object_set_new(r, "logical_date", text_json(run->logical_date));
    json_object_set_new(r, "kind", text_json(run->kind));
    json_object_set_new(r, "state", text_json(run->state));
    set_times(r, run->started_at_us, run->ended_at_us, now);
    json_object_set_new(r, "error", text_json(run->error));
    json_object_set_new(r, "sla_deadline", ts_json(run->sla_deadline_us));
    json_object_set_new(r, "sla_missed", json_boolean(run->sla_missed));
    json_object_set_new(r, "tasks", tasks_json(&atts, now));
    json_array_append_new(out, r);
    txf_meta_attempt_list_release(&atts);
  }
  txf_meta_run_list_release(&runs);
  return rc;
}

/* The JSON summary of A's dates: the counts of SUM, ELAPSED_US, and RUNS
 * (takes ownership). */
static void print_json(const txf_orch_args *a, const txf_orch_summary *sum,
                       int64_t elapsed_us, json_t *runs) {
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

/* The executor over A's dates; RUNS, when not NULL, gets their latest
 * runs once it ran. */
static int execute(txf_ctx *ctx, const char *cmd, const txf_orch_args *a,
                   txf_orch_summary *sum, int64_t *elapsed_us, json_t *runs) {
  memset(sum, 0, sizeof *sum);
  *elapsed_us = 0;
  txf_orch_cli oc;
  int ec = txf_orch_cli_open(&oc, ctx, cmd, 0);
  if (ec)
    return ec;
  txf_orch_opts o = {a->parallel, a->from_scratch, a->regenerate, a->kind,
                     0, 0};
  txf_err err;
  txf_err_clear(&err);
  if (a->regenerate && txf_dag_find(oc.dag, "generate") < 0) {
    txf_orch_cli_close(&oc);
    return txf_cli_usage_error(
        cmd, "--regenerate: this project's feed is landed, there is no "
             "batch to generate; replace the landed files, then run again "
             "with --from-scratch");
  }
  int64_t t0 = txf_mono_us();
  int rc = txf_orch_execute(&oc.env, a->dates, a->n_dates, &o, sum, &err);
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

int txf_orch_cli_main(int argc, char **argv, txf_ctx *ctx, const char *cmd,
                      const char *usage, unsigned accept,
                      txf_orch_cli_report report) {
  txf_orch_args a;
  int ec = parse_args(cmd, argc, argv, usage, accept, &a);
  if (ec >= 0)
    return ec;
  txf_orch_summary sum;
  int64_t elapsed_us;
  json_t *runs = a.json ? json_array() : NULL;
  ec = execute(ctx, cmd, &a, &sum, &elapsed_us, runs);
  /* Otherwise an error before or after the dates ran, already printed. */
  if (ec == TXF_EXIT_OK || sum.interrupted || sum.n_failed) {
    if (runs)
      print_json(&a, &sum, elapsed_us, runs);
    report(&a, &sum, elapsed_us, ec);
  } else {
    json_decref(runs);
  }
  free(a.dates);
  return ec;
}
