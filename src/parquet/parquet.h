/* parquet: txnflow's own Parquet writer and reader (flat schemas).
 *
 * CONTRACT DRAFT (foundation): the signatures below are what clean, models
 * and publish code against. The parquet issue implements them; it may add
 * calls (e.g. a columnar batch API for speed) but changes to these need the
 * users updated in the same change. See docs/parquet.md. */
#ifndef TXF_PARQUET_H
#define TXF_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef enum {
  TXF_PQ_BOOLEAN,      /* BOOLEAN */
  TXF_PQ_INT32,        /* INT32 */
  TXF_PQ_INT64,        /* INT64 */
  TXF_PQ_DOUBLE,       /* DOUBLE */
  TXF_PQ_STRING,       /* BYTE_ARRAY, STRING logical type (UTF-8) */
  TXF_PQ_DATE,         /* INT32 days since epoch, DATE logical type */
  TXF_PQ_TIMESTAMP_US, /* INT64 micros, TIMESTAMP(isAdjustedToUTC, MICROS) */
  TXF_PQ_DECIMAL       /* INT64 unscaled, DECIMAL(precision<=18, scale) */
} txf_pq_type;

typedef struct txf_pq_column {
  const char *name;
  txf_pq_type type;
  int optional;  /* 1: OPTIONAL (may hold nulls), 0: REQUIRED */
  int precision; /* DECIMAL only: 1..18 */
  int scale;     /* DECIMAL only: 0..precision */
} txf_pq_column;

typedef struct txf_pq_schema {
  const txf_pq_column *cols;
  size_t n_cols;
} txf_pq_schema;

/* One value. Which member is read follows the column's type:
 * BOOLEAN b; INT32/DATE i32; INT64/TIMESTAMP_US/DECIMAL i64 (DECIMAL as
 * the unscaled integer: 12.34 with scale 2 is 1234); DOUBLE f64; STRING
 * str and len (not NUL-terminated; may contain NULs). 16 bytes: the
 * string's length sits beside is_null, outside the union, so a decoded
 * page of values is a third smaller than with a (pointer, length) pair
 * in the union. */
typedef struct txf_pq_value {
  union {
    int b;
    int32_t i32;
    int64_t i64;
    double f64;
    const char *str;
  } v;
  uint32_t len; /* STRING only: bytes at v.str */
  int is_null;
} txf_pq_value;

typedef enum {
  TXF_PQ_UNCOMPRESSED,
  TXF_PQ_SNAPPY,
  TXF_PQ_ZSTD
} txf_pq_codec;

/* Encoding threads, shared by any number of writers (and readers): a
 * writer given a pool encodes its column chunks on the pool's threads
 * while the thread that adds rows goes on; the bytes are the same as
 * without one. */
typedef struct txf_pq_pool txf_pq_pool;
/* Start N_THREADS (>= 1) threads; NULL when none could be started (the
 * caller then works without a pool). Free with txf_pq_pool_free after
 * every writer and reader using it is freed. */
txf_pq_pool *txf_pq_pool_new(int n_threads);
void txf_pq_pool_free(txf_pq_pool *p); /* NULL: nothing */
int txf_pq_pool_threads(const txf_pq_pool *p); /* 0 for NULL */

typedef struct txf_pq_writer_opts {
  txf_pq_codec codec;     /* default (zeroed opts): UNCOMPRESSED */
  int zstd_level;         /* 0 = txnflow's default, 1 (on silver data as
                           * small as 3 and faster; see docs/parquet.md) */
  size_t row_group_bytes; /* target uncompressed row group size; 0 = 128 MiB */
  size_t page_bytes;      /* target data page size; 0 = 1 MiB */
  int no_dictionary;      /* 1: PLAIN only */
  /* Borrowed, NULL-terminated, may be NULL: names of STRING columns whose
   * values repeat within a row group though a page's look distinct (the
   * ids of customers, cards, merchants: a page of a day's rows holds
   * mostly different cards, a row group each card about three times).
   * Their dictionary is kept past the first page's cardinality test and
   * up to 8 MiB of entries instead of 1 MiB (docs/parquet.md). */
  const char *const *repeating;
  int data_page_v2;       /* 1: data page v2 headers (levels stored
                           * uncompressed before the compressed values);
                           * 0: v1, what silver uses */
  /* Key-value metadata written into the footer after the writer's own
   * ("created_by" is always set): KV[0]=key0, KV[1]=value0, ..., NULL. */
  const char *const *kv;
  /* Borrowed; NULL: every column is encoded on the thread that adds the
   * rows. With a pool the calls below are still made from one thread. */
  txf_pq_pool *pool;
  /* Borrowed, may be NULL: every byte of the file is also fed to it, in
   * order (the caller initializes it and reads the digest after finish),
   * so a checksum costs no second read of the file. */
  txf_sha256 *sha256;
  /* 1: finish starts the file's writeback but does not fsync it: the
   * caller makes it durable (clean syncs its whole staging once before
   * its commit point, instead of waiting for the disk file by file). */
  int defer_sync;
} txf_pq_writer_opts;

typedef struct txf_pq_writer txf_pq_writer;

/* Create PATH (which must not exist) for rows of SCHEMA (copied). On
 * success *out must be finished or freed; on failure nothing is left.
 * OPTS may be NULL for defaults. */
TXF_MUST_CHECK int txf_pq_writer_open(txf_pq_writer **out, const char *path,
                                      const txf_pq_schema *schema,
                                      const txf_pq_writer_opts *opts,
                                      txf_err *err);
/* Append one row: VALUES has one entry per column, copied. A null in a
 * REQUIRED column is TXF_EUSAGE. */
TXF_MUST_CHECK int txf_pq_writer_add_row(txf_pq_writer *w,
                                         const txf_pq_value *values,
                                         txf_err *err);
/* Append N_ROWS rows stored row-major in VALUES (N_ROWS * n_cols
 * entries); the same as calling txf_pq_writer_add_row for each. Stops at
 * the first bad row (earlier rows stay added). */
TXF_MUST_CHECK int txf_pq_writer_add_rows(txf_pq_writer *w,
                                          const txf_pq_value *values,
                                          size_t n_rows, txf_err *err);
/* Make F a follower of LEAD for their first N_SHARED columns (the same
 * names, types and nullability in both; the same codec, zstd level and
 * page options): F does not encode those columns but writes the very
 * column chunks LEAD encoded (pages, dictionary, statistics), and ends
 * its row groups where LEAD ends its own (F's row_group_bytes is not
 * used). Call right after opening both. The caller then adds every row
 * to LEAD and the same row to F after it (F's first N_SHARED values are
 * not read: they are LEAD's), and finishes LEAD before F; a row F gets
 * that LEAD did not, or fewer rows in F at its finish, is TXF_EUSAGE.
 * Used where one file's columns are a copy of another's (a change log
 * of inserts beside its partition): the encoding is done once. Either
 * may be freed first. */
TXF_MUST_CHECK int txf_pq_writer_follow(txf_pq_writer *f, txf_pq_writer *lead,
                                        size_t n_shared, txf_err *err);
/* Flush the last row group, write the footer, fsync (see defer_sync)
 * and close. The file is complete only after this returns 0. */
TXF_MUST_CHECK int txf_pq_writer_finish(txf_pq_writer *w, txf_err *err);
/* Free W; if it was not finished the partial file is removed. */
void txf_pq_writer_free(txf_pq_writer *w);

typedef struct txf_pq_reader txf_pq_reader;

/* Open PATH and read its footer. A file that is not Parquet, is
 * truncated or corrupt, or uses something unsupported is TXF_ECORRUPT /
 * TXF_EUNSUPPORTED with a message naming what and where. */
TXF_MUST_CHECK int txf_pq_reader_open(txf_pq_reader **out, const char *path,
                                      txf_err *err);
void txf_pq_reader_free(txf_pq_reader *r);
/* The file's schema (borrowed for the reader's lifetime). */
const txf_pq_schema *txf_pq_reader_schema(const txf_pq_reader *r);
int64_t txf_pq_reader_num_rows(const txf_pq_reader *r);
/* Read only these columns (by name), in this order; call before the first
 * txf_pq_reader_next. Unknown names are TXF_ENOTFOUND. */
TXF_MUST_CHECK int txf_pq_reader_project(txf_pq_reader *r,
                                         const char *const *names, size_t n,
                                         txf_err *err);
/* Read the next row into VALUES (one per projected column). *has_row is 0
 * at the end. Strings are borrowed until the next call. */
TXF_MUST_CHECK int txf_pq_reader_next(txf_pq_reader *r, txf_pq_value *values,
                                      int *has_row, txf_err *err);
/* Key first: the next row's value of projected column KEY only, into *V
 * (*has_row 0 at the end). The row's other values are made only if
 * txf_pq_reader_rest asks for them before the next call: a scan for a
 * few rows by their key makes the values of those rows alone. A reader
 * read so is read so to its end (always the same KEY), and is not then
 * read by txf_pq_reader_next. Strings are borrowed as there. */
TXF_MUST_CHECK int txf_pq_reader_next_key(txf_pq_reader *r, size_t key,
                                          txf_pq_value *v, int *has_row,
                                          txf_err *err);
/* The whole row of the last txf_pq_reader_next_key into VALUES (one per
 * projected column, the key's too). */
TXF_MUST_CHECK int txf_pq_reader_rest(txf_pq_reader *r, txf_pq_value *values,
                                      txf_err *err);
/* Key-value metadata: the value of KEY, or NULL (borrowed). */
const char *txf_pq_reader_kv(const txf_pq_reader *r, const char *key);


/* Describe the file for people (AS_JSON 0) or programs (AS_JSON 1):
 * schema, row groups, each column chunk's codec, encodings, sizes and
 * statistics, and the key-value metadata. Appended to OUT. */
TXF_MUST_CHECK int txf_pq_reader_describe(const txf_pq_reader *r, int as_json,
                                          txf_buf *out, txf_err *err);

/* The column's type for people: "STRING", "TIMESTAMP", "DATE",
 * "DECIMAL(18,2)", ... (BUF of N bytes holds it; 32 are enough). */
const char *txf_pq_column_type_name(const txf_pq_column *col, char *buf,
                                    size_t n);

/* Append V of column COL as text: NULL appends nothing; BOOLEAN
 * true/false; DECIMAL with its scale ("-12.34"); DATE "YYYY-MM-DD";
 * TIMESTAMP "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"; DOUBLE in the shortest form
 * that reads back exactly; STRING as is. */
void txf_pq_value_format(const txf_pq_column *col, const txf_pq_value *v,
                         txf_buf *out);

#endif /* TXF_PARQUET_H */
