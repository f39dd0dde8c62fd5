/* metadata's private business: the connection and the helpers the table
 * families (runs.c, clean.c, models.c, lineage.c, published.c) share to
 * prepare, bind and read statements. Unit tests that inspect the database
 * include it too; nothing else may. */
#ifndef TXF_METADATA_INTERNAL_H
#define TXF_METADATA_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>

#include "metadata/metadata.h"

struct txf_store {
  sqlite3 *db;
  char *path;
};

/* Set ERR from the connection's last error, prefixed with the path and
 * WHAT; returns TXF_EDB. */
int txf_store_error(txf_store *s, txf_err *err, const char *what);
/* Run SQL (one or more statements, no results). */
TXF_MUST_CHECK int txf_store_exec(txf_store *s, const char *sql, txf_err *err);
/* Prepare SQL into *OUT (finalize it with sqlite3_finalize()). */
TXF_MUST_CHECK int txf_store_prepare(txf_store *s, const char *sql,
                                     sqlite3_stmt **out, txf_err *err);

/* ---- statements with their arguments. TYPES has one letter per argument
 * after it: 's' a const char * (NULL binds NULL), 'i' an int64_t, 'n' an
 * int64_t that binds NULL when it is TXF_META_NULL. Pass int64_t, never
 * int: they are read with va_arg. */

/* Prepare SQL into *Q and bind the arguments. */
TXF_MUST_CHECK int txf_store_query(txf_store *s, sqlite3_stmt **q, txf_err *err,
                                   const char *sql, const char *types, ...);
/* Run SQL, which returns no rows, with the arguments; a failure is WHAT's
 * error. */
TXF_MUST_CHECK int txf_store_write(txf_store *s, const char *what, txf_err *err,
                                   const char *sql, const char *types, ...);
/* Read the first row of SQL with the arguments: its N integer columns into
 * VALS (TXF_META_NULL for NULL) and *FOUND = 1; without a row every value
 * is TXF_META_NULL and *FOUND = 0. */
TXF_MUST_CHECK int txf_store_row_i64(txf_store *s, int64_t *vals, int n,
                                     int *found, txf_err *err, const char *sql,
                                     const char *types, ...);

/* What txf_store_each() does with each row of Q: returns 0 to go on, 1 to
 * stop. */
typedef int (*txf_store_row_fn)(sqlite3_stmt *q, void *arg);
/* Run SQL with the arguments, calling ROW(Q, ARG) for each row it returns
 * until ROW stops; a failure to read is WHAT's error. */
TXF_MUST_CHECK int txf_store_each(txf_store *s, txf_err *err, const char *what,
                                  txf_store_row_fn row, void *arg,
                                  const char *sql, const char *types, ...);

/* Column I of the current row: TXF_META_NULL when NULL. */
int64_t txf_store_col_i64(sqlite3_stmt *q, int i);
/* Column I as text copied into A, or NULL when NULL. */
const char *txf_store_col_text(sqlite3_stmt *q, int i, txf_arena *a);

/* ---- lists. Every list of metadata.h is {rows V, count N, arena TEXT};
 * the calls take the three as TXF_STORE_LIST(list). */
#define TXF_STORE_LIST(l) &(l)->v, &(l)->n, &(l)->text

/* Fill ROW (zeroed) from the current row of Q, text copied into TEXT. */
typedef void (*txf_store_fill)(sqlite3_stmt *q, void *row, txf_arena *text);
/* How the rows of a list are read: their SIZE in bytes, FILL, and WHAT a
 * failure to read is the error of. */
/* One column of a row, read into the member at OFF of the row's struct:
 * 'i' an int64 (NULL reads 0), 'n' an int64 or TXF_META_NULL, 'd' an int,
 * 't' text (copied into the list's arena) or NULL. */
typedef struct txf_store_col {
  char kind;
  size_t off;
} txf_store_col;
#define TXF_STORE_COL(kind, type, member) {(kind), offsetof(type, member)}

/* A list's rows: SIZE bytes each, filled by FILL, or (FILL NULL) column by
 * column as COLS says (N_COLS of them; columns the query does not have are
 * left zero). */
typedef struct txf_store_rows {
  size_t size;
  txf_store_fill fill;
  const char *what;
  const txf_store_col *cols;
  size_t n_cols;
} txf_store_rows;
/* Make the list empty; then run SQL with the arguments, appending a row
 * that ROWS->fill fills for each row it returns. A failure leaves the list
 * empty. */
TXF_MUST_CHECK int txf_store_select(txf_store *s, const txf_store_rows *rows,
                                    void *v_ptr, size_t *n, txf_arena *text,
                                    txf_err *err, const char *sql,
                                    const char *types, ...);
/* A txf_store_fill for lists of names: column 0. */
void txf_store_fill_text(sqlite3_stmt *q, void *row, txf_arena *text);
void txf_store_list_init(void *v_ptr, size_t *n, txf_arena *text);
void txf_store_list_release(void *v_ptr, size_t *n, txf_arena *text);

/* ---- rows as JSON, for the dashboard's *_json calls. The SQL names
 * each member with its column alias and SQLite's type picks the JSON
 * type; the aliases listed in store.c's bool_columns, 0/1 in SQLite, are
 * booleans. A column whose alias starts with '_' is for the caller and
 * left out of row objects. */

/* Seconds between two *_us columns, or NULL (either missing, or
 * negative). */
#define TXF_STORE_DURATION_S(t0, t1)                                           \
  "CASE WHEN " t1 " >= " t0 " THEN (" t1 " - " t0 ") / 1e6 END"

json_t *txf_store_col_json(sqlite3_stmt *q, int i);
/* The current row of Q as an object keyed by column alias. */
json_t *txf_store_row_json(sqlite3_stmt *q);
/* txf_store_query(), then every row as an object appended to ARR. */
TXF_MUST_CHECK int txf_store_query_rows(txf_store *s, json_t *arr, txf_err *err,
                                        const char *sql, const char *types,
                                        ...);

#endif /* TXF_METADATA_INTERNAL_H */
