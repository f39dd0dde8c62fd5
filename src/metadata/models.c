/* Model builds and data-test results: what a models run records, and what
 * lineage, the demo and the dashboard read back. */
#include <string.h>

#include "metadata/internal.h"

void txf_meta_model_build_list_release(txf_meta_model_build_list *l) {
  txf_store_list_release(TXF_STORE_LIST(l));
}

void txf_meta_test_result_list_release(txf_meta_test_result_list *l) {
  txf_store_list_release(TXF_STORE_LIST(l));
}

/* ---------------------------------------------------------------- writes */

int txf_meta_model_build_add(txf_store *s, const txf_meta_model_build *b,
                             txf_err *err) {
  return txf_store_write(
      s, "model_builds", err,
      "INSERT INTO model_builds(invocation_id, model, materialized, state, "
      "n_rows, started_at_us, duration_us, error, logical_date) VALUES "
      "(?,?,?,?,?,?,?,?,?)",
      "ssssnnnss", b->invocation_id, b->model, b->materialized, b->state,
      b->n_rows, b->started_at_us, b->duration_us, b->error, b->logical_date);
}

int txf_meta_test_result_add(txf_store *s, const txf_meta_test_result *r,
                             txf_err *err) {
  return txf_store_write(
      s, "test_results", err,
      "INSERT INTO test_results(invocation_id, model, test_name, severity, "
      "status, failures, sample_json, message, started_at_us, duration_us, "
      "logical_date) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      "sssssnssnns", r->invocation_id, r->model, r->test_name, r->severity,
      r->status, r->failures, r->sample_json, r->message, r->started_at_us,
      r->duration_us, r->logical_date);
}

int txf_meta_invocation_dates_add(txf_store *s, const char *invocation_id,
                                  const char *const *dates, size_t n,
                                  txf_err *err) {
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++)
    rc = txf_store_write(s, "invocation_dates", err,
                         "INSERT OR IGNORE INTO invocation_dates("
                         "invocation_id, logical_date) VALUES (?,?)",
                         "ss", invocation_id, dates[i]);
  return rc;
}

/* ---------------------------------------------------------------- reads */

#define BUILD_COLS                                                             \
  "build_id, invocation_id, model, materialized, state, n_rows, "              \
  "started_at_us, duration_us, error, logical_date"

static const txf_store_col build_cols[] = {
    TXF_STORE_COL('i', txf_meta_model_build, build_id),
    TXF_STORE_COL('t', txf_meta_model_build, invocation_id),
    TXF_STORE_COL('t', txf_meta_model_build, model),
    TXF_STORE_COL('t', txf_meta_model_build, materialized),
    TXF_STORE_COL('t', txf_meta_model_build, state),
    TXF_STORE_COL('n', txf_meta_model_build, n_rows),
    TXF_STORE_COL('n', txf_meta_model_build, started_at_us),
    TXF_STORE_COL('n', txf_meta_model_build, duration_us),
    TXF_STORE_COL('t', txf_meta_model_build, error),
    TXF_STORE_COL('t', txf_meta_model_build, logical_date),
};

static const txf_store_rows build_rows = {sizeof(txf_meta_model_build), NULL,
                                          "read model_builds", build_cols,
                                          TXF_ARRAY_LEN(build_cols)};

#define TEST_COLS                                                              \
  "result_id, invocation_id, model, test_name, severity, status, failures, "   \
  "sample_json, message, started_at_us, duration_us, logical_date"

static const txf_store_col test_cols[] = {
    TXF_STORE_COL('i', txf_meta_test_result, result_id),
    TXF_STORE_COL('t', txf_meta_test_result, invocation_id),
    TXF_STORE_COL('t', txf_meta_test_result, model),
    TXF_STORE_COL('t', txf_meta_test_result, test_name),
    TXF_STORE_COL('t', txf_meta_test_result, severity),
    TXF_STORE_COL('t', txf_meta_test_result, status),
    TXF_STORE_COL('n', txf_meta_test_result, failures),
    TXF_STORE_COL('t', txf_meta_test_result, sample_json),
    TXF_STORE_COL('t', txf_meta_test_result, message),
    TXF_STORE_COL('n', txf_meta_test_result, started_at_us),
    TXF_STORE_COL('n', txf_meta_test_result, duration_us),
    TXF_STORE_COL('t', txf_meta_test_result, logical_date),
};

static const txf_store_rows test_rows = {sizeof(txf_meta_test_result), NULL,
                                         "read test_results", test_cols,
                                         TXF_ARRAY_LEN(test_cols)};

int txf_meta_model_builds_latest(txf_store *s, const char *date,
                                 txf_meta_model_build_list *out, txf_err *err) {
  if (date)
    return txf_store_select(
        s, &build_rows, TXF_STORE_LIST(out), err,
        "SELECT " BUILD_COLS " FROM model_builds b WHERE logical_date = ? AND "
        "build_id = (SELECT max(build_id) FROM model_builds b2 WHERE "
        "b2.model = b.model AND b2.logical_date = b.logical_date) ORDER BY "
        "model",
        "s", date);
  return txf_store_select(s, &build_rows, TXF_STORE_LIST(out), err,
                          "SELECT " BUILD_COLS " FROM model_builds WHERE "
                          "build_id IN (SELECT max(build_id) FROM "
                          "model_builds GROUP BY model)",
                          "");
}

int txf_meta_test_results_of(txf_store *s, const char *model,
                             const char *invocation_id,
                             txf_meta_test_result_list *out, txf_err *err) {
  return txf_store_select(s, &test_rows, TXF_STORE_LIST(out), err,
                          "SELECT " TEST_COLS " FROM test_results WHERE "
                          "model = ? AND invocation_id IS ? ORDER BY "
                          "result_id",
                          "ss", model, invocation_id);
}

int txf_meta_test_results_latest(txf_store *s, txf_meta_test_result_list *out,
                                 txf_err *err) {
  return txf_store_select(
      s, &test_rows, TXF_STORE_LIST(out), err,
      "SELECT " TEST_COLS " FROM test_results WHERE result_id IN (SELECT "
      "max(result_id) FROM test_results GROUP BY model, test_name) ORDER BY "
      "test_name",
      "");
}

static void fill_count(sqlite3_stmt *q, void *row, txf_arena *text) {
  txf_meta_count *c = row;
  c->name = txf_store_col_text(q, 0, text);
  c->n = sqlite3_column_int64(q, 1);
}

int txf_meta_test_status_counts(txf_store *s, txf_meta_count_list *out,
                                txf_err *err) {
  static const txf_store_rows count_rows = {sizeof(txf_meta_count), fill_count,
                                            "read test_results", NULL, 0};
  return txf_store_select(
      s, &count_rows, TXF_STORE_LIST(out), err,
      "SELECT status, count(*) FROM test_results WHERE invocation_id = "
      "(SELECT invocation_id FROM test_results ORDER BY result_id DESC "
      "LIMIT 1) GROUP BY status ORDER BY status",
      "");
}

/* ---------------------------------------------------------------- dashboard */

/* The first four columns of Q's row as a JSON array: the dashboard's
 * compact rows. */
static json_t *compact_row(sqlite3_stmt *q) {
  return json_pack("[o, o, o, o]", txf_store_col_json(q, 0),
                   txf_store_col_json(q, 1), txf_store_col_json(q, 2),
                   txf_store_col_json(q, 3));
}

static int append_compact(sqlite3_stmt *q, void *arr) {
  json_array_append_new(arr, compact_row(q));
  return 0;
}

int txf_meta_quality_json(txf_store *s, char from[11], char to[11],
                          int64_t per_test, json_t *by_date, json_t *tests,
                          json_t *counts, txf_err *err) {
  /* (A database a read-only server opened before invocation_dates
   * existed has none: each result counts for its own date.) */
  int64_t have = 0;
  int found;
  int rc = txf_store_row_i64(s, &have, 1, &found, err,
                             "SELECT count(*) FROM sqlite_master WHERE type = "
                             "'table' AND name = 'invocation_dates'",
                             "");
  if (rc)
    return rc;
  const char *dates_of = have ? "invocation_dates"
                              : "(SELECT NULL AS invocation_id, NULL AS "
                                "logical_date WHERE 0)";
  /* Default window: the 31 latest logical dates with results (of their
   * own, or of a build that stood for them). */
  sqlite3_stmt *q = NULL;
  if (!from[0]) {
    char *sql = txf_xasprintf(
        "SELECT min(d) FROM (SELECT DISTINCT d FROM (SELECT logical_date d "
        "FROM test_results UNION SELECT logical_date FROM %s) WHERE d IS NOT "
        "NULL ORDER BY d DESC LIMIT 31)",
        dates_of);
    rc = txf_store_query(s, &q, err, sql, "");
    free(sql);
    if (rc)
      return rc;
    snprintf(from, 11, "0001-01-01");
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
      snprintf(from, 11, "%s", sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
  }
  if (!to[0])
    snprintf(to, 11, "9999-12-31");
  /* The chart: each test once per logical date, by its last result among
   * the invocations that stood for the date (the dates of a batched
   * build; else a result's own date), not every attempt's. */
  char *sql = txf_xasprintf(
      "WITH inv(invocation_id, d) AS (SELECT invocation_id, logical_date "
      "FROM %s WHERE logical_date BETWEEN ?1 AND ?2 UNION "
      "SELECT DISTINCT invocation_id, logical_date FROM test_results WHERE "
      "logical_date BETWEEN ?1 AND ?2 AND invocation_id IS NOT NULL AND "
      "invocation_id NOT IN (SELECT invocation_id FROM %s)), "
      "last(d, rid) AS (SELECT inv.d, max(t.result_id) FROM test_results t "
      "JOIN inv USING (invocation_id) GROUP BY inv.d, t.model, t.test_name "
      "UNION ALL SELECT logical_date, result_id FROM test_results WHERE "
      "invocation_id IS NULL AND logical_date BETWEEN ?1 AND ?2) "
      "SELECT last.d, sum(t.status = 'pass'), sum(t.status IN ('fail', "
      "'error')), sum(t.status = 'warn') FROM last JOIN test_results t ON "
      "t.result_id = last.rid GROUP BY 1 ORDER BY 1",
      dates_of, dates_of);
  rc = txf_store_each(s, err, "read", append_compact, by_date, sql, "ss",
                      from, to);
  free(sql);
  if (rc)
    return rc;
  /* One entry per (model, test): its latest result in the window in full
   * (found by a scan of the covering index test_results_test, hence the
   * '+' that keeps SQLite off the date index and its look-ups)... */
  rc = txf_store_query(
      s, &q, err,
      "SELECT coalesce(model, '') AS model, test_name AS test, result_id, "
      "severity, status, failures, logical_date, started_at_us, message, "
      "sample_json IS NOT NULL AND sample_json NOT IN ('', '[]', 'null') AS "
      "has_sample, model AS _model FROM test_results WHERE result_id IN "
      "(SELECT max(result_id) FROM test_results WHERE +logical_date BETWEEN "
      "?1 AND ?2 OR +logical_date IS NULL GROUP BY model, test_name) ORDER BY "
      "1, 2",
      "ss", from, to);
  if (rc)
    return rc;
  /* ... and its last PER_TEST results as compact rows [result_id,
   * logical_date, status, failures], oldest first (test_results_test
   * gives them in order). */
  sqlite3_stmt *hq = NULL;
  rc = txf_store_query(s, &hq, err,
                       "SELECT result_id, logical_date, status, failures FROM "
                       "test_results WHERE model IS ?1 AND test_name = ?2 AND "
                       "(logical_date IS NULL OR logical_date BETWEEN ?3 AND "
                       "?4) ORDER BY logical_date DESC, result_id DESC LIMIT "
                       "?5",
                       "");
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
    json_t *latest = txf_store_row_json(q);
    json_t *results = json_array();
    json_array_append_new(tests,
                          json_pack("{s:O, s:O, s:o, s:o}", "model",
                                    json_object_get(latest, "model"), "test",
                                    json_object_get(latest, "test"), "results",
                                    results, "latest", latest));
    json_object_del(latest, "model");
    json_object_del(latest, "test");
    json_t *c =
        json_object_get(counts, (const char *)sqlite3_column_text(q, 4));
    if (c)
      json_integer_set(c, json_integer_value(c) + 1);
    sqlite3_reset(hq);
    if (sqlite3_column_type(q, 10) != SQLITE_NULL)
      sqlite3_bind_text(hq, 1, (const char *)sqlite3_column_text(q, 10), -1,
                        SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(hq, 1);
    sqlite3_bind_text(hq, 2, (const char *)sqlite3_column_text(q, 1), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(hq, 3, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(hq, 4, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(hq, 5, per_test);
    while (sqlite3_step(hq) == SQLITE_ROW)
      json_array_insert_new(results, 0, compact_row(hq));
  }
  if (!rc && step != SQLITE_DONE)
    rc = txf_store_error(s, err, "read");
  sqlite3_finalize(q);
  sqlite3_finalize(hq);
  return rc;
}

int txf_meta_test_sample_json(txf_store *s, int64_t id, json_t **out,
                              txf_err *err) {
  *out = NULL;
  sqlite3_stmt *q = NULL;
  int rc = txf_store_query(s, &q, err,
                           "SELECT model, test_name AS test, status, failures, "
                           "message, logical_date, sample_json AS _sample "
                           "FROM test_results WHERE result_id = ?",
                           "i", id);
  if (rc)
    return rc;
  if (sqlite3_step(q) == SQLITE_ROW) {
    json_t *o = txf_store_row_json(q);
    const char *sj = (const char *)sqlite3_column_text(q, 6);
    json_t *sample = sj ? json_loads(sj, JSON_DECODE_ANY, NULL) : NULL;
    /* Stored text that is not JSON is still shown, as text. */
    json_object_set_new(
        o, "sample", sample ? sample : (sj ? txf_json_text(sj) : json_null()));
    *out = o;
  }
  sqlite3_finalize(q);
  return 0;
}
