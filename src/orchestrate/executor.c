/* The executor: the DAG of one or many logical dates, with task slots.
 *
 * What runs beside what (docs/orchestration.md, "Backfill"; decision 0802):
 *  - generate / sensor tasks of different dates are independent (each
 *    writes or waits for its own bronze batch) and use any free slot;
 *  - the lake tasks (clean, load, models, publish, custom) run one at a
 *    time, in date order, under the lake lock: clean of D may rewrite
 *    partitions of earlier dates and its report drives the models' dates;
 *  - with --parallel >= 2 (opts->parallel) and a batchable models task, a
 *    date whose clean (and load) is done waits at its models while later
 *    cleans and loads run, and one build stands for all the waiting dates
 *    (run_date the last, dates the union): the warehouse ends as after one
 *    build per date.
 * The chain of a date is strict: a task starts when the one before it
 * succeeded. A date that fails stops the lake tasks of later dates. */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bronze/bronze.h"
#include "lineage/lineage.h"
#include "orchestrate/orchestrate.h"

enum { T_PENDING, T_WAIT_RETRY, T_RUNNING, T_DONE, T_FAILED, T_SKIPPED };
enum { D_ACTIVE, D_SUCCESS, D_FAILED, D_ALREADY };

typedef struct tstate {
  int st;
  int tries;             /* attempts started in this invocation */
  int64_t retry_at_mono; /* T_WAIT_RETRY: not before */
  txf_attempt att;       /* T_RUNNING, process tasks */
  int64_t attempt_id;    /* the current attempt's row */
  int64_t started_us;
  char *log_path;
  int64_t sensor_deadline_mono; /* sensor: give up at */
  int64_t next_poke_mono;
  uint64_t land_sig; /* sensor with feed.landing: the files at the last
                        poke (names, sizes, times); 0 before one */
  char *land_why;    /* ... and why they were not landed then */
  size_t leader; /* a batched models attempt: index+1 of the date whose
                    process runs the build for this date too; 0 = own */
} tstate;

typedef struct dstate {
  txf_date date;
  char ds[11];
  txf_lock lock;
  int64_t run_id;
  int64_t sla_deadline_us;
  tstate *ts;
  int state; /* D_* */
  int started; /* the run is marked running */
} dstate;

typedef struct exec {
  const txf_orch_env *env;
  const txf_orch_opts *opts;
  txf_orch_summary *sum;
  dstate *ds;
  size_t n;
  txf_lock lake;   /* held while a lake task runs */
  int lake_busy;   /* index+1 of the date running a lake task */
  int lake_waiting_logged;
  int batching;    /* models of several dates may run as one build */
  int models_idx;  /* index of the models task, or -1 */
  const size_t *batch; /* while starting a batched build: its dates */
  size_t n_batch;
  txf_feed_config feed; /* feed.landing, marker, format for the sensor */
} exec;

static int64_t now_us(const exec *x) { return txf_clock_now(x->env->clock); }

/* ------------------------------------------------------------ metadata */

/* Mark what a dead runner left behind for date D: kill the process groups
 * of attempts still 'running' (a task whose runner was killed may have left
 * children), mark those attempts failed and the runs interrupted. Called
 * with D's lock held, so no live runner owns them. */
static int recover_date(exec *x, const dstate *d, txf_err *err) {
  txf_store *st = x->env->store;
  txf_meta_attempt_list left;
  int rc = txf_meta_attempts_running(st, d->ds, &left, err);
  if (rc)
    return rc;
  for (size_t i = 0; i < left.n; i++) {
    int64_t pid = left.v[i].pid;
    /* The attempt's pid is its process group: kill what is left of it. */
    if (pid != TXF_META_NULL && pid > 1 && pid != getpid())
      kill(-(pid_t)pid, SIGKILL);
  }
  if (left.n)
    txf_log_warn(x->env->log,
                 "%s: %d attempt(s) left running by a dead runner; marked "
                 "failed, will be retried",
                 d->ds, (int)left.n);
  txf_meta_attempt_list_release(&left);
  return txf_meta_runs_abandon(st, d->ds, now_us(x), err);
}

/* Was D's batch replaced since its latest successful clean? That clean's
 * report names the SHA-256 of the manifest it read (batch_sha256); after
 * a revert of D, the revert's names the batch it took out, so a batch
 * landed in its place is cleaned by the next daily run of D, and the
 * same batch is not cleaned back in. */
static int batch_replaced(exec *x, const dstate *d, int *replaced,
                          txf_err *err) {
  *replaced = 0;
  txf_meta_clean_run_list l;
  int rc = txf_meta_clean_latest(x->env->store, d->ds, &l, err);
  if (rc)
    return rc;
  if (!l.n || !l.v[0].state || strcmp(l.v[0].state, "reverted")) {
    txf_meta_clean_run_list_release(&l);
    txf_meta_clean_query q = {d->ds, d->ds, 1};
    if ((rc = txf_meta_clean_runs_succeeded(x->env->store, &q, &l, err)))
      return rc;
  }
  json_t *j = l.n && l.v[l.n - 1].details_json
                  ? json_loads(l.v[l.n - 1].details_json, 0, NULL)
                  : NULL;
  const char *was = json_string_value(json_object_get(j, "batch_sha256"));
  char now[65];
  txf_err e2;
  if (was && txf_bronze_batch_sha256(x->env->data_dir, d->date, now, &e2) == 0)
    *replaced = strcmp(was, now) != 0;
  json_decref(j);
  txf_meta_clean_run_list_release(&l);
  return 0;
}

/* Find or create D's run; mark the tasks already done when resuming. */
static int open_run(exec *x, dstate *d, txf_err *err) {
  txf_store *st = x->env->store;
  const txf_dag *dag = x->env->dag;
  txf_meta_run_list latest;
  /* A revert run is not the day's run: the daily DAG never resumes one
   * (its clean would put the batch back). A revert resumes only its own
   * unfinished run, and otherwise starts a new one. */
  int revert = x->opts->revert;
  int rc = revert
               ? txf_meta_run_latest(st, d->ds, &latest, err)
               : txf_meta_run_latest_except(st, d->ds, "revert", &latest, err);
  if (rc)
    return rc;
  int64_t run_id = latest.n ? latest.v[0].run_id : 0;
  int succeeded = latest.n && !strcmp(latest.v[0].state, "success");
  if (revert && latest.n && (succeeded || strcmp(latest.v[0].kind, "revert")))
    run_id = 0;
  txf_meta_run_list_release(&latest);
  int replaced = 0;
  if (run_id && !x->opts->from_scratch && !revert &&
      (rc = batch_replaced(x, d, &replaced, err)))
    return rc;
  if (replaced) {
    /* land --replace swapped the batch after D was cleaned: a new run
     * cleans it again and rebuilds what depends on it */
    txf_log_info(x->env->log,
                 "%s: the bronze batch was replaced since its last clean "
                 "(land --replace); running every task again",
                 d->ds);
    run_id = 0;
  }
  if (run_id && succeeded && !x->opts->from_scratch) {
    d->state = D_ALREADY;
    d->run_id = run_id;
    txf_log_info(x->env->log, "%s: already succeeded (run %lld); skipped",
                 d->ds, (long long)run_id);
    return 0;
  }
  if (run_id && !x->opts->from_scratch) {
    /* Resume: the same run goes on from its first unfinished task. */
    if ((rc = txf_meta_run_resume(st, run_id, getpid(), err)))
      return rc;
    size_t done = 0;
    for (size_t j = 0; j < dag->n_tasks && done == j; j++) {
      int yes;
      if ((rc = txf_meta_attempt_succeeded(st, run_id, dag->tasks[j].name, &yes,
                                           err)))
        return rc;
      if (yes) {
        d->ts[j].st = T_DONE;
        done++;
      }
    }
    d->run_id = run_id;
    if (done < dag->n_tasks)
      txf_log_info(x->env->log, "%s: resuming run %lld at task %s", d->ds,
                   (long long)run_id, dag->tasks[done].name);
    return 0;
  }
  return txf_meta_run_begin(st, d->ds, x->opts->kind ? x->opts->kind : "manual",
                            now_us(x), revert ? 0 : d->sla_deadline_us,
                            getpid(), &d->run_id, err);
}

/* ---- lineage (issue 10): each attempt is one OpenLineage run, START
 * when it starts and COMPLETE/FAIL when it ends. The run id is derived from
 * the attempt's row, so both events agree without extra state. Lineage
 * never fails a task: a problem is logged and the run goes on. */
static void lineage_emit(exec *x, int64_t attempt_id,
                         txf_lineage_event_type type, const char *error) {
  const txf_orch_env *env = x->env;
  txf_err err;
  txf_err_clear(&err);
  txf_meta_attempt_list l;
  if (txf_meta_attempt_get(env->store, attempt_id, &l, &err) == 0 && l.n &&
      l.v[0].logical_date) {
    const txf_meta_attempt *a = &l.v[0];
    char *seed = txf_xasprintf(
        "%s|%lld|%lld|%lld", env->data_dir, (long long)a->run_id,
        (long long)attempt_id,
        (long long)(a->started_at_us == TXF_META_NULL ? 0 : a->started_at_us));
    char uuid[37];
    txf_lineage_uuid_from(seed, uuid);
    free(seed);
    char *manifest = txf_path_join(env->project->dir, "target/manifest.json");
    txf_lineage_task t = {.project = env->project->name,
                          .data_dir = env->data_dir,
                          .logical_date = a->logical_date,
                          .task = a->task,
                          .run_uuid = uuid,
                          .attempt = a->attempt,
                          .event_time_us = now_us(x),
                          .error = error,
                          .manifest_path = manifest};
    if (txf_lineage_task_event(env->store, &t, type, &err) == 0)
      txf_err_clear(&err);
    free(manifest);
  }
  txf_meta_attempt_list_release(&l);
  if (err.code)
    txf_log_warn(env->log, "lineage event not recorded: %s", err.msg);
}

static int insert_attempt(exec *x, dstate *d, const char *task, int no,
                          const char *state, int64_t pid,
                          const char *log_path, const char *error,
                          int64_t *id_out, txf_err *err) {
  int64_t t = now_us(x);
  txf_meta_attempt a = {.run_id = d->run_id,
                        .task = task,
                        .attempt = no,
                        .state = state,
                        .pid = pid > 0 ? pid : TXF_META_NULL,
                        .started_at_us = t,
                        .ended_at_us =
                            strcmp(state, "running") ? t : TXF_META_NULL,
                        .log_path = log_path,
                        .error = error};
  int64_t id;
  int rc = txf_meta_attempt_begin(x->env->store, &a, &id, err);
  if (rc)
    return rc;
  if (id_out)
    *id_out = id;
  if (!strcmp(state, "running"))
    lineage_emit(x, id, TXF_LINEAGE_START, NULL);
  return 0;
}

static int finish_attempt(exec *x, int64_t attempt_id, const char *state,
                          int exit_status, const char *error,
                          int64_t retry_at_us, txf_err *err) {
  int rc = txf_meta_attempt_finish(
      x->env->store, attempt_id, state, now_us(x),
      exit_status >= 0 ? exit_status : TXF_META_NULL, error,
      retry_at_us ? retry_at_us : TXF_META_NULL, err);
  if (!rc)
    lineage_emit(x, attempt_id,
                 !strcmp(state, "success") ? TXF_LINEAGE_COMPLETE
                                           : TXF_LINEAGE_FAIL,
                 error ? error : (strcmp(state, "success") ? state : NULL));
  return rc;
}

static int finish_run(exec *x, dstate *d, const char *state,
                      const char *error, txf_err *err) {
  return txf_meta_run_finish(x->env->store, d->run_id, state, now_us(x), error,
                             err);
}

/* ------------------------------------------------------------ late data */

static void add_date(char ***v, size_t *n, const char *s) {
  txf_date tmp;
  if (txf_date_parse(s, SIZE_MAX, &tmp))
    return;
  for (size_t i = 0; i < *n; i++)
    if (!strcmp((*v)[i], s))
      return;
  *v = txf_xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = txf_xstrdup(s);
}

static void add_dates_from_json(json_t *obj, char ***v, size_t *n) {
  json_t *arr = json_object_get(obj, "partitions_rewritten");
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    if (json_is_string(e))
      add_date(v, n, json_string_value(e));
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The event dates whose models must be rebuilt after D's clean: D and
 * every partition clean rewrote (late data); after a revert of batch D,
 * D and every partition the revert rewrote, from its record in
 * clean_runs (the latest of D, state 'reverted': also when this run's
 * revert found the batch reverted already, by an earlier run or by
 * `revert --no-downstream`). After a clean, from the clean_runs table
 * (the clean that ran during D's latest successful clean attempt), else
 * from the JSON report clean printed into that attempt's log. */
static char **models_dates(exec *x, const dstate *d, size_t *n_out) {
  char **v = NULL;
  size_t n = 0;
  add_date(&v, &n, d->ds);
  txf_store *st = x->env->store;
  txf_err err;
  txf_meta_attempt_list last;
  txf_meta_clean_run_list rev;
  if (x->opts->revert && txf_meta_clean_latest(st, d->ds, &rev, &err) == 0) {
    if (rev.n && rev.v[0].state && !strcmp(rev.v[0].state, "reverted") &&
        rev.v[0].details_json) {
      json_t *j = json_loads(rev.v[0].details_json, 0, NULL);
      add_dates_from_json(j, &v, &n);
      json_decref(j);
    }
    txf_meta_clean_run_list_release(&rev);
  } else if (!x->opts->revert &&
             txf_meta_attempt_last(st, d->ds, "clean", "success", &last,
                                   &err) == 0) {
    char *log = NULL;
    int64_t t0 = 0, t1 = 0;
    if (last.n) {
      const txf_meta_attempt *a = &last.v[0];
      if (a->log_path)
        log = txf_xstrdup(a->log_path);
      t0 = a->started_at_us == TXF_META_NULL ? 0 : a->started_at_us;
      t1 = a->ended_at_us == TXF_META_NULL ? 0 : a->ended_at_us;
    }
    txf_meta_attempt_list_release(&last);
    int found = 0;
    char *details = NULL;
    if (t1 &&
        txf_meta_clean_details_between(st, d->ds, t0 - 5 * TXF_US_PER_S,
                                       t1 + 5 * TXF_US_PER_S, &details,
                                       &err) == 0 &&
        details) {
      json_t *j = json_loads(details, 0, NULL);
      if (json_is_object(j) && json_object_get(j, "partitions_rewritten")) {
        add_dates_from_json(j, &v, &n);
        found = 1;
      }
      json_decref(j);
    }
    free(details);
    char *rep = !found && log
                    ? txf_attempt_log_report(log, "partitions_rewritten")
                    : NULL;
    json_t *j = rep ? json_loads(rep, 0, NULL) : NULL;
    add_dates_from_json(j, &v, &n);
    json_decref(j);
    free(rep);
    free(log);
  }
  qsort(v, n, sizeof *v, cmp_str);
  *n_out = n;
  return v;
}

/* ------------------------------------------------------------ tasks */

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Start an attempt of task J of date D. Returns 0, or an error that stops
 * the executor (metadata). A task that cannot be spawned is a failed
 * attempt, not an error. */
/* D's run goes from queued to running with its first task. */
static int mark_started(exec *x, dstate *d, txf_err *err) {
  if (d->started)
    return 0;
  /* Queued until now: a backfill opens every date's run up front. */
  int rc = txf_meta_run_start(x->env->store, d->run_id, err);
  if (rc)
    return rc;
  d->started = 1;
  /* The scan_pans task reads what changed after this file (its mtime, a
   * real clock's even when the run's clock is pinned). Kept from the
   * date's first run: a later run scans more, never less. */
  char *marker = txf_xasprintf("%s/logs/%s/run.started", x->env->data_dir,
                               d->ds);
  if (!txf_fs_exists(marker)) {
    txf_err ignored;
    if (txf_fs_mkdirs_parent(marker, &ignored) ||
        txf_fs_write_atomic(marker, "", 0, &ignored))
      txf_log_warn(x->env->log, "%s: %s", d->ds, ignored.msg);
  }
  free(marker);
  return 0;
}

/* The union of models_dates() over the dates of a batched build (X->batch),
 * or D's own; sorted. */
static char **build_dates(exec *x, const dstate *d, size_t *n_out) {
  if (!x->n_batch)
    return models_dates(x, d, n_out);
  char **v = NULL;
  size_t n = 0;
  for (size_t b = 0; b < x->n_batch; b++) {
    size_t m;
    char **one = models_dates(x, &x->ds[x->batch[b]], &m);
    for (size_t i = 0; i < m; i++)
      add_date(&v, &n, one[i]);
    free_strv(one, m);
  }
  qsort(v, n, sizeof *v, cmp_str);
  *n_out = n;
  return v;
}

/* The models' run_date: D, or for a revert of batch D, the latest logical
 * date whose daily run succeeded when it is later: the marts stay as of
 * the pipeline's day, as after a late batch that day brought (a revert
 * of an old batch happens today; its marts must not go back to D). */
static void revert_run_date(exec *x, const dstate *d, char out[11]) {
  snprintf(out, 11, "%s", d->ds);
  if (!x->opts->revert)
    return;
  txf_meta_runs_query q = {NULL, NULL, "success", 1, 0, "revert"};
  txf_meta_run_list l;
  txf_err ignored;
  if (txf_meta_runs_latest(x->env->store, &q, &l, &ignored))
    return; /* D, as a run of D would */
  if (l.n && l.v[0].logical_date && strcmp(l.v[0].logical_date, d->ds) > 0)
    snprintf(out, 11, "%s", l.v[0].logical_date);
  txf_meta_run_list_release(&l);
}

static int start_task(exec *x, dstate *d, size_t j, txf_err *err) {
  const txf_orch_env *env = x->env;
  const txf_task_spec *t = &env->dag->tasks[j];
  tstate *ts = &d->ts[j];
  int no;
  int rc = txf_meta_attempt_next_no(env->store, d->ds, t->name, &no, err);
  if (rc)
    return rc;
  if ((rc = mark_started(x, d, err)))
    return rc;
  free(ts->log_path);
  ts->log_path = txf_xasprintf("%s/logs/%s/%s/attempt-%d.log", env->data_dir,
                               d->ds, t->name, no);
  ts->tries++;
  ts->started_us = now_us(x);
  if (t->kind == TXF_TASK_SENSOR && !t->command) {
    char *ldir = txf_xstrdup(ts->log_path);
    *strrchr(ldir, '/') = '\0';
    rc = txf_fs_mkdirs(ldir, err);
    free(ldir);
    if (rc)
      return rc;
    rc = insert_attempt(x, d, t->name, no, "running", 0, ts->log_path, NULL,
                        &ts->attempt_id, err);
    if (rc)
      return rc;
    ts->st = T_RUNNING;
    ts->sensor_deadline_mono = txf_mono_us() + env->dag->sensor_timeout_us;
    ts->next_poke_mono = 0;
    txf_log_info(env->log, "%s %s: waiting for the bronze batch", d->ds,
                 t->name);
    return 0;
  }
  char rows[32], seed[32], runid[32], attempt[32], threads[16];
  char *marker = txf_xasprintf("%s/logs/%s/run.started", env->data_dir, d->ds);
  snprintf(rows, sizeof rows, "%lld", (long long)env->dag->feed_rows);
  snprintf(seed, sizeof seed, "%lld", (long long)env->dag->feed_seed);
  snprintf(runid, sizeof runid, "%lld", (long long)d->run_id);
  snprintf(attempt, sizeof attempt, "%d", no);
  snprintf(threads, sizeof threads, "%d",
           x->opts->revert_threads > 0 ? x->opts->revert_threads : 2);
  size_t n_dates = 0;
  char **dates = NULL;
  txf_buf vars, dlist;
  txf_buf_init(&vars, 0);
  txf_buf_init(&dlist, 0);
  if (t->kind == TXF_TASK_MODELS) {
    dates = build_dates(x, d, &n_dates);
    char run_date[11];
    revert_run_date(x, d, run_date);
    txf_buf_printf(&vars, "{run_date: \"%s\", dates: [", run_date);
    for (size_t i = 0; i < n_dates; i++) {
      txf_buf_printf(&vars, "%s\"%s\"", i ? ", " : "", dates[i]);
      txf_buf_printf(&dlist, "%s%s", i ? " " : "", dates[i]);
    }
    txf_buf_puts(&vars, "]}");
  } else {
    txf_buf_puts(&dlist, d->ds);
  }
  const char *dir = env->project->dir;
  const char *argv[16];
  size_t k = 0;
  if (t->command) {
    argv[k++] = "/bin/sh";
    argv[k++] = "-c";
    argv[k++] = t->command;
  } else {
    argv[k++] = env->exe;
    argv[k++] = "-C";
    argv[k++] = dir;
    switch (t->kind) {
    case TXF_TASK_GENERATE:
      argv[k++] = "generate";
      argv[k++] = "--date";
      argv[k++] = d->ds;
      argv[k++] = "--rows";
      argv[k++] = rows;
      argv[k++] = "--seed";
      argv[k++] = seed;
      /* A batch that exists is never replaced behind the user's back (it
       * may have been generated with other rates, or cleaned already):
       * generate keeps it, and a crashed attempt left the old batch or
       * the new one whole. Only --regenerate replaces it. */
      argv[k++] = x->opts->regenerate ? "--force" : "--if-missing";
      break;
    case TXF_TASK_CLEAN:
      argv[k++] = "clean";
      argv[k++] = "--date";
      argv[k++] = d->ds;
      argv[k++] = "--json";
      break;
    case TXF_TASK_REVERT:
      /* the lake step alone: this run is its downstream */
      argv[k++] = "revert";
      argv[k++] = "--ingest-date";
      argv[k++] = d->ds;
      argv[k++] = "--no-downstream";
      argv[k++] = "--threads";
      argv[k++] = threads;
      argv[k++] = "--json";
      break;
    case TXF_TASK_LOAD:
      argv[k++] = "load";
      argv[k++] = "--date";
      argv[k++] = d->ds;
      break;
    case TXF_TASK_MODELS:
      argv[k++] = "models";
      argv[k++] = "build";
      argv[k++] = "--vars";
      argv[k++] = vars.data;
      break;
    case TXF_TASK_PUBLISH:
      argv[k++] = "publish";
      argv[k++] = "--date";
      argv[k++] = d->ds;
      break;
    case TXF_TASK_SCAN_PANS:
      argv[k++] = "scan-pans";
      argv[k++] = "--newer-than";
      argv[k++] = marker;
      break;
    default:
      assert(0);
    }
  }
  argv[k] = NULL;
  /* the logical dates this attempt stands for: D, or each date of a
   * batched build (the models record them: the dashboard counts the
   * build's tests for each) */
  txf_buf ldates;
  txf_buf_init(&ldates, 0);
  for (size_t b = 0; b < x->n_batch; b++)
    txf_buf_printf(&ldates, "%s%s", b ? " " : "", x->ds[x->batch[b]].ds);
  if (!x->n_batch)
    txf_buf_puts(&ldates, d->ds);
  char *envv[] = {
      txf_xasprintf("TXNFLOW_DATE=%s", d->ds),
      txf_xasprintf("TXNFLOW_RUN_ID=%s", runid),
      txf_xasprintf("TXNFLOW_TASK=%s", t->name),
      txf_xasprintf("TXNFLOW_ATTEMPT=%s", attempt),
      txf_xasprintf("TXNFLOW_DATES=%s", dlist.data ? dlist.data : d->ds),
      txf_xasprintf("TXNFLOW_BIN=%s", env->exe),
      txf_xasprintf("TXNFLOW_PROJECT_DIR=%s", dir),
      txf_xasprintf("TXNFLOW_DATA_DIR=%s", env->data_dir),
      txf_xasprintf("TXNFLOW_LOG=%s", ts->log_path),
      txf_xasprintf("TXNFLOW_REGENERATE=%d", x->opts->regenerate ? 1 : 0),
      txf_xasprintf("TXNFLOW_LOGICAL_DATES=%s", ldates.data),
      NULL};
  txf_buf_release(&ldates);
  /* A header in the log says what ran; the task appends below it. */
  txf_buf hdr;
  txf_buf_init(&hdr, 0);
  char started[40];
  txf_ts_format(ts->started_us, 0, 1, started);
  txf_buf_printf(&hdr, "# txnflow: %s %s attempt %d (run %s) at %s:", d->ds,
                 t->name, no, runid, started);
  if (x->n_batch > 1)
    txf_buf_printf(&hdr, " one build for the models of %s..%s:",
                   x->ds[x->batch[0]].ds, d->ds);
  for (size_t i = 0; argv[i]; i++)
    txf_buf_printf(&hdr, " %s", argv[i]);
  txf_buf_puts(&hdr, "\n");
  char *ldir = txf_xstrdup(ts->log_path);
  *strrchr(ldir, '/') = '\0';
  txf_err ignored;
  if (txf_fs_mkdirs(ldir, &ignored) == 0) {
    FILE *f = fopen(ts->log_path, "a");
    if (f) {
      fputs(hdr.data, f);
      fclose(f);
    }
  }
  free(ldir);
  txf_buf_release(&hdr);
  txf_err serr;
  txf_err_clear(&serr);
  int src = txf_attempt_start(&ts->att, argv, (const char *const *)envv, dir,
                              ts->log_path, t->timeout_us, &serr);
  for (size_t i = 0; envv[i]; i++)
    free(envv[i]);
  txf_buf_release(&vars);
  txf_buf_release(&dlist);
  free(marker);
  if (x->n_batch > 1)
    txf_log_info(env->log,
                 "%s..%s %s: one build for %zu dates (event dates %s..%s)",
                 x->ds[x->batch[0]].ds, d->ds, t->name, x->n_batch, dates[0],
                 dates[n_dates - 1]);
  else if (n_dates > 1)
    txf_log_info(env->log, "%s %s: rebuilding dates %s..%s (late data)",
                 d->ds, t->name, dates[0], dates[n_dates - 1]);
  free_strv(dates, n_dates);
  if (src) {
    /* Could not even start: a failed attempt, retried like any other. */
    rc = insert_attempt(x, d, t->name, no, "running", 0, ts->log_path, NULL,
                        &ts->attempt_id, err);
    if (rc)
      return rc;
    ts->st = T_RUNNING;
    ts->att.done = 1;
    ts->att.status = 127 << 8;
    txf_log_warn(env->log, "%s %s: %s", d->ds, t->name, serr.msg);
    return 0;
  }
  rc = insert_attempt(x, d, t->name, no, "running", ts->att.pid, ts->log_path,
                      NULL, &ts->attempt_id, err);
  if (rc) {
    txf_attempt_kill(&ts->att);
    return rc;
  }
  ts->st = T_RUNNING;
  txf_log_debug(env->log, "%s %s: attempt %d started (pid %d, log %s)", d->ds,
                t->name, no, (int)ts->att.pid, ts->log_path);
  return 0;
}

static void release_lake(exec *x) {
  txf_lock_release(&x->lake);
  x->lake_busy = 0;
}

static void skip_rest(exec *x, dstate *d, size_t from, const char *why) {
  txf_err ignored;
  for (size_t j = from; j < x->env->dag->n_tasks; j++) {
    if (d->ts[j].st == T_DONE)
      continue;
    d->ts[j].st = T_SKIPPED;
    if (insert_attempt(x, d, x->env->dag->tasks[j].name, 0, "skipped", 0,
                       NULL, why, NULL, &ignored)) { /* best effort */ }
  }
}

/* Date D failed at task J (ERROR); record, alert, stop its chain. */
static int fail_date(exec *x, dstate *d, size_t j, const char *error,
                     txf_err *err) {
  const txf_dag *dag = x->env->dag;
  char why[1500];
  snprintf(why, sizeof why, "%s: %s", dag->tasks[j].name, error);
  skip_rest(x, d, j + 1, "upstream task failed");
  d->state = D_FAILED;
  x->sum->n_failed++;
  if (!x->sum->first_failure[0])
    snprintf(x->sum->first_failure, sizeof x->sum->first_failure, "%s %.490s",
             d->ds, why);
  txf_log_error(x->env->log, "%s: run %lld failed: %s", d->ds,
                (long long)d->run_id, why);
  int rc = finish_run(x, d, "failed", why, err);
  txf_lock_release(&d->lock);
  if (!rc && dag->on_failure) {
    txf_alert al = {"failure", d->ds, d->run_id, dag->tasks[j].name,
                    "failed", why, d->ts[j].log_path, 0};
    rc = txf_alert_send(x->env->store, dag->on_failure, x->env->project->dir,
                        &al, now_us(x), x->env->log, err);
  }
  return rc;
}

/* Task J of D ended; OK tells how, OUTCOME says it in words, LINE (or
 * "") is why, from its log, and PERMANENT says a retry would fail the
 * same way. */
static int task_ended(exec *x, dstate *d, size_t j, int ok, int exit_status,
                      const char *outcome, const char *line, int permanent,
                      txf_err *err) {
  const txf_task_spec *t = &x->env->dag->tasks[j];
  tstate *ts = &d->ts[j];
  char dur[32];
  txf_duration_format(now_us(x) - ts->started_us, dur);
  if (!t->parallel && x->lake_busy)
    release_lake(x);
  if (ok) {
    ts->st = T_DONE;
    txf_log_info(x->env->log, "%s %s: success in %s (attempt %d)", d->ds,
                 t->name, dur, ts->tries);
    int rc = finish_attempt(x, ts->attempt_id, "success", exit_status, NULL,
                            0, err);
    if (rc)
      return rc;
    if (j + 1 == x->env->dag->n_tasks) {
      d->state = D_SUCCESS;
      x->sum->n_success++;
      rc = finish_run(x, d, "success", NULL, err);
      txf_lock_release(&d->lock);
      txf_log_info(x->env->log, "%s: run %lld succeeded", d->ds,
                   (long long)d->run_id);
    }
    return rc;
  }
  /* The attempt says why and where to read more; the run, why and how
   * often (status, the alert, the dashboard show both). */
  char msg[1400]; /* a sensor's says what it waited for, and how to land */
  if (line && line[0])
    snprintf(msg, sizeof msg, "%s (%s%s; log %s)", line, outcome,
             permanent ? ", permanent" : "", ts->log_path);
  else
    snprintf(msg, sizeof msg, "%s (log %s)", outcome, ts->log_path);
  if (ts->tries <= t->retries && !permanent) {
    int64_t delay = txf_task_retry_delay(t, ts->tries);
    char dd[32];
    txf_log_warn(x->env->log, "%s %s: attempt %d failed after %s: %s; retry "
                 "in %s",
                 d->ds, t->name, ts->tries, dur, outcome,
                 txf_duration_format(delay, dd));
    ts->st = T_WAIT_RETRY;
    ts->retry_at_mono = txf_mono_us() + delay;
    return finish_attempt(x, ts->attempt_id, "up_for_retry", exit_status, msg,
                          now_us(x) + delay, err);
  }
  ts->st = T_FAILED;
  int rc = finish_attempt(x, ts->attempt_id, "failed", exit_status, msg, 0,
                          err);
  if (rc)
    return rc;
  char how[1300], why[1400];
  snprintf(how, sizeof how, "%s after %d attempt%s%s", outcome, ts->tries,
           ts->tries == 1 ? "" : "s",
           permanent && t->retries ? ", not retried: permanent" : "");
  if (line && line[0])
    snprintf(why, sizeof why, "%s (%s)", line, how);
  else
    snprintf(why, sizeof why, "%s", how);
  if (permanent && t->retries)
    txf_log_warn(x->env->log, "%s %s: a permanent failure (%s); not retried",
                 d->ds, t->name, outcome);
  return fail_date(x, d, j, why, err);
}

/* A poke of a sensor with feed.landing: land D's files from LANDING when
 * they are complete (their markers are there, or, without a marker, they
 * did not change since the last poke). 1 when D's batch is committed; 0
 * not yet (TS->land_why says why); an error that waiting will not cure
 * (a cut .gz, a batch of other files) ends the wait in *FAILED (caller
 * frees). */
static int sensor_land(exec *x, dstate *d, tstate *ts, const char *landing,
                       char **failed) {
  const char *src[1] = {landing};
  txf_feed_config feed = x->feed;
  feed.stable_us = 0; /* the pokes are the wait: see the signature */
  txf_land_opts lo = {0};
  lo.data_dir = x->env->data_dir;
  lo.day = d->date;
  lo.sources = src;
  lo.n_sources = 1;
  lo.feed = &feed;
  lo.store = x->env->store;
  lo.log = x->env->log;
  lo.now_us = now_us(x);
  txf_err e;
  txf_err_clear(&e);
  lo.project = x->env->project;
  int s3 = !strncmp(landing, "s3://", 5);
  uint64_t sig = 0;
  int rc = s3 ? txf_land_s3(&lo, landing, 1, &sig, NULL, &e)
              : txf_land_probe(&lo, &sig, &e);
  if (!rc && !feed.marker && sig != ts->land_sig) {
    ts->land_sig = sig;
    rc = txf_err_set(&e, TXF_ENOTFOUND,
                     "files found; landed when they stay the same until "
                     "the next poke");
  }
  if (!rc) {
    txf_land_result res;
    rc = s3 ? txf_land_s3(&lo, landing, 0, NULL, &res, &e)
            : txf_land_batch(&lo, &res, &e);
    if (!rc)
      txf_log_info(x->env->log, "%s sensor: landed %zu file%s from %s",
                   d->ds, res.n_files, res.n_files == 1 ? "" : "s",
                   landing);
    txf_land_result_release(&res);
  }
  if (!rc)
    return 1;
  free(ts->land_why);
  ts->land_why = txf_xstrdup(e.msg);
  /* not there, not complete, or S3 not answering: waiting may cure it */
  if (rc != TXF_ENOTFOUND && rc != TXF_ELOCKED && rc != TXF_ENET)
    *failed = txf_xasprintf("landing from %s: %s", landing, e.msg);
  return 0;
}

/* Poll a running task; handle its end. */
static int poll_task(exec *x, dstate *d, size_t j, txf_err *err) {
  const txf_task_spec *t = &x->env->dag->tasks[j];
  tstate *ts = &d->ts[j];
  if (ts->leader)
    return 0; /* its date's process is polled instead */
  if (t->kind == TXF_TASK_SENSOR && !t->command) {
    int64_t m = txf_mono_us();
    if (m < ts->next_poke_mono)
      return 0;
    ts->next_poke_mono = m + x->env->dag->poke_interval_us;
    char *manifest = txf_xasprintf(
        "%s/bronze/transactions/ingest_date=%s/_manifest.json",
        x->env->data_dir, d->ds);
    int found = txf_fs_exists(manifest);
    char *landing = x->feed.landing && !found
                        ? txf_feed_landing_for(x->feed.landing, d->date)
                        : NULL;
    char *failed = NULL;
    if (landing)
      found = sensor_land(x, d, ts, landing, &failed);
    FILE *f = fopen(ts->log_path, "a");
    if (f) {
      char at[40];
      txf_ts_format(now_us(x), 0, 1, at);
      fprintf(f, "%s poke %s: %s%s%s\n", at, manifest,
              found ? "found" : "not yet",
              !found && ts->land_why ? ": " : "",
              !found && ts->land_why ? ts->land_why : "");
      fclose(f);
    }
    int rc = 0;
    if (failed) {
      rc = task_ended(x, d, j, 0, -1, failed, NULL, 1, err);
    } else if (found) {
      rc = task_ended(x, d, j, 1, 0, "found", NULL, 0, err);
    } else if (m >= ts->sensor_deadline_mono) {
      char dd[32], msg[1200];
      /* what it waited for, and the command that would have ended the
       * wait */
      if (landing)
        snprintf(msg, sizeof msg,
                 "sensor timed out after %s waiting for %s, to land from "
                 "feed.landing %s (%s); land them with: txnflow -C %s land "
                 "--date %s FILE|DIR",
                 txf_duration_format(x->env->dag->sensor_timeout_us, dd),
                 manifest, landing,
                 ts->land_why ? ts->land_why : "nothing there",
                 x->env->project->dir, d->ds);
      else
        snprintf(msg, sizeof msg,
                 "sensor timed out after %s waiting for %s; land the "
                 "processor's files with: txnflow -C %s land --date %s "
                 "FILE|DIR",
                 txf_duration_format(x->env->dag->sensor_timeout_us, dd),
                 manifest, x->env->project->dir, d->ds);
      rc = task_ended(x, d, j, 0, -1, msg, NULL, 0, err);
    }
    free(failed);
    free(landing);
    free(manifest);
    return rc;
  }
  if (!txf_attempt_poll(&ts->att))
    return 0;
  /* what it cost: status, the dashboard and the benchmarks read it */
  int urc = txf_meta_attempt_usage(x->env->store, ts->attempt_id,
                                   ts->att.max_rss_kb, ts->att.cpu_us, err);
  if (urc)
    return urc;
  char outcome[128];
  int ok = txf_attempt_outcome(&ts->att, t->timeout_us, outcome,
                               sizeof outcome);
  int code = WIFEXITED(ts->att.status) && !ts->att.timed_out
                 ? WEXITSTATUS(ts->att.status)
                 : -1;
  /* Why, from the log: for a failed exit (a timeout or a signal is its
   * own reason) */
  char line[400] = "";
  int permanent = !ok && txf_attempt_permanent(&ts->att);
  if (!ok && code > 0)
    txf_attempt_error_line(ts->log_path, line, sizeof line);
  if (ts->att.timed_out) {
    FILE *f = fopen(ts->log_path, "a");
    if (f) {
      fprintf(f, "# txnflow: %s; process group %d killed\n", outcome,
              (int)ts->att.pid);
      fclose(f);
    }
  }
  /* A batched build ends for every date it stood for, earliest first (so
   * a failure is reported at the earliest date, as a sequential run
   * would). */
  size_t me = (size_t)(d - x->ds) + 1;
  int rc = 0;
  for (size_t i = 0; i < x->n && !rc; i++) {
    tstate *fs = &x->ds[i].ts[j];
    if (x->ds[i].state == D_ACTIVE && fs->st == T_RUNNING &&
        fs->leader == me) {
      fs->leader = 0;
      rc = task_ended(x, &x->ds[i], j, ok, code, outcome, line, permanent,
                      err);
    }
  }
  return rc ? rc
            : task_ended(x, d, j, ok, code, outcome, line, permanent, err);
}

/* The first task of D that is not done, or n_tasks. */
static size_t current_task(const exec *x, const dstate *d) {
  size_t j = 0;
  while (j < x->env->dag->n_tasks && d->ts[j].st == T_DONE)
    j++;
  return j;
}

static int n_running(const exec *x) {
  int n = 0;
  for (size_t i = 0; i < x->n; i++)
    for (size_t j = 0; j < x->env->dag->n_tasks; j++)
      if (x->ds[i].ts[j].st == T_RUNNING && !x->ds[i].ts[j].leader &&
          x->env->dag->tasks[j].kind != TXF_TASK_SENSOR)
        n++;
  return n;
}

/* Can task J of date I start now? Lake tasks wait for earlier dates. */
/* Is D waiting at its models task, which a batched build may run? */
static int parked(const exec *x, const dstate *d) {
  if (!x->batching || d->state != D_ACTIVE ||
      current_task(x, d) != (size_t)x->models_idx)
    return 0;
  int st = d->ts[x->models_idx].st;
  return st == T_PENDING || st == T_WAIT_RETRY;
}

/* Take the lake for a task of date I: *GOT = 1, or 0 when it is busy (in
 * this process or another). */
static int take_lake(exec *x, size_t i, int *got, txf_err *err) {
  *got = 0;
  if (x->lake_busy)
    return 0;
  txf_err lerr;
  char *lp = txf_lock_lake_path(x->env->data_dir);
  int lrc = txf_lock_try(&x->lake, lp, &lerr);
  free(lp);
  if (lrc == TXF_ELOCKED) {
    if (!x->lake_waiting_logged)
      txf_log_info(x->env->log, "waiting for the lake: %s", lerr.msg);
    x->lake_waiting_logged = 1;
    return 0;
  }
  if (lrc) {
    *err = lerr;
    return lrc;
  }
  x->lake_waiting_logged = 0;
  x->lake_busy = (int)i + 1;
  *got = 1;
  return 0;
}

static int try_start(exec *x, size_t i, int *slots, txf_err *err) {
  dstate *d = &x->ds[i];
  int rc;
  if (d->state != D_ACTIVE)
    return 0;
  size_t j = current_task(x, d);
  if (j >= x->env->dag->n_tasks)
    return 0;
  tstate *ts = &d->ts[j];
  if (ts->st == T_RUNNING || ts->st == T_FAILED || ts->st == T_SKIPPED)
    return 0;
  if (ts->st == T_WAIT_RETRY && txf_mono_us() < ts->retry_at_mono)
    return 0;
  const txf_task_spec *t = &x->env->dag->tasks[j];
  int is_sensor = t->kind == TXF_TASK_SENSOR && !t->command;
  if (!is_sensor && *slots <= 0)
    return 0;
  if (!t->parallel) {
    /* With batching, models start in try_batch(); a clean or a load may
     * pass dates parked at their models (docs/orchestration.md). */
    int batched = x->batching && (int)j == x->models_idx;
    int may_pass = x->batching && (int)j < x->models_idx;
    for (size_t k = 0; k < i; k++) {
      if (x->ds[k].state == D_FAILED) {
        char why[64];
        snprintf(why, sizeof why, "not run: %s failed first", x->ds[k].ds);
        skip_rest(x, d, j, why);
        d->state = D_FAILED;
        x->sum->n_failed++;
        rc = finish_run(x, d, "failed", why, err);
        txf_lock_release(&d->lock);
        return rc;
      }
      if (x->ds[k].state == D_ACTIVE && !batched &&
          !(may_pass && parked(x, &x->ds[k])))
        return 0;
    }
    if (batched)
      return 0;
    int got;
    if ((rc = take_lake(x, i, &got, err)) || !got)
      return rc;
  }
  rc = start_task(x, d, j, err);
  if (!rc && !is_sensor)
    (*slots)--;
  return rc;
}

/* Start one models build for the dates parked at their models task, from
 * the earliest active date on, once no clean can run first: run_date is
 * the last of them and `dates` the union of their dates, so the marts end
 * as a sequential run of each date would leave them (docs/orchestration.md,
 * decision 0801). The build runs as the last date's attempt; the others
 * get an attempt row of their own that follows it (same process, same
 * log) and ends with it. */
static int try_batch(exec *x, int *slots, txf_err *err) {
  if (!x->batching || x->lake_busy || *slots <= 0)
    return 0;
  size_t m = (size_t)x->models_idx;
  size_t *members = txf_xcalloc(x->n, sizeof *members);
  size_t nb = 0, i;
  int wait = 0;
  for (i = 0; i < x->n; i++) {
    dstate *d = &x->ds[i];
    if (d->state == D_FAILED)
      break;
    if (d->state != D_ACTIVE)
      continue;
    if (!parked(x, d))
      break;
    if (d->ts[m].st == T_WAIT_RETRY &&
        txf_mono_us() < d->ts[m].retry_at_mono)
      wait = 1;
    members[nb++] = i;
  }
  /* The next date's clean is worth waiting for while its generate runs
   * (a few seconds), not for a sensor (hours) or a retry's delay. */
  if (i < x->n && x->ds[i].state == D_ACTIVE) {
    size_t j = current_task(x, &x->ds[i]);
    int st = x->ds[i].ts[j].st;
    if (j < m && x->env->dag->tasks[j].kind == TXF_TASK_GENERATE &&
        (st == T_PENDING || st == T_RUNNING))
      wait = 1;
  }
  int rc = 0, got = 0;
  if (nb && !wait)
    rc = take_lake(x, members[nb - 1], &got, err);
  if (!got) {
    free(members);
    return rc;
  }
  dstate *lead = &x->ds[members[nb - 1]];
  x->batch = members;
  x->n_batch = nb;
  rc = start_task(x, lead, m, err);
  x->batch = NULL;
  x->n_batch = 0;
  const tstate *ls = &lead->ts[m];
  for (size_t b = 0; b + 1 < nb && !rc; b++) {
    dstate *d = &x->ds[members[b]];
    tstate *fs = &d->ts[m];
    int no;
    if ((rc = txf_meta_attempt_next_no(x->env->store, d->ds,
                                       x->env->dag->tasks[m].name, &no, err)) ||
        (rc = mark_started(x, d, err)))
      break;
    free(fs->log_path);
    fs->log_path = txf_xstrdup(ls->log_path);
    fs->tries++;
    fs->started_us = now_us(x);
    rc = insert_attempt(x, d, x->env->dag->tasks[m].name, no, "running",
                        ls->att.pid, fs->log_path, NULL, &fs->attempt_id, err);
    if (!rc) {
      fs->st = T_RUNNING;
      fs->leader = members[nb - 1] + 1;
    }
  }
  free(members);
  if (!rc)
    (*slots)--;
  return rc;
}

/* Stop everything running: kill, record as failed (interrupted). */
static void interrupt_all(exec *x) {
  txf_err ignored;
  for (size_t i = 0; i < x->n; i++) {
    dstate *d = &x->ds[i];
    if (d->state != D_ACTIVE)
      continue;
    for (size_t j = 0; j < x->env->dag->n_tasks; j++) {
      tstate *ts = &d->ts[j];
      if (ts->st != T_RUNNING)
        continue;
      if (!ts->leader) /* a batch's process is killed by its leader */
        txf_attempt_kill(&ts->att);
      ts->leader = 0;
      if (finish_attempt(x, ts->attempt_id, "failed", -1,
                         "interrupted (the runner was asked to stop)", 0,
                         &ignored)) { /* best effort while stopping */ }
    }
    if (finish_run(x, d, "interrupted", "interrupted", &ignored)) {
    }
    txf_lock_release(&d->lock);
  }
  release_lake(x);
}

int txf_orch_execute(const txf_orch_env *env, const txf_date *dates, size_t n,
                     const txf_orch_opts *opts, txf_orch_summary *sum,
                     txf_err *err) {
  memset(sum, 0, sizeof *sum);
  exec x = {env, opts, sum, NULL, n, {-1, NULL}, 0, 0, 0, -1, NULL, 0, {0}};
  for (size_t j = 0; j < env->dag->n_tasks; j++)
    if (env->dag->tasks[j].kind == TXF_TASK_MODELS)
      x.models_idx = (int)j;
  x.batching = opts->parallel > 1 && n > 1 && x.models_idx >= 0 &&
               env->dag->tasks[x.models_idx].batch;
  x.ds = txf_xcalloc(n ? n : 1, sizeof *x.ds);
  txf_tz *tz = NULL;
  int rc = txf_tz_load(&tz, env->project->timezone, err);
  if (!rc)
    rc = txf_feed_config_read(&x.feed, env->project, err);
  for (size_t i = 0; i < n; i++) {
    x.ds[i].date = dates[i];
    txf_date_format(dates[i], x.ds[i].ds);
    x.ds[i].lock.fd = -1;
    x.ds[i].ts = txf_xcalloc(env->dag->n_tasks, sizeof *x.ds[i].ts);
  }
  /* All locks first: a backfill either owns its dates or runs nothing. */
  for (size_t i = 0; i < n && !rc; i++) {
    char *lp = txf_lock_date_path(env->data_dir, dates[i]);
    rc = txf_lock_try(&x.ds[i].lock, lp, err);
    free(lp);
    if (rc == TXF_ELOCKED)
      txf_err_wrap(err, "%s: a run of this date is already in progress",
                   x.ds[i].ds);
  }
  for (size_t i = 0; i < n && !rc; i++) {
    dstate *d = &x.ds[i];
    if (env->dag->sla_secs >= 0)
      d->sla_deadline_us = txf_tz_local_to_utc(
          tz, (txf_date){d->date.days + 1}, env->dag->sla_secs);
    rc = recover_date(&x, d, err);
    if (!rc)
      rc = open_run(&x, d, err);
    if (!rc && d->state == D_ALREADY) {
      sum->n_skipped++;
      txf_lock_release(&d->lock);
    }
  }
  int slots = 0;
  while (!rc) {
    if (env->stop && *env->stop) {
      interrupt_all(&x);
      sum->interrupted = 1;
      break;
    }
    int active = 0;
    for (size_t i = 0; i < n && !rc; i++) {
      dstate *d = &x.ds[i];
      if (d->state != D_ACTIVE)
        continue;
      for (size_t j = 0; j < env->dag->n_tasks && !rc; j++)
        if (d->ts[j].st == T_RUNNING)
          rc = poll_task(&x, d, j, err);
      if (d->state == D_ACTIVE)
        active++;
    }
    if (rc || !active)
      break;
    slots = (opts->parallel > 0 ? opts->parallel : 1) - n_running(&x);
    /* The lake chain first (it is the critical path), then the rest. */
    for (size_t i = 0; i < n && !rc; i++) {
      dstate *d = &x.ds[i];
      size_t j = current_task(&x, d);
      if (d->state == D_ACTIVE && j < env->dag->n_tasks &&
          !env->dag->tasks[j].parallel)
        rc = try_start(&x, i, &slots, err);
    }
    if (!rc)
      rc = try_batch(&x, &slots, err);
    for (size_t i = 0; i < n && !rc; i++) {
      dstate *d = &x.ds[i];
      size_t j = current_task(&x, d);
      if (d->state == D_ACTIVE && j < env->dag->n_tasks &&
          env->dag->tasks[j].parallel)
        rc = try_start(&x, i, &slots, err);
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (rc && !sum->interrupted)
    interrupt_all(&x);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < env->dag->n_tasks; j++) {
      free(x.ds[i].ts[j].log_path);
      free(x.ds[i].ts[j].land_why);
    }
    free(x.ds[i].ts);
    txf_lock_release(&x.ds[i].lock);
  }
  release_lake(&x);
  free(x.ds);
  txf_tz_free(tz);
  txf_feed_config_release(&x.feed);
  return rc;
}
