/* The Redshift load's SQL: one transaction, a DELETE and a COPY from the
 * partition's folder in S3 per event date. */
#include <stdlib.h>

#include "../../lib/unit.h"
#include "load/load.h"

TEST(load_redshift_sql_replaces_partitions_in_one_transaction) {
  txf_tz *tz = NULL;
  txf_err err;
  ASSERT_OK(txf_tz_load(&tz, "Asia/Seoul", &err), &err);
  txf_load_partition parts[2] = {{.date = "2024-03-01", .path = "x"},
                               {.date = "2023-12-31", .path = NULL}};
  char *sql = txf_load_redshift_sql("ana\"lytics", "t", tz, "s3://lake/p/",
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
