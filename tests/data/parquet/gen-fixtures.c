/* Regenerates the small Parquet fixtures beside this file (used by
 * tests/cli/t2000-parquet-cli.sh and as the fuzz seed corpus):
 *
 *   gcc -std=c11 -D_GNU_SOURCE -Isrc -I$DUCKDB_INCLUDE \
 *     tests/data/parquet/gen-fixtures.c build/obj/src/parquet/*.o \
 *     build/obj/src/util/*.o -lzstd -lsnappy -lcrypto -ljansson -lm \
 *     -Lnode_modules/@duckdb/node-bindings-linux-x64 -lduckdb -o /tmp/gen &&
 *   (cd tests/data/parquet && rm -f *.parquet && /tmp/gen)
 */
#include <stdio.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>

#include "parquet/parquet.h"

static int ours(void) {
  static const txf_pq_column cols[] = {
      {"transaction_id", TXF_PQ_STRING, 0, 0, 0},
      {"txn_ts", TXF_PQ_TIMESTAMP_US, 0, 0, 0},
      {"amount", TXF_PQ_DECIMAL, 0, 18, 2},
      {"currency", TXF_PQ_STRING, 0, 0, 0},
      {"is_refund", TXF_PQ_BOOLEAN, 0, 0, 0},
      {"original_transaction_id", TXF_PQ_STRING, 1, 0, 0},
      {"ingest_date", TXF_PQ_DATE, 0, 0, 0},
      {"n", TXF_PQ_INT32, 1, 0, 0},
      {"x", TXF_PQ_DOUBLE, 1, 0, 0},
      {"big", TXF_PQ_INT64, 0, 0, 0},
  };
  txf_pq_schema s = {cols, 10};
  const char *kv[] = {"source_file", "part-0.csv", NULL};
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .kv = kv};
  txf_pq_writer *w;
  txf_err err;
  if (txf_pq_writer_open(&w, "ours-zstd.parquet", &s, &o, &err))
    return printf("%s\n", err.msg), 1;
  static const char *const curs[] = {"KRW", "USD", "JPY"};
  for (int i = 0; i < 20; i++) {
    char id[32], orig[64];
    snprintf(id, sizeof id, "t%04d", i);
    snprintf(orig, sizeof orig, i == 4 ? "has,comma \"q\"" : "t%04d", i - 1);
    txf_pq_value v[10];
    memset(v, 0, sizeof v);
    v[0].v.str = id;
    v[0].len = (uint32_t)strlen(id);
    v[1].v.i64 = INT64_C(1709251200000000) + (int64_t)i * 1500000;
    v[2].v.i64 = i == 5 ? INT64_C(-999999999999999999) : i * 1234 + 5;
    v[3].v.str = curs[i % 3];
    v[3].len = 3;
    v[4].v.b = i % 4 == 0;
    if (i % 2)
      v[5].is_null = 1;
    else {
      v[5].v.str = i == 2 ? "" : orig;
      v[5].len = i == 2 ? 0 : (uint32_t)strlen(orig);
    }
    v[6].v.i32 = 19783;
    v[7].is_null = i == 7;
    v[7].v.i32 = -i;
    v[8].is_null = i == 8;
    v[8].v.f64 = i / 4.0;
    v[9].v.i64 = INT64_MIN + i;
    if (txf_pq_writer_add_row(w, v, &err))
      return printf("%s\n", err.msg), 1;
  }
  if (txf_pq_writer_finish(w, &err))
    return printf("%s\n", err.msg), 1;
  txf_pq_writer_free(w);
  return 0;
}

int main(void) {
  if (ours())
    return 1;
  duckdb_database db;
  duckdb_connection con;
  duckdb_result res;
  if (duckdb_open(NULL, &db) || duckdb_connect(db, &con))
    return 1;
  const char *q[] = {
      "CREATE TABLE t AS SELECT 'id' || i AS id,"
      " CASE WHEN i % 3 = 0 THEN NULL ELSE (i * 1.25)::DECIMAL(18,2) END AS amount,"
      " make_timestamp(1700000000000000 + i)::TIMESTAMPTZ AS ts,"
      " DATE '2024-03-01' + i::INTEGER AS d, i % 2 = 0 AS b, i / 3.0 AS f,"
      " (['a','b',NULL])[1 + i % 3] AS s FROM range(30) r(i)",
      "COPY t TO 'duck-snappy.parquet' (FORMAT parquet, COMPRESSION snappy)",
      "COPY t TO 'duck-v2.parquet' (FORMAT parquet, COMPRESSION zstd,"
      " PARQUET_VERSION v2)",
      "COPY t TO 'duck-plain.parquet' (FORMAT parquet, COMPRESSION"
      " uncompressed, ROW_GROUP_SIZE 10)"};
  for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
    if (duckdb_query(con, q[i], &res) != DuckDBSuccess) {
      printf("%s\n", duckdb_result_error(&res));
      return 1;
    }
    duckdb_destroy_result(&res);
  }
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return 0;
}
