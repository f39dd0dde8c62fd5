/* Alerts: a user's shell command (e.g. a script posting to a webhook with
 * curl), run with the run's details in TXNFLOW_* variables, and recorded
 * in the alerts table. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "orchestrate/orchestrate.h"

#define ALERT_TIMEOUT_US (30 * TXF_US_PER_S)
#define ALERT_OUTPUT_MAX 4096

int txf_alert_send(txf_store *st, const char *command, const char *cwd,
                   const txf_alert *al, int64_t now_us, const txf_logger *log,
                   txf_err *err) {
  char tmpl[] = "/tmp/txnflow-alert-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0)
    return txf_err_errno(err, TXF_EIO, "alert: temp file");
  close(fd);
  char deadline[40] = "";
  if (al->deadline_us)
    txf_ts_format(al->deadline_us, 0, 1, deadline);
  char *vars[9];
  vars[0] = txf_xasprintf("TXNFLOW_EVENT=%s", al->event);
  vars[1] = txf_xasprintf("TXNFLOW_DATE=%s", al->date ? al->date : "");
  vars[2] = txf_xasprintf("TXNFLOW_RUN_ID=%lld", (long long)al->run_id);
  vars[3] = txf_xasprintf("TXNFLOW_TASK=%s", al->task ? al->task : "");
  vars[4] = txf_xasprintf("TXNFLOW_STATE=%s", al->state ? al->state : "");
  vars[5] = txf_xasprintf("TXNFLOW_ERROR=%s", al->error ? al->error : "");
  vars[6] = txf_xasprintf("TXNFLOW_LOG=%s", al->log_path ? al->log_path : "");
  vars[7] = txf_xasprintf("TXNFLOW_SLA_DEADLINE=%s", deadline);
  vars[8] = NULL;
  const char *argv[] = {"/bin/sh", "-c", command, NULL};
  txf_attempt a;
  txf_err serr;
  txf_err_clear(&serr);
  int rc = txf_attempt_start(&a, argv, (const char *const *)vars, cwd, tmpl,
                             ALERT_TIMEOUT_US, &serr);
  char outcome[sizeof serr.msg];
  if (rc) {
    memcpy(outcome, serr.msg, sizeof outcome);
  } else {
    while (!txf_attempt_poll(&a)) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    txf_attempt_outcome(&a, ALERT_TIMEOUT_US, outcome, sizeof outcome);
  }
  txf_buf out;
  txf_buf_init(&out, 0);
  txf_err ignored;
  if (txf_fs_read_file(tmpl, &out, &ignored)) { /* no output */ }
  unlink(tmpl);
  if (out.len > ALERT_OUTPUT_MAX) {
    out.len = ALERT_OUTPUT_MAX;
    out.data[out.len] = '\0';
  }
  int exit_status = rc ? -1
                       : (WIFEXITED(a.status) && !a.timed_out
                              ? WEXITSTATUS(a.status)
                              : -1);
  if (exit_status != 0)
    txf_log_warn(log, "alert '%s' for %s %s: %s", command, al->event,
                 al->date ? al->date : "", outcome);
  else
    txf_log_info(log, "alert sent for %s %s", al->event,
                 al->date ? al->date : "");
  for (int i = 0; vars[i]; i++)
    free(vars[i]);
  txf_meta_alert rec = {.logical_date = al->date,
                        .run_id = al->run_id,
                        .kind = al->event,
                        .command = command,
                        .sent_at_us = now_us,
                        .exit_status = exit_status,
                        .output = out.data ? out.data : ""};
  rc = txf_meta_alert_add(st, &rec, err);
  txf_buf_release(&out);
  return rc;
}
