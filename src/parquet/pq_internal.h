/* parquet internals: the thrift compact protocol, the footer structures,
 * the RLE/bit-packed hybrid and the page codecs. Private to src/parquet
 * (and its unit tests). */
#ifndef TXF_PQ_INTERNAL_H
#define TXF_PQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "parquet/parquet.h"
#include "util/util.h"

#ifndef TXF_VERSION
#define TXF_VERSION "0.1.0"
#endif

/* Parquet enums (parquet.thrift). */
enum {
  PQT_BOOLEAN = 0,
  PQT_INT32 = 1,
  PQT_INT64 = 2,
  PQT_INT96 = 3,
  PQT_FLOAT = 4,
  PQT_DOUBLE = 5,
  PQT_BYTE_ARRAY = 6,
  PQT_FIXED_LEN_BYTE_ARRAY = 7
};
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum {
  PQC_UTF8 = 0,
  PQC_ENUM = 4,
  PQC_DECIMAL = 5,
  PQC_DATE = 6,
  PQC_TIMESTAMP_MILLIS = 9,
  PQC_TIMESTAMP_MICROS = 10,
  PQC_UINT_8 = 11,
  PQC_UINT_16 = 12,
  PQC_UINT_32 = 13,
  PQC_UINT_64 = 14,
  PQC_INT_8 = 15,
  PQC_INT_16 = 16,
  PQC_INT_32 = 17,
  PQC_INT_64 = 18,
  PQC_JSON = 19
};
enum {
  PQE_PLAIN = 0,
  PQE_PLAIN_DICTIONARY = 2,
  PQE_RLE = 3,
  PQE_BIT_PACKED = 4,
  PQE_DELTA_BINARY_PACKED = 5,
  PQE_DELTA_LENGTH_BYTE_ARRAY = 6,
  PQE_DELTA_BYTE_ARRAY = 7,
  PQE_RLE_DICTIONARY = 8,
  PQE_BYTE_STREAM_SPLIT = 9
};
enum {
  PQZ_UNCOMPRESSED = 0,
  PQZ_SNAPPY = 1,
  PQZ_GZIP = 2,
  PQZ_LZO = 3,
  PQZ_BROTLI = 4,
  PQZ_LZ4 = 5,
  PQZ_ZSTD = 6,
  PQZ_LZ4_RAW = 7
};
enum {
  PQP_DATA_PAGE = 0,
  PQP_INDEX_PAGE = 1,
  PQP_DICTIONARY_PAGE = 2,
  PQP_DATA_PAGE_V2 = 3
};
/* LogicalType union members we look at. */
enum {
  PQL_NONE = 0,
  PQL_STRING = 1,
  PQL_ENUM = 4,
  PQL_DECIMAL = 5,
  PQL_DATE = 6,
  PQL_TIME = 7,
  PQL_TIMESTAMP = 8,
  PQL_INTEGER = 10,
  PQL_JSON = 12,
  PQL_OTHER = 99
};
enum { PQU_NONE = 0, PQU_MILLIS = 1, PQU_MICROS = 2, PQU_NANOS = 3 };

const char *txf_pq_type_name(int t);
const char *txf_pq_encoding_name(int e);
const char *txf_pq_codec_name(int c);
const char *txf_pq_txf_type_name(txf_pq_type t);

/* ------------------------------------------------------------- thrift */

/* Compact protocol types. */
enum {
  TC_STOP = 0,
  TC_TRUE = 1,
  TC_FALSE = 2,
  TC_BYTE = 3,
  TC_I16 = 4,
  TC_I32 = 5,
  TC_I64 = 6,
  TC_DOUBLE = 7,
  TC_BINARY = 8,
  TC_LIST = 9,
  TC_SET = 10,
  TC_MAP = 11,
  TC_STRUCT = 12
};

/* Encoder: appends to an uncapped txf_buf. Field ids are tracked per
 * struct nesting level for the delta encoding. */
#define TW_MAX_DEPTH 16
typedef struct tw {
  txf_buf *b;
  int depth;
  int16_t last[TW_MAX_DEPTH];
} tw;

void txf_pq_tw_init(tw *w, txf_buf *b);
void txf_pq_tw_struct_begin(tw *w);
void txf_pq_tw_struct_end(tw *w); /* writes STOP */
void txf_pq_tw_field(tw *w, int16_t id, int type);
void txf_pq_tw_i32(tw *w, int16_t id, int32_t v);
void txf_pq_tw_i64(tw *w, int16_t id, int64_t v);
void txf_pq_tw_bool(tw *w, int16_t id, int v);
void txf_pq_tw_binary(tw *w, int16_t id, const void *p, size_t n);
void txf_pq_tw_string(tw *w, int16_t id, const char *s);
void txf_pq_tw_list_begin(tw *w, int16_t id, int elem_type, size_t n);
void txf_pq_tw_varint(tw *w, uint64_t v);
void txf_pq_tw_zigzag(tw *w, int64_t v);
/* A struct field: txf_pq_tw_field(id, TC_STRUCT) then
 * txf_pq_tw_struct_begin. */
void txf_pq_tw_struct_field(tw *w, int16_t id);

/* ------------------------------------------------------------- footer */

typedef struct pq_stats {
  const uint8_t *min, *max; /* borrowed from the footer/page header */
  uint32_t min_len, max_len;
  int has_min, has_max;
  int has_null_count;
  int64_t null_count;
} pq_stats;

typedef struct pq_schema_el {
  char *name;
  int has_type;
  int type;
  int type_length;
  int repetition;
  int has_repetition;
  int num_children;
  int converted; /* -1 = none */
  int scale, precision;
  int logical;            /* PQL_* */
  int logical_id;         /* the LogicalType member's field id (0: none) */
  int l_scale, l_precision;
  int l_adjusted, l_unit; /* TIMESTAMP */
  int l_bits, l_signed;   /* INTEGER */
} pq_schema_el;

typedef struct pq_colmeta {
  int type;
  uint32_t encodings; /* bit mask of 1 << PQE_* (bits 0..31) */
  char *path;         /* path_in_schema joined with '.' */
  int path_len;
  int codec;
  int64_t num_values;
  int64_t total_uncompressed;
  int64_t total_compressed;
  int64_t data_page_offset;
  int has_dict_offset;
  int64_t dict_page_offset;
  int has_stats;
  pq_stats stats;
} pq_colmeta;

typedef struct pq_rowgroup {
  pq_colmeta *cols;
  uint32_t n_cols;
  int64_t num_rows;
  int64_t total_byte_size;
  int64_t total_compressed; /* 0 when absent */
} pq_rowgroup;

typedef struct pq_kv {
  char *key;
  char *value; /* NULL when absent */
} pq_kv;

typedef struct pq_filemeta {
  int32_t version;
  pq_schema_el *schema;
  uint32_t n_schema;
  int64_t num_rows;
  pq_rowgroup *rgs;
  uint32_t n_rgs;
  pq_kv *kv;
  uint32_t n_kv;
  char *created_by;
} pq_filemeta;

/* Parse FileMetaData from N bytes at P (which must outlive M: statistics
 * point into it). On failure *M is released and ERR names the offset. */
TXF_MUST_CHECK int txf_pq_filemeta_parse(pq_filemeta *m, const void *p,
                                         size_t n, txf_err *err);
void txf_pq_filemeta_release(pq_filemeta *m);

typedef struct pq_page_header {
  int type;
  int32_t uncompressed_size;
  int32_t compressed_size;
  int32_t num_values;
  int encoding;
  int def_encoding;
  /* v2 */
  int32_t num_nulls;
  int32_t num_rows;
  int32_t def_len;
  int32_t rep_len;
  int is_compressed;
  int has_stats;
  pq_stats stats;
  int has_crc;  /* field 4 was present */
  uint32_t crc; /* CRC-32 of the page's bytes after the header */
} pq_page_header;

/* Parse a PageHeader at P (at most N bytes); *used gets its length. */
TXF_MUST_CHECK int txf_pq_page_header_parse(pq_page_header *h, const void *p,
                                            size_t n, size_t *used,
                                            txf_err *err);

/* The reader's footer and path (for describe.c). */
const pq_filemeta *txf_pq_reader_meta(const txf_pq_reader *r);
const char *txf_pq_reader_path(const txf_pq_reader *r);
/* The bytes of a PLAIN value of physical type PTYPE: 4 (INT32, FLOAT), 8
 * (INT64, DOUBLE), else 0 (not a fixed-width number). */
int txf_pq_plain_width(int ptype);
/* Decode the PLAIN value at P (txf_pq_plain_width(PTYPE) bytes) into *V
 * for a column of TYPE; an INT64 is multiplied by TS_MUL (1000 for
 * timestamps in milliseconds, else 1). Returns 0, or -1 when that
 * overflows or PTYPE is not a fixed-width number. */
int txf_pq_plain_fixed(int ptype, txf_pq_type type, int ts_mul,
                       const uint8_t *p, txf_pq_value *v);
/* Lower the memory the decoded pages and dictionaries of all projected
 * columns may hold at once (1 GiB by default); for tests. */
void txf_pq_reader_set_memory_limit(txf_pq_reader *r, size_t bytes);

/* ------------------------------------------------------------- checksums */

/* CRC-32 (gzip's) of N bytes at P, continuing CRC (0 to start): what
 * PageHeader.crc holds for the page's bytes after its header. */
uint32_t txf_pq_crc32(uint32_t crc, const void *p, size_t n);

/* ------------------------------------------------------------- encodings */

/* Bits needed to hold V (0 for 0). */
static inline int pq_bit_width(uint64_t v) {
  return v ? 64 - __builtin_clzll(v) : 0;
}
/* Append V as an unsigned LEB128 varint (the RLE hybrid's headers, the
 * thrift compact protocol's integers). */
void txf_pq_varint_put(txf_buf *b, uint64_t v);
/* Append the RLE/bit-packed hybrid encoding of N values of BIT_WIDTH
 * (1..32) to B (no length prefix). */
void txf_pq_rle_encode(txf_buf *b, const uint32_t *v, size_t n, int bit_width);
/* Same for one byte per value (definition levels, booleans). */
void txf_pq_rle_encode_u8(txf_buf *b, const uint8_t *v, size_t n,
                          int bit_width);
/* Decode exactly N values of BIT_WIDTH (0..32) from P[0..len) into OUT.
 * Returns 0, or -1 when the input is short or malformed. */
int txf_pq_rle_decode(const uint8_t *p, size_t len, int bit_width,
                      uint32_t *out, size_t n);
/* DELTA_BINARY_PACKED: decode exactly N values from P[0..len) into OUT;
 * *used gets the bytes consumed. -1 on malformed input. */
int txf_pq_delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t n,
                        size_t *used);

/* Compression into OUT (reset first). */
typedef struct pq_codec_ctx {
  void *zc; /* ZSTD_CCtx */
  void *zd; /* ZSTD_DCtx */
  int zstd_level;
} pq_codec_ctx;
void txf_pq_codec_release(pq_codec_ctx *c);
void txf_pq_compress(pq_codec_ctx *c, int codec, const void *in, size_t n,
                     txf_buf *out);
/* 0 if N bytes of CODEC data at IN cannot decompress to WANT bytes
 * (checked from the frame headers, before anything is allocated). */
int txf_pq_decompress_plausible(int codec, const void *in, size_t n,
                                size_t want);
/* Decompress exactly WANT bytes; -1 (with a static reason) on failure. */
int txf_pq_decompress(pq_codec_ctx *c, int codec, const void *in, size_t n,
                      void *out, size_t want, const char **why);

/* ------------------------------------------------------------- threads */

/* What one thread needs to encode a page: scratch buffers and codec
 * contexts. Each pool worker owns one; a writer owns one for the thread
 * that drives it. */
typedef struct pq_ctx {
  txf_buf scratch, cbuf, hdr, levels;
  pq_codec_ctx codec;
  uint32_t hashes[4096]; /* the writer's dictionary hashes of one slab */
} pq_ctx;
void txf_pq_ctx_init(pq_ctx *c);
void txf_pq_ctx_release(pq_ctx *c);

typedef void (*pq_task_fn)(void *arg, pq_ctx *ctx);
/* Queue FN(ARG, worker's ctx) on the pool; it runs on some worker or on a
 * thread in txf_pq_pool_help. */
void txf_pq_pool_submit(txf_pq_pool *p, pq_task_fn fn, void *arg);
/* Run one queued task on this thread with CTX: 1 if there was one. */
int txf_pq_pool_help(txf_pq_pool *p, pq_ctx *ctx);
/* 1 when W's bytes go to its file on a write-behind thread of its own
 * (a writer with a pool), 0 when on the caller's (tests). */
int txf_pq_writer_writes_behind(const txf_pq_writer *w);

#endif /* TXF_PQ_INTERNAL_H */
