/* clean's private business: the compact row, validation, hashing, the id
 * index, partition rewrite, quarantine, the journal and the crash hook.
 * What the files here share is named txf_clean_*; the rest is static. */
#ifndef TXF_CLEAN_INTERNAL_H
#define TXF_CLEAN_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "parquet/parquet.h"
#include "util/util.h"

enum { ST_APPROVED, ST_DECLINED, ST_PENDING, ST_REVERSED };
enum { CH_ONLINE, CH_POS, CH_MOBILE };
/* The strings of a row, one block in this order. S_PAN is a card feed's
 * card: token (64 hex digits), BIN (6) and last 4, 74 bytes; empty
 * otherwise. */
enum { S_ID, S_CUSTOMER, S_CARD, S_MERCHANT, S_ORIG, S_PAN, S_N };
#define PAN_TOKEN_LEN 64
#define PAN_BLOCK_LEN (PAN_TOKEN_LEN + 6 + 4)

#define MAX_ID_LEN 255

extern const char *const txf_clean_status_names[4];
extern const char *const txf_clean_channel_names[3];

/* One valid transaction version, fixed size; its strings live in an arena
 * (or a reader's buffer) as one block: id, customer, card, merchant, orig,
 * and a card feed's card (S_PAN). */
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
  uint8_t hashed;       /* h0, h1 are computed */
  int32_t old_day;      /* its partition then */
} crow;

enum { FATE_NONE, FATE_INSERT, FATE_UPDATE, FATE_DUP, FATE_STALE };

static inline const char *crow_s(const crow *r, int k) {
  const char *p = r->str;
  for (int i = 0; i < k; i++)
    p += r->len[i];
  return p;
}

/* Silver order within a partition, (txn_ts, id bytes), inline. */
static inline int txf_clean_silver_order(const crow *a, const crow *b) {
  if (a->txn_ts_us != b->txn_ts_us)
    return a->txn_ts_us < b->txn_ts_us ? -1 : 1;
  return txf_bytes_cmp(a->str, a->len[S_ID], b->str, b->len[S_ID]);
}

/* A one-bit-per-slot filter in front of a big hash table: 16 bits per
 * key, so it stays in cache and turns most misses away (about 1 in 16
 * gets through) before the table's own probe, a cache miss. */
typedef struct txf_clean_filter {
  uint64_t *w;
  uint64_t mask; /* bit index mask */
} txf_clean_filter;

static inline void txf_clean_filter_init(txf_clean_filter *f, size_t n) {
  uint64_t bits = 64;
  while (bits < 16 * (uint64_t)n)
    bits *= 2;
  f->mask = bits - 1;
  f->w = txf_xcalloc(bits / 64, sizeof *f->w);
}

/* Other bits of the hash than the table's slot (low) and shard (top). */
static inline uint64_t txf_clean_filter_bit(const txf_clean_filter *f,
                                            uint64_t h) {
  return (h >> 24 ^ h >> 7) & f->mask;
}

static inline void txf_clean_filter_add(txf_clean_filter *f, uint64_t h) {
  uint64_t b = txf_clean_filter_bit(f, h);
  f->w[b >> 6] |= (uint64_t)1 << (b & 63);
}

static inline int txf_clean_filter_has(const txf_clean_filter *f,
                                       uint64_t h) {
  uint64_t b = txf_clean_filter_bit(f, h);
  return (int)(f->w[b >> 6] >> (b & 63) & 1);
}

/* Lineage: where a version came from. */
typedef struct csource {
  char *path;       /* relative to the data dir when inside it */
  uint32_t path_len; /* strlen(path) */
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
/* The same for a record of a card feed: the bronze columns and a 14th,
 * card_number, tokenized under KEY into the row's S_PAN (REC is changed
 * while it is read, and restored). A card number that is not one is
 * TXF_REJ_BAD_CARD_NUMBER, its DETAIL showing it masked to BIN and last
 * 4; the other reasons' DETAIL may quote a value: the caller masks it. */
txf_reject_reason txf_clean_validate_card(txf_csv_record *rec, crow *row,
                                          txf_arena *a, const txf_tz *tz,
                                          const struct txf_pan_key *key,
                                          char *detail, size_t detail_cap);
/* The same for a record of a processor's layout F bound by B (the line
 * checks, the column count, the mapping, then txf_clean_validate). */
txf_reject_reason txf_clean_validate_mapped(const txf_feed_format *f,
                                            const txf_feed_binding *b,
                                            const txf_csv_record *rec,
                                            crow *row, txf_arena *a,
                                            const txf_tz *tz, char *detail,
                                            size_t cap);
/* The N bytes at S as readable text in OUT (CAP bytes, NUL-terminated,
 * at least 16): printable ASCII and whole UTF-8 sequences as they are;
 * control characters, backslashes and bytes that are not UTF-8 as \xNN;
 * after MAX bytes of S, "...". Returns OUT. */
char *txf_clean_escape(const char *s, size_t n, size_t max, char *out,
                       size_t cap);
/* Check a file's first record REC (NULL: the file has none) is the bronze
 * header (or a card feed's: txf_clean_header_cards). TXF_EPARSE naming
 * the real cause otherwise: empty, gzip or zstd
 * without .zst, UTF-16, CR-only line ends, another header. The message
 * does not name the file; the caller adds it. */
TXF_MUST_CHECK int txf_clean_header_check(const txf_csv_record *rec,
                                          txf_err *err);
/* Is REC (a header the check passed, or NULL) a card feed's: the bronze
 * columns and card_number? */
int txf_clean_header_cards(const txf_csv_record *rec);
/* Parse an amount: digits, optionally '.' and 1-2 digits, > 0, < 10^16. */
int txf_clean_parse_amount(const char *s, size_t n, int64_t *minor);
/* Is C (3 upper-case letters) an ISO 4217 code? */
int txf_clean_iso4217_known(const char c[3]);

/* ---- the batch's rows in memory (rows.c) */

/* A row as a compact record: the fixed fields, then its strings (no
 * pointer, no hash); at most REC_MAX bytes. */
#define REC_MAX (21 + 3 * 10 + 5 * MAX_ID_LEN + PAN_BLOCK_LEN)
size_t txf_clean_rec_size(const crow *r);
void txf_clean_rec_put(char *p, const crow *r);
/* Read the record at P into *R (R->str points into P; idh computed, the
 * content hash not: txf_clean_rec_hash); returns its end. */
const char *txf_clean_rec_get(const char *p, crow *r);
/* The length of the record at P. */
size_t txf_clean_rec_len(const char *p);
/* Compute R's content hash (h0, h1) if it is not yet. */
void txf_clean_rec_hash(crow *r);

/* Blocks of records (64 KiB, mapped one by one), recycled through a pool
 * shared by the threads of a clean. */
typedef struct txf_clean_block txf_clean_block;
typedef struct txf_clean_pool txf_clean_pool;
txf_clean_pool *txf_clean_pool_new(void);
/* Unmaps every block, in use or not. */
void txf_clean_pool_free(txf_clean_pool *p);
/* Give blocks back by one munmap each, as where the kernel refuses
 * process_madvise (for tests). */
void txf_clean_pool_unmap_only(txf_clean_pool *p);
txf_clean_block *txf_clean_block_get(txf_clean_pool *p);
/* Give the chain starting at CHAIN back for reuse (NULL: nothing). */
void txf_clean_block_put(txf_clean_pool *p, txf_clean_block *chain);
/* Give the pages of the blocks kept for reuse back to the system (the
 * mappings stay, empty, for reuse). */
void txf_clean_pool_trim(txf_clean_pool *p);
/* Room for an N-byte record at the end of the chain HEAD..TAIL (a new
 * block when the tail has none). */
char *txf_clean_blocks_add(txf_clean_pool *p, txf_clean_block **head,
                           txf_clean_block **tail, size_t n);
/* Records of a chain: for (b = head; b; b = b->next) records in
 * [txf_clean_block_data(b), + txf_clean_block_len(b)). */
const char *txf_clean_block_data(const txf_clean_block *b);
size_t txf_clean_block_len(const txf_clean_block *b);
txf_clean_block *txf_clean_block_next(const txf_clean_block *b);
void txf_clean_block_ref(txf_clean_block *b); /* one more run reads it */

/* Records in numbered buckets: appended whole, taken out a bucket at a
 * time. One thread appends to a bucket at a time. */
typedef struct txf_clean_buckets txf_clean_buckets;
txf_clean_buckets *txf_clean_buckets_new(txf_clean_pool *pool, unsigned n);
void txf_clean_buckets_free(txf_clean_buckets *b);
/* Append the records at P (N bytes, whole records) to bucket K. */
void txf_clean_buckets_add(txf_clean_buckets *b, unsigned k, const void *p,
                           size_t n);
uint64_t txf_clean_buckets_bytes(const txf_clean_buckets *b, unsigned k);
/* The chain of bucket K's blocks, in order; K is emptied. The caller
 * gives the blocks back (txf_clean_block_put). */
txf_clean_block *txf_clean_buckets_take(txf_clean_buckets *b, unsigned k);

/* Where one shard's additions to one day are: N records from offset OFF
 * of block B on (following the chain), sorted by (txn_ts, id). */
typedef struct run_ref {
  int32_t day;
  txf_clean_block *b;
  uint32_t off;
  uint64_t n;
} run_ref;

/* Reading a run: its rows in order (strings valid until the next call);
 * each block goes back to the system when the last run in it has read
 * past it. */
typedef struct txf_clean_runrd {
  txf_clean_pool *pool;
  txf_clean_block *b;
  uint32_t pos;
  uint64_t left;
  /* not NULL: a block read past is chained here, kept, instead of going
   * back (txf_clean_runs_hold) */
  txf_clean_block **held;
} txf_clean_runrd;
void txf_clean_runrd_open(txf_clean_runrd *r, txf_clean_pool *pool,
                          const run_ref *ref);
/* The next row into *ROW: 1, or 0 at the end. ROW->idh is not computed
 * (0): a run is read in silver order, which does not use it. */
int txf_clean_runrd_next(txf_clean_runrd *r, crow *row);

/* N runs of one partition merged in silver order, (txn_ts, id bytes), in
 * which no two of their rows tie (an id is in one shard's run). A loser
 * tree over the heads' txn_ts: a row costs log2(N) comparisons of two
 * integers, the winner's in a register and the loser's from one small
 * array; ids are compared only where txn_ts are equal. */
typedef struct txf_clean_runs {
  txf_clean_runrd *rd;
  crow *head;
  int64_t *key;   /* the head's txn_ts; INT64_MAX once its run is done */
  uint8_t *live;  /* the run has a head */
  int *loser;     /* [0]: the winner; [i], 1 <= i < K: the loser there */
  size_t k;       /* leaves: N rounded up to a power of two */
  /* Ties on txn_ts are frequent (whole seconds) and the ids of a day
   * share a prefix: PFX, the first heads' common one. A head whose id
   * starts with it has PRE set and ID8 = the next 8 id bytes (big-endian,
   * zero-padded), so most ties are told apart without reading the ids
   * from the run blocks. */
  uint64_t *id8;
  uint8_t *pre;
  char pfx[16];
  size_t pfx_len;
  txf_clean_block *held; /* read past, kept (txf_clean_runs_hold) */
} txf_clean_runs;
void txf_clean_runs_open(txf_clean_runs *R, txf_clean_pool *pool,
                         const run_ref *ref, size_t n);
/* The least head (valid until the next pop), NULL when every run is
 * done. */
static inline const crow *txf_clean_runs_peek(const txf_clean_runs *R) {
  int w = R->loser[0];
  return R->live[w] ? &R->head[w] : NULL;
}
void txf_clean_runs_pop(txf_clean_runs *R);
/* From now on the blocks the runs read past are kept, so that the rows
 * popped keep their strings, until the caller takes them
 * (txf_clean_runs_take_held) and gives them back
 * (txf_clean_blocks_retire). */
void txf_clean_runs_hold(txf_clean_runs *R);
txf_clean_block *txf_clean_runs_take_held(txf_clean_runs *R);
/* The blocks of CHAIN (NULL: none) will not be read again: their pages go
 * back to the system. */
void txf_clean_blocks_retire(txf_clean_pool *p, txf_clean_block *chain);
/* Also gives back the blocks still held. */
void txf_clean_runs_release(txf_clean_runs *R);

/* Sort N rows by KEY, ties by CMP (a comparator of crow pointers): radix
 * on the 64-bit key, then the full comparison only where keys tie. */
typedef int (*txf_clean_cmp_fn)(const void *, const void *);
void txf_clean_key_sort(crow **v, size_t n, uint64_t (*key)(const crow *),
                        txf_clean_cmp_fn cmp);

/* ---- the id index (index.c) */

/* silver/_index/transactions/shard-NNN.idx: where each id of the lake
 * is, as (hash of the id, event day of its partition) pairs; the shard
 * is the top byte of the hash. Ids are never stored: a batch id whose
 * hash the index holds is looked up in those partitions (the lake is the
 * truth, the index a map to it). */
#define IDX_SHARDS 256
#define IDX_SHARD(idh) ((unsigned)((idh) >> 56))

typedef struct man_file {
  uint64_t size_bytes;
  char sha[65];
} man_file;

typedef struct loc_ent {
  uint64_t idh;
  int32_t day;
} loc_ent;

char *txf_clean_index_dir(const char *data_dir);
/* The lake's file of index shard S: relative to the data directory
 * (silver/_index/transactions/shard-NNN.idx, into OUT), or joined to
 * DATA_DIR (caller frees). */
#define IDX_SHARD_REL_MAX 48
void txf_clean_index_shard_rel(unsigned s, char out[IDX_SHARD_REL_MAX]);
char *txf_clean_index_shard_path(const char *data_dir, unsigned s);
/* Read shard SHARD of the index at PATH (either format; a missing file is
 * an empty shard) into *E (caller frees) sorted by (idh, day). */
TXF_MUST_CHECK int txf_clean_index_read(const char *path, unsigned shard,
                                        loc_ent **e, size_t *n,
                                        txf_err *err);
/* The same from the file's bytes, already read (BYTES is taken: released
 * and zeroed whatever happens); PATH names it in errors. */
TXF_MUST_CHECK int txf_clean_index_parse(const char *path, unsigned shard,
                                         txf_buf *bytes, loc_ent **e, size_t *n,
                                         txf_err *err);
/* Write E (sorted by (idh, day)) as shard SHARD at PATH (created); its
 * size and SHA-256 into *F unless F is NULL. */
TXF_MUST_CHECK int txf_clean_index_write(const char *path, unsigned shard,
                                         const loc_ent *e, size_t n,
                                         man_file *f, txf_err *err);
void txf_clean_index_sort(loc_ent *e, size_t n);
/* (E less RM) with INS, in one pass (all three sorted by (idh, day)):
 * the new list (*N pairs; caller frees) and in *REMOVED how many pairs
 * of RM E held (each once: RM has no repeats). */
loc_ent *txf_clean_index_edit(const loc_ent *e, size_t ne, const loc_ent *rm,
                              size_t nrm, const loc_ent *ins, size_t nins,
                              size_t *n, size_t *removed);

/* ---- the lake's manifest (manifest.c) */

/* silver/_index/transactions/_manifest.json: every index shard and every
 * silver partition file of the lake with its size and SHA-256, written
 * at each commit (docs/silver.md, "Checksums and the manifest"). A file
 * clean reads is checked against it first, so damage stops the clean
 * instead of being rewritten into fresh files. */
#define TXF_CLEAN_MANIFEST "silver/_index/transactions/_manifest.json"

typedef struct man_part {
  int32_t day;
  man_file f;
  uint8_t verified; /* checked in this run (one thread per day) */
} man_part;

typedef struct txf_clean_manifest {
  uint8_t has_shard[IDX_SHARDS];
  man_file shard[IDX_SHARDS];
  man_part *part; /* sorted by day */
  size_t n_part, cap_part;
} txf_clean_manifest;

/* Load the manifest of the lake at DATA_DIR into *MF (caller releases).
 * An empty lake has an empty one. A lake with shards or partitions but no
 * manifest, or an unreadable manifest, is TXF_ECORRUPT with a message
 * saying to run 'txnflow index rebuild'. */
TXF_MUST_CHECK int txf_clean_manifest_load(txf_clean_manifest *mf,
                                           const char *data_dir, txf_err *err);
void txf_clean_manifest_release(txf_clean_manifest *mf);
/* Read index shard S of the lake, checked against MF: a listed shard that
 * is missing or differs (size, SHA-256), or a shard that is not listed,
 * is TXF_ECORRUPT and nothing is returned. */
TXF_MUST_CHECK int txf_clean_manifest_read_shard(const txf_clean_manifest *mf,
                                                 const char *data_dir,
                                                 unsigned s, loc_ent **e,
                                                 size_t *n, txf_err *err);
/* Check partition DAY's file against MF (once per run: a day is checked
 * by one thread at a time): listed and missing or different, or present
 * and not listed, is TXF_ECORRUPT naming the file and how to recover. */
TXF_MUST_CHECK int txf_clean_manifest_check_partition(txf_clean_manifest *mf,
                                                      const char *data_dir,
                                                      int32_t day,
                                                      txf_err *err);
/* Record partition DAY's file (SHA NULL: the partition is gone). */
void txf_clean_manifest_set_partition(txf_clean_manifest *mf, int32_t day,
                                      uint64_t size_bytes, const char *sha);
/* Write J (taken) as indented JSON with sorted keys and a final newline
 * to PATH (created, flushed; made durable by the commit's syncfs). */
TXF_MUST_CHECK int txf_clean_json_write(json_t *j, const char *path,
                                        txf_err *err);
/* Write MF as JSON to PATH (created, flushed; made durable by the
 * commit's syncfs). */
TXF_MUST_CHECK int txf_clean_manifest_write(const txf_clean_manifest *mf,
                                            const char *path, txf_err *err);
/* This commit's manifest: MF updated with the shards staged in
 * STAGING/index (TOUCHED[s]; SHARD_FILES[s] their size and SHA-256, as written)
 * and the partitions of the clean's report REP
 * (rows_per_partition: 0 is a partition removed; partition_files: size and
 * SHA-256), written to STAGING/index/_manifest.json when anything changed
 * or the lake had none (*STAGED = 1). */
TXF_MUST_CHECK int
txf_clean_manifest_stage(txf_clean_manifest *mf, const char *data_dir,
                         const char *staging, const unsigned char *touched,
                         const man_file *shard_files, json_t *rep, int *staged,
                         txf_err *err);
/* Write the index's _meta.json (format, shards, the lake's TIMEZONE, and
 * a card feed's lake's CARD_KEY_ID: the key of its tokens, or NULL) to
 * PATH (created, flushed). */
TXF_MUST_CHECK int txf_clean_meta_write(const char *path, const char *timezone,
                                        const char *card_key_id, txf_err *err);
/* ERR is from reading a partition (TXF_ECORRUPT, TXF_EUNSUPPORTED or
 * TXF_ETOOBIG: for a file clean wrote, damage): add that the file is
 * damaged, nothing was changed and how to recover, unless it says so. */
void txf_clean_damage_hint(txf_err *err);
/* For audit: check every file of the lake against the manifest (each
 * listed shard and partition as listed, nothing unlisted), passing each
 * finding to NOTE(CTX, text); returns how many. *PAIRS (caller frees)
 * gets the index's pairs, all shards, sorted by (idh, day). */
int64_t txf_clean_manifest_audit(const char *data_dir,
                                 void (*note)(void *ctx, const char *text),
                                 void *ctx, loc_ent **pairs, size_t *n_pairs);
/* The lake's time zone from the index's _meta.json into *ZONE (caller
 * frees; NULL when there is none yet), and when CARD_KEY_ID is not NULL
 * the key of a card feed's lake's tokens into it (caller frees; NULL: a
 * lake without card columns); an unreadable file is TXF_ECORRUPT. */
TXF_MUST_CHECK int txf_clean_meta_zone(const char *data_dir, char **zone,
                                       char **card_key_id, txf_err *err);
/* The names in DIR starting with PREFIX, sorted (free with
 * txf_clean_list_free; NULL and *N = 0 when DIR cannot be read). */
char **txf_clean_list_dir(const char *dir, const char *prefix, size_t *n);
void txf_clean_list_free(char **v, size_t n);
/* The partition directories under silver/transactions, in order, then
 * any directory whose name is not one of ours: REL relative to the data
 * dir, DAY its date (INT32_MIN when the names are not
 * year=YYYY/month=MM/day=DD of a real date). */
typedef struct txf_clean_part_dir {
  char *rel;
  int32_t day;
} txf_clean_part_dir;
txf_clean_part_dir *txf_clean_partition_dirs(const char *data_dir, size_t *n);
void txf_clean_part_dirs_free(txf_clean_part_dir *v, size_t n);
/* Does the lake hold any silver partition or index shard? */
int txf_clean_lake_has_data(const char *data_dir);

/* ---- the batch against the lake (shard.c) */

/* An id a partition loses (its row moves or is replaced). */
typedef struct rm_ent {
  int32_t day;
  uint64_t idh;
  const char *id; /* in the merge's arena */
  uint8_t len;
  uint8_t del; /* the id leaves the lake (a revert): "delete", not
                  "update_preimage", in the change log */
} rm_ent;

/* An id of the batch the index places in partition DAY: that partition
 * is read to decide. */
typedef struct cand_ent {
  int32_t day;
  uint64_t idh;
} cand_ent;

typedef struct merge_stats {
  int64_t inserted, updated, duplicates, stale, ties, lineage_moves;
} merge_stats;

/* The decision on a pending id, made while its partition is read. */
typedef struct pend_dec {
  uint8_t found, fate, replace, tie, lineage;
  int32_t old_day;
} pend_dec;

/* A pending id, found by its hash while a partition is read. */
typedef struct pend_ref {
  uint64_t idh;
  const char *rec; /* its record, in the shard's pending buffer */
  pend_dec *dec;
} pend_ref;

/* What the shards of one clean share (threads: under MU). */
typedef struct txf_clean_merge {
  const char *data_dir;
  txf_clean_manifest *manifest; /* what the files read must match */
  const char *staging_dir; /* index shards are staged in STAGING/index */
  const csources *src;
  int cards;                  /* a card feed's lake: the card columns too */
  const char *key_id;         /* then the id of the key of every token */
  txf_clean_pool *pool;       /* blocks of the batch's records */
  txf_clean_buckets *rows[8]; /* the batch's valid rows, bucket = shard,
                                * one set per validating thread */
  int n_lanes;
  txf_buf pending[IDX_SHARDS]; /* winners found in the index, in id order */
  pend_dec *dec[IDX_SHARDS];   /* one per pending record */
  size_t n_pending[IDX_SHARDS];
  pend_ref *pmap; /* open addressing on idh, over every pending id */
  size_t pmap_mask;
  txf_clean_filter pfilter; /* in front of PMAP */
  pthread_mutex_t mu;
  run_ref *run;
  size_t n_run, cap_run;
  cand_ent *cand;
  size_t n_cand, cap_cand;
  rm_ent *rm;
  size_t n_rm, cap_rm;
  txf_arena rm_ids;
  merge_stats st;
  unsigned char touched[IDX_SHARDS];    /* shard staged */
  unsigned char new_ids_in[IDX_SHARDS]; /* new ids went into the shard */
  loc_ent *fresh[IDX_SHARDS];           /* those ids, while pending ones wait */
  size_t n_fresh[IDX_SHARDS];
  man_file shard_file[IDX_SHARDS]; /* each staged shard's size, SHA-256 */
} txf_clean_merge;

/* Shard S of the batch: dedup, look its ids up in the index; the ids not
 * there go into runs (new), the others are kept pending. */
TXF_MUST_CHECK int txf_clean_merge_shard(txf_clean_merge *m, unsigned s,
                                         txf_err *err);
/* Index every pending id by its hash (after all shards). */
void txf_clean_merge_index_pending(txf_clean_merge *m);
/* Is IDH the hash of a pending id? (A row of the lake that is not one is
 * skipped before it is hashed whole.) */
static inline int txf_clean_merge_wants(const txf_clean_merge *m,
                                        uint64_t idh) {
  if (!m->pmap || !txf_clean_filter_has(&m->pfilter, idh))
    return 0;
  for (size_t j = (size_t)idh & m->pmap_mask; m->pmap[j].rec;
       j = (j + 1) & m->pmap_mask)
    if (m->pmap[j].idh == idh)
      return 1;
  return 0;
}
/* The lake's row OLD (content hash computed, ingest day OLD_INGEST) of
 * partition DAY: if it is a pending id, decide it. Any thread. */
void txf_clean_merge_offer(txf_clean_merge *m, const crow *old,
                           int32_t old_ingest, int32_t day);
/* Put the rows V (N, each going into silver) into M's runs, sorted like
 * silver, one run per event day (the rows are copied). */
void txf_clean_merge_emit(txf_clean_merge *m, crow **v, size_t n);
/* After every partition is read: shard S's pending ids into runs,
 * removals and its index shard. */
TXF_MUST_CHECK int txf_clean_merge_pending(txf_clean_merge *m, unsigned s,
                                           txf_err *err);

/* ---- partitions (partition.c) */

char *txf_clean_partition_path(const char *data_dir, int32_t day);

/* Read partition DAY and offer each of its rows whose id hash a pending id
 * has to the merge (txf_clean_merge_offer). */
TXF_MUST_CHECK int txf_clean_resolve_day(txf_clean_merge *m, int32_t day,
                                         txf_err *err);
/* Read partition DAY of M's lake (checked against M's manifest; a missing
 * file has no rows) and pass each row whose id hash WANTS accepts to
 * FN(CTX, row, its ingest day, DAY): the row's strings are borrowed for
 * the call, its content hash computed. M: data_dir, manifest, cards,
 * key_id. TXF_ECORRUPT for a row that is not a silver row. */
TXF_MUST_CHECK int txf_clean_partition_each(
    const txf_clean_merge *m, int32_t day,
    int (*wants)(const txf_clean_merge *m, uint64_t idh),
    void (*fn)(void *ctx, const crow *r, int32_t ingest_day, int32_t day),
    void *ctx, txf_err *err);

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

/* One partition's rewrite: the lake's file of DAY minus the ids in RM,
 * merged with the runs RUN, written to
 * OUT_PATH; *N_ROWS the rows written (0: no file), SHA and SIZE of the
 * file. The writers encode on POOL (may be NULL). A removed id the file
 * does not hold is TXF_ECORRUPT (index and lake disagree). */
typedef struct part_job {
  int32_t day;
  const run_ref *run;
  size_t n_run;
  const rm_ent *rm;
  size_t n_rm;
  const char *out_path;
  change_out chg;
  int64_t n_rows;
  uint64_t size_bytes;
  char sha[65];
} part_job;
TXF_MUST_CHECK int txf_clean_partition_rewrite(txf_clean_merge *m,
                                               part_job *j,
                                               txf_pq_pool *pool,
                                               txf_err *err);

/* Where txf_clean_partitions_stage writes and how it commits. */
typedef struct txf_clean_stage_parts {
  const char *data_dir, *staging; /* absolute */
  int64_t version, now_us;        /* the change log's stamp */
  int threads;                    /* encoders */
  const struct txf_clean_crash *crash; /* "stage" after each partition */
  int *crash_counter;
  void (*add_op)(void *ctx, const char *from, const char *to);
  void *ctx;
} txf_clean_stage_parts;
/* Rewrite every partition M's runs (M->run) and removals (M->rm) touch
 * into P->staging/part (the change files into P->staging/changes), pass
 * their journal ops to P->add_op, and set REP's partitions_rewritten,
 * rows_per_partition, partition_files, commit_version (null when nothing
 * changed) and changes. Sorts M->run and M->rm by day. */
TXF_MUST_CHECK int txf_clean_partitions_stage(txf_clean_merge *m,
                                              const txf_clean_stage_parts *p,
                                              json_t *rep, txf_err *err);

/* Moving a card feed's lake to a new key (txnflow keys rotate): every
 * row's card_token through MAP (CTX, the 64 hex digits of the token under
 * the old key -> the token under the new one, 64 hex digits it keeps; NULL:
 * unknown) and its card_key_id KEY_ID. */
typedef struct txf_clean_rekey {
  const char *data_dir;
  txf_clean_manifest *manifest; /* what the files read must match */
  const char *key_id;
  const char *(*map)(void *ctx, const char *token);
  void *ctx;
} txf_clean_rekey;
/* Rewrite partition J->day re-keyed by K to J->out_path (n_rows, size,
 * sha set), every row an update (preimage, postimage) in the change file
 * J->chg. A token MAP does not know is TXF_ENOTFOUND naming the row. */
TXF_MUST_CHECK int txf_clean_partition_rekey(const txf_clean_rekey *k,
                                             part_job *j, txf_pq_pool *pool,
                                             txf_err *err);

/* ---- the history store (history.c; docs/silver.md, "History") */

/* silver/_history/transactions/ingest_date=D.idx: where every valid line
 * of batch D is, as (hash of its id, file, byte offset in the file)
 * sorted by hash, beside the batch's file names and sizes. Written by
 * the clean of D, removed by its revert; read by a revert to find the
 * other versions of an id without reading the lake or bronze whole. */
#define TXF_HIST_DIR "silver/_history/transactions"
#define HIST_OFF_BITS 48
typedef struct hist_ent {
  uint64_t idh;
  uint64_t loc; /* file << HIST_OFF_BITS | byte offset of the record */
} hist_ent;
/* A clean's entries, as it adds them: by the hash's top byte (the file's
 * order up to that byte), a bucket's full buffer of HIST_SPILL entries
 * appended to a spill file (unlinked, in SPILL_DIR) so that the batch's
 * 16 bytes a line are not in memory beside its records (docs/silver.md,
 * "Performance"). Without a spill file (no SPILL_DIR, or a write that
 * failed) a bucket grows in memory. */
#define HIST_BUCKETS 256
#define HIST_SPILL 2048 /* entries: 32 KiB a bucket */
typedef struct hist_bucket {
  hist_ent *e; /* the entries not spilled, in the order added */
  size_t n, cap;
  uint64_t *ext; /* the spilled buffers' indices in the file, in order */
  size_t n_ext, cap_ext;
} hist_bucket;
typedef struct txf_clean_hist {
  hist_ent *e;     /* a file read: its entries, sorted */
  size_t n, cap;   /* entries (read or added) */
  char **files;    /* relative to the data dir when inside it */
  uint64_t *sizes; /* their sizes in bytes when the batch was cleaned */
  size_t n_files;
  hist_bucket *b;        /* HIST_BUCKETS once an entry is added */
  const char *spill_dir; /* not owned; NULL: every entry in memory */
  int spill_fd;          /* open when SPILLING */
  int spilling;          /* 1: the file is open, -1: it failed */
  uint64_t n_spilled;    /* buffers in the file */
} txf_clean_hist;
/* Spill bucket B's full buffer, or let it grow (history.c). */
void txf_clean_hist_spill(txf_clean_hist *h, hist_bucket *b);
static inline void txf_clean_hist_add(txf_clean_hist *h, uint64_t idh,
                                      uint32_t file, uint64_t off) {
  if (!h->b)
    h->b = txf_xcalloc(HIST_BUCKETS, sizeof *h->b);
  hist_bucket *b = &h->b[idh >> 56];
  if (b->n == b->cap)
    txf_clean_hist_spill(h, b);
  b->e[b->n++] = (hist_ent){idh, (uint64_t)file << HIST_OFF_BITS | off};
  h->n++;
}
void txf_clean_hist_release(txf_clean_hist *h);
/* DATA_DIR/silver/_history/transactions/ingest_date=DATE.idx (caller
 * frees). */
char *txf_clean_hist_path(const char *data_dir, const char *date);
/* Sort H's added entries and write them with FILES (N; their sizes
 * stat'ed, relative ones under DATA_DIR) to PATH (created). */
TXF_MUST_CHECK int txf_clean_hist_write(txf_clean_hist *h,
                                        const char *data_dir,
                                        const csource *files, size_t n,
                                        const char *path, txf_err *err);
/* Read the history file PATH into H (released first). TXF_ENOTFOUND when
 * there is none, TXF_ECORRUPT when it is not one. */
TXF_MUST_CHECK int txf_clean_hist_read(const char *path, txf_clean_hist *h,
                                       txf_err *err);

/* ---- journal (journal.c) */

/* Take DATA_DIR/.clean.lock (flock, not waiting): one writer of the lake
 * at a time. TXF_ELOCKED when another holds it; *FD_OUT to close. */
TXF_MUST_CHECK int txf_clean_lake_lock(const char *data_dir, int *fd_out,
                                       txf_err *err);

/* Enter the lake as its one writer: take its lock (txf_clean_lake_lock;
 * *LOCK_FD to close, -1 when it was not taken) and finish an interrupted
 * commit (txf_clean_recover, the run recorded in STORE, said on LOG). */
TXF_MUST_CHECK int txf_clean_lake_enter(const char *data_dir, txf_store *store,
                                        const txf_logger *log, int *lock_fd,
                                        txf_err *err);

typedef struct jop {
  char *from; /* relative to the data dir; NULL: delete TO */
  char *to;
} jop;

/* Append the op FROM -> TO (FROM NULL: delete TO; both copied) to the N
 * ops at *OPS. */
void txf_clean_jops_add(jop **ops, size_t *n, const char *from, const char *to);
/* Before the commit point: can every op be applied? Each directory the
 * ops write in (or the nearest existing parent of one to be made) must
 * let us create and remove a file; else TXF_EIO naming it (nothing is
 * committed, so the lake never waits half-applied for a fix). */
TXF_MUST_CHECK int txf_clean_journal_check(const char *data_dir, const jop *ops,
                                           size_t n, txf_err *err);
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

/* Commit the N ops staged under DATA/.clean/staging by what is no clean
 * (an index rebuild, a key rotation): sync the staging area, check, write
 * the journal (run id PREFIX-time-pid, no report: no run is recorded) and
 * apply it. CRASH (may be NULL) crashes at "stage" (before the journal)
 * or "journal" (after it). On failure before the journal the caller
 * discards the staging area. */
TXF_MUST_CHECK int txf_clean_journal_commit_files(const char *data_dir,
                                                  const char *prefix,
                                                  const jop *ops, size_t n,
                                                  const txf_clean_crash *crash,
                                                  txf_err *err);
/* Commit a run's N OPS staged under STAGING (absolute): sync the staging
 * area, check the ops can be applied, write the journal (RUN_ID,
 * REPORT_JSON: the run recorded in STORE), crash at "journal" (CRASH may
 * be NULL), and finish it. A failure before the journal leaves nothing
 * committed (the caller discards the staging area); after it, the next
 * clean finishes the commit. */
TXF_MUST_CHECK int txf_clean_journal_commit(const char *data_dir,
                                            const char *staging,
                                            const char *run_id, const jop *ops,
                                            size_t n, const char *report_json,
                                            txf_store *store,
                                            const txf_clean_crash *crash,
                                            txf_err *err);
/* Apply DATA/.clean/journal.json if present (idempotent), record its run
 * in STORE, remove it and the staging area. *APPLIED = 1 if there was one.
 * CRASH may be NULL (recovery) or carry a live run's crash injection. */
TXF_MUST_CHECK int txf_clean_journal_finish(const char *data_dir,
                                            txf_store *store,
                                            const txf_clean_crash *crash,
                                            int *applied, txf_err *err);

/* ---- snapshots (snapshot.c) */

#define TXF_SNAP_DIR "silver/_snapshots/transactions"

/* What a commit's snapshot is made of. */
typedef struct txf_clean_snap_in {
  const char *data_dir, *staging; /* absolute; staging holds part/D.parquet */
  int64_t version, now_us;
  const char *operation; /* "clean" */
  const char *run_id;
  const char *ingest_date; /* the batch, or NULL */
  int removes;             /* the batch leaves the lake (a revert) */
  json_t *report;          /* rows_per_partition: the partitions changed */
  const txf_clean_manifest *manifest; /* the lake after this commit */
  txf_store *store; /* for a lake from before snapshots; may be NULL */
  void (*add_op)(void *ctx, const char *from, const char *to);
  void *ctx;
} txf_clean_snap_in;

/* Stage version IN->version's snapshot under STAGING/snap: a hard link of
 * each partition file this commit wrote (or, on a lake whose last snapshot
 * does not list a partition's file, of the live file), and the record
 * vV.json, each passed to ADD_OP as a rename into silver/_snapshots (the
 * record last). Untouched partitions keep their entry from the last
 * snapshot. TXF_EIO, TXF_ECORRUPT (an unreadable last record). */
TXF_MUST_CHECK int txf_clean_snapshot_stage(const txf_clean_snap_in *in,
                                            txf_err *err);

/* Commit a run whose report is OUT (taken): the snapshot of IN->version
 * staged (IN->report = OUT) when OUT has a commit_version, the crash
 * point "stage", then the journal of the *N_OPS ops at *OPS (read after
 * the snapshot added its own) with OUT as the run's report, recorded in
 * IN->store. On success *REPORT_JSON (caller frees) is OUT as indented
 * text. On failure before the journal nothing is committed. */
TXF_MUST_CHECK int txf_clean_run_commit(txf_clean_snap_in *in, json_t *out,
                                        jop *const *ops, const size_t *n_ops,
                                        const txf_clean_crash *crash,
                                        int *stage_counter, char **report_json,
                                        txf_err *err);

/* The next row of RD into V, counted in *ROW: 1 when there is one, 0 at
 * the end (*RC 0) or on a read error (*RC its code). Read loops go
 *   while (!rc && txf_clean_read_row(rd, v, &row, &rc, err)) { ... } */
static inline int txf_clean_read_row(txf_pq_reader *rd, txf_pq_value *v,
                                     int64_t *row, int *rc, txf_err *err) {
  int has = 0;
  *rc = txf_pq_reader_next(rd, v, &has, err);
  if (*rc || !has)
    return 0;
  ++*row;
  return 1;
}

/* The versions that have a snapshot record, ascending, into *VS (caller
 * frees, also on failure). */
TXF_MUST_CHECK int txf_clean_snapshot_versions(const char *data_dir,
                                               int64_t **vs, size_t *n,
                                               txf_err *err);
/* Snapshot record V of the lake in DATA_DIR, checked to be one (a
 * "partitions" object and its own version): TXF_ECORRUPT otherwise. */
TXF_MUST_CHECK int txf_clean_snapshot_load(const char *data_dir, int64_t v,
                                           json_t **out, txf_err *err);

#endif
