/* The target M runs on: the profile's output (resolved by
 * project/target.c), its adapter, opened on first use, and how many models
 * are built at once. */
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"

int txf_models_target_load(txf_models *m, txf_err *err) {
  txf_target_opts to = {.target = m->opts->target,
                        .profiles_dir = m->opts->profiles_dir,
                        .home = m->opts->home,
                        .data_dir = m->opts->data_dir,
                        .app_name = "txnflow models"};
  return txf_target_resolve(&m->target, m->project, &to, err);
}

int txf_models_adapter(txf_models *m, txf_adapter **out, txf_err *err) {
  if (!m->adapter) {
    if (m->target.path) {
      int rc = txf_fs_mkdirs_parent(m->target.path, err);
      if (rc)
        return rc;
    }
    /* DuckDB picks its own thread count (the cores) for each query;
     * --threads is how many models are built at once. */
    int rc = m->target.keys
                 ? txf_adapter_open_postgres(
                       &m->adapter, (const char *const *)m->target.keys,
                       (const char *const *)m->target.vals,
                       m->target.is_redshift, err)
                 : txf_adapter_open_duckdb(&m->adapter, m->target.path, 0, err);
    /* the output's settings: SET NAME = 'VALUE' (a name is letters,
     * digits and '_', checked with the profile) */
    for (size_t i = 0; !rc && m->target.settings && m->target.settings[i];
         i += 2) {
      char *v = txf_duck_quote_str(m->target.settings[i + 1]);
      char *sql = txf_xasprintf("SET %s = %s", m->target.settings[i], v);
      rc = m->adapter->ops->exec(m->adapter, sql, err);
      free(sql);
      free(v);
      if (rc)
        txf_err_wrap(err, "settings.%s", m->target.settings[i]);
    }
    /* dbt-duckdb's extensions, attach and database (project/target.c) */
    for (size_t i = 0; !rc && m->target.setup && m->target.setup[i]; i++) {
      rc = m->adapter->ops->exec(m->adapter, m->target.setup[i], err);
      if (rc)
        txf_err_wrap(err, "%s", m->target.setup[i]);
    }
    if (rc)
      return txf_err_wrap(err, "target '%s'", m->target.name);
  }
  *out = m->adapter;
  return 0;
}

int txf_models_threads(const txf_models *m) {
  if (m->opts->threads > 0)
    return m->opts->threads;
  return m->target.threads > 0 ? m->target.threads : 1;
}
