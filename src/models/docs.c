/* `models docs` and `models ls`: the manifest (JSON), the lineage graph
 * (DOT, and a self-contained HTML page with an SVG drawing). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

#define kind_name txf_models_kind_name
#define unique_id txf_models_unique_id
#define resource_type txf_models_resource_type

static json_t *strlist_json(const txf_strlist *l) {
  json_t *a = json_array();
  for (size_t i = 0; i < l->n; i++)
    json_array_append_new(a, json_string(l->v[i]));
  return a;
}

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

static const char *test_kind(const mnode *n) {
  switch (n->gtest) {
  case GT_UNIQUE: return "unique";
  case GT_NOT_NULL: return "not_null";
  case GT_ACCEPTED: return "accepted_values";
  case GT_REL: return "relationships";
  case GT_CUSTOM: return n->test_macro;
  case GT_UNIT: return "unit";
  default: return "singular";
  }
}

static json_t *node_json(txf_models *m, size_t i, txf_err *err) {
  mnode *n = &m->nodes[i];
  json_t *o = json_object();
  char *id = unique_id(m, i);
  json_object_set_new(o, "unique_id", json_string(id));
  free(id);
  json_object_set_new(o, "name", json_string(n->name));
  json_object_set_new(o, "resource_type", json_string(resource_type(n)));
  json_object_set_new(o, "path", str_or_null(n->rel_path ? n->rel_path
                                                         : n->yml_file));
  char *d = txf_models_render_description(m, n->description, err);
  json_object_set_new(o, "description", json_string(d ? d : ""));
  free(d);
  json_object_set_new(o, "tags", strlist_json(&n->tags));
  json_t *cfg = json_object();
  if (n->kind != MN_TEST) {
    json_object_set_new(cfg, "materialized", str_or_null(n->materialized));
    json_object_set_new(cfg, "schema", json_string(txf_models_schema(m, i)));
    json_object_set_new(o, "relation_name",
                        json_string(txf_models_identifier(m, i)));
    if (n->unique_key.n)
      json_object_set_new(cfg, "unique_key", strlist_json(&n->unique_key));
    if (n->strategy)
      json_object_set_new(cfg, "incremental_strategy",
                          json_string(n->strategy));
  } else {
    json_object_set_new(cfg, "severity", json_string(n->severity));
    json_object_set_new(o, "test_kind", json_string(test_kind(n)));
    json_object_set_new(o, "column_name", str_or_null(n->column));
    if (n->owner != SIZE_MAX) {
      char *oid = unique_id(m, n->owner);
      json_object_set_new(o, "attached_node", json_string(oid));
      free(oid);
    }
  }
  json_object_set_new(o, "config", cfg);
  json_t *cols = json_object();
  for (size_t k = 0; k < n->n_cols; k++) {
    json_t *c = json_object();
    json_object_set_new(c, "name", json_string(n->cols[k].name));
    char *cd = txf_models_render_description(m, n->cols[k].description, err);
    json_object_set_new(c, "description", json_string(cd ? cd : ""));
    free(cd);
    json_object_set_new(c, "data_type", str_or_null(n->cols[k].data_type));
    json_t *tests = json_array();
    for (size_t t = 0; t < n->n_tests; t++) {
      mnode *tn = &m->nodes[n->tests[t]];
      if (tn->column && !strcmp(tn->column, n->cols[k].name))
        json_array_append_new(tests, json_string(tn->name));
    }
    json_object_set_new(c, "tests", tests);
    json_object_set_new(cols, n->cols[k].name, c);
  }
  json_object_set_new(o, "columns", cols);
  json_t *dep_nodes = json_array();
  for (size_t k = 0; k < n->n_parents; k++) {
    char *pid = unique_id(m, n->parents[k]);
    json_array_append_new(dep_nodes, json_string(pid));
    free(pid);
  }
  json_t *dep_src = json_array();
  for (size_t k = 0; k < n->sources.n; k++) {
    char *sid = txf_xasprintf("source.%s.%s", m->project->name,
                              n->sources.v[k]);
    json_array_append_new(dep_src, json_string(sid));
    free(sid);
  }
  json_t *deps = json_object();
  json_object_set_new(deps, "nodes", dep_nodes);
  json_object_set_new(deps, "sources", dep_src);
  json_object_set_new(o, "depends_on", deps);
  json_object_set_new(o, "raw_code", str_or_null(n->raw));
  json_object_set_new(o, "compiled_code", str_or_null(n->compiled));
  return o;
}

/* Every source some node uses, as "src.table". */
static void used_sources(const txf_models *m, txf_strlist *out) {
  for (size_t i = 0; i < m->n_nodes; i++)
    for (size_t k = 0; k < m->nodes[i].sources.n; k++)
      if (!txf_strlist_has(out, m->nodes[i].sources.v[k]))
        txf_strlist_push(out, m->nodes[i].sources.v[k]);
}

static void dot_quote(txf_buf *b, const char *s) {
  (void)txf_buf_putc(b, '"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      (void)txf_buf_putc(b, '\\');
    (void)txf_buf_putc(b, *s);
  }
  (void)txf_buf_putc(b, '"');
}

static void xml_text(txf_buf *b, const char *s) {
  static const txf_escape esc[] = {
      {'<', "&lt;"}, {'>', "&gt;"}, {'&', "&amp;"}, {'"', "&quot;"}, {0, NULL}};
  txf_buf_put_escaped(b, s, strlen(s), esc);
}

/* Lineage: sources, seeds and models (tests left out), by layer. */
typedef struct {
  char *label;
  char *kind; /* source|seed|model */
  char *detail;
  int layer;
  int row;
} gnode;

static int build_lineage(txf_models *m, txf_buf *dot, txf_buf *html) {
  txf_strlist srcs = {0};
  used_sources(m, &srcs);
  size_t ng = srcs.n + m->n_nodes;
  gnode *g = txf_xcalloc(ng + 1, sizeof *g);
  size_t *map = txf_xcalloc(m->n_nodes + 1, sizeof *map);
  size_t k = 0;
  for (size_t i = 0; i < srcs.n; i++, k++) {
    g[k].label = txf_xstrdup(srcs.v[i]);
    g[k].kind = "source";
    g[k].detail = "";
    g[k].layer = 0;
  }
  size_t *order = NULL, no = 0;
  txf_err err;
  if (txf_models_graph_topo(m, 0, &order, &no, &err))
    no = 0;
  for (size_t oi = 0; oi < no; oi++) {
    size_t i = order[oi];
    mnode *n = &m->nodes[i];
    map[i] = k;
    g[k].label = txf_xstrdup(n->name);
    g[k].kind = n->kind == MN_SEED ? "seed" : "model";
    g[k].detail = n->kind == MN_SEED ? "seed" : n->materialized;
    int layer = n->kind == MN_SEED || n->sources.n ? 1 : 0;
    for (size_t p = 0; p < n->n_parents; p++)
      if (g[map[n->parents[p]]].layer + 1 > layer)
        layer = g[map[n->parents[p]]].layer + 1;
    if (!n->sources.n && !n->n_parents)
      layer = 1;
    g[k].layer = layer;
    k++;
  }
  ng = k;
  int rows[256] = {0};
  int max_layer = 0, max_row = 0;
  for (size_t i = 0; i < ng; i++) {
    int l = g[i].layer < 255 ? g[i].layer : 255;
    g[i].row = rows[l]++;
    if (l > max_layer)
      max_layer = l;
    if (g[i].row > max_row)
      max_row = g[i].row;
  }
  /* DOT */
  (void)txf_buf_puts(dot, "digraph lineage {\n  rankdir=LR;\n"
                          "  node [shape=box, style=rounded];\n");
  for (size_t i = 0; i < ng; i++) {
    (void)txf_buf_puts(dot, "  ");
    char *id = txf_xasprintf("%s.%s", g[i].kind, g[i].label);
    dot_quote(dot, id);
    free(id);
    (void)txf_buf_printf(dot, " [label=");
    char *lab = txf_xasprintf("%s\n%s", g[i].label,
                              g[i].detail[0] ? g[i].detail : g[i].kind);
    dot_quote(dot, lab);
    free(lab);
    (void)txf_buf_printf(dot, ", shape=%s];\n",
                         !strcmp(g[i].kind, "model") ? "box" : "cylinder");
  }
  /* edges (collected once for DOT and SVG) */
  size_t ne = 0;
  size_t(*edges)[2] = NULL;
  for (size_t oi = 0; oi < no; oi++) {
    size_t i = order[oi];
    mnode *n = &m->nodes[i];
    for (size_t s = 0; s < n->sources.n; s++)
      for (size_t j = 0; j < srcs.n; j++)
        if (!strcmp(srcs.v[j], n->sources.v[s])) {
          edges = txf_xrealloc(edges, (ne + 1) * sizeof *edges);
          edges[ne][0] = j;
          edges[ne++][1] = map[i];
        }
    for (size_t p = 0; p < n->n_parents; p++) {
      edges = txf_xrealloc(edges, (ne + 1) * sizeof *edges);
      edges[ne][0] = map[n->parents[p]];
      edges[ne++][1] = map[i];
    }
  }
  for (size_t e = 0; e < ne; e++) {
    gnode *a = &g[edges[e][0]], *b = &g[edges[e][1]];
    char *ia = txf_xasprintf("%s.%s", a->kind, a->label);
    char *ib = txf_xasprintf("%s.%s", b->kind, b->label);
    (void)txf_buf_puts(dot, "  ");
    dot_quote(dot, ia);
    (void)txf_buf_puts(dot, " -> ");
    dot_quote(dot, ib);
    (void)txf_buf_puts(dot, ";\n");
    free(ia);
    free(ib);
  }
  (void)txf_buf_puts(dot, "}\n");
  /* HTML + SVG: columns by layer, one box per node */
  const int bw = 190, bh = 40, gx = 80, gy = 18, pad = 20;
  int width = pad * 2 + (max_layer + 1) * (bw + gx);
  int height = pad * 2 + (max_row + 1) * (bh + gy);
  (void)txf_buf_printf(
      html,
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
      "<title>Lineage: %s</title>\n<style>body{font-family:sans-serif;"
      "margin:16px}text{font-size:12px}.model rect{fill:#e8f0fe;"
      "stroke:#3367d6}.seed rect{fill:#e6f4ea;stroke:#188038}.source rect"
      "{fill:#fef7e0;stroke:#b06000}path{fill:none;stroke:#888;"
      "marker-end:url(#arrow)}</style></head><body>\n<h1>Lineage</h1>\n",
      m->project->name);
  (void)txf_buf_printf(html,
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                       "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
                       "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" "
                       "refX=\"10\" refY=\"5\" markerWidth=\"6\" "
                       "markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 "
                       "L10,5 L0,10 z\" style=\"fill:#888;stroke:none\"/>"
                       "</marker></defs>\n",
                       width, height, width, height);
  for (size_t e = 0; e < ne; e++) {
    gnode *a = &g[edges[e][0]], *b = &g[edges[e][1]];
    int x1 = pad + a->layer * (bw + gx) + bw, y1 = pad + a->row * (bh + gy) + bh / 2;
    int x2 = pad + b->layer * (bw + gx), y2 = pad + b->row * (bh + gy) + bh / 2;
    (void)txf_buf_printf(html,
                         "<path d=\"M%d,%d C%d,%d %d,%d %d,%d\"/>\n", x1, y1,
                         x1 + gx / 2, y1, x2 - gx / 2, y2, x2, y2);
  }
  for (size_t i = 0; i < ng; i++) {
    int x = pad + g[i].layer * (bw + gx), y = pad + g[i].row * (bh + gy);
    (void)txf_buf_printf(html, "<g class=\"%s\"><title>", g[i].kind);
    xml_text(html, g[i].label);
    (void)txf_buf_printf(html,
                         "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" "
                         "height=\"%d\" rx=\"6\"/><text x=\"%d\" y=\"%d\">",
                         x, y, bw, bh, x + 8, y + 17);
    xml_text(html, g[i].label);
    (void)txf_buf_printf(html, "</text><text x=\"%d\" y=\"%d\" "
                               "fill=\"#555\">",
                         x + 8, y + 32);
    xml_text(html, g[i].detail[0] ? g[i].detail : g[i].kind);
    (void)txf_buf_puts(html, "</text></g>\n");
  }
  (void)txf_buf_puts(html, "</svg>\n</body></html>\n");
  for (size_t i = 0; i < ng; i++)
    free(g[i].label);
  TXF_FREE_ALL(g, map, order, edges);
  txf_strlist_release(&srcs);
  return 0;
}

static int manifest_write(txf_models *m, const char *generator, txf_err *err);

int txf_models_docs(txf_models *m, txf_err *err) {
  /* compile what can be compiled, so the manifest carries compiled SQL */
  txf_adapter *a;
  int rc = txf_models_adapter(m, &a, err);
  for (size_t i = 0; !rc && i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    char *sql = NULL;
    txf_err e2;
    if (n->kind == MN_MODEL) {
      txf_rel_kind k = TXF_REL_NONE;
      if (a->ops->relation_kind(a, txf_models_schema(m, i),
                                txf_models_identifier(m, i), &k, &e2))
        k = TXF_REL_NONE;
      int incr = !strcmp(n->materialized, "incremental") &&
                 !txf_models_is_changes(n) &&
                 k == TXF_REL_TABLE && !m->opts->full_refresh;
      if (txf_models_compile_node(m, i, 0, incr, SIZE_MAX, NULL, &sql, &e2))
        sql = NULL;
    } else if (n->kind == MN_TEST) {
      if (txf_models_test_sql(m, i, NULL, &sql, &e2))
        sql = NULL;
    }
    if (sql) {
      free(n->compiled);
      n->compiled = sql;
    }
  }
  if (rc)
    return rc;
  rc = manifest_write(m, "txnflow models docs", err);
  if (rc)
    return rc;
  char *dir = txf_path_join(m->project->dir, "target");
  txf_buf dot, html;
  txf_buf_init(&dot, 0);
  txf_buf_init(&html, 0);
  build_lineage(m, &dot, &html);
  char *p = txf_path_join(dir, "lineage.dot");
  rc = txf_fs_write_atomic(p, dot.data, dot.len, err);
  free(p);
  if (!rc) {
    p = txf_path_join(dir, "lineage.html");
    rc = txf_fs_write_atomic(p, html.data, html.len, err);
    free(p);
  }
  txf_buf_release(&dot);
  txf_buf_release(&html);
  free(dir);
  return rc;
}

/* TEXT and a newline into PROJECT/target/NAME, atomically (the target
 * directory made when missing). */
static int target_write(txf_models *m, const char *name, const char *text,
                        txf_err *err) {
  char *dir = txf_path_join(m->project->dir, "target");
  int rc = txf_fs_mkdirs(dir, err);
  char *p = txf_path_join(dir, name);
  if (!rc) {
    char *line = txf_xasprintf("%s\n", text);
    rc = txf_fs_write_atomic(p, line, strlen(line), err);
    free(line);
  }
  free(p);
  free(dir);
  return rc;
}

/* target/manifest.json: every node with the SQL compiled so far, by
 * GENERATOR ("txnflow models docs"). */
static int manifest_write(txf_models *m, const char *generator, txf_err *err) {
  json_t *root = json_object();
  json_t *meta = json_object();
  json_object_set_new(meta, "generator", json_string(generator));
  json_object_set_new(meta, "manifest_version", json_integer(1));
  json_object_set_new(meta, "project_name", json_string(m->project->name));
  json_object_set_new(meta, "target", json_string(m->target.name));
  json_object_set_new(meta, "adapter_type", json_string(m->target.type));
  json_object_set_new(root, "metadata", meta);
  json_t *nodes = json_object();
  json_t *parent_map = json_object();
  json_t *child_map = json_object();
  txf_err derr;
  for (size_t i = 0; i < m->n_nodes; i++) {
    char *id = unique_id(m, i);
    json_object_set_new(nodes, id, node_json(m, i, &derr));
    json_t *parents = json_array();
    mnode *n = &m->nodes[i];
    for (size_t k = 0; k < n->sources.n; k++) {
      char *sid = txf_xasprintf("source.%s.%s", m->project->name,
                                n->sources.v[k]);
      json_array_append_new(parents, json_string(sid));
      free(sid);
    }
    for (size_t k = 0; k < n->n_parents; k++) {
      char *pid = unique_id(m, n->parents[k]);
      json_array_append_new(parents, json_string(pid));
      json_t *ch = json_object_get(child_map, pid);
      if (!ch) {
        ch = json_array();
        json_object_set_new(child_map, pid, ch);
      }
      json_array_append_new(ch, json_string(id));
      free(pid);
    }
    json_object_set_new(parent_map, id, parents);
    if (!json_object_get(child_map, id))
      json_object_set_new(child_map, id, json_array());
    free(id);
  }
  json_t *sources = json_object();
  txf_strlist used = {0};
  used_sources(m, &used);
  for (size_t i = 0; i < used.n; i++) {
    json_t *s = json_object();
    char *dot = strchr(used.v[i], '.');
    char *sname = txf_xstrndup(used.v[i], (size_t)(dot - used.v[i]));
    json_object_set_new(s, "source_name", json_string(sname));
    json_object_set_new(s, "name", json_string(dot + 1));
    const char *desc = "";
    for (size_t k = 0; k < m->n_sources; k++)
      if (!strcmp(m->sources[k].source, sname) &&
          !strcmp(m->sources[k].table, dot + 1) && m->sources[k].description)
        desc = m->sources[k].description;
    if (!strcmp(sname, "silver") && !desc[0])
      desc = "The clean step's Parquet lake (Hive-partitioned by event date)";
    json_object_set_new(s, "description", json_string(desc));
    char *sid = txf_xasprintf("source.%s.%s", m->project->name, used.v[i]);
    json_object_set_new(sources, sid, s);
    if (!json_object_get(child_map, sid))
      json_object_set_new(child_map, sid, json_array());
    json_t *ch = json_object_get(child_map, sid);
    for (size_t n = 0; n < m->n_nodes; n++)
      if (txf_strlist_has(&m->nodes[n].sources, used.v[i])) {
        char *id = unique_id(m, n);
        json_array_append_new(ch, json_string(id));
        free(id);
      }
    free(sid);
    free(sname);
  }
  txf_strlist_release(&used);
  json_object_set_new(root, "nodes", nodes);
  json_object_set_new(root, "sources", sources);
  json_object_set_new(root, "parent_map", parent_map);
  json_object_set_new(root, "child_map", child_map);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(root);
  int rc = target_write(m, "manifest.json", text, err);
  free(text);
  return rc;
}

int txf_models_artifacts_write(txf_models *m, const char *command,
                               int64_t elapsed_us, txf_err *err) {
  char *gen = txf_xasprintf("txnflow models %s", command);
  int rc = manifest_write(m, gen, err);
  if (!rc) {
    char at[40];
    txf_ts_format(txf_wall_us(), 0, 1, at);
    json_t *args = json_pack("{s:s}", "which", command);
    if (m->opts->vars)
      json_object_set_new(args, "vars", json_string(m->opts->vars));
    if (m->opts->target)
      json_object_set_new(args, "target", json_string(m->opts->target));
    json_object_set_new(args, "full_refresh",
                        json_boolean(m->opts->full_refresh));
    json_t *results = m->results ? json_incref(m->results) : json_array();
    json_t *doc = json_pack(
        "{s:{s:s, s:s, s:s, s:s}, s:o, s:f, s:o}", "metadata",
        "dbt_schema_version",
        "https://schemas.getdbt.com/dbt/run-results/v5.json", "generator",
        gen, "generated_at", at, "invocation_id",
        m->opts->invocation_id ? m->opts->invocation_id : "", "results",
        results, "elapsed_time", (double)elapsed_us / 1e6, "args", args);
    /* 12 significant digits (microseconds): the default 17 print
     * 0.32280199999999998, whose 17 digits can pass the Luhn check and
     * be taken for a card number by scan-pans */
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                     JSON_REAL_PRECISION(12));
    json_decref(doc);
    rc = target_write(m, "run_results.json", text, err);
    free(text);
  }
  free(gen);
  return rc;
}

int txf_models_ls(txf_models *m, FILE *out, int json, txf_err *err) {
  (void)err;
  if (!json) {
    for (size_t i = 0; i < m->n_nodes; i++)
      if (m->nodes[i].selected)
        fprintf(out, "%s %s\n", resource_type(&m->nodes[i]),
                m->nodes[i].name);
    return 0;
  }
  json_t *a = json_array();
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    if (!n->selected)
      continue;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(n->name));
    json_object_set_new(o, "resource_type", json_string(resource_type(n)));
    json_object_set_new(o, "path", str_or_null(n->rel_path ? n->rel_path
                                                           : n->yml_file));
    if (n->kind != MN_TEST)
      json_object_set_new(o, "materialized", str_or_null(n->materialized));
    json_object_set_new(o, "tags", strlist_json(&n->tags));
    json_t *deps = json_array();
    for (size_t k = 0; k < n->n_parents; k++)
      json_array_append_new(deps, json_string(m->nodes[n->parents[k]].name));
    json_object_set_new(o, "depends_on", deps);
    json_array_append_new(a, o);
  }
  char *s = json_dumps(a, JSON_INDENT(2));
  fprintf(out, "%s\n", s);
  free(s);
  json_decref(a);
  return 0;
}
