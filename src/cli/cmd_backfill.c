/* txnflow backfill: the DAG of every date in a range. */
#include <stdlib.h>
#include <string.h>

#include "cli/orch_cli.h"

TXF_COMMAND(backfill, "run the DAG for every date in a range");

static const char usage[] =
    "usage: txnflow backfill --from D1 --to D2 [--parallel N] "
    "[--from-scratch | --regenerate] [--json]\n"
    "\n"
    "Run the DAG of every logical date from D1 to D2 (inclusive). Dates\n"
    "that already succeeded are skipped, failed or interrupted ones resume\n"
    "where they stopped, so a backfill can be run again after an\n"
    "interruption. A bronze batch that exists is never replaced: generate\n"
    "keeps it, unless --regenerate. With --parallel N (default 2), up to N\n"
    "tasks run at once: the generate (or sensor) tasks of later dates run\n"
    "ahead, the cleans run one at a time in date order, and the dates\n"
    "whose clean is done share one models build (run_date the last of them,\n"
    "dates all of theirs), so the silver and the marts are the same as\n"
    "after a sequential backfill. --parallel 1 runs each date's tasks in\n"
    "turn, as the daily runs would. A failed date stops the later dates'\n"
    "lake tasks (docs/orchestration.md).\n"
    "\n"
    "Options:\n"
    "  --from D1         first logical date (YYYY-MM-DD)\n"
    "  --to D2           last logical date (YYYY-MM-DD)\n"
    "  --parallel N      task slots (default 2); 1: strictly one date after\n"
    "                    the other, one models build per date\n"
    "  --from-scratch    rerun every task of every date (existing bronze\n"
    "                    batches are kept and cleaned again)\n"
    "  --regenerate      replace each date's synthetic bronze batch\n"
    "                    (generate --force), then clean and build again\n"
    "                    (implies --from-scratch)\n"
    "  --json            print a JSON summary on stdout instead: counts,\n"
    "                    elapsed time, and each date's run (run id, state,\n"
    "                    each task's state, attempts and durations) as in\n"
    "                    'txnflow status --json', oldest date first\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 when every date succeeded, 1 otherwise.\n"
    "\n"
    "Example:\n"
    "  txnflow backfill --from 2025-09-01 --to 2025-09-11 --parallel 2\n";

static void report(const txf_orch_args *a, const txf_orch_summary *sum,
                   int64_t elapsed_us, int ec) {
  (void)ec;
  char d[32];
  if (!a->json)
    printf("backfill: %zu date(s): %d succeeded, %d already done, %d failed "
           "in %s\n",
           a->n_dates, sum->n_success, sum->n_skipped, sum->n_failed,
           txf_duration_format(elapsed_us, d));
  if (sum->interrupted)
    fprintf(stderr, "txnflow backfill: interrupted; run it again to resume\n");
  else if (sum->n_failed)
    fprintf(stderr, "txnflow backfill: failed: %s\n", sum->first_failure);
}

int cmd_backfill(int argc, char **argv, txf_ctx *ctx) {
  return txf_orch_cli_main(argc, argv, ctx, "backfill", usage,
                           TXF_ORCH_OPT_RANGE | TXF_ORCH_OPT_PARALLEL |
                               TXF_ORCH_OPT_FROM_SCRATCH |
                               TXF_ORCH_OPT_REGENERATE | TXF_ORCH_OPT_JSON,
                           report);
}
