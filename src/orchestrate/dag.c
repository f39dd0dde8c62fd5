/* The DAG of a project and its per-task settings, from txnflow.yml. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrate/orchestrate.h"

static const char *const task_keys[] = {
    "command", "retries", "retry_delay", "retry_backoff", "max_retry_delay",
    "timeout", "enabled", "batch", NULL};

char *txf_duration_format(int64_t us, char *out) {
  if (us < 0)
    us = 0;
  if (us < 10 * TXF_US_PER_S)
    snprintf(out, 32, "%.1fs", (double)us / 1e6);
  else if (us < 60 * TXF_US_PER_S)
    snprintf(out, 32, "%ds", (int)(us / TXF_US_PER_S));
  else if (us < 3600 * TXF_US_PER_S)
    snprintf(out, 32, "%dm%02ds", (int)(us / 60000000),
             (int)(us / TXF_US_PER_S % 60));
  else
    snprintf(out, 32, "%dh%02dm", (int)(us / 3600000000LL),
             (int)(us / 60000000 % 60));
  return out;
}

int64_t txf_task_retry_delay(const txf_task_spec *spec, int n) {
  double d = (double)spec->retry_delay_us;
  for (int i = 1; i < n && d < (double)spec->max_retry_delay_us; i++)
    d *= spec->retry_backoff;
  if (spec->max_retry_delay_us > 0 && d > (double)spec->max_retry_delay_us)
    d = (double)spec->max_retry_delay_us;
  return (int64_t)d;
}

void txf_clock_init(txf_clock *c, int64_t base_us) {
  c->mono0_us = txf_mono_us();
  c->base_us = base_us ? base_us : txf_wall_us();
}

int64_t txf_clock_now(const txf_clock *c) {
  return c->base_us + (txf_mono_us() - c->mono0_us);
}

static void add_task(txf_dag *dag, const char *name, txf_task_kind kind,
                     int parallel, const txf_task_settings *d) {
  dag->tasks = txf_xrealloc(dag->tasks, (dag->n_tasks + 1) * sizeof *dag->tasks);
  txf_task_spec *t = &dag->tasks[dag->n_tasks++];
  memset(t, 0, sizeof *t);
  t->name = txf_xstrdup(name);
  t->kind = kind;
  t->parallel = parallel;
  t->retries = d->retries;
  t->retry_delay_us = d->retry_delay_us;
  t->retry_backoff = d->backoff;
  t->max_retry_delay_us = d->max_retry_delay_us;
  t->timeout_us = d->timeout_us;
}

/* Apply tasks.NAME to the task at index I; *enabled tells whether to keep
 * it. */
static int apply_override(const txf_yaml_doc *doc, const txf_yaml_node *tn,
                          txf_task_spec *t, int *enabled, txf_err *err) {
  *enabled = 1;
  if (txf_yaml_kind(tn) != TXF_YAML_MAP)
    return txf_yaml_error(doc, tn, err, "tasks.%s: expected a map", t->name);
  char where[96];
  snprintf(where, sizeof where, "tasks.%s", t->name);
  int rc = txf_yaml_check_keys(doc, tn, task_keys, where, err);
  if (rc)
    return rc;
  txf_task_settings d = {t->retries, t->retry_delay_us, t->max_retry_delay_us,
                         t->timeout_us, t->retry_backoff};
  if ((rc = txf_task_settings_read(doc, tn, &d, err)))
    return rc;
  t->retries = d.retries;
  t->retry_delay_us = d.retry_delay_us;
  t->max_retry_delay_us = d.max_retry_delay_us;
  t->timeout_us = d.timeout_us;
  t->retry_backoff = d.backoff;
  const char *cmd = NULL;
  if ((rc = txf_yaml_get_str(doc, tn, "command", NULL, &cmd, err)))
    return rc;
  if (cmd) {
    free(t->command);
    t->command = txf_xstrdup(cmd);
  }
  if ((rc = txf_yaml_get_bool(doc, tn, "enabled", 1, enabled, err)))
    return rc;
  /* batch: may one models build stand for several dates (backfill)? The
   * built-in `models build` may (its contract is var('dates')); a command
   * is opaque, so only when the project says so. */
  int batch = -1;
  if ((rc = txf_yaml_get_bool(doc, tn, "batch", -1, &batch, err)))
    return rc;
  if (batch >= 0 && t->kind != TXF_TASK_MODELS)
    return txf_yaml_error(doc, txf_yaml_get(tn, "batch"), err,
                          "tasks.%s: 'batch' applies only to the models task",
                          t->name);
  if (t->kind == TXF_TASK_MODELS)
    t->batch = batch >= 0 ? batch : !t->command;
  if (t->kind == TXF_TASK_CUSTOM && !t->command && *enabled)
    return txf_yaml_error(doc, tn, err,
                          "tasks.%s: a custom task needs a 'command'",
                          t->name);
  return 0;
}

void txf_dag_free(txf_dag *dag) {
  if (!dag)
    return;
  for (size_t i = 0; i < dag->n_tasks; i++) {
    free(dag->tasks[i].name);
    free(dag->tasks[i].command);
  }
  TXF_FREE_ALL(dag->tasks, dag->on_failure, dag->on_sla_miss, dag);
}

txf_dag *txf_dag_revert(const txf_dag *daily) {
  txf_dag *r = txf_xcalloc(1, sizeof *r);
  *r = *daily;
  r->tasks = NULL;
  r->n_tasks = 0;
  r->on_failure = daily->on_failure ? txf_xstrdup(daily->on_failure) : NULL;
  r->on_sla_miss = NULL; /* a revert run has no SLA */
  int idx = txf_dag_find(daily, "clean");
  /* the revert stands where clean stood, with its settings: it is a lake
   * commit as crash-safe as a clean, so retrying it is as safe */
  const txf_task_spec *c = &daily->tasks[idx >= 0 ? idx : 0];
  txf_task_settings d = {c->retries, c->retry_delay_us, c->max_retry_delay_us,
                         c->timeout_us, c->retry_backoff};
  add_task(r, "revert", TXF_TASK_REVERT, 0, &d);
  for (size_t i = idx >= 0 ? (size_t)idx + 1 : 0; i < daily->n_tasks; i++) {
    const txf_task_spec *t = &daily->tasks[i];
    if (t->kind == TXF_TASK_GENERATE || t->kind == TXF_TASK_SENSOR ||
        t->kind == TXF_TASK_CLEAN)
      continue;
    r->tasks = txf_xrealloc(r->tasks, (r->n_tasks + 1) * sizeof *r->tasks);
    txf_task_spec *n = &r->tasks[r->n_tasks++];
    *n = *t;
    n->name = txf_xstrdup(t->name);
    n->command = t->command ? txf_xstrdup(t->command) : NULL;
  }
  return r;
}

int txf_dag_find(const txf_dag *dag, const char *name) {
  for (size_t i = 0; i < dag->n_tasks; i++)
    if (!strcmp(dag->tasks[i].name, name))
      return (int)i;
  return -1;
}

static void remove_task(txf_dag *dag, size_t i) {
  free(dag->tasks[i].name);
  free(dag->tasks[i].command);
  memmove(&dag->tasks[i], &dag->tasks[i + 1],
          (dag->n_tasks - i - 1) * sizeof *dag->tasks);
  dag->n_tasks--;
}

int txf_dag_load(txf_dag **out, const txf_project *p, txf_err *err) {
  *out = NULL;
  const txf_yaml_doc *doc = p->doc;
  const txf_yaml_node *root = txf_yaml_root(doc);
  txf_dag *dag = txf_xcalloc(1, sizeof *dag);
  txf_task_settings d;
  txf_task_settings_default(&d);
  int rc = txf_task_settings_read(doc, root, &d, err);
  const char *s;
  if (!rc && !(rc = txf_yaml_get_str(doc, root, "on_failure", NULL, &s, err)))
    dag->on_failure = s && *s ? txf_xstrdup(s) : NULL;
  if (!rc && !(rc = txf_yaml_get_str(doc, root, "on_sla_miss", NULL, &s, err)))
    dag->on_sla_miss = s && *s ? txf_xstrdup(s) : NULL;
  dag->poke_interval_us = 60 * TXF_US_PER_S;
  dag->sensor_timeout_us = 6 * 3600 * TXF_US_PER_S;
  const txf_yaml_node *feed = txf_yaml_get(root, "feed");
  if (!rc && feed && txf_yaml_kind(feed) == TXF_YAML_MAP) {
    rc =
        txf_yaml_get_duration(doc, feed, "poke_interval", dag->poke_interval_us,
                              &dag->poke_interval_us, err);
    if (!rc)
      rc = txf_yaml_get_duration(doc, feed, "sensor_timeout",
                                 dag->sensor_timeout_us,
                                 &dag->sensor_timeout_us, err);
    /* feed.wait: the landed feed's name for it (docs/feed.md) */
    if (!rc)
      rc = txf_yaml_get_duration(doc, feed, "wait", dag->sensor_timeout_us,
                                 &dag->sensor_timeout_us, err);
  }
  dag->feed_rows = p->feed_rows;
  dag->feed_seed = p->feed_seed;
  dag->sla_secs = -1;
  if (p->sla) {
    int hh = 0, mm = 0;
    if (sscanf(p->sla, "%d:%d", &hh, &mm) == 2)
      dag->sla_secs = hh * 3600 + mm * 60;
  }
  if (rc) {
    txf_dag_free(dag);
    return rc;
  }
  /* The built-in chain. */
  int landed = p->feed && !strcmp(p->feed, "landed");
  if (landed)
    add_task(dag, "sensor", TXF_TASK_SENSOR, 1, &d);
  else
    add_task(dag, "generate", TXF_TASK_GENERATE, 1, &d);
  add_task(dag, "clean", TXF_TASK_CLEAN, 0, &d);
  /* The load comes before the models, so models on its warehouse see the
   * day's silver; publish (S3) comes last, after the marts exist. */
  txf_project_load_section load;
  rc = txf_project_load_section_read(&load, p, err);
  if (rc) {
    txf_dag_free(dag);
    return rc;
  }
  if (load.configured)
    add_task(dag, "load", TXF_TASK_LOAD, 0, &d);
  add_task(dag, "models", TXF_TASK_MODELS, 0, &d);
  dag->tasks[dag->n_tasks - 1].batch = 1;
  const txf_yaml_node *pub = txf_yaml_get(root, "publish");
  const txf_yaml_node *s3 = txf_yaml_get(pub, "s3");
  if (s3 && !txf_yaml_is_null(s3))
    add_task(dag, "publish", TXF_TASK_PUBLISH, 0, &d);
  /* A feed with card numbers: the run proves, last, that none got past
   * clean's tokenization into what it wrote (docs/card-data.md). */
  if (p->feed_pan)
    add_task(dag, "scan_pans", TXF_TASK_SCAN_PANS, 0, &d);
  /* A sensor waits rather than computes: its "timeout" is the sensor's. */
  if (landed) {
    dag->tasks[0].timeout_us = 0;
    dag->tasks[0].retries = 0;
  }

  /* tasks: overrides of built-ins, and custom tasks appended in order. */
  const txf_yaml_node *tasks = txf_yaml_get(root, "tasks");
  if (tasks && !txf_yaml_is_null(tasks)) {
    if (txf_yaml_kind(tasks) != TXF_YAML_MAP) {
      rc = txf_yaml_error(doc, tasks, err, "key 'tasks': expected a map");
      txf_dag_free(dag);
      return rc;
    }
    size_t n = txf_yaml_len(tasks);
    /* Disabled tasks are removed after all overrides are read. */
    char **disabled = txf_xcalloc(n + 1, sizeof *disabled);
    size_t n_disabled = 0;
    for (size_t i = 0; i < n && !rc; i++) {
      const char *name = txf_yaml_str(txf_yaml_key_at(tasks, i));
      const txf_yaml_node *tn = txf_yaml_at(tasks, i);
      int idx = txf_dag_find(dag, name);
      if (idx < 0) {
        /* The other feed's first task may be configured; ignore it. */
        if ((landed && !strcmp(name, "generate")) ||
            (!landed && !strcmp(name, "sensor")))
          continue;
        if (!strcmp(name, "publish")) {
          /* publish: with only `warehouse:` (the load's older spelling)
           * has a load task and no publish task */
          rc = txf_yaml_error(doc, tn, err,
                              pub && !txf_yaml_is_null(pub)
                                  ? "tasks.publish: 'publish' runs only "
                                    "when publish.s3 is configured (the "
                                    "warehouse load is the task 'load')"
                                  : "tasks.publish: 'publish' runs only "
                                    "when the top-level 'publish:' section "
                                    "is configured");
          break;
        }
        size_t l = strlen(name);
        int ok = l > 0 && l < 32;
        for (size_t k = 0; ok && k < l; k++)
          ok = (name[k] >= 'a' && name[k] <= 'z') ||
               (name[k] >= '0' && name[k] <= '9') || name[k] == '_' ||
               name[k] == '-';
        if (!ok) {
          rc = txf_yaml_error(doc, txf_yaml_key_at(tasks, i), err,
                              "tasks: '%s' is not a task name ([a-z0-9_-], "
                              "up to 31 characters)",
                              name);
          break;
        }
        add_task(dag, name, TXF_TASK_CUSTOM, 0, &d);
        idx = (int)dag->n_tasks - 1;
      }
      int enabled;
      rc = apply_override(doc, tn, &dag->tasks[idx], &enabled, err);
      if (!rc && !enabled)
        disabled[n_disabled++] = dag->tasks[idx].name;
    }
    for (size_t k = 0; !rc && k < n_disabled; k++) {
      int idx = txf_dag_find(dag, disabled[k]);
      if (idx >= 0)
        remove_task(dag, (size_t)idx);
    }
    free(disabled);
    if (!rc && dag->n_tasks == 0)
      rc = txf_yaml_error(doc, tasks, err, "tasks: every task is disabled");
  }
  if (rc) {
    txf_dag_free(dag);
    return rc;
  }
  *out = dag;
  return 0;
}
