/* txnflow clean: one bronze batch into the silver lake (docs/silver.md). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "cli/cli.h"
#include "pan/pan.h"

TXF_COMMAND(clean, "bronze batch of a date -> silver lake and quarantine");

static const char usage[] =
    "usage: txnflow clean --date D [--data DIR] [--json] [--threads N]\n"
    "                     [--timezone TZ] [--input FILE...]\n"
    "\n"
    "Clean the bronze batch of ingestion day D: verify its manifest, validate\n"
    "every line (bad lines go to quarantine/transactions/ingest_date=D/ with\n"
    "a reason code), keep one row per transaction_id across the lake (the\n"
    "greatest ingested_at wins) and rewrite, atomically, the event-date\n"
    "partitions of silver/transactions/ that the batch touches. Prints the\n"
    "reconciliation: lines read = inserted + updated + duplicates + stale +\n"
    "quarantined. Rerunning a date changes nothing. Every index shard and\n"
    "partition it reads must match the lake's manifest (size, SHA-256) and\n"
    "its page checksums: damage stops it, naming the file and how to\n"
    "recover, before anything is written (see txnflow index rebuild).\n"
    "\n"
    "Options:\n"
    "  --date D          ingestion day, YYYY-MM-DD (required)\n"
    "  --data DIR        data directory (default: the project's)\n"
    "  --input FILE      clean FILE (repeatable) as day D's batch instead of\n"
    "                    the bronze layout; no manifest is needed\n"
    "  --json            print the reconciliation as JSON\n"
    "  --threads N       worker threads (default 2)\n"
    "  --timezone TZ     zone of the event-date partitions (default: the\n"
    "                    project's, else Asia/Seoul)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Example:\n"
    "  txnflow clean --date 2025-09-01 --json\n";

static void print_human(const char *text) {
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j) {
    puts(text);
    return;
  }
#define I(k) ((long long)json_integer_value(json_object_get(j, k)))
  printf("clean %s: %lld lines read = %lld inserted + %lld updated + "
         "%lld duplicates + %lld stale + %lld quarantined\n",
         json_string_value(json_object_get(j, "ingest_date")), I("lines_read"),
         I("inserted"), I("updated"), I("duplicates"), I("stale"),
         I("quarantined"));
  if (I("ties"))
    printf("  ties on ingested_at resolved: %lld\n", I("ties"));
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(j, "quarantined_by_reason"), k, v)
    printf("  quarantined %-14s %lld\n", k, (long long)json_integer_value(v));
  json_t *parts = json_object_get(j, "rows_per_partition");
  printf("  partitions rewritten: %zu\n", json_object_size(parts));
  json_object_foreach(parts, k, v)
    printf("    %s  %lld rows\n", k, (long long)json_integer_value(v));
#undef I
  json_decref(j);
}

/* --input FILE, repeatable: O->value is a file_list. */
typedef struct file_list {
  const char **v; /* borrowed from argv until made absolute */
  size_t n;
} file_list;

static int add_input(const char *cmd, const txf_cli_option *o,
                     const char *arg) {
  (void)cmd;
  file_list *l = o->value;
  l->v = txf_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
  l->v[l->n++] = arg;
  return 0;
}

int cmd_clean(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL, *tz_opt = NULL;
  int have_date = 0, json = 0;
  uint64_t threads = 2;
  txf_date date;
  file_list in = {NULL, 0};
  const txf_cli_option opts[] = {
      TXF_OPT_DATE(0, "date", &date, "D", &have_date),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_CALLBACK(0, "input", &in, "FILE", add_input),
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_UINT(0, "threads", &threads, "N", 1, 8, "1..8"),
      TXF_OPT_STRING(0, "timezone", &tz_opt, "TZ"),
      TXF_OPT_END};
  int rc = txf_cli_options_parse("clean", usage, opts, TXF_CLI_NO_OPERANDS,
                                 &argc, argv);
  if (rc == TXF_CLI_GO_ON && !have_date)
    rc = txf_cli_usage_error("clean", "--date is required");
  if (rc != TXF_CLI_GO_ON) {
    free(in.v);
    return rc;
  }
  const char **inputs = in.v;
  size_t n_inputs = in.n;
  /* --input paths are relative to where the command was started */
  for (size_t i = 0; i < n_inputs; i++)
    inputs[i] = txf_path_abs(ctx->cwd, inputs[i]);
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL;
  txf_store *store = NULL;
  char *report = NULL;
  const char *tz = tz_opt;
  txf_feed_config feed;
  rc = txf_ctx_lake(ctx, data_opt, &tz, &data, &feed, &store, &err);
  if (!rc) {
    txf_clean_opts o;
    memset(&o, 0, sizeof o);
    o.data_dir = data;
    o.ingest_date = date;
    o.inputs = n_inputs ? inputs : NULL;
    o.n_inputs = n_inputs;
    o.timezone = tz;
    o.format = feed.format;
    o.threads = (int)threads;
    o.log = &ctx->log;
    o.now_us = txf_ctx_now(ctx);
    /* Crash injection for the recovery tests: TXNFLOW_CRASH_AT=step:n */
    char *crash = getenv("TXNFLOW_CRASH_AT") ? txf_xstrdup(
                                                   getenv("TXNFLOW_CRASH_AT"))
                                             : NULL;
    if (crash && strchr(crash, ':')) {
      char *colon = strchr(crash, ':');
      *colon = '\0';
      o.crash_step = crash;
      o.crash_n = atoi(colon + 1);
    }
    /* The card number key, if one is given: clean needs it only for a
     * card feed, so a key that cannot be loaded is its problem to report
     * (docs/card-data.md). */
    txf_pan_key *key = NULL;
    txf_err kerr;
    txf_err_clear(&kerr);
    int krc = txf_pan_key_from_env(&key, &kerr);
    o.pan_key = key;
    o.pan_key_problem = krc && krc != TXF_ENOTFOUND ? kerr.msg : NULL;
    txf_progress prog;
    txf_progress_start(&prog, "clean", 0);
    o.progress = &prog;
    rc = txf_clean_run(&o, store, &report, &err);
    txf_pan_key_free(key);
    txf_progress_finish(&prog);
    free(crash);
  }
  if (!rc) {
    if (json)
      printf("%s\n", report);
    else
      print_human(report);
  } else if (store && rc != TXF_ELOCKED) {
    /* a failed run is recorded too, so status shows it */
    txf_err e2;
    char d[11];
    if (txf_meta_clean_failed(store, txf_date_format(date, d), txf_ctx_now(ctx),
                              txf_ctx_now(ctx), err.msg,
                              &e2)) { /* best effort: report the clean's */
    }
  }
  txf_feed_config_release(&feed);
  for (size_t i = 0; i < n_inputs; i++)
    free((char *)inputs[i]);
  free(inputs);
  free(report);
  free(data);
  txf_store_close(store);
  return rc ? txf_cli_fail("clean", &err) : TXF_EXIT_OK;
}
