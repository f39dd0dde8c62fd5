/* metadata's private business: the connection and the helpers the table
 * families (runs.c, clean.c, models.c, lineage.c, published.c) share to
 * prepare, bind and read statements. Unit tests that inspect the database
 * include it too; nothing else may. */
#ifndef TXF_METADATA_INTERNAL_H
#define TXF_METADATA_INTERNAL_H

#include <sqlite3.h>

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
/* Step Q, which returns no rows, to its end and finalize it; a failure is
 * WHAT's error. */
TXF_MUST_CHECK int txf_store_step_done(txf_store *s, sqlite3_stmt *q,
                                       const char *what, txf_err *err);
/* After the last sqlite3_step() of Q: 0 when STEP_RC is SQLITE_DONE, else
 * WHAT's error. Finalizes Q. */
TXF_MUST_CHECK int txf_store_rows_done(txf_store *s, sqlite3_stmt *q,
                                       int step_rc, const char *what,
                                       txf_err *err);

/* Bind V, or NULL when it is TXF_META_NULL. (sqlite3_bind_text() binds a
 * NULL pointer as NULL already.) */
void txf_store_bind_i64(sqlite3_stmt *q, int i, int64_t v);
/* Column I of the current row: TXF_META_NULL when NULL. */
int64_t txf_store_col_i64(sqlite3_stmt *q, int i);
/* Column I as text copied into A, or NULL when NULL. */
const char *txf_store_col_text(sqlite3_stmt *q, int i, txf_arena *a);

/* Every list of metadata.h is {rows V, count N, arena TEXT}; these take
 * the address of V. Init makes it empty; add appends a zeroed row of SIZE
 * bytes and returns it; release frees rows and strings, leaving it empty. */
void txf_store_list_init(void *v_ptr, size_t *n, txf_arena *text);
void *txf_store_row_add(void *v_ptr, size_t *n, size_t size);
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
/* Prepare SQL into *Q and bind the variadic arguments described by TYPES,
 * one letter each: 's' a const char * (NULL binds NULL), 'i' an int64_t. */
TXF_MUST_CHECK int txf_store_query(txf_store *s, sqlite3_stmt **q, txf_err *err,
                                   const char *sql, const char *types, ...);
/* txf_store_query(), then every row as an object appended to ARR. */
TXF_MUST_CHECK int txf_store_query_rows(txf_store *s, json_t *arr, txf_err *err,
                                        const char *sql, const char *types,
                                        ...);

#endif /* TXF_METADATA_INTERNAL_H */
