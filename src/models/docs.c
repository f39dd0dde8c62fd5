/* `models docs` and `models ls`: the manifest (JSON), the lineage graph
 * (DOT, and a self-contained HTML page with an SVG drawing). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

#define kind_name txf_models_kind_name
#define unique_id txf_models_unique_id
#define resource_type txf_models_resource_type
#define strlist_json txf_models_strlist_json

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

/* dbt's test_metadata of generic test N: the test's name and kwargs. */
static json_t *test_metadata(const txf_models *m, const mnode *n) {
  const char *name = n->gtest == GT_UNIQUE     ? "unique"
                     : n->gtest == GT_NOT_NULL ? "not_null"
                     : n->gtest == GT_ACCEPTED ? "accepted_values"
                     : n->gtest == GT_REL      ? "relationships"
                                               : n->test_macro;
  const char *dot = name ? strchr(name, '.') : NULL;
  json_t *kw = json_object();
  if (n->column)
    json_object_set_new(kw, "column_name", json_string(n->column));
  if (n->owner != SIZE_MAX) {
    char *mdl = txf_xasprintf("{{ get_where_subquery(ref('%s')) }}",
                              m->nodes[n->owner].name);
    json_object_set_new(kw, "model", json_string(mdl));
    free(mdl);
  }
  if (n->gtest == GT_ACCEPTED) {
    json_t *v = json_array();
    for (size_t k = 0; k < n->values.n; k++)
      json_array_append_new(v, json_string(n->values.v[k]));
    json_object_set_new(kw, "values", v);
  }
  if (n->gtest == GT_REL) {
    json_object_set_new(kw, "to", json_string(n->rel_to ? n->rel_to : ""));
    json_object_set_new(kw, "field",
                        json_string(n->rel_field ? n->rel_field : ""));
  }
  json_t *md = json_object();
  json_object_set_new(md, "name",
                      json_string(dot    ? dot + 1
                                  : name ? name
                                         : "test"));
  json_object_set_new(md, "kwargs", kw);
  json_object_set_new(md, "namespace",
                      dot ? json_stringn(name, (size_t)(dot - name))
                          : json_null());
  return md;
}

static char *source_id(const txf_models *m, const char *src_table) {
  return txf_xasprintf("source.%s.%s", m->project->name, src_table);
}

/* Node I as dbt's manifest v12 describes its kind (Model, Seed, Snapshot,
 * SingularTest, GenericTest: each key the schema allows, no other). */
static json_t *node_json(txf_models *m, size_t i, txf_err *err) {
  mnode *n = &m->nodes[i];
  int seed = n->kind == MN_SEED, test = n->kind == MN_TEST;
  int snap = n->kind == MN_MODEL && !strcmp(n->materialized, "snapshot");
  int generic = test && n->gtest != GT_NONE;
  json_t *o = json_object();
  char *id = unique_id(m, i);
  json_object_set_new(o, "unique_id", json_string(id));
  free(id);
  json_object_set_new(o, "database", str_or_null(m->target.database));
  char *audit = txf_xasprintf("%s_dbt_test__audit", m->target.schema);
  json_object_set_new(o, "schema",
                      json_string(test ? audit : txf_models_schema(m, i)));
  free(audit);
  json_object_set_new(o, "name", json_string(n->name));
  json_object_set_new(o, "resource_type", json_string(resource_type(n)));
  json_object_set_new(o, "package_name", json_string(m->project->name));
  char *path = txf_models_node_path(m, i);
  json_object_set_new(o, "path", json_string(path));
  free(path);
  json_object_set_new(o, "original_file_path",
                      json_string(n->rel_path   ? n->rel_path
                                  : n->yml_file ? n->yml_file
                                                : ""));
  json_object_set_new(o, "fqn", txf_models_node_fqn(m, i));
  json_object_set_new(
      o, "alias", json_string(test ? n->name : txf_models_identifier(m, i)));
  json_object_set_new(o, "checksum", txf_models_node_checksum(m, i));
  json_object_set_new(o, "config", txf_models_node_config(m, i));
  json_object_set_new(o, "tags", strlist_json(&n->tags));
  char *d = txf_models_render_description(m, n->description, err);
  json_object_set_new(o, "description", json_string(d ? d : ""));
  free(d);
  json_t *cols = json_object();
  for (size_t k = 0; k < n->n_cols; k++) {
    json_t *c = json_object();
    json_object_set_new(c, "name", json_string(n->cols[k].name));
    char *cd = txf_models_render_description(m, n->cols[k].description, err);
    json_object_set_new(c, "description", json_string(cd ? cd : ""));
    free(cd);
    json_object_set_new(c, "meta", json_object());
    json_object_set_new(c, "data_type", str_or_null(n->cols[k].data_type));
    json_object_set_new(c, "constraints", json_array());
    json_object_set_new(c, "quote", json_null());
    json_object_set_new(c, "tags", json_array());
    json_object_set_new(cols, n->cols[k].name, c);
  }
  json_object_set_new(o, "columns", cols);
  json_object_set_new(o, "meta", json_object());
  json_object_set_new(o, "docs",
                      json_pack("{s:b, s:n}", "show", 1, "node_color"));
  json_object_set_new(o, "unrendered_config", txf_models_node_unrendered(m, i));
  json_object_set_new(o, "created_at", json_real((double)m->started_us / 1e6));
  int built = !test && strcmp(n->materialized, "ephemeral");
  char *rel = built ? txf_models_relation(m, i) : NULL;
  json_object_set_new(o, "relation_name", str_or_null(rel));
  free(rel);
  json_object_set_new(o, "raw_code", json_string(n->raw ? n->raw : ""));
  json_object_set_new(o, "doc_blocks", json_array());
  json_t *macros = txf_models_node_macros(m, i);
  if (seed) {
    json_object_set_new(o, "depends_on", json_pack("{s:o}", "macros", macros));
    return o;
  }
  json_object_set_new(o, "language", json_string("sql"));
  json_t *refs = json_array(), *srcs = json_array(), *dep_nodes = json_array();
  for (size_t k = 0; k < n->n_parents; k++) {
    const mnode *p = &m->nodes[n->parents[k]];
    json_array_append_new(refs, json_pack("{s:s, s:n, s:n}", "name", p->name,
                                          "package", "version"));
    char *pid = unique_id(m, n->parents[k]);
    json_array_append_new(dep_nodes, json_string(pid));
    free(pid);
  }
  for (size_t k = 0; k < n->sources.n; k++) {
    const char *st = n->sources.v[k], *dot = strchr(st, '.');
    json_array_append_new(
        srcs, json_pack("[s%, s]", st,
                        (size_t)(dot ? dot - st : (ptrdiff_t)strlen(st)),
                        dot ? dot + 1 : ""));
    char *sid = source_id(m, st);
    json_array_append_new(dep_nodes, json_string(sid));
    free(sid);
  }
  json_object_set_new(o, "refs", refs);
  json_object_set_new(o, "sources", srcs);
  json_object_set_new(o, "metrics", json_array());
  json_object_set_new(o, "functions", json_array());
  json_object_set_new(
      o, "depends_on",
      json_pack("{s:o, s:o}", "macros", macros, "nodes", dep_nodes));
  json_object_set_new(o, "compiled_path", json_null());
  json_object_set_new(o, "compiled", json_boolean(n->compiled != NULL));
  json_object_set_new(o, "compiled_code", str_or_null(n->compiled));
  json_object_set_new(o, "extra_ctes_injected", json_false());
  json_object_set_new(o, "extra_ctes", json_array());
  json_object_set_new(o, "contract",
                      json_pack("{s:b, s:b, s:n}", "enforced", 0, "alias_types",
                                1, "checksum"));
  if (generic) {
    json_object_set_new(o, "column_name", str_or_null(n->column));
    char *fk = n->owner != SIZE_MAX
                   ? txf_xasprintf("models.%s", m->nodes[n->owner].name)
                   : NULL;
    json_object_set_new(o, "file_key_name", str_or_null(fk));
    free(fk);
    char *oid = n->owner != SIZE_MAX ? unique_id(m, n->owner) : NULL;
    json_object_set_new(o, "attached_node", str_or_null(oid));
    free(oid);
    json_object_set_new(o, "test_metadata", test_metadata(m, n));
  } else if (!test && !snap) {
    json_object_set_new(o, "access", json_string("protected"));
    json_object_set_new(o, "constraints", json_array());
    json_object_set_new(o, "version", json_null());
    json_object_set_new(o, "latest_version", json_null());
    json_object_set_new(o, "deprecation_date", json_null());
    json_object_set_new(o, "primary_key", json_array());
  }
  return o;
}

/* O's value of KEY (a new reference), else DFLT (taken). */
static json_t *value_or(json_t *o, const char *key, json_t *dflt) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v))
    return dflt;
  json_decref(dflt);
  return json_incref(v);
}

/* Unit test I as dbt's UnitTestDefinition: its YAML entry (given, expect,
 * overrides as written) with the manifest's keys. */
static json_t *unit_json(txf_models *m, size_t i) {
  mnode *n = &m->nodes[i];
  json_t *def = n->unit ? n->unit->def : NULL;
  json_t *o = json_object();
  char *id = unique_id(m, i);
  json_object_set_new(o, "unique_id", json_string(id));
  free(id);
  json_object_set_new(o, "name", json_string(n->name));
  json_object_set_new(o, "resource_type", json_string("unit_test"));
  json_object_set_new(o, "package_name", json_string(m->project->name));
  char *path = txf_models_node_path(m, i);
  json_object_set_new(o, "path", json_string(path));
  free(path);
  json_object_set_new(o, "original_file_path",
                      json_string(n->yml_file ? n->yml_file : ""));
  json_object_set_new(o, "fqn", txf_models_node_fqn(m, i));
  const char *model = n->owner != SIZE_MAX ? m->nodes[n->owner].name : "";
  json_object_set_new(o, "model", json_string(model));
  json_t *given = json_array(), *g;
  size_t k;
  json_array_foreach(json_object_get(def, "given"), k, g) {
    json_t *e = json_object();
    json_object_set_new(e, "input", value_or(g, "input", json_string("")));
    json_object_set_new(e, "rows", value_or(g, "rows", json_null()));
    json_object_set_new(e, "format",
                        value_or(g, "format", json_string("dict")));
    json_array_append_new(given, e);
  }
  json_object_set_new(o, "given", given);
  json_t *ex = json_object_get(def, "expect");
  json_t *exo = json_object();
  json_object_set_new(exo, "rows", value_or(ex, "rows", json_null()));
  json_object_set_new(exo, "format",
                      value_or(ex, "format", json_string("dict")));
  json_object_set_new(o, "expect", exo);
  json_t *ov = json_object_get(def, "overrides");
  json_t *ovo = json_null();
  if (json_is_object(ov)) {
    ovo = json_object();
    json_object_set_new(ovo, "vars", value_or(ov, "vars", json_object()));
    json_object_set_new(ovo, "macros", value_or(ov, "macros", json_object()));
    json_object_set_new(ovo, "env_vars", json_object());
  }
  json_object_set_new(o, "overrides", ovo);
  json_t *desc = json_object_get(def, "description");
  json_object_set_new(
      o, "description",
      json_string(json_is_string(desc) ? json_string_value(desc) : ""));
  json_object_set_new(o, "config", txf_models_node_config(m, i));
  json_t *deps = json_array();
  if (n->owner != SIZE_MAX) {
    char *oid = unique_id(m, n->owner);
    json_array_append_new(deps, json_string(oid));
    free(oid);
  }
  json_object_set_new(o, "depends_on",
                      json_pack("{s:[], s:o}", "macros", "nodes", deps));
  json_object_set_new(o, "checksum", txf_models_node_checksum(m, i));
  json_object_set_new(o, "schema", json_string(m->target.schema));
  json_object_set_new(o, "created_at", json_real((double)m->started_us / 1e6));
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

static int manifest_write(txf_models *m, txf_err *err);

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
  rc = manifest_write(m, err);
  if (rc)
    return rc;
  char *dir = txf_models_target_file(m, "");
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

/* TEXT and a newline into PROJECT/target/NAME (or --target-path's),
 * atomically (the target directory made when missing). */
static int target_write(txf_models *m, const char *name, const char *text,
                        txf_err *err) {
  char *dir = txf_models_target_file(m, "");
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

static void map_add(json_t *map, const char *key, const char *id) {
  json_t *l = json_object_get(map, key);
  if (!l) {
    l = json_array();
    json_object_set_new(map, key, l);
  }
  if (id)
    json_array_append_new(l, json_string(id));
}

/* dbt's SourceDefinition of SRC_TABLE ("src.table"). */
static json_t *source_json(const txf_models *m, const char *src_table) {
  const char *dot = strchr(src_table, '.');
  char *sname = txf_xstrndup(src_table, (size_t)(dot - src_table));
  const msource *ms = NULL;
  for (size_t k = 0; k < m->n_sources && !ms; k++)
    if (!strcmp(m->sources[k].source, sname) &&
        !strcmp(m->sources[k].table, dot + 1))
      ms = &m->sources[k];
  const char *desc = ms && ms->description ? ms->description : "";
  int silver = !ms && !strcmp(sname, "silver");
  if (silver)
    desc = "The clean step's Parquet lake (Hive-partitioned by event date)";
  char *id = source_id(m, src_table);
  const char *yml = ms && ms->yml_file ? ms->yml_file : "";
  json_t *s = json_pack(
      "{s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s, s, s], s:s, s:s, s:s, "
      "s:s, s:s, s:{}, s:{}, s:{}, s:[], s:{s:b}, s:{}, s:o, s:f}",
      "database", str_or_null(m->target.database), "schema",
      ms ? ms->schema : sname, "name", dot + 1, "resource_type", "source",
      "package_name", m->project->name, "path", yml, "original_file_path", yml,
      "unique_id", id, "fqn", m->project->name, sname, dot + 1, "source_name",
      sname, "source_description",
      ms && ms->source_description ? ms->source_description : "", "loader", "",
      "identifier", ms ? ms->identifier : dot + 1, "description", desc,
      "columns", "meta", "source_meta", "tags", "config", "enabled", 1,
      "unrendered_config", "relation_name", json_null(), "created_at",
      (double)m->started_us / 1e6);
  if (ms && ms->external)
    json_object_set_new(s, "external",
                        json_pack("{s:s}", "location", ms->external));
  free(id);
  free(sname);
  return s;
}

/* dbt's Macro K. */
static json_t *macro_json(const txf_models *m, size_t k) {
  const mmacro *mc = &m->macros[k];
  char *id = txf_xasprintf("macro.%s.%s", mc->package, mc->name);
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:o}, s:s, s:{}, s:{s:b, s:n}, "
      "s:n, s:[], s:f, s:n}",
      "name", mc->name, "resource_type", "macro", "package_name", mc->package,
      "path", mc->path, "original_file_path", mc->path, "unique_id", id,
      "macro_sql", mc->sql, "depends_on", "macros",
      txf_models_macro_calls(m, k), "description", "", "meta", "docs", "show",
      1, "node_color", "patch_path", "arguments", "created_at",
      (double)m->started_us / 1e6, "supported_languages");
  free(id);
  return o;
}

/* target/manifest.json in dbt's manifest v12: every node with the SQL
 * compiled so far (enabled ones in nodes / unit_tests, the others in
 * disabled), the sources, the macros, and the maps of edges. */
static int manifest_write(txf_models *m, txf_err *err) {
  json_t *root = json_object();
  char at[40];
  txf_ts_format(txf_wall_us(), 0, 1, at);
  char started[40];
  txf_ts_format(m->started_us, 0, 1, started);
  json_t *meta = json_pack(
      "{s:s, s:s, s:s, s:s, s:{}, s:s, s:n, s:n, s:n, s:s, s:n, s:s}",
      "dbt_schema_version", "https://schemas.getdbt.com/dbt/manifest/v12.json",
      "generated_at", at, "invocation_id", m->invocation_id,
      "invocation_started_at", started, "env", "project_name", m->project->name,
      "project_id", "user_id", "send_anonymous_usage_stats", "adapter_type",
      m->target.type, "quoting", "run_started_at", started);
  json_object_set_new(root, "metadata", meta);
  json_t *nodes = json_object(), *units = json_object(),
         *disabled = json_object(), *parent_map = json_object(),
         *child_map = json_object();
  txf_err derr;
  for (size_t i = 0; i < m->n_nodes; i++) {
    mnode *n = &m->nodes[i];
    char *id = unique_id(m, i);
    int unit = n->kind == MN_TEST && n->gtest == GT_UNIT;
    json_t *o = unit ? unit_json(m, i) : node_json(m, i, &derr);
    if (!n->enabled) {
      json_object_set_new(disabled, id, json_pack("[o]", o));
      free(id);
      continue;
    }
    json_object_set_new(unit ? units : nodes, id, o);
    map_add(parent_map, id, NULL);
    map_add(child_map, id, NULL);
    json_t *deps = json_object_get(json_object_get(o, "depends_on"), "nodes");
    size_t k;
    json_t *d;
    json_array_foreach(deps, k, d) {
      map_add(parent_map, id, json_string_value(d));
      map_add(child_map, json_string_value(d), id);
    }
    free(id);
  }
  json_t *sources = json_object();
  txf_strlist all = {0};
  used_sources(m, &all);
  for (size_t k = 0; k < m->n_sources; k++) {
    char *st =
        txf_xasprintf("%s.%s", m->sources[k].source, m->sources[k].table);
    if (!txf_strlist_has(&all, st))
      txf_strlist_push(&all, st);
    free(st);
  }
  for (size_t k = 0; k < all.n; k++) {
    char *sid = source_id(m, all.v[k]);
    json_object_set_new(sources, sid, source_json(m, all.v[k]));
    map_add(parent_map, sid, NULL);
    map_add(child_map, sid, NULL);
    free(sid);
  }
  txf_strlist_release(&all);
  json_t *macros = json_object();
  for (size_t k = 0; k < m->n_macros; k++) {
    json_t *o = macro_json(m, k);
    json_object_set_new(macros,
                        json_string_value(json_object_get(o, "unique_id")), o);
  }
  json_object_set_new(root, "nodes", nodes);
  json_object_set_new(root, "sources", sources);
  json_object_set_new(root, "macros", macros);
  /* what manifest v12 requires and txnflow has none of */
  static const char *const none[] = {
      "docs",      "exposures", "metrics",       "groups",
      "selectors", "group_map", "saved_queries", "semantic_models"};
  for (size_t k = 0; k < TXF_ARRAY_LEN(none); k++)
    json_object_set_new(root, none[k], json_object());
  json_object_set_new(root, "disabled", disabled);
  json_object_set_new(root, "parent_map", parent_map);
  json_object_set_new(root, "child_map", child_map);
  json_object_set_new(root, "unit_tests", units);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(root);
  int rc = target_write(m, "manifest.json", text, err);
  free(text);
  return rc;
}

int txf_models_artifacts_write(txf_models *m, const char *command,
                               int64_t elapsed_us, txf_err *err) {
  int rc = manifest_write(m, err);
  if (!rc) {
    char at[40], started[40];
    txf_ts_format(txf_wall_us(), 0, 1, at);
    txf_ts_format(m->started_us, 0, 1, started);
    /* dbt's args are the command's flags; txnflow's own run id (the
     * metadata store's invocation) goes with them */
    json_t *args = json_pack("{s:s}", "which", command);
    if (m->opts->vars)
      json_object_set_new(args, "vars", json_string(m->opts->vars));
    if (m->opts->target)
      json_object_set_new(args, "target", json_string(m->opts->target));
    if (m->opts->state_dir)
      json_object_set_new(args, "state", json_string(m->opts->state_dir));
    json_object_set_new(args, "full_refresh",
                        json_boolean(m->opts->full_refresh));
    if (m->opts->invocation_id)
      json_object_set_new(args, "txnflow_invocation_id",
                          json_string(m->opts->invocation_id));
    json_t *results = m->results ? json_incref(m->results) : json_array();
    json_t *doc =
        json_pack("{s:{s:s, s:s, s:s, s:s, s:{}}, s:o, s:f, s:o}", "metadata",
                  "dbt_schema_version",
                  "https://schemas.getdbt.com/dbt/run-results/v6.json",
                  "generated_at", at, "invocation_id", m->invocation_id,
                  "invocation_started_at", started, "env", "results", results,
                  "elapsed_time", (double)elapsed_us / 1e6, "args", args);
    /* 12 significant digits (microseconds): the default 17 print
     * 0.32280199999999998, whose 17 digits can pass the Luhn check and
     * be taken for a card number by scan-pans */
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                     JSON_REAL_PRECISION(12));
    json_decref(doc);
    rc = target_write(m, "run_results.json", text, err);
    free(text);
  }
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
