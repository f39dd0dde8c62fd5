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

/* Mark the ancestors of I up to DEPTH generations (-1: all). */
static void mark_ancestors(txf_models *m, size_t i, char *set, int depth) {
  size_t *q = txf_xmalloc((m->n_nodes + 1) * sizeof *q);
  int *d = txf_xcalloc(m->n_nodes + 1, sizeof *d);
  size_t head = 0, tail = 0;
  q[tail++] = i;
  while (head < tail) {
    size_t c = q[head++];
    if (depth >= 0 && d[c] >= depth)
      continue;
    mnode *n = &m->nodes[c];
    for (size_t k = 0; k < n->n_parents; k++) {
      size_t p = n->parents[k];
      if (set[p] == 2 || p == i)
        continue;
      set[p] = 2; /* 2: reached this call (keeps the walk finite) */
      d[p] = d[c] + 1;
      q[tail++] = p;
    }
  }
  for (size_t k = 0; k < m->n_nodes; k++)
    if (set[k] == 2)
      set[k] = 1;
  free(q);
  free(d);
}

/* Mark the descendants (not tests) of I up to DEPTH generations (-1:
 * all). */
static void mark_descendants(txf_models *m, size_t i, char *set, int depth) {
  size_t *q = txf_xmalloc((m->n_nodes + 1) * sizeof *q);
  int *d = txf_xcalloc(m->n_nodes + 1, sizeof *d);
  char *seen = txf_xcalloc(m->n_nodes + 1, 1);
  size_t head = 0, tail = 0;
  q[tail++] = i;
  seen[i] = 1;
  while (head < tail) {
    size_t c = q[head++];
    if (depth >= 0 && d[c] >= depth)
      continue;
    for (size_t k = 0; k < m->n_nodes; k++) {
      mnode *n = &m->nodes[k];
      if (n->kind == MN_TEST || seen[k])
        continue;
      for (size_t j = 0; j < n->n_parents; j++)
        if (n->parents[j] == c) {
          seen[k] = 1;
          set[k] = 1;
          d[k] = d[c] + 1;
          q[tail++] = k;
          break;
        }
    }
  }
  free(seen);
  free(q);
  free(d);
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

/* dbt's selector methods that txnflow has; the others are named in an
 * error, never matched as nothing. */
static const char *const methods[] = {
    "tag", "path", "file", "fqn", "resource_type", "config", "source",
    "test_type", "test_name", "state", NULL};
static const char *const other_methods[] = {
    "exposure", "metric", "semantic_model", "saved_query", "group",
    "access", "version", "result", "source_status", "package", "unit_test",
    NULL};

/* The kind word of node N for resource_type: */
static const char *kind_word(const mnode *n) {
  if (n->kind == MN_MODEL && !strcmp(n->materialized, "snapshot"))
    return "snapshot";
  return n->kind == MN_MODEL ? "model" : n->kind == MN_SEED ? "seed" : "test";
}

/* 1 when node N matches METHOD:VALUE (METHOD NULL: a name or path). */
static int term_hit(txf_models *m, const mnode *n, const char *method,
                    const char *value) {
  if (!method) {
    if (strchr(value, '/') || txf_str_has_suffix(value, ".sql"))
      return path_matches(m, n, value);
    return fnmatch(value, n->name, 0) == 0;
  }
  if (!strcmp(method, "tag"))
    return txf_strlist_has(&n->tags, value);
  if (!strcmp(method, "state"))
    return txf_models_state_hit(m, (size_t)(n - m->nodes), value);
  if (!strcmp(method, "path"))
    return path_matches(m, n, value);
  if (!strcmp(method, "file")) {
    const char *f = n->rel_path ? strrchr(n->rel_path, '/') : NULL;
    f = f ? f + 1 : n->rel_path;
    if (!f)
      return 0;
    char *stem = txf_models_stem(f);
    int hit = fnmatch(value, f, 0) == 0 || fnmatch(value, stem, 0) == 0;
    free(stem);
    return hit;
  }
  if (!strcmp(method, "fqn")) {
    /* project.name, or the name */
    size_t pl = strlen(m->project->name);
    if (!strncmp(value, m->project->name, pl) && value[pl] == '.')
      value += pl + 1;
    const char *last = strrchr(value, '.');
    return fnmatch(last ? last + 1 : value, n->name, 0) == 0;
  }
  if (!strcmp(method, "resource_type"))
    return !strcmp(value, n->gtest == GT_UNIT ? "unit_test" : kind_word(n));
  if (!strcmp(method, "config.materialized"))
    return n->kind == MN_MODEL && !strcmp(n->materialized, value);
  if (!strcmp(method, "config.severity"))
    return n->kind == MN_TEST && !strcasecmp(n->severity, value);
  if (!strcmp(method, "config.tags"))
    return txf_strlist_has(&n->tags, value);
  if (!strcmp(method, "config.schema"))
    return n->schema && !strcmp(n->schema, value);
  if (!strcmp(method, "config.incremental_strategy"))
    return n->strategy && !strcmp(n->strategy, value);
  if (!strcmp(method, "test_type")) {
    if (n->kind != MN_TEST)
      return 0;
    if (!strcmp(value, "unit"))
      return n->gtest == GT_UNIT;
    if (!strcmp(value, "generic"))
      return n->gtest != GT_NONE && n->gtest != GT_UNIT;
    if (!strcmp(value, "singular"))
      return n->gtest == GT_NONE;
    return n->gtest != GT_UNIT; /* data: every data test */
  }
  if (!strcmp(method, "test_name")) {
    if (n->kind != MN_TEST || n->gtest == GT_NONE || n->gtest == GT_UNIT)
      return 0;
    const char *tn = n->gtest == GT_UNIQUE        ? "unique"
                     : n->gtest == GT_NOT_NULL    ? "not_null"
                     : n->gtest == GT_ACCEPTED    ? "accepted_values"
                     : n->gtest == GT_REL         ? "relationships"
                                                  : n->test_macro;
    return tn && fnmatch(value, tn, 0) == 0;
  }
  return 0;
}

/* source:SRC or source:SRC.TABLE: the nodes that read it (a source is no
 * node here, so "source:x+" is what reads it and downstream, and
 * "source:x" alone selects nothing, as in dbt's run). */
static int reads_source(const mnode *n, const char *value) {
  for (size_t k = 0; k < n->sources.n; k++) {
    const char *s = n->sources.v[k];
    size_t vl = strlen(value);
    if (!strcmp(s, value) || (!strncmp(s, value, vl) && s[vl] == '.') ||
        fnmatch(value, s, 0) == 0)
      return 1;
  }
  return 0;
}

/* Parse "N+" / "+" at the start of *P (returns the depth, -1 for all, or
 * -2 for none) and advance *P. */
static int graph_prefix(const char **p) {
  const char *s = *p;
  size_t d = strspn(s, "0123456789");
  if (s[d] == '+') {
    *p = s + d + 1;
    return d ? atoi(s) : -1;
  }
  return -2;
}

/* Mark the nodes one selector PART (no commas) selects in SET. */
static int select_part(txf_models *m, const char *part, char *set,
                       txf_err *err) {
  const char *p = part;
  int at = 0;
  if (*p == '@') {
    at = 1;
    p++;
  }
  int up = graph_prefix(&p);
  if (at && up != -2)
    return txf_err_set(err, TXF_EUSAGE,
                       "--select '%s': '@' and a leading '+' do not combine "
                       "(dbt's rule)",
                       part);
  char *core = txf_xstrdup(p);
  int down = -2;
  /* a trailing "+" or "+N" */
  char *plus = strrchr(core, '+');
  if (plus && strspn(plus + 1, "0123456789") == strlen(plus + 1)) {
    down = plus[1] ? atoi(plus + 1) : -1;
    *plus = 0;
  }
  if (at && down != -2) {
    free(core);
    return txf_err_set(err, TXF_EUSAGE,
                       "--select '%s': '@' and a trailing '+' do not "
                       "combine (dbt's rule)",
                       part);
  }
  const char *method = NULL, *value = core;
  char *colon = strchr(core, ':');
  if (colon) {
    *colon = 0;
    method = core;
    value = colon + 1;
    size_t i = 0;
    const char *root = method;
    char rootbuf[64];
    if (!strncmp(method, "config.", 7)) {
      snprintf(rootbuf, sizeof rootbuf, "config");
      root = rootbuf;
    }
    while (methods[i] && strcmp(methods[i], root))
      i++;
    int rc = 0;
    if (!methods[i]) {
      size_t j = 0;
      while (other_methods[j] && strcmp(other_methods[j], method))
        j++;
      const char *c = txf_str_closest(method, methods,
                                      TXF_ARRAY_LEN(methods) - 1);
      rc = other_methods[j]
               ? txf_err_set(err, TXF_EUSAGE,
                             "--select '%s': the '%s:' method is not "
                             "supported by txnflow",
                             part, method)
               : txf_err_set(err, TXF_EUSAGE,
                             "--select '%s': unknown selector method '%s'%s%s%s "
                             "(tag, path, file, fqn, resource_type, config.*, "
                             "source, test_type, test_name, state)",
                             part, method, c ? " (did you mean '" : "",
                             c ? c : "", c ? "'?)" : "");
    } else if (!strcmp(method, "state")) {
      rc = txf_models_state_check(value, err);
      if (!rc)
        rc = txf_models_state_load(m, err);
      if (rc)
        txf_err_wrap(err, "--select '%s'", part);
    } else if (!strncmp(method, "config.", 7) &&
               strcmp(method, "config.materialized") &&
               strcmp(method, "config.severity") &&
               strcmp(method, "config.tags") &&
               strcmp(method, "config.schema") &&
               strcmp(method, "config.incremental_strategy")) {
      rc = txf_err_set(err, TXF_EUSAGE,
                       "--select '%s': '%s' is not supported by txnflow "
                       "(config.materialized, .severity, .tags, .schema, "
                       ".incremental_strategy are)",
                       part, method);
    } else if (!strcmp(method, "resource_type") && strcmp(value, "model") &&
               strcmp(value, "seed") && strcmp(value, "test") &&
               strcmp(value, "snapshot") && strcmp(value, "unit_test")) {
      rc = txf_err_set(err, TXF_EUSAGE,
                       "--select '%s': resource_type '%s' is not one txnflow "
                       "builds (model, seed, snapshot, test, unit_test)",
                       part, value);
    } else if (!strcmp(method, "test_type") && strcmp(value, "generic") &&
               strcmp(value, "singular") && strcmp(value, "data") &&
               strcmp(value, "unit")) {
      rc = txf_err_set(err, TXF_EUSAGE,
                       "--select '%s': test_type '%s' is not unit, generic, "
                       "singular or data",
                       part, value);
    }
    if (rc) {
      free(core);
      return rc;
    }
  }
  int is_source = method && !strcmp(method, "source");
  if (is_source) {
    /* a source that is declared (or the built-in silver) */
    char *src = txf_xstrdup(value);
    char *dot = strchr(src, '.');
    if (dot)
      *dot = 0;
    int known = !strcmp(src, "silver");
    for (size_t i = 0; !known && i < m->n_sources; i++)
      known = !strcmp(m->sources[i].source, src) ||
              fnmatch(src, m->sources[i].source, 0) == 0;
    free(src);
    if (!known) {
      int rc = txf_err_set(err, TXF_ENOTFOUND,
                           "--select '%s': no source named '%s' in a "
                           "schema.yml",
                           part, value);
      free(core);
      return rc;
    }
  }
  char *base = txf_xcalloc(m->n_nodes + 1, 1);
  int any = 0;
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    int hit = is_source ? 0 : term_hit(m, n, method, value);
    if (hit) {
      base[i] = 1;
      any = 1;
    }
  }
  int rc = 0;
  if (!any && !is_source && !method && !strchr(value, '*')) {
    const char *c = txf_models_closest(m, value);
    rc = txf_err_set(err, TXF_ENOTFOUND, "--select: no node named '%s'%s%s%s",
                     value, c ? " (did you mean '" : "", c ? c : "",
                     c ? "'?)" : "");
  }
  if (is_source && down != -2) {
    /* the source's children are one generation down from it */
    for (size_t i = 0; i < m->n_nodes; i++)
      if (m->nodes[i].kind != MN_TEST && reads_source(&m->nodes[i], value)) {
        set[i] = 1;
        if (down != 1)
          mark_descendants(m, i, set, down < 0 ? -1 : down - 1);
      }
  }
  for (size_t i = 0; !rc && i < m->n_nodes; i++) {
    if (!base[i])
      continue;
    set[i] = 1;
    if (at) {
      /* @m: m, its descendants, and the ancestors of all of them */
      char *d = txf_xcalloc(m->n_nodes + 1, 1);
      d[i] = 1;
      mark_descendants(m, i, d, -1);
      for (size_t k = 0; k < m->n_nodes; k++)
        if (d[k]) {
          set[k] = 1;
          mark_ancestors(m, k, set, -1);
        }
      free(d);
    }
    if (up != -2)
      mark_ancestors(m, i, set, up);
    if (down != -2)
      mark_descendants(m, i, set, down);
  }
  free(base);
  free(core);
  return rc;
}

/* SPEC: space-separated terms, their union; a term "a,b" is the
 * intersection of its parts (dbt's syntax). */
static int select_terms(txf_models *m, const char *spec, char *set,
                        txf_err *err) {
  char *copy = txf_xstrdup(spec);
  char *save = NULL;
  int rc = 0;
  size_t n = m->n_nodes;
  char *inter = txf_xcalloc(n + 1, 1), *part_set = txf_xcalloc(n + 1, 1);
  for (char *t = strtok_r(copy, " \t\n", &save); t && !rc;
       t = strtok_r(NULL, " \t\n", &save)) {
    memset(inter, 1, n);
    char *save2 = NULL;
    int parts = 0;
    for (char *p = strtok_r(t, ",", &save2); p && !rc;
         p = strtok_r(NULL, ",", &save2)) {
      memset(part_set, 0, n);
      rc = select_part(m, p, part_set, err);
      for (size_t i = 0; i < n; i++)
        inter[i] = inter[i] && part_set[i];
      parts++;
    }
    if (!parts)
      rc = txf_err_set(err, TXF_EUSAGE, "--select: an empty term in '%s'",
                       spec);
    for (size_t i = 0; !rc && i < n; i++)
      set[i] = set[i] || inter[i];
  }
  free(inter);
  free(part_set);
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
