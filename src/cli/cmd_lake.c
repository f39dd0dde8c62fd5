/* txnflow lake: the silver lake's versions (docs/silver.md, "Snapshots"). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clean/clean.h"
#include "cli/cli.h"
#include "project/project.h"

TXF_COMMAND(lake, "the silver lake's versions (snapshots) and retention");

static const char usage[] =
    "usage: txnflow lake log [--data DIR] [--json]\n"
    "   or: txnflow lake vacuum [--dry-run] [--data DIR] [--json]\n"
    "                           [--keep-snapshots DUR] [--keep-bronze DUR]\n"
    "                           [--keep-quarantine DUR]\n"
    "                           [--keep-bronze-card-files DUR]\n"
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
    "vacuum applies the retention of txnflow.yml (retention: snapshots,\n"
    "bronze, quarantine: durations such as 400d, 52w, 5y; absent: kept\n"
    "forever): snapshot records committed longer ago than 'snapshots' are\n"
    "removed (the latest always stays), then every kept partition file no\n"
    "remaining snapshot names; bronze and quarantine batches whose ingest\n"
    "date is older than theirs are removed whole. Nothing a kept snapshot\n"
    "names is removed. Bronze files that hold card numbers (a card_number\n"
    "column) go one by one after 'bronze_card_files', by default the\n"
    "shortest duration configured (none configured: kept). A kill at any\n"
    "point leaves a readable lake and a rerun finishes. The scheduler\n"
    "runs the vacuum once a day when retention: is set (vacuum: off\n"
    "stops it).\n"
    "\n"
    "Options:\n"
    "  --data DIR        data directory (default: the project's)\n"
    "  --json            print the versions as a JSON array: version,\n"
    "                    committed_at, operation, run_id, ingest_date,\n"
    "                    batches, partitions_changed, rows, n_partitions\n"
    "  --dry-run         vacuum: list what would be removed, remove nothing\n"
    "  --keep-snapshots DUR, --keep-bronze DUR, --keep-quarantine DUR,\n"
    "  --keep-bronze-card-files DUR\n"
    "                    vacuum: override txnflow.yml's retention (DUR: Nd,\n"
    "                    Nw, Ny, or 'forever')\n"
    "  -h, --help        show this help\n"
    "\n"
    "Example:\n"
    "  txnflow lake log && txnflow sql --as-of 3 \"SELECT count(*) FROM "
    "silver\"\n"
    "  txnflow lake vacuum --dry-run\n";

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

/* txnflow.yml's retention: into *R (no project, as with --data alone:
 * nothing configured). */
static int read_retention(txf_ctx *ctx, txf_project_retention *r,
                          txf_err *err) {
  txf_project *p = NULL;
  if (txf_ctx_project(ctx, &p, err) != 0) {
    txf_err_clear(err);
    p = NULL;
  }
  return txf_project_retention_read(r, p, err);
}

static int vacuum(txf_ctx *ctx, const char *data_opt, int dry_run,
                  const char *const keep[4], int json) {
  txf_err err;
  txf_err_clear(&err);
  static const char *const opt[] = {"--keep-snapshots", "--keep-bronze",
                                    "--keep-quarantine",
                                    "--keep-bronze-card-files"};
  int64_t given[4];
  for (int i = 0; i < 4; i++)
    if (keep[i] && txf_project_retention_parse(keep[i], &given[i]) != 0)
      return txf_cli_usage_error("lake",
                                 "%s: '%s' is not a duration (400d, "
                                 "52w, 5y or forever)",
                                 opt[i], keep[i]);
  /* the options over txnflow.yml's retention */
  txf_project_retention r;
  int rc = read_retention(ctx, &r, &err);
  int64_t *outs[] = {&r.snapshots_us, &r.bronze_us, &r.quarantine_us,
                     &r.bronze_card_files_us};
  for (int i = 0; i < 4; i++)
    if (keep[i])
      *outs[i] = given[i];
  if (keep[3])
    r.card_files_explicit = 1;
  txf_project_retention_settle(&r);
  txf_clean_vacuum_opts o = {.now_us = txf_ctx_now(ctx),
                             .keep_snapshots_us = r.snapshots_us,
                             .keep_bronze_us = r.bronze_us,
                             .keep_quarantine_us = r.quarantine_us,
                             .keep_card_files_us = r.bronze_card_files_us,
                             .dry_run = dry_run};
  /* Crash injection for the recovery tests: TXNFLOW_CRASH_AT=vacuum:n */
  const char *crash = getenv("TXNFLOW_CRASH_AT");
  char step[16] = "";
  if (crash && strncmp(crash, "vacuum:", 7) == 0) {
    snprintf(step, sizeof step, "vacuum");
    o.crash_step = step;
    o.crash_n = atoi(crash + 7);
  }
  char *data = NULL, *report = NULL;
  txf_store *store = NULL;
  if (!rc)
    rc = txf_ctx_data_store(ctx, data_opt, &data, &store, &err);
  o.data_dir = data;
  if (!rc)
    rc = txf_clean_lake_vacuum(&o, store, &report, &err);
  json_t *j = rc ? NULL : txf_cli_report(report, json);
  if (j) {
#define N(k) json_array_size(json_object_get(j, k))
    printf("%s %zu snapshot%s (%zu kept), %zu partition file%s (%lld bytes "
           "freed), %zu bronze and %zu quarantine batch%s\n",
           dry_run ? "would remove" : "removed", N("snapshots_removed"),
           N("snapshots_removed") == 1 ? "" : "s", N("snapshots_kept"),
           N("files_removed"), N("files_removed") == 1 ? "" : "s",
           (long long)json_integer_value(json_object_get(j, "bytes_freed")),
           N("bronze_removed"), N("quarantine_removed"),
           N("quarantine_removed") == 1 ? "" : "es");
    if (N("bronze_card_files_removed"))
      printf("%s %zu bronze file%s holding card numbers (retention.%s)\n",
             dry_run ? "would remove" : "removed",
             N("bronze_card_files_removed"),
             N("bronze_card_files_removed") == 1 ? "" : "s", r.card_files_from);
#undef N
    json_decref(j);
  }
  free(report);
  free(data);
  txf_store_close(store);
  return rc ? txf_cli_fail("lake", &err) : TXF_EXIT_OK;
}

int cmd_lake(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL;
  const char *keep[4] = {NULL, NULL, NULL, NULL};
  int json = 0, dry_run = 0;
  const txf_cli_option opts[] = {
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_FLAG(0, "dry-run", &dry_run),
      TXF_OPT_STRING(0, "keep-snapshots", &keep[0], "DUR"),
      TXF_OPT_STRING(0, "keep-bronze", &keep[1], "DUR"),
      TXF_OPT_STRING(0, "keep-quarantine", &keep[2], "DUR"),
      TXF_OPT_STRING(0, "keep-bronze-card-files", &keep[3], "DUR"),
      TXF_OPT_END};
  static const char *const subs[] = {"log", "vacuum", NULL};
  size_t which;
  int ec = txf_cli_subcommand_parse("lake", usage, opts, subs,
                                    TXF_CLI_NO_OPERANDS, &which, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (which == 1)
    return vacuum(ctx, data_opt, dry_run, keep, json);
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
