#include <jansson.h>
#include <string.h>

#include "../../lib/unit.h"
#include "metadata/internal.h"
#include "serve/serve.h"

TEST(serve_loopback_addresses) {
  ASSERT(txf_serve_is_loopback("127.0.0.1"));
  ASSERT(txf_serve_is_loopback("127.1.2.3"));
  ASSERT(txf_serve_is_loopback("::1"));
  ASSERT(txf_serve_is_loopback("localhost"));
  ASSERT(!txf_serve_is_loopback("0.0.0.0"));
  ASSERT(!txf_serve_is_loopback("10.0.0.1"));
  ASSERT(!txf_serve_is_loopback("::"));
  ASSERT(!txf_serve_is_loopback("128.0.0.1"));
}

TEST(serve_token_compare) {
  ASSERT(txf_serve_token_equal("secret-token-123456", "secret-token-123456"));
  ASSERT(!txf_serve_token_equal("secret-token-123456", "secret-token-123457"));
  ASSERT(!txf_serve_token_equal("secret", "secret-token-123456"));
  ASSERT(!txf_serve_token_equal("", "x"));
}

TEST(serve_refuses_remote_without_token) {
  txf_serve_config cfg = {.bind = "0.0.0.0", .port = 0, .data_dir = "/x"};
  txf_serve *s = NULL;
  txf_err err;
  ASSERT_EQ_I64(txf_serve_start(&s, &cfg, &err), TXF_EUSAGE);
  cfg.allow_remote = 1;
  ASSERT_EQ_I64(txf_serve_start(&s, &cfg, &err), TXF_EUSAGE);
  cfg.token = "short";
  ASSERT_EQ_I64(txf_serve_start(&s, &cfg, &err), TXF_EUSAGE);
  ASSERT(s == NULL);
}

/* --host takes host names (or bracketed IPv6 addresses), no ports. */
TEST(serve_host_names_are_checked) {
  static const char *const bad[] = {"a b",  "x.example:80", ",",
                                    "a,,b", "<script>",     "[::1"};
  for (size_t i = 0; i < TXF_ARRAY_LEN(bad); i++) {
    txf_serve_config cfg = {
        .port = 0, .data_dir = unit_tmpdir(), .hosts = bad[i]};
    txf_serve *s = NULL;
    txf_err err;
    if (txf_serve_start(&s, &cfg, &err) != TXF_EUSAGE)
      unit_fail(__FILE__, __LINE__, "--host '%s' accepted", bad[i]);
    ASSERT(s == NULL);
    ASSERT_CONTAINS(err.msg, "--host");
  }
  txf_serve_config cfg = {.port = 0,
                          .data_dir = unit_tmpdir(),
                          .hosts = "dash.example,Other.Example.,[::2]"};
  txf_serve *s = NULL;
  txf_err err;
  ASSERT_OK(txf_serve_start(&s, &cfg, &err), &err);
  txf_serve_stop(s);
}

static json_t *call(txf_serve_app *a, const char *path,
                    const txf_serve_param *p, size_t n, int *status) {
  txf_serve_response r;
  txf_serve_api(a, path, p, n, &r);
  *status = r.status;
  json_t *j = json_loadb(r.body, r.len, 0, NULL);
  free(r.body);
  return j;
}

/* A dashboard from the YAML text of a txnflow.yml (aborting on error). */
static txf_serve_dashboard *dashboard(const char *yml) {
  txf_yaml_doc *doc = NULL;
  txf_serve_dashboard *d = NULL;
  txf_err err;
  ASSERT_OK(txf_yaml_load_string(&doc, "txnflow.yml", yml, strlen(yml), &err),
            &err);
  ASSERT_OK(txf_serve_dashboard_load(&d, doc, &err), &err);
  txf_yaml_free(doc);
  return d;
}

TEST(serve_api_answers_without_database) {
  txf_serve_dashboard *d = dashboard("dashboard:\n"
                                     "  business:\n"
                                     "    - {id: sales, kind: timeseries,\n"
                                     "       model: mart_sales_daily,\n"
                                     "       x: day, y: net}\n");
  txf_serve_config cfg = {
      .data_dir = unit_tmpdir(), .project_name = "p", .dashboard = d};
  txf_serve_app *a = txf_serve_app_new(&cfg);
  int status;
  json_t *j = call(a, "/api/runs", NULL, 0, &status);
  ASSERT_EQ_I64(status, 200);
  ASSERT(json_is_false(json_object_get(j, "metadata")));
  ASSERT_EQ_I64(json_array_size(json_object_get(j, "runs")), 0);
  json_decref(j);
  j = call(a, "/api/nothing", NULL, 0, &status);
  ASSERT_EQ_I64(status, 404);
  json_decref(j);
  txf_serve_param bad[] = {{"from", "<script>"}};
  j = call(a, "/api/runs", bad, 1, &status);
  ASSERT_EQ_I64(status, 400);
  json_decref(j);
  txf_serve_param trav[] = {{"date", "../../etc"}};
  j = call(a, "/api/quarantine", trav, 1, &status);
  ASSERT_EQ_I64(status, 400);
  json_decref(j);
  j = call(a, "/api/business", NULL, 0, &status);
  ASSERT_EQ_I64(status, 200);
  ASSERT_EQ_STR(json_string_value(json_object_get(
                    json_object_get(j, "sales"), "status")),
                "not_built");
  ASSERT_EQ_STR(json_string_value(json_object_get(
                    json_array_get(json_object_get(j, "charts"), 0), "kind")),
                "timeseries");
  json_decref(j);
  txf_serve_app_free(a);
  txf_serve_dashboard_free(d);
}

TEST(serve_api_broken_database_is_an_error_not_a_crash) {
  unit_write_file(unit_path("txnflow.db"),
                  "garbage garbage garbage garbage garbage garbage garbage "
                  "garbage garbage garbage garbage garbage garbage garbage");
  txf_serve_config cfg = {.data_dir = unit_tmpdir()};
  txf_serve_app *a = txf_serve_app_new(&cfg);
  int status;
  json_t *j = call(a, "/api/runs", NULL, 0, &status);
  ASSERT_EQ_I64(status, 503);
  ASSERT(json_is_string(json_object_get(j, "error")));
  json_decref(j);
  txf_serve_app_free(a);
}

TEST(serve_api_reconciliation_equation) {
  txf_store *st;
  txf_err err;
  ASSERT_OK(txf_store_open(&st, unit_path("txnflow.db"), 0, &err), &err);
  ASSERT_OK(txf_store_exec(st,
                           "INSERT INTO clean_runs(ingest_date, state, "
                           "lines_read, inserted, updated, duplicates, stale, "
                           "quarantined) VALUES ('2025-09-01', 'success', 10, "
                           "6, 1, 1, 0, 2), ('2025-09-02', 'success', 10, 6, "
                           "1, 1, 0, 1);",
                           &err),
            &err);
  txf_store_close(st);
  txf_serve_config cfg = {.data_dir = unit_tmpdir()};
  txf_serve_app *a = txf_serve_app_new(&cfg);
  int status;
  json_t *j = call(a, "/api/reconciliation", NULL, 0, &status);
  ASSERT_EQ_I64(status, 200);
  json_t *runs = json_object_get(j, "runs");
  ASSERT_EQ_I64(json_array_size(runs), 2);
  /* newest first: 09-02 is one line short */
  ASSERT(json_is_false(json_object_get(json_array_get(runs, 0), "holds")));
  ASSERT(json_is_true(json_object_get(json_array_get(runs, 1), "holds")));
  json_decref(j);
  txf_serve_app_free(a);
}
