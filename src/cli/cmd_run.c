/* txnflow run: the DAG of one logical date. */
#include <stdlib.h>
#include <string.h>

#include "cli/orch_cli.h"

TXF_COMMAND(run, "run the daily DAG for one logical date");

static const char usage[] =
    "usage: txnflow run --date D [--from-scratch] [--kind KIND]\n"
    "\n"
    "Run the DAG of logical date D: generate (synthetic feed) or wait for\n"
    "the landed batch (landed feed), clean, models build, and publish when\n"
    "configured. Each task attempt runs as a child process with its own log\n"
    "(DATA/logs/D/TASK/attempt-N.log), a timeout and retries with backoff;\n"
    "every attempt is recorded in the metadata database (txnflow status).\n"
    "A date whose last run failed resumes at the failed task; a date that\n"
    "already succeeded is left alone unless --from-scratch. Only one run of\n"
    "a date at a time: a second one fails at once.\n"
    "\n"
    "Options:\n"
    "  --date D          the logical date (YYYY-MM-DD), required\n"
    "  --from-scratch    start a new run of every task, even finished ones\n"
    "  --kind KIND       recorded run kind: manual (default), scheduled or\n"
    "                    backfill\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 when the run succeeded, 1 when it failed or another\n"
    "run of D is in progress.\n"
    "\n"
    "Example:\n"
    "  txnflow run --date 2025-09-01\n";

int cmd_run(int argc, char **argv, txf_ctx *ctx) {
  static const struct option opts[] = {
      {"date", required_argument, 0, 'd'},
      {"from-scratch", no_argument, 0, 'f'},
      {"kind", required_argument, 0, 'k'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  txf_date date;
  int have_date = 0, from_scratch = 0;
  const char *kind = "manual";
  int c;
  while ((c = txf_cli_getopt("run", argc, argv, ":h", opts)) != -1) {
    switch (c) {
    case 'd':
      if (txf_cli_parse_date("run", "--date", optarg, &date))
        return TXF_EXIT_USAGE;
      have_date = 1;
      break;
    case 'f':
      from_scratch = 1;
      break;
    case 'k':
      if (strcmp(optarg, "manual") && strcmp(optarg, "scheduled") &&
          strcmp(optarg, "backfill"))
        return txf_cli_usage_error(
            "run", "--kind: expected manual, scheduled or backfill, got '%s'",
            optarg);
      kind = optarg;
      break;
    case 'h':
      return txf_cli_help(usage);
    default:
      return TXF_EXIT_USAGE;
    }
  }
  if (optind != argc)
    return txf_cli_usage_error("run", "unexpected argument '%s'",
                               argv[optind]);
  if (!have_date)
    return txf_cli_usage_error("run", "--date D is required");
  txf_orch_cli oc;
  int ec = txf_orch_cli_open(&oc, ctx, "run", 0);
  if (ec)
    return ec;
  txf_orch_opts o = {1, from_scratch, kind};
  txf_orch_summary sum;
  txf_err err;
  txf_err_clear(&err);
  int rc = txf_orch_execute(&oc.env, &date, 1, &o, &sum, &err);
  txf_orch_cli_close(&oc);
  if (rc)
    return txf_cli_fail("run", &err);
  char ds[11];
  txf_date_format(date, ds);
  if (sum.interrupted) {
    fprintf(stderr, "txnflow run: %s: interrupted; run it again to resume\n",
            ds);
    return TXF_EXIT_FAIL;
  }
  if (sum.n_failed) {
    fprintf(stderr, "txnflow run: %s: failed: %s\n", ds, sum.first_failure);
    return TXF_EXIT_FAIL;
  }
  if (sum.n_skipped)
    printf("%s: already succeeded; nothing to do (--from-scratch reruns)\n",
           ds);
  else
    printf("%s: success\n", ds);
  return TXF_EXIT_OK;
}
