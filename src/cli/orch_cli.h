/* Shared set-up of the orchestration commands (run, backfill, scheduler):
 * the project, its DAG, the metadata store, the clock and SIGTERM. */
#ifndef TXF_ORCH_CLI_H
#define TXF_ORCH_CLI_H

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

#endif /* TXF_ORCH_CLI_H */
