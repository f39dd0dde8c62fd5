/* txnflow backfill: the DAG of every date in a range. */
#include <stdlib.h>
#include <string.h>

#include "cli/orch_cli.h"

TXF_COMMAND(backfill, "run the DAG for every date in a range");

static const char usage[] =
    "usage: txnflow backfill --from D1 --to D2 [--parallel N] "
    "[--from-scratch]\n"
    "\n"
    "Run the DAG of every logical date from D1 to D2 (inclusive). Dates\n"
    "that already succeeded are skipped, failed or interrupted ones resume\n"
    "where they stopped, so a backfill can be run again after an\n"
    "interruption. With --parallel N, up to N tasks run at once: the\n"
    "generate (or sensor) tasks of different dates run side by side, while\n"
    "clean, models and publish run one at a time in date order, so the\n"
    "result is byte-identical to a sequential backfill. A failed date stops\n"
    "the later dates' lake tasks.\n"
    "\n"
    "Options:\n"
    "  --from D1         first logical date (YYYY-MM-DD)\n"
    "  --to D2           last logical date (YYYY-MM-DD)\n"
    "  --parallel N      task slots (default 2, the machine's usual cores)\n"
    "  --from-scratch    rerun every task of every date\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 when every date succeeded, 1 otherwise.\n"
    "\n"
    "Example:\n"
    "  txnflow backfill --from 2025-09-01 --to 2025-09-11 --parallel 2\n";

int cmd_backfill(int argc, char **argv, txf_ctx *ctx) {
  static const struct option opts[] = {
      {"from", required_argument, 0, 'f'},
      {"to", required_argument, 0, 't'},
      {"parallel", required_argument, 0, 'p'},
      {"from-scratch", no_argument, 0, 's'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  txf_date from, to;
  int have_from = 0, have_to = 0, from_scratch = 0;
  uint64_t parallel = 2;
  int c;
  while ((c = txf_cli_getopt("backfill", argc, argv, ":h", opts)) != -1) {
    switch (c) {
    case 'f':
      if (txf_cli_parse_date("backfill", "--from", optarg, &from))
        return TXF_EXIT_USAGE;
      have_from = 1;
      break;
    case 't':
      if (txf_cli_parse_date("backfill", "--to", optarg, &to))
        return TXF_EXIT_USAGE;
      have_to = 1;
      break;
    case 'p':
      if (txf_parse_u64(optarg, &parallel) || parallel < 1 || parallel > 64)
        return txf_cli_usage_error("backfill",
                                   "--parallel: '%s' is not 1..64", optarg);
      break;
    case 's':
      from_scratch = 1;
      break;
    case 'h':
      return txf_cli_help(usage);
    default:
      return TXF_EXIT_USAGE;
    }
  }
  if (optind != argc)
    return txf_cli_usage_error("backfill", "unexpected argument '%s'",
                               argv[optind]);
  if (!have_from || !have_to)
    return txf_cli_usage_error("backfill", "--from D1 and --to D2 are required");
  if (to.days < from.days)
    return txf_cli_usage_error("backfill", "--to is before --from");
  if (to.days - from.days >= 3660)
    return txf_cli_usage_error("backfill", "range too long (10 years at most)");
  size_t n = (size_t)(to.days - from.days + 1);
  txf_date *dates = txf_xcalloc(n, sizeof *dates);
  for (size_t i = 0; i < n; i++)
    dates[i].days = from.days + (int32_t)i;
  txf_orch_cli oc;
  int ec = txf_orch_cli_open(&oc, ctx, "backfill", 0);
  if (ec) {
    free(dates);
    return ec;
  }
  txf_orch_opts o = {(int)parallel, from_scratch, "backfill"};
  txf_orch_summary sum;
  txf_err err;
  txf_err_clear(&err);
  int64_t t0 = txf_mono_us();
  int rc = txf_orch_execute(&oc.env, dates, n, &o, &sum, &err);
  int64_t t1 = txf_mono_us();
  txf_orch_cli_close(&oc);
  free(dates);
  if (rc)
    return txf_cli_fail("backfill", &err);
  char d[32];
  printf("backfill: %zu date(s): %d succeeded, %d already done, %d failed "
         "in %s\n",
         n, sum.n_success, sum.n_skipped, sum.n_failed,
         txf_duration_format(t1 - t0, d));
  if (sum.interrupted) {
    fprintf(stderr, "txnflow backfill: interrupted; run it again to resume\n");
    return TXF_EXIT_FAIL;
  }
  if (sum.n_failed) {
    fprintf(stderr, "txnflow backfill: failed: %s\n", sum.first_failure);
    return TXF_EXIT_FAIL;
  }
  return TXF_EXIT_OK;
}
