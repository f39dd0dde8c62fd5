/* The nodes of a project: adding, finding, naming and their relations in
 * the warehouse. The bottom of src/models: it calls no other file here. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duck/duck.h"
#include "models/internal.h"

mnode *txf_models_node_add(txf_models *m, mnode_kind kind, const char *name) {
  if (m->n_nodes == m->cap_nodes) {
    m->cap_nodes = m->cap_nodes ? m->cap_nodes * 2 : 32;
    m->nodes = txf_xrealloc(m->nodes, m->cap_nodes * sizeof *m->nodes);
  }
  mnode *n = &m->nodes[m->n_nodes++];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->name = txf_xstrdup(name);
  n->enabled = 1;
  n->owner = SIZE_MAX;
  n->quote_values = 1;
  if (kind == MN_MODEL)
    n->materialized = txf_xstrdup("view");
  if (kind == MN_SEED)
    n->materialized = txf_xstrdup("seed");
  if (kind == MN_TEST)
    n->severity = txf_xstrdup("error");
  n->limit = -1;
  return n;
}

/* A warn_if / error_if condition: a comparison operator and a number
 * ("!=0", "> 10", "=0"), as dbt writes it after the failures. */
static int condition_ok(const char *s) {
  while (*s == ' ')
    s++;
  size_t op = strspn(s, "<>=!");
  if (op == 0 || op > 2)
    return 0;
  s += op;
  while (*s == ' ')
    s++;
  double x;
  return *s && txf_parse_double(s, &x) == 0;
}

int txf_models_test_config_set(mnode *n, const char *key, const char *s,
                               txf_err *err) {
  char **dst = !strcmp(key, "where")       ? &n->where
               : !strcmp(key, "warn_if")   ? &n->warn_if
               : !strcmp(key, "error_if")  ? &n->error_if
               : !strcmp(key, "fail_calc") ? &n->fail_calc
                                           : NULL;
  if (dst) {
    if ((!strcmp(key, "warn_if") || !strcmp(key, "error_if")) &&
        !condition_ok(s)) {
      txf_err_set(err, TXF_ECONFIG,
                  "%s: '%s' is not a comparison with a number ('!=0', "
                  "'>10')",
                  key, s);
      return -1;
    }
    free(*dst);
    *dst = txf_xstrdup(s);
    return 1;
  }
  if (!strcmp(key, "severity")) {
    if (strcasecmp(s, "warn") && strcasecmp(s, "error")) {
      txf_err_set(err, TXF_ECONFIG, "severity: '%s' is not warn or error", s);
      return -1;
    }
    free(n->severity);
    n->severity = txf_xstrdup(strcasecmp(s, "warn") ? "error" : "warn");
    return 1;
  }
  if (!strcmp(key, "limit")) {
    uint64_t v;
    if (txf_parse_u64(s, &v) || v > INT64_MAX) {
      txf_err_set(err, TXF_ECONFIG, "limit: '%s' is not a row count", s);
      return -1;
    }
    n->limit = (int64_t)v;
    return 1;
  }
  if (!strcmp(key, "store_failures")) {
    n->store_failures = !strcmp(s, "true") || !strcmp(s, "True");
    if (!n->store_failures && strcmp(s, "false") && strcmp(s, "False")) {
      txf_err_set(err, TXF_ECONFIG, "store_failures: '%s' is not true or "
                                    "false", s);
      return -1;
    }
    return 1;
  }
  if (!strcmp(key, "store_failures_as")) {
    /* dbt: table (the default with store_failures), view, ephemeral */
    if (strcmp(s, "table")) {
      txf_err_set(err, TXF_ECONFIG,
                  "store_failures_as: '%s' is not supported by txnflow "
                  "(table is)",
                  s);
      return -1;
    }
    n->store_failures = 1;
    return 1;
  }
  return 0;
}

ssize_t txf_models_find(const txf_models *m, const char *name, int kind) {
  for (size_t i = 0; i < m->n_nodes; i++)
    if ((kind < 0 || (int)m->nodes[i].kind == kind) &&
        !strcmp(m->nodes[i].name, name))
      return (ssize_t)i;
  return -1;
}

const char *txf_models_closest(const txf_models *m, const char *name) {
  const char **c = txf_xmalloc((m->n_nodes + 1) * sizeof *c);
  size_t n = 0;
  for (size_t i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].kind != MN_TEST)
      c[n++] = m->nodes[i].name;
  const char *best = txf_str_closest(name, c, n);
  free(c);
  return best;
}

char *txf_models_stem(const char *rel) {
  const char *base = strrchr(rel, '/');
  base = base ? base + 1 : rel;
  const char *dot = strrchr(base, '.');
  return txf_xstrndup(base, dot ? (size_t)(dot - base) : strlen(base));
}

const char *txf_models_schema(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  return n->schema ? n->schema : m->target.schema;
}

const char *txf_models_identifier(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  return n->alias ? n->alias : n->name;
}

char *txf_models_relation(const txf_models *m, size_t i) {
  char *s = txf_duck_quote_ident(txf_models_schema(m, i));
  char *t = txf_duck_quote_ident(txf_models_identifier(m, i));
  char *r = txf_xasprintf("%s.%s", s, t);
  free(s);
  free(t);
  return r;
}

const char *txf_models_kind_name(mnode_kind k) {
  return k == MN_MODEL ? "model" : k == MN_SEED ? "seed" : "test";
}

const char *txf_models_resource_type(const mnode *n) {
  if (n->kind == MN_MODEL && !strcmp(n->materialized, "snapshot"))
    return "snapshot";
  if (n->kind == MN_TEST && n->gtest == GT_UNIT)
    return "unit_test";
  return txf_models_kind_name(n->kind);
}

char *txf_models_unique_id(const txf_models *m, size_t i) {
  const mnode *n = &m->nodes[i];
  /* dbt: unit_test.PROJECT.MODEL.NAME */
  if (n->kind == MN_TEST && n->gtest == GT_UNIT && n->owner != SIZE_MAX)
    return txf_xasprintf("unit_test.%s.%s.%s", m->project->name,
                         m->nodes[n->owner].name, n->name);
  return txf_xasprintf("%s.%s.%s", txf_models_resource_type(&m->nodes[i]),
                       m->project->name, m->nodes[i].name);
}
