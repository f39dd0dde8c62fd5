/* bronze: raw landed batches — the synthetic feed (generate), the batch
 * manifest, and the streaming RFC 4180 CSV reader.
 *
 * CONTRACT DRAFT (foundation). Layout (DESIGN.md):
 *   DATA/bronze/transactions/ingest_date=YYYY-MM-DD/part-NNNNN.csv[.zst]
 *   DATA/bronze/transactions/ingest_date=YYYY-MM-DD/_manifest.json
 *   DATA/truth/transactions/ingest_date=YYYY-MM-DD/lines.csv  (synthetic)
 *
 * _manifest.json (written by generate; read and verified by clean):
 *   { "format": "txnflow-bronze-manifest/1",
 *     "ingest_date": "2025-09-01",
 *     "files": [ { "name": "part-00000.csv", "rows": 5012,
 *                  "size_bytes": 812345, "sha256": "<64 hex>" } ],
 *     "generator": { "seed": 42, "rows": 5000, ... every parameter } }
 * "rows" counts data records (header excluded). A landed (non-synthetic)
 * batch carries the same manifest without "generator".
 *
 * CSV columns, in order (header row required):
 *   transaction_id, customer_id, card_id, merchant_id, txn_ts, amount,
 *   currency, mcc, status, is_refund, channel, ingested_at,
 *   original_transaction_id
 *
 * Sections below are owned by the issue that implements them. */
#ifndef TXF_BRONZE_H
#define TXF_BRONZE_H

#include <stdint.h>

#include "util/util.h"

#define TXF_BRONZE_N_COLS 13
extern const char *const txf_bronze_columns[TXF_BRONZE_N_COLS];

/* ---- manifest (generate issue) */

typedef struct txf_manifest_file {
  char *name;
  int64_t rows;
  uint64_t size_bytes;
  char sha256[65];
} txf_manifest_file;

typedef struct txf_manifest {
  char *ingest_date;
  txf_manifest_file *files;
  size_t n_files;
} txf_manifest;

/* Read DIR/_manifest.json. TXF_ENOTFOUND when absent, TXF_EPARSE when
 * malformed. Caller frees with txf_manifest_release(). */
TXF_MUST_CHECK int txf_manifest_load(txf_manifest *m, const char *dir,
                                     txf_err *err);
/* Check DIR against M: every listed file present, its size and SHA-256;
 * every other file of DIR listed (names starting with '.' or '_' aside);
 * when DIR is named ingest_date=D, M's ingest_date is D. TXF_ECORRUPT
 * naming the first file that differs (or the manifest). The manifest's
 * "rows" need the records counted; clean checks them as it reads. */
TXF_MUST_CHECK int txf_manifest_verify(const txf_manifest *m, const char *dir,
                                       txf_err *err);
/* txf_manifest_verify in two steps, for a caller that hashes the files
 * while it reads them: the folder and every file's presence and size
 * (no file read), then file I of M's SHA-256 (reads it). Each
 * TXF_ECORRUPT as above. */
TXF_MUST_CHECK int txf_manifest_verify_listing(const txf_manifest *m,
                                               const char *dir, txf_err *err);
TXF_MUST_CHECK int txf_manifest_verify_file(const txf_manifest *m,
                                            const char *dir, size_t i,
                                            txf_err *err);
void txf_manifest_release(txf_manifest *m);
/* Write DIR/_manifest.json for batch INGEST_DATE listing FILES (N). When
 * GENERATOR is not NULL (a jansson object, borrowed) it is stored as
 * "generator". Written atomically. */
struct json_t;
TXF_MUST_CHECK int txf_manifest_write(const char *dir, const char *ingest_date,
                                      const txf_manifest_file *files,
                                      size_t n, struct json_t *generator,
                                      txf_err *err);

/* ---- synthetic feed (generate issue; docs/feed.md)
 *
 * Truth, beside each synthetic batch:
 *   DATA/truth/transactions/ingest_date=D/lines.csv with header
 *   file,line,transaction_id,kind,defect
 * one row per data record of the batch ("line" counts data records from 1
 * in FILE), kind one of new | version | redelivery | stale_redelivery |
 * malformed, defect (malformed lines only) one of wrong_columns |
 * bad_amount | bad_timestamp | unknown_enum | empty_id | invalid_utf8 |
 * stray_quote. The id is the line's first field as written.
 *
 * Every transaction is a pure function of (seed, event day, index), so any
 * day can be generated alone and the same parameters give the same bytes.
 * A feed must keep seed, rows, customers, merchants, rates and time zone
 * constant across its days: day D's late arrivals, versions and refunds are
 * derived from earlier days under D's parameters. */

typedef struct txf_gen_params {
  uint64_t seed;
  int64_t rows;         /* events per event day (1..99,999,999) */
  double dup_rate;      /* exact re-delivery, per delivered version */
  double version_rate;  /* a newer version later, per transaction */
  double late_rate;     /* first delivery 1..6 days late, per transaction */
  double malformed_rate; /* malformed extra line, per emitted line */
  double stale_rate;    /* stale re-delivery, per transaction (<= version) */
  double refund_rate;   /* refunds among events */
  int64_t customers;    /* population (>= 1) */
  int64_t merchants;    /* population (>= 100) */
  int64_t part_rows;    /* data records per part file */
  int compress_zstd;    /* write part-NNNNN.csv.zst */
  const char *timezone; /* IANA name (borrowed) */
  /* Tests only, not part of the model: die with _exit(3) at this step of
   * txf_generate_day ("generate-staged", "generate-truth" between the two
   * swaps, "generate-bronze" after them); NULL for none (borrowed). */
  const char *crash_at;
} txf_gen_params;

/* The defaults of docs/feed.md (seed 42, 5,000 rows, Asia/Seoul, ...). */
void txf_gen_params_default(txf_gen_params *p);
/* Check ranges; TXF_EUSAGE naming the parameter. */
TXF_MUST_CHECK int txf_gen_params_check(const txf_gen_params *p,
                                        txf_err *err);

typedef struct txf_gen_stats {
  int64_t lines;      /* data records written */
  int64_t n_new;      /* first deliveries (events) */
  int64_t n_late;     /* of which with an event date before the batch */
  int64_t n_version;
  int64_t n_redelivery;
  int64_t n_stale;
  int64_t n_malformed;
  int64_t n_refund;   /* refund events among n_new */
  int64_t n_files;
  uint64_t size_bytes; /* bytes of the part files */
} txf_gen_stats;

/* Generate the bronze batch and truth of ingestion day DAY under DATA_DIR.
 * Both are built in temp dirs and swapped into place, truth first, bronze
 * last (the commit point); the truth dir holds _bronze.sha256, the SHA-256
 * of the bronze manifest it belongs to. The run holds
 * DATA_DIR/locks/generate-DAY.lock throughout (TXF_ELOCKED while another
 * generate of DAY runs) and first settles what an interrupted run left
 * (txf_generate_settle), so after a crash at any point the batch is the
 * previous one or the new one, each with its own truth. An existing batch
 * is TXF_EEXIST unless FORCE, which replaces it (and its truth). STATS (may
 * be NULL) gets the counts; PROG (may be NULL) is advanced by emitted
 * lines. */
TXF_MUST_CHECK int txf_generate_day(const char *data_dir, txf_date day,
                                    const txf_gen_params *p, int force,
                                    txf_gen_stats *stats, txf_progress *prog,
                                    txf_err *err);
/* Under DAY's generate lock, repair what an interrupted generate of DAY
 * left: a truth swapped in without its bronze is swapped back (or moved
 * away when there was no batch before), and temp dirs are removed. Then
 * *EXISTS tells whether DAY's bronze batch exists, and *MISMATCH (may be
 * NULL) whether its truth still belongs to another batch (a truth from an
 * older txnflow or edited by hand: regenerate with force). TXF_ELOCKED
 * while another generate of DAY runs. */
TXF_MUST_CHECK int txf_generate_settle(const char *data_dir, txf_date day,
                                       int *exists, int *mismatch,
                                       txf_err *err);
/* Whether DAY's truth belongs to its bronze batch: 1 when the truth's
 * _bronze.sha256 holds the SHA-256 of the batch's _manifest.json, or the
 * truth has no tie (written before ties existed); 0 when they differ (an
 * interrupted generate not yet settled, or files edited by hand). */
int txf_truth_tied(const char *data_dir, txf_date day);
/* DATA_DIR/bronze/transactions/ingest_date=D (and truth/...); caller
 * frees. */
char *txf_bronze_batch_dir(const char *data_dir, txf_date day);
char *txf_truth_batch_dir(const char *data_dir, txf_date day);

/* ---- CSV reader (clean issue; docs/silver.md)
 *
 * A streaming RFC 4180 reader: comma-separated, fields optionally quoted
 * with '"', a quote inside a quoted field written twice, records ending in
 * LF or CRLF (a last record may lack one, or keep only the CR of a
 * CRLF: a lone CR at the very end is a terminator), a UTF-8 BOM at the start
 * skipped. A quoted field may hold newlines, so one record may span
 * several physical lines; but a multi-line record that does not parse
 * into EXPECTED_FIELDS fields cleanly (a stray quote that opened a field
 * and swallowed the following lines) is cut back to its first physical
 * line, reported as bad_quote, and reading resumes on the next line. So
 * one broken line never takes good lines with it.
 *
 * Records are numbered from 1 in file order, the header included (the
 * caller that knows there is a header subtracts one). Files whose name
 * ends in ".zst" are decompressed on the fly (streaming zstd). */

#define TXF_CSV_MAX_RECORD (1u << 20) /* bytes; longer is a bad record */
#define TXF_CSV_MAX_FIELDS 64         /* fields kept; more are counted */

typedef struct txf_csv_record {
  const char *raw;      /* the record's bytes as in the file, without its
                           line terminator (borrowed until the next call) */
  size_t raw_len;
  const char *term;     /* the terminator as in the file: "\n", "\r\n" or
                           "" at the end of the file */
  int64_t record_no;    /* from 1, in file order */
  int64_t line_no;      /* physical line the record starts on, from 1 */
  size_t n_fields;      /* all fields, even past TXF_CSV_MAX_FIELDS */
  const char *field[TXF_CSV_MAX_FIELDS]; /* unescaped, not NUL-terminated,
                                            borrowed until the next call */
  uint32_t field_len[TXF_CSV_MAX_FIELDS];
  int bad_quote;        /* a quote out of place, or an unterminated quoted
                           field; the fields are then a best effort */
  int too_long;         /* longer than TXF_CSV_MAX_RECORD: RAW holds only
                           the first TXF_CSV_MAX_RECORD bytes */
} txf_csv_record;

typedef struct txf_csv_reader txf_csv_reader;

/* Open PATH for reading (".zst" suffix: zstd-compressed). EXPECTED_FIELDS
 * (0 = any) drives the multi-line recovery described above. Caller frees
 * with txf_csv_reader_free(). TXF_EIO when it cannot be opened. */
TXF_MUST_CHECK int txf_csv_reader_open(txf_csv_reader **out, const char *path,
                                       size_t expected_fields, txf_err *err);
/* Read from memory instead (DATA borrowed for the reader's lifetime);
 * NAME is used in messages. Never fails. */
txf_csv_reader *txf_csv_reader_open_mem(const char *data, size_t len,
                                        const char *name,
                                        size_t expected_fields);
/* The next record into *REC (its pointers borrowed until the next call).
 * *HAS_RECORD is 0 at the end. TXF_EIO / TXF_ECORRUPT (bad zstd frame)
 * on a read failure; a malformed record is not an error (see bad_quote). */
TXF_MUST_CHECK int txf_csv_reader_next(txf_csv_reader *r, txf_csv_record *rec,
                                       int *has_record, txf_err *err);
/* Bytes consumed so far from the (decompressed) input. */
uint64_t txf_csv_reader_offset(const txf_csv_reader *r);
void txf_csv_reader_free(txf_csv_reader *r);
/* 1 if the N bytes at P are valid UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF), else 0. */
int txf_utf8_valid(const char *p, size_t n);

#endif /* TXF_BRONZE_H */
