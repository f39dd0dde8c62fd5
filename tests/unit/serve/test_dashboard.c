#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/unit.h"
#include "duck/duck.h"
#include "project/project.h"
#include "serve/dashboard.h"
#include "serve/serve.h"

/* Load the dashboard of the txnflow.yml text YML; returns the error code
 * (ERR has the message) or 0 with *OUT set. */
static int load(const char *yml, txf_serve_dashboard **out, txf_err *err) {
  txf_yaml_doc *doc = NULL;
  txf_err_clear(err);
  ASSERT_OK(txf_yaml_load_string(&doc, "txnflow.yml", yml, strlen(yml), err),
            err);
  int rc = txf_serve_dashboard_load(out, doc, err);
  txf_yaml_free(doc);
  return rc;
}

TEST(serve_dashboard_default_project_charts_its_marts) {
  char *dir = txf_path_join(unit_tmpdir(), "p");
  txf_err err;
  ASSERT_OK(txf_project_init(dir, NULL, 0, &err), &err);
  txf_project *p = NULL;
  ASSERT_OK(txf_project_load(&p, dir, &err), &err);
  txf_serve_dashboard *d = NULL;
  ASSERT_OK(txf_serve_dashboard_load(&d, p->doc, &err), &err);
  ASSERT_EQ_I64(d->n_charts, 4);
  static const struct {
    const char *id, *model;
    txf_chart_kind kind;
  } want[] = {{"sales", "mart_sales_daily", TXF_CHART_TIMESERIES},
              {"rfm", "mart_rfm_customer", TXF_CHART_SEGMENTS},
              {"ltv", "mart_customer_ltv", TXF_CHART_HISTOGRAM},
              {"fraud", "mart_fraud_signals", TXF_CHART_TABLE}};
  for (size_t i = 0; i < 4; i++) {
    ASSERT_EQ_STR(d->charts[i].id, want[i].id);
    ASSERT_EQ_STR(d->charts[i].model, want[i].model);
    ASSERT_EQ_I64(d->charts[i].kind, want[i].kind);
  }
  ASSERT_EQ_I64(d->charts[0].n_series, 2);
  ASSERT_EQ_STR(d->charts[0].series[1], "channel");
  ASSERT_EQ_STR(d->charts[0].x_label, "date"); /* the default */
  ASSERT_EQ_STR(d->charts[2].y_label, "net_krw");
  ASSERT_EQ_I64(d->charts[2].buckets, 20);
  ASSERT_EQ_I64(d->charts[3].limit, 50);
  json_t *j = txf_serve_dashboard_json(d);
  char *s = json_dumps(json_array_get(j, 1), JSON_COMPACT);
  ASSERT_EQ_STR(s, "{\"id\":\"rfm\",\"kind\":\"segments\",\"title\":\"RFM "
                   "segments\",\"model\":\"mart_rfm_customer\",\"unit\":"
                   "\"KRW\",\"count_label\":\"customers\",\"x\":\"segment\","
                   "\"x_label\":\"segment\",\"y\":\"monetary_krw\",\"y_"
                   "label\":\"value\",\"series\":[]}");
  free(s);
  json_decref(j);
  txf_serve_dashboard_free(d);
  txf_project_free(p);
  free(dir);
}

TEST(serve_dashboard_absent_is_empty) {
  txf_serve_dashboard *d = NULL;
  txf_err err;
  ASSERT_OK(load("name: p\n", &d, &err), &err);
  ASSERT_EQ_I64(d->n_charts, 0);
  txf_serve_dashboard_free(d);
}

TEST(serve_dashboard_mistakes_name_file_line_and_key) {
  static const struct {
    const char *yml, *msg;
  } cases[] = {
      {"dashboard:\n  busines: []\n",
       "txnflow.yml:2:3: unknown key 'busines' in dashboard (did you mean "
       "'business'?)"},
      {"dashboard:\n  business: {id: a}\n",
       "txnflow.yml:2:13: key 'dashboard.business': expected a list of "
       "charts"},
      {"dashboard:\n  business:\n    - id: a\n      kind: table\n"
       "      model: m\n      oder_by: t\n",
       "txnflow.yml:6:7: unknown key 'oder_by' in dashboard.business[0] (did "
       "you mean 'order_by'?)"},
      {"dashboard:\n  business:\n    - {id: a, kind: pie, model: m}\n",
       "txnflow.yml:3:21: key 'dashboard.business[0].kind': expected "
       "timeseries, segments, histogram or table, got 'pie'"},
      {"dashboard:\n  business:\n    - {id: a, model: m}\n",
       "txnflow.yml:3:7: key 'dashboard.business[0].kind': required"},
      {"dashboard:\n  business:\n    - {id: a, kind: histogram, model: m}\n",
       "txnflow.yml:3:7: key 'dashboard.business[0].y': required"},
      {"dashboard:\n  business:\n    - {id: a, kind: table}\n",
       "txnflow.yml:3:7: dashboard.business[0]: give the chart either a model "
       "or sql"},
      {"dashboard:\n  business:\n"
       "    - {id: a, kind: table, model: m, sql: SELECT 1}\n",
       "txnflow.yml:3:7: dashboard.business[0]: give the chart either a model "
       "or sql"},
      {"dashboard:\n  business:\n    - {id: Sales, kind: table, model: m}\n",
       "txnflow.yml:3:12: key 'dashboard.business[0].id': 'Sales' is not a "
       "name of a-z, 0-9 and _ starting with a letter"},
      {"dashboard:\n  business:\n    - {id: charts, kind: table, model: m}\n",
       "txnflow.yml:3:12: key 'dashboard.business[0].id': 'charts' is "
       "reserved"},
      {"dashboard:\n  business:\n    - {id: a, kind: table, model: m}\n"
       "    - {id: a, kind: table, model: n}\n",
       "txnflow.yml:4:12: key 'dashboard.business[1].id': 'a' is already a "
       "chart's id"},
      {"dashboard:\n  business:\n"
       "    - {id: a, kind: histogram, model: m, y: v, buckets: 1}\n",
       "txnflow.yml:3:57: key 'dashboard.business[0].buckets': expected a "
       "number 2..100"},
      {"dashboard:\n  business:\n"
       "    - {id: a, kind: timeseries, model: m, x: d, y: v, series: c}\n",
       "txnflow.yml:3:63: key 'dashboard.business[0].series': expected a list "
       "of columns"},
      {"dashboard:\n  business:\n"
       "    - {id: a, kind: table, model: m, title: [x]}\n",
       "txnflow.yml:3:45: key 'dashboard.business[0].title': expected a "
       "non-empty string"},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(cases); i++) {
    txf_serve_dashboard *d = (txf_serve_dashboard *)1;
    txf_err err;
    ASSERT_EQ_I64(load(cases[i].yml, &d, &err), TXF_ECONFIG);
    ASSERT(d == NULL);
    ASSERT_EQ_STR(err.msg, cases[i].msg);
  }
}

static json_t *business(txf_serve_app *a) {
  txf_serve_response r;
  txf_serve_api(a, "/api/business", NULL, 0, &r);
  ASSERT_EQ_I64(r.status, 200);
  json_t *j = json_loadb(r.body, r.len, 0, NULL);
  free(r.body);
  ASSERT(j != NULL);
  return j;
}

/* A user's own mart, with its own column names, charted by every kind;
 * one chart on a query, one on a mart not built, one naming a missing
 * column. */
TEST(serve_business_charts_a_users_own_marts) {
  txf_err err;
  txf_duck *w = NULL;
  ASSERT_OK(txf_duck_open(&w, unit_path("warehouse.duckdb"), 1, 0, &err), &err);
  ASSERT_OK(txf_duck_exec(w,
                          "CREATE TABLE my_orders AS SELECT * FROM (VALUES "
                          "(DATE '2025-01-01', 'north', 'web', 10.50, 'x'), "
                          "(DATE '2025-01-01', 'south', 'web', 4.00, 'y'), "
                          "(DATE '2025-01-02', 'north', 'app', 7.25, 'z')) "
                          "t(\"Order Day\", region, via, total, note)",
                          &err),
            &err);
  txf_duck_close(w);
  txf_serve_dashboard *d = NULL;
  ASSERT_OK(
      load("dashboard:\n"
           "  business:\n"
           "    - {id: days, kind: timeseries, model: my_orders,\n"
           "       x: Order Day, y: total, series: [region]}\n"
           "    - {id: regions, kind: segments, model: my_orders,\n"
           "       x: region, y: total}\n"
           "    - {id: spread, kind: histogram, model: my_orders,\n"
           "       y: total, buckets: 4}\n"
           "    - {id: latest, kind: table, limit: 2,\n"
           "       sql: \"SELECT note, total FROM my_orders ORDER BY 2\"}\n"
           "    - {id: later, kind: table, model: not_yet}\n"
           "    - {id: typo, kind: histogram, model: my_orders, "
           "y: totl}\n",
           &d, &err),
      &err);
  txf_serve_config cfg = {.data_dir = unit_tmpdir(), .dashboard = d};
  txf_serve_app *a = txf_serve_app_new(&cfg);
  json_t *j = business(a);
  char *s = json_dumps(json_object_get(j, "days"), JSON_COMPACT);
  ASSERT_EQ_STR(s, "{\"status\":\"ok\",\"message\":\"\",\"by_region\":[["
                   "\"2025-01-01\",\"north\",\"10.50\"],[\"2025-01-01\","
                   "\"south\",\"4.00\"],[\"2025-01-02\",\"north\",\"7.25\"]],"
                   "\"daily_total\":[[\"2025-01-02\",\"7.25\"],[\"2025-01-"
                   "01\",\"14.50\"]]}");
  free(s);
  s = json_dumps(json_object_get(json_object_get(j, "regions"), "segments"),
                 JSON_COMPACT);
  ASSERT_EQ_STR(s, "[[\"north\",\"2\",\"17.75\"],[\"south\",\"1\",\"4.00\"]]");
  free(s);
  json_t *hist = json_object_get(json_object_get(j, "spread"), "histogram");
  ASSERT_EQ_I64(json_array_size(hist), 4);
  s = json_dumps(json_object_get(json_object_get(j, "spread"), "stats"),
                 JSON_COMPACT);
  ASSERT_EQ_STR(s, "[\"3\",\"7.25\",\"7.25\",\"10.50\"]");
  free(s);
  s = json_dumps(json_object_get(j, "latest"), JSON_COMPACT);
  ASSERT_EQ_STR(s, "{\"status\":\"ok\",\"message\":\"\",\"columns\":["
                   "\"note\",\"total\"],\"rows\":[[\"y\",\"4.00\"],[\"z\","
                   "\"7.25\"]],\"total\":3}");
  free(s);
  s = json_dumps(json_object_get(j, "later"), JSON_COMPACT);
  ASSERT_EQ_STR(s, "{\"status\":\"not_built\",\"message\":\"not_yet is not "
                   "built yet\"}");
  free(s);
  s = json_dumps(json_object_get(j, "typo"), JSON_COMPACT);
  ASSERT_EQ_STR(s, "{\"status\":\"error\",\"message\":\"my_orders has no "
                   "column 'totl'\"}");
  free(s);
  ASSERT_EQ_I64(json_array_size(json_object_get(j, "charts")), 6);
  json_decref(j);
  txf_serve_app_free(a);
  txf_serve_dashboard_free(d);
}

/* The dashboard's DuckDB session is read-only for real (issue 16): a
 * chart's query reads the warehouse and nothing else; it cannot read
 * files, write them, load extensions or change settings. */
TEST(serve_business_queries_are_sealed) {
  txf_err err;
  txf_duck *w = NULL;
  ASSERT_OK(txf_duck_open(&w, unit_path("warehouse.duckdb"), 1, 0, &err), &err);
  ASSERT_OK(txf_duck_exec(w, "CREATE TABLE t AS SELECT 1 AS v", &err), &err);
  txf_duck_close(w);
  unit_write_file(unit_path("secret.csv"), "a\n42\n");
  char *yml = txf_xasprintf(
      "dashboard:\n"
      "  business:\n"
      "    - {id: ok, kind: table, sql: \"SELECT v FROM t\"}\n"
      "    - {id: file, kind: table,\n"
      "       sql: \"SELECT * FROM read_csv('%s')\"}\n"
      "    - {id: setting, kind: table,\n"
      "       sql: \"SELECT current_setting('enable_external_access') AS e,"
      " current_setting('lock_configuration') AS l\"}\n",
      unit_path("secret.csv"));
  txf_serve_dashboard *d = NULL;
  ASSERT_OK(load(yml, &d, &err), &err);
  free(yml);
  txf_serve_config cfg = {.data_dir = unit_tmpdir(), .dashboard = d};
  txf_serve_app *a = txf_serve_app_new(&cfg);
  json_t *j = business(a);
  char *s = json_dumps(json_object_get(j, "ok"), JSON_COMPACT);
  ASSERT_CONTAINS(s, "\"status\":\"ok\"");
  free(s);
  s = json_dumps(json_object_get(j, "file"), JSON_COMPACT);
  ASSERT_CONTAINS(s, "\"status\":\"error\"");
  ASSERT_CONTAINS(s, "disabled by configuration");
  free(s);
  s = json_dumps(json_object_get(json_object_get(j, "setting"), "rows"),
                 JSON_COMPACT);
  ASSERT_EQ_STR(s, "[[\"false\",\"true\"]]");
  free(s);
  json_decref(j);
  txf_serve_app_free(a);
  txf_serve_dashboard_free(d);
}
