/* The commands that run a project: seed, run, test, build (models and
 * tests in graph order through the pool, with write-audit-publish in
 * build) and compile. */
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"

/* dbt's on-run-start / on-run-end (KEY): the project's SQL, a string or
 * a list, each rendered (on-run-end sees `schemas`, the schemas of the
 * selected models and seeds, and `database`) and run on M's connection,
 * a line printed for each. A failing hook fails the command. */
static int run_hooks(txf_models *m, const char *key, txf_err *err) {
  const txf_yaml_node *h = txf_yaml_get(txf_yaml_root(m->project->doc), key);
  if (!h || txf_yaml_is_null(h))
    return 0;
  int seq = txf_yaml_kind(h) == TXF_YAML_SEQ;
  txf_arena a;
  txf_arena_init(&a, 4096);
  txf_tval *extra = txf_tval_dict(&a);
  txf_tval *schemas = txf_tval_list(&a);
  for (size_t i = 0; i < m->n_nodes; i++) {
    if (!m->nodes[i].selected || m->nodes[i].kind == MN_TEST)
      continue;
    const char *sc = txf_models_schema(m, i);
    int seen = 0;
    for (size_t k = 0; k < schemas->len && !seen; k++)
      seen = !strcmp(schemas->items[k]->s, sc);
    if (!seen)
      txf_tval_push(&a, schemas, txf_tval_str(&a, sc));
  }
  txf_tval_set(&a, extra, "schemas", schemas);
  if (m->target.database)
    txf_tval_set(&a, extra, "database", txf_tval_str(&a, m->target.database));
  txf_adapter *ad = NULL;
  int rc = txf_models_adapter(m, &ad, err);
  for (size_t i = 0; !rc && i < (seq ? txf_yaml_len(h) : 1); i++) {
    const txf_yaml_node *e = seq ? txf_yaml_at(h, i) : h;
    if (txf_yaml_kind(e) != TXF_YAML_SCALAR) {
      rc = txf_yaml_error(m->project->doc, e, err,
                          "%s: expected SQL text or a list of it", key);
      break;
    }
    int64_t t0 = txf_mono_us();
    char *sql = NULL;
    rc = txf_models_render_hook(m, SIZE_MAX, txf_yaml_str(e), extra, &sql,
                                err);
    if (!rc && strspn(sql, " \t\r\n;") < strlen(sql)) {
      rc = ad->ops->exec(ad, sql, err);
      /* (it may delete a model's rows: the builds count them again) */
      if (!rc)
        rc = txf_models_rows_forget(ad, err);
    }
    free(sql);
    if (rc)
      txf_err_wrap(err, "%s hook %zu", key, i + 1);
    else
      txf_models_say(m, NULL, "  OK     hook        %s.%zu (%.2fs)", key,
                     i + 1, (double)(txf_mono_us() - t0) / 1e6);
  }
  txf_arena_release(&a);
  return rc;
}

/* The run's end: the manifest and run_results.json follow every run (a
 * problem writing them is a warning: they are a record, not the run);
 * then the summary's verdict. */
static int run_end(txf_models *m, const char *command, int64_t t0,
                   const txf_models_summary *s, txf_err *err) {
  txf_err aerr;
  txf_err_clear(&aerr);
  int64_t a0 = txf_mono_us(), c0 = txf_cpu_us();
  if (txf_models_artifacts_write(m, command, txf_mono_us() - t0, &aerr))
    txf_log_warn(m->opts->log, "models: target/ not written: %s", aerr.msg);
  txf_models_record_dates(m);
  txf_log_debug(m->opts->log, "models: artifacts and dates %.3fs (cpu %.3fs)",
                (double)(txf_mono_us() - a0) / 1e6,
                (double)(txf_cpu_us() - c0) / 1e6);
  /* readers now get what this run built (a warehouse in two copies) */
  int rc = txf_models_publish(m, err);
  if (rc)
    return rc;
  return txf_models_summary_finish(s, err);
}

static void results_reset(txf_models *m) {
  json_decref(m->results);
  m->results = json_array();
}

/* Build the selected nodes of the kinds asked: MODELS (not snapshots),
 * SEEDS, SNAPS (snapshots); AUDIT: write-audit-publish with tests.
 * COMMAND names the run in run_results.json. */
static int run_kinds(txf_models *m, const char *command, int models,
                     int seeds, int snaps, int audit, txf_models_summary *s,
                     txf_err *err) {
  memset(s, 0, sizeof *s);
  int64_t t0 = txf_mono_us();
  results_reset(m);
  int hrc = run_hooks(m, "on-run-start", err);
  if (hrc)
    return hrc;
  size_t *order, n;
  int rc = txf_models_graph_topo(m, audit, &order, &n, err);
  if (rc)
    return rc;
  for (size_t i = 0; i < m->n_nodes; i++) {
    m->nodes[i].state = ST_PENDING;
    m->nodes[i].run_pos = SIZE_MAX;
    m->nodes[i].settled = 0;
  }
  size_t n_run = 0;
  for (size_t k = 0; k < n; k++) {
    mnode *nd = &m->nodes[order[k]];
    int snap = nd->kind == MN_MODEL && !strcmp(nd->materialized, "snapshot");
    if (nd->selected && ((nd->kind == MN_MODEL && !snap && models) ||
                         (snap && snaps) || (nd->kind == MN_SEED && seeds))) {
      nd->run_pos = n_run;
      order[n_run++] = order[k];
    }
  }
  m->n_run = n_run;
  int by_change = 0;
  for (size_t k = 0; k < n_run; k++)
    by_change |= txf_models_is_changes(&m->nodes[order[k]]);
  if (models && n_run)
    rc = txf_models_rows_begin(m, err);
  if (!rc && by_change)
    rc = txf_models_changes_begin(m, err);
  runopts ro = {audit, s};
  if (!rc)
    rc = txf_models_pool_run(m, order, n_run, &ro, err);
  free(order);
  if (rc) {
    txf_models_changes_end(m);
    return rc;
  }
  if (audit) {
    /* singular tests that ref nothing */
    for (size_t t = 0; t < m->n_nodes; t++) {
      mnode *tn = &m->nodes[t];
      if (tn->kind == MN_TEST && tn->selected && tn->owner == SIZE_MAX)
        txf_models_test_count(m, NULL, t, NULL, s, NULL, NULL);
    }
  }
  txf_models_changes_end(m);
  rc = run_hooks(m, "on-run-end", err);
  return rc ? rc : run_end(m, command, t0, s, err);
}

int txf_models_run(txf_models *m, txf_models_summary *s, txf_err *err) {
  return run_kinds(m, "run", 1, 0, 0, 0, s, err);
}

int txf_models_seed(txf_models *m, txf_models_summary *s, txf_err *err) {
  return run_kinds(m, "seed", 0, 1, 0, 0, s, err);
}

int txf_models_snapshot(txf_models *m, txf_models_summary *s, txf_err *err) {
  return run_kinds(m, "snapshot", 0, 0, 1, 0, s, err);
}

int txf_models_build(txf_models *m, txf_models_summary *s, txf_err *err) {
  return run_kinds(m, "build", 1, 1, 1, 1, s, err);
}

int txf_models_test_writes(const txf_models *m) {
  const txf_yaml_node *root = txf_yaml_root(m->project->doc);
  if (txf_yaml_get(root, "on-run-start") || txf_yaml_get(root, "on-run-end"))
    return 1;
  for (size_t t = 0; t < m->n_nodes; t++)
    if (m->nodes[t].kind == MN_TEST && m->nodes[t].selected &&
        m->nodes[t].store_failures)
      return 1;
  return 0;
}

int txf_models_test(txf_models *m, txf_models_summary *s, txf_err *err) {
  memset(s, 0, sizeof *s);
  int64_t t0 = txf_mono_us();
  results_reset(m);
  int rc = run_hooks(m, "on-run-start", err);
  if (rc)
    return rc;
  for (size_t t = 0; t < m->n_nodes; t++) {
    mnode *tn = &m->nodes[t];
    if (tn->kind != MN_TEST || !tn->selected)
      continue;
    if (tn->owner != SIZE_MAX &&
        !strcmp(m->nodes[tn->owner].materialized ? m->nodes[tn->owner].materialized
                                                 : "",
                "ephemeral")) {
      txf_models_say(m, NULL, "  SKIP   %s (ephemeral models cannot be tested)",
                     tn->name);
      continue;
    }
    txf_models_test_count(m, NULL, t, NULL, s, NULL, NULL);
  }
  rc = run_hooks(m, "on-run-end", err);
  return rc ? rc : run_end(m, "test", t0, s, err);
}

/* ---------------------------------------------------------------- compile */

/* Model I of the changes strategy as a build by change renders it: its
 * input's change (changes()) is the relation the build fills,
 * _txnflow."delta__SCHEMA__IDENT" of the model it follows, or of the
 * silver source "src__SCHEMA__IDENT" of I itself (changes.c's names). */
static int compile_by_change(txf_models *m, size_t i, char **sql,
                             txf_err *err) {
  const mnode *n = &m->nodes[i];
  chg_render cr;
  memset(&cr, 0, sizeof cr);
  cr.incremental = 1;
  cr.tracked = SIZE_MAX;
  ssize_t t = n->chg_input ? txf_models_find(m, n->chg_input, MN_MODEL) : -1;
  size_t owner = t >= 0 ? (size_t)t : i;
  char *ident =
      txf_xasprintf("%s__%s__%s", t >= 0 ? "delta" : "src",
                    txf_models_schema(m, owner), txf_models_identifier(m, owner));
  char *rel = txf_duck_quote_rel("_txnflow", ident);
  cr.delta_rel = rel;
  int rc = txf_models_compile_changes(m, i, &cr, sql, err);
  free(rel);
  free(ident);
  return rc;
}

int txf_models_compile(txf_models *m, txf_err *err) {
  /* Compiling needs no warehouse (a Redshift project compiles on a
   * laptop): only an incremental model outside the changes strategy asks
   * it whether its table is there, and not with --full-refresh. */
  m->compiling = 1;
  int rc = 0;
  for (size_t i = 0; !rc && i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    if (!n->selected || n->kind == MN_SEED)
      continue;
    char *sql = NULL;
    if (n->kind == MN_TEST) {
      rc = txf_models_test_sql(m, i, NULL, &sql, err);
    } else {
      /* a model of the changes strategy compiles as for a full build, or
       * with --incremental as a build by change */
      int incr = m->opts->incremental &&
                 !strcmp(n->materialized, "incremental");
      if (incr && txf_models_is_changes(n)) {
        rc = compile_by_change(m, i, &sql, err);
        incr = -1;
      } else if (!incr && !strcmp(n->materialized, "incremental") &&
                 !txf_models_is_changes(n) && !m->opts->full_refresh) {
        txf_adapter *a;
        txf_rel_kind k = TXF_REL_NONE;
        rc = txf_models_adapter(m, &a, err);
        if (!rc)
          rc = a->ops->relation_kind(a, txf_models_schema(m, i),
                                     txf_models_identifier(m, i), &k, err);
        incr = k == TXF_REL_TABLE;
      }
      if (!rc && incr >= 0)
        rc = txf_models_compile_node(m, i, 0, incr, SIZE_MAX, NULL, &sql, err);
    }
    if (rc)
      break;
    char *rel = n->kind == MN_TEST && !n->rel_path
                    ? txf_xasprintf("tests/%s.sql", n->name)
                    : txf_xstrdup(n->rel_path);
    char *cdir = txf_models_target_file(m, "compiled");
    char *path = txf_path_join(cdir, rel);
    free(cdir);
    rc = txf_fs_mkdirs_parent(path, err);
    if (!rc) {
      char *text = txf_xasprintf("%s\n", sql);
      rc = txf_fs_write_atomic(path, text, strlen(text), err);
      free(text);
    }
    if (!rc)
      txf_models_say(m, NULL, "  compiled %s -> target/compiled/%s", n->name,
                     rel);
    free(n->compiled);
    n->compiled = sql;
    free(path);
    free(rel);
  }
  return rc;
}
