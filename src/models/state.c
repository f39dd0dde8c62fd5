/* A node as dbt's manifest (v12) identifies it — fqn, path, checksum, its
 * configs as written and in full, the macros it calls — and dbt's `state:`
 * selection method: a node compared with its entry in a previous
 * manifest (`--state DIR`). docs.c writes the manifest from these pieces,
 * graph.c selects with them; both compare the same values, so a build
 * whose manifest is kept as the state selects nothing the next time
 * unless a definition changed.
 *
 * dbt's definitions (docs: "Node selector methods", "the state method";
 * "Caveats to state comparison"): state:new is a node whose unique_id the
 * state manifest lacks; state:modified is new, or its body (a model's or
 * test's raw SQL, a seed's file), its configs (other than database /
 * schema / alias), its relation (those three), its fqn or a macro it calls
 * (directly or through other macros) changed; state:old and
 * state:unmodified are their complements. Where the docs are silent, as
 * dbt-core's selector does (core/dbt/graph/selector_methods.py, the config
 * classes' same_contents): tags and group are not compared, a test's
 * config only by the keys that change its verdict. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

/* ---------------------------------------------------------------- paths */

/* Node N's file relative to the resource path it was found in
 * ("marts/orders.sql" for "models/marts/orders.sql"), borrowed from N;
 * its generic tests' own name (as dbt names their compiled file). */
static const char *resource_path(const txf_models *m, const mnode *n) {
  const char *rel = n->rel_path;
  if (!rel)
    return n->yml_file ? n->yml_file : n->name;
  const txf_strlist *lists[] = {&m->model_paths, &m->seed_paths, &m->test_paths,
                                &m->snapshot_paths};
  for (size_t l = 0; l < TXF_ARRAY_LEN(lists); l++)
    for (size_t k = 0; k < lists[l]->n; k++) {
      size_t dl = strlen(lists[l]->v[k]);
      if (!strncmp(rel, lists[l]->v[k], dl) && rel[dl] == '/')
        return rel + dl + 1;
    }
  return rel;
}

static int is_generic(const mnode *n) {
  return n->kind == MN_TEST && n->gtest != GT_NONE && n->gtest != GT_UNIT;
}

char *txf_models_node_path(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  if (is_generic(n))
    return txf_xasprintf("%s.sql", n->name);
  if (n->gtest == GT_UNIT && n->yml_file) {
    mnode y = {.rel_path = n->yml_file};
    return txf_xstrdup(resource_path(m, &y));
  }
  return txf_xstrdup(resource_path(m, n));
}

json_t *txf_models_node_fqn(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  json_t *f = json_array();
  json_array_append_new(f, json_string(m->project->name));
  /* the folders of the file (of the schema.yml for generic and unit
   * tests), then (snapshots: the file's stem and) the name */
  mnode y = {.rel_path = n->rel_path ? n->rel_path : n->yml_file};
  const char *p = y.rel_path ? resource_path(m, &y) : "";
  for (const char *s = strchr(p, '/'); s; p = s + 1, s = strchr(p, '/'))
    json_array_append_new(f, json_stringn(p, (size_t)(s - p)));
  if (n->kind == MN_MODEL && !strcmp(n->materialized, "snapshot")) {
    char *stem = txf_models_stem(p);
    json_array_append_new(f, json_string(stem));
    free(stem);
  }
  if (n->gtest == GT_UNIT && n->owner != SIZE_MAX)
    json_array_append_new(f, json_string(m->nodes[n->owner].name));
  json_array_append_new(f, json_string(n->name));
  return f;
}

/* ---------------------------------------------------------------- checksum */

json_t *txf_models_node_checksum(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  char hex[65];
  if (n->gtest == GT_UNIT) {
    char *text = json_dumps(n->unit ? n->unit->def : NULL,
                            JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    txf_sha256_hex(text ? text : "", text ? strlen(text) : 0, hex);
    free(text);
    return json_string(hex);
  }
  /* dbt: generic tests have no file of their own */
  txf_err err;
  if (is_generic(n) || !n->abs_path ||
      txf_sha256_file(n->abs_path, hex, NULL, &err))
    return json_pack("{s:s, s:s}", "name", "none", "checksum", "");
  (void)m;
  return json_pack("{s:s, s:s}", "name", "sha256", "checksum", hex);
}

/* ---------------------------------------------------------------- configs */

json_t *txf_models_strlist_json(const txf_strlist *l) {
  json_t *a = json_array();
  for (size_t i = 0; i < l->n; i++)
    json_array_append_new(a, json_string(l->v[i]));
  return a;
}

/* A unique_key or check_cols as dbt keeps it: one column as a string. */
static json_t *cols_json(const txf_strlist *l) {
  return l->n == 1 ? json_string(l->v[0]) : txf_models_strlist_json(l);
}

static json_t *hooks_json(const txf_strlist *l) {
  json_t *a = json_array();
  for (size_t i = 0; i < l->n; i++)
    json_array_append_new(a,
                          json_pack("{s:s, s:b, s:I}", "sql", l->v[i],
                                    "transaction", 1, "index", (json_int_t)i));
  return a;
}

static void set_str(json_t *o, const char *k, const char *v) {
  if (v)
    json_object_set_new(o, k, json_string(v));
}

json_t *txf_models_node_unrendered(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  json_t *o = json_object();
  (void)m;
  int snap = n->kind == MN_MODEL && !strcmp(n->materialized, "snapshot");
  if (!n->enabled)
    json_object_set_new(o, "enabled", json_false());
  if (n->tags.n)
    json_object_set_new(o, "tags", txf_models_strlist_json(&n->tags));
  set_str(o, snap ? "target_schema" : "schema", n->schema);
  set_str(o, "alias", n->alias);
  if (n->pre_hooks.n)
    json_object_set_new(o, "pre-hook", txf_models_strlist_json(&n->pre_hooks));
  if (n->post_hooks.n)
    json_object_set_new(o, "post-hook",
                        txf_models_strlist_json(&n->post_hooks));
  if (n->kind == MN_MODEL) {
    if (strcmp(n->materialized, "view") && !snap)
      set_str(o, "materialized", n->materialized);
    if (n->unique_key.n)
      json_object_set_new(o, "unique_key", cols_json(&n->unique_key));
    set_str(o, "incremental_strategy", n->strategy);
    set_str(o, "cluster_by", n->cluster_by);
    set_str(o, "strategy", n->snap_strategy);
    set_str(o, "updated_at", n->snap_updated_at);
    if (n->snap_check_cols.n)
      json_object_set_new(o, "check_cols", cols_json(&n->snap_check_cols));
    set_str(o, "hard_deletes", n->snap_hard_deletes);
  } else if (n->kind == MN_SEED) {
    if (n->ct_names.n) {
      json_t *ct = json_object();
      for (size_t k = 0; k < n->ct_names.n; k++)
        json_object_set_new(ct, n->ct_names.v[k],
                            json_string(n->ct_types.v[k]));
      json_object_set_new(o, "column_types", ct);
    }
  } else if (n->gtest != GT_UNIT) {
    if (n->severity && strcmp(n->severity, "error"))
      set_str(o, "severity", n->severity);
    set_str(o, "where", n->where);
    set_str(o, "warn_if", n->warn_if);
    set_str(o, "error_if", n->error_if);
    set_str(o, "fail_calc", n->fail_calc);
    if (n->limit >= 0)
      json_object_set_new(o, "limit", json_integer(n->limit));
    if (n->store_failures)
      json_object_set_new(o, "store_failures", json_true());
    if (n->audit_full)
      json_object_set_new(o, "audit", json_string("full"));
  }
  return o;
}

json_t *txf_models_node_config(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  json_t *o = json_object();
  int snap = n->kind == MN_MODEL && !strcmp(n->materialized, "snapshot");
  json_object_set_new(o, "enabled", json_boolean(n->enabled));
  json_object_set_new(o, "tags", txf_models_strlist_json(&n->tags));
  json_object_set_new(o, "meta", json_object());
  if (n->gtest == GT_UNIT)
    return o;
  json_object_set_new(o, "alias",
                      n->alias ? json_string(n->alias) : json_null());
  json_object_set_new(o, "database", json_null());
  if (n->kind == MN_TEST) {
    char *audit = txf_xasprintf("%s_dbt_test__audit", m->target.schema);
    json_object_set_new(o, "schema", json_string(audit));
    free(audit);
    json_object_set_new(o, "materialized", json_string("test"));
    json_object_set_new(o, "severity", json_string(n->severity));
    json_object_set_new(o, "store_failures",
                        n->store_failures ? json_true() : json_null());
    json_object_set_new(o, "where",
                        n->where ? json_string(n->where) : json_null());
    json_object_set_new(o, "limit",
                        n->limit >= 0 ? json_integer(n->limit) : json_null());
    json_object_set_new(o, "fail_calc",
                        json_string(n->fail_calc ? n->fail_calc : "count(*)"));
    json_object_set_new(o, "warn_if",
                        json_string(n->warn_if ? n->warn_if : "!= 0"));
    json_object_set_new(o, "error_if",
                        json_string(n->error_if ? n->error_if : "!= 0"));
    if (n->audit_full)
      json_object_set_new(o, "audit", json_string("full"));
    return o;
  }
  json_object_set_new(o, "schema", json_string(txf_models_schema(m, i)));
  json_object_set_new(o, "materialized", json_string(n->materialized));
  json_object_set_new(o, "pre-hook", hooks_json(&n->pre_hooks));
  json_object_set_new(o, "post-hook", hooks_json(&n->post_hooks));
  json_object_set_new(o, "persist_docs", json_object());
  json_object_set_new(o, "quoting", json_object());
  json_object_set_new(o, "docs",
                      json_pack("{s:b, s:n}", "show", 1, "node_color"));
  if (n->kind == MN_SEED) {
    json_t *ct = json_object();
    for (size_t k = 0; k < n->ct_names.n; k++)
      json_object_set_new(ct, n->ct_names.v[k], json_string(n->ct_types.v[k]));
    json_object_set_new(o, "column_types", ct);
    json_object_set_new(o, "delimiter", json_string(","));
    return o;
  }
  json_object_set_new(o, "unique_key",
                      n->unique_key.n ? cols_json(&n->unique_key)
                                      : json_null());
  json_object_set_new(o, "incremental_strategy",
                      n->strategy ? json_string(n->strategy) : json_null());
  if (n->cluster_by)
    json_object_set_new(o, "cluster_by", json_string(n->cluster_by));
  if (snap) {
    json_object_set_new(o, "strategy",
                        json_string(n->snap_strategy ? n->snap_strategy : ""));
    json_object_set_new(o, "target_schema",
                        json_string(txf_models_schema(m, i)));
    json_object_set_new(o, "updated_at",
                        n->snap_updated_at ? json_string(n->snap_updated_at)
                                           : json_null());
    json_object_set_new(o, "check_cols",
                        n->snap_check_cols.n ? cols_json(&n->snap_check_cols)
                                             : json_null());
    json_object_set_new(
        o, "hard_deletes",
        json_string(n->snap_hard_deletes ? n->snap_hard_deletes : "ignore"));
  }
  return o;
}

/* ---------------------------------------------------------------- macros */

static int ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

/* 1 when TEXT calls NAME: "NAME(" (or "PKG.NAME(") not inside a longer
 * name, or dispatches to it ("dispatch('X'" for a NAME ending "__X"). */
static int text_calls(const char *text, const mmacro *mc) {
  const char *name = mc->name;
  size_t nl = strlen(name);
  for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
    if (ident_char(p[nl]))
      continue;
    const char *q = p + nl;
    while (*q == ' ')
      q++;
    if (*q != '(')
      continue;
    if (p > text && ident_char(p[-1]))
      continue;
    if (p > text && p[-1] == '.') {
      /* PKG.NAME: the package's macro only (adapter.NAME is no macro) */
      size_t pl = strlen(mc->package);
      if ((size_t)(p - 1 - text) < pl || strncmp(p - 1 - pl, mc->package, pl) ||
          (p - 1 - pl > text && ident_char(p[-2 - (ptrdiff_t)pl])))
        continue;
    }
    return 1;
  }
  const char *us = strstr(name, "__");
  if (us && us[2]) {
    const char *x = us + 2;
    size_t xl = strlen(x);
    for (const char *p = strstr(text, "dispatch("); p;
         p = strstr(p + 1, "dispatch(")) {
      const char *q = p + 9;
      while (*q == ' ')
        q++;
      if ((*q == '\'' || *q == '"') && !strncmp(q + 1, x, xl) &&
          q[1 + xl] == *q)
        return 1;
    }
  }
  return 0;
}

static int by_text(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Macros TEXT calls (SELF: a macro's own index, left out; SIZE_MAX: none)
 * as a sorted array of unique ids; a bare name is the caller's package's
 * macro when it has one (PKG), else the root project's, else any. */
static json_t *calls_json(const txf_models *m, const char *text, size_t self,
                          const char *pkg) {
  txf_strlist ids = {0};
  for (size_t k = 0; text && k < m->n_macros; k++) {
    const mmacro *mc = &m->macros[k];
    if (k == self || !text_calls(text, mc))
      continue;
    /* another macro of the same name that the caller would find first */
    int shadowed = 0;
    for (size_t j = 0; j < m->n_macros && !shadowed; j++) {
      const mmacro *o = &m->macros[j];
      if (j == k || strcmp(o->name, mc->name))
        continue;
      if (!strcmp(o->package, pkg) && strcmp(mc->package, pkg))
        shadowed = 1;
      else if (strcmp(mc->package, pkg) &&
               !strcmp(o->package, m->project->name) &&
               strcmp(mc->package, m->project->name))
        shadowed = 1;
    }
    if (shadowed)
      continue;
    char *id = txf_xasprintf("macro.%s.%s", mc->package, mc->name);
    if (!txf_strlist_has(&ids, id))
      txf_strlist_push(&ids, id);
    free(id);
  }
  if (ids.n)
    qsort(ids.v, ids.n, sizeof *ids.v, by_text);
  json_t *a = txf_models_strlist_json(&ids);
  txf_strlist_release(&ids);
  return a;
}

json_t *txf_models_macro_calls(const txf_models *m, size_t k) {
  return calls_json(m, m->macros[k].sql, k, m->macros[k].package);
}

json_t *txf_models_node_macros(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  if (n->gtest == GT_CUSTOM && n->test_macro) {
    /* the test's macro: test_NAME of its package (PKG.NAME) or found as
     * a bare name */
    const char *dot = strchr(n->test_macro, '.');
    char *name = txf_xasprintf("test_%s", dot ? dot + 1 : n->test_macro);
    char *pkg =
        dot ? txf_xstrndup(n->test_macro, (size_t)(dot - n->test_macro)) : NULL;
    json_t *a = json_array();
    ssize_t best = -1;
    for (size_t k = 0; k < m->n_macros; k++)
      if (!strcmp(m->macros[k].name, name) &&
          (pkg ? !strcmp(m->macros[k].package, pkg)
               : best < 0 || !strcmp(m->macros[k].package, m->project->name)))
        best = (ssize_t)k;
    if (best >= 0) {
      char *id = txf_xasprintf("macro.%s.%s", m->macros[best].package, name);
      json_array_append_new(a, json_string(id));
      free(id);
    }
    free(name);
    free(pkg);
    return a;
  }
  if (n->kind == MN_SEED || is_generic(n) || n->gtest == GT_UNIT)
    return json_array();
  return calls_json(m, n->raw, SIZE_MAX, m->project->name);
}

/* ---------------------------------------------------------------- state: */

int txf_models_state_load(txf_models *m, txf_err *err) {
  if (m->state)
    return 0;
  const char *dir = m->opts->state_dir;
  if (!dir || !*dir)
    return txf_err_set(err, TXF_EUSAGE,
                       "state: needs --state DIR (a previous target/ with "
                       "manifest.json)");
  char *path = txf_path_join(dir, "manifest.json");
  int rc = 0;
  if (!txf_fs_exists(path)) {
    rc = txf_err_set(err, TXF_EUSAGE,
                     "--state %s: no manifest.json there (give the target/ "
                     "of the build to compare with, or a copy of it)",
                     dir);
  } else {
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc)
      rc = txf_err_set(err, TXF_EPARSE, "%s:%d: not JSON: %s", path, je.line,
                       je.text);
    else if (!json_is_object(json_object_get(doc, "nodes")))
      rc = txf_err_set(err, TXF_EPARSE,
                       "%s: not a dbt manifest (no \"nodes\" object)", path);
    if (rc)
      json_decref(doc);
    else
      m->state = doc;
  }
  free(path);
  return rc;
}

/* Node I's entry in the state manifest (nodes, or unit_tests), or NULL. */
static json_t *old_entry(const txf_models *m, size_t i) {
  char *id = txf_models_unique_id(m, i);
  json_t *o = json_object_get(json_object_get(m->state, "nodes"), id);
  if (!o)
    o = json_object_get(json_object_get(m->state, "unit_tests"), id);
  free(id);
  return o;
}

static int relation_key(const char *k) {
  return !strcmp(k, "database") || !strcmp(k, "schema") || !strcmp(k, "alias");
}

/* What dbt-core compares of a config (its config classes'
 * same_contents): every key but the relation's and tags and group; of a
 * test's, only the keys that change its verdict. */
static int compared_key(const char *k, int test) {
  static const char *const test_keys[] = {
      "severity",   "where",    "limit",          "fail_calc",
      "warn_if",    "error_if", "store_failures", "store_failures_as",
      "sql_header", NULL};
  if (test) {
    for (size_t i = 0; test_keys[i]; i++)
      if (!strcmp(k, test_keys[i]))
        return 1;
    return 0;
  }
  return !relation_key(k) && strcmp(k, "tags") && strcmp(k, "group");
}

/* CFG's relation keys (REL 1) or its compared keys (REL 0, of a test when
 * TEST); a new object. */
static json_t *config_part(json_t *cfg, int rel, int test) {
  json_t *o = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(cfg, k, v) {
    if (rel ? relation_key(k) : compared_key(k, test))
      json_object_set(o, k, v);
  }
  return o;
}

static int differs_config(const txf_models *m, size_t i, json_t *old, int rel) {
  json_t *now = txf_models_node_unrendered(m, i);
  json_t *was = json_object_get(old, "unrendered_config");
  int test = m->nodes[i].kind == MN_TEST;
  json_t *a = config_part(now, rel, test), *b = config_part(was, rel, test);
  int d = !json_equal(a, b);
  json_decref(a);
  json_decref(b);
  json_decref(now);
  return d;
}

static int differs_body(const txf_models *m, size_t i, json_t *old) {
  const mnode *n = &m->nodes[i];
  if (is_generic(n))
    return 0; /* dbt: a generic test is its config and fqn */
  json_t *now = txf_models_node_checksum(m, i);
  json_t *was = json_object_get(old, "checksum");
  int d;
  const char *raw = json_string_value(json_object_get(old, "raw_code"));
  if (n->raw && raw && n->kind != MN_SEED)
    d = strcmp(n->raw, raw) != 0; /* dbt compares the raw code */
  else if (json_is_object(now))
    d = !json_equal(json_object_get(now, "checksum"),
                    json_object_get(was, "checksum"));
  else
    d = !json_equal(now, was);
  json_decref(now);
  return d;
}

static int macro_changed(const txf_models *m, size_t k, char *seen);

/* 1 when one of the macros CALLS names (unique ids) changed. */
static int any_changed(const txf_models *m, json_t *calls, char *seen) {
  int d = 0;
  size_t ci;
  json_t *c;
  json_array_foreach(calls, ci, c) {
    for (size_t j = 0; !d && j < m->n_macros; j++) {
      char *jid =
          txf_xasprintf("macro.%s.%s", m->macros[j].package, m->macros[j].name);
      if (!strcmp(jid, json_string_value(c)))
        d = macro_changed(m, j, seen);
      free(jid);
    }
  }
  return d;
}

/* 1 when macro K (or one it calls, however deep) is new or its SQL
 * differs in the state manifest; SEEN guards cycles. */
static int macro_changed(const txf_models *m, size_t k, char *seen) {
  if (seen[k])
    return 0;
  seen[k] = 1;
  const mmacro *mc = &m->macros[k];
  char *id = txf_xasprintf("macro.%s.%s", mc->package, mc->name);
  json_t *old = json_object_get(json_object_get(m->state, "macros"), id);
  free(id);
  const char *sql = json_string_value(json_object_get(old, "macro_sql"));
  if (!sql || strcmp(sql, mc->sql))
    return 1;
  json_t *calls = txf_models_macro_calls(m, k);
  int d = any_changed(m, calls, seen);
  json_decref(calls);
  return d;
}

static int differs_macros(const txf_models *m, size_t i) {
  json_t *calls = txf_models_node_macros(m, i);
  char *seen = txf_xcalloc(m->n_macros + 1, 1);
  int d = any_changed(m, calls, seen);
  free(seen);
  json_decref(calls);
  return d;
}

int txf_models_state_check(const char *value, txf_err *err) {
  static const char *const ok[] = {"new",
                                   "old",
                                   "modified",
                                   "unmodified",
                                   "modified.body",
                                   "modified.configs",
                                   "modified.relation",
                                   "modified.macros",
                                   NULL};
  for (size_t k = 0; ok[k]; k++)
    if (!strcmp(value, ok[k]))
      return 0;
  if (!strcmp(value, "modified.persisted_descriptions") ||
      !strcmp(value, "modified.contract"))
    return txf_err_set(err, TXF_EUSAGE,
                       "state:%s is not supported by txnflow (it has no "
                       "persist_docs or model contracts to compare)",
                       value);
  return txf_err_set(err, TXF_EUSAGE,
                     "state:%s: not a state selector (new, old, modified, "
                     "unmodified, modified.body, modified.configs, "
                     "modified.relation, modified.macros)",
                     value);
}

int txf_models_state_hit(const txf_models *m, size_t i, const char *value) {
  json_t *old = old_entry(m, i);
  if (!strcmp(value, "new"))
    return old == NULL;
  if (!strcmp(value, "old"))
    return old != NULL;
  /* dbt: a new node counts as modified, and for every subselector but
   * modified.macros (which asks only about the macros it calls) */
  if (!old && strcmp(value, "modified.macros"))
    return strcmp(value, "unmodified") != 0;
  if (!strcmp(value, "modified.body"))
    return differs_body(m, i, old);
  if (!strcmp(value, "modified.configs"))
    return differs_config(m, i, old, 0);
  if (!strcmp(value, "modified.relation"))
    return differs_config(m, i, old, 1);
  if (!strcmp(value, "modified.macros"))
    return differs_macros(m, i);
  json_t *fqn = txf_models_node_fqn(m, i);
  int mod = differs_body(m, i, old) || differs_config(m, i, old, 0) ||
            differs_config(m, i, old, 1) ||
            !json_equal(fqn, json_object_get(old, "fqn")) ||
            differs_macros(m, i);
  json_decref(fqn);
  return !strcmp(value, "modified") ? mod : !mod;
}
