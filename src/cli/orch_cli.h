/* Shared set-up of the orchestration commands (run, backfill, scheduler):
 * the project, its DAG, the metadata store, the clock and SIGTERM. */
#ifndef TXF_ORCH_CLI_H
#define TXF_ORCH_CLI_H

#include <jansson.h>

#include "cli/cli.h"
#include "orchestrate/orchestrate.h"

typedef struct txf_orch_cli {
  txf_orch_env env;
  txf_dag *dag;
  txf_store *store;
  char *data_dir;
  txf_clock clock;
} txf_orch_cli;

/* Load everything for command CMD; on failure prints the error and returns
 * the exit status (nonzero), with nothing left to free. NOW_US pins the
 * start of the clock (0: TXNFLOW_NOW or the wall clock). SIGTERM/SIGINT
 * then set env.stop. */
int txf_orch_cli_open(txf_orch_cli *oc, txf_ctx *ctx, const char *cmd,
                      int64_t now_us);
void txf_orch_cli_close(txf_orch_cli *oc);

/* The options of `run` and `backfill`. */
enum {
  TXF_ORCH_OPT_DATE = 1 << 0,         /* --date D */
  TXF_ORCH_OPT_RANGE = 1 << 1,        /* --from D1 --to D2 */
  TXF_ORCH_OPT_PARALLEL = 1 << 2,     /* --parallel N */
  TXF_ORCH_OPT_KIND = 1 << 3,         /* --kind manual|scheduled|backfill */
  TXF_ORCH_OPT_FROM_SCRATCH = 1 << 4, /* --from-scratch */
  TXF_ORCH_OPT_JSON = 1 << 5,         /* --json */
  TXF_ORCH_OPT_REGENERATE = 1 << 6,   /* --regenerate */
};

typedef struct txf_orch_args {
  txf_date *dates; /* ascending */
  size_t n_dates;
  int parallel; /* default 1 (run) or 2 (backfill) */
  int from_scratch;
  int regenerate;   /* --regenerate: replace the synthetic batches (implies
                       from_scratch) */
  int json;         /* --json: a JSON summary on stdout */
  const char *kind; /* borrowed from argv or static */
} txf_orch_args;

/* Tell the user how A's dates went (the executor ran them): SUM, the
 * ELAPSED_US it took and EC, the exit status. Called before A is freed. */
typedef void (*txf_orch_cli_report)(const txf_orch_args *a,
                                    const txf_orch_summary *sum,
                                    int64_t elapsed_us, int ec);

/* The whole of `run` and `backfill`: parse ARGV for command CMD accepting
 * the options in the mask ACCEPT (plus -h/--help, which prints USAGE), run
 * the executor over the dates with the project's DAG, then with --json
 * print the JSON summary on stdout (docs/orchestration.md: the counts, the
 * elapsed time and the latest run of each date, oldest first, as
 * txf_orch_cli_runs_json) and call REPORT. An error (usage, the project, a
 * lock held, metadata) is printed as "txnflow CMD: ..." and REPORT is not
 * called; task failures are not printed but counted in the summary, for
 * REPORT. Returns the exit status: 0 when every date succeeded (or had
 * already; help), 1 otherwise, 2 on a usage error. */
int txf_orch_cli_main(int argc, char **argv, txf_ctx *ctx, const char *cmd,
                      const char *usage, unsigned accept,
                      txf_orch_cli_report report);

/* The latest run of each logical date in [FROM, TO] ("YYYY-MM-DD"; NULL:
 * unbounded), at most LAST dates (0: all), newest first unless ASCENDING,
 * each with its tasks and their attempts, appended to the JSON array OUT:
 * the objects of `txnflow status --json` (docs/orchestration.md). NOW is
 * the end of durations still running. */
TXF_MUST_CHECK int txf_orch_cli_runs_json(txf_store *st, const char *from,
                                          const char *to, uint64_t last,
                                          int ascending, int64_t now,
                                          json_t *out, txf_err *err);

#endif /* TXF_ORCH_CLI_H */
