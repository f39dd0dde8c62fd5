/* txnflow lake: the silver lake's versions (docs/silver.md, "Snapshots"). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clean/clean.h"
#include "cli/cli.h"

TXF_COMMAND(lake, "list the silver lake's versions (snapshots)");

static const char usage[] =
    "usage: txnflow lake log [--data DIR] [--json]\n"
    "\n"
    "List the versions of the silver lake, oldest first. Every clean that\n"
    "changes the lake commits a version with a snapshot: the partition\n"
    "files that make up the lake as of that version and the batches\n"
    "(ingest dates) in it. Files a later version replaced are kept under\n"
    "silver/_snapshots/ so an old version can still be read:\n"
    "txnflow sql --as-of VERSION|TIMESTAMP|RUN.\n"
    "\n"
    "Columns: version, committed_at (UTC), the run that committed it, the\n"
    "number of batches in the lake, the partitions (event dates) it\n"
    "changed, the rows of the lake as of it. Versions committed before\n"
    "snapshots existed have none (their change log is there).\n"
    "\n"
    "Options:\n"
    "  --data DIR        data directory (default: the project's)\n"
    "  --json            print the versions as a JSON array: version,\n"
    "                    committed_at, operation, run_id, ingest_date,\n"
    "                    batches, partitions_changed, rows, n_partitions\n"
    "  -h, --help        show this help\n"
    "\n"
    "Example:\n"
    "  txnflow lake log && txnflow sql --as-of 3 \"SELECT count(*) FROM "
    "silver\"\n";

static void print_table(json_t *a) {
  printf("%8s  %-20s  %-40s  %7s  %-10s  %10s\n", "version", "committed_at",
         "run", "batches", "changed", "rows");
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) {
    json_t *ch = json_object_get(e, "partitions_changed");
    char changed[64];
    size_t n = json_array_size(ch);
    if (n == 1)
      snprintf(changed, sizeof changed, "%s",
               json_string_value(json_array_get(ch, 0)));
    else
      snprintf(changed, sizeof changed, "%zu days", n);
    const char *t = json_string_value(json_object_get(e, "committed_at"));
    char at[24]; /* to the second */
    snprintf(at, sizeof at, "%.19sZ", t ? t : "");
    const char *run = json_string_value(json_object_get(e, "run_id"));
    printf("%8lld  %-20s  %-40s  %7zu  %-10s  %10lld\n",
           (long long)json_integer_value(json_object_get(e, "version")), at,
           run ? run : "", json_array_size(json_object_get(e, "batches")),
           changed, (long long)json_integer_value(json_object_get(e, "rows")));
  }
}

int cmd_lake(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL;
  int json = 0;
  const txf_cli_option opts[] = {TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
                                 TXF_OPT_FLAG(0, "json", &json), TXF_OPT_END};
  int ec = txf_cli_options_parse("lake", usage, opts, 0, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (argc == 0)
    return txf_cli_usage_error("lake", "missing subcommand (log)");
  if (strcmp(argv[0], "log") != 0) {
    static const char *const subs[] = {"log"};
    return txf_cli_unknown_subcommand("lake", argv[0], subs, 1);
  }
  if (argc > 1)
    return txf_cli_usage_error("lake", "too many arguments");
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL, *log = NULL;
  int rc = txf_ctx_data_dir(ctx, data_opt, &data, &err);
  if (!rc)
    rc = txf_clean_lake_log(data, &log, &err);
  if (!rc && json) {
    printf("%s\n", log);
  } else if (!rc) {
    json_error_t je;
    json_t *a = json_loads(log, 0, &je);
    if (json_array_size(a) == 0)
      printf("no versions with a snapshot yet\n");
    else
      print_table(a);
    json_decref(a);
  }
  free(log);
  free(data);
  return rc ? txf_cli_fail("lake", &err) : TXF_EXIT_OK;
}
