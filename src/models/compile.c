/* Compiling a model: rendering its template with the dbt functions, and
 * inlining ephemeral models as CTEs. */
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "duck/duck.h"
#include "models/internal.h"

/* 1 when DIR holds a .parquet file at any depth. */
static int has_parquet(const char *dir, int depth) {
  if (depth > 16)
    return 0;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char *p = txf_path_join(dir, e->d_name);
    struct stat st;
    if (stat(p, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        found = has_parquet(p, depth + 1);
      else
        found = txf_str_has_suffix(e->d_name, ".parquet");
    }
    free(p);
  }
  closedir(d);
  return found;
}

/* The silver lake's contract schema, for a lake with no partition yet: the
 * models still compile and build (to empty relations). */
static const char silver_empty[] =
    "(SELECT NULL::VARCHAR AS transaction_id, NULL::VARCHAR AS customer_id, "
    "NULL::VARCHAR AS card_id, NULL::VARCHAR AS merchant_id, NULL::TIMESTAMP "
    "AS txn_ts, NULL::DECIMAL(18,2) AS amount, NULL::VARCHAR AS currency, "
    "NULL::VARCHAR AS mcc, NULL::VARCHAR AS status, NULL::BOOLEAN AS "
    "is_refund, NULL::VARCHAR AS channel, NULL::TIMESTAMP AS ingested_at, "
    "NULL::VARCHAR AS original_transaction_id, NULL::VARCHAR AS source_file, "
    "NULL::DATE AS ingest_date, NULL::VARCHAR AS card_token, NULL::VARCHAR "
    "AS card_bin, NULL::VARCHAR AS card_last4, NULL::VARCHAR AS card_key_id, "
    "NULL::BIGINT AS year, NULL::BIGINT AS month, NULL::BIGINT AS day WHERE "
    "false)";

static char *source_relation(txf_models *m, const char *src, const char *tbl,
                             txf_err *err) {
  for (size_t i = 0; i < m->n_sources; i++) {
    msource *s = &m->sources[i];
    if (strcmp(s->source, src) || strcmp(s->table, tbl))
      continue;
    if (s->external)
      return txf_xstrdup(s->external);
    char *a = txf_duck_quote_ident(s->schema);
    char *b = txf_duck_quote_ident(s->identifier);
    char *r = txf_xasprintf("%s.%s", a, b);
    free(a);
    free(b);
    return r;
  }
  if (!strcmp(src, "silver") && m->target.silver_table) {
    /* Built in, on a postgres/redshift target: the table `txnflow
     * publish` loads (one per silver table: silver_transactions). */
    char *ident = !strcmp(tbl, "transactions")
                      ? txf_xstrdup(m->target.silver_table)
                      : txf_xasprintf("silver_%s", tbl);
    char *a = txf_duck_quote_ident(m->target.silver_schema);
    char *b = txf_duck_quote_ident(ident);
    char *r = txf_xasprintf("%s.%s", a, b);
    free(a);
    free(b);
    free(ident);
    return r;
  }
  if (!strcmp(src, "silver")) {
    /* Built in: the clean step's Hive-partitioned lake, or its change log
     * (docs/silver.md), every version */
    int log = !strcmp(tbl, "changes");
    char *dir = log ? txf_xasprintf("%s/silver/_changes/transactions",
                                    m->opts->data_dir)
                    : txf_xasprintf("%s/silver/%s", m->opts->data_dir, tbl);
    char *r = NULL;
    if (has_parquet(dir, 0)) {
      char *glob = txf_xasprintf("%s/%s", dir,
                                 log ? "version=*/*.parquet" : "**/*.parquet");
      char *q = txf_duck_quote_str(glob);
      r = txf_xasprintf("read_parquet(%s, hive_partitioning = %s)", q,
                        log ? "false" : "true");
      free(q);
      free(glob);
    } else if (!strcmp(tbl, "transactions")) {
      r = txf_xstrdup(silver_empty);
    } else if (log) {
      txf_err_set(err, TXF_ENOTFOUND,
                  "source('silver', 'changes'): no change log under %s yet "
                  "(a clean writes it)",
                  dir);
    } else {
      txf_err_set(err, TXF_ENOTFOUND,
                  "source('silver', '%s'): no Parquet files under %s", tbl,
                  dir);
    }
    free(dir);
    return r;
  }
  txf_err_set(err, TXF_ENOTFOUND,
              "source('%s', '%s') is not declared in any schema.yml "
              "(sources: - name: %s, tables: - name: %s)",
              src, tbl, src, tbl);
  return NULL;
}

/* On a postgres/redshift target the silver source is a table `txnflow
 * publish` loads: say so when it is not there yet. */
static int check_warehouse_silver(txf_models *m, const char *tbl,
                                  const char *rel, txf_err *err) {
  txf_adapter *a;
  int rc = txf_models_adapter(m, &a, err);
  if (rc)
    return rc;
  for (size_t i = 0; i < m->n_sources; i++)
    if (!strcmp(m->sources[i].source, "silver") &&
        !strcmp(m->sources[i].table, tbl))
      return 0; /* declared: the user's mapping */
  char *ident = !strcmp(tbl, "transactions")
                    ? txf_xstrdup(m->target.silver_table)
                    : txf_xasprintf("silver_%s", tbl);
  txf_rel_kind k = TXF_REL_NONE;
  rc = a->ops->relation_kind(a, m->target.silver_schema, ident, &k, err);
  free(ident);
  if (!rc && k == TXF_REL_NONE)
    rc = txf_err_set(err, TXF_ENOTFOUND,
                     "source('silver', '%s'): %s does not exist on target "
                     "'%s'; load it with `txnflow publish --date D --only "
                     "warehouse` (publish.warehouse in txnflow.yml)",
                     tbl, rel, m->target.name);
  return rc;
}

typedef struct {
  txf_models *m;
  size_t node;
  int parse;
  int incremental;
  size_t over_node;
  const char *over_rel;
  txf_strlist ctes; /* ephemeral node indices, in order of first use */
  txf_tval *this_val;
  int refs_only;    /* parse: record refs and sources, not config */
  chg_render *cr;   /* the changes strategy's rendering, or NULL */
  const unit_mocks *mk; /* a unit test's given rows, or NULL */
} compile_host;

static const char *kw_str(const txf_tpl_args *a, const char *name) {
  for (size_t i = 0; i < a->n_kw; i++)
    if (!strcmp(a->kw_names[i], name) && a->kw[i]->type == TXF_TV_STR)
      return a->kw[i]->s;
  return NULL;
}

static void kw_list(const txf_tpl_args *a, const char *name, txf_strlist *out,
                    int replace) {
  for (size_t i = 0; i < a->n_kw; i++) {
    if (strcmp(a->kw_names[i], name))
      continue;
    if (replace)
      txf_strlist_release(out);
    const txf_tval *v = a->kw[i];
    if (v->type == TXF_TV_STR) {
      if (!txf_strlist_has(out, v->s))
        txf_strlist_push(out, v->s);
    } else if (v->type == TXF_TV_LIST) {
      for (size_t k = 0; k < v->len; k++)
        if (v->items[k]->type == TXF_TV_STR &&
            !txf_strlist_has(out, v->items[k]->s))
          txf_strlist_push(out, v->items[k]->s);
    }
  }
}

/* A snapshot's config(): dbt's snapshot configs. */
static int snapshot_config(compile_host *h, mnode *n, const txf_tpl_args *a,
                           txf_err *err) {
  const char *s;
  if ((s = kw_str(a, "strategy"))) {
    free(n->snap_strategy);
    n->snap_strategy = txf_xstrdup(s);
  }
  if ((s = kw_str(a, "updated_at"))) {
    free(n->snap_updated_at);
    n->snap_updated_at = txf_xstrdup(s);
  }
  if ((s = kw_str(a, "target_schema"))) {
    free(n->schema);
    n->schema = txf_xstrdup(s);
  }
  if ((s = kw_str(a, "target_database")) &&
      (!h->m->target.database || strcmp(s, h->m->target.database)))
    return txf_err_set(err, TXF_EPARSE,
                       "target_database='%s': snapshots are built in the "
                       "target's database ('%s')",
                       s, h->m->target.database ? h->m->target.database : "");
  kw_list(a, "check_cols", &n->snap_check_cols, 1);
  for (size_t i = 0; i < a->n_kw; i++) {
    const char *k = a->kw_names[i];
    if (!strcmp(k, "invalidate_hard_deletes") && txf_tval_truthy(a->kw[i])) {
      free(n->snap_hard_deletes);
      n->snap_hard_deletes = txf_xstrdup("invalidate");
    } else if (!strcmp(k, "dbt_valid_to_current") ||
               !strcmp(k, "snapshot_meta_column_names")) {
      return txf_err_set(err, TXF_EPARSE,
                         "snapshot config %s is not supported by txnflow", k);
    }
  }
  if ((s = kw_str(a, "hard_deletes"))) {
    if (strcmp(s, "ignore") && strcmp(s, "invalidate") &&
        strcmp(s, "new_record"))
      return txf_err_set(err, TXF_EPARSE,
                         "hard_deletes='%s' is not ignore, invalidate or "
                         "new_record",
                         s);
    free(n->snap_hard_deletes);
    n->snap_hard_deletes = txf_xstrdup(s);
  }
  return 0;
}

static int do_config(compile_host *h, const txf_tpl_args *a, txf_err *err) {
  mnode *n = &h->m->nodes[h->node];
  if (a->n)
    return txf_err_set(err, TXF_EPARSE,
                       "config() takes keyword arguments only");
  if (!h->parse || h->refs_only)
    return 0;
  const char *s;
  if ((s = kw_str(a, "materialized"))) {
    if (n->kind == MN_MODEL && strcmp(s, "view") && strcmp(s, "table") &&
        strcmp(s, "incremental") && strcmp(s, "ephemeral"))
      return txf_err_set(err, TXF_EPARSE,
                         "materialized='%s' is not view, table, incremental "
                         "or ephemeral",
                         s);
    free(n->materialized);
    n->materialized = txf_xstrdup(s);
  }
  if ((s = kw_str(a, "incremental_strategy"))) {
    if (strcmp(s, "merge") && strcmp(s, "delete+insert") &&
        strcmp(s, "append") && strcmp(s, "changes"))
      return txf_err_set(err, TXF_EPARSE,
                         "incremental_strategy='%s' is not merge, "
                         "delete+insert, append or changes",
                         s);
    free(n->strategy);
    n->strategy = txf_xstrdup(s);
  }
  if ((s = kw_str(a, "cluster_by"))) {
    free(n->cluster_by);
    n->cluster_by = txf_xstrdup(s);
  }
  if ((s = kw_str(a, "audit"))) {
    if (strcmp(s, "full") && strcmp(s, "changes"))
      return txf_err_set(err, TXF_EPARSE, "audit='%s' is not full or changes",
                         s);
    n->audit_full = !strcmp(s, "full");
  }
  if ((s = kw_str(a, "schema"))) {
    free(n->schema);
    n->schema = txf_xstrdup(s);
  }
  if ((s = kw_str(a, "alias"))) {
    free(n->alias);
    n->alias = txf_xstrdup(s);
  }
  if ((s = kw_str(a, "severity"))) {
    if (strcasecmp(s, "warn") && strcasecmp(s, "error"))
      return txf_err_set(err, TXF_EPARSE, "severity='%s' is not warn or error",
                         s);
    free(n->severity);
    n->severity = txf_xstrdup(strcasecmp(s, "warn") ? "error" : "warn");
  }
  for (size_t i = 0; i < a->n_kw; i++) {
    if (!strcmp(a->kw_names[i], "enabled"))
      n->enabled = txf_tval_truthy(a->kw[i]);
    /* a singular test's dbt test configs (limit=10, store_failures=true) */
    txf_buf b;
    txf_buf_init(&b, 4096);
    const txf_tval *v = a->kw[i];
    int r = 0;
    if (n->kind == MN_TEST && strcmp(a->kw_names[i], "severity") &&
        !txf_tval_print(&b, v))
      r = txf_models_test_config_set(
          n, a->kw_names[i],
          v->type == TXF_TV_BOOL ? (v->b ? "true" : "false")
                                 : (b.data ? b.data : ""),
          err);
    txf_buf_release(&b);
    if (r < 0)
      return err->code;
  }
  kw_list(a, "unique_key", &n->unique_key, 1);
  kw_list(a, "tags", &n->tags, 0);
  if (n->kind == MN_MODEL && !strcmp(n->materialized, "snapshot")) {
    int rc = snapshot_config(h, n, a, err);
    if (rc)
      return rc;
  }
  /* hooks add up (dbt): config(pre_hook="...") after the folders' */
  for (size_t i = 0; i < a->n_kw; i++) {
    const char *k = a->kw_names[i];
    txf_strlist *l = !strcmp(k, "pre_hook") || !strcmp(k, "pre-hook")
                         ? &n->pre_hooks
                     : !strcmp(k, "post_hook") || !strcmp(k, "post-hook")
                         ? &n->post_hooks
                         : NULL;
    const txf_tval *v = a->kw[i];
    for (size_t j = 0; l && j < (v->type == TXF_TV_LIST ? v->len : 1); j++) {
      const txf_tval *e = v->type == TXF_TV_LIST ? v->items[j] : v;
      if (e->type == TXF_TV_DICT && txf_tval_get(e, "sql"))
        e = txf_tval_get(e, "sql");
      if (e->type != TXF_TV_STR)
        return txf_err_set(err, TXF_EPARSE,
                           "%s: expected SQL text or a list of it", k);
      txf_strlist_push(l, e->s);
    }
  }
  return 0;
}

static int do_ref(compile_host *h, const txf_tpl_args *a, txf_tval **out,
                  txf_err *err) {
  if (a->n < 1 || a->n > 2 || a->v[a->n - 1]->type != TXF_TV_STR ||
      a->v[0]->type != TXF_TV_STR)
    return txf_err_set(err, TXF_EPARSE, "ref('model_name') takes a string");
  const char *name = a->v[a->n - 1]->s; /* ref('package', 'model') */
  txf_models *m = h->m;
  if (h->parse) {
    mnode *n = &m->nodes[h->node];
    if (!txf_strlist_has(&n->refs, name))
      txf_strlist_push(&n->refs, name);
    /* changes() learns from it which relation it follows */
    char *mark = txf_xasprintf("__ref__:%s", name);
    *out = txf_tval_str(a->arena, mark);
    free(mark);
    return 0;
  }
  ssize_t i = txf_models_find(m, name, MN_MODEL);
  if (i < 0)
    i = txf_models_find(m, name, MN_SEED);
  if (i < 0) {
    const char *c = txf_models_closest(m, name);
    return txf_err_set(err, TXF_ENOTFOUND, "ref('%s'): no such model%s%s%s",
                       name, c ? " (did you mean '" : "", c ? c : "",
                       c ? "'?)" : "");
  }
  if (h->mk && !h->parse) {
    /* a unit test: the given rows, and every ref must have them */
    if (!h->mk->node_rel[i])
      return txf_err_set(err, TXF_ECONFIG,
                         "ref('%s') has no given rows (a unit test gives "
                         "every ref and source of its model)",
                         name);
    *out = txf_tval_str(a->arena, h->mk->node_rel[i]);
    return 0;
  }
  if ((size_t)i == h->over_node) {
    *out = txf_tval_str(a->arena, h->over_rel);
    return 0;
  }
  if (h->cr && h->cr->input_rel && (size_t)i == h->cr->tracked) {
    *out = txf_tval_str(a->arena, h->cr->input_rel);
    return 0;
  }
  mnode *t = &m->nodes[i];
  if (t->kind == MN_MODEL && !strcmp(t->materialized, "ephemeral")) {
    char idx[32];
    snprintf(idx, sizeof idx, "%zd", i);
    if (!txf_strlist_has(&h->ctes, idx))
      txf_strlist_push(&h->ctes, idx);
    char *cte = txf_xasprintf("__dbt__cte__%s", t->name);
    *out = txf_tval_str(a->arena, cte);
    free(cte);
    return 0;
  }
  char *rel = txf_models_relation(m, (size_t)i);
  *out = txf_tval_str(a->arena, rel);
  free(rel);
  return 0;
}

static int do_var(compile_host *h, const txf_tpl_args *a, txf_tval **out,
                  txf_err *err) {
  if (a->n < 1 || a->n > 2 || a->v[0]->type != TXF_TV_STR)
    return txf_err_set(err, TXF_EPARSE, "var('name'[, default])");
  txf_tval *v = h->mk && h->mk->vars ? txf_tval_get(h->mk->vars, a->v[0]->s)
                                      : NULL;
  if (!v)
    v = txf_tval_get(h->m->vars, a->v[0]->s);
  if (v) {
    *out = v;
    return 0;
  }
  if (a->n == 2) {
    *out = a->v[1];
    return 0;
  }
  return txf_err_set(err, TXF_ECONFIG,
                     "required var '%s' is not set (give it with --vars "
                     "'{%s: ...}' or under vars: in the project file)",
                     a->v[0]->s, a->v[0]->s);
}

/* changes(relation): the rows of RELATION that changed since this model
 * was last built (docs/models.md, the changes strategy). The parse-time
 * pass learns which relation that is; a build renders what changes.c
 * prepared. */
static int do_changes(compile_host *h, const txf_tpl_args *a, txf_tval **out,
                      txf_err *err) {
  if (a->n != 1 || a->n_kw || a->v[0]->type != TXF_TV_STR)
    return txf_err_set(err, TXF_EPARSE,
                       "changes(relation) takes one relation: changes(ref("
                       "'model')) or changes(source('silver', "
                       "'transactions'))");
  mnode *n = &h->m->nodes[h->node];
  if (h->parse) {
    const char *v = a->v[0]->s, *name = NULL;
    if (!strncmp(v, "__ref__:", 8) || !strncmp(v, "__source__:", 11))
      name = strchr(v, ':') + 1;
    if (!name)
      return txf_err_set(err, TXF_EPARSE,
                         "changes() takes ref('model') or source(...), not "
                         "'%s'",
                         v);
    if (n->chg_input && strcmp(n->chg_input, name))
      return txf_err_set(err, TXF_EPARSE,
                         "changes() follows one relation per model: '%s' "
                         "and '%s'",
                         n->chg_input, name);
    free(n->chg_input);
    n->chg_input = txf_xstrdup(name);
    *out = txf_tval_str(a->arena, "__changes__");
    return 0;
  }
  if (!h->cr || !h->cr->incremental)
    return txf_err_set(err, TXF_EPARSE,
                       "changes() is known only in an incremental build of a "
                       "model with incremental_strategy='changes' (use it "
                       "inside {%% if is_incremental() %%})");
  if (!h->cr->delta_rel) {
    h->cr->unavailable = 1;
    *out = txf_tval_str(a->arena, "(SELECT 1)");
    return 0;
  }
  *out = txf_tval_str(a->arena, h->cr->delta_rel);
  return 0;
}

/* lookup(relation): where a model looks up by a finer key rows it found in
 * its tracked input (int_fraud_card_day joins its flags back by id for the
 * columns it shows). In a build by change of a model by group, ref() of the
 * tracked input renders as its rows of the keys to replace, a join on every
 * row read; lookup() renders as the input over the same cluster range, every
 * key, so that a join on the finer key decides first (decision 1503).
 * Anywhere else the relation itself. */
static int do_lookup(compile_host *h, const txf_tpl_args *a, txf_tval **out,
                     txf_err *err) {
  if (a->n != 1 || a->n_kw || a->v[0]->type != TXF_TV_STR)
    return txf_err_set(err, TXF_EPARSE,
                       "lookup(relation) takes one relation: lookup(ref("
                       "'model'))");
  const char *v = a->v[0]->s;
  if (!h->parse && h->cr && h->cr->input_rel && h->cr->lookup_rel &&
      !strcmp(v, h->cr->input_rel))
    v = h->cr->lookup_rel;
  *out = txf_tval_str(a->arena, v);
  return 0;
}

static int host_fn(void *hp, const char *name, const txf_tpl_args *a,
                   txf_tval **out, txf_err *err) {
  compile_host *h = hp;
  txf_models *m = h->m;
  if (h->node == SIZE_MAX &&
      (!strcmp(name, "ref") || !strcmp(name, "source") ||
       !strcmp(name, "config")))
    return txf_err_set(err, TXF_EPARSE, "%s() cannot be used here", name);
  if (!strcmp(name, "ref"))
    return do_ref(h, a, out, err);
  if (!strcmp(name, "source")) {
    if (a->n != 2 || a->v[0]->type != TXF_TV_STR ||
        a->v[1]->type != TXF_TV_STR)
      return txf_err_set(err, TXF_EPARSE,
                         "source('source_name', 'table_name') takes two "
                         "strings");
    if (h->parse) {
      char *key = txf_xasprintf("%s.%s", a->v[0]->s, a->v[1]->s);
      mnode *n = &m->nodes[h->node];
      if (!txf_strlist_has(&n->sources, key))
        txf_strlist_push(&n->sources, key);
      free(key);
    }
    if (h->mk && !h->parse) {
      char *key = txf_xasprintf("%s.%s", a->v[0]->s, a->v[1]->s);
      size_t k = 0;
      while (k < h->mk->src_keys->n && strcmp(h->mk->src_keys->v[k], key))
        k++;
      free(key);
      if (k == h->mk->src_keys->n)
        return txf_err_set(err, TXF_ECONFIG,
                           "source('%s', '%s') has no given rows (a unit "
                           "test gives every ref and source of its model)",
                           a->v[0]->s, a->v[1]->s);
      *out = txf_tval_str(a->arena, h->mk->src_rels->v[k]);
      return 0;
    }
    char *rel = source_relation(m, a->v[0]->s, a->v[1]->s, err);
    if (!rel)
      return err->code;
    int silver_tx = !strcmp(a->v[0]->s, "silver") &&
                    !strcmp(a->v[1]->s, "transactions");
    if (h->parse) {
      free(rel);
      rel = txf_xasprintf("__source__:%s.%s", a->v[0]->s, a->v[1]->s);
    } else if (silver_tx && h->cr && h->cr->tracked_silver &&
               h->cr->input_rel) {
      free(rel);
      *out = txf_tval_str(a->arena, h->cr->input_rel);
      return 0;
    }
    if (!h->parse && !m->compiling && m->target.silver_table &&
        !strcmp(a->v[0]->s, "silver")) {
      int rc = check_warehouse_silver(m, a->v[1]->s, rel, err);
      if (rc) {
        free(rel);
        return rc;
      }
    }
    *out = txf_tval_str(a->arena, rel);
    free(rel);
    return 0;
  }
  if (!strcmp(name, "config")) {
    int rc = do_config(h, a, err);
    if (!rc)
      *out = txf_tval_str(a->arena, "");
    return rc;
  }
  if (!strcmp(name, "var"))
    return do_var(h, a, out, err);
  if (!strcmp(name, "changes"))
    return do_changes(h, a, out, err);
  if (!strcmp(name, "lookup"))
    return do_lookup(h, a, out, err);
  if (!strcmp(name, "is_incremental")) {
    if (a->n || a->n_kw)
      return txf_err_set(err, TXF_EPARSE, "is_incremental() takes no arguments");
    *out = txf_tval_bool(a->arena, h->cr ? h->cr->incremental
                                         : h->incremental);
    return 0;
  }
  if (!strcmp(name, "adapter.dispatch"))
    return txf_models_dispatch(m, a, out, err);
  if (!strcmp(name, "env_var"))
    return txf_tpl_env_var(a, out, err);
  if (!strcmp(name, "doc")) {
    if (a->n != 1 || a->v[0]->type != TXF_TV_STR)
      return txf_err_set(err, TXF_EPARSE, "doc('name') takes a string");
    const char *d = txf_tpl_env_doc(m->env, a->v[0]->s);
    if (!d)
      return txf_err_set(err, TXF_ENOTFOUND,
                         "doc('%s'): no {%% docs %s %%} block in a .md file",
                         a->v[0]->s, a->v[0]->s);
    *out = txf_tval_str(a->arena, d);
    return 0;
  }
  return txf_models_context_fn(m, h->node, h->parse, name, a, out, err);
}

static txf_tval *make_globals(compile_host *h, txf_arena *a) {
  txf_models *m = h->m;
  txf_tval *g = txf_tval_dict(a);
  if (h->node != SIZE_MAX && m->nodes[h->node].kind != MN_TEST) {
    char *rel = h->over_node == h->node && h->over_rel
                    ? txf_xstrdup(h->over_rel)
                    : txf_models_relation(m, h->node);
    txf_models_context_globals(m, h->node, h->parse, rel, a, g);
    free(rel);
  } else {
    txf_models_context_globals(m, h->node, h->parse, NULL, a, g);
  }
  txf_tval *t = txf_tval_dict(a);
  txf_tval_set(a, t, "name",
               txf_tval_str(a, m->target.name ? m->target.name : "dev"));
  txf_tval_set(a, t, "type",
               txf_tval_str(a, m->target.type ? m->target.type : "duckdb"));
  txf_tval_set(a, t, "schema",
               txf_tval_str(a, m->target.schema ? m->target.schema : "main"));
  txf_tval_set(a, t, "threads", txf_tval_num(a, txf_models_threads(m)));
  if (m->target.database)
    txf_tval_set(a, t, "database", txf_tval_str(a, m->target.database));
  txf_tval_set(a, g, "target", t);
  txf_tval *p = txf_tval_dict(a);
  txf_tval_set(a, p, "name", txf_tval_str(a, m->project->name));
  txf_tval_set(a, g, "project_name", txf_tval_str(a, m->project->name));
  /* the pipeline's zone, for event dates on a warehouse without the lake's
   * partition columns */
  txf_tval_set(a, g, "project_timezone",
               txf_tval_str(a, m->project->timezone ? m->project->timezone
                                                    : "Asia/Seoul"));
  return g;
}

/* Skip whitespace and SQL comments; return the offset of the first token. */
static size_t skip_sql_space(const char *s) {
  size_t i = 0;
  for (;;) {
    while (s[i] && isspace((unsigned char)s[i]))
      i++;
    if (s[i] == '-' && s[i + 1] == '-') {
      while (s[i] && s[i] != '\n')
        i++;
    } else if (s[i] == '/' && s[i + 1] == '*') {
      const char *e = strstr(s + i + 2, "*/");
      i = e ? (size_t)(e - s) + 2 : strlen(s);
    } else {
      return i;
    }
  }
}

static int starts_kw(const char *s, const char *kw) {
  size_t n = strlen(kw);
  return !strncasecmp(s, kw, n) && !isalnum((unsigned char)s[n]) &&
         s[n] != '_';
}

/* Put "WITH __dbt__cte__x AS (...)" in front of SQL (merging with its own
 * WITH). Takes SQL; returns a new string. */
static char *inject_ctes(const char *sql, const char *ctes) {
  size_t i = skip_sql_space(sql);
  if (starts_kw(sql + i, "with")) {
    size_t j = i + 4;
    size_t r = j + skip_sql_space(sql + j);
    if (starts_kw(sql + r, "recursive")) {
      j = r + 9;
      r = j + skip_sql_space(sql + j);
    }
    return txf_xasprintf("%.*s %s, %s", (int)j, sql, ctes, sql + r);
  }
  return txf_xasprintf("with %s\n%s", ctes, sql);
}

static void trim_sql(char *s) {
  size_t n = strlen(s);
  while (n && (isspace((unsigned char)s[n - 1]) || s[n - 1] == ';'))
    s[--n] = 0;
}

static int render_node(txf_models *m, compile_host *h, size_t i, txf_buf *out,
                       txf_err *err) {
  mnode *n = &m->nodes[i];
  txf_arena a;
  txf_arena_init(&a, 64 * 1024);
  txf_tval *g = make_globals(h, &a);
  int rc = txf_tpl_render(n->tpl, m->env, g, host_fn, h, &a, out, err);
  txf_arena_release(&a);
  return rc;
}

/* Append ephemeral node E (after the ephemerals it uses) to CTES as
 * "__dbt__cte__e as (...)". ORDER holds the indices already there. */
static int collect_eph(txf_models *m, size_t e, size_t over_node,
                       const char *over_rel, txf_strlist *order, txf_buf *ctes,
                       int depth, txf_err *err) {
  char idx[32];
  snprintf(idx, sizeof idx, "%zu", e);
  if (txf_strlist_has(order, idx))
    return 0;
  if (depth > 32)
    return txf_err_set(err, TXF_EPARSE, "ephemeral models nested too deeply");
  compile_host eh = {
      .m = m, .node = e, .over_node = over_node, .over_rel = over_rel};
  txf_buf body;
  txf_buf_init(&body, TXF_TPL_MAX_OUT);
  int rc = render_node(m, &eh, e, &body, err);
  for (size_t k = 0; !rc && k < eh.ctes.n; k++)
    rc = collect_eph(m, (size_t)atol(eh.ctes.v[k]), over_node, over_rel,
                     order, ctes, depth + 1, err);
  if (!rc && !txf_strlist_has(order, idx)) {
    txf_strlist_push(order, idx);
    char *s = txf_buf_take(&body, NULL);
    trim_sql(s);
    if (txf_buf_printf(ctes, "%s__dbt__cte__%s as (\n%s\n)",
                       ctes->len ? ", " : "", m->nodes[e].name, s))
      rc = txf_err_set(err, TXF_ETOOBIG, "compiled SQL too large");
    free(s);
  }
  txf_buf_release(&body);
  txf_strlist_release(&eh.ctes);
  return rc;
}

static int compile(txf_models *m, size_t i, int parse, int incremental,
                   size_t over_node, const char *over_rel, chg_render *cr,
                   const unit_mocks *mk, char **out, txf_err *err) {
  *out = NULL;
  compile_host h = {.m = m,
                    .node = i,
                    .parse = parse,
                    .incremental = incremental,
                    .over_node = over_node,
                    .over_rel = over_rel,
                    .cr = cr,
                    .mk = mk};
  if (parse && m->nodes[i].kind == MN_MODEL) {
    /* A ref only the incremental branch makes is a dependency too (dbt
     * asks for a "-- depends_on:" comment; here it needs none). That
     * branch is checked when it is built, so its errors wait till then. */
    compile_host h2 = h;
    h2.incremental = 1;
    h2.refs_only = 1;
    txf_buf b2;
    txf_buf_init(&b2, TXF_TPL_MAX_OUT);
    txf_err e2;
    (void)render_node(m, &h2, i, &b2, &e2);
    txf_buf_release(&b2);
    txf_strlist_release(&h2.ctes);
  }
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  int rc = render_node(m, &h, i, &b, err);
  if (rc || parse || !h.ctes.n) {
    txf_strlist_release(&h.ctes);
    if (rc) {
      txf_buf_release(&b);
      return rc;
    }
    *out = txf_buf_take(&b, NULL);
    trim_sql(*out);
    return 0;
  }
  /* Ephemeral refs become CTEs, each after those it uses. */
  txf_strlist done = {0};
  txf_buf ctes;
  txf_buf_init(&ctes, TXF_TPL_MAX_OUT);
  for (size_t k = 0; !rc && k < h.ctes.n; k++)
    rc = collect_eph(m, (size_t)atol(h.ctes.v[k]), over_node, over_rel, &done,
                     &ctes, 0, err);
  txf_strlist_release(&done);
  if (!rc) {
    char *sql = txf_buf_take(&b, NULL);
    trim_sql(sql);
    *out = inject_ctes(sql, ctes.data ? ctes.data : "");
    free(sql);
  }
  txf_buf_release(&b);
  txf_buf_release(&ctes);
  txf_strlist_release(&h.ctes);
  return rc;
}

int txf_models_compile_node(txf_models *m, size_t i, int parse, int incremental,
                            size_t over_node, const char *over_rel, char **out,
                            txf_err *err) {
  return compile(m, i, parse, incremental, over_node, over_rel, NULL, NULL,
                 out, err);
}

int txf_models_compile_unit(txf_models *m, size_t i, const unit_mocks *mk,
                            int incremental, char **out, txf_err *err) {
  /* `this` is the given rows (over_node is the model itself) */
  char *self = mk->this_rel ? NULL : txf_models_relation(m, i);
  int rc = compile(m, i, 0, incremental, i, mk->this_rel ? mk->this_rel : self,
                   NULL, mk, out, err);
  free(self);
  return rc;
}

int txf_models_compile_changes(txf_models *m, size_t i, chg_render *cr,
                               char **out, txf_err *err) {
  return compile(m, i, 0, cr->incremental, SIZE_MAX, NULL, cr, NULL, out,
                 err);
}

int txf_models_render_hook(txf_models *m, size_t node, const char *text,
                           const txf_tval *extra, char **out, txf_err *err) {
  *out = NULL;
  txf_arena a;
  txf_arena_init(&a, 16 * 1024);
  txf_tpl *t;
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  compile_host h = {.m = m, .node = node, .over_node = SIZE_MAX};
  char *file = node != SIZE_MAX
                   ? txf_xasprintf("%s (hook)", m->nodes[node].rel_path)
                   : txf_xstrdup("hook");
  int rc = txf_tpl_parse(&t, &a, file, text, strlen(text), err);
  free(file);
  if (!rc) {
    txf_tval *g = make_globals(&h, &a);
    for (size_t i = 0; extra && i < extra->len; i++)
      txf_tval_set(&a, g, extra->keys[i], extra->items[i]);
    rc = txf_tpl_render(t, m->env, g, host_fn, &h, &a, &b, err);
  }
  txf_arena_release(&a);
  txf_strlist_release(&h.ctes);
  if (rc) {
    txf_buf_release(&b);
    return rc;
  }
  *out = txf_buf_take(&b, NULL);
  return 0;
}

char *txf_models_render_description(txf_models *m, const char *text,
                                    txf_err *err) {
  if (!text)
    return NULL;
  if (!strstr(text, "{{") && !strstr(text, "{%"))
    return txf_xstrdup(text);
  txf_arena a;
  txf_arena_init(&a, 16 * 1024);
  txf_tpl *t;
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  compile_host h = {.m = m, .node = SIZE_MAX, .over_node = SIZE_MAX,
                    .parse = 1};
  int rc = txf_tpl_parse(&t, &a, "description", text, strlen(text), err);
  if (!rc)
    rc = txf_tpl_render(t, m->env, NULL, host_fn, &h, &a, &b, err);
  txf_arena_release(&a);
  txf_strlist_release(&h.ctes);
  if (rc) {
    txf_buf_release(&b);
    return txf_xstrdup(text);
  }
  return txf_buf_take(&b, NULL);
}
