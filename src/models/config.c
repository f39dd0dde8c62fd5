/* Node configs: the folder blocks of txnflow.yml (`models:`, `seeds:`)
 * and schema.yml files (sources, descriptions, columns, configs, generic
 * tests). */
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = s ? txf_xstrdup(s) : NULL;
}

static const char *const config_keys[] = {
    "materialized", "unique_key", "incremental_strategy", "schema", "alias",
    "tags", "enabled", "severity", "column_types", "docs", "meta",
    "persist_docs", "full_refresh", "on_schema_change", "description",
    "quote_columns", "contract", "grants", "database", "pre-hook",
    "post-hook", "pre_hook", "post_hook", "group", "access", "packages", "delimiter", "cluster_by",
    "audit", NULL};

static int is_config_key(const char *k) {
  for (size_t i = 0; config_keys[i]; i++)
    if (!strcmp(config_keys[i], k))
      return 1;
  return 0;
}

static void yaml_strlist(const txf_yaml_node *v, txf_strlist *out,
                         int replace) {
  if (replace)
    txf_strlist_release(out);
  if (txf_yaml_kind(v) == TXF_YAML_SCALAR) {
    if (!txf_yaml_is_null(v) && !txf_strlist_has(out, txf_yaml_str(v)))
      txf_strlist_push(out, txf_yaml_str(v));
    return;
  }
  for (size_t i = 0; i < txf_yaml_len(v); i++) {
    const char *s = txf_yaml_str(txf_yaml_at(v, i));
    if (s && !txf_strlist_has(out, s))
      txf_strlist_push(out, s);
  }
}

/* Apply one config KEY (without '+') = V to N. */
static int apply_config(txf_models *m, const txf_yaml_doc *doc, mnode *n,
                        const char *key, const txf_yaml_node *v,
                        txf_err *err) {
  const char *s = txf_yaml_str(v);
  if (!strcmp(key, "tags")) {
    yaml_strlist(v, &n->tags, 0);
    return 0;
  }
  if (!strcmp(key, "pre-hook") || !strcmp(key, "post-hook") ||
      !strcmp(key, "pre_hook") || !strcmp(key, "post_hook")) {
    /* hooks add up across levels (dbt); an entry may be {sql: ...} */
    txf_strlist *l = key[1] == 'r' ? &n->pre_hooks : &n->post_hooks;
    int seq = txf_yaml_kind(v) == TXF_YAML_SEQ;
    for (size_t i = 0; i < (seq ? txf_yaml_len(v) : 1); i++) {
      const txf_yaml_node *e = seq ? txf_yaml_at(v, i) : v;
      if (txf_yaml_kind(e) == TXF_YAML_MAP)
        e = txf_yaml_get(e, "sql");
      if (!e || txf_yaml_kind(e) != TXF_YAML_SCALAR || txf_yaml_is_null(e))
        return txf_yaml_error(doc, seq ? txf_yaml_at(v, i) : v, err,
                              "%s: expected SQL text, a list of it, or "
                              "{sql: ...}",
                              key);
      txf_strlist_push(l, txf_yaml_str(e));
    }
    return 0;
  }
  if (!strcmp(key, "unique_key")) {
    yaml_strlist(v, &n->unique_key, 1);
    return 0;
  }
  if (!strcmp(key, "column_types")) {
    if (txf_yaml_kind(v) != TXF_YAML_MAP)
      return txf_yaml_error(doc, v, err, "column_types: expected a map");
    for (size_t i = 0; i < txf_yaml_len(v); i++) {
      const char *k = txf_yaml_str(txf_yaml_key_at(v, i));
      const char *t = txf_yaml_str(txf_yaml_at(v, i));
      if (!t)
        return txf_yaml_error(doc, txf_yaml_at(v, i), err,
                              "column_types: '%s': expected a type", k);
      size_t j = 0;
      while (j < n->ct_names.n && strcmp(n->ct_names.v[j], k))
        j++;
      if (j < n->ct_names.n) {
        free(n->ct_types.v[j]);
        n->ct_types.v[j] = txf_xstrdup(t);
      } else {
        txf_strlist_push(&n->ct_names, k);
        txf_strlist_push(&n->ct_types, t);
      }
    }
    return 0;
  }
  if (!s)
    return 0; /* maps such as meta, docs, grants: accepted, not used */
  if (!strcmp(key, "materialized")) {
    if (n->kind == MN_MODEL && strcmp(s, "view") && strcmp(s, "table") &&
        strcmp(s, "incremental") && strcmp(s, "ephemeral"))
      return txf_yaml_error(doc, v, err,
                            "materialized: '%s' is not view, table, "
                            "incremental or ephemeral",
                            s);
    if (n->kind == MN_MODEL)
      set_str(&n->materialized, s);
  } else if (!strcmp(key, "incremental_strategy")) {
    set_str(&n->strategy, s);
  } else if (!strcmp(key, "cluster_by")) {
    set_str(&n->cluster_by, s);
  } else if (!strcmp(key, "audit")) {
    if (strcmp(s, "full") && strcmp(s, "changes"))
      return txf_yaml_error(doc, v, err, "audit: '%s' is not full or changes",
                            s);
    n->audit_full = !strcmp(s, "full");
  } else if (!strcmp(key, "schema")) {
    set_str(&n->schema, s);
  } else if (!strcmp(key, "alias")) {
    set_str(&n->alias, s);
  } else if (!strcmp(key, "enabled")) {
    n->enabled = strcmp(s, "false") && strcmp(s, "False") && strcmp(s, "0");
  } else if (!strcmp(key, "severity")) {
    set_str(&n->severity, s);
  } else if (!strcmp(key, "description")) {
    set_str(&n->description, s);
  }
  (void)m;
  return 0;
}

/* Apply the folder configs in MAP (from txnflow.yml `models:`) to node N
 * whose path inside its model path is REL ("staging/stg_x.sql"). */
static int apply_folder(txf_models *m, const txf_yaml_node *map, mnode *n,
                        const char *rel, txf_err *err) {
  const txf_yaml_doc *doc = m->project->doc;
  for (int depth = 0; map && txf_yaml_kind(map) == TXF_YAML_MAP && depth < 32;
       depth++) {
    for (size_t i = 0; i < txf_yaml_len(map); i++) {
      const char *k = txf_yaml_str(txf_yaml_key_at(map, i));
      const txf_yaml_node *v = txf_yaml_at(map, i);
      if (k[0] == '+') {
        if (apply_config(m, doc, n, k + 1, v, err))
          return TXF_ECONFIG;
      } else if (is_config_key(k) && txf_yaml_kind(v) == TXF_YAML_SCALAR) {
        if (apply_config(m, doc, n, k, v, err))
          return TXF_ECONFIG;
      } else if (txf_yaml_kind(v) == TXF_YAML_SEQ && !strcmp(k, "tags")) {
        if (apply_config(m, doc, n, k, v, err))
          return TXF_ECONFIG;
      }
    }
    /* descend into the next directory (or the file's own name) */
    const char *slash = strchr(rel, '/');
    char *part =
        slash ? txf_xstrndup(rel, (size_t)(slash - rel)) : txf_models_stem(rel);
    const txf_yaml_node *sub = txf_yaml_get(map, part);
    free(part);
    if (!sub || txf_yaml_kind(sub) != TXF_YAML_MAP)
      break;
    map = sub;
    if (!slash) {
      rel = "";
      /* file-level block: apply it on the next pass, then stop */
      for (size_t i = 0; i < txf_yaml_len(map); i++) {
        const char *k = txf_yaml_str(txf_yaml_key_at(map, i));
        const txf_yaml_node *v = txf_yaml_at(map, i);
        if (k[0] == '+' || is_config_key(k))
          if (apply_config(m, doc, n, k[0] == '+' ? k + 1 : k, v, err))
            return TXF_ECONFIG;
      }
      break;
    }
    rel = slash + 1;
  }
  return 0;
}

int txf_models_folder_configs_apply(txf_models *m, txf_err *err) {
  const txf_yaml_node *root = txf_yaml_root(m->project->doc);
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    if (n->kind == MN_TEST)
      continue;
    const txf_yaml_node *map =
        txf_yaml_get(root, n->kind == MN_MODEL ? "models" : "seeds");
    if (!map || txf_yaml_kind(map) != TXF_YAML_MAP)
      continue;
    /* dbt nests under the project name; txnflow.yml may or may not */
    const txf_yaml_node *proj = txf_yaml_get(map, m->project->name);
    const txf_strlist *paths =
        n->kind == MN_MODEL ? &m->model_paths : &m->seed_paths;
    const char *rel = n->rel_path;
    for (size_t k = 0; k < paths->n; k++)
      if (txf_str_has_prefix(rel, paths->v[k]) &&
          rel[strlen(paths->v[k])] == '/') {
        rel += strlen(paths->v[k]) + 1;
        break;
      }
    if (apply_folder(m, proj ? proj : map, n, rel, err))
      return TXF_ECONFIG;
    if (proj && proj != map) {
      /* top-level +configs outside the project block apply too */
      for (size_t k = 0; k < txf_yaml_len(map); k++) {
        const char *key = txf_yaml_str(txf_yaml_key_at(map, k));
        if (key[0] == '+' && apply_config(m, m->project->doc, n, key + 1,
                                          txf_yaml_at(map, k), err))
          return TXF_ECONFIG;
      }
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- schema.yml */

static void add_test_name(txf_models *m, mnode *t, const char *base) {
  char *name = txf_xstrdup(base);
  for (char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_'))
      *p = '_';
  for (int k = 2; txf_models_find(m, name, MN_TEST) >= 0; k++) {
    free(name);
    name = txf_xasprintf("%s_%d", base, k);
  }
  free(t->name);
  t->name = name;
}

/* YAML node V as a Jinja literal into B (a custom test's argument):
 * strings quoted, except ref(...) / source(...) expressions, which dbt
 * renders. */
static void jinja_literal(txf_buf *b, const txf_yaml_node *v) {
  if (txf_yaml_kind(v) == TXF_YAML_SEQ || txf_yaml_kind(v) == TXF_YAML_MAP) {
    int map = txf_yaml_kind(v) == TXF_YAML_MAP;
    (void)txf_buf_putc(b, map ? '{' : '[');
    for (size_t i = 0; i < txf_yaml_len(v); i++) {
      if (i)
        (void)txf_buf_puts(b, ", ");
      if (map) {
        jinja_literal(b, txf_yaml_key_at(v, i));
        (void)txf_buf_puts(b, ": ");
      }
      jinja_literal(b, txf_yaml_at(v, i));
    }
    (void)txf_buf_putc(b, map ? '}' : ']');
    return;
  }
  const char *s = txf_yaml_is_null(v) ? NULL : txf_yaml_str(v);
  txf_arena a;
  txf_arena_init(&a, 256);
  txf_tval *tv = txf_models_yaml_to_tval(&a, v);
  if (!s) {
    (void)txf_buf_puts(b, "none");
  } else if (tv->type == TXF_TV_NUM || tv->type == TXF_TV_BOOL) {
    (void)txf_buf_puts(b, tv->type == TXF_TV_BOOL ? (tv->b ? "true" : "false")
                                                  : s);
  } else if ((txf_str_has_prefix(s, "ref(") ||
              txf_str_has_prefix(s, "source(")) &&
             s[strlen(s) - 1] == ')') {
    (void)txf_buf_puts(b, s);
  } else {
    static const txf_escape esc[] = {
        {'\\', "\\\\"}, {'\'', "\\'"}, {'\n', "\\n"}, {0, NULL}};
    (void)txf_buf_putc(b, '\'');
    txf_buf_put_escaped(b, s, strlen(s), esc);
    (void)txf_buf_putc(b, '\'');
  }
  txf_arena_release(&a);
}

/* Test T's configs in the map CFG (a `config:` block, or the test's own
 * keys when TOP: there a key that is no config is an argument, skipped). */
static int test_configs(txf_models *m, const txf_yaml_doc *doc, mnode *t,
                        const txf_yaml_node *cfg, int top, txf_err *err) {
  /* metadata only; where dbt would store failures (database, schema,
   * alias) is not chosen here, so those are errors */
  static const char *const ignored[] = {"meta", "description", "group", NULL};
  if (txf_yaml_kind(cfg) != TXF_YAML_MAP)
    return txf_yaml_error(doc, cfg, err, "config: expected a map");
  for (size_t i = 0; i < txf_yaml_len(cfg); i++) {
    const char *k = txf_yaml_str(txf_yaml_key_at(cfg, i));
    const txf_yaml_node *v = txf_yaml_at(cfg, i);
    if (!strcmp(k, "tags") || !strcmp(k, "enabled")) {
      if (apply_config(m, doc, t, k, v, err))
        return TXF_ECONFIG;
      continue;
    }
    const char *sv = txf_yaml_kind(v) == TXF_YAML_SCALAR ? txf_yaml_str(v)
                                                         : NULL;
    int r = sv ? txf_models_test_config_set(t, k, sv, err) : 0;
    if (r < 0)
      return txf_yaml_error(doc, v, err, "%s", err->msg);
    if (r > 0 || top)
      continue;
    size_t j = 0;
    while (ignored[j] && strcmp(ignored[j], k))
      j++;
    if (!ignored[j])
      return txf_yaml_error(doc, txf_yaml_key_at(cfg, i), err,
                            "test config '%s' is not supported by txnflow "
                            "(where, severity, warn_if, error_if, limit, "
                            "fail_calc, store_failures, tags, enabled are)",
                            k);
  }
  return 0;
}

int txf_models_test_defaults_apply(txf_models *m, mnode *t, txf_err *err) {
  const txf_yaml_doc *doc = m->project->doc;
  const char *blocks[] = {"tests", "data_tests"};
  for (size_t b = 0; b < 2; b++) {
    const txf_yaml_node *map = txf_yaml_get(txf_yaml_root(doc), blocks[b]);
    if (!map || txf_yaml_kind(map) != TXF_YAML_MAP)
      continue;
    /* the block's +configs, and those under the project's name */
    const txf_yaml_node *levels[2] = {map,
                                      txf_yaml_get(map, m->project->name)};
    for (size_t l = 0; l < 2; l++) {
      const txf_yaml_node *lv = levels[l];
      for (size_t k = 0; lv && k < txf_yaml_len(lv); k++) {
        const char *key = txf_yaml_str(txf_yaml_key_at(lv, k));
        const txf_yaml_node *v = txf_yaml_at(lv, k);
        if (l == 0 && !strcmp(key, m->project->name))
          continue;
        if (key[0] != '+' || txf_yaml_kind(v) == TXF_YAML_MAP)
          return txf_yaml_error(doc, txf_yaml_key_at(lv, k), err,
                                "%s: '%s': test configs by folder or package "
                                "are not supported by txnflow (give +configs "
                                "for the project, or on the test)",
                                blocks[b], key);
        if (!strcmp(key + 1, "tags") || !strcmp(key + 1, "enabled")) {
          if (apply_config(m, doc, t, key + 1, v, err))
            return TXF_ECONFIG;
          continue;
        }
        const char *sv = txf_yaml_str(v);
        int r = sv ? txf_models_test_config_set(t, key + 1, sv, err) : 0;
        if (r < 0)
          return txf_yaml_error(doc, v, err, "%s", err->msg);
        if (r == 0 && strcmp(key + 1, "meta"))
          return txf_yaml_error(doc, txf_yaml_key_at(lv, k), err,
                                "%s: test config '%s' is not supported by "
                                "txnflow",
                                blocks[b], key + 1);
      }
    }
  }
  return 0;
}

/* 1 when K of a test entry is dbt's, not an argument of the test. */
static int test_entry_key(const char *k) {
  static const char *const keys[] = {
      "config",   "arguments",      "column_name", "name",
      "where",    "severity",       "warn_if",     "error_if",
      "limit",    "fail_calc",      "store_failures", "store_failures_as",
      "tags",     "enabled",        "meta",        "description", NULL};
  for (size_t i = 0; keys[i]; i++)
    if (!strcmp(keys[i], k))
      return 1;
  return 0;
}

/* One entry of a `tests:` (or `data_tests:`) list: a name, or a one-key map
 * {name: {args..., config: {severity: warn}}}. A name that is none of the
 * four built-in tests is a {% test %} of the project (the macro
 * test_NAME). */
static int add_generic_test(txf_models *m, const txf_yaml_doc *doc,
                            size_t owner, const char *column,
                            const txf_yaml_node *t, txf_err *err) {
  const char *tname = NULL;
  const txf_yaml_node *args = NULL;
  if (txf_yaml_kind(t) == TXF_YAML_SCALAR) {
    tname = txf_yaml_str(t);
  } else if (txf_yaml_kind(t) == TXF_YAML_MAP && txf_yaml_len(t) == 1) {
    tname = txf_yaml_str(txf_yaml_key_at(t, 0));
    args = txf_yaml_at(t, 0);
    if (txf_yaml_is_null(args))
      args = NULL;
  } else {
    return txf_yaml_error(doc, t, err, "expected a test name or a map "
                                       "{test_name: {arguments}}");
  }
  if (args && txf_yaml_kind(args) != TXF_YAML_MAP)
    return txf_yaml_error(doc, args, err, "test '%s': expected a map of "
                                          "arguments and config", tname);
  /* dbt_utils.x: a package's test, named by its macro test_x */
  const char *dot = strrchr(tname, '.');
  const char *bare = dot ? dot + 1 : tname;
  gtest_kind gk = dot                                 ? GT_CUSTOM
                  : !strcmp(tname, "unique")          ? GT_UNIQUE
                  : !strcmp(tname, "not_null")        ? GT_NOT_NULL
                  : !strcmp(tname, "accepted_values") ? GT_ACCEPTED
                  : !strcmp(tname, "relationships")   ? GT_REL
                                                      : GT_CUSTOM;
  /* a package's test (dbt_utils.x) is its macro dbt_utils.test_x */
  char *macro = dot ? txf_xasprintf("%.*s.test_%s", (int)(dot - tname), tname,
                                    bare)
                    : txf_xasprintf("test_%s", bare);
  int have = txf_tpl_env_has_macro(m->env, macro);
  free(macro);
  if (gk == GT_CUSTOM && !have) {
    static const char *const known[] = {"unique", "not_null",
                                        "accepted_values", "relationships"};
    const char *c = txf_str_closest(tname, known, 4);
    return txf_yaml_error(doc, t, err,
                          "unknown generic test '%s'%s%s%s (the built-in "
                          "unique, not_null, accepted_values, relationships, "
                          "or a {%% test %s(model, column_name) %%} block in "
                          "tests/generic/ or the macros)",
                          tname, c ? " (did you mean '" : "", c ? c : "",
                          c ? "'?)" : "", bare);
  }
  const char *col = column;
  if (args) {
    const char *cn = txf_yaml_str(txf_yaml_get(args, "column_name"));
    if (cn)
      col = cn;
  }
  if (!col && gk != GT_CUSTOM)
    return txf_yaml_error(doc, t, err, "test '%s' needs a column (put it "
                                       "under columns: or give column_name)",
                          tname);
  size_t owner_idx = owner;
  mnode *n = txf_models_node_add(m, MN_TEST, "t");
  n->gtest = gk;
  n->owner = owner_idx;
  n->column = col ? txf_xstrdup(col) : NULL;
  n->yml_file = txf_xstrdup(txf_yaml_file(doc));
  n->yml_line = txf_yaml_line(t);
  n->yml_col = txf_yaml_col(t);
  const char *oname = m->nodes[owner_idx].name;
  if (txf_models_test_defaults_apply(m, n, err))
    return TXF_ECONFIG;
  const txf_yaml_node *argmap = args;
  if (args) {
    const txf_yaml_node *cfg = txf_yaml_get(args, "config");
    if (test_configs(m, doc, n, args, 1, err) ||
        (cfg && test_configs(m, doc, n, cfg, 0, err)))
      return TXF_ECONFIG;
    if (txf_yaml_get(args, "arguments"))
      argmap = txf_yaml_get(args, "arguments");
    if (gk == GT_ACCEPTED) {
      const txf_yaml_node *vals = txf_yaml_get(argmap, "values");
      if (!vals || txf_yaml_kind(vals) != TXF_YAML_SEQ)
        return txf_yaml_error(doc, t, err,
                              "accepted_values needs a list 'values'");
      yaml_strlist(vals, &n->values, 1);
      const char *q = txf_yaml_str(txf_yaml_get(argmap, "quote"));
      if (q && (!strcmp(q, "false") || !strcmp(q, "False")))
        n->quote_values = 0;
    } else if (gk == GT_REL) {
      const char *to = txf_yaml_str(txf_yaml_get(argmap, "to"));
      const char *field = txf_yaml_str(txf_yaml_get(argmap, "field"));
      if (!to || !field)
        return txf_yaml_error(doc, t, err,
                              "relationships needs 'to' and 'field'");
      n->rel_to = txf_xstrdup(to);
      n->rel_field = txf_xstrdup(field);
    }
  } else if (gk == GT_ACCEPTED || gk == GT_REL) {
    return txf_yaml_error(doc, t, err, "test '%s' needs arguments", tname);
  }
  if (gk == GT_CUSTOM) {
    /* the node's template calls the test's macro as dbt does: model (the
     * owner's relation, which ref() makes a parent and a WAP audit points
     * at its new version), column_name, and the arguments by name */
    txf_buf b;
    txf_buf_init(&b, 0);
    static const txf_escape sq[] = {
        {'\\', "\\\\"}, {'\'', "\\'"}, {'\n', "\\n"}, {0, NULL}};
    (void)txf_buf_printf(&b, "{{ %.*s%stest_%s(model=",
                         dot ? (int)(dot - tname) : 0, tname, dot ? "." : "",
                         bare);
    if (n->where) {
      /* dbt's where: the model as a filtered subquery */
      (void)txf_buf_printf(&b, "'(select * from ' ~ ref('%s') ~ ' where ",
                           oname);
      txf_buf_put_escaped(&b, n->where, strlen(n->where), sq);
      (void)txf_buf_puts(&b, ") dbt_subquery'");
    } else {
      (void)txf_buf_printf(&b, "ref('%s')", oname);
    }
    if (col) {
      (void)txf_buf_puts(&b, ", column_name=");
      (void)txf_buf_putc(&b, '\'');
      txf_buf_put_escaped(&b, col, strlen(col), sq);
      (void)txf_buf_putc(&b, '\'');
    }
    for (size_t i = 0; argmap && i < txf_yaml_len(argmap); i++) {
      const char *k = txf_yaml_str(txf_yaml_key_at(argmap, i));
      if (argmap == args && test_entry_key(k))
        continue;
      (void)txf_buf_printf(&b, ", %s=", k);
      jinja_literal(&b, txf_yaml_at(argmap, i));
    }
    (void)txf_buf_puts(&b, ") }}");
    n->raw = txf_buf_take(&b, NULL);
    n->test_macro = txf_xstrdup(bare);
    char *file = txf_xasprintf("%s:%d:%d", n->yml_file, n->yml_line,
                               n->yml_col);
    int rc = txf_tpl_parse(&n->tpl, &m->arena, file, n->raw, strlen(n->raw),
                           err);
    free(file);
    if (rc)
      return rc;
  }
  char *base;
  if (gk == GT_REL) {
    const char *q1 = strchr(n->rel_to, '\''), *q2 = q1 ? strrchr(n->rel_to, '\'') : NULL;
    if (!q1) {
      q1 = strchr(n->rel_to, '"');
      q2 = q1 ? strrchr(n->rel_to, '"') : NULL;
    }
    char *target = q1 && q2 > q1 ? txf_xstrndup(q1 + 1, (size_t)(q2 - q1 - 1))
                                 : txf_xstrdup(n->rel_to);
    base = txf_xasprintf("relationships_%s_%s__%s_%s", oname, col, target,
                         n->rel_field);
    free(target);
  } else if (gk == GT_CUSTOM) {
    /* dbt's name: the package prefix, the test, the model, the column */
    char *pre = dot ? txf_xstrndup(tname, (size_t)(dot - tname)) : NULL;
    base = txf_xasprintf("%s%s%s_%s%s%s", pre ? pre : "", pre ? "_" : "",
                         bare, oname, col ? "_" : "", col ? col : "");
    free(pre);
  } else {
    base = txf_xasprintf("%s_%s_%s", tname, oname, col);
  }
  const txf_yaml_node *nm = args ? txf_yaml_get(args, "name") : NULL;
  add_test_name(m, n, nm && txf_yaml_str(nm) ? txf_yaml_str(nm) : base);
  free(base);
  return 0;
}

static int load_tests_list(txf_models *m, const txf_yaml_doc *doc,
                           size_t owner, const char *column,
                           const txf_yaml_node *entry, txf_err *err) {
  const txf_yaml_node *tests = txf_yaml_get(entry, "data_tests");
  if (!tests)
    tests = txf_yaml_get(entry, "tests");
  if (!tests || txf_yaml_is_null(tests))
    return 0;
  if (txf_yaml_kind(tests) != TXF_YAML_SEQ)
    return txf_yaml_error(doc, tests, err, "tests: expected a list");
  for (size_t i = 0; i < txf_yaml_len(tests); i++)
    if (add_generic_test(m, doc, owner, column, txf_yaml_at(tests, i), err))
      return TXF_ECONFIG;
  return 0;
}

/* The 'name' of the list entry N (a column, a source, a table): *OUT, or
 * an error, WHAT without one. */
static int entry_name(const txf_yaml_doc *doc, const txf_yaml_node *n,
                      const char *what, const char **out, txf_err *err) {
  *out = txf_yaml_str(txf_yaml_get(n, "name"));
  if (!*out)
    return txf_yaml_error(doc, n, err, "%s without a 'name'", what);
  return 0;
}

static int load_schema_entry(txf_models *m, const txf_yaml_doc *doc,
                             const txf_yaml_node *e, int kind, txf_err *err) {
  const char *name = txf_yaml_str(txf_yaml_get(e, "name"));
  if (!name)
    return txf_yaml_error(doc, e, err, "expected an entry with a 'name'");
  ssize_t idx = txf_models_find(m, name, kind);
  if (idx < 0) {
    const char *c = txf_models_closest(m, name);
    return txf_yaml_error(doc, e, err, "%s '%s' has no file%s%s%s",
                          kind == MN_MODEL ? "model" : "seed", name,
                          c ? " (did you mean '" : "", c ? c : "",
                          c ? "'?)" : "");
  }
  mnode *n = &m->nodes[idx];
  const char *desc = txf_yaml_str(txf_yaml_get(e, "description"));
  if (desc)
    set_str(&n->description, desc);
  const txf_yaml_node *cfg = txf_yaml_get(e, "config");
  for (size_t i = 0; cfg && i < txf_yaml_len(cfg); i++) {
    const char *k = txf_yaml_str(txf_yaml_key_at(cfg, i));
    if (apply_config(m, doc, &m->nodes[idx], k[0] == '+' ? k + 1 : k,
                     txf_yaml_at(cfg, i), err))
      return TXF_ECONFIG;
  }
  const txf_yaml_node *cols = txf_yaml_get(e, "columns");
  for (size_t i = 0; cols && i < txf_yaml_len(cols); i++) {
    const txf_yaml_node *c = txf_yaml_at(cols, i);
    const char *cn;
    if (entry_name(doc, c, "column", &cn, err))
      return TXF_ECONFIG;
    n = &m->nodes[idx];
    n->cols = txf_xrealloc(n->cols, (n->n_cols + 1) * sizeof *n->cols);
    mcolumn *mc = &n->cols[n->n_cols++];
    memset(mc, 0, sizeof *mc);
    mc->name = txf_xstrdup(cn);
    const char *cd = txf_yaml_str(txf_yaml_get(c, "description"));
    mc->description = cd ? txf_xstrdup(cd) : NULL;
    const char *dt = txf_yaml_str(txf_yaml_get(c, "data_type"));
    mc->data_type = dt ? txf_xstrdup(dt) : NULL;
    if (load_tests_list(m, doc, (size_t)idx, cn, c, err))
      return TXF_ECONFIG;
  }
  return load_tests_list(m, doc, (size_t)idx, NULL, e, err);
}

static int load_sources(txf_models *m, const txf_yaml_doc *doc,
                        const txf_yaml_node *srcs, txf_err *err) {
  for (size_t i = 0; i < txf_yaml_len(srcs); i++) {
    const txf_yaml_node *s = txf_yaml_at(srcs, i);
    const char *sname;
    if (entry_name(doc, s, "source", &sname, err))
      return TXF_ECONFIG;
    const char *schema = txf_yaml_str(txf_yaml_get(s, "schema"));
    const txf_yaml_node *tables = txf_yaml_get(s, "tables");
    for (size_t k = 0; tables && k < txf_yaml_len(tables); k++) {
      const txf_yaml_node *t = txf_yaml_at(tables, k);
      const char *tname;
      if (entry_name(doc, t, "source table", &tname, err))
        return TXF_ECONFIG;
      const char *ident = txf_yaml_str(txf_yaml_get(t, "identifier"));
      const char *ext = txf_yaml_str(txf_yaml_path(t, "meta.external_location"));
      if (!ext)
        ext = txf_yaml_str(txf_yaml_path(t, "config.external_location"));
      if (!ext)
        ext = txf_yaml_str(txf_yaml_path(s, "meta.external_location"));
      if (!ext)
        ext = txf_yaml_str(txf_yaml_path(s, "config.external_location"));
      m->sources = txf_xrealloc(m->sources,
                                (m->n_sources + 1) * sizeof *m->sources);
      msource *ms = &m->sources[m->n_sources++];
      memset(ms, 0, sizeof *ms);
      ms->source = txf_xstrdup(sname);
      ms->table = txf_xstrdup(tname);
      ms->schema = txf_xstrdup(schema ? schema : sname);
      ms->identifier = txf_xstrdup(ident ? ident : tname);
      if (ext) {
        /* "{name}" stands for the table's identifier, as in dbt-duckdb */
        txf_buf b;
        txf_buf_init(&b, 0);
        for (const char *p = ext; *p; p++) {
          if (!strncmp(p, "{name}", 6)) {
            (void)txf_buf_puts(&b, ms->identifier);
            p += 5;
          } else {
            (void)txf_buf_putc(&b, *p);
          }
        }
        ms->external = txf_buf_take(&b, NULL);
      }
      const char *d = txf_yaml_str(txf_yaml_get(t, "description"));
      ms->description = d ? txf_xstrdup(d) : NULL;
      d = txf_yaml_str(txf_yaml_get(s, "description"));
      ms->source_description = d ? txf_xstrdup(d) : NULL;
      ms->yml_file = txf_xstrdup(txf_yaml_file(doc));
    }
  }
  return 0;
}

int txf_models_schema_doc_apply(txf_models *m, const txf_yaml_doc *doc,
                                txf_err *err) {
  const txf_yaml_node *root = txf_yaml_root(doc);
  const txf_yaml_node *list;
  int rc = 0;
  /* dbt's other properties: read, or named as not supported (a key
   * skipped would look honoured) */
  static const char *const known[] = {"version", "models", "seeds",
                                      "sources", "unit_tests", "macros",
                                      NULL};
  for (size_t k = 0; txf_yaml_kind(root) == TXF_YAML_MAP &&
                     k < txf_yaml_len(root);
       k++) {
    const char *key = txf_yaml_str(txf_yaml_key_at(root, k));
    size_t j = 0;
    while (known[j] && strcmp(known[j], key))
      j++;
    if (!known[j])
      return txf_yaml_error(doc, txf_yaml_key_at(root, k), err,
                            "'%s:' is not supported by txnflow (a schema "
                            "file may have %s; docs/models.md)",
                            key,
                            !strcmp(key, "snapshots")
                                ? "models, seeds, sources, unit_tests; "
                                  "snapshots are {% snapshot %} blocks"
                                : "models, seeds, sources, unit_tests, "
                                  "macros");
  }
  if ((list = txf_yaml_get(root, "sources")))
    rc = load_sources(m, doc, list, err);
  if (!rc && (list = txf_yaml_get(root, "models")))
    for (size_t k = 0; !rc && k < txf_yaml_len(list); k++)
      rc = load_schema_entry(m, doc, txf_yaml_at(list, k), MN_MODEL, err);
  if (!rc && (list = txf_yaml_get(root, "seeds")))
    for (size_t k = 0; !rc && k < txf_yaml_len(list); k++)
      rc = load_schema_entry(m, doc, txf_yaml_at(list, k), MN_SEED, err);
  if (!rc && (list = txf_yaml_get(root, "unit_tests")))
    rc = txf_models_unit_tests_load(m, doc, list, err);
  return rc;
}
