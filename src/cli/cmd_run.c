/* txnflow run: the DAG of one logical date. */
#include <stdlib.h>
#include <string.h>

#include "cli/orch_cli.h"

TXF_COMMAND(run, "run the daily DAG for one logical date");

static const char usage[] =
    "usage: txnflow run --date D [--from-scratch | --regenerate] [--kind KIND]\n"
    "                   [--json]\n"
    "\n"
    "Run the DAG of logical date D: generate (synthetic feed) or wait for\n"
    "the landed batch (landed feed), clean, models build, and publish when\n"
    "configured. Each task attempt runs as a child process with its own log\n"
    "(DATA/logs/D/TASK/attempt-N.log), a timeout and retries with backoff;\n"
    "every attempt is recorded in the metadata database (txnflow status).\n"
    "A date whose last run failed resumes at the failed task; a date that\n"
    "already succeeded is left alone unless --from-scratch. A bronze batch\n"
    "that exists is never replaced (generate keeps it) unless --regenerate.\n"
    "Only one run of a date at a time: a second one fails at once.\n"
    "\n"
    "Options:\n"
    "  --date D          the logical date (YYYY-MM-DD), required\n"
    "  --from-scratch    start a new run of every task, even finished ones\n"
    "                    (an existing bronze batch is kept and cleaned again)\n"
    "  --regenerate      replace D's synthetic bronze batch (generate --force,\n"
    "                    with the project's feed settings), then clean it again\n"
    "                    and rebuild everything downstream (implies\n"
    "                    --from-scratch)\n"
    "  --kind KIND       recorded run kind: manual (default), scheduled or\n"
    "                    backfill\n"
    "  --json            print a JSON summary on stdout instead: counts,\n"
    "                    elapsed time, and D's run (run id, state, each\n"
    "                    task's state, attempts and durations) as in\n"
    "                    'txnflow status --json'\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 when the run succeeded, 1 when it failed or another\n"
    "run of D is in progress.\n"
    "\n"
    "Example:\n"
    "  txnflow run --date 2025-09-01\n"
    "  txnflow run --date 2025-09-01 --json | jq '.runs[0].state'\n";

static void report(const txf_orch_args *a, const txf_orch_summary *sum,
                   int64_t elapsed_us, int ec) {
  (void)elapsed_us;
  char ds[11];
  txf_date_format(a->dates[0], ds);
  if (sum->interrupted)
    fprintf(stderr, "txnflow run: %s: interrupted; run it again to resume\n",
            ds);
  else if (sum->n_failed)
    fprintf(stderr, "txnflow run: %s: failed: %s\n", ds, sum->first_failure);
  else if (a->json)
    ; /* the JSON says it */
  else if (sum->n_skipped)
    printf("%s: already succeeded; nothing to do (--from-scratch reruns)\n",
           ds);
  else if (ec == TXF_EXIT_OK)
    printf("%s: success\n", ds);
}

int cmd_run(int argc, char **argv, txf_ctx *ctx) {
  return txf_orch_cli_main(argc, argv, ctx, "run", usage,
                           TXF_ORCH_OPT_DATE | TXF_ORCH_OPT_KIND |
                               TXF_ORCH_OPT_FROM_SCRATCH |
                               TXF_ORCH_OPT_REGENERATE | TXF_ORCH_OPT_JSON,
                           report);
}
