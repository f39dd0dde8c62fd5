/* The nodes of a project: adding, finding, naming and their relations in
 * the warehouse. The bottom of src/models: it calls no other file here. */
#include <stdlib.h>
#include <string.h>

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
  return n;
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

char *txf_models_unique_id(const txf_models *m, size_t i) {
  return txf_xasprintf("%s.%s.%s", txf_models_kind_name(m->nodes[i].kind),
                       m->project->name, m->nodes[i].name);
}
