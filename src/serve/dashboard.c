/* The `dashboard:` section of txnflow.yml: what the Business page charts,
 * read once when the server starts and checked key by key, so a mistake is
 * a file:line:col message then, not an empty chart later. See
 * docs/serve.md and docs/decisions/1002-dashboard-declared-in-yaml.md. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "serve/dashboard.h"

static const char *const dashboard_keys[] = {"business", NULL};

static const char *const kind_names[] = {"timeseries", "segments", "histogram",
                                         "table", NULL};

/* The keys a chart of each kind may have, the common ones first. */
#define COMMON_KEYS "id", "kind", "title", "model", "sql", "unit", "count_label"
static const char *const keys_of[][16] = {
    [TXF_CHART_TIMESERIES] = {COMMON_KEYS, "x", "x_label", "y", "y_label",
                              "series", NULL},
    [TXF_CHART_SEGMENTS] = {COMMON_KEYS, "x", "x_label", "y", "y_label",
                            "as_of", NULL},
    [TXF_CHART_HISTOGRAM] = {COMMON_KEYS, "y", "y_label", "buckets", NULL},
    [TXF_CHART_TABLE] = {COMMON_KEYS, "order_by", "limit", NULL},
};

/* A chart's text keys after its id, in the order they are read (so the
 * first mistake in this order is the one reported): the member each goes
 * to, and the kinds (bits 1 << kind) that require it. */
#define KIND(k) (1u << (k))
static const struct {
  const char *key;
  size_t off;
  unsigned required;
} text_keys[] = {
    {"title", offsetof(txf_chart, title), 0},
    {"model", offsetof(txf_chart, model), 0},
    {"sql", offsetof(txf_chart, sql), 0},
    {"unit", offsetof(txf_chart, unit), 0},
    {"count_label", offsetof(txf_chart, count_label), 0},
    {"x", offsetof(txf_chart, x),
     KIND(TXF_CHART_TIMESERIES) | KIND(TXF_CHART_SEGMENTS)},
    {"x_label", offsetof(txf_chart, x_label), 0},
    {"y", offsetof(txf_chart, y),
     KIND(TXF_CHART_TIMESERIES) | KIND(TXF_CHART_HISTOGRAM)},
    {"y_label", offsetof(txf_chart, y_label), 0},
    {"as_of", offsetof(txf_chart, as_of), 0},
    {"order_by", offsetof(txf_chart, order_by), 0},
};

/* The member of C for text key I. */
static char **text_of(txf_chart *c, size_t i) {
  return (char **)((char *)c + text_keys[i].off);
}

/* Where a chart is, for messages: "dashboard.business[2]". */
typedef struct at {
  const txf_yaml_doc *doc;
  const txf_yaml_node *map;
  char where[48];
} at;

/* The string at KEY of the chart (NULL when absent). A value that is not a
 * non-empty scalar is an error; so is a missing REQUIRED one. */
static int get_str(const at *a, const char *key, int required, char **out,
                   txf_err *err) {
  *out = NULL;
  const txf_yaml_node *v = txf_yaml_get(a->map, key);
  if (!v || txf_yaml_is_null(v)) {
    if (required)
      return txf_yaml_error(a->doc, v ? v : a->map, err,
                            "key '%s.%s': required", a->where, key);
    return 0;
  }
  if (txf_yaml_kind(v) != TXF_YAML_SCALAR || !*txf_yaml_str(v))
    return txf_yaml_error(a->doc, v, err,
                          "key '%s.%s': expected a non-empty string", a->where,
                          key);
  *out = txf_xstrdup(txf_yaml_str(v));
  return 0;
}

/* The integer at KEY in LO..HI, DEF when absent. */
static int get_int(const at *a, const char *key, int64_t def, int64_t lo,
                   int64_t hi, int64_t *out, txf_err *err) {
  const txf_yaml_node *v = txf_yaml_get(a->map, key);
  *out = def;
  if (!v || txf_yaml_is_null(v))
    return 0;
  if (txf_yaml_kind(v) != TXF_YAML_SCALAR ||
      txf_parse_i64(txf_yaml_str(v), out) || *out < lo || *out > hi)
    return txf_yaml_error(a->doc, v, err,
                          "key '%s.%s': expected a number %lld..%lld", a->where,
                          key, (long long)lo, (long long)hi);
  return 0;
}

static int id_ok(const char *s) {
  if (!(*s >= 'a' && *s <= 'z') || strlen(s) > 40)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

static void chart_release(txf_chart *c) {
  free(c->id);
  for (size_t i = 0; i < TXF_ARRAY_LEN(text_keys); i++)
    free(*text_of(c, i));
  for (size_t i = 0; i < c->n_series; i++)
    free(c->series[i]);
  free(c->series);
}

/* The `series:` list of a timeseries: column names. */
static int load_series(const at *a, txf_chart *c, txf_err *err) {
  const txf_yaml_node *v = txf_yaml_get(a->map, "series");
  if (!v || txf_yaml_is_null(v))
    return 0;
  if (txf_yaml_kind(v) != TXF_YAML_SEQ)
    return txf_yaml_error(a->doc, v, err,
                          "key '%s.series': expected a list of columns",
                          a->where);
  c->series = txf_xcalloc(txf_yaml_len(v) + 1, sizeof *c->series);
  for (size_t i = 0; i < txf_yaml_len(v); i++) {
    const txf_yaml_node *s = txf_yaml_at(v, i);
    if (txf_yaml_kind(s) != TXF_YAML_SCALAR || !*txf_yaml_str(s))
      return txf_yaml_error(a->doc, s, err,
                            "key '%s.series[%zu]': expected a column name",
                            a->where, i);
    c->series[c->n_series++] = txf_xstrdup(txf_yaml_str(s));
  }
  return 0;
}

static int load_chart(const at *a, const txf_serve_dashboard *d, txf_chart *c,
                      txf_err *err) {
  if (txf_yaml_kind(a->map) != TXF_YAML_MAP)
    return txf_yaml_error(a->doc, a->map, err,
                          "%s: expected a map (id, kind, model, ...)",
                          a->where);
  char *kind = NULL;
  int rc = get_str(a, "kind", 1, &kind, err);
  if (rc)
    return rc;
  size_t k = 0;
  while (kind_names[k] && strcmp(kind_names[k], kind))
    k++;
  free(kind);
  if (!kind_names[k])
    return txf_yaml_error(a->doc, txf_yaml_get(a->map, "kind"), err,
                          "key '%s.kind': expected timeseries, segments, "
                          "histogram or table, got '%s'",
                          a->where, txf_yaml_str(txf_yaml_get(a->map, "kind")));
  c->kind = (txf_chart_kind)k;
  rc = txf_yaml_check_keys(a->doc, a->map, keys_of[k], a->where, err);
  if (!rc)
    rc = get_str(a, "id", 1, &c->id, err);
  if (!rc && !id_ok(c->id))
    rc = txf_yaml_error(a->doc, txf_yaml_get(a->map, "id"), err,
                        "key '%s.id': '%s' is not a name of a-z, 0-9 and _ "
                        "starting with a letter",
                        a->where, c->id);
  if (!rc && (!strcmp(c->id, "warehouse") || !strcmp(c->id, "charts")))
    rc = txf_yaml_error(a->doc, txf_yaml_get(a->map, "id"), err,
                        "key '%s.id': '%s' is reserved", a->where, c->id);
  for (size_t i = 0; !rc && i < d->n_charts; i++)
    if (!strcmp(d->charts[i].id, c->id))
      rc = txf_yaml_error(a->doc, txf_yaml_get(a->map, "id"), err,
                          "key '%s.id': '%s' is already a chart's id", a->where,
                          c->id);
  for (size_t i = 0; !rc && i < TXF_ARRAY_LEN(text_keys); i++) {
    rc = get_str(a, text_keys[i].key, text_keys[i].required >> k & 1,
                 text_of(c, i), err);
    /* Once both are read: the rows come from a model or from sql. */
    if (!rc && text_keys[i].off == offsetof(txf_chart, sql) &&
        !c->model == !c->sql)
      rc = txf_yaml_error(a->doc, a->map, err,
                          "%s: give the chart either a model or sql", a->where);
  }
  if (!rc)
    rc = load_series(a, c, err);
  if (!rc)
    rc = get_int(a, "buckets", 20, 2, 100, &c->buckets, err);
  if (!rc)
    rc = get_int(a, "limit", 50, 1, 1000, &c->limit, err);
  if (rc)
    return rc;
  /* The defaults, so the page and the queries need no fallbacks. */
  if (!c->title)
    c->title = txf_xstrdup(c->id);
  if (!c->unit)
    c->unit = txf_xstrdup("");
  if (!c->count_label)
    c->count_label = txf_xstrdup("rows");
  if (!c->x_label && c->x)
    c->x_label = txf_xstrdup(k == TXF_CHART_TIMESERIES ? "date" : c->x);
  if (!c->y_label && c->y)
    c->y_label = txf_xstrdup(c->y);
  return 0;
}

int txf_serve_dashboard_load(txf_serve_dashboard **out, const txf_yaml_doc *doc,
                             txf_err *err) {
  *out = NULL;
  txf_serve_dashboard *d = txf_xcalloc(1, sizeof *d);
  const txf_yaml_node *sec = txf_yaml_get(txf_yaml_root(doc), "dashboard");
  int rc = 0;
  if (sec && !txf_yaml_is_null(sec))
    rc = txf_yaml_check_keys(doc, sec, dashboard_keys, "dashboard", err);
  const txf_yaml_node *biz = sec ? txf_yaml_get(sec, "business") : NULL;
  if (!rc && biz && !txf_yaml_is_null(biz) &&
      txf_yaml_kind(biz) != TXF_YAML_SEQ)
    rc = txf_yaml_error(doc, biz, err,
                        "key 'dashboard.business': expected a list of charts");
  if (!rc && biz && txf_yaml_kind(biz) == TXF_YAML_SEQ) {
    d->charts = txf_xcalloc(txf_yaml_len(biz) + 1, sizeof *d->charts);
    for (size_t i = 0; !rc && i < txf_yaml_len(biz); i++) {
      at a = {doc, txf_yaml_at(biz, i), ""};
      snprintf(a.where, sizeof a.where, "dashboard.business[%zu]", i);
      rc = load_chart(&a, d, &d->charts[i], err);
      d->n_charts++; /* released on failure too */
    }
  }
  if (rc) {
    txf_serve_dashboard_free(d);
    return rc;
  }
  *out = d;
  return 0;
}

void txf_serve_dashboard_free(txf_serve_dashboard *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->n_charts; i++)
    chart_release(&d->charts[i]);
  free(d->charts);
  free(d);
}

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

json_t *txf_serve_dashboard_json(const txf_serve_dashboard *d) {
  json_t *arr = json_array();
  for (size_t i = 0; d && i < d->n_charts; i++) {
    const txf_chart *c = &d->charts[i];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "kind", json_string(kind_names[c->kind]));
    json_object_set_new(o, "title", json_string(c->title));
    json_object_set_new(o, "model", str_or_null(c->model));
    json_object_set_new(o, "unit", json_string(c->unit));
    json_object_set_new(o, "count_label", json_string(c->count_label));
    json_object_set_new(o, "x", str_or_null(c->x));
    json_object_set_new(o, "x_label", str_or_null(c->x_label));
    json_object_set_new(o, "y", str_or_null(c->y));
    json_object_set_new(o, "y_label", str_or_null(c->y_label));
    json_t *series = json_array();
    for (size_t j = 0; j < c->n_series; j++)
      json_array_append_new(series, json_string(c->series[j]));
    json_object_set_new(o, "series", series);
    json_array_append_new(arr, o);
  }
  return arr;
}
