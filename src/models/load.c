/* Loading a project's models: the parts (files.c, config.c, vars.c,
 * target.c, compile.c, graph.c) put together in order, and freed. */
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

void txf_models_free(txf_models *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    TXF_FREE_ALL(n->name, n->rel_path, n->abs_path, n->raw, n->materialized);
    txf_strlist_release(&n->unique_key);
    txf_strlist_release(&n->chg_kcols);
    TXF_FREE_ALL(n->strategy, n->cluster_by, n->chg_input, n->chg_hash,
                 n->audit_rel, n->schema, n->alias);
    txf_strlist_release(&n->tags);
    TXF_FREE_ALL(n->severity, n->where, n->warn_if, n->error_if, n->fail_calc,
                 n->test_macro);
    txf_models_unit_free(n->unit);
    txf_strlist_release(&n->pre_hooks);
    free(n->snap_strategy);
    free(n->snap_updated_at);
    txf_strlist_release(&n->snap_check_cols);
    free(n->snap_hard_deletes);
    txf_strlist_release(&n->post_hooks);
    free(n->description);
    for (size_t k = 0; k < n->n_cols; k++) {
      free(n->cols[k].name);
      free(n->cols[k].description);
      free(n->cols[k].data_type);
    }
    free(n->cols);
    txf_strlist_release(&n->ct_names);
    txf_strlist_release(&n->ct_types);
    free(n->column);
    txf_strlist_release(&n->values);
    TXF_FREE_ALL(n->rel_to, n->rel_field, n->yml_file, n->parents);
    txf_strlist_release(&n->refs);
    txf_strlist_release(&n->ref_pos);
    txf_strlist_release(&n->sources);
    free(n->tests);
    free(n->compiled);
  }
  free(m->nodes);
  json_decref(m->results);
  for (size_t i = 0; i < m->n_sources; i++) {
    TXF_FREE_ALL(m->sources[i].source, m->sources[i].table,
                 m->sources[i].schema, m->sources[i].identifier,
                 m->sources[i].external, m->sources[i].description,
                 m->sources[i].source_description, m->sources[i].yml_file);
  }
  free(m->sources);
  txf_yaml_free(m->vars_doc);
  txf_target_release(&m->target);
  /* a session still open (a run that stopped early): what was written is
   * published, so readers see the models that built */
  txf_err perr;
  if (txf_models_publish(m, &perr))
    txf_log_warn(m->opts->log, "models: %s", perr.msg);
  if (m->adapter)
    txf_adapter_close(m->adapter);
  txf_strlist_release(&m->model_paths);
  txf_strlist_release(&m->seed_paths);
  txf_strlist_release(&m->test_paths);
  txf_strlist_release(&m->macro_paths);
  txf_strlist_release(&m->snapshot_paths);
  txf_strlist_release(&m->packages);
  for (size_t i = 0; i < m->n_macros; i++)
    TXF_FREE_ALL(m->macros[i].name, m->macros[i].package, m->macros[i].path,
                 m->macros[i].sql);
  free(m->macros);
  json_decref(m->state);
  txf_tpl_env_free(m->env);
  txf_arena_release(&m->arena);
  free(m);
}

int txf_models_load(txf_models **out, const txf_project *p,
                    const txf_models_opts *opts, txf_err *err) {
  *out = NULL;
  txf_models *m = txf_xcalloc(1, sizeof *m);
  m->project = p;
  m->opts = opts;
  txf_arena_init(&m->arena, 256 * 1024);
  m->env = txf_tpl_env_new();
  txf_models_context_init(m);
  int rc = txf_models_paths_read(m, err);
  if (!rc)
    rc = txf_models_vars_load(m, err);
  if (!rc)
    rc = txf_models_dispatch_check(m, err);
  if (!rc)
    rc = txf_models_env_files_add(m, NULL, &m->macro_paths, ".sql",
                                  m->project->name, 0, err);
  if (!rc) {
    /* dbt's custom generic tests: {% test %} blocks in TEST_PATH/generic */
    txf_strlist gen = {0};
    for (size_t i = 0; i < m->test_paths.n; i++) {
      char *g = txf_path_join(m->test_paths.v[i], "generic");
      txf_strlist_push(&gen, g);
      free(g);
    }
    rc = txf_models_env_files_add(m, NULL, &gen, ".sql", m->project->name, 0,
                                  err);
    txf_strlist_release(&gen);
  }
  if (!rc)
    rc = txf_models_env_files_add(m, NULL, &m->model_paths, ".md", NULL, 0,
                                  err);
  /* installed packages after the root project: its macros win */
  if (!rc)
    rc = txf_models_packages_load(m, err);
  if (!rc)
    rc = txf_models_files_add(m, &m->model_paths, MN_MODEL, ".sql", err);
  for (size_t d = 0; !rc && d < m->model_paths.n; d++) {
    /* dbt's Python models: named, not skipped */
    txf_strlist py = {0};
    char *dir = txf_path_join(m->project->dir, m->model_paths.v[d]);
    txf_models_walk(dir, ".py", &py);
    if (py.n)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "%s/%s: Python models are not supported by txnflow "
                       "(write it in SQL)",
                       m->model_paths.v[d], py.v[0]);
    txf_strlist_release(&py);
    free(dir);
  }
  if (!rc)
    rc = txf_models_snapshot_files_add(m, err);
  if (!rc)
    rc = txf_models_files_add(m, &m->seed_paths, MN_SEED, ".csv", err);
  if (!rc)
    rc = txf_models_folder_configs_apply(m, err);
  if (!rc)
    rc = txf_models_schema_files_load(m, err);
  if (!rc) {
    /* singular tests: .sql files in the test paths */
    size_t before = m->n_nodes;
    rc = txf_models_files_add(m, &m->test_paths, MN_TEST, ".sql", err);
    for (size_t i = before; !rc && i < m->n_nodes; i++) {
      m->nodes[i].gtest = GT_NONE;
      rc = txf_models_test_defaults_apply(m, &m->nodes[i], err);
    }
  }
  if (!rc)
    rc = txf_models_target_load(m, err);
  /* parse-time render: refs, sources, config() */
  for (size_t i = 0; !rc && i < m->n_nodes; i++) {
    if (!m->nodes[i].tpl)
      continue;
    char *sql = NULL;
    rc = txf_models_compile_node(m, i, 1, 0, SIZE_MAX, NULL, &sql, err);
    free(sql);
  }
  if (!rc)
    rc = txf_models_graph_resolve(m, err);
  if (rc) {
    txf_models_free(m);
    return rc;
  }
  for (size_t i = 0; i < m->n_nodes; i++)
    m->nodes[i].selected = m->nodes[i].enabled;
  *out = m;
  return 0;
}
