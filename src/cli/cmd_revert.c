/* txnflow revert: take one batch out of the lake (docs/silver.md,
 * "Revert"). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "cli/orch_cli.h"
#include "pan/pan.h"

TXF_COMMAND(revert, "take one batch out of the lake, later batches kept");

static const char usage[] =
    "usage: txnflow revert --ingest-date D [--no-downstream] [--dry-run]\n"
    "                      [--data DIR] [--json] [--threads N]\n"
    "\n"
    "Make the silver lake exactly what it would be had the batch of\n"
    "ingestion day D never been delivered, every other batch staying in:\n"
    "each transaction whose row came from D falls back to its best version\n"
    "among the other batches (it moves to that version's event-date\n"
    "partition), or leaves the lake when only D delivered it. D's\n"
    "quarantine goes; the id index, the manifest, a new snapshot version\n"
    "(lake log: operation revert, the batches without D) and the change\n"
    "log (update and delete images) are committed at once, crash-safe like\n"
    "a clean. Bronze D is kept: clean it again (after land --replace, or\n"
    "as it is) to bring it back; a fixed batch landed for D is cleaned by\n"
    "the next 'txnflow run --date D'.\n"
    "\n"
    "Downstream, as for a late batch: by default the revert is a run of\n"
    "the orchestrator of its own (kind revert, logical date D; txnflow\n"
    "status, the dashboard): the task revert (the lake step, with clean's\n"
    "retries and timeout), then the daily DAG's tasks after clean: load\n"
    "when configured, models build by change of every event date the\n"
    "revert rewrote (and their data tests), publish when publish.s3 is\n"
    "configured, custom tasks. When a downstream task fails, the revert\n"
    "stays committed; run the same command again to resume the run at the\n"
    "failed task (the lake is not reverted twice). --no-downstream, --data\n"
    "and --dry-run change the lake alone (a dry run changes nothing);\n"
    "then 'txnflow models build' (and load, publish) is yours to run.\n"
    "\n"
    "The other versions are found through each batch's history file\n"
    "(silver/_history/transactions/, written by clean) and read back from\n"
    "bronze: a revert reads in proportion to D, not to the lake. It refuses\n"
    "when a bronze file it needs is gone (retention) or changed, and when a\n"
    "batch was cleaned before history files existed (clean it again).\n"
    "\n"
    "Options:\n"
    "  --ingest-date D   the batch to take out, YYYY-MM-DD (required)\n"
    "  --no-downstream   the lake step alone, no run: models, load and\n"
    "                    publish are left as they are\n"
    "  --dry-run         decide and report, change nothing (no run)\n"
    "  --data DIR        the lake in DIR alone (default: the project's, with\n"
    "                    its downstream)\n"
    "  --json            print the report as JSON (with the run: \"run\",\n"
    "                    as in 'txnflow status --json')\n"
    "  --threads N       encoder threads (default 2)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 when the revert and its downstream succeeded, 1 when\n"
    "either failed (the message says whether the lake is reverted), 2 on\n"
    "a usage error, 4 when the batch cannot be reverted (not in the lake,\n"
    "a bronze file it needs gone or changed): nothing was changed.\n"
    "\n"
    "Example:\n"
    "  txnflow revert --ingest-date 2025-09-05 --dry-run\n"
    "  txnflow revert --ingest-date 2025-09-05\n";

static void print_human(const char *text) {
  json_t *j = json_loads(text, 0, NULL);
  if (!j) {
    puts(text);
    return;
  }
  if (json_is_true(json_object_get(j, "already_reverted"))) {
    printf("revert %s: reverted already, the lake is unchanged\n",
           json_string_value(json_object_get(j, "ingest_date")));
    json_decref(j);
    return;
  }
#define I(k) ((long long)json_integer_value(json_object_get(j, k)))
  printf("revert %s%s: %lld lines removed (%lld valid, %lld quarantined); "
         "%lld rows were the batch's: %lld restored from other batches "
         "(%lld moved), %lld deleted\n",
         json_string_value(json_object_get(j, "ingest_date")),
         json_is_true(json_object_get(j, "dry_run")) ? " (dry run)" : "",
         I("lines_removed"), I("valid_lines"), I("quarantined"),
         I("rows_from_batch"), I("restored"), I("moved"), I("deleted"));
  json_t *parts = json_object_get(j, "partitions_rewritten");
  printf("  partitions %s: %zu\n",
         json_is_true(json_object_get(j, "dry_run")) ? "to rewrite"
                                                     : "rewritten",
         json_array_size(parts));
  if (json_is_integer(json_object_get(j, "commit_version")))
    printf("  lake version %lld\n", I("commit_version"));
#undef I
  json_decref(j);
}

/* The lake step alone, in this process (--no-downstream, --data,
 * --dry-run; and the revert task of a revert run). */
static int lake_only(txf_ctx *ctx, const char *data_opt, txf_date date,
                     int dry_run, int json, uint64_t threads) {
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL;
  txf_store *store = NULL;
  char *report = NULL;
  const char *tz = NULL; /* the lake's own zone is the one used */
  txf_feed_config feed;
  int rc = txf_ctx_lake(ctx, data_opt, &tz, &data, &feed, &store, &err);
  if (!rc && feed.format)
    rc = txf_err_set(&err, TXF_EUNSUPPORTED,
                     "a feed in a processor's layout (feed.format) cannot be "
                     "reverted yet: its lines are read back in the bronze "
                     "layout only");
  if (!rc) {
    txf_clean_revert_opts o;
    memset(&o, 0, sizeof o);
    o.data_dir = data;
    o.ingest_date = date;
    o.timezone = NULL;
    o.threads = (int)threads;
    o.log = &ctx->log;
    o.now_us = txf_ctx_now(ctx);
    o.dry_run = dry_run;
    o.crash_at = getenv("TXNFLOW_CRASH_AT"); /* the recovery tests' */
    txf_pan_key *key = NULL;
    txf_err kerr;
    txf_err_clear(&kerr);
    if (txf_pan_key_from_env(&key, &kerr) == 0)
      o.pan_key = key;
    rc = txf_clean_revert(&o, store, &report, &err);
    txf_pan_key_free(key);
  }
  if (!rc) {
    if (json)
      printf("%s\n", report);
    else
      print_human(report);
  }
  txf_feed_config_release(&feed);
  free(report);
  free(data);
  txf_store_close(store);
  return rc ? txf_cli_fail("revert", &err) : TXF_EXIT_OK;
}

/* RUN's task NAME (an element of its "tasks"), or NULL. */
static json_t *run_task(json_t *run, const char *name) {
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(run, "tasks"), i, t) {
    if (!strcmp(json_string_value(json_object_get(t, "task")), name))
      return t;
  }
  return NULL;
}

/* What the user reads once the revert run of DS ended: the revert's
 * report (from its task's log) and the run (RUN, status's object), on
 * stdout; a failure on stderr, saying whether the lake is reverted and
 * how to resume. Returns the exit status: the revert task's own when it
 * failed for good (4: the batch cannot be reverted, nothing changed). */
static int report_run(const char *ds, json_t *run, const txf_orch_summary *sum,
                      int json) {
  json_t *rt = run_task(run, "revert");
  int reverted =
      rt && !strcmp(json_string_value(json_object_get(rt, "state")), "success");
  json_t *atts = json_object_get(rt, "attempt_list");
  json_t *last = json_array_get(atts, json_array_size(atts) - 1);
  const char *log = json_string_value(json_object_get(last, "log"));
  int ec = sum->n_failed || sum->interrupted ? TXF_EXIT_FAIL : TXF_EXIT_OK;
  if (ec && !reverted && !sum->interrupted &&
      json_integer_value(json_object_get(last, "exit_status")) ==
          TXF_EXIT_PERMANENT)
    ec = TXF_EXIT_PERMANENT;
  char *text = reverted ? txf_attempt_log_report(log, "operation") : NULL;
  json_t *rep = text ? json_loads(text, 0, NULL) : NULL;
  if (json) {
    json_t *doc = json_is_object(rep) ? json_incref(rep) : json_object();
    if (!json_object_get(doc, "ingest_date"))
      json_object_set_new(doc, "ingest_date", json_string(ds));
    json_object_set(doc, "run", run ? run : json_null());
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(doc);
  } else {
    if (text)
      print_human(text);
    printf("  run %lld (revert): %s;",
           (long long)json_integer_value(json_object_get(run, "run_id")),
           json_string_value(json_object_get(run, "state")));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(run, "tasks"), i, t) {
      printf(" %s %s", json_string_value(json_object_get(t, "task")),
             json_string_value(json_object_get(t, "state")));
    }
    printf("\n");
  }
  if (sum->interrupted)
    fprintf(stderr,
            "txnflow revert: %s: interrupted%s; run it again to resume\n", ds,
            reverted ? " after the lake was reverted" : "");
  else if (sum->n_failed && reverted)
    fprintf(stderr,
            "txnflow revert: %s: the batch is reverted (the lake is "
            "committed), but its downstream failed: %s\n"
            "txnflow revert: run 'txnflow revert --ingest-date %s' again to "
            "resume the run at the failed task (the lake is not reverted "
            "twice)\n",
            ds, sum->first_failure, ds);
  else if (sum->n_failed)
    fprintf(stderr, "txnflow revert: %s: failed: %s\n", ds, sum->first_failure);
  json_decref(rep);
  free(text);
  return ec;
}

/* The revert as a run of the orchestrator: revert, then downstream. */
static int with_downstream(txf_ctx *ctx, txf_date date, int json,
                           uint64_t threads) {
  txf_orch_cli oc;
  int ec = txf_orch_cli_open(&oc, ctx, "revert", 0);
  if (ec)
    return ec;
  txf_dag *dag = txf_dag_revert(oc.dag);
  oc.env.dag = dag;
  txf_orch_opts o = {1, 0, 0, "revert", 1, (int)threads};
  txf_orch_summary sum;
  memset(&sum, 0, sizeof sum);
  txf_err err;
  txf_err_clear(&err);
  /* a date not in the lake is refused before a run is recorded */
  int rc = txf_clean_revert_check(oc.data_dir, date, oc.store, &err);
  if (!rc)
    rc = txf_orch_execute(&oc.env, &date, 1, &o, &sum, &err);
  char ds[11];
  txf_date_format(date, ds);
  json_t *runs = json_array();
  if (!rc)
    rc = txf_orch_cli_runs_json(oc.store, ds, ds, 0, 1,
                                txf_clock_now(&oc.clock), runs, &err);
  if (!rc)
    ec = report_run(ds, json_array_get(runs, 0), &sum, json);
  json_decref(runs);
  txf_dag_free(dag);
  txf_orch_cli_close(&oc);
  return rc ? txf_cli_fail("revert", &err) : ec;
}

int cmd_revert(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL;
  int have_date = 0, json = 0, dry_run = 0, no_downstream = 0;
  uint64_t threads = 2;
  txf_date date;
  const txf_cli_option opts[] = {
      TXF_OPT_DATE(0, "ingest-date", &date, "D", &have_date),
      TXF_OPT_FLAG(0, "no-downstream", &no_downstream),
      TXF_OPT_FLAG(0, "dry-run", &dry_run),
      TXF_OPT_UINT(0, "threads", &threads, "N", 1, 8, "1..8"),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_END};
  int rc = txf_cli_options_parse("revert", usage, opts, TXF_CLI_NO_OPERANDS,
                                 &argc, argv);
  if (rc != TXF_CLI_GO_ON)
    return rc;
  if (!have_date) /* the batch is never implied */
    return txf_cli_usage_error("revert", "--ingest-date is required");
  /* A dry run runs nothing downstream; a lake named by --data is not the
   * project's, whose models and publish would not follow it. */
  if (no_downstream || dry_run || data_opt)
    return lake_only(ctx, data_opt, date, dry_run, json, threads);
  return with_downstream(ctx, date, json, threads);
}
