#include "../../lib/unit.h"
#include "duck/duck.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* A read-only session (issue 16): it reads files under its directories,
 * (relative paths: tests/cli/t0010-sql.sh), and refuses
 * everything that writes, attaches, installs or changes settings. */
TEST(duck_sealed_session_reads_and_refuses_writes) {
  txf_err err;
  unit_write_file(unit_path("in.csv"), "a\n7\n");
  const char *dirs[] = {unit_tmpdir(), NULL};
  txf_duck_seal seal = {.threads = 1, .cwd = unit_tmpdir(), .read_dirs = dirs};
  txf_duck *d;
  ASSERT_OK(txf_duck_open_sealed(&d, NULL, &seal, &err), &err);
  char *q = txf_xasprintf("SELECT a FROM read_csv('%s')", unit_path("in.csv"));
  int64_t n = 0;
  ASSERT_OK(txf_duck_query_i64(d, q, &n, &err), &err);
  ASSERT_EQ_I64(n, 7);
  free(q);
  /* an in-memory scratch table is fine; several statements run in turn */
  ASSERT_OK(txf_duck_query_i64(d,
                               "CREATE TABLE t AS SELECT 3 AS x; "
                               "SELECT x FROM t",
                               &n, &err),
            &err);
  ASSERT_EQ_I64(n, 3);
  /* paths inside the readable directory: DuckDB itself would allow
   * writing there; the statement check refuses */
  const char *o = unit_path("out.csv"), *x = unit_path("x.duckdb"),
             *e = unit_path("exp");
  char *refused[] = {
      txf_xasprintf("COPY (SELECT 1) TO '%s'", o),
      txf_xasprintf("ATTACH '%s' AS x", x),
      txf_xasprintf("SELECT 1; COPY t TO '%s'", o),
      txf_xstrdup("INSTALL httpfs"),
      txf_xstrdup("LOAD httpfs"),
      txf_xstrdup("CALL pragma_version()"),
      txf_xstrdup("PRAGMA enable_profiling"),
      txf_xstrdup("SELECT * FROM enable_logging(storage = 'file')")};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    int rc = txf_duck_exec(d, refused[i], &err);
    if (rc != TXF_EUSAGE)
      unit_fail(__FILE__, __LINE__, "%s: %d %s", refused[i], rc, err.msg);
    ASSERT_CONTAINS(err.msg, "read-only session");
    free(refused[i]);
  }
  /* EXPORT makes its directory while it is prepared, before any check of
   * ours can see it; only the kernel guard of `txnflow sql` stops that
   * (t0010), so here it must merely fail */
  q = txf_xasprintf("EXPORT DATABASE '%s'", e);
  ASSERT(txf_duck_exec(d, q, &err) != 0);
  free(q);
  ASSERT(txf_duck_exec(d, "SET enable_external_access = true", &err) ==
         TXF_EDB);
  ASSERT_CONTAINS(err.msg, "locked");
  ASSERT(txf_duck_exec(d, "SELECT * FROM read_csv('/etc/hostname')", &err) ==
         TXF_EDB);
  ASSERT(!txf_fs_exists(unit_path("out.csv")));
  ASSERT(!txf_fs_exists(unit_path("x.duckdb")));
  /* a second connection is sealed too */
  txf_duck *c;
  ASSERT_OK(txf_duck_connect(&c, d, &err), &err);
  q = txf_xasprintf("COPY (SELECT 1) TO '%s'", o);
  ASSERT(txf_duck_exec(c, q, &err) == TXF_EUSAGE);
  free(q);
  txf_duck_close(c);
  txf_duck_close(d);
}

/* Rows of s (3 dates and NULLs, shuffled) inserted into t with at most
 * MAX passes; the log's statements into LOGF. */
static void insert_ordered(txf_duck *d, int max, const char *logf) {
  txf_err err;
  ASSERT_OK(txf_duck_exec(d,
                          "CREATE OR REPLACE TABLE s AS SELECT CASE WHEN i % 7 "
                          "= 0 THEN NULL ELSE DATE '2025-09-01' + "
                          "CAST((i * 5) % 3 AS INT) END AS d, i FROM "
                          "range(100) AS r(i) ORDER BY hash(i); "
                          "CREATE OR REPLACE TABLE t (i BIGINT, d DATE)",
                          &err),
            &err);
  FILE *f = fopen(logf, "w");
  ASSERT(f != NULL);
  txf_logger lg = {TXF_LOG_DEBUG, f, 0};
  ASSERT_OK(txf_duck_insert_ordered(d, "INSERT INTO t (d, i) SELECT d, i",
                                    "s", "d", max, &lg, "test", &err),
            &err);
  fclose(f);
  int64_t n;
  ASSERT_OK(txf_duck_query_i64(d,
                               "SELECT count(*) FROM (SELECT i, d FROM t "
                               "EXCEPT ALL SELECT i, d FROM s)",
                               &n, &err),
            &err);
  ASSERT_EQ_I64(n, 0);
  ASSERT_OK(txf_duck_query_i64(d, "SELECT count(*) FROM t", &n, &err), &err);
  ASSERT_EQ_I64(n, 100);
  /* in d's order, NULLs last: no row after one of a later date or NULL */
  ASSERT_OK(txf_duck_query_i64(
                d,
                "SELECT count(*) FROM (SELECT d, lag(d) OVER (ORDER BY rowid) "
                "AS p, lag(d IS NULL) OVER (ORDER BY rowid) AS pn FROM t) "
                "WHERE p > d OR (pn AND d IS NOT NULL)",
                &n, &err),
            &err);
  ASSERT_EQ_I64(n, 0);
}

TEST(duck_insert_ordered_by_value_or_sorted) {
  txf_duck *d;
  txf_err err;
  ASSERT_OK(txf_duck_open(&d, NULL, 1, 0, &err), &err);
  txf_buf b;
  /* three values, at most 16: one INSERT per value and one for the NULLs */
  insert_ordered(d, TXF_DUCK_ORDER_PASSES, unit_path("by-value.log"));
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("by-value.log"), &b, &err), &err);
  ASSERT_CONTAINS(b.data, "WHERE d = CAST('2025-09-03' AS DATE)");
  ASSERT_CONTAINS(b.data, "WHERE d IS NULL");
  ASSERT(strstr(b.data, "ORDER BY d") == NULL);
  txf_buf_release(&b);
  /* at most two: one sorted INSERT */
  insert_ordered(d, 2, unit_path("sorted.log"));
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("sorted.log"), &b, &err), &err);
  ASSERT_CONTAINS(b.data, "FROM s ORDER BY d");
  ASSERT(strstr(b.data, "IS NULL") == NULL);
  txf_buf_release(&b);
  txf_duck_close(d);
}

/* Is the WAL of database file PATH gone or empty? */
static int wal_empty(const char *path) {
  char *wal = txf_xasprintf("%s.wal", path);
  struct stat st;
  int yes = stat(wal, &st) != 0 || st.st_size == 0;
  free(wal);
  return yes;
}

/* The row groups of table t (a checkpoint's vacuum drops those whose rows
 * are all deleted). */
static int64_t row_groups(txf_duck *d) {
  int64_t n = -1;
  txf_err err;
  if (txf_duck_query_i64(d,
                         "SELECT count(DISTINCT row_group_id) FROM "
                         "pragma_storage_info('t')",
                         &n, &err))
    return -1;
  return n;
}

/* A held checkpoint is DuckDB's concurrent one: it writes what changed
 * without the vacuum, whose first step (the committed rows of every row
 * group) loads every row group's deletes and has each written again (duck.c).
 * Seen here by a row group whose rows were all deleted: a full checkpoint
 * vacuums it away, a held one leaves it. Either way nothing is left in the
 * log and the file holds the change. */
TEST(duck_held_checkpoint_does_not_vacuum) {
  txf_err err;
  const char *paths[2] = {unit_path("held.duckdb"), unit_path("full.duckdb")};
  for (int held = 1; held >= 0; held--) {
    const char *p = paths[held ? 0 : 1];
    txf_duck *d;
    ASSERT_OK(txf_duck_open(&d, p, 1, 0, &err), &err);
    ASSERT_OK(txf_duck_exec(d,
                            "CREATE TABLE t AS SELECT i FROM range(500000) "
                            "r(i); CREATE TABLE u(a INT); CHECKPOINT",
                            &err),
              &err);
    ASSERT_EQ_I64(row_groups(d), 5);
    txf_duck_close(d);
    ASSERT_OK(txf_duck_open(&d, p, 1, 0, &err), &err);
    if (held)
      ASSERT_OK(txf_duck_hold(d, &err), &err);
    /* every row of the first row group goes (DuckDB may checkpoint at
     * that commit), a row comes to u (logged), then the checkpoint */
    ASSERT_OK(txf_duck_exec(d, "DELETE FROM t WHERE i < 122880", &err), &err);
    ASSERT_OK(txf_duck_exec(d, "INSERT INTO u VALUES (1)", &err), &err);
    ASSERT_OK(txf_duck_checkpoint_held(d, p,
                                       "BEGIN TRANSACTION; DELETE FROM u; "
                                       "INSERT INTO u VALUES (2); COMMIT",
                                       &err),
              &err);
    ASSERT(wal_empty(p)); /* nothing left to log */
    ASSERT_EQ_I64(row_groups(d), held ? 5 : 4);
    txf_duck_close(d);
    /* the file, reopened, holds the change */
    ASSERT_OK(txf_duck_open(&d, p, 1, 1, &err), &err);
    int64_t n;
    ASSERT_OK(txf_duck_query_i64(d, "SELECT count(*) FROM t", &n, &err), &err);
    ASSERT_EQ_I64(n, 500000 - 122880);
    /* (held, the checkpoint is the commit of the caller's write) */
    ASSERT_OK(txf_duck_query_i64(d, "SELECT sum(a) FROM u", &n, &err), &err);
    ASSERT_EQ_I64(n, held ? 2 : 1);
    txf_duck_close(d);
  }
}

/* A caller's write that fails leaves no transaction open: the full
 * checkpoint does instead, and nothing is left in the log. */
TEST(duck_held_checkpoint_falls_back_to_a_full_one) {
  txf_err err;
  const char *p = unit_path("fallback.duckdb");
  txf_duck *d;
  ASSERT_OK(txf_duck_open(&d, p, 1, 0, &err), &err);
  ASSERT_OK(txf_duck_hold(d, &err), &err);
  ASSERT_OK(txf_duck_exec(d, "CREATE TABLE u(a INT); INSERT INTO u VALUES (1)",
                          &err),
            &err);
  ASSERT_OK(txf_duck_checkpoint_held(d, p,
                                     "BEGIN TRANSACTION; INSERT INTO nosuch "
                                     "VALUES (1); COMMIT",
                                     &err),
            &err);
  ASSERT(wal_empty(p));
  int64_t n;
  ASSERT_OK(txf_duck_query_i64(d, "SELECT sum(a) FROM u", &n, &err), &err);
  ASSERT_EQ_I64(n, 1);
  txf_duck_close(d);
}

/* A table's rows from its catalog entry: deleted ones too (no scan), 0
 * for a table that is not there, in the current database or a named one. */
TEST(duck_table_rows_from_the_catalog) {
  txf_duck *d;
  txf_err err;
  ASSERT_OK(txf_duck_open(&d, NULL, 1, 0, &err), &err);
  ASSERT_OK(txf_duck_exec(d,
                          "CREATE SCHEMA s; CREATE TABLE s.t AS SELECT range "
                          "AS k FROM range(3); DELETE FROM s.t WHERE k = 1",
                          &err),
            &err);
  char *sql = txf_duck_table_rows_sql(NULL, "s", "t");
  int64_t n = -1;
  ASSERT_OK(txf_duck_query_i64(d, sql, &n, &err), &err);
  ASSERT_EQ_I64(n, 3);
  free(sql);
  sql = txf_duck_table_rows_sql("memory", "s", "it's not");
  ASSERT_OK(txf_duck_query_i64(d, sql, &n, &err), &err);
  ASSERT_EQ_I64(n, 0);
  free(sql);
  txf_duck_close(d);
}
