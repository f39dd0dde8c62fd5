/* duck: a thin layer over DuckDB's C API — open a database, run SQL with
 * errors as txf_err, read single values, print results as CSV or JSON.
 * Used by models, publish, serve, the audit and `txnflow sql`. */
#ifndef TXF_DUCK_H
#define TXF_DUCK_H

#include <duckdb.h>
#include <stdio.h>

#include "util/util.h"

typedef struct txf_duck txf_duck;

/* Open (creating) the database file PATH, or an in-memory one for NULL or
 * ":memory:". THREADS > 0 sets DuckDB's thread count. READONLY opens the
 * file read-only (several readers may share it). Caller frees with
 * txf_duck_close(). A file another process holds is TXF_ELOCKED. */
TXF_MUST_CHECK int txf_duck_open(txf_duck **out, const char *path,
                                 int threads, int readonly, txf_err *err);
/* A read-only session's limits (txf_duck_open_sealed). */
typedef struct txf_duck_seal {
  int threads;                  /* > 0: DuckDB's thread count */
  const char *cwd;              /* absolute working directory: queries may
                                   name files under READ_DIRS relative to it */
  const char *const *read_dirs; /* absolute directories whose files the
                                   session may read; NULL-terminated, or
                                   NULL for none */
  const char *temp_dir;         /* where DuckDB may spill (an empty directory
                                   of our own), or NULL: nowhere */
} txf_duck_seal;

/* Open PATH (NULL or ":memory:": in memory) for a read-only session, as
 * `txnflow sql` without --write and the dashboard use it: the file
 * read-only; no file written (COPY, EXPORT, ATTACH, persistent secrets,
 * log files: refused), no extension installed or loaded, nothing from the
 * network; files read only under SEAL's directories; the configuration
 * locked, so no query undoes any of it. Every query on the handle (and on
 * txf_duck_connect() handles made from it) runs statement by statement,
 * and a statement of a kind that touches files (COPY, EXPORT, ATTACH,
 * DETACH, INSTALL, LOAD, CALL, PRAGMA, VACUUM, ...) is TXF_EUSAGE naming
 * it. Otherwise as txf_duck_open(). */
TXF_MUST_CHECK int txf_duck_open_sealed(txf_duck **out, const char *path,
                                        const txf_duck_seal *seal,
                                        txf_err *err);
void txf_duck_close(txf_duck *d);
/* Another connection to D's database, for a second thread (DuckDB
 * connections run queries concurrently; one connection must not be used
 * by two threads at once). Close it with txf_duck_close() before D. */
TXF_MUST_CHECK int txf_duck_connect(txf_duck **out, txf_duck *d,
                                    txf_err *err);
/* From now on each statement on D (and on the txf_duck_connect() handles
 * made from it after) runs beside a read transaction held on a second
 * connection, so that the checkpoints DuckDB runs on commit are concurrent
 * ones: they write the row groups the session changed, not every row group
 * carrying deletes (duck.c says why). Deleted rows then stay in their row
 * groups (no vacuum): a full rebuild of the table drops them. */
TXF_MUST_CHECK int txf_duck_hold(txf_duck *d, txf_err *err);
/* Checkpoint database file PATH, opened as D, when its log PATH.wal holds
 * anything: with D held, by committing WRITE_SQL (a small write of the
 * caller's, one transaction: inserts and deletes, no UPDATE, no DROP) with
 * DuckDB's checkpoint threshold at zero; when the log is still there after
 * it (D not held, WRITE_SQL failed, or DuckDB would not checkpoint beside
 * the hold), by a full CHECKPOINT, whose failure is the error. After it the
 * close has no log to checkpoint. */
TXF_MUST_CHECK int txf_duck_checkpoint_held(txf_duck *d, const char *path,
                                            const char *write_sql,
                                            txf_err *err);
/* The connection, borrowed for D's lifetime. */
duckdb_connection txf_duck_conn(txf_duck *d);

/* Run SQL, discarding any result. TXF_EDB with DuckDB's message. */
TXF_MUST_CHECK int txf_duck_exec(txf_duck *d, const char *sql, txf_err *err);
/* Run SQL into *RES, which the caller must duckdb_destroy_result() on
 * success (on failure nothing needs freeing). */
TXF_MUST_CHECK int txf_duck_query(txf_duck *d, const char *sql,
                                  duckdb_result *res, txf_err *err);
/* The first column of the first row as int64 (NULL or no row:
 * TXF_ENOTFOUND). */
TXF_MUST_CHECK int txf_duck_query_i64(txf_duck *d, const char *sql,
                                      int64_t *out, txf_err *err);
/* The first column of the first row as text (malloc'd, caller frees;
 * NULL value -> *out = NULL and 0; no row -> TXF_ENOTFOUND). */
TXF_MUST_CHECK int txf_duck_query_str(txf_duck *d, const char *sql,
                                      char **out, txf_err *err);

typedef enum {
  TXF_DUCK_CSV,  /* header + RFC 4180 rows; NULL as empty */
  TXF_DUCK_JSON, /* an array of objects, values as strings or null */
  TXF_DUCK_TABLE /* aligned columns for people */
} txf_duck_format;

/* Run SQL and print its result to OUT. */
TXF_MUST_CHECK int txf_duck_print(txf_duck *d, const char *sql, FILE *out,
                                  txf_duck_format fmt, txf_err *err);

/* Insert every row of SRC (quoted) in the order of its column ORDER
 * (quoted), HEAD being the statement up to its FROM ("INSERT INTO t BY NAME
 * SELECT *", "INSERT INTO t (a, b) SELECT a, b"). When ORDER holds at most
 * MAX_PASSES non-NULL values in SRC, one INSERT per value, in order, then
 * the NULLs: no sort (decision 1501, seventh and eighth rounds). The passes
 * must insert exactly SRC's row count (a value whose text does not read
 * back as itself would miss its rows), else TXF_ECORRUPT with rows already
 * inserted: run it in a transaction. With more values, one INSERT ...
 * ORDER BY. LOG (or NULL) gets each statement's wall and CPU time at debug
 * level, after WHO. TXF_DUCK_ORDER_PASSES is the callers' MAX_PASSES. */
/* The values of the order column up to which txf_duck_insert_ordered()'s
 * callers insert by value (a day's fact rows reach about a dozen). */
#define TXF_DUCK_ORDER_PASSES 16
TXF_MUST_CHECK int txf_duck_insert_ordered(txf_duck *d, const char *head,
                                           const char *src, const char *order,
                                           int max_passes,
                                           const txf_logger *log,
                                           const char *who, txf_err *err);

/* Column COL of row ROW of RES as text, NULL for SQL NULL; caller frees. */
char *txf_duck_value(duckdb_result *res, idx_t col, idx_t row);

/* SQL literals: 'it''s' and "col""name"; caller frees. */
char *txf_duck_quote_str(const char *s);
char *txf_duck_quote_ident(const char *s);
/* "schema"."name"; caller frees. */
char *txf_duck_quote_rel(const char *schema, const char *name);
/* A query of one BIGINT: the rows of table SCHEMA.NAME of database DB
 * (NULL: the current one) as its catalog entry counts them, deleted ones
 * too, 0 when there is none. Read from the catalog: a count(*) of a table
 * with deleted rows reads every row group's deletes (1.1 s of CPU for the
 * fact after a month). Caller frees. */
char *txf_duck_table_rows_sql(const char *db, const char *schema,
                              const char *name);

#endif /* TXF_DUCK_H */
