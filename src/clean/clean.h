/* clean: bronze -> silver lake and quarantine (docs/silver.md).
 *
 * txf_clean_run() processes one ingestion day's batch: it verifies the
 * manifest, parses and validates every line, quarantines the bad ones with
 * a reason code, deduplicates the batch and merges it into the silver lake
 * (one row per transaction_id across the lake, the greatest ingested_at
 * wins), rewrites only the event-date partitions it touches, and commits
 * all of that atomically through a journal. txf_audit_run() checks the
 * whole lake against its own invariants and, when present, the
 * generator's truth.
 *
 * Layout under DATA:
 *   silver/transactions/year=YYYY/month=MM/day=DD/part-00000.parquet
 *   silver/_index/transactions/shard-NNN.idx   id index (+ _meta.json)
 *   silver/_changes/transactions/version=V/part-YYYYMMDD.parquet
 *                                              the change log (below)
 *   quarantine/transactions/ingest_date=D/{rejected_lines.csv,rejects.csv}
 *   .clean.lock  .clean/ (staging and journal of the run in progress) */
#ifndef TXF_CLEAN_H
#define TXF_CLEAN_H

#include <stdint.h>

#include "metadata/metadata.h"
#include "parquet/parquet.h"
#include "util/util.h"

/* The silver schema (DESIGN.md contract), in file column order:
 * transaction_id, customer_id, card_id, merchant_id STRING; txn_ts
 * TIMESTAMP; amount DECIMAL(18,2); currency, mcc, status STRING;
 * is_refund BOOLEAN; channel STRING; ingested_at TIMESTAMP;
 * original_transaction_id STRING (the only OPTIONAL column); source_file
 * STRING; ingest_date DATE. Names for people and lineage:
 * txf_pq_column_type_name(). */
#define TXF_SILVER_N_COLS 15
#define txf_silver_columns txf_silver_columns_all /* its first 15 */
/* A card feed's lake (feed: pan: true) has four more, after those:
 * card_token (64 hex digits of HMAC-SHA256 of the PAN's digits under the
 * key), card_bin (its first 6 digits), card_last4, card_key_id (the id of
 * the key that made the token), all STRING (docs/card-data.md). The
 * silver columns with these: txf_silver_schema(). */
#define TXF_SILVER_CARD_N_COLS 4
#define TXF_SILVER_MAX_COLS (TXF_SILVER_N_COLS + TXF_SILVER_CARD_N_COLS)
extern const txf_pq_column txf_silver_columns_all[TXF_SILVER_MAX_COLS];
/* The silver schema of a lake with (CARDS 1) or without card columns. */
txf_pq_schema txf_silver_schema(int cards);
/* The silver columns whose values repeat within a row group (the ids of
 * customers, cards, merchants, and a card's token): dictionary-encoded
 * whole in the lake and the change log (txf_pq_writer_opts.repeating;
 * docs/silver.md). NULL-terminated. */
extern const char *const txf_silver_repeating[];

/* The change log (docs/silver.md, "The change log"): every clean that
 * changes the lake commits version V = 1 + the last one, and with its
 * partitions the rows it changed, one file per event date touched, under
 * silver/_changes/transactions/version=V (10 digits). A row is an image of
 * a transaction: the silver columns, then event_date DATE and year, month,
 * day INT32 (the partition it is, or was, in), _change_type STRING
 * (insert, update_preimage, update_postimage, delete), _commit_version
 * INT64, _commit_timestamp TIMESTAMP: Delta Lake's change data feed. An
 * insert is a new id; an update is the row that left (preimage, in its old
 * partition) and the row that replaced it (postimage). */
#define TXF_SILVER_CHANGE_N_COLS (TXF_SILVER_N_COLS + 7)
#define TXF_SILVER_CHANGE_MAX_COLS (TXF_SILVER_MAX_COLS + 7)
/* The columns after the silver ones, in order. */
extern const txf_pq_column
    txf_silver_change_extra[TXF_SILVER_CHANGE_N_COLS - TXF_SILVER_N_COLS];
#define TXF_SILVER_CHANGES_DIR "silver/_changes/transactions"

/* The last committed version of the lake at DATA_DIR (0: none yet, or a
 * lake from before the change log). */
TXF_MUST_CHECK int txf_clean_last_version(const char *data_dir,
                                          int64_t *version, txf_err *err);

/* Is the lake settled? A commit (a clean, an index rebuild, a key
 * rotation) that passed its commit point but was not fully applied (a
 * crash or an error mid-apply; the next clean finishes it) leaves the
 * files under silver/transactions a mix of two versions. 0 when there is
 * none; else TXF_ELOCKED with a message for the readers that refuse to
 * read such a lake, and *RUN_ID (if RUN_ID is not NULL; caller frees) the
 * unfinished commit's run id. The snapshot records never name that mix:
 * the latest one is always a complete version (txf_clean_snapshot_find
 * with AS_OF NULL). */
TXF_MUST_CHECK int txf_clean_commit_settled(const char *data_dir, char **run_id,
                                            txf_err *err);

/* Snapshots (docs/silver.md, "Snapshots"): each version V a clean commits
 * has a record silver/_snapshots/transactions/vV.json (ten digits) naming
 * every partition file of the lake as of V under
 * silver/_snapshots/transactions/files/ (kept until retention). */

/* The versions with a snapshot, oldest first, as JSON text in *JSON_OUT
 * (caller frees): an array of {version, committed_at, operation, run_id,
 * ingest_date, batches, partitions_changed, rows, n_partitions}. An empty
 * array when there is none; TXF_ECORRUPT for an unreadable record. */
TXF_MUST_CHECK int txf_clean_lake_log(const char *data_dir, char **json_out,
                                      txf_err *err);

/* The snapshot AS_OF names: a version number (digits), an ISO 8601
 * timestamp with an offset (the last version committed at or before it),
 * the run id of a version, or NULL: the latest (the last complete version,
 * even while a commit is being applied). *VERSION is set and *FILES (N_FILES
 * absolute paths, free with txf_clean_snapshot_files_free) are its partition
 * files. TXF_ENOTFOUND naming what exists when AS_OF matches no version. */
TXF_MUST_CHECK int txf_clean_snapshot_find(const char *data_dir,
                                           const char *as_of, int64_t *version,
                                           char ***files, size_t *n_files,
                                           txf_err *err);
void txf_clean_snapshot_files_free(char **files, size_t n);
/* The lake as of the snapshot AS_OF names (as txf_clean_snapshot_find; the
 * version in *VERSION), laid out under DEST as a data directory's silver:
 * DEST/silver/transactions/year=…/month=…/day=…/part-00000.parquet for each
 * of its partition files and the change log's versions up to it, hard
 * links to the lake's files (copies on another file system). DEST is
 * removed first when an earlier call made it (a mark file says so; another
 * DEST that exists is TXF_EEXIST): it is this call's alone. For reading the
 * lake as of a version with the readers of the live layout (models build
 * --as-of). */
TXF_MUST_CHECK int txf_clean_snapshot_lake(const char *data_dir,
                                           const char *as_of, const char *dest,
                                           int64_t *version, txf_err *err);

/* What txnflow lake vacuum removes (docs/silver.md, "Retention"). A
 * duration < 0 keeps everything of its kind. */
typedef struct txf_clean_vacuum_opts {
  const char *data_dir;
  int64_t now_us;
  int64_t keep_snapshots_us;  /* records committed before now - this go
                                 (the latest record always stays), then
                                 every versioned file no kept record names */
  int64_t keep_bronze_us;     /* bronze batches whose ingest date ended
                                 before now - this */
  int64_t keep_quarantine_us; /* quarantine batches, likewise */
  int64_t keep_card_files_us; /* bronze files holding card numbers, one by
                                 one (their batch's other files and
                                 manifest stay for keep_bronze_us) */
  int dry_run;                /* report what would go, remove nothing */
  /* Testing only: _exit(3) the Nth time (from 1) a removal is done
   * (crash step "vacuum"). */
  const char *crash_step;
  int crash_n;
} txf_clean_vacuum_opts;

/* Apply the retention O describes to the lake at O->data_dir, under the
 * lake's lock (TXF_ELOCKED while a clean runs), after finishing an
 * interrupted clean (recorded in STORE). Removals are idempotent and in an
 * order that keeps every kept record's files: records first, then the
 * files no record left names, then whole batches (each renamed aside
 * first). A kill at any point leaves a lake whose every record is
 * readable, and a rerun finishes the job. *REPORT_JSON (caller frees):
 * dry_run, snapshots_removed, snapshots_kept (versions), files_removed,
 * bytes_freed, bronze_removed, quarantine_removed (dates),
 * bronze_card_files_removed (paths under the data dir). */
TXF_MUST_CHECK int txf_clean_lake_vacuum(const txf_clean_vacuum_opts *o,
                                         txf_store *store, char **report_json,
                                         txf_err *err);

/* txnflow revert (docs/silver.md, "Revert"). */
typedef struct txf_clean_revert_opts {
  const char *data_dir; /* absolute */
  txf_date ingest_date; /* the batch to take out */
  const char *timezone; /* must be the lake's (NULL: the lake's) */
  int threads;          /* encoders (>= 1) */
  const txf_logger *log;
  int64_t now_us; /* recorded, and the change log's commit time */
  int dry_run;    /* decide and report, stage and commit nothing */
  const struct txf_pan_key *pan_key; /* a card feed's lake: its key */
  /* Testing only: "STEP:N", _exit(3) the Nth time (from 1) the commit
   * step STEP is reached ("stage", "journal", "apply", "meta", "done").
   * NULL: none. */
  const char *crash_at;
} txf_clean_revert_opts;

/* Take batch O->ingest_date out of the lake as if it had never been
 * delivered, every other batch staying in: each row whose version came
 * from it falls back to the best version the other batches delivered
 * (found through their history files, read back from bronze) or leaves
 * the lake; its quarantine and history file go; partitions, index,
 * manifest, a snapshot (operation "revert", batches without it) and the
 * change log (update and delete images) are committed by the clean's
 * journal, under its lock, after finishing an interrupted clean. The run
 * is recorded in STORE as state "reverted", which hides the batch's
 * cleans from txf_meta_clean_runs_succeeded. TXF_ENOTFOUND: the batch is
 * not in the lake, or a batch has no history file (cleaned before the
 * store existed: clean it again), or a bronze file the fallbacks are in
 * is gone; TXF_ECORRUPT: a bronze file changed since its clean. On
 * failure nothing changes. *REPORT_JSON (caller frees): run_id,
 * lines_removed, valid_lines, quarantined, ids_in_batch,
 * rows_from_batch, restored, deleted, moved, reconciled, partitions,
 * commit_version, changes, other_versions_read, bytes_read. */
TXF_MUST_CHECK int txf_clean_revert(const txf_clean_revert_opts *o,
                                    txf_store *store, char **report_json,
                                    txf_err *err);
/* Can batch DATE of the lake in DATA_DIR be reverted, at a glance? 0 when
 * it is in the lake (its history file exists) or was reverted already
 * (STORE, may be NULL: its latest clean run is a revert); TXF_ENOTFOUND
 * with txf_clean_revert()'s message otherwise. Reads no data: a revert
 * run asks before it is recorded, so a mistyped date leaves no run. */
TXF_MUST_CHECK int txf_clean_revert_check(const char *data_dir, txf_date date,
                                          txf_store *store, txf_err *err);

/* Reject reason codes, in the order they are checked (the first failing
 * check names the line). */
typedef enum {
  TXF_REJ_NONE = 0,
  TXF_REJ_INVALID_UTF8,
  TXF_REJ_LINE_TOO_LONG,
  TXF_REJ_STRAY_QUOTE,
  TXF_REJ_WRONG_COLUMNS,
  TXF_REJ_CONTROL_CHAR,
  TXF_REJ_EMPTY_ID,
  TXF_REJ_ID_TOO_LONG,
  TXF_REJ_BAD_TIMESTAMP,
  TXF_REJ_BAD_AMOUNT,
  TXF_REJ_BAD_CURRENCY,
  TXF_REJ_BAD_MCC,
  TXF_REJ_UNKNOWN_ENUM,
  TXF_REJ_BAD_CARD_NUMBER, /* a card feed's card_number (docs/card-data.md) */
  TXF_REJ_N
} txf_reject_reason;

/* "invalid_utf8", "stray_quote", ... (see docs/silver.md). */
const char *txf_reject_reason_name(txf_reject_reason r);

typedef struct txf_clean_opts {
  const char *data_dir;      /* absolute */
  txf_date ingest_date;
  const char *const *inputs; /* --input files, or NULL: the bronze batch */
  size_t n_inputs;
  const char *timezone;      /* IANA zone of the event-date partitions */
  const struct txf_feed_format *format; /* the processor's layout
                                           (feed.format), or NULL: bronze */
  int threads;               /* worker threads (>= 1) */
  const txf_logger *log;
  int64_t now_us;            /* recorded in clean_runs */
  /* Testing only: _exit(3) the Nth time (from 1) the commit step named
   * CRASH_STEP is reached ("stage", "journal", "apply", "meta", "done"). */
  const char *crash_step;
  int crash_n;
  txf_progress *progress;    /* may be NULL */
  /* The card number key (docs/card-data.md), or NULL. A batch whose
   * header has a card_number column needs it: without one the clean is
   * TXF_ECONFIG before anything is written, saying PAN_KEY_PROBLEM (why
   * loading it failed, or NULL: no key was given). */
  const struct txf_pan_key *pan_key;
  const char *pan_key_problem;
} txf_clean_opts;

/* Clean one batch. On success *REPORT_JSON (caller frees) is the run's
 * reconciliation as a JSON object (text), also stored in clean_runs,
 * quarantine_counts and partition_commits of STORE. A second clean of the
 * same lake waits for nothing: TXF_ELOCKED when another clean holds the
 * lock. A reconciliation that does not add up is TXF_EINTERNAL and nothing
 * is committed. On any failure the lake is unchanged. */
TXF_MUST_CHECK int txf_clean_run(const txf_clean_opts *o, txf_store *store,
                                 char **report_json, txf_err *err);

/* Finish or discard an interrupted clean (run by txf_clean_run itself);
 * *RECOVERED is set to 1 if a committed journal was rolled forward. */
TXF_MUST_CHECK int txf_clean_recover(const char *data_dir, txf_store *store,
                                     int *recovered, txf_err *err);

typedef struct txf_clean_rebuild_opts {
  const char *data_dir;
  const char *timezone; /* the lake's zone when it records none */
  const txf_logger *log;
} txf_clean_rebuild_opts;

/* Rebuild the id index and the lake's manifest from silver (txnflow index
 * rebuild): every partition is read whole and checked (page CRCs, each
 * row in its partition and in silver order); the new shards and manifest
 * are committed by the journal (an interrupted clean is finished first,
 * recorded in STORE). A damaged or foreign file in silver is TXF_ECORRUPT
 * naming it, and nothing changes. *REPORT_JSON (caller frees): partitions,
 * rows, ids, shards written and removed. Memory: 16 bytes an id. */
TXF_MUST_CHECK int txf_clean_index_rebuild(const txf_clean_rebuild_opts *o,
                                           txf_store *store, char **report_json,
                                           txf_err *err);

/* txnflow keys rotate: move a card feed's lake from OLD_KEY (its tokens'
 * key) to NEW_KEY (docs/card-data.md). */
typedef struct txf_clean_rotate_opts {
  const char *data_dir;
  const struct txf_pan_key *old_key;
  const struct txf_pan_key *new_key;
  const txf_logger *log;
  int64_t now_us; /* the change log's commit timestamp */
  /* Testing only: "STEP:N", _exit(3) the Nth time STEP is reached:
   * "stage" (partitions written, not committed) or "journal" (committed,
   * not applied). NULL: none. */
  const char *crash_at;
} txf_clean_rotate_opts;

/* Re-tokenize every row of the lake under NEW_KEY: the old token -> new
 * token map is made from bronze's card numbers under both keys, each
 * partition is rewritten with its tokens mapped and card_key_id NEW_KEY's
 * id, every row an update in one new version of the change log, and the
 * lot is committed by clean's journal (an interrupted clean is finished
 * first, recorded in STORE). The lake's key must be OLD_KEY (else
 * TXF_ECONFIG, as for a lake without card columns or NEW_KEY == OLD_KEY);
 * a token no bronze card number gives is TXF_ENOTFOUND naming the row. On
 * failure nothing changes. *REPORT_JSON (caller frees): key ids, bronze
 * files, card numbers, cards, partitions, rows, commit_version. */
TXF_MUST_CHECK int txf_clean_keys_rotate(const txf_clean_rotate_opts *o,
                                         txf_store *store, char **report_json,
                                         txf_err *err);

typedef struct txf_audit_opts {
  const char *data_dir;
  const char *timezone;
  size_t max_diffs; /* differences listed (e.g. 20) */
  const struct txf_feed_format *format; /* as in txf_clean_opts */
  const struct txf_pan_key *pan_key;    /* as in txf_clean_opts */
} txf_audit_opts;

/* Audit the lake. *REPORT_JSON (caller frees) holds the findings; the
 * return is 0 when everything agrees and TXF_ETEST (message: a summary)
 * when anything does not; other codes for failures to read. */
TXF_MUST_CHECK int txf_audit_run(const txf_audit_opts *o, txf_store *store,
                                 char **report_json, txf_err *err);

/* What a clean of one file would do, without writing anything (txnflow
 * land --dry-run). */
typedef struct txf_clean_preview_opts {
  const char *path;
  const struct txf_feed_format *format; /* NULL: the bronze layout */
  const char *timezone;                 /* of event dates */
  size_t n_show;                        /* lines shown (e.g. 20) */
} txf_clean_preview_opts;

/* Read PATH as a clean would (mapping, validation) into *REPORT_JSON
 * (caller frees): "lines", the first N_SHOW with their silver columns or
 * their reject reason, and "counts": lines_read, valid, quarantined,
 * quarantined_by_reason, distinct_ids, repeated_ids (duplicates or
 * versions: the lake decides which). TXF_EIO, TXF_EPARSE (a header
 * without a mapped column), TXF_ECORRUPT (a cut stream) otherwise. */
TXF_MUST_CHECK int txf_clean_preview(const txf_clean_preview_opts *o,
                                     char **report_json, txf_err *err);

#endif /* TXF_CLEAN_H */
