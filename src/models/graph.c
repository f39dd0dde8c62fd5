/* The model graph: refs to edges, cycles, topological order, selection. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

static void add_parent(mnode *n, size_t p) {
  for (size_t i = 0; i < n->n_parents; i++)
    if (n->parents[i] == p)
      return;
  n->parents = txf_xrealloc(n->parents, (n->n_parents + 1) * sizeof(size_t));
  n->parents[n->n_parents++] = p;
}

/* "ref('x')" / ref("pkg", "x") -> x (malloc'd), else NULL. */
static char *ref_name(const char *expr) {
  while (*expr == ' ')
    expr++;
  if (strncmp(expr, "ref(", 4))
    return NULL;
  const char *close = strrchr(expr, ')');
  if (!close)
    return NULL;
  const char *q2 = close;
  while (q2 > expr && *q2 != '\'' && *q2 != '"')
    q2--;
  if (q2 <= expr)
    return NULL;
  const char *q1 = q2 - 1;
  while (q1 > expr && *q1 != *q2)
    q1--;
  if (q1 <= expr)
    return NULL;
  return txf_xstrndup(q1 + 1, (size_t)(q2 - q1 - 1));
}

static ssize_t find_parent(const txf_models *m, const char *name) {
  ssize_t i = txf_models_find(m, name, MN_MODEL);
  return i >= 0 ? i : txf_models_find(m, name, MN_SEED);
}

static int missing_ref(const txf_models *m, const mnode *n, const char *name,
                       txf_err *err) {
  const char *c = txf_models_closest(m, name);
  return txf_err_set(err, TXF_ENOTFOUND,
                     "%s: ref('%s'): no model or seed named '%s'%s%s%s",
                     n->rel_path ? n->rel_path : n->yml_file, name, name,
                     c ? " (did you mean '" : "", c ? c : "", c ? "'?)" : "");
}

/* DFS for a cycle; on finding one, describe it in ERR. */
static int dfs(txf_models *m, size_t i, int *color, size_t *stack,
               size_t depth, txf_err *err) {
  color[i] = 1;
  stack[depth] = i;
  mnode *n = &m->nodes[i];
  for (size_t k = 0; k < n->n_parents; k++) {
    size_t p = n->parents[k];
    if (color[p] == 1) {
      /* the cycle is stack[j..depth] where stack[j] == p, read as refs */
      txf_buf b;
      txf_buf_init(&b, 0);
      size_t j = depth;
      while (stack[j] != p)
        j--;
      for (size_t x = j; x <= depth; x++)
        (void)txf_buf_printf(&b, "%s -> ", m->nodes[stack[x]].name);
      (void)txf_buf_puts(&b, m->nodes[p].name);
      int rc = txf_err_set(err, TXF_ECONFIG,
                           "dependency cycle: %s (each model refs the next)",
                           b.data);
      txf_buf_release(&b);
      return rc;
    }
    if (color[p] == 0 && dfs(m, p, color, stack, depth + 1, err))
      return TXF_ECONFIG;
  }
  color[i] = 2;
  return 0;
}

int txf_models_graph_resolve(txf_models *m, txf_err *err) {
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    for (size_t k = 0; k < n->refs.n; k++) {
      ssize_t p = find_parent(m, n->refs.v[k]);
      if (p < 0)
        return missing_ref(m, n, n->refs.v[k], err);
      if ((size_t)p == i)
        return txf_err_set(err, TXF_ECONFIG,
                           "%s: model '%s' refs itself (use {{ this }})",
                           n->rel_path, n->name);
      add_parent(n, (size_t)p);
    }
    if (n->kind == MN_TEST && n->gtest != GT_NONE) {
      add_parent(n, n->owner);
      if (n->gtest == GT_REL) {
        char *r = ref_name(n->rel_to);
        if (r) {
          ssize_t p = find_parent(m, r);
          if (p < 0) {
            const char *c = txf_models_closest(m, r);
            int rc = txf_err_set(
                err, TXF_ENOTFOUND,
                "%s:%d:%d: relationships: ref('%s'): no such model%s%s%s",
                n->yml_file, n->yml_line, n->yml_col, r,
                c ? " (did you mean '" : "", c ? c : "", c ? "'?)" : "");
            free(r);
            return rc;
          }
          add_parent(n, (size_t)p);
          free(r);
        }
      }
    }
  }
  int *color = txf_xcalloc(m->n_nodes + 1, sizeof *color);
  size_t *stack = txf_xcalloc(m->n_nodes + 1, sizeof *stack);
  int rc = 0;
  for (size_t i = 0; !rc && i < m->n_nodes; i++)
    if (m->nodes[i].kind != MN_TEST && !color[i])
      rc = dfs(m, i, color, stack, 0, err);
  free(color);
  free(stack);
  if (rc)
    return rc;
  /* Owners of singular tests: the parent built last. */
  size_t *order = NULL, n_order = 0;
  rc = txf_models_graph_topo(m, 0, &order, &n_order, err);
  if (rc)
    return rc;
  size_t *pos = txf_xcalloc(m->n_nodes + 1, sizeof *pos);
  for (size_t k = 0; k < n_order; k++)
    pos[order[k]] = k;
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    if (n->kind != MN_TEST)
      continue;
    if (n->gtest == GT_NONE) {
      for (size_t k = 0; k < n->n_parents; k++)
        if (n->owner == SIZE_MAX || pos[n->parents[k]] > pos[n->owner])
          n->owner = n->parents[k];
    }
    if (n->owner == SIZE_MAX)
      continue; /* a test on nothing: runs in `test` only */
    mnode *o = &m->nodes[n->owner];
    o->tests = txf_xrealloc(o->tests, (o->n_tests + 1) * sizeof(size_t));
    o->tests[o->n_tests++] = i;
  }
  free(pos);
  free(order);
  return 0;
}

/* Kahn's algorithm, lowest index first, so the order is stable. */
static int topo(txf_models *m, int soft, size_t **order, size_t *n_out) {
  size_t n = m->n_nodes;
  size_t *indeg = txf_xcalloc(n + 1, sizeof *indeg);
  /* edges: parent -> child, including soft ones (a test's extra parents
   * must be built before the model the test audits) */
  size_t cap = 64, ne = 0;
  size_t(*edges)[2] = txf_xmalloc(cap * sizeof *edges);
  for (size_t i = 0; i < n; i++) {
    mnode *c = &m->nodes[i];
    if (c->kind == MN_TEST) {
      if (!soft || c->owner == SIZE_MAX)
        continue;
      for (size_t k = 0; k < c->n_parents; k++) {
        if (c->parents[k] == c->owner)
          continue;
        if (ne == cap)
          edges = txf_xrealloc(edges, (cap *= 2) * sizeof *edges);
        edges[ne][0] = c->parents[k];
        edges[ne++][1] = c->owner;
      }
      continue;
    }
    for (size_t k = 0; k < c->n_parents; k++) {
      if (ne == cap)
        edges = txf_xrealloc(edges, (cap *= 2) * sizeof *edges);
      edges[ne][0] = c->parents[k];
      edges[ne++][1] = i;
    }
  }
  for (size_t e = 0; e < ne; e++)
    indeg[edges[e][1]]++;
  size_t *out = txf_xmalloc((n + 1) * sizeof *out);
  char *done = txf_xcalloc(n + 1, 1);
  size_t k = 0, total = 0;
  for (size_t i = 0; i < n; i++)
    total += m->nodes[i].kind != MN_TEST;
  while (k < total) {
    size_t pick = SIZE_MAX;
    for (size_t i = 0; i < n && pick == SIZE_MAX; i++)
      if (!done[i] && m->nodes[i].kind != MN_TEST && indeg[i] == 0)
        pick = i;
    if (pick == SIZE_MAX)
      break;
    done[pick] = 1;
    out[k++] = pick;
    for (size_t e = 0; e < ne; e++)
      if (edges[e][0] == pick)
        indeg[edges[e][1]]--;
  }
  free(indeg);
  free(edges);
  free(done);
  if (k < total) {
    free(out);
    return TXF_ECONFIG;
  }
  *order = out;
  *n_out = k;
  return 0;
}

int txf_models_graph_topo(txf_models *m, int soft, size_t **order, size_t *n,
                          txf_err *err) {
  if (soft && topo(m, 1, order, n) == 0)
    return 0;
  if (topo(m, 0, order, n))
    return txf_err_set(err, TXF_ECONFIG, "dependency cycle");
  return 0;
}

/* ---------------------------------------------------------------- select */

static void mark_ancestors(txf_models *m, size_t i, char *set, int depth) {
  if (depth > 10000)
    return;
  mnode *n = &m->nodes[i];
  for (size_t k = 0; k < n->n_parents; k++)
    if (!set[n->parents[k]]) {
      set[n->parents[k]] = 1;
      mark_ancestors(m, n->parents[k], set, depth + 1);
    }
}

static void mark_descendants(txf_models *m, size_t i, char *set, int depth) {
  if (depth > 10000)
    return;
  for (size_t c = 0; c < m->n_nodes; c++) {
    mnode *n = &m->nodes[c];
    if (n->kind == MN_TEST || set[c])
      continue;
    for (size_t k = 0; k < n->n_parents; k++)
      if (n->parents[k] == i) {
        set[c] = 1;
        mark_descendants(m, c, set, depth + 1);
        break;
      }
  }
}

static int path_matches(const txf_models *m, const mnode *n,
                        const char *want) {
  if (!n->rel_path)
    return 0;
  size_t wl = strlen(want);
  while (wl && want[wl - 1] == '/')
    wl--;
  if (!strncmp(n->rel_path, want, wl) &&
      (n->rel_path[wl] == '/' || n->rel_path[wl] == 0))
    return 1;
  /* also relative to the model path: path:staging */
  const txf_strlist *paths =
      n->kind == MN_SEED ? &m->seed_paths : &m->model_paths;
  for (size_t k = 0; k < paths->n; k++) {
    size_t pl = strlen(paths->v[k]);
    const char *r = n->rel_path;
    if (!strncmp(r, paths->v[k], pl) && r[pl] == '/') {
      r += pl + 1;
      if (!strncmp(r, want, wl) && (r[wl] == '/' || r[wl] == 0))
        return 1;
    }
  }
  return 0;
}

/* Mark the nodes TERM selects in SET. */
static int select_term(txf_models *m, const char *term, char *set,
                       txf_err *err) {
  size_t len = strlen(term);
  int up = term[0] == '+', down = len > 1 && term[len - 1] == '+';
  char *core = txf_xstrndup(term + up, len - (size_t)up - (size_t)down);
  char *base = txf_xcalloc(m->n_nodes + 1, 1);
  int any = 0;
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    int hit;
    if (!strncmp(core, "tag:", 4))
      hit = txf_strlist_has(&n->tags, core + 4);
    else if (!strncmp(core, "path:", 5))
      hit = path_matches(m, n, core + 5);
    else if (!strncmp(core, "config.materialized:", 20))
      hit = n->kind == MN_MODEL && !strcmp(n->materialized, core + 20);
    else if (!strncmp(core, "resource_type:", 14))
      hit = !strcmp(core + 14, n->kind == MN_MODEL  ? "model"
                               : n->kind == MN_SEED ? "seed"
                                                    : "test");
    else
      hit = fnmatch(core, n->name, 0) == 0;
    if (hit) {
      base[i] = 1;
      any = 1;
    }
  }
  int rc = 0;
  if (!any && !strchr(core, ':') && !strchr(core, '*')) {
    const char *c = txf_models_closest(m, core);
    rc = txf_err_set(err, TXF_ENOTFOUND, "--select: no node named '%s'%s%s%s",
                     core, c ? " (did you mean '" : "", c ? c : "",
                     c ? "'?)" : "");
  }
  for (size_t i = 0; !rc && i < m->n_nodes; i++) {
    if (!base[i])
      continue;
    set[i] = 1;
    if (up)
      mark_ancestors(m, i, set, 0);
    if (down)
      mark_descendants(m, i, set, 0);
  }
  free(base);
  free(core);
  return rc;
}

static int select_terms(txf_models *m, const char *spec, char *set,
                        txf_err *err) {
  char *copy = txf_xstrdup(spec);
  char *save = NULL;
  int rc = 0;
  for (char *t = strtok_r(copy, " ,", &save); t && !rc;
       t = strtok_r(NULL, " ,", &save))
    rc = select_term(m, t, set, err);
  free(copy);
  return rc;
}

int txf_models_select(txf_models *m, const char *select, const char *exclude,
                      txf_err *err) {
  size_t n = m->n_nodes;
  char *sel = txf_xcalloc(n + 1, 1);
  char *exc = txf_xcalloc(n + 1, 1);
  int rc = 0;
  if (select && *select)
    rc = select_terms(m, select, sel, err);
  else
    memset(sel, 1, n);
  if (!rc && exclude && *exclude)
    rc = select_terms(m, exclude, exc, err);
  if (!rc) {
    for (size_t i = 0; i < n; i++) {
      mnode *nd = &m->nodes[i];
      int s = sel[i];
      /* a test comes with the model it belongs to */
      if (nd->kind == MN_TEST && nd->owner != SIZE_MAX && sel[nd->owner])
        s = 1;
      if (exc[i] ||
          (nd->kind == MN_TEST && nd->owner != SIZE_MAX && exc[nd->owner]))
        s = 0;
      nd->selected = s && nd->enabled;
    }
  }
  free(sel);
  free(exc);
  return rc;
}
