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

/* The same for a batch `txnflow land` made: LANDED (borrowed) is stored as
 * "landed" (when, from where, how; docs/feed.md). */
TXF_MUST_CHECK int txf_manifest_write_landed(const char *dir,
                                             const char *ingest_date,
                                             const txf_manifest_file *files,
                                             size_t n, struct json_t *landed,
                                             txf_err *err);

/* A bronze file holding card numbers (its header's last column is
 * card_number: docs/card-data.md). */
typedef struct txf_bronze_card_file {
  char *rel;            /* bronze/transactions/ingest_date=D/NAME */
  char ingest_date[11]; /* D */
  uint64_t size_bytes;
} txf_bronze_card_file;

/* Every bronze file of DATA_DIR that holds card numbers, by ingest date
 * then name, into *V (caller frees with txf_bronze_card_files_free). A
 * file that cannot be read is listed too (it may hold them). */
void txf_bronze_card_files(const char *data_dir, txf_bronze_card_file **v,
                           size_t *n);
void txf_bronze_card_files_free(txf_bronze_card_file *v, size_t n);

/* ---- synthetic feed (generate issue; docs/feed.md)
 *
 * Truth, beside each synthetic batch:
 *   DATA/truth/transactions/ingest_date=D/lines.csv with header
 *   file,line,transaction_id,kind,defect
 * one row per data record of the batch ("line" counts data records from 1
 * in FILE), kind one of new | version | redelivery | stale_redelivery |
 * malformed, defect (malformed lines only) one of wrong_columns |
 * bad_amount | bad_timestamp | unknown_enum | empty_id | invalid_utf8 |
 * stray_quote | bad_card_number (pan feeds only: a wrong check digit or
 * 15 digits). The id is the line's first field as written.
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
  int pan;              /* a 14th column, card_number: each card's PAN
                           (test BIN ranges), some written with spaces or
                           dashes, some lines with a malformed one
                           (docs/card-data.md) */
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
/* Hold DAY's batch lock (DATA_DIR/locks/generate-D.lock, the one generate
 * holds: generate and land of one day never meet) and remove the temp
 * dirs interrupted runs left beside the batch. TXF_ELOCKED when another
 * run holds it. Release with txf_bronze_unlock_day(*FD). */
TXF_MUST_CHECK int txf_bronze_lock_day(const char *data_dir, txf_date day,
                                       int *fd, txf_err *err);
void txf_bronze_unlock_day(int fd);
/* DATA_DIR/bronze/transactions/ingest_date=D (and truth/...); caller
 * frees. */
char *txf_bronze_batch_dir(const char *data_dir, txf_date day);
char *txf_truth_batch_dir(const char *data_dir, txf_date day);
/* The SHA-256 (hex) of batch DAY's _manifest.json: which delivery of the
 * day it is (a clean and a revert record it; a batch landed in its place
 * later has another). TXF_ENOTFOUND or TXF_EIO when it cannot be read. */
TXF_MUST_CHECK int txf_bronze_batch_sha256(const char *data_dir, txf_date day,
                                           char hex[65], txf_err *err);

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
 * caller that knows there is a header subtracts one). Compressed files
 * (zstd, gzip: known by their first bytes) are decompressed on the fly,
 * and a stream cut short is an error, not a shorter file. */

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

/* How a file is written: its field separator, text encoding and
 * compression. A file's first bytes tell its compression (gzip 1F 8B,
 * zstd 28 B5 2F FD); a configured compression other than AUTO must agree
 * with them. CP949 (a superset of EUC-KR) is decoded to UTF-8 as the file
 * is read, through glibc's iconv; a byte sequence that is not CP949 is
 * kept as it is, so its record fails the UTF-8 check downstream. */
enum { TXF_CSV_ENC_UTF8, TXF_CSV_ENC_CP949, TXF_CSV_ENC_N };
enum {
  TXF_CSV_COMP_AUTO,
  TXF_CSV_COMP_NONE,
  TXF_CSV_COMP_GZIP,
  TXF_CSV_COMP_ZSTD,
  TXF_CSV_COMP_N
};
extern const char *const txf_csv_encoding_names[TXF_CSV_ENC_N];
extern const char *const txf_csv_compression_names[TXF_CSV_COMP_N];
typedef struct txf_csv_opts {
  char delimiter;  /* 0: ',' */
  int encoding;    /* TXF_CSV_ENC_* */
  int compression; /* TXF_CSV_COMP_* */
} txf_csv_opts;
/* The compression the N first bytes at P announce: TXF_CSV_COMP_GZIP,
 * _ZSTD or _NONE. */
int txf_csv_sniff(const unsigned char *p, size_t n);

/* Open PATH for reading, comma-separated UTF-8, compressed or not as its
 * first bytes say (zstd, gzip). EXPECTED_FIELDS
 * (0 = any) drives the multi-line recovery described above. Caller frees
 * with txf_csv_reader_free(). TXF_EIO when it cannot be opened. */
TXF_MUST_CHECK int txf_csv_reader_open(txf_csv_reader **out, const char *path,
                                       size_t expected_fields, txf_err *err);
/* The same, written as OPTS says (NULL: the defaults above). TXF_EPARSE
 * when the configured compression is not the file's. */
TXF_MUST_CHECK int txf_csv_reader_open_opts(txf_csv_reader **out,
                                            const char *path,
                                            size_t expected_fields,
                                            const txf_csv_opts *opts,
                                            txf_err *err);
/* Read from memory instead (DATA borrowed for the reader's lifetime);
 * NAME is used in messages. Never fails. */
txf_csv_reader *txf_csv_reader_open_mem(const char *data, size_t len,
                                        const char *name,
                                        size_t expected_fields);
/* The next record into *REC (its pointers borrowed until the next call).
 * *HAS_RECORD is 0 at the end. TXF_EIO / TXF_ECORRUPT (a bad or truncated
 * zstd or gzip stream)
 * on a read failure; a malformed record is not an error (see bad_quote). */
TXF_MUST_CHECK int txf_csv_reader_next(txf_csv_reader *r, txf_csv_record *rec,
                                       int *has_record, txf_err *err);
/* From now on records should have EXPECTED_FIELDS fields (the multi-line
 * recovery above); for a layout known only from its header. */
void txf_csv_reader_expect(txf_csv_reader *r, size_t expected_fields);
/* Bytes consumed so far from the (decompressed) input. */
uint64_t txf_csv_reader_offset(const txf_csv_reader *r);
/* 1 when R reads a file byte for byte (neither compressed nor decoded
 * from CP949) and its next record starts at txf_csv_reader_offset (it is
 * not skipping the rest of an over-long line): the rest of the file may
 * then be read in spans (txf_csv_span_read) from that offset. */
int txf_csv_reader_splittable(const txf_csv_reader *r);

/* Reading one file in parallel (clean's read; docs/silver.md, "Reading the
 * batch").
 * DATA[0..LEN) is the whole file (mapped), comma- or OPTS-separated UTF-8.
 * The file is cut at byte offsets; a record starts only at the start of
 * a physical line (after an LF, or at 0), but not every line start is a
 * record start (a quoted field may hold newlines, an over-long line is
 * skipped to its end). So a span is read speculatively from the first
 * line start at or after its cut (txf_csv_span_start), and checked when
 * the span before it is read: where that one stopped is the true start;
 * a span read from elsewhere is read again from there. A record's
 * reading depends only on where it starts, so the spans' records are
 * then exactly those one reader reads from the file's start. */

/* The first line start at or after CUT in DATA[0..LEN): CUT itself when
 * it is 0 or follows an LF, LEN when no line starts there. */
size_t txf_csv_span_start(const char *data, size_t len, size_t cut);
/* FN is called with each record and the offset where it starts. */
typedef void (*txf_csv_record_fn)(void *ctx, const txf_csv_record *rec,
                                  uint64_t at);
/* Read DATA[FROM..LEN) as a reader that reached FROM at a record start
 * would (a BOM is looked for only at 0), calling FN for each record that
 * starts before TO, numbered from 1 (the caller adds the records before
 * FROM). Returns where reading stopped: the start of the first record at
 * or after TO (a record start, never inside an over-long line being
 * skipped), or LEN. Never fails. */
size_t txf_csv_span_read(const char *data, size_t len, size_t from, size_t to,
                         size_t expected_fields, const txf_csv_opts *opts,
                         txf_csv_record_fn fn, void *ctx);
void txf_csv_reader_free(txf_csv_reader *r);
/* 1 if the N bytes at P are valid UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF), else 0. */
int txf_utf8_valid(const char *p, size_t n);

/* ---- a processor's files (feed.format, feed.landing; docs/feed.md)
 *
 * A landed feed's files need not be in the bronze layout above: txnflow.yml
 * may declare the processor's own (feed.format: delimiter, header,
 * encoding, compression, and per bronze column the processor's column and
 * a conversion). Records are then mapped into bronze records as they are
 * read (txf_feed_map), and validated as any bronze record. */

struct txf_project;

/* The minor-unit digits of ISO 4217 currency CODE (N bytes, any case):
 * 0 for KRW, JPY, VND ..., 3 for BHD, KWD ..., 2 for the rest. */
int txf_iso4217_exponent(const char *code, size_t n);

typedef enum {
  TXF_MAP_COPY,           /* the processor's value as it is */
  TXF_MAP_CONST,          /* VALUE on every line */
  TXF_MAP_AMOUNT_DECIMAL, /* amount: 12.34 */
  TXF_MAP_AMOUNT_MINOR,   /* amount: 1234 minor units (EXPONENT digits) */
  TXF_MAP_TIMESTAMP,      /* TS_FORMAT (NULL: ISO 8601), ZONE */
  TXF_MAP_CODES           /* CODES[i] -> NAMES[i] */
} txf_feed_map_kind;

typedef struct txf_feed_column {
  txf_feed_map_kind kind;
  char *source;    /* the processor's column: header name, or its number
                      as text when the file has no header */
  int position;    /* no header: 1-based column number */
  char *value;     /* TXF_MAP_CONST */
  int exponent;    /* TXF_MAP_AMOUNT_MINOR: 0..4, or -1: the currency's */
  char *ts_format; /* %Y %m %d %H %M %S %f %z and literals */
  txf_tz *zone;    /* zone of times without an offset, or NULL (then a
                      time without one is not accepted) */
  char **codes, **names;
  size_t n_codes;
} txf_feed_column;

/* feed.format, by bronze column (txf_bronze_columns order). */
typedef struct txf_feed_format {
  txf_csv_opts csv;
  int header; /* the first line names the columns */
  txf_feed_column col[TXF_BRONZE_N_COLS];
} txf_feed_format;
void txf_feed_format_free(txf_feed_format *f);

/* A landed feed's settings (the feed: section). */
typedef struct txf_feed_config {
  txf_feed_format *format; /* NULL: files in the bronze layout */
  char *landing;  /* feed.landing: an absolute folder or s3://BUCKET/PREFIX,
                     or NULL */
  char *marker;   /* feed.marker: "{name}.done" (one per file, {name} the
                     file's name) or a name like "_SUCCESS" (one per
                     batch); NULL: a file is complete when its size stays
                     the same for STABLE_US */
  int64_t wait_us;   /* feed.wait (or feed.sensor_timeout; default 6h) */
  int64_t stable_us; /* feed.stable_for (default 5s) */
} txf_feed_config;

/* Read P's feed: section into *C (zeroed, defaults, when absent). Every
 * error is TXF_ECONFIG "txnflow.yml:LINE:COL: key 'feed.format....': ...".
 * Caller releases with txf_feed_config_release(). */
TXF_MUST_CHECK int txf_feed_config_read(txf_feed_config *c,
                                        const struct txf_project *p,
                                        txf_err *err);
void txf_feed_config_release(txf_feed_config *c);

/* LANDING with {date} replaced by DAY (YYYY-MM-DD) and {yyyymmdd} by
 * DAY without dashes: where day DAY's files are. Caller frees. */
char *txf_feed_landing_for(const char *landing, txf_date day);

/* Where each bronze column is in one file's records. */
typedef struct txf_feed_binding {
  int idx[TXF_BRONZE_N_COLS]; /* field index, or -1 (a fixed value) */
  size_t n_fields;            /* fields every record must have */
} txf_feed_binding;

/* Bind F to a file by its first record HEADER (its column names, or with
 * header: false its first data record, for the column count). TXF_EPARSE
 * naming FILE (NULL: the caller names it) and the missing column and
 * listing the header's. */
TXF_MUST_CHECK int txf_feed_bind(txf_feed_binding *b,
                                 const txf_feed_format *f,
                                 const txf_csv_record *header,
                                 const char *file, txf_err *err);

/* A record mapped into the bronze columns. FIELD[c] points into the
 * record, into F (fixed and mapped values) or into SCRATCH. */
typedef struct txf_feed_mapped {
  const char *field[TXF_BRONZE_N_COLS];
  uint32_t len[TXF_BRONZE_N_COLS];
  char scratch[160];
} txf_feed_mapped;

/* Map REC (B->n_fields fields) through F into *OUT. Returns -1, or the
 * bronze column whose value does not convert, with DETAIL ("amount
 * (금액): '12a' is not a count of minor units"). */
int txf_feed_map(const txf_feed_format *f, const txf_feed_binding *b,
                 const txf_csv_record *rec, txf_feed_mapped *out,
                 char *detail, size_t cap);
/* The processor's column that bronze column C comes from, or NULL. */
const char *txf_feed_source_of(const txf_feed_format *f, int c);

/* ---- landing (txnflow land; docs/feed.md, "Landing files") */

struct txf_store;

typedef struct txf_land_opts {
  const char *data_dir;
  txf_date day;
  const char *const *sources; /* absolute files and folders (a folder: its
                                 visible files, markers left out) */
  size_t n_sources;
  const char *const *origins; /* per file found, in name order, what the
                                 manifest names as its origin (an s3://
                                 URI); NULL: the source path */
  const txf_feed_config *feed; /* marker, stable_us, format; may be NULL */
  int move;    /* remove the sources once the batch is committed */
  int replace; /* replace a batch of other files */
  int staged;  /* the sources are downloads of ours: complete, linked */
  struct txf_store *store; /* to tell whether D was cleaned; may be NULL */
  const struct txf_project *project; /* S3 landing: publish.s3's
                                        connection settings; may be NULL */
  const txf_logger *log;
  int64_t now_us;       /* the manifest's landed.at */
  const char *crash_at; /* tests: _exit(3) at "land-staged" (before the
                           commit) or "land-committed" (after it) */
} txf_land_opts;

typedef struct txf_land_result {
  int noop;     /* the batch in place had the same files and bytes */
  int replaced; /* a batch of other files was replaced */
  txf_manifest_file *files; /* as in the manifest */
  size_t n_files;
  int64_t rows;
  uint64_t size_bytes;
} txf_land_result;

/* Land the files of O's sources as day O->day's batch: complete (each
 * file's marker exists, or sizes stay the same for feed->stable_us), read
 * through (a cut gzip or zstd stream is an error), copied (or linked) into
 * a temp dir with _manifest.json (SHA-256 and rows of each file) and
 * renamed into place under D's batch lock: a crash leaves no batch or the
 * whole batch. The same files with the same bytes are a no-op (RES->noop);
 * other files for a day that has a batch are TXF_EEXIST (naming whether D
 * was cleaned) unless O->replace. Not complete: TXF_ELOCKED (try later).
 * Caller releases RES with txf_land_result_release(). */
TXF_MUST_CHECK int txf_land_batch(const txf_land_opts *o,
                                  txf_land_result *res, txf_err *err);
void txf_land_result_release(txf_land_result *r);
/* Without landing anything: 0 when O's sources hold files whose markers
 * (when configured) are all there, with *SIG a digest of their names,
 * sizes and modification times (the same *SIG some time later: nothing
 * was being written); TXF_ENOTFOUND saying what is missing otherwise. */
TXF_MUST_CHECK int txf_land_probe(const txf_land_opts *o, uint64_t *sig,
                                  txf_err *err);
/* Is NAME a marker of pattern MARKER ("{name}.done": NAME ends like it;
 * "_SUCCESS": NAME is it; NULL: none is)? */
int txf_land_is_marker(const char *marker, const char *name);
/* Objects are downloaded whole into memory, up to this size each. */
#define TXF_LAND_S3_MAX_BYTES (UINT64_C(2) << 30)

/* Land the files right under the S3 prefix URI (s3://BUCKET/PREFIX) as
 * O->day's batch: listed with the S3 client (the connection settings of
 * O->project's publish.s3, the bucket of URI), each one's marker checked
 * (feed.marker), downloaded beside the bronze tree and landed by
 * txf_land_batch (O->sources are not used; O->move deletes the objects and
 * their markers once landed). With PROBE_ONLY nothing is downloaded: 0
 * when the files and their markers are there, *SIG (may be NULL) a digest
 * of their keys, sizes and ETags. TXF_ENOTFOUND when nothing is there or
 * a marker is missing; TXF_ENET, TXF_ECONFIG from the client. RES may be
 * NULL with PROBE_ONLY; else as txf_land_batch's. */
TXF_MUST_CHECK int txf_land_s3(const txf_land_opts *o, const char *uri,
                               int probe_only, uint64_t *sig,
                               txf_land_result *res, txf_err *err);
/* Data records of PATH read as FMT says (NULL: the bronze layout), the
 * header left out. */
TXF_MUST_CHECK int txf_land_count_rows(const char *path,
                                       const txf_feed_format *fmt,
                                       int64_t *rows, txf_err *err);
/* "90s", "5m", "2h", "500ms" for US (OUT, returned). */
const char *txf_land_duration(int64_t us, char out[32]);

#endif /* TXF_BRONZE_H */
