/* The Redshift load's SQL: one transaction, a DELETE per event date and
 * one COPY of exactly the changed files, named by a manifest. */
#include <stdlib.h>

#include "../../lib/unit.h"
#include "load/load.h"

TEST(load_redshift_sql_replaces_partitions_in_one_transaction) {
  txf_tz *tz = NULL;
  txf_err err;
  ASSERT_OK(txf_tz_load(&tz, "Asia/Seoul", &err), &err);
  txf_load_partition parts[3] = {
      {.date = "2024-03-01", .path = "/d/day=01/part-00000.parquet",
       .size_bytes = 1234},
      {.date = "2023-12-31", .path = NULL},
      {.date = "2024-03-02", .path = "part-00001.parquet", .size_bytes = 9}};
  char *sql = txf_load_redshift_sql("ana\"lytics", "t", tz, "s3://lake/p/",
                                    "arn:aws:iam::1:role/it's",
                                    "s3://lake/p/_load/m.manifest", parts, 3);
  ASSERT_EQ_STR(
      sql,
      "BEGIN;\n"
      "-- event date 2024-03-01 (Asia/Seoul)\n"
      "DELETE FROM \"ana\"\"lytics\".\"t\" WHERE txn_ts >= "
      "'2024-02-29T15:00:00Z' AND txn_ts < '2024-03-01T15:00:00Z';\n"
      /* a partition gone from silver: deleted, nothing copied */
      "-- event date 2023-12-31 (Asia/Seoul)\n"
      "DELETE FROM \"ana\"\"lytics\".\"t\" WHERE txn_ts >= "
      "'2023-12-30T15:00:00Z' AND txn_ts < '2023-12-31T15:00:00Z';\n"
      "-- event date 2024-03-02 (Asia/Seoul)\n"
      "DELETE FROM \"ana\"\"lytics\".\"t\" WHERE txn_ts >= "
      "'2024-03-01T15:00:00Z' AND txn_ts < '2024-03-02T15:00:00Z';\n"
      "-- the manifest s3://lake/p/_load/m.manifest:\n"
      "-- {\"entries\": [\n"
      "--   {\"url\": \"s3://lake/p/silver/transactions/year=2024/month=03/"
      "day=01/part-00000.parquet\", \"mandatory\": true, \"meta\": "
      "{\"content_length\": 1234}},\n"
      "--   {\"url\": \"s3://lake/p/silver/transactions/year=2024/month=03/"
      "day=02/part-00001.parquet\", \"mandatory\": true, \"meta\": "
      "{\"content_length\": 9}}\n"
      "-- ]}\n"
      "COPY \"ana\"\"lytics\".\"t\"\n"
      "FROM 's3://lake/p/_load/m.manifest'\n"
      "IAM_ROLE 'arn:aws:iam::1:role/it''s'\n"
      "FORMAT AS PARQUET\n"
      "MANIFEST;\n"
      "COMMIT;\n");
  free(sql);
  /* only deletions: no COPY */
  sql = txf_load_redshift_sql("a", "t", tz, "s3://lake/p/", "r", "s3://m",
                              &parts[1], 1);
  ASSERT(!strstr(sql, "COPY"));
  ASSERT_CONTAINS(sql, "DELETE FROM \"a\".\"t\"");
  free(sql);
  txf_tz_free(tz);
}

TEST(load_redshift_manifest_lists_exactly_the_files) {
  txf_load_partition parts[3] = {
      {.date = "2024-03-01", .path = "/d/part-00000.parquet",
       .size_bytes = 1234},
      {.date = "2023-12-31", .path = NULL},
      {.date = "2024-03-02", .path = "/d/x\"y.parquet", .size_bytes = 9}};
  char *m = txf_load_redshift_manifest("s3://lake/p/", parts, 3);
  ASSERT_EQ_STR(m, "{\"entries\": [\n"
                   "  {\"url\": \"s3://lake/p/silver/transactions/year=2024/"
                   "month=03/day=01/part-00000.parquet\", \"mandatory\": "
                   "true, \"meta\": {\"content_length\": 1234}},\n"
                   "  {\"url\": \"s3://lake/p/silver/transactions/year=2024/"
                   "month=03/day=02/x\\\"y.parquet\", \"mandatory\": true, "
                   "\"meta\": {\"content_length\": 9}}\n"
                   "]}\n");
  /* named by its content */
  char *k1 = txf_load_redshift_manifest_key("p/", "analytics", "t", m);
  char *k2 = txf_load_redshift_manifest_key("p/", "analytics", "t", m);
  ASSERT_EQ_STR(k1, k2);
  ASSERT(!strncmp(k1, "p/_load/analytics.t/", 20));
  ASSERT_EQ_I64(strlen(k1), strlen("p/_load/analytics.t/") + 16 + 9);
  char *m2 = txf_load_redshift_manifest("s3://lake/p/", parts, 1);
  char *k3 = txf_load_redshift_manifest_key("p/", "analytics", "t", m2);
  ASSERT(strcmp(k1, k3));
  free(k1);
  free(k2);
  free(k3);
  free(m2);
  free(m);
}
