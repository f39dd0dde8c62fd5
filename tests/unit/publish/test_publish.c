/* The publish settings (publish:) and the Redshift load's SQL. */
#include <stdlib.h>

#include "../../lib/unit.h"
#include "publish/publish.h"

static txf_project *project_with(const char *yml) {
  const char *dir = unit_tmpdir();
  unit_write_file(unit_path("txnflow.yml"), yml);
  txf_project *p = NULL;
  txf_err err;
  if (txf_project_load(&p, dir, &err) != 0)
    unit_fail(__FILE__, __LINE__, "load: %s", err.msg);
  return p;
}

TEST(publish_settings_defaults_and_prefix) {
  txf_project *p = project_with(
      "name: t\npublish:\n  s3: { endpoint: http://127.0.0.1:9, bucket: "
      "lake, prefix: /txnflow }\n");
  txf_publish_settings s;
  txf_err err;
  ASSERT_OK(txf_publish_settings_load(&s, p, &err), &err);
  ASSERT(s.s3.configured);
  ASSERT_EQ_STR(s.s3.prefix, "txnflow/");
  ASSERT_EQ_STR(s.s3.cfg.bucket, "lake");
  ASSERT_EQ_STR(s.s3.cfg.region, "us-east-1");
  ASSERT_EQ_I64(s.s3.cfg.path_style, 1); /* default with a custom endpoint */
  ASSERT_EQ_U64(s.s3.cfg.part_size_bytes, 16u << 20);
  ASSERT_EQ_I64(s.marts, 1);
  txf_project_free(p);
}

TEST(publish_settings_reject_unknown_and_out_of_range) {
  txf_project *p =
      project_with("name: t\npublish:\n  s3: { bucket: lake, regoin: x }\n");
  txf_publish_settings s;
  txf_err err;
  ASSERT_EQ_I64(txf_publish_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT(strstr(err.msg, "regoin"));
  ASSERT(strstr(err.msg, "region")); /* the closest known key */
  ASSERT(strstr(err.msg, "txnflow.yml:3:"));
  txf_project_free(p);
  p = project_with("name: t\npublish:\n  s3: { bucket: lake, max_attempts: 0 }\n");
  ASSERT_EQ_I64(txf_publish_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT(strstr(err.msg, "max_attempts"));
  txf_project_free(p);
  p = project_with("name: t\npublish:\n  s3: { prefix: x/ }\n");
  ASSERT_EQ_I64(txf_publish_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT(strstr(err.msg, "bucket"));
  txf_project_free(p);
  p = project_with("name: t\n");
  ASSERT_OK(txf_publish_settings_load(&s, p, &err), &err);
  ASSERT(!s.s3.configured);
  txf_project_free(p);
}

TEST(publish_redshift_sql_replaces_partitions_in_one_transaction) {
  txf_tz *tz = NULL;
  txf_err err;
  ASSERT_OK(txf_tz_load(&tz, "Asia/Seoul", &err), &err);
  txf_wh_partition parts[2] = {{.date = "2024-03-01", .path = "x"},
                               {.date = "2023-12-31", .path = NULL}};
  char *sql = txf_wh_redshift_sql("ana\"lytics", "t", tz, "s3://lake/p/",
                                  "arn:aws:iam::1:role/it's", parts, 2);
  ASSERT_EQ_STR(
      sql,
      "BEGIN;\n"
      "-- event date 2024-03-01 (Asia/Seoul)\n"
      "DELETE FROM \"ana\"\"lytics\".\"t\" WHERE txn_ts >= "
      "'2024-02-29T15:00:00Z' AND txn_ts < '2024-03-01T15:00:00Z';\n"
      "COPY \"ana\"\"lytics\".\"t\"\n"
      "FROM 's3://lake/p/silver/transactions/year=2024/month=03/day=01/'\n"
      "IAM_ROLE 'arn:aws:iam::1:role/it''s'\n"
      "FORMAT AS PARQUET;\n"
      /* a partition gone from silver: deleted, nothing copied */
      "-- event date 2023-12-31 (Asia/Seoul)\n"
      "DELETE FROM \"ana\"\"lytics\".\"t\" WHERE txn_ts >= "
      "'2023-12-30T15:00:00Z' AND txn_ts < '2023-12-31T15:00:00Z';\n"
      "COMMIT;\n");
  free(sql);
  txf_tz_free(tz);
}
