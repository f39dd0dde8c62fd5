#include "../../lib/unit.h"
#include "duck/duck.h"
#include <stdlib.h>

TEST(duck_query_values_and_errors) {
  txf_duck *d;
  txf_err err;
  ASSERT_OK(txf_duck_open(&d, NULL, 1, 0, &err), &err);
  ASSERT_OK(txf_duck_exec(d, "CREATE TABLE t(a INT, b VARCHAR)", &err), &err);
  ASSERT_OK(txf_duck_exec(d, "INSERT INTO t VALUES (1, 'x'), (2, NULL)", &err),
            &err);
  int64_t n;
  ASSERT_OK(txf_duck_query_i64(d, "SELECT sum(a) FROM t", &n, &err), &err);
  ASSERT_EQ_I64(n, 3);
  char *s;
  ASSERT_OK(txf_duck_query_str(d, "SELECT b FROM t WHERE a = 2", &s, &err),
            &err);
  ASSERT(s == NULL);
  ASSERT(txf_duck_query_str(d, "SELECT b FROM t WHERE a = 9", &s, &err) ==
         TXF_ENOTFOUND);
  ASSERT(txf_duck_exec(d, "SELEC 1", &err) == TXF_EDB);
  ASSERT_CONTAINS(err.msg, "syntax error");
  txf_duck_close(d);
}

TEST(duck_print_csv_quotes_and_nulls) {
  txf_duck *d;
  txf_err err;
  ASSERT_OK(txf_duck_open(&d, ":memory:", 1, 0, &err), &err);
  FILE *f = fopen(unit_path("out.csv"), "w");
  ASSERT_OK(txf_duck_print(d, "SELECT 1 AS a, 'x,\"y\"' AS b, NULL AS c", f,
                           TXF_DUCK_CSV, &err),
            &err);
  fclose(f);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("out.csv"), &b, &err), &err);
  ASSERT_EQ_STR(b.data, "a,b,c\n1,\"x,\"\"y\"\"\",\n");
  txf_buf_release(&b);
  txf_duck_close(d);
  char *q = txf_duck_quote_str("it's");
  ASSERT_EQ_STR(q, "'it''s'");
  free(q);
  q = txf_duck_quote_ident("a\"b");
  ASSERT_EQ_STR(q, "\"a\"\"b\"");
  free(q);
}

TEST(duck_file_database_persists) {
  txf_duck *d;
  txf_err err;
  const char *p = unit_path("w.duckdb");
  ASSERT_OK(txf_duck_open(&d, p, 1, 0, &err), &err);
  ASSERT_OK(txf_duck_exec(d, "CREATE TABLE t AS SELECT 7 AS x", &err), &err);
  txf_duck_close(d);
  ASSERT_OK(txf_duck_open(&d, p, 1, 1, &err), &err);
  int64_t n;
  ASSERT_OK(txf_duck_query_i64(d, "SELECT x FROM t", &n, &err), &err);
  ASSERT_EQ_I64(n, 7);
  ASSERT(txf_duck_exec(d, "INSERT INTO t VALUES (1)", &err) == TXF_EDB);
  txf_duck_close(d);
}
