/* warehouse: a DuckDB warehouse file kept in two copies, so that readers
 * (`txnflow sql`, the dashboard, a BI tool) always open the last published
 * state, whole, while a build writes (docs/models.md, "Readers during a
 * build"; decision 1801).
 *
 * DuckDB lets one process write a database file or several read it, never
 * both: a reader that opens the file a build is writing is refused
 * ("Conflicting lock is held"), and one that waits for the build waits
 * minutes. So the file readers open, PATH (the profile's path:
 * data/warehouse.duckdb), is a symbolic link to the published copy,
 * PATH.a or PATH.b, and a write session writes the other one:
 *
 *   1. begin: take PATH.lock; bring the other copy up to the published
 *      one by replaying what the last session did there (its log: the
 *      relations it replaced, copied across; the rows a model kept by
 *      change deleted and inserted) — the cost of one day's change, not
 *      of the warehouse — or by copying the file: when that costs less
 *      (a warehouse of less than most of a year; copies.c), or when the
 *      log cannot be followed (a first session, a crash, a hand-made
 *      change). The copy that is there is patched in place (both files
 *      read, what differs written), unless a reader still holds it: then
 *      a new file replaces it;
 *   2. the caller writes that copy, noting what it changes;
 *   3. publish: record the notes in the copy, close it, and swap the link
 *      with one rename(2): a reader that opens PATH gets the old copy or
 *      the new, and one that had the old open goes on reading it.
 *
 * A plain file at PATH (a warehouse from before) becomes copy a at the
 * first session; a PATH that is gone starts a new warehouse (the copies
 * left beside it are removed). The price is the disk: two copies. */
#ifndef TXF_WAREHOUSE_H
#define TXF_WAREHOUSE_H

#include <stdint.h>

#include "duck/duck.h"
#include "util/util.h"

typedef struct txf_wh txf_wh;

/* Begin writing the warehouse whose readers open PATH (a DuckDB file; its
 * directory exists). Takes PATH.lock (TXF_ELOCKED naming the holder's pid
 * when another session has it), migrates a plain file, and brings the
 * copy to write up to the published one, waiting up to WAIT_MS for
 * readers that still hold that copy open (then TXF_ELOCKED). On success
 * the caller writes the copy at txf_wh_path() (and only there), then calls
 * txf_wh_publish() or txf_wh_abort(); on failure nothing is held. No
 * DuckDB handle on either copy may be open in this process meanwhile: the
 * patch of a copy takes and drops POSIX locks, which are the process's. */
TXF_MUST_CHECK int txf_wh_begin(txf_wh **out, const char *path, int64_t wait_ms,
                                txf_err *err);
/* txf_wh_begin, with a debug line on LG (if not NULL) for each note of the
 * log replayed: its wall and CPU time (decision 1501, seventh round). LG
 * is borrowed for the session. */
TXF_MUST_CHECK int txf_wh_begin_log(txf_wh **out, const char *path,
                                    int64_t wait_ms, const txf_logger *lg,
                                    txf_err *err);
/* txf_wh_begin_log, and *D (when not NULL) gets the copy's DuckDB handle,
 * held (txf_duck_hold), for the session to write through instead of
 * opening the copy again (NULL when the warehouse is new, or when the
 * published copy could not be detached from it; then the caller opens
 * the copy). The caller closes *D before txf_wh_publish. */
TXF_MUST_CHECK int txf_wh_begin_open(txf_wh **out, const char *path,
                                     int64_t wait_ms, const txf_logger *lg,
                                     txf_duck **d, txf_err *err);
/* The size from which a copy is patched in two halves at once, one per
 * core (128 MiB; at least 2 MiB): for the tests, which patch small files. */
void txf_wh_set_patch_split(int64_t bytes);
/* The copy this session writes; borrowed until publish or abort. */
const char *txf_wh_path(const txf_wh *w);

/* What the session changed, for the next session on the other copy:
 * SCHEMA.IDENT replaced whole (a table, a seed, an incremental model of
 * another strategy): copied across. */
void txf_wh_note_copy(txf_wh *w, const char *schema, const char *ident);
/* SCHEMA.IDENT is now the view of SELECT_SQL. */
void txf_wh_note_view(txf_wh *w, const char *schema, const char *ident,
                      const char *select_sql);
/* The schema where each copy keeps its state (copy_state, copy_log) and
 * the rows its deltas name; nothing else writes there. */
#define TXF_WH_SCHEMA "_txnflow_copies"
/* "_txnflow_copies"."IDENT", quoted: where a caller keeps the rows of a
 * delta (txf_wh_note_delta). Caller frees. */
char *txf_wh_keep_rel(const char *ident);
/* SCHEMA.IDENT changed by rows: those whose KEYS (a comma-separated list
 * of quoted columns, unique in the table) are among OLD_REL's went, and
 * NEW_REL's rows came in (inserted in ORDER_BY order, a quoted column, or
 * NULL). OLD_REL and NEW_REL are tables of this copy, named by
 * txf_wh_keep_rel(); the next session on this copy drops them. */
void txf_wh_note_delta(txf_wh *w, const char *schema, const char *ident,
                       const char *keys, const char *old_rel,
                       const char *new_rel, const char *order_by);
/* A change the session cannot describe (SQL a user ran): the other copy
 * will be replaced by a copy of this one. */
void txf_wh_note_all(txf_wh *w);

/* Checkpoint the copy, opened as D (held: txf_duck_hold), so that
 * closing D has nothing left to checkpoint: a close checkpoints in full,
 * at a cost that grows with the warehouse (duck.c; decision 1801, twelfth
 * round). */
TXF_MUST_CHECK int txf_wh_checkpoint(txf_wh *w, txf_duck *d, txf_err *err);

/* Record the notes and the publish in the copy through D, the session's
 * own handle on it (held: txf_duck_hold), and checkpoint it, so that
 * closing D has nothing left to checkpoint and txf_wh_publish does not
 * open the copy again: that open's first checkpoint cost what the
 * warehouse held (0.3 s at 2.2 GB; decision 1801, eighteenth round). On
 * failure txf_wh_publish records them itself. */
TXF_MUST_CHECK int txf_wh_record(txf_wh *w, txf_duck *d, txf_err *err);

/* Publish the copy: record the notes in it (unless txf_wh_record did),
 * make PATH point to it (one rename), release PATH.lock. Every connection
 * to the copy must be closed first. Frees W, also on failure (then PATH
 * still points to the copy published before, and the next session copies
 * it whole). */
TXF_MUST_CHECK int txf_wh_publish(txf_wh *w, txf_err *err);
/* End without publishing: readers keep the copy published before, and
 * the next session copies it over this one. Frees W; NULL is a no-op. */
void txf_wh_abort(txf_wh *w);

#endif /* TXF_WAREHOUSE_H */
