/* The scheduler daemon (cron expressions are in src/util/cron.c).
 *
 * A logical date D is due at the first cron fire at or after local
 * midnight of D+1 (the day D is complete); its SLA deadline is the `sla`
 * time on D+1. The scheduler runs due dates as `txnflow run --date D
 * --kind scheduled` children, one at a time in date order, and checks SLAs
 * on every tick. Its state is the metadata database, so a restart (even
 * after kill -9) carries on where it was. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "orchestrate/orchestrate.h"

int64_t txf_sched_due_at(const txf_cron *c, const txf_tz *tz, txf_date d) {
  int64_t midnight = txf_tz_local_to_utc(tz, (txf_date){d.days + 1}, 0);
  return txf_cron_next(c, tz, midnight - 1);
}

/* ------------------------------------------------------------ scheduler */

typedef struct sched {
  const txf_orch_env *env;
  const txf_sched_opts *opts;
  txf_cron cron;
  txf_tz *tz;
  int64_t first_start_us;
  int has_start;
  txf_date start_date;
  txf_date first_date; /* with catchup, the first date to run */
  pid_t child;
  txf_date child_date;
  int32_t *tried; /* --once: dates started in this pass */
  size_t n_tried;
  txf_project_retention retention; /* retention: (the daily vacuum) */
} sched;

/* The latest date that is due at NOW, or days = INT32_MIN. */
static txf_date latest_due(const sched *s, int64_t now) {
  txf_date d = txf_tz_local_date(s->tz, now);
  for (int i = 0; i < 400; i++) {
    d.days--;
    if (txf_sched_due_at(&s->cron, s->tz, d) <= now)
      return d;
  }
  return (txf_date){INT32_MIN};
}

/* The latest daily run's state of date DS into STATE ("" when none): a
 * revert run of DS is an operator's, never resumed by the schedule. */
static int latest_state(sched *s, const char *ds, char *state, size_t n,
                        int64_t *run_id, txf_err *err) {
  txf_meta_run_list l;
  int rc = txf_meta_run_latest_except(s->env->store, ds, "revert", &l, err);
  if (rc)
    return rc;
  state[0] = '\0';
  *run_id = 0;
  if (l.n) {
    *run_id = l.v[0].run_id;
    snprintf(state, n, "%s", l.v[0].state);
  }
  txf_meta_run_list_release(&l);
  return 0;
}

static int was_tried(const sched *s, txf_date d) {
  for (size_t i = 0; i < s->n_tried; i++)
    if (s->tried[i] == d.days)
      return 1;
  return 0;
}

/* The first date in [first, L] that should be run now: *FOUND = 1 and *OUT
 * set, or *FOUND = 0 (none, or an earlier date is being run by another
 * process: wait for it). Returns 0 or an error. */
static int next_pending(sched *s, int64_t now, txf_date *out, int *found,
                        txf_err *err) {
  *found = 0;
  txf_date last = latest_due(s, now);
  if (last.days == INT32_MIN)
    return 0;
  /* Catch-up covers every date from start_date (the project's first
   * date), not only those since the scheduler first ran; without one,
   * from the first date due when it first ran here. */
  txf_date first = !s->env->project->catchup ? last
                   : s->has_start          ? s->start_date
                                           : s->first_date;
  if (s->has_start && first.days < s->start_date.days)
    first = s->start_date;
  for (txf_date d = first; d.days <= last.days; d.days++) {
    if (s->opts->once && was_tried(s, d))
      continue;
    char ds[11], state[32];
    int64_t run_id;
    txf_date_format(d, ds);
    int rc = latest_state(s, ds, state, sizeof state, &run_id, err);
    if (rc)
      return rc;
    if (!strcmp(state, "success") || !strcmp(state, "failed"))
      continue;
    /* No run yet, an interrupted one, or one marked running: if someone
     * holds the date's lock it is really running — wait for it. */
    txf_lock l;
    txf_err lerr;
    char *lp = txf_lock_date_path(s->env->data_dir, d);
    rc = txf_lock_try(&l, lp, &lerr);
    free(lp);
    if (rc == TXF_ELOCKED) {
      if (s->opts->once) {
        txf_log_info(s->env->log, "%s: being run by another process; left "
                     "to it", ds);
        s->tried = txf_xrealloc(s->tried, (s->n_tried + 1) * sizeof *s->tried);
        s->tried[s->n_tried++] = d.days;
        continue;
      }
      return 0;
    }
    if (rc) {
      *err = lerr;
      return rc;
    }
    txf_lock_release(&l);
    *out = d;
    *found = 1;
    return 0;
  }
  return 0;
}

static int spawn_run(sched *s, txf_date d, int64_t now, txf_err *err) {
  char ds[11], nowbuf[40];
  txf_date_format(d, ds);
  txf_ts_format(now, 0, 1, nowbuf);
  char *nowenv = txf_xasprintf("TXNFLOW_NOW=%s", nowbuf);
  pid_t parent = getpid();
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    free(nowenv);
    return txf_err_errno(err, TXF_EIO, "fork");
  }
  if (pid == 0) {
    /* The run dies with the scheduler (as under systemd, which kills the
     * whole unit): the next scheduler finds it interrupted and resumes. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    if (s->opts->fake_clock)
      putenv(nowenv);
    const char *argv[] = {s->env->exe, "-C", s->env->project->dir, "run",
                          "--date", ds, "--kind", "scheduled", NULL};
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  free(nowenv);
  s->child = pid;
  s->child_date = d;
  txf_log_info(s->env->log, "%s: scheduled run started (pid %d)", ds,
               (int)pid);
  if (s->opts->once) {
    s->tried = txf_xrealloc(s->tried, (s->n_tried + 1) * sizeof *s->tried);
    s->tried[s->n_tried++] = d.days;
  }
  return 0;
}

static void reap(sched *s) {
  if (s->child <= 0)
    return;
  int st;
  pid_t r = waitpid(s->child, &st, WNOHANG);
  if (r == 0)
    return;
  char ds[11];
  txf_date_format(s->child_date, ds);
  if (r == s->child && WIFEXITED(st))
    txf_log_info(s->env->log, "%s: scheduled run ended (exit %d)", ds,
                 WEXITSTATUS(st));
  else
    txf_log_warn(s->env->log, "%s: scheduled run ended abnormally", ds);
  s->child = -1;
}

/* ------------------------------------------------------------ vacuum */

/* Tries of the day's vacuum, and the wait after a failed one (a clean
 * holding the lake's lock, say) before the next. */
#define VACUUM_TRIES 3
#define VACUUM_RETRY_US (INT64_C(600) * TXF_US_PER_S)

/* Run `txnflow lake vacuum --json` for the date DS's run RUN_ID as its
 * task "vacuum", attempt NO: output into its log, recorded in the
 * metadata like the DAG's tasks. Waits for it (a vacuum is short: it
 * removes what retention lets go). */
static int vacuum_attempt(sched *s, const char *ds, int64_t run_id, int no,
                          int64_t now, txf_err *err) {
  const txf_orch_env *env = s->env;
  char *log_path =
      txf_xasprintf("%s/logs/%s/vacuum/attempt-%d.log", env->data_dir, ds, no);
  char *log_dir = txf_xasprintf("%s/logs/%s/vacuum", env->data_dir, ds);
  int rc = txf_fs_mkdirs(log_dir, err);
  free(log_dir);
  int64_t id = 0;
  txf_meta_attempt a = {.run_id = run_id,
                        .task = "vacuum",
                        .attempt = no,
                        .state = "running",
                        .pid = TXF_META_NULL,
                        .started_at_us = now,
                        .ended_at_us = TXF_META_NULL,
                        .log_path = log_path};
  if (!rc)
    rc = txf_meta_attempt_begin(env->store, &a, &id, err);
  char nowbuf[40];
  txf_ts_format(now, 0, 1, nowbuf);
  char *nowenv = txf_xasprintf("TXNFLOW_NOW=%s", nowbuf);
  pid_t pid = -1;
  if (!rc) {
    fflush(NULL);
    pid = fork();
    if (pid < 0)
      rc = txf_err_errno(err, TXF_EIO, "fork");
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    FILE *f = freopen(log_path, "a", stdout);
    if (!f || dup2(fileno(stdout), 2) < 0)
      _exit(127);
    if (s->opts->fake_clock)
      putenv(nowenv);
    const char *argv[] = {env->exe, "-C", env->project->dir, "lake", "vacuum",
                          "--json", NULL};
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  free(nowenv);
  int st = 0;
  if (!rc)
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
      ;
  if (!rc) {
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char why[64];
    snprintf(why, sizeof why, "exit %d (see its log)", code);
    rc = txf_meta_attempt_finish(env->store, id, ok ? "success" : "failed",
                                 txf_clock_now(env->clock), code,
                                 ok ? NULL : why, TXF_META_NULL, err);
    if (ok)
      txf_log_info(env->log, "%s: vacuum done (retention; log %s)", ds,
                   log_path);
    else
      txf_log_warn(env->log, "%s: vacuum failed: %s, log %s", ds, why,
                   log_path);
  }
  free(log_path);
  return rc;
}

/* Once a day, after the day's run: when the latest due date's run has
 * ended and no vacuum of it succeeded yet (at most VACUUM_TRIES, a
 * failed one retried after VACUUM_RETRY_US), apply the project's
 * retention with `lake vacuum` (docs/orchestration.md). It holds the
 * date's lock meanwhile, so no run of the date starts beside it, and the
 * vacuum takes the lake's (clean's) lock itself. */
static int daily_vacuum(sched *s, int64_t now, txf_err *err) {
  if (!s->retention.configured || !s->retention.vacuum_daily)
    return 0;
  txf_date d = latest_due(s, now);
  if (d.days == INT32_MIN)
    return 0;
  char ds[11], state[32];
  int64_t run_id;
  txf_date_format(d, ds);
  int rc = latest_state(s, ds, state, sizeof state, &run_id, err);
  if (rc || (strcmp(state, "success") && strcmp(state, "failed")))
    return rc;
  txf_meta_attempt_list last;
  rc =
      txf_meta_attempt_last(s->env->store, ds, "vacuum", "success", &last, err);
  int done = !rc && last.n > 0;
  if (!rc)
    txf_meta_attempt_list_release(&last);
  if (rc || done)
    return rc;
  rc = txf_meta_attempt_last(s->env->store, ds, "vacuum", "failed", &last, err);
  int wait = !rc && last.n > 0 && last.v[0].ended_at_us != TXF_META_NULL &&
             now < last.v[0].ended_at_us + VACUUM_RETRY_US;
  if (!rc)
    txf_meta_attempt_list_release(&last);
  int no = 0;
  if (!rc && !wait)
    rc = txf_meta_attempt_next_no(s->env->store, ds, "vacuum", &no, err);
  if (rc || wait || no > VACUUM_TRIES)
    return rc;
  txf_lock l;
  txf_err lerr;
  char *lp = txf_lock_date_path(s->env->data_dir, d);
  rc = txf_lock_try(&l, lp, &lerr);
  free(lp);
  if (rc == TXF_ELOCKED)
    return 0; /* a run of the date, by hand: after it */
  if (rc) {
    *err = lerr;
    return rc;
  }
  /* a vacuum attempt left 'running' by a scheduler killed meanwhile
   * (the run itself has ended): failed, as the executor marks them */
  rc = txf_meta_runs_abandon(s->env->store, ds, now, err);
  if (!rc)
    rc = vacuum_attempt(s, ds, run_id, no, now, err);
  txf_lock_release(&l);
  return rc;
}

/* Record SLA misses: dates whose deadline has passed without a successful
 * run, once each, with the alert. Only deadlines after the scheduler first
 * started on this project count (a new project does not owe its history),
 * and only the last 31 days are looked at. */
static int check_sla(sched *s, int64_t now, txf_err *err) {
  const txf_orch_env *env = s->env;
  if (env->dag->sla_secs < 0)
    return 0;
  txf_date today = txf_tz_local_date(s->tz, now);
  txf_date from = txf_tz_local_date(s->tz, s->first_start_us);
  from.days--;
  if (from.days < today.days - 31)
    from.days = today.days - 31;
  for (txf_date d = from; d.days < today.days; d.days++) {
    if (s->has_start && d.days < s->start_date.days)
      continue;
    int64_t deadline = txf_tz_local_to_utc(s->tz, (txf_date){d.days + 1},
                                           env->dag->sla_secs);
    if (deadline < s->first_start_us || deadline > now)
      continue;
    char ds[11];
    txf_date_format(d, ds);
    int missed;
    int rc = txf_meta_sla_due(env->store, ds, deadline, &missed, err);
    if (rc)
      return rc;
    if (!missed)
      continue;
    int64_t run_id;
    char state[32];
    if ((rc = latest_state(s, ds, state, sizeof state, &run_id, err)))
      return rc;
    if (!state[0])
      snprintf(state, sizeof state, "not started");
    int added;
    rc = txf_meta_sla_miss_add(env->store, ds, run_id, deadline, now, &added,
                               err);
    if (rc)
      return rc;
    /* Only the scheduler that recorded the miss sends the alert. */
    if (!added)
      continue;
    char dl[40];
    txf_ts_format(deadline, txf_tz_offset_at(s->tz, deadline / TXF_US_PER_S) /
                                60,
                  0, dl);
    txf_log_warn(env->log, "%s: SLA missed (deadline %s, run %s)", ds, dl,
                 state);
    if (env->dag->on_sla_miss) {
      char err_text[128];
      snprintf(err_text, sizeof err_text, "not successful by %s", dl);
      txf_alert al = {"sla_miss", ds, run_id, NULL, state, err_text, NULL,
                      deadline};
      rc = txf_alert_send(env->store, env->dag->on_sla_miss,
                          env->project->dir, &al, now, env->log, err);
      if (rc)
        return rc;
    }
  }
  return 0;
}

int txf_sched_loop(const txf_orch_env *env, const txf_sched_opts *opts,
                   txf_err *err) {
  sched s;
  memset(&s, 0, sizeof s);
  s.env = env;
  s.opts = opts;
  s.child = -1;
  const txf_project *p = env->project;
  int rc = txf_cron_parse(&s.cron, p->schedule, err);
  if (rc)
    return txf_err_wrap(err, "%s", p->config_path);
  rc = txf_tz_load(&s.tz, p->timezone, err);
  if (rc)
    return rc;
  if (p->start_date) {
    if (txf_date_parse(p->start_date, SIZE_MAX, &s.start_date)) {
      txf_tz_free(s.tz);
      return txf_err_set(err, TXF_ECONFIG,
                         "%s: start_date: '%s' is not a date (YYYY-MM-DD)",
                         p->config_path, p->start_date);
    }
    s.has_start = 1;
  }
  int64_t now = txf_clock_now(env->clock);
  rc = txf_meta_key_get_or_set(env->store, "scheduler.first_start_us", now,
                               &s.first_start_us, err);
  /* Without a start_date, catch-up reaches back to the first date that
   * was due when the scheduler first ran here. */
  int64_t first_days = 0;
  if (!rc) {
    txf_date l = latest_due(&s, s.first_start_us);
    rc = txf_meta_key_get_or_set(env->store, "scheduler.first_date",
                                 l.days == INT32_MIN ? 0 : l.days, &first_days,
                                 err);
  }
  s.first_date.days = (int32_t)first_days;
  if (!rc)
    rc = txf_project_retention_read(&s.retention, p, err);
  if (!rc) {
    char nb[40];
    txf_ts_format(now, txf_tz_offset_at(s.tz, now / TXF_US_PER_S) / 60, 0, nb);
    int64_t next = txf_cron_next(&s.cron, s.tz, now);
    char nx[40] = "never";
    if (next != INT64_MAX)
      txf_ts_format(next, txf_tz_offset_at(s.tz, next / TXF_US_PER_S) / 60, 0,
                    nx);
    txf_log_info(env->log,
                 "scheduler: project '%s', schedule '%s' in %s, now %s, next "
                 "fire %s%s",
                 p->name, p->schedule, p->timezone, nb, nx,
                 opts->once ? " (--once)" : "");
  }
  int64_t idle_tick = opts->tick_us > 0 ? opts->tick_us : TXF_US_PER_S;
  int64_t next_check_mono = 0;
  while (!rc) {
    if (env->stop && *env->stop) {
      if (s.child > 0) {
        txf_log_info(env->log, "scheduler: stopping; interrupting the "
                               "running run");
        kill(s.child, SIGTERM);
        int st;
        while (waitpid(s.child, &st, 0) < 0 && errno == EINTR)
          ;
        s.child = -1;
      }
      txf_log_info(env->log, "scheduler: stopped");
      break;
    }
    reap(&s);
    int64_t m = txf_mono_us();
    if (m >= next_check_mono || s.child > 0) {
      now = txf_clock_now(env->clock);
      rc = check_sla(&s, now, err);
      if (rc)
        break;
      if (s.child <= 0) {
        txf_date d;
        int found = 0;
        rc = next_pending(&s, now, &d, &found, err);
        if (rc)
          break;
        if (found) {
          rc = spawn_run(&s, d, now, err);
          continue;
        }
        /* nothing left to run: the day's vacuum */
        rc = daily_vacuum(&s, now, err);
        if (rc)
          break;
        if (opts->once)
          break;
      }
      next_check_mono = m + idle_tick;
    }
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (s.child > 0) {
    kill(s.child, SIGTERM);
    int st;
    while (waitpid(s.child, &st, 0) < 0 && errno == EINTR)
      ;
  }
  free(s.tried);
  txf_tz_free(s.tz);
  return rc;
}
