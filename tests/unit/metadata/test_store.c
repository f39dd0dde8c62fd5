#include "../../lib/unit.h"
#include "metadata/internal.h"

TEST(store_creates_schema_and_reopens) {
  txf_store *s;
  txf_err err;
  const char *path = unit_path("txnflow.db");
  ASSERT_OK(txf_store_open(&s, path, 0, &err), &err);
  ASSERT_OK(txf_store_exec(s,
                           "INSERT INTO runs(logical_date, state) "
                           "VALUES ('2025-09-01', 'success');",
                           &err),
            &err);
  txf_store_close(s);
  ASSERT_OK(txf_store_open(&s, path, 1, &err), &err);
  sqlite3_stmt *st;
  ASSERT_OK(txf_store_prepare(s, "SELECT count(*) FROM runs", &st, &err), &err);
  ASSERT(sqlite3_step(st) == SQLITE_ROW);
  ASSERT_EQ_I64(sqlite3_column_int(st, 0), 1);
  sqlite3_finalize(st);
  /* read-only really is read-only */
  ASSERT(txf_store_exec(s, "DELETE FROM runs;", &err) == TXF_EDB);
  txf_store_close(s);
}

TEST(store_rejects_non_database) {
  unit_write_file(unit_path("junk.db"), "this is not a database, just text "
                                        "long enough to have a header.....");
  txf_store *s = NULL;
  txf_err err;
  ASSERT(txf_store_open(&s, unit_path("junk.db"), 0, &err) == TXF_EDB);
  ASSERT(s == NULL);
  ASSERT(txf_store_open(&s, unit_path("none.db"), 1, &err) == TXF_ENOTFOUND);
}
