#include <jansson.h>
#include <string.h>

#include "../../lib/unit.h"
#include "lineage/lineage.h"
#include "metadata/internal.h"

TEST(lineage_uuid_is_v4_and_unique) {
  char a[37], b[37];
  txf_lineage_uuid(a);
  txf_lineage_uuid(b);
  ASSERT(txf_lineage_uuid_valid(a));
  ASSERT(txf_lineage_uuid_valid(b));
  ASSERT(strcmp(a, b) != 0);
  ASSERT(a[14] == '4');
  ASSERT(strchr("89ab", a[19]) != NULL);
  ASSERT(!txf_lineage_uuid_valid("not-a-uuid"));
  ASSERT(!txf_lineage_uuid_valid("0123456789abcdef0123456789abcdef0123"));
  ASSERT(!txf_lineage_uuid_valid(NULL));
}

TEST(lineage_event_names_round_trip) {
  txf_lineage_event_type t;
  ASSERT_OK(txf_lineage_event_parse("complete", &t), NULL);
  ASSERT_EQ_STR(txf_lineage_event_name(t), "COMPLETE");
  ASSERT(txf_lineage_event_parse("RUNNING", &t) == TXF_EPARSE);
}

TEST(lineage_event_rejects_bad_fields) {
  txf_lineage_task t = {.project = "p", .data_dir = "/d",
                        .logical_date = "2025-02-30", .task = "clean",
                        .run_uuid = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"};
  char *out = NULL;
  txf_err err;
  ASSERT_EQ_I64(txf_lineage_task_event_build(NULL, &t, TXF_LINEAGE_START,
                                             &out, &err),
                TXF_EUSAGE);
  t.logical_date = "2025-09-01";
  t.run_uuid = "nope";
  ASSERT_EQ_I64(txf_lineage_task_event_build(NULL, &t, TXF_LINEAGE_START,
                                             &out, &err),
                TXF_EUSAGE);
  ASSERT(out == NULL);
}

TEST(lineage_clean_event_has_datasets_and_stats) {
  txf_store *st;
  txf_err err;
  ASSERT_OK(txf_store_open(&st, unit_path("m.db"), 0, &err), &err);
  ASSERT_OK(txf_store_exec(st,
                           "INSERT INTO clean_runs(ingest_date, state, "
                           "lines_read, inserted, updated, duplicates, stale, "
                           "quarantined) VALUES ('2025-09-01', 'success', 10, "
                           "6, 1, 1, 0, 2);"
                           "INSERT INTO partition_commits(clean_id, "
                           "partition, n_rows, size_bytes) VALUES (1, "
                           "'2025-09-01', 7, 900);",
                           &err),
            &err);
  txf_lineage_task t = {.project = "proj", .data_dir = "/data",
                        .logical_date = "2025-09-01", .task = "clean",
                        .run_uuid = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                        .event_time_us = 1756674000000000,
                        .error = "x \"quoted\" <b>"};
  ASSERT_OK(txf_lineage_task_event(st, &t, TXF_LINEAGE_FAIL, &err), &err);
  char *json = NULL;
  ASSERT_OK(txf_lineage_task_event_build(st, &t, TXF_LINEAGE_FAIL, &json, &err),
            &err);
  ASSERT(strchr(json, '\n') == NULL); /* one event per NDJSON line */
  json_t *ev = json_loads(json, 0, NULL);
  ASSERT(ev != NULL);
  ASSERT_EQ_STR(json_string_value(json_object_get(ev, "eventType")), "FAIL");
  ASSERT_EQ_STR(json_string_value(json_object_get(ev, "eventTime")),
                "2025-08-31T21:00:00Z");
  json_t *in = json_array_get(json_object_get(ev, "inputs"), 0);
  ASSERT_EQ_STR(json_string_value(json_object_get(in, "name")),
                "bronze/transactions/ingest_date=2025-09-01");
  ASSERT_EQ_STR(json_string_value(json_object_get(in, "namespace")),
                "file:///data");
  json_t *out = json_array_get(json_object_get(ev, "outputs"), 0);
  json_t *stats = json_object_get(json_object_get(out, "outputFacets"),
                                  "outputStatistics");
  ASSERT_EQ_I64(json_integer_value(json_object_get(stats, "rowCount")), 7);
  ASSERT_EQ_I64(json_integer_value(json_object_get(stats, "size")), 900);
  json_t *em = json_object_get(
      json_object_get(json_object_get(ev, "run"), "facets"), "errorMessage");
  ASSERT_EQ_STR(json_string_value(json_object_get(em, "message")),
                "x \"quoted\" <b>");
  json_decref(ev);
  free(json);
  sqlite3_stmt *q;
  ASSERT_OK(txf_store_prepare(st,
                              "SELECT event_type, job, run_uuid FROM "
                              "lineage_events",
                              &q, &err),
            &err);
  ASSERT(sqlite3_step(q) == SQLITE_ROW);
  ASSERT_EQ_STR((const char *)sqlite3_column_text(q, 0), "FAIL");
  ASSERT_EQ_STR((const char *)sqlite3_column_text(q, 1), "txnflow.clean");
  sqlite3_finalize(q);
  txf_store_close(st);
}

TEST(lineage_uuid_from_seed_is_stable) {
  char a[37], b[37], c[37];
  txf_lineage_uuid_from("/data|1|7|100", a);
  txf_lineage_uuid_from("/data|1|7|100", b);
  txf_lineage_uuid_from("/data|1|8|100", c);
  ASSERT_EQ_STR(a, b);
  ASSERT(strcmp(a, c) != 0);
  ASSERT(txf_lineage_uuid_valid(a));
  ASSERT(a[14] == '8');
}
