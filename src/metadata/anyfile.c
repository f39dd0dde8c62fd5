/* Any SQLite file's values, for `txnflow scan-pans`: every table, every
 * column, read as text. Here because SQLite's API is metadata's alone
 * (docs/layout.md); it does not touch the metadata schema. */
#include <string.h>

#include "internal.h"

/* Every value of TABLE, column by column. */
static int each_value_of(sqlite3 *db, const char *path, const char *table,
                         txf_meta_value_fn fn, void *ud, txf_err *err) {
  /* SELECT * with no ORDER BY reads in the table's own order (rowid, or
   * the primary key of a WITHOUT ROWID table), which row numbers name. */
  char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", table);
  sqlite3_stmt *q = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK)
    return txf_err_set(err, TXF_EDB, "%s: table %s: %s", path, table,
                       sqlite3_errmsg(db));
  int64_t row = 0;
  int ret = 0;
  while (!ret && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    row++;
    int nc = sqlite3_column_count(q);
    for (int c = 0; c < nc && !ret; c++) {
      int type = sqlite3_column_type(q, c);
      if (type == SQLITE_NULL)
        continue;
      const char *v = type == SQLITE_BLOB
                          ? sqlite3_column_blob(q, c)
                          : (const char *)sqlite3_column_text(q, c);
      size_t len = (size_t)sqlite3_column_bytes(q, c);
      ret = fn(ud, table, sqlite3_column_name(q, c), row, v ? v : "", len, err);
    }
  }
  if (!ret && rc != SQLITE_DONE)
    ret = txf_err_set(err, TXF_EDB, "%s: table %s: %s", path, table,
                      sqlite3_errmsg(db));
  sqlite3_finalize(q);
  return ret;
}

int txf_meta_file_each_value(const char *path, txf_meta_value_fn fn, void *ud,
                             txf_err *err) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    rc = txf_err_set(err, TXF_EDB, "%s: cannot open: %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return rc;
  }
  sqlite3_busy_timeout(db, 30000);
  sqlite3_stmt *q = NULL;
  txf_strlist tables = {0};
  rc = sqlite3_prepare_v2(db,
                          "SELECT name FROM sqlite_master WHERE type = 'table' "
                          "ORDER BY name",
                          -1, &q, NULL);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
      txf_strlist_push(&tables, (const char *)sqlite3_column_text(q, 0));
  }
  int ret = 0;
  if (rc != SQLITE_DONE)
    ret = txf_err_set(err, TXF_EDB, "%s: %s", path, sqlite3_errmsg(db));
  sqlite3_finalize(q);
  for (size_t i = 0; i < tables.n && !ret; i++)
    ret = each_value_of(db, path, tables.v[i], fn, ud, err);
  txf_strlist_release(&tables);
  sqlite3_close(db);
  return ret;
}
