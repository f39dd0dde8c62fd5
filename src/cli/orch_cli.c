/* Set-up shared by txnflow run, backfill and scheduler. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/orch_cli.h"

/* GLOBAL: the signal handler's only way to ask the loop to stop. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

int txf_orch_cli_open(txf_orch_cli *oc, txf_ctx *ctx, const char *cmd,
                      int64_t now_us) {
  memset(oc, 0, sizeof *oc);
  txf_err err;
  txf_err_clear(&err);
  txf_project *p;
  int rc = txf_ctx_project(ctx, &p, &err);
  if (!rc)
    rc = txf_ctx_data_dir(ctx, NULL, &oc->data_dir, &err);
  if (!rc)
    rc = txf_dag_load(&oc->dag, p, &err);
  if (!rc)
    rc = txf_ctx_open_store(ctx, oc->data_dir, &oc->store, &err);
  if (rc) {
    txf_orch_cli_close(oc);
    return txf_cli_fail(cmd, &err);
  }
  txf_clock_init(&oc->clock, now_us ? now_us : ctx->pinned_now_us);
  oc->env.project = p;
  oc->env.dag = oc->dag;
  oc->env.store = oc->store;
  oc->env.exe = ctx->exe;
  oc->env.data_dir = oc->data_dir;
  oc->env.log = &ctx->log;
  oc->env.clock = &oc->clock;
  oc->env.stop = &stop_requested;
  stop_requested = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  return 0;
}

void txf_orch_cli_close(txf_orch_cli *oc) {
  txf_store_close(oc->store);
  txf_dag_free(oc->dag);
  free(oc->data_dir);
  memset(oc, 0, sizeof *oc);
}
