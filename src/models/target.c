/* The target M runs on: the profile's output (resolved by
 * project/target.c), its adapter, opened on first use, and how many models
 * are built at once. */
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"
#include "warehouse/warehouse.h"

int txf_models_target_load(txf_models *m, txf_err *err) {
  txf_target_opts to = {.target = m->opts->target,
                        .profiles_dir = m->opts->profiles_dir,
                        .home = m->opts->home,
                        .data_dir = m->opts->data_dir,
                        .app_name = "txnflow models"};
  int rc = txf_target_resolve(&m->target, m->project, &to, err);
  if (!rc && m->opts->warehouse_path) {
    if (m->target.keys)
      return txf_err_set(err, TXF_EUSAGE,
                         "target %s is %s: a build as of a lake version "
                         "writes a DuckDB file (--target a DuckDB output)",
                         m->target.name, m->target.type);
    free(m->target.path);
    m->target.path = txf_xstrdup(m->opts->warehouse_path);
  }
  return rc;
}

int txf_models_target_is_duck(const txf_models *m) {
  return !m->target.type || !strcmp(m->target.type, "duckdb");
}

char *txf_models_target_file(const txf_models *m, const char *name) {
  char *dir = m->opts->target_dir ? txf_xstrdup(m->opts->target_dir)
                                  : txf_path_join(m->project->dir, "target");
  if (!*name)
    return dir;
  char *p = txf_path_join(dir, name);
  free(dir);
  return p;
}

/* How long a build waits for readers that still hold the copy it is
 * about to write (they opened it before the last publish). */
#define READERS_WAIT_MS 60000

/* The DuckDB file target of M: written through its two copies
 * (warehouse.h) by a run that writes, read-only otherwise (in memory while
 * there is no file yet, so compile and test create none). */
static int open_duckdb(txf_models *m, txf_err *err) {
  const char *path = m->target.path;
  int file = path && strcmp(path, ":memory:") != 0;
  if (!file)
    return txf_adapter_open_duckdb(&m->adapter, path, 0, 0, err);
  if (m->opts->read_only)
    return txf_adapter_open_duckdb(&m->adapter,
                                   txf_fs_exists(path) ? path : NULL, 0,
                                   txf_fs_exists(path), err);
  int rc = txf_fs_mkdirs_parent(path, err);
  txf_duck *kept = NULL;
  if (!rc && !m->wh) {
    /* (debug: the copy brought up to the published one, decision 1801);
     * the catch-up's handle on it is the build's */
    int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
    rc = txf_wh_begin_open(&m->wh, path, READERS_WAIT_MS, m->opts->log, &kept,
                           err);
    txf_log_debug(m->opts->log, "warehouse: copy brought up: %.3fs (cpu %.3fs)",
                  (double)(txf_mono_us() - t0) / 1e6,
                  (double)(txf_cpu_us() - c0) / 1e6);
  }
  if (!rc && kept)
    m->adapter = txf_adapter_wrap_duckdb(kept);
  else if (!rc)
    rc = txf_adapter_open_duckdb(&m->adapter, txf_wh_path(m->wh), 0, 0, err);
  /* its commits checkpoint what they change, not every row group that
   * carries deletes (warehouse.h) */
  if (!rc)
    rc = txf_duck_hold(txf_adapter_duck(m->adapter), err);
  return rc;
}

int txf_models_publish(txf_models *m, txf_err *err) {
  txf_wh *w = m->wh;
  if (!w)
    return 0; /* a target written in place (PostgreSQL, in memory) */
  m->wh = NULL;
  /* (debug: what the build wrote is checkpointed with the publish's
   * record, through the build's handle, before the close, which would
   * checkpoint it in full) */
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
  int recorded = 0;
  if (m->adapter) {
    txf_err e;
    recorded = !txf_wh_record(w, txf_adapter_duck(m->adapter), &e);
    if (!recorded) {
      txf_log_debug(m->opts->log,
                    "warehouse: not recorded before the close (%s): the "
                    "publish does",
                    e.msg);
      if (txf_wh_checkpoint(w, txf_adapter_duck(m->adapter), &e))
        txf_log_debug(m->opts->log,
                      "warehouse: not checkpointed before the close (%s): "
                      "the close does",
                      e.msg);
    }
    txf_adapter_close(m->adapter);
    m->adapter = NULL;
  }
  int64_t t1 = txf_mono_us(), c1 = txf_cpu_us();
  int rc = txf_wh_publish(w, err);
  txf_log_debug(m->opts->log,
                "warehouse: %s %.3fs (cpu %.3fs), %s %.3fs (cpu %.3fs)",
                recorded ? "recorded and closed" : "closed",
                (double)(t1 - t0) / 1e6, (double)(c1 - c0) / 1e6,
                rc ? "publish failed after" : "published",
                (double)(txf_mono_us() - t1) / 1e6,
                (double)(txf_cpu_us() - c1) / 1e6);
  return rc;
}

int txf_models_adapter(txf_models *m, txf_adapter **out, txf_err *err) {
  if (!m->adapter) {
    /* DuckDB picks its own thread count (the cores) for each query;
     * --threads is how many models are built at once. */
    int rc = m->target.keys
                 ? txf_adapter_open_postgres(
                       &m->adapter, (const char *const *)m->target.keys,
                       (const char *const *)m->target.vals,
                       m->target.is_redshift, err)
                 : open_duckdb(m, err);
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
