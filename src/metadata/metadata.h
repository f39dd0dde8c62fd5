/* metadata: the SQLite database beside the data (DATA_DIR/txnflow.db) that
 * holds runs, task attempts, SLA misses, alerts, clean reconciliations,
 * partition commits, data-test results and lineage events. Every number a
 * user sees in status or the dashboard comes from here or the warehouse.
 *
 * The schema is created (idempotently) on open; see docs/metadata.md.
 * Modules write their own rows with plain SQL through txf_store_db(). */
#ifndef TXF_METADATA_H
#define TXF_METADATA_H

#include <sqlite3.h>

#include "util/util.h"

typedef struct txf_store txf_store;

/* Open (creating if needed) the database at PATH with WAL journaling, a
 * busy timeout (several processes share it) and the current schema.
 * READONLY opens without creating or migrating (for the dashboard);
 * a missing file is then TXF_ENOTFOUND. Caller frees with
 * txf_store_close(). A file that is not a SQLite database is TXF_EDB. */
TXF_MUST_CHECK int txf_store_open(txf_store **out, const char *path,
                                  int readonly, txf_err *err);
void txf_store_close(txf_store *s);
/* The underlying connection, borrowed for the store's lifetime. */
sqlite3 *txf_store_db(txf_store *s);
/* Run SQL (one or more statements, no results). TXF_EDB with SQLite's
 * message on failure. */
TXF_MUST_CHECK int txf_store_exec(txf_store *s, const char *sql, txf_err *err);
/* Prepare SQL; TXF_EDB with the message on failure. */
TXF_MUST_CHECK int txf_store_prepare(txf_store *s, const char *sql,
                                     sqlite3_stmt **out, txf_err *err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
TXF_MUST_CHECK int txf_store_begin(txf_store *s, txf_err *err);
TXF_MUST_CHECK int txf_store_commit(txf_store *s, txf_err *err);
void txf_store_rollback(txf_store *s);
/* Set ERR from the connection's last error, prefixed with WHAT. */
int txf_store_error(txf_store *s, txf_err *err, const char *what);

#endif /* TXF_METADATA_H */
