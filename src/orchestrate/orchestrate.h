/* orchestrate: the daily DAG of a logical date D and what runs it.
 *
 *   [generate | sensor] -> clean -> [load] -> models -> [publish]
 *     -> [custom tasks]
 *
 * load runs when a warehouse load is configured (load:, docs/load.md),
 * publish when publish.s3 is: a row goes down the chain and never waits
 * for a later task, so models on a PostgreSQL or Redshift target read the
 * silver that D's clean and load just wrote.
 *
 * Each task attempt is a child process (the same txnflow binary, or a
 * command from txnflow.yml) in its own process group, with its own log
 * file DATA/logs/D/TASK/attempt-N.log, a timeout that kills the whole group
 * and retries with exponential backoff. Every run and attempt is recorded
 * in the metadata store (runs, task_attempts, sla_misses, alerts).
 *
 * The executor runs one date (`txnflow run`) or many (`txnflow backfill`):
 * generate/sensor tasks of different dates run in parallel; the lake tasks
 * (clean, load, models, publish, custom) run one at a time in date order,
 * because clean of D may rewrite earlier partitions; with parallel slots,
 * one models build may stand for several dates whose cleans are done
 * (docs/orchestration.md, decision 0802). The scheduler starts the
 * executor for due dates as `txnflow run` children, watches the SLA and
 * sends alerts. */
#ifndef TXF_ORCHESTRATE_H
#define TXF_ORCHESTRATE_H

#include <signal.h>
#include <stdint.h>

#include "metadata/metadata.h"
#include "project/project.h"
#include "util/util.h"

/* ---------------------------------------------------------------- config */

typedef enum {
  TXF_TASK_GENERATE,
  TXF_TASK_SENSOR,
  TXF_TASK_CLEAN,
  TXF_TASK_LOAD,
  TXF_TASK_MODELS,
  TXF_TASK_PUBLISH,
  TXF_TASK_SCAN_PANS, /* feed.pan: scan-pans on what the run wrote */
  TXF_TASK_CUSTOM,
  TXF_TASK_REVERT /* a revert run's first task (txf_dag_revert) */
} txf_task_kind;

typedef struct txf_task_spec {
  char *name;       /* "generate", "clean", ... or a custom task's name */
  txf_task_kind kind;
  char *command;    /* `sh -c` override, or NULL for the built-in command */
  int retries;      /* extra attempts after the first */
  int64_t retry_delay_us;     /* delay before the first retry */
  double retry_backoff;       /* each further retry waits this much longer */
  int64_t max_retry_delay_us; /* cap of the delay */
  int64_t timeout_us;         /* per attempt; 0 = none */
  int parallel;     /* 1: may run beside other dates' tasks (generate, sensor) */
  int batch;        /* models: one build may stand for several dates when
                       a backfill runs with --parallel >= 2 (default: 1 for
                       the built-in command, 0 for a `command`) */
} txf_task_spec;

/* The DAG of a project: tasks in order (a chain), alert commands and the
 * sensor's settings. Strings are owned by the DAG. */
typedef struct txf_dag {
  txf_task_spec *tasks;
  size_t n_tasks;
  char *on_failure;  /* shell command or NULL */
  char *on_sla_miss; /* shell command or NULL */
  int64_t poke_interval_us;  /* landed feed: how often the sensor looks */
  int64_t sensor_timeout_us; /* landed feed: how long it waits */
  int64_t feed_rows, feed_seed;
  int32_t sla_secs;  /* seconds after local midnight of D+1, or -1 */
} txf_dag;

/* Build the DAG from P's txnflow.yml (keys: retries, retry_delay,
 * retry_backoff, max_retry_delay, timeout, tasks, on_failure, on_sla_miss,
 * feed, load, publish). TXF_ECONFIG with file:line:col for a bad value. Caller
 * frees with txf_dag_free(). */
TXF_MUST_CHECK int txf_dag_load(txf_dag **out, const txf_project *p,
                                txf_err *err);
void txf_dag_free(txf_dag *dag);
/* The chain of a revert run of batch D, from the daily DAG DAILY: the
 * task "revert" (`txnflow revert --ingest-date D --no-downstream`, with
 * the clean task's retries and timeout) in place of generate / sensor and
 * clean, then every task after clean as in DAILY (load, models, publish,
 * scan_pans, custom tasks): downstream of the revert, as of a late batch
 * (docs/orchestration.md, "Revert"). Caller frees with txf_dag_free(). */
txf_dag *txf_dag_revert(const txf_dag *daily);
/* Index of task NAME in DAG, or -1. */
int txf_dag_find(const txf_dag *dag, const char *name);

/* Format US compactly ("1.5s", "2m03s") into OUT (at least 32 bytes). */
char *txf_duration_format(int64_t us, char *out);
/* The delay before retry number N (1 = first retry) of SPEC:
 * min(retry_delay * backoff^(N-1), max_retry_delay). */
int64_t txf_task_retry_delay(const txf_task_spec *spec, int n);

/* ---------------------------------------------------------------- clock */

/* "Now" for the orchestrator: BASE_US at the moment MONO0_US was read,
 * advancing with the monotonic clock. A fake clock (--now, TXNFLOW_NOW)
 * sets BASE_US; the real one uses the wall clock. */
typedef struct txf_clock {
  int64_t base_us;
  int64_t mono0_us;
} txf_clock;

void txf_clock_init(txf_clock *c, int64_t base_us);
int64_t txf_clock_now(const txf_clock *c);

/* ---------------------------------------------------------------- locks */

/* An exclusive lock on a file, held with flock(2): released by the kernel
 * when the holder dies, so a crashed run never leaves a stale lock. The
 * file holds the holder's pid for messages. */
typedef struct txf_lock {
  int fd;      /* -1 when not held */
  char *path;
} txf_lock;

/* Try to take the lock at PATH (creating the file and its directory).
 * TXF_ELOCKED with "held by pid N" when another process holds it. */
TXF_MUST_CHECK int txf_lock_try(txf_lock *l, const char *path, txf_err *err);
/* Release (no-op when not held) and free the path. */
void txf_lock_release(txf_lock *l);
/* The path of logical date D's run lock under DATA_DIR; caller frees. */
char *txf_lock_date_path(const char *data_dir, txf_date d);
/* The path of the lake lock (clean/load/models/publish) under DATA_DIR. */
char *txf_lock_lake_path(const char *data_dir);

/* ---------------------------------------------------------------- runner */

/* One attempt of a task: a child process in its own process group, stdout
 * and stderr to LOG_PATH. */
typedef struct txf_attempt {
  pid_t pid;          /* also the process group id */
  int64_t start_mono_us;
  int64_t deadline_mono_us; /* 0 = no timeout */
  int64_t kill_at_mono_us;  /* SIGKILL after the SIGTERM grace; 0 = not yet */
  int timed_out;
  int done;
  int status;         /* wait status once done */
  int64_t max_rss_kb; /* once done: its peak resident memory (the largest
                         of it and the children it waited for) */
  int64_t cpu_us;     /* once done: user + system CPU, its children's too */
} txf_attempt;

/* Start ARGV (argv[0] a path, or "/bin/sh" for a command) with the extra
 * environment ENV ("NAME=value", NULL-terminated, may be NULL) in CWD,
 * output appended to LOG_PATH (directories created). The child gets its
 * own process group and SIGKILL when the parent dies. TIMEOUT_US 0 means
 * none. */
TXF_MUST_CHECK int txf_attempt_start(txf_attempt *a, const char *const *argv,
                                     const char *const *env, const char *cwd,
                                     const char *log_path, int64_t timeout_us,
                                     txf_err *err);
/* Check on A without blocking: reap it, and past its deadline send SIGTERM
 * to its group, then SIGKILL after a grace period. Returns 1 once A is
 * done (a->status set), else 0. */
int txf_attempt_poll(txf_attempt *a);
/* Terminate A's whole group now (SIGTERM, then SIGKILL after the grace)
 * and wait for it. */
void txf_attempt_kill(txf_attempt *a);
/* A's outcome as text: "exit 3", "killed by signal 9", "timed out after
 * 5s". OUT holds at least 64 bytes. Returns 1 for success (exit 0). */
int txf_attempt_outcome(const txf_attempt *a, int64_t timeout_us, char *out,
                        size_t n);
/* 1 when A (done) failed for good: it exited with a permanent status (2,
 * usage; 4, a bad config, model or input, a failed data test; util.h's
 * TXF_EXIT_*), so a retry would fail the same way. A timeout, a signal or
 * any other status may pass on a retry: 0. */
int txf_attempt_permanent(const txf_attempt *a);
/* The line of the log at LOG_PATH that says why its attempt failed, into
 * OUT (N bytes, at least 64; "" when the log has none): the first line
 * that reports an error ("txnflow CMD: error: WHY" gives WHY; a models
 * "ERROR" or "FAIL" line; a logged "error: ..."), else the last line of
 * output; the attempt header lines are skipped, runs of blanks squeezed
 * and the text cut to N - 1 bytes. */
void txf_attempt_error_line(const char *log_path, char *out, size_t n);
/* The report a task printed with --json into the log at LOG_PATH: the
 * first JSON object that starts a line and has the member KEY, as text
 * (caller frees), or NULL when the log has none (or cannot be read). The
 * log also holds stderr, so each candidate line is tried. */
char *txf_attempt_log_report(const char *log_path, const char *key);

/* ---------------------------------------------------------------- alerts */

typedef struct txf_alert {
  const char *event;    /* "failure" or "sla_miss" */
  const char *date;     /* logical date */
  int64_t run_id;       /* 0 when none */
  const char *task;     /* failing task or NULL */
  const char *state;    /* run state */
  const char *error;    /* or NULL */
  const char *log_path; /* of the failing attempt, or NULL */
  int64_t deadline_us;  /* SLA deadline, 0 when not an SLA alert */
} txf_alert;

/* Run COMMAND with `sh -c` in CWD with TXNFLOW_EVENT, TXNFLOW_DATE,
 * TXNFLOW_RUN_ID, TXNFLOW_TASK, TXNFLOW_STATE, TXNFLOW_ERROR, TXNFLOW_LOG,
 * TXNFLOW_SLA_DEADLINE in its environment (30 s timeout), and record it in
 * the alerts table with its exit status and output (first 4 KiB). A failing
 * alert command is recorded, logged and otherwise ignored (returns 0);
 * only a metadata error is returned. */
TXF_MUST_CHECK int txf_alert_send(txf_store *st, const char *command,
                                  const char *cwd, const txf_alert *al,
                                  int64_t now_us, const txf_logger *log,
                                  txf_err *err);

/* ---------------------------------------------------------------- executor */

typedef struct txf_orch_env {
  const txf_project *project;
  const txf_dag *dag;
  txf_store *store;
  const char *exe;      /* this binary, for built-in tasks */
  const char *data_dir; /* absolute */
  const txf_logger *log;
  const txf_clock *clock;
  volatile sig_atomic_t *stop; /* set (by a signal handler) to interrupt */
} txf_orch_env;

typedef struct txf_orch_opts {
  int parallel;      /* task slots at once (>= 1) */
  int from_scratch;  /* new runs of every task, even of dates that
                        succeeded */
  int regenerate;    /* with from_scratch: generate replaces the bronze
                        batches (--force) instead of keeping them; the
                        chain then re-cleans and rebuilds downstream */
  const char *kind;  /* "manual", "backfill", "scheduled", "revert" */
  /* revert: the dates are batches to revert and env->dag is
   * txf_dag_revert()'s chain: a date's run is a new run of kind "revert"
   * (no SLA: an operator's action, not the day's promise) or its latest
   * unfinished revert run, resumed; the models rebuild the event dates the
   * revert rewrote, as of the latest day whose daily run succeeded.
   * Otherwise revert runs are not a date's run (txf_meta_run_latest_except).
   * revert_threads: --threads of the revert task; 0: its default. */
  int revert;
  int revert_threads;
} txf_orch_opts;

typedef struct txf_orch_summary {
  int n_success;     /* dates whose run succeeded */
  int n_failed;
  int n_skipped;     /* already succeeded before; not run again */
  int interrupted;   /* stopped by *env->stop */
  char first_failure[1024]; /* "2025-09-03 clean: exit 1" */
} txf_orch_summary;

/* Run the DAG for DATES (N, ascending, distinct): take each date's lock
 * (TXF_ELOCKED naming the holder if another process runs one of them;
 * nothing is run then), mark attempts left 'running' by a dead runner as
 * failed, resume each date's latest unfinished run at its first unfinished
 * task (or start a new run), and run tasks until every date succeeds or
 * fails. A failure of D stops the lake tasks of later dates (they are
 * recorded as skipped and their runs as failed). Task failures are not
 * errors: they are counted in *SUM. Returns 0 or a TXF_E* error (locks,
 * metadata, spawning). */
TXF_MUST_CHECK int txf_orch_execute(const txf_orch_env *env,
                                    const txf_date *dates, size_t n,
                                    const txf_orch_opts *opts,
                                    txf_orch_summary *sum, txf_err *err);

/* ---------------------------------------------------------------- scheduler */

typedef struct txf_sched_opts {
  int once;              /* one pass: run what is due, wait, exit */
  int64_t tick_us;       /* idle poll interval (default 1 s) */
  int fake_clock;        /* pass the (fake) time to runs as TXNFLOW_NOW */
} txf_sched_opts;

/* The logical date D's scheduled time: the first cron fire at or after
 * local midnight of D+1 (the day D is complete). */
int64_t txf_sched_due_at(const txf_cron *c, const txf_tz *tz, txf_date d);

/* The scheduler loop (docs/orchestration.md): start `txnflow run --date D
 * --kind scheduled` for each due date (in date order, one at a time;
 * catch-up of missed dates when the project's catchup is on), resume runs
 * a crash interrupted, record SLA misses once and run on_sla_miss, until
 * *env->stop (or, with ONCE, until nothing due is left). Returns 0 or an
 * error. */
TXF_MUST_CHECK int txf_sched_loop(const txf_orch_env *env,
                                  const txf_sched_opts *opts, txf_err *err);

#endif /* TXF_ORCHESTRATE_H */
