/* txnflow audit: check the whole silver lake (docs/silver.md, "Audit"). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "cli/cli.h"
#include "pan/pan.h"

TXF_COMMAND(audit, "check the silver lake: one row per id, reconciliation, truth");

static const char usage[] =
    "usage: txnflow audit [--data DIR] [--json] [--max-diffs N]\n"
    "\n"
    "Check the silver lake: one row per transaction_id, every row in the\n"
    "partition of its event date, every clean's reconciliation adding up,\n"
    "and silver equal, row by row and field by field, to the state\n"
    "recomputed from the batches that were cleaned (for each id the valid\n"
    "line with the greatest ingested_at). Where the generator's truth/\n"
    "exists, lines are judged malformed or valid by the truth, not by our\n"
    "own validation. Every file must match the lake's manifest (size,\n"
    "SHA-256) and the id index must hold exactly silver's ids. Exit status\n"
    "1 on any difference, listing the first.\n"
    "\n"
    "Options:\n"
    "  --data DIR        data directory (default: the project's)\n"
    "  --json            print the findings as JSON\n"
    "  --max-diffs N     differences listed (default 20)\n"
    "  --timezone TZ     zone of the event dates (default: the project's,\n"
    "                    else Asia/Seoul)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Example:\n"
    "  txnflow audit --json\n";

int cmd_audit(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL, *tz = NULL;
  int json = 0;
  uint64_t max_diffs = 20;
  const txf_cli_option opts[] = {
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_UINT(0, "max-diffs", &max_diffs, "N", 1, UINT64_MAX,
                   "a positive count"),
      TXF_OPT_STRING(0, "timezone", &tz, "TZ"),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("audit", usage, opts, TXF_CLI_NO_OPERANDS,
                                 &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL, *report = NULL;
  txf_store *store = NULL;
  txf_feed_config feed;
  int rc = txf_ctx_lake(ctx, data_opt, &tz, &data, &feed, &store, &err);
  if (!rc) {
    /* a card feed's audit validates as clean does: with the key */
    txf_pan_key *key = NULL;
    rc = txf_pan_key_from_env(&key, &err);
    if (rc == TXF_ENOTFOUND)
      rc = 0;
    txf_audit_opts o = {data, tz, (size_t)max_diffs, feed.format, key};
    if (!rc)
      rc = txf_audit_run(&o, store, &report, &err);
    txf_pan_key_free(key);
  }
  txf_feed_config_release(&feed);
  if (report) {
    json_t *j = txf_cli_report(report, json);
    if (j) {
      const char *k;
      json_t *v;
      json_object_foreach(j, k, v) {
        if (json_is_integer(v))
          printf("%-22s %lld\n", k, (long long)json_integer_value(v));
      }
      size_t i;
      json_array_foreach(json_object_get(j, "differences"), i, v)
        printf("  %s\n", json_string_value(v));
      printf("audit: %s\n", rc ? "FAILED" : "ok");
      json_decref(j);
    }
  }
  free(report);
  free(data);
  txf_store_close(store);
  if (rc == TXF_ETEST) {
    fprintf(stderr, "txnflow audit: %s\n", err.msg);
    return TXF_EXIT_FAIL;
  }
  return rc ? txf_cli_fail("audit", &err) : TXF_EXIT_OK;
}
