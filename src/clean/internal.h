/* clean's private business: the compact row, validation, hashing, the id
 * index, partition rewrite, quarantine, the journal and the crash hook.
 * What the files here share is named txf_clean_*; the rest is static. */
#ifndef TXF_CLEAN_INTERNAL_H
#define TXF_CLEAN_INTERNAL_H

#include <stdint.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "util/util.h"

enum { ST_APPROVED, ST_DECLINED, ST_PENDING, ST_REVERSED };
enum { CH_ONLINE, CH_POS, CH_MOBILE };
enum { S_ID, S_CUSTOMER, S_CARD, S_MERCHANT, S_ORIG, S_N };

#define MAX_ID_LEN 255

extern const char *const txf_clean_status_names[4];
extern const char *const txf_clean_channel_names[3];

/* One valid transaction version, fixed size; its strings live in an arena
 * (or a reader's buffer) as one block: id, customer, card, merchant, orig. */
typedef struct crow {
  int64_t txn_ts_us;
  int64_t ingested_at_us;
  int64_t amount_minor; /* DECIMAL(18,2) unscaled */
  uint64_t h0, h1;      /* content hash (txf_clean_row_hash) */
  uint64_t idh;         /* hash of transaction_id (txf_clean_id_hash) */
  const char *str;
  uint32_t src;         /* lineage: index into the run's source table */
  uint32_t rec;         /* data record number in its file (batch rows) */
  int32_t event_day;    /* local date of txn_ts in the pipeline's zone */
  uint8_t len[S_N];
  char currency[3];
  uint16_t mcc;
  uint8_t status, channel, is_refund, has_orig;
  /* merge results */
  uint8_t fate;         /* FATE_* for batch rows */
  uint8_t had_old;      /* the lake held this id before */
  uint8_t replace;      /* this version goes into silver */
  int32_t old_day;      /* its partition then */
} crow;

enum { FATE_NONE, FATE_INSERT, FATE_UPDATE, FATE_DUP, FATE_STALE };

static inline const char *crow_s(const crow *r, int k) {
  const char *p = r->str;
  for (int i = 0; i < k; i++)
    p += r->len[i];
  return p;
}

/* Lineage: where a version came from. */
typedef struct csource {
  char *path;       /* relative to the data dir when inside it */
  int32_t ingest_day;
} csource;

typedef struct csources {
  csource *v;
  size_t n, cap;
} csources;

uint32_t txf_clean_sources_intern(csources *s, const char *path, size_t len,
                                  int32_t ingest_day);
void txf_clean_sources_release(csources *s);

/* 128-bit hash (MurmurHash3 x64-128 construction), used for the content
 * hash (tie rule, duplicate detection) and id hash (index shards). */
void txf_clean_hash128(const void *p, size_t n, uint64_t seed, uint64_t out[2]);
uint64_t txf_clean_id_hash(const char *id, size_t len);
/* Compute r->h0/h1 from the content (every bronze column, normalized). */
void txf_clean_row_hash(crow *r);
/* Compare ids by (idh, bytes). */
int txf_clean_id_cmp(uint64_t ha, const char *a, size_t la, uint64_t hb,
                     const char *b, size_t lb);
/* Version order: >0 if A beats B (greater ingested_at, then greater
 * content hash), 0 if the same content. */
int txf_clean_version_cmp(const crow *a, const crow *b);
/* Silver order within a partition: (txn_ts, id bytes). */
int txf_clean_silver_cmp(const crow *a, const crow *b);

/* Validate the data record REC into *ROW (strings copied into A). Returns
 * TXF_REJ_NONE or the reason, with DETAIL (NUL-terminated) saying which
 * field and why. */
txf_reject_reason txf_clean_validate(const txf_csv_record *rec, crow *row,
                                     txf_arena *a, const txf_tz *tz,
                                     char *detail, size_t detail_cap);
/* The N bytes at S as readable text in OUT (CAP bytes, NUL-terminated,
 * at least 16): printable ASCII and whole UTF-8 sequences as they are;
 * control characters, backslashes and bytes that are not UTF-8 as \xNN;
 * after MAX bytes of S, "...". Returns OUT. */
char *txf_clean_escape(const char *s, size_t n, size_t max, char *out,
                       size_t cap);
/* Check a file's first record REC (NULL: the file has none) is the bronze
 * header. TXF_EPARSE naming the real cause otherwise: empty, gzip or zstd
 * without .zst, UTF-16, CR-only line ends, another header. The message
 * does not name the file; the caller adds it. */
TXF_MUST_CHECK int txf_clean_header_check(const txf_csv_record *rec,
                                          txf_err *err);
/* Parse an amount: digits, optionally '.' and 1-2 digits, > 0, < 10^16. */
int txf_clean_parse_amount(const char *s, size_t n, int64_t *minor);
/* Is C (3 upper-case letters) an ISO 4217 code? */
int txf_clean_iso4217_known(const char c[3]);

/* ---- the id index (index.c) */

#define IDX_SHARDS 256
#define IDX_SHARD(idh) ((unsigned)((idh) >> 56))

/* Merge the batch winners W (sorted by txf_clean_id_cmp, each with fate
 * FATE_NONE) into the index under DATA_DIR/silver/_index/transactions: for each
 * id, look up the lake's version and set fate (INSERT / UPDATE / DUP / STALE)
 * and had_old/old_day; write every touched shard anew into STAGING_DIR
 * (file names shard-NNN.idx). *TOUCHED[s] = 1 for each rewritten shard.
 * DUP_LINEAGE counts duplicates whose earlier lineage replaced the lake's
 * (fate UPDATE with identical content: see docs/silver.md). */
typedef struct idx_stats {
  int64_t ties;
  int64_t lineage_moves;
} idx_stats;
TXF_MUST_CHECK int txf_clean_index_merge(const char *data_dir,
                                         const char *staging_dir, crow **w,
                                         size_t n, const csources *src,
                                         int threads,
                                         unsigned char touched[IDX_SHARDS],
                                         idx_stats *st, txf_err *err);
char *txf_clean_index_dir(const char *data_dir);

/* ---- partitions (partition.c) */

char *txf_clean_partition_path(const char *data_dir, int32_t day);
/* Write the new partition DAY into OUT_PATH: the lake's current file minus
 * the ids in RM (sorted by txf_clean_id_cmp), plus ADDS (sorted by
 * txf_clean_silver_cmp). *N_ROWS gets the rows written (0: OUT_PATH is not
 * created). A removed id the file does not hold is TXF_ECORRUPT (index and lake
 * disagree). */
typedef struct rm_id {
  uint64_t idh;
  const char *id;
  uint8_t len;
} rm_id;
/* Where the rewrite of a partition writes its changes: the rows it removes
 * (update_preimage) and the rows it adds (insert, or update_postimage when
 * the id was in the lake) go to PATH, stamped with VERSION and
 * COMMIT_US. *n_changes gets how many (0: PATH is not created). */
typedef struct change_out {
  const char *path;
  int64_t version;
  int64_t commit_us;
  int64_t n_changes;
} change_out;
TXF_MUST_CHECK int
txf_clean_partition_rewrite(const char *data_dir, int32_t day,
                            const char *out_path, crow **adds, size_t n_adds,
                            const rm_id *rm, size_t n_rm, csources *src,
                            change_out *chg, int64_t *n_rows, txf_err *err);

/* ---- journal (journal.c) */

typedef struct jop {
  char *from; /* relative to the data dir; NULL: delete TO */
  char *to;
} jop;

/* Write DATA/.clean/journal.json (atomically, fsynced): the commit point. */
TXF_MUST_CHECK int txf_clean_journal_write(const char *data_dir,
                                           const char *run_id, const jop *ops,
                                           size_t n, const char *report_json,
                                           txf_err *err);

/* Crash injection for the recovery tests (crash.c): the options'
 * crash_step and crash_n. */
typedef struct txf_clean_crash {
  const char *step; /* NULL: none */
  int n;
} txf_clean_crash;

/* _exit(3) when STEP is C's step and *COUNTER, incremented, reaches C's n.
 * C may be NULL (no injection, as in recovery). */
void txf_clean_crash_point(const txf_clean_crash *c, const char *step,
                           int *counter);

/* Apply DATA/.clean/journal.json if present (idempotent), record its run
 * in STORE, remove it and the staging area. *APPLIED = 1 if there was one.
 * CRASH may be NULL (recovery) or carry a live run's crash injection. */
TXF_MUST_CHECK int txf_clean_journal_finish(const char *data_dir,
                                            txf_store *store,
                                            const txf_clean_crash *crash,
                                            int *applied, txf_err *err);

#endif
