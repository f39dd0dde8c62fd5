/* txnflow index: the silver lake's id index (docs/silver.md). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clean/clean.h"
#include "cli/cli.h"

TXF_COMMAND(index,
            "rebuild the silver lake's id index and manifest from silver");

static const char usage[] =
    "usage: txnflow index rebuild [--data DIR] [--json] [--timezone TZ]\n"
    "\n"
    "Rebuild the id index (silver/_index/transactions/shard-NNN.idx) and\n"
    "the lake's manifest (the size and SHA-256 of every shard and\n"
    "partition file) from silver. Every partition is read whole and checked\n"
    "first: each page's checksum, each row in the partition of its event\n"
    "date and in silver order. A damaged or unknown file stops the rebuild\n"
    "with its name, and nothing changes. Run it when clean says an index\n"
    "shard or the manifest is missing or damaged, or once on a lake\n"
    "written before checksums. The new files are committed like a clean's:\n"
    "a crash leaves the old index or the new one.\n"
    "\n"
    "Options:\n"
    "  --data DIR        data directory (default: the project's)\n"
    "  --json            print the report as JSON\n"
    "  --timezone TZ     zone of the event dates when the lake records none\n"
    "                    (default: the project's, else Asia/Seoul)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Example:\n"
    "  txnflow index rebuild && txnflow audit\n";

int cmd_index(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL, *tz = NULL;
  int json = 0;
  const txf_cli_option opts[] = {TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
                                 TXF_OPT_FLAG(0, "json", &json),
                                 TXF_OPT_STRING(0, "timezone", &tz, "TZ"),
                                 TXF_OPT_END};
  static const char *const subs[] = {"rebuild", NULL};
  size_t which;
  int ec = txf_cli_subcommand_parse("index", usage, opts, subs,
                                    TXF_CLI_NO_OPERANDS, &which, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL, *report = NULL;
  txf_store *store = NULL;
  if (!tz)
    tz = txf_ctx_timezone(ctx);
  int rc = txf_ctx_data_store(ctx, data_opt, &data, &store, &err);
  if (!rc) {
    txf_clean_rebuild_opts o = {data, tz, &ctx->log};
    rc = txf_clean_index_rebuild(&o, store, &report, &err);
  }
  json_t *j = rc ? NULL : txf_cli_report(report, json);
  if (j) {
#define I(k) ((long long)json_integer_value(json_object_get(j, k)))
    printf("index rebuilt from %lld partitions (%lld rows, %lld ids): %lld "
           "shards written, %lld removed\n",
           I("partitions"), I("rows"), I("ids"), I("shards_written"),
           I("shards_removed"));
#undef I
    json_decref(j);
  }
  free(report);
  free(data);
  txf_store_close(store);
  return rc ? txf_cli_fail("index", &err) : TXF_EXIT_OK;
}
