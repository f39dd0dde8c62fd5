/* txnflow scheduler: the foreground daemon. */
#include <stdlib.h>
#include <string.h>

#include "cli/orch_cli.h"

TXF_COMMAND(scheduler, "run the daily schedule: catch-up, retries, SLA");

static const char usage[] =
    "usage: txnflow scheduler [--once] [--now TIMESTAMP]\n"
    "\n"
    "Run in the foreground (systemd-friendly: logs to stderr, exits cleanly\n"
    "on SIGTERM) and start the run of each logical date when it is due: D\n"
    "is due at the first fire of `schedule` (cron, in the project's time\n"
    "zone) on D+1. Missed dates are caught up in order when `catchup` is\n"
    "on; a run not successful by its `sla` time on D+1 is recorded once as\n"
    "an SLA miss and `on_sla_miss` is run. After a crash or kill -9, runs\n"
    "left unfinished are resumed (their abandoned attempts marked failed\n"
    "and retried). Once a day, after the day's run, it applies the\n"
    "retention: of txnflow.yml with `txnflow lake vacuum`, recorded as the\n"
    "task 'vacuum' of that run (retention.vacuum: off stops it). State\n"
    "lives in the metadata database.\n"
    "\n"
    "Options:\n"
    "  --once            run what is due now (catch-up included), wait for\n"
    "                    it, check SLAs, and exit\n"
    "  --now TIMESTAMP   pretend the clock starts at TIMESTAMP (ISO 8601 with\n"
    "                    offset); it then advances in real time (tests)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Example:\n"
    "  txnflow scheduler --once --now 2025-09-04T06:30:00+09:00\n";

int cmd_scheduler(int argc, char **argv, txf_ctx *ctx) {
  int once = 0;
  int64_t now_us = 0;
  const txf_cli_option opts[] = {TXF_OPT_FLAG(0, "once", &once),
                                 TXF_OPT_TIME(0, "now", &now_us, "TS"),
                                 TXF_OPT_END};
  int ec = txf_cli_options_parse("scheduler", usage, opts,
                                 TXF_CLI_NO_OPERANDS, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  txf_orch_cli oc;
  ec = txf_orch_cli_open(&oc, ctx, "scheduler", now_us);
  if (ec)
    return ec;
  /* A daemon's log lines need their time. */
  ctx->log.timestamps = 1;
  txf_sched_opts so = {once, 0, now_us != 0 || ctx->pinned_now_us != 0};
  txf_err err;
  txf_err_clear(&err);
  int rc = txf_sched_loop(&oc.env, &so, &err);
  txf_orch_cli_close(&oc);
  if (rc)
    return txf_cli_fail("scheduler", &err);
  return TXF_EXIT_OK;
}
