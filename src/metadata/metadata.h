/* metadata: the SQLite database beside the data (DATA_DIR/txnflow.db) that
 * holds runs, task attempts, SLA misses, alerts, clean reconciliations,
 * partition commits, model builds, data-test results, lineage events and
 * published objects. Every number a user sees in status or the dashboard
 * comes from here or the warehouse.
 *
 * This header is the only way in: the schema and every query live in
 * src/metadata/, one file per table family (store.c: open, schema,
 * transactions; runs.c; clean.c; models.c; lineage.c; published.c), so no
 * other module writes SQL. See docs/metadata.md.
 *
 * Conventions for every call below:
 *  - Fallible calls return 0 or a TXF_E* code also stored in ERR; a
 *    failing statement is TXF_EDB with "PATH: WHAT: SQLite's message".
 *  - Strings passed in are borrowed for the call; a NULL string stores
 *    NULL. An integer column that is NULL reads (and is written) as
 *    TXF_META_NULL.
 *  - Rows come back in a list the call initialises (also when it fails);
 *    the caller releases it with the list's _release(), which frees the
 *    rows and their strings together.
 *  - Dates are "YYYY-MM-DD" in the pipeline's zone; times (*_us) are UTC
 *    microseconds since the epoch.
 *  - Calls named *_json build the dashboard's answers: JSON members named
 *    as in docs/serve.md, text that is not UTF-8 with U+FFFD. */
#ifndef TXF_METADATA_H
#define TXF_METADATA_H

#include <jansson.h>
#include <stdint.h>

#include "util/util.h"

/* An integer column that holds NULL. */
#define TXF_META_NULL INT64_MIN

typedef struct txf_store txf_store;

/* A list of rows of TYPE: V[0..N), their strings in TEXT (with the rows:
 * nothing to free one by one). Each list type has its _release(). */
#define TXF_META_LIST(type)                                                    \
  struct {                                                                     \
    type *v;                                                                   \
    size_t n;                                                                  \
    txf_arena text;                                                            \
  }

/* ---------------------------------------------------------------- store */

/* Open (creating if needed) the database at PATH with WAL journaling, a
 * busy timeout (several processes share it) and the current schema.
 * READONLY opens without creating or migrating (for the dashboard);
 * a missing file is then TXF_ENOTFOUND. Caller frees with
 * txf_store_close(). A file that is not a SQLite database is TXF_EDB. */
TXF_MUST_CHECK int txf_store_open(txf_store **out, const char *path,
                                  int readonly, txf_err *err);
/* Close S (NULL does nothing); an open transaction is rolled back. */
void txf_store_close(txf_store *s);
/* BEGIN IMMEDIATE (a write transaction, waiting for other writers up to
 * the busy timeout) / COMMIT / ROLLBACK (never fails; nothing to undo is
 * fine). */
TXF_MUST_CHECK int txf_store_begin(txf_store *s, txf_err *err);
TXF_MUST_CHECK int txf_store_commit(txf_store *s, txf_err *err);
void txf_store_rollback(txf_store *s);
/* A read transaction: every call until txf_store_commit() (or close) sees
 * the same snapshot, whatever other processes write meanwhile. */
TXF_MUST_CHECK int txf_store_begin_read(txf_store *s, txf_err *err);

/* The integer stored under KEY in the store's own key/value table: set to
 * DEF first when KEY has no value yet (the first caller wins), then read
 * into *OUT (DEF when the stored text is not there). */
TXF_MUST_CHECK int txf_meta_key_get_or_set(txf_store *s, const char *key,
                                           int64_t def, int64_t *out,
                                           txf_err *err);

/* Row counts of the tables the dashboard's summary shows. */
typedef struct txf_meta_counts {
  int64_t sla_misses, clean_runs, test_results, lineage_events;
} txf_meta_counts;
TXF_MUST_CHECK int txf_meta_counts_read(txf_store *s, txf_meta_counts *out,
                                        txf_err *err);

/* A (name, count) pair: a quarantine reason, a test status. */
typedef struct txf_meta_count {
  const char *name;
  int64_t n;
} txf_meta_count;
typedef TXF_META_LIST(txf_meta_count) txf_meta_count_list;
void txf_meta_count_list_release(txf_meta_count_list *l);

/* Names: of tasks, of partitions. */
typedef TXF_META_LIST(const char *) txf_meta_name_list;
void txf_meta_name_list_release(txf_meta_name_list *l);

/* ---------------------------------------------------------------- runs */
/* runs, task_attempts, sla_misses, alerts (written by orchestrate). */

/* A DAG run of a logical date. */
typedef struct txf_meta_run {
  int64_t run_id;
  const char *logical_date;
  const char *kind;  /* manual | scheduled | backfill | revert */
  const char *state; /* queued | running | success | failed | interrupted */
  int64_t started_at_us, ended_at_us, sla_deadline_us; /* or TXF_META_NULL */
  const char *error;                                   /* or NULL */
  int sla_missed;               /* an SLA miss is recorded for the date */
  int64_t sla_miss_deadline_us; /* its deadline, or TXF_META_NULL */
} txf_meta_run;
typedef TXF_META_LIST(txf_meta_run) txf_meta_run_list;
void txf_meta_run_list_release(txf_meta_run_list *l);

/* Which logical dates txf_meta_runs_latest() answers for. */
typedef struct txf_meta_runs_query {
  const char *from, *to; /* inclusive bounds; NULL: unbounded */
  const char *state;     /* only latest runs in this state, or
                            "sla_missed": only dates with an SLA miss;
                            NULL: all */
  int64_t limit;         /* at most this many dates; negative: all */
  int ascending;         /* oldest date first; else newest first */
  /* "the latest run" among the runs of other kinds (the daily runs:
   * "revert"); NULL: all */
  const char *except_kind;
} txf_meta_runs_query;

/* The latest run (greatest run_id) of each logical date of Q, in date
 * order. The one query for "the run of a date": status, the scheduler, the
 * executor and the dashboard all read runs through it. */
TXF_MUST_CHECK int txf_meta_runs_latest(txf_store *s,
                                        const txf_meta_runs_query *q,
                                        txf_meta_run_list *out, txf_err *err);
/* txf_meta_runs_latest() for the one date DATE: OUT holds 0 or 1 runs. */
TXF_MUST_CHECK int txf_meta_run_latest(txf_store *s, const char *date,
                                       txf_meta_run_list *out, txf_err *err);
/* txf_meta_run_latest() among DATE's runs whose kind is not EXCEPT_KIND:
 * the daily DAG's latest run, a revert's runs aside (the executor and the
 * scheduler, docs/orchestration.md "Revert"). */
TXF_MUST_CHECK int txf_meta_run_latest_except(txf_store *s, const char *date,
                                              const char *except_kind,
                                              txf_meta_run_list *out,
                                              txf_err *err);

/* A new run of DATE, state 'queued', by process PID; SLA_DEADLINE_US 0
 * when the DAG has no SLA. *RUN_ID gets its id. */
TXF_MUST_CHECK int txf_meta_run_begin(txf_store *s, const char *date,
                                      const char *kind, int64_t started_at_us,
                                      int64_t sla_deadline_us, int64_t pid,
                                      int64_t *run_id, txf_err *err);
/* Take RUN_ID up again in process PID: 'queued', no end, no error. */
TXF_MUST_CHECK int txf_meta_run_resume(txf_store *s, int64_t run_id,
                                       int64_t pid, txf_err *err);
/* RUN_ID's first task starts: 'running'. */
TXF_MUST_CHECK int txf_meta_run_start(txf_store *s, int64_t run_id,
                                      txf_err *err);
/* RUN_ID ends in STATE at ENDED_AT_US with ERROR (NULL: none). */
TXF_MUST_CHECK int txf_meta_run_finish(txf_store *s, int64_t run_id,
                                       const char *state, int64_t ended_at_us,
                                       const char *error, txf_err *err);
/* What a dead runner of DATE left: its attempts still 'running' become
 * 'failed' at NOW_US ("abandoned: its runner (pid N) died"), its runs
 * 'running' or 'queued' become 'interrupted'. Call with DATE's lock held
 * (and after txf_meta_attempts_running(), to kill what is left). */
TXF_MUST_CHECK int txf_meta_runs_abandon(txf_store *s, const char *date,
                                         int64_t now_us, txf_err *err);

/* One attempt of a task in a run; attempt 0 with state 'skipped' is the
 * marker of a task that was not run. */
typedef struct txf_meta_attempt {
  int64_t attempt_id, run_id;
  const char *logical_date; /* of its run; txf_meta_attempt_get() only */
  const char *task;
  int attempt;
  const char *state; /* running | success | failed | up_for_retry | skipped */
  int64_t pid;       /* its process group, or TXF_META_NULL */
  int64_t started_at_us, ended_at_us, exit_status, retry_at_us; /* or NULL */
  const char *error, *log_path;                                 /* or NULL */
  int64_t max_rss_kb, cpu_us; /* what its process used, or NULL */
} txf_meta_attempt;
typedef TXF_META_LIST(txf_meta_attempt) txf_meta_attempt_list;
void txf_meta_attempt_list_release(txf_meta_attempt_list *l);

/* Record attempt A: its run_id, task, attempt, state, pid, started_at_us,
 * ended_at_us, log_path and error (the other fields are ignored). *ID (may
 * be NULL) gets its attempt_id. */
TXF_MUST_CHECK int txf_meta_attempt_begin(txf_store *s,
                                          const txf_meta_attempt *a,
                                          int64_t *id, txf_err *err);
/* ID ends in STATE at ENDED_AT_US; EXIT_STATUS and RETRY_AT_US may be
 * TXF_META_NULL, ERROR NULL. */
TXF_MUST_CHECK int
txf_meta_attempt_finish(txf_store *s, int64_t id, const char *state,
                        int64_t ended_at_us, int64_t exit_status,
                        const char *error, int64_t retry_at_us, txf_err *err);
/* What attempt ID's process used: its peak resident memory and CPU. */
TXF_MUST_CHECK int txf_meta_attempt_usage(txf_store *s, int64_t id,
                                          int64_t max_rss_kb, int64_t cpu_us,
                                          txf_err *err);
/* Attempt ID with its run's logical date: OUT holds 0 or 1 attempts. */
TXF_MUST_CHECK int txf_meta_attempt_get(txf_store *s, int64_t id,
                                        txf_meta_attempt_list *out,
                                        txf_err *err);
/* The number the next attempt of TASK on DATE takes: 1 + the greatest so
 * far over all of DATE's runs (1 when none). */
TXF_MUST_CHECK int txf_meta_attempt_next_no(txf_store *s, const char *date,
                                            const char *task, int *out,
                                            txf_err *err);
/* *YES = 1 when TASK has a successful attempt in RUN_ID. */
TXF_MUST_CHECK int txf_meta_attempt_succeeded(txf_store *s, int64_t run_id,
                                              const char *task, int *yes,
                                              txf_err *err);
/* The latest attempt (by attempt_id) of TASK in STATE over DATE's runs:
 * OUT holds 0 or 1 attempts. */
TXF_MUST_CHECK int txf_meta_attempt_last(txf_store *s, const char *date,
                                         const char *task, const char *state,
                                         txf_meta_attempt_list *out,
                                         txf_err *err);
/* The attempts of DATE's runs still marked 'running' (their pids are
 * process groups that may still live). */
TXF_MUST_CHECK int txf_meta_attempts_running(txf_store *s, const char *date,
                                             txf_meta_attempt_list *out,
                                             txf_err *err);
/* The attempts of RUN_ID (only TASK's when TASK is not NULL), by
 * attempt_id, or by (task, attempt) with BY_TASK. */
TXF_MUST_CHECK int txf_meta_attempts_of_run(txf_store *s, int64_t run_id,
                                            const char *task, int by_task,
                                            txf_meta_attempt_list *out,
                                            txf_err *err);
/* For each (run, task) with RUN_LO <= run_id <= RUN_HI, its attempt with
 * the greatest number (attempt = that number), by (run_id, task). */
TXF_MUST_CHECK int txf_meta_attempts_latest(txf_store *s, int64_t run_lo,
                                            int64_t run_hi,
                                            txf_meta_attempt_list *out,
                                            txf_err *err);
/* Every task name that has an attempt, in order of its first attempt. */
TXF_MUST_CHECK int txf_meta_task_names(txf_store *s, txf_meta_name_list *out,
                                       txf_err *err);

/* *DUE = 1 when DATE has no SLA miss recorded and none of its runs
 * succeeded by DEADLINE_US. */
TXF_MUST_CHECK int txf_meta_sla_due(txf_store *s, const char *date,
                                    int64_t deadline_us, int *due,
                                    txf_err *err);
/* Record DATE's SLA miss once (RUN_ID 0: no run); *ADDED = 1 only for the
 * caller that inserted it, so one of several schedulers alerts. */
TXF_MUST_CHECK int txf_meta_sla_miss_add(txf_store *s, const char *date,
                                         int64_t run_id, int64_t deadline_us,
                                         int64_t detected_at_us, int *added,
                                         txf_err *err);

/* An alert command that was run. */
typedef struct txf_meta_alert {
  const char *logical_date; /* or NULL */
  int64_t run_id;           /* 0: none */
  const char *kind;         /* "failure" | "sla_miss" */
  const char *command;
  int64_t sent_at_us;
  int exit_status; /* -1: did not exit normally */
  const char *output;
} txf_meta_alert;
TXF_MUST_CHECK int txf_meta_alert_add(txf_store *s, const txf_meta_alert *a,
                                      txf_err *err);

/* ---------------------------------------------------------------- clean */
/* clean_runs, quarantine_counts, partition_commits (written by clean). */

/* A clean of an ingestion date. Counts are 0 when not recorded (a failed
 * clean records none). */
typedef struct txf_meta_clean_run {
  int64_t clean_id;
  const char *ingest_date;
  const char *state; /* success | failed | reverted (txnflow revert: the
                        batch left the lake; recording: NULL is success) */
  int64_t started_at_us, ended_at_us;
  int64_t lines_read, inserted, updated, duplicates, stale, quarantined;
  int64_t ties, partitions_rewritten;
  const char *details_json; /* the clean's report, or NULL */
  const char *error;        /* or NULL */
} txf_meta_clean_run;
typedef TXF_META_LIST(txf_meta_clean_run) txf_meta_clean_run_list;
void txf_meta_clean_run_list_release(txf_meta_clean_run_list *l);

/* A silver partition a clean wrote. */
typedef struct txf_meta_partition_commit {
  const char *partition;
  int64_t n_rows;
  int64_t size_bytes; /* or TXF_META_NULL */
  const char *sha256; /* or NULL */
  int64_t committed_at_us;
} txf_meta_partition_commit;

/* Record the successful clean RUN (ingest_date, times, counts,
 * partitions_rewritten, details_json) with its quarantine counts REASONS
 * and its partitions COMMITS, in one transaction, unless a clean whose
 * report (details_json) carries the run id RUN_ID is recorded already:
 * recovery may record the same clean twice. */
TXF_MUST_CHECK int txf_meta_clean_record(
    txf_store *s, const char *run_id, const txf_meta_clean_run *run,
    const txf_meta_count *reasons, size_t n_reasons,
    const txf_meta_partition_commit *commits, size_t n_commits, txf_err *err);
/* Record a failed clean of DATE (no counts), so status shows it. */
TXF_MUST_CHECK int txf_meta_clean_failed(txf_store *s, const char *date,
                                         int64_t started_at_us,
                                         int64_t ended_at_us, const char *error,
                                         txf_err *err);

/* Which successful cleans txf_meta_clean_runs_succeeded() lists. */
typedef struct txf_meta_clean_query {
  const char *from, *to; /* inclusive ingestion dates; NULL: unbounded */
  int latest_only;       /* only each date's latest successful clean */
} txf_meta_clean_query;
/* Successful cleans of Q, by (ingest_date, clean_id); a clean that a
 * later revert of its date undid is not one. */
TXF_MUST_CHECK int txf_meta_clean_runs_succeeded(txf_store *s,
                                                 const txf_meta_clean_query *q,
                                                 txf_meta_clean_run_list *out,
                                                 txf_err *err);
/* The latest clean of DATE, whatever its state: OUT holds 0 or 1. */
TXF_MUST_CHECK int txf_meta_clean_latest(txf_store *s, const char *date,
                                         txf_meta_clean_run_list *out,
                                         txf_err *err);
/* The report of DATE's latest successful clean that started within [T0_US,
 * T1_US]: *DETAILS_JSON (caller frees) or NULL when none. */
TXF_MUST_CHECK int txf_meta_clean_details_between(txf_store *s,
                                                  const char *date,
                                                  int64_t t0_us, int64_t t1_us,
                                                  char **details_json,
                                                  txf_err *err);
/* What clean CLEAN_ID committed: *N_FILES partitions, *SIZE_BYTES their
 * size in all (TXF_META_NULL when none has one). */
TXF_MUST_CHECK int txf_meta_clean_commit_totals(txf_store *s, int64_t clean_id,
                                                int64_t *n_files,
                                                int64_t *size_bytes,
                                                txf_err *err);
/* The partitions the latest successful clean of DATE committed, distinct
 * and sorted; *FOUND = 0 when DATE has no successful clean. */
TXF_MUST_CHECK int txf_meta_clean_partitions(txf_store *s, const char *date,
                                             int *found,
                                             txf_meta_name_list *out,
                                             txf_err *err);
/* The lake's row counts: lines read by the latest clean of each ingestion
 * date, and rows in the latest commit of each partition (TXF_META_NULL
 * when there is none). */
TXF_MUST_CHECK int txf_meta_lake_rows(txf_store *s, int64_t *bronze_lines,
                                      int64_t *silver_rows, txf_err *err);

/* The dashboard's reconciliation: the cleans of ingestion dates in [FROM,
 * TO], newest first, at most LIMIT, each with "holds" (the equation),
 * "quarantined_by_reason" and "partitions", appended to the array OUT. */
TXF_MUST_CHECK int txf_meta_clean_runs_json(txf_store *s, const char *from,
                                            const char *to, int64_t limit,
                                            json_t *out, txf_err *err);
/* The dashboard's lake: each partition as its latest commit left it
 * (newest partition first; "ingest_date" of the clean that wrote it) into
 * PARTS; the quarantine of each date's latest clean summed by reason into
 * REASONS and per date into BY_DATE (arrays, appended to). */
TXF_MUST_CHECK int txf_meta_lake_json(txf_store *s, json_t *parts,
                                      json_t *reasons, json_t *by_date,
                                      txf_err *err);

/* ---------------------------------------------------------------- models */
/* model_builds, test_results (written by models). */

typedef struct txf_meta_model_build {
  int64_t build_id;
  const char *invocation_id, *model, *materialized, *state;
  int64_t n_rows; /* or TXF_META_NULL */
  int64_t started_at_us, duration_us;
  const char *error, *logical_date; /* or NULL */
} txf_meta_model_build;
typedef TXF_META_LIST(txf_meta_model_build) txf_meta_model_build_list;
void txf_meta_model_build_list_release(txf_meta_model_build_list *l);

typedef struct txf_meta_test_result {
  int64_t result_id;
  const char *invocation_id, *model, *test_name, *severity;
  const char *status; /* pass | fail | warn | error */
  int64_t failures;   /* or TXF_META_NULL */
  const char *sample_json, *message;
  int64_t started_at_us, duration_us;
  const char *logical_date;
} txf_meta_test_result;
typedef TXF_META_LIST(txf_meta_test_result) txf_meta_test_result_list;
void txf_meta_test_result_list_release(txf_meta_test_result_list *l);

/* Record a model build B / a test result R (their ids are ignored). */
TXF_MUST_CHECK int txf_meta_model_build_add(txf_store *s,
                                            const txf_meta_model_build *b,
                                            txf_err *err);
TXF_MUST_CHECK int txf_meta_test_result_add(txf_store *s,
                                            const txf_meta_test_result *r,
                                            txf_err *err);
/* The latest build of each model: of the builds for DATE, by model name;
 * or, DATE NULL, of all builds, by build_id. */
TXF_MUST_CHECK int txf_meta_model_builds_latest(txf_store *s, const char *date,
                                                txf_meta_model_build_list *out,
                                                txf_err *err);
/* The tests run on MODEL in the invocation INVOCATION_ID (NULL matches
 * NULL), by result_id. */
TXF_MUST_CHECK int txf_meta_test_results_of(txf_store *s, const char *model,
                                            const char *invocation_id,
                                            txf_meta_test_result_list *out,
                                            txf_err *err);
/* The latest result of each (model, test), by test name. */
TXF_MUST_CHECK int txf_meta_test_results_latest(txf_store *s,
                                                txf_meta_test_result_list *out,
                                                txf_err *err);
/* The results of the latest invocation (that of the latest result) counted
 * by status, by status name. */
TXF_MUST_CHECK int txf_meta_test_status_counts(txf_store *s,
                                               txf_meta_count_list *out,
                                               txf_err *err);

/* Record that the models invocation INVOCATION_ID stood for the logical
 * dates DATES (N of them, "YYYY-MM-DD"): a batched backfill build runs once
 * for several dates, and its results count for each. */
TXF_MUST_CHECK int txf_meta_invocation_dates_add(txf_store *s,
                                                 const char *invocation_id,
                                                 const char *const *dates,
                                                 size_t n, txf_err *err);

/* The dashboard's quality page over the logical dates [FROM, TO] (an
 * empty FROM is the 31st latest date with results, an empty TO no end;
 * both are filled in): per date [date, pass, fail+error, warn] into
 * BY_DATE, each test counted once per date, by its last result among the
 * invocations that stood for that date (txf_meta_invocation_dates_add;
 * else the result's own logical date); per
 * (model, test) {model, test, results, latest} with its last PER_TEST
 * results [result_id, date, status, failures] oldest first into TESTS;
 * the latest results counted by status into the object COUNTS (members
 * "pass", "fail", "warn", "error", incremented). */
TXF_MUST_CHECK int txf_meta_quality_json(txf_store *s, char from[11],
                                         char to[11], int64_t per_test,
                                         json_t *by_date, json_t *tests,
                                         json_t *counts, txf_err *err);
/* Test result ID with its failing-row sample parsed ("sample": JSON, or
 * the stored text when it is not JSON): *OUT (caller owns) or NULL when
 * there is no such result. */
TXF_MUST_CHECK int txf_meta_test_sample_json(txf_store *s, int64_t id,
                                             json_t **out, txf_err *err);

/* ---------------------------------------------------------------- lineage */
/* lineage_events (OpenLineage, written by lineage). */

/* Record one event: PAYLOAD_JSON is the event; time, type, job and run
 * id repeat its fields for the queries. */
TXF_MUST_CHECK int txf_meta_lineage_add(txf_store *s, int64_t event_time_us,
                                        const char *event_type, const char *job,
                                        const char *run_uuid,
                                        const char *payload_json, txf_err *err);
/* Called for each event's JSON (borrowed for the call); nonzero stops. */
typedef int (*txf_meta_text_sink)(void *arg, const char *text, txf_err *err);
/* Hand each event with event time >= SINCE_US to SINK, in (event time,
 * event_id) order; *N_OUT (may be NULL) gets how many it took. A sink's
 * nonzero return stops and is returned. */
TXF_MUST_CHECK int txf_meta_lineage_each(txf_store *s, int64_t since_us,
                                         txf_meta_text_sink sink, void *arg,
                                         int64_t *n_out, txf_err *err);
/* The dashboard's events: the latest LIMIT (newest first), without their
 * payload, appended to the array OUT. */
TXF_MUST_CHECK int txf_meta_lineage_events_json(txf_store *s, int64_t limit,
                                                json_t *out, txf_err *err);

/* ---------------------------------------------------------------- published */
/* published_objects (written by publish and the warehouse load). */

/* The SHA-256 and size of what is recorded as published at (TARGET, KEY):
 * returns 1 and fills SHA (empty when NULL) and *SIZE (0 when NULL), or 0
 * when nothing is recorded — also when it cannot be read: the object is
 * then published again, which is safe. */
int txf_meta_published_get(txf_store *s, const char *target, const char *key,
                           char sha[65], uint64_t *size);
/* Record (or replace) the object at (TARGET, KEY). */
TXF_MUST_CHECK int txf_meta_published_put(txf_store *s, const char *target,
                                          const char *key, const char *sha256,
                                          uint64_t size_bytes,
                                          int64_t published_at_us,
                                          txf_err *err);
/* Forget the object at (TARGET, KEY). */
TXF_MUST_CHECK int txf_meta_published_forget(txf_store *s, const char *target,
                                             const char *key, txf_err *err);

/* What TARGET holds, key by key. */
typedef struct txf_meta_published {
  const char *key;
  const char *sha256; /* or NULL; for txf_meta_published_sync(): NULL
                         means the key is gone */
} txf_meta_published;
typedef TXF_META_LIST(txf_meta_published) txf_meta_published_list;
void txf_meta_published_list_release(txf_meta_published_list *l);
/* Every object recorded for TARGET, by key. */
TXF_MUST_CHECK int txf_meta_published_list_read(txf_store *s,
                                                const char *target,
                                                txf_meta_published_list *out,
                                                txf_err *err);
/* Apply CHANGES to TARGET's record in one transaction: a key with a sha256
 * is recorded at PUBLISHED_AT_US (with no size; one recorded before is
 * kept), a key without one is forgotten. */
TXF_MUST_CHECK int txf_meta_published_sync(txf_store *s, const char *target,
                                           const txf_meta_published *changes,
                                           size_t n, int64_t published_at_us,
                                           txf_err *err);

/* ---------------------------------------------------------------- any file */

/* One value of txf_meta_file_each_value(): TABLE's COLUMN in the ROW-th
 * row (1-based, in the table's order), as text of LEN bytes (borrowed for
 * the call; any bytes; a BLOB's bytes as they are). */
typedef int (*txf_meta_value_fn)(void *ud, const char *table,
                                 const char *column, int64_t row,
                                 const char *text, size_t len, txf_err *err);
/* Open the SQLite database file PATH (any, not only txnflow.db) read-only
 * and call FN with every non-NULL value of every column of every table
 * (sqlite_master's tables, in name order), for a scan of what the file
 * holds. A non-zero return from FN stops the walk and is returned. A file
 * that is not a database is TXF_EDB. */
TXF_MUST_CHECK int txf_meta_file_each_value(const char *path,
                                            txf_meta_value_fn fn, void *ud,
                                            txf_err *err);

#endif /* TXF_METADATA_H */
