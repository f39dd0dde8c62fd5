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

/* The options of `run` and `backfill`, parsed once for both. */
enum {
  TXF_ORCH_OPT_DATE = 1 << 0,         /* --date D */
  TXF_ORCH_OPT_RANGE = 1 << 1,        /* --from D1 --to D2 */
  TXF_ORCH_OPT_PARALLEL = 1 << 2,     /* --parallel N */
  TXF_ORCH_OPT_KIND = 1 << 3,         /* --kind manual|scheduled|backfill */
  TXF_ORCH_OPT_FROM_SCRATCH = 1 << 4, /* --from-scratch */
  TXF_ORCH_OPT_JSON = 1 << 5,         /* --json */
};

typedef struct txf_orch_args {
  txf_date *dates;  /* ascending; caller frees with free() */
  size_t n_dates;
  int parallel;     /* default 1 (run) or 2 (backfill) */
  int from_scratch;
  int json;         /* --json: a JSON summary on stdout */
  const char *kind; /* borrowed from argv or static */
} txf_orch_args;

/* Parse ARGV for command CMD accepting the options in the mask ACCEPT
 * (plus -h/--help, which prints USAGE). Returns -1 when the command should
 * go on with *A filled in, else the exit status to return (help: 0, usage
 * error: 2, already printed); then nothing is left to free. */
int txf_orch_cli_parse(const char *cmd, int argc, char **argv,
                       const char *usage, unsigned accept, txf_orch_args *a);

/* Run the executor over A's dates with the project's DAG. An error (the
 * project, a lock held, metadata) is printed as "txnflow CMD: ..."; task
 * failures are not printed but counted in *SUM, which with *ELAPSED_US
 * (may be NULL) is for the caller to report. When RUNS is not NULL and
 * the executor ran, the latest run of each of A's dates is appended to it
 * (txf_orch_cli_runs_json, oldest date first). Returns the exit status: 0
 * when every date succeeded (or had already), 1 otherwise. */
int txf_orch_cli_execute(txf_ctx *ctx, const char *cmd,
                         const txf_orch_args *a, txf_orch_summary *sum,
                         int64_t *elapsed_us, json_t *runs);

/* Print the JSON summary of `run`/`backfill --json` on stdout: the counts
 * of SUM, ELAPSED_US, and RUNS (takes ownership). docs/orchestration.md. */
void txf_orch_cli_print_json(const txf_orch_args *a,
                             const txf_orch_summary *sum, int64_t elapsed_us,
                             json_t *runs);

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
