/* txnflow revert: take one batch out of the lake (docs/silver.md,
 * "Revert"). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "cli/cli.h"
#include "pan/pan.h"

TXF_COMMAND(revert, "take one batch out of the lake, later batches kept");

static const char usage[] =
    "usage: txnflow revert --ingest-date D [--dry-run] [--data DIR] [--json]\n"
    "                      [--threads N]\n"
    "\n"
    "Make the silver lake exactly what it would be had the batch of\n"
    "ingestion day D never been delivered, every other batch staying in:\n"
    "each transaction whose row came from D falls back to its best version\n"
    "among the other batches (it moves to that version's event-date\n"
    "partition), or leaves the lake when only D delivered it. D's\n"
    "quarantine goes; the id index, the manifest, a new snapshot version\n"
    "(lake log: operation revert, the batches without D) and the change\n"
    "log (update and delete images) are committed at once, crash-safe like\n"
    "a clean. 'txnflow models build' by change then rebuilds what the\n"
    "revert touched, as for a late batch. Bronze D is kept: clean it again\n"
    "(after land --replace, or as it is) to bring it back.\n"
    "\n"
    "The other versions are found through each batch's history file\n"
    "(silver/_history/transactions/, written by clean) and read back from\n"
    "bronze: a revert reads in proportion to D, not to the lake. It refuses\n"
    "when a bronze file it needs is gone (retention) or changed, and when a\n"
    "batch was cleaned before history files existed (clean it again).\n"
    "\n"
    "Options:\n"
    "  --ingest-date D   the batch to take out, YYYY-MM-DD (required)\n"
    "  --dry-run         decide and report, change nothing\n"
    "  --data DIR        data directory (default: the project's)\n"
    "  --json            print the report as JSON\n"
    "  --threads N       encoder threads (default 2)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Example:\n"
    "  txnflow revert --ingest-date 2025-09-05 --dry-run\n"
    "  txnflow revert --ingest-date 2025-09-05 && txnflow models build\n";

static void print_human(const char *text) {
  json_t *j = json_loads(text, 0, NULL);
  if (!j) {
    puts(text);
    return;
  }
  if (json_is_true(json_object_get(j, "already_reverted"))) {
    printf("revert %s: reverted already, nothing to do\n",
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

int cmd_revert(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL;
  int have_date = 0, json = 0, dry_run = 0;
  uint64_t threads = 2;
  txf_date date;
  const txf_cli_option opts[] = {
      TXF_OPT_DATE(0, "ingest-date", &date, "D", &have_date),
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
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL;
  txf_store *store = NULL;
  char *report = NULL;
  const char *tz = NULL; /* the lake's own zone is the one used */
  txf_feed_config feed;
  rc = txf_ctx_lake(ctx, data_opt, &tz, &data, &feed, &store, &err);
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
