/* The Parquet reader: footer validation, column projection, row group at a
 * time, one decoded page per column at a time. Every length and offset
 * read from the file is checked against what is actually there before it
 * is used; anything else is TXF_ECORRUPT or TXF_EUNSUPPORTED with the row
 * group, column, page and byte offset in the message. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet/pq_internal.h"

/* A decoded page is an array of values: their size is its memory. */
_Static_assert(sizeof(txf_pq_value) == 16, "a decoded value is 16 bytes");

/* Limits that keep a hostile file from making us allocate without bound. */
#define MAX_FOOTER_BYTES ((size_t)64 << 20)
#define MAX_PAGE_BYTES ((size_t)256 << 20)
#define MAX_PAGE_VALUES ((size_t)1 << 22)
/* DELTA_BYTE_ARRAY rebuilds each string from the previous one's prefix,
 * so a few bytes can claim gigabytes: a page may rebuild at most
 * DBA_RATIO times its own uncompressed size (at least DBA_MIN_BYTES, at
 * most MAX_PAGE_BYTES). */
#define DBA_RATIO 64
#define DBA_MIN_BYTES ((size_t)16 << 20)
/* A run of the RLE hybrid claims any number of values in a few bytes,
 * and every projected column holds one decoded page (and its dictionary)
 * at once: together they may use at most this much memory. */
#define MAX_DECODED_BYTES ((size_t)1 << 30)

/* The little-endian 32-bit number at P (a footer length, a PLAIN string's
 * length, a levels length). */
static inline uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

typedef struct rcol {
  int leaf;   /* index among the file's columns */
  int ptype;  /* physical type */
  int ts_mul; /* TIMESTAMP MILLIS: 1000, else 1 */
  int opt;
  const char *name;
  txf_pq_type type;

  /* current column chunk */
  uint8_t *chunk;
  size_t chunk_len, chunk_cap;
  size_t pos;
  uint64_t chunk_off; /* file offset of chunk[0] */
  int64_t values_left;
  int codec;
  int page_no;
  int has_dict;
  uint8_t *dict_buf;
  txf_pq_value *dict;
  uint32_t n_dict;

  /* current page: its rows go out through a window of decoded values,
   * pv[wi..wn); page_left rows are not yet in it. A PLAIN or dictionary
   * page (every page silver has) is decoded a window at a time (lazy),
   * any other page into one window of all its rows */
  uint8_t *page_buf;
  size_t page_cap;
  txf_pq_value *pv;
  size_t pv_cap;
  size_t wi, wn, page_left;
  int lazy;             /* 0, PQE_PLAIN or PQE_RLE_DICTIONARY */
  size_t lrow;          /* lazy: the page's next row */
  const uint8_t *lvals; /* lazy PLAIN: the values */
  size_t lat; /* lazy: the next value's offset (PLAIN) or index */
  int64_t rg_row; /* key-first reading: the row group's rows this column
                     has handed out or skipped */
  uint8_t *lev; /* definition levels of the page */
  size_t lev_cap;
  uint32_t *tmp; /* levels / indices */
  size_t tmp_cap;
  int64_t *tmp64;
  size_t tmp64_cap;
  txf_buf dba; /* DELTA_BYTE_ARRAY reconstructed strings */
  size_t dba_limit; /* bytes the current page may rebuild into DBA */
  size_t dict_bytes; /* memory held by the dictionary */
} rcol;

struct txf_pq_reader {
  char *path;
  int fd;
  uint64_t size;
  uint8_t *footer;
  pq_filemeta m;
  txf_pq_schema schema;
  txf_pq_column *cols;
  int *ptypes;
  int *ts_mul;
  rcol *rc;
  size_t n_rc;
  int started;
  uint32_t rg;     /* current row group */
  int64_t rg_left; /* rows left in it */
  int rg_loaded;
  int failed; /* a read failed: the position is undefined, stop */
  int keyed;  /* read key first (txf_pq_reader_next_key) */
  size_t key; /* that key's projected column */
  int64_t key_row;   /* the key's row in the row group (from 1; 0: none) */
  txf_pq_value key_v; /* its value */
  int key_rest;       /* its row's rest was read */
  size_t mem_limit; /* MAX_DECODED_BYTES unless a test lowers it */
  pq_codec_ctx codec;
};

/* ------------------------------------------------------------- open */

static int read_at(txf_pq_reader *r, void *buf, size_t n, uint64_t off,
                   txf_err *err) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(r->fd, (char *)buf + got, n - got, (off_t)(off + got));
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return txf_err_errno(err, TXF_EIO, "%s: read at offset %" PRIu64,
                           r->path, off + got);
    }
    if (k == 0)
      return txf_err_set(err, TXF_ECORRUPT,
                         "%s: file shrank while reading (offset %" PRIu64 ")",
                         r->path, off + got);
    got += (size_t)k;
  }
  return 0;
}

/* The annotation of E for people: "logical type TIME(MICROS)",
 * "converted type UINT_64", or "no logical type". */
static const char *annotation_name(const pq_schema_el *e, char *buf,
                                   size_t n) {
  static const char *const lg[] = {
      NULL,      "STRING", "MAP",     "LIST",     "ENUM",    "DECIMAL",
      "DATE",    "TIME",   "TIMESTAMP", NULL,     "INTEGER", "UNKNOWN",
      "JSON",    "BSON",   "UUID",    "FLOAT16",  "VARIANT", "GEOMETRY",
      "GEOGRAPHY"};
  static const char *const cv[] = {
      "UTF8",    "MAP",      "MAP_KEY_VALUE",    "LIST",
      "ENUM",    "DECIMAL",  "DATE",             "TIME_MILLIS",
      "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS", "UINT_8",
      "UINT_16", "UINT_32",  "UINT_64",          "INT_8",
      "INT_16",  "INT_32",   "INT_64",           "JSON",
      "BSON",    "INTERVAL"};
  static const char *const unit[] = {"?", "MILLIS", "MICROS", "NANOS"};
  int id = e->logical_id;
  if (e->logical != PQL_NONE) {
    const char *name = id > 0 && id < (int)TXF_ARRAY_LEN(lg) && lg[id]
                           ? lg[id]
                           : NULL;
    if (!name)
      snprintf(buf, n, "logical type #%d", id);
    else if (id == PQL_TIME || id == PQL_TIMESTAMP)
      snprintf(buf, n, "logical type %s(%s%s)", name,
               unit[e->l_unit >= 0 && e->l_unit <= 3 ? e->l_unit : 0],
               e->l_adjusted ? ", UTC" : "");
    else if (id == PQL_INTEGER)
      snprintf(buf, n, "logical type INTEGER(%d, %s)", e->l_bits,
               e->l_signed ? "signed" : "unsigned");
    else
      snprintf(buf, n, "logical type %s", name);
  } else if (e->converted >= 0 && e->converted < (int)TXF_ARRAY_LEN(cv)) {
    snprintf(buf, n, "converted type %s", cv[e->converted]);
  } else if (e->converted != -1) {
    snprintf(buf, n, "converted type #%d", e->converted);
  } else {
    snprintf(buf, n, "no logical type");
  }
  return buf;
}

/* C as a DECIMAL stored in integers of up to MAX_PRECISION digits; BAD
 * explains a precision or scale out of range. */
static int map_decimal(txf_pq_column *c, int max_precision, const char *bad,
                       const char **why) {
  if (c->precision < 1 || c->precision > max_precision || c->scale < 0 ||
      c->scale > c->precision) {
    *why = bad;
    return TXF_ECORRUPT;
  }
  c->type = TXF_PQ_DECIMAL;
  return 0;
}

/* C as TYPE, an INTEGER logical type of BITS: unsigned ones of all BITS do
 * not fit (UNSIGNED explains). */
static int map_integer(const pq_schema_el *e, txf_pq_column *c, int bits,
                       txf_pq_type type, const char *unsigned_,
                       const char **why) {
  if (!e->l_signed && e->l_bits >= bits) {
    *why = unsigned_;
    return TXF_EUNSUPPORTED;
  }
  c->type = type;
  return 0;
}

/* Map a leaf to our type, or explain why not. */
static int map_type(const pq_schema_el *e, txf_pq_column *c, int *ts_mul,
                    const char **why) {
  int lg = e->logical, cv = e->converted;
  *ts_mul = 1;
  c->precision = c->scale = 0;
  int is_dec = lg == PQL_DECIMAL || cv == PQC_DECIMAL;
  if (is_dec) {
    c->precision = lg == PQL_DECIMAL ? e->l_precision : e->precision;
    c->scale = lg == PQL_DECIMAL ? e->l_scale : e->scale;
  }
  switch (e->type) {
  case PQT_BOOLEAN:
  case PQT_FLOAT:
  case PQT_DOUBLE:
    /* no annotation fits these */
    if (lg != PQL_NONE || cv != -1)
      break;
    c->type = e->type == PQT_BOOLEAN ? TXF_PQ_BOOLEAN : TXF_PQ_DOUBLE;
    return 0;
  case PQT_INT32:
    if (is_dec)
      return map_decimal(c, 9, "DECIMAL on INT32 with a bad precision or scale",
                         why);
    if (lg == PQL_DATE || cv == PQC_DATE) {
      c->type = TXF_PQ_DATE;
      return 0;
    }
    if (lg == PQL_INTEGER)
      return map_integer(e, c, 32, TXF_PQ_INT32,
                         "unsigned 32-bit integers are not supported", why);
    if (lg == PQL_NONE &&
        (cv == -1 || cv == PQC_INT_8 || cv == PQC_INT_16 ||
         cv == PQC_INT_32 || cv == PQC_UINT_8 || cv == PQC_UINT_16)) {
      c->type = TXF_PQ_INT32;
      return 0;
    }
    break;
  case PQT_INT64: {
    if (is_dec)
      return map_decimal(c, 18,
                         "DECIMAL on INT64 with a bad precision or scale", why);
    /* A timestamp's unit, from the logical type or the converted one. */
    int unit = lg == PQL_TIMESTAMP                         ? e->l_unit
               : lg == PQL_NONE && cv == PQC_TIMESTAMP_MICROS ? PQU_MICROS
               : lg == PQL_NONE && cv == PQC_TIMESTAMP_MILLIS ? PQU_MILLIS
                                                              : -1;
    if (unit == PQU_MICROS || unit == PQU_MILLIS) {
      c->type = TXF_PQ_TIMESTAMP_US;
      *ts_mul = unit == PQU_MILLIS ? 1000 : 1;
      return 0;
    }
    if (lg == PQL_TIMESTAMP) {
      *why = "TIMESTAMP in nanoseconds is not supported";
      return TXF_EUNSUPPORTED;
    }
    if (lg == PQL_INTEGER)
      return map_integer(e, c, 64, TXF_PQ_INT64,
                         "unsigned 64-bit integers are not supported", why);
    if (lg == PQL_NONE && (cv == -1 || cv == PQC_INT_64 || cv == PQC_UINT_32)) {
      c->type = TXF_PQ_INT64;
      return 0;
    }
    break;
  }
  case PQT_BYTE_ARRAY:
    if (lg == PQL_STRING || lg == PQL_ENUM || lg == PQL_JSON ||
        (lg == PQL_NONE && (cv == -1 || cv == PQC_UTF8 || cv == PQC_ENUM ||
                            cv == PQC_JSON))) {
      c->type = TXF_PQ_STRING;
      return 0;
    }
    break;
  case PQT_INT96:
    *why = "INT96 timestamps are not supported";
    return TXF_EUNSUPPORTED;
  case PQT_FIXED_LEN_BYTE_ARRAY:
    *why = NULL; /* wide DECIMAL, UUID, INTERVAL, ...: named by caller */
    return TXF_EUNSUPPORTED;
  default:
    *why = "unknown physical type";
    return TXF_ECORRUPT;
  }
  *why = NULL; /* the caller names the annotation */
  return TXF_EUNSUPPORTED;
}

static int validate(txf_pq_reader *r, txf_err *err) {
  pq_filemeta *m = &r->m;
  const char *p = r->path;
  if (m->n_schema < 1)
    return txf_err_set(err, TXF_ECORRUPT, "%s: empty schema", p);
  const pq_schema_el *root = &m->schema[0];
  if (root->has_type)
    return txf_err_set(err, TXF_ECORRUPT, "%s: schema root has a type", p);
  uint32_t n = m->n_schema - 1;
  if (root->num_children < 0 || (uint32_t)root->num_children != n)
    return txf_err_set(err, TXF_EUNSUPPORTED,
                       "%s: nested schema (root has %d children, %u "
                       "elements follow); only flat schemas are supported",
                       p, root->num_children, n);
  r->cols = txf_xcalloc(n ? n : 1, sizeof *r->cols);
  r->ptypes = txf_xcalloc(n ? n : 1, sizeof *r->ptypes);
  r->ts_mul = txf_xcalloc(n ? n : 1, sizeof *r->ts_mul);
  r->schema.cols = r->cols;
  r->schema.n_cols = n;
  for (uint32_t i = 0; i < n; i++) {
    const pq_schema_el *e = &m->schema[i + 1];
    if (e->num_children != 0 || !e->has_type)
      return txf_err_set(err, TXF_EUNSUPPORTED,
                         "%s: column '%s': nested groups are not supported", p,
                         e->name);
    if (e->repetition == PQ_REPEATED)
      return txf_err_set(err, TXF_EUNSUPPORTED,
                         "%s: column '%s': REPEATED columns are not supported",
                         p, e->name);
    if (!e->has_repetition || e->repetition < 0 || e->repetition > 2)
      return txf_err_set(err, TXF_ECORRUPT,
                         "%s: column '%s': missing or bad repetition type", p,
                         e->name);
    for (uint32_t j = 0; j < i; j++)
      if (!strcmp(m->schema[j + 1].name, e->name))
        return txf_err_set(err, TXF_ECORRUPT, "%s: duplicate column '%s'", p,
                           e->name);
    const char *why = "";
    int rc = map_type(e, &r->cols[i], &r->ts_mul[i], &why);
    if (rc && !why) {
      char an[64];
      if (e->logical == PQL_NONE && e->converted == -1)
        return txf_err_set(err, rc,
                           "%s: column '%s' (%s): %s is not "
                           "supported",
                           p, e->name, txf_pq_type_name(e->type),
                           txf_pq_type_name(e->type));
      return txf_err_set(
          err, rc, "%s: column '%s' (%s): %s on %s is not supported", p,
          e->name, txf_pq_type_name(e->type), annotation_name(e, an, sizeof an),
          txf_pq_type_name(e->type));
    }
    if (rc)
      return txf_err_set(err, rc, "%s: column '%s' (%s): %s", p, e->name,
                         txf_pq_type_name(e->type), why);
    r->cols[i].name = e->name;
    r->cols[i].optional = e->repetition == PQ_OPTIONAL;
    r->ptypes[i] = e->type;
  }
  if (m->num_rows < 0)
    return txf_err_set(err, TXF_ECORRUPT, "%s: negative num_rows", p);
  int64_t total = 0;
  for (uint32_t g = 0; g < m->n_rgs; g++) {
    pq_rowgroup *rg = &m->rgs[g];
    if (rg->n_cols != n)
      return txf_err_set(err, TXF_ECORRUPT,
                         "%s: row group %u has %u columns, schema has %u", p,
                         g, rg->n_cols, n);
    if (rg->num_rows < 0 || rg->num_rows > INT64_MAX - total)
      return txf_err_set(err, TXF_ECORRUPT,
                         "%s: row group %u: bad num_rows %" PRId64, p, g,
                         rg->num_rows);
    total += rg->num_rows;
    for (uint32_t i = 0; i < n; i++) {
      pq_colmeta *c = &rg->cols[i];
      const char *name = r->cols[i].name;
      if (c->type != r->ptypes[i])
        return txf_err_set(err, TXF_ECORRUPT,
                           "%s: row group %u column '%s': chunk type %s, "
                           "schema type %s",
                           p, g, name, txf_pq_type_name(c->type),
                           txf_pq_type_name(r->ptypes[i]));
      if (c->path_len != 1 || !c->path || strcmp(c->path, name))
        return txf_err_set(err, TXF_ECORRUPT,
                           "%s: row group %u column %u: path '%s' is not "
                           "'%s'",
                           p, g, i, c->path ? c->path : "", name);
      if (c->codec != PQZ_UNCOMPRESSED && c->codec != PQZ_SNAPPY &&
          c->codec != PQZ_ZSTD)
        return txf_err_set(err, TXF_EUNSUPPORTED,
                           "%s: row group %u column '%s': compression %s is "
                           "not supported (uncompressed, snappy, zstd are)",
                           p, g, name, txf_pq_codec_name(c->codec));
      if (c->num_values != rg->num_rows)
        return txf_err_set(err, TXF_ECORRUPT,
                           "%s: row group %u column '%s': %" PRId64
                           " values for %" PRId64 " rows",
                           p, g, name, c->num_values, rg->num_rows);
      /* A dictionary offset below the first byte of data is a known quirk
       * of some writers for "no dictionary". */
      if (c->has_dict_offset && c->dict_page_offset < 4)
        c->has_dict_offset = 0;
    }
  }
  if (total != m->num_rows)
    return txf_err_set(err, TXF_ECORRUPT,
                       "%s: row groups hold %" PRId64 " rows, footer says %" PRId64,
                       p, total, m->num_rows);
  return 0;
}

static void rcol_release(rcol *c) {
  TXF_FREE_ALL(c->chunk, c->dict_buf, c->dict, c->page_buf, c->pv, c->tmp,
               c->lev, c->tmp64);
  txf_buf_release(&c->dba);
}

void txf_pq_reader_free(txf_pq_reader *r) {
  if (!r)
    return;
  if (r->fd >= 0)
    close(r->fd);
  for (size_t i = 0; i < r->n_rc; i++)
    rcol_release(&r->rc[i]);
  TXF_FREE_ALL(r->rc, r->cols, r->ptypes, r->ts_mul);
  txf_pq_filemeta_release(&r->m);
  free(r->footer);
  txf_pq_codec_release(&r->codec);
  free(r->path);
  free(r);
}

static void setup_projection(txf_pq_reader *r, const int *leaves, size_t n) {
  for (size_t i = 0; i < r->n_rc; i++)
    rcol_release(&r->rc[i]);
  free(r->rc);
  r->rc = txf_xcalloc(n ? n : 1, sizeof *r->rc);
  r->n_rc = n;
  for (size_t i = 0; i < n; i++) {
    rcol *c = &r->rc[i];
    c->leaf = leaves[i];
    c->ptype = r->ptypes[c->leaf];
    c->ts_mul = r->ts_mul[c->leaf];
    c->opt = r->cols[c->leaf].optional;
    c->name = r->cols[c->leaf].name;
    c->type = r->cols[c->leaf].type;
    txf_buf_init(&c->dba, 0);
  }
}

int txf_pq_reader_open(txf_pq_reader **out, const char *path, txf_err *err) {
  *out = NULL;
  txf_pq_reader *r = txf_xcalloc(1, sizeof *r);
  r->fd = -1;
  r->mem_limit = MAX_DECODED_BYTES;
  r->path = txf_xstrdup(path);
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  int rc;
  if (r->fd < 0) {
    rc = txf_err_errno(err, errno == ENOENT ? TXF_ENOTFOUND : TXF_EIO,
                       "open %s", path);
    goto fail;
  }
  struct stat st;
  if (fstat(r->fd, &st) != 0) {
    rc = txf_err_errno(err, TXF_EIO, "stat %s", path);
    goto fail;
  }
  r->size = (uint64_t)st.st_size;
  if (r->size < 12) {
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%s: not a Parquet file (%" PRIu64 " bytes)", path,
                     r->size);
    goto fail;
  }
  uint8_t head[4], tail[8];
  if ((rc = read_at(r, head, 4, 0, err)) ||
      (rc = read_at(r, tail, 8, r->size - 8, err)))
    goto fail;
  if (memcmp(head, "PAR1", 4) || memcmp(tail + 4, "PAR1", 4)) {
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%s: not a Parquet file (no PAR1 magic at %s)", path,
                     memcmp(head, "PAR1", 4) ? "the start" : "the end");
    goto fail;
  }
  uint32_t flen = le32(tail);
  if (flen == 0 || flen > r->size - 12 || flen > MAX_FOOTER_BYTES) {
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%s: footer length %u does not fit in the file "
                     "(%" PRIu64 " bytes)",
                     path, flen, r->size);
    goto fail;
  }
  uint64_t fstart = r->size - 8 - flen;
  r->footer = txf_xmalloc(flen);
  if ((rc = read_at(r, r->footer, flen, fstart, err)))
    goto fail;
  if ((rc = txf_pq_filemeta_parse(&r->m, r->footer, flen, err))) {
    txf_err_wrap(err, "%s", path);
    goto fail;
  }
  if ((rc = validate(r, err)))
    goto fail;
  /* Chunks must lie between the leading magic and the footer, and a row
   * group's chunks must not overlap: together they hold at most the
   * file's data bytes. (The reader holds a row group's projected chunks
   * in memory at once; overlapping chunks could make a small file cost
   * columns times its size.) */
  for (uint32_t g = 0; g < r->m.n_rgs; g++) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < r->m.rgs[g].n_cols; i++) {
      pq_colmeta *c = &r->m.rgs[g].cols[i];
      int64_t start = c->data_page_offset;
      if (c->has_dict_offset && c->dict_page_offset < start)
        start = c->dict_page_offset;
      if (start < 4 || c->total_compressed < 0 ||
          (uint64_t)start > fstart ||
          (uint64_t)c->total_compressed > fstart - (uint64_t)start ||
          c->data_page_offset >= start + c->total_compressed) {
        rc = txf_err_set(err, TXF_ECORRUPT,
                         "%s: row group %u column '%s': chunk at %" PRId64
                         " of %" PRId64 " bytes lies outside the data "
                         "(4..%" PRIu64 ")",
                         path, g, r->cols[i].name, start, c->total_compressed,
                         fstart);
        goto fail;
      }
      sum += (uint64_t)c->total_compressed;
      if (sum > fstart - 4) {
        rc = txf_err_set(err, TXF_ECORRUPT,
                         "%s: row group %u: column chunks up to '%s' add up "
                         "to %" PRIu64 " bytes, more than the file's %" PRIu64
                         " data bytes (chunks overlap)",
                         path, g, r->cols[i].name, sum, fstart - 4);
        goto fail;
      }
    }
  }
  int *all = txf_xcalloc(r->schema.n_cols ? r->schema.n_cols : 1, sizeof *all);
  for (size_t i = 0; i < r->schema.n_cols; i++)
    all[i] = (int)i;
  setup_projection(r, all, r->schema.n_cols);
  free(all);
  *out = r;
  return 0;
fail:
  txf_pq_reader_free(r);
  return rc;
}

const txf_pq_schema *txf_pq_reader_schema(const txf_pq_reader *r) {
  return &r->schema;
}

int64_t txf_pq_reader_num_rows(const txf_pq_reader *r) {
  return r->m.num_rows;
}

const char *txf_pq_reader_kv(const txf_pq_reader *r, const char *key) {
  for (uint32_t i = 0; i < r->m.n_kv; i++)
    if (!strcmp(r->m.kv[i].key, key))
      return r->m.kv[i].value;
  return NULL;
}

int txf_pq_reader_project(txf_pq_reader *r, const char *const *names,
                          size_t n, txf_err *err) {
  if (r->started)
    return txf_err_set(err, TXF_EUSAGE,
                       "%s: projection after reading started", r->path);
  int *leaves = txf_xcalloc(n ? n : 1, sizeof *leaves);
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < r->schema.n_cols && strcmp(r->cols[j].name, names[i]))
      j++;
    if (j == r->schema.n_cols) {
      free(leaves);
      return txf_err_set(err, TXF_ENOTFOUND, "%s: no column '%s'", r->path,
                         names[i]);
    }
    leaves[i] = (int)j;
  }
  setup_projection(r, leaves, n);
  free(leaves);
  return 0;
}

/* ------------------------------------------------------------- pages */

#define CERR(code, ...)                                                      \
  txf_err_set(err, (code), "%s: row group %u column '%s' page %d: "         \
              "%s",                                                          \
              r->path, r->rg, c->name, c->page_no,                           \
              (snprintf(msgbuf, sizeof msgbuf, __VA_ARGS__), msgbuf))

static void *grow(void *p, size_t *cap, size_t n, size_t elem) {
  if (n <= *cap)
    return p;
  size_t nc = *cap ? *cap : 64;
  while (nc < n)
    nc *= 2;
  *cap = nc;
  return txf_xrealloc(p, nc * elem);
}

/* Memory C holds for its decoded page (not its raw column chunk, which
 * is bytes of the file). */
static size_t page_mem(const rcol *c) {
  return c->page_cap + c->pv_cap * sizeof *c->pv + c->lev_cap +
         c->tmp_cap * sizeof *c->tmp + c->tmp64_cap * sizeof *c->tmp64 +
         c->dba.cap;
}

/* What every projected column but C holds in decoded pages and
 * dictionaries. */
static size_t others_mem(const txf_pq_reader *r, const rcol *c) {
  size_t sum = 0;
  for (size_t i = 0; i < r->n_rc; i++)
    if (&r->rc[i] != c)
      sum += page_mem(&r->rc[i]) + r->rc[i].dict_bytes;
  return sum;
}

int txf_pq_plain_fixed(int ptype, txf_pq_type type, int ts_mul,
                       const uint8_t *p, txf_pq_value *v) {
  v->is_null = 0;
  switch (ptype) {
  case PQT_INT32: {
    int32_t x;
    memcpy(&x, p, 4);
    if (type == TXF_PQ_DECIMAL)
      v->v.i64 = x;
    else
      v->v.i32 = x;
    return 0;
  }
  case PQT_INT64: {
    int64_t x;
    memcpy(&x, p, 8);
    if (ts_mul != 1) {
      if (__builtin_mul_overflow(x, (int64_t)ts_mul, &x))
        return -1;
    }
    v->v.i64 = x;
    return 0;
  }
  case PQT_FLOAT: {
    float f;
    memcpy(&f, p, 4);
    v->v.f64 = f;
    return 0;
  }
  case PQT_DOUBLE:
    memcpy(&v->v.f64, p, 8);
    return 0;
  }
  return -1;
}

int txf_pq_plain_width(int ptype) {
  switch (ptype) {
  case PQT_INT32:
  case PQT_FLOAT:
    return 4;
  case PQT_INT64:
  case PQT_DOUBLE:
    return 8;
  }
  return 0;
}

/* The PLAIN string at *AT of P[0..LEN): its length into *L, *AT past it;
 * -1 (*WHY) if it runs past the end. */
static int plain_str(const uint8_t *p, size_t len, size_t *at, uint32_t *l,
                     const char **why) {
  size_t a = *at;
  if (len - a < 4) {
    *why = "PLAIN string length past the end of the page";
    return -1;
  }
  uint32_t n = le32(p + a);
  a += 4;
  if (n > len - a) {
    *why = "PLAIN string past the end of the page";
    return -1;
  }
  *at = a + n;
  *l = n;
  return 0;
}

/* The N dictionary indices of a dictionary-encoded page's values P[0..LEN)
 * into c->tmp, each checked against the dictionary; -1 (*WHY) if not. */
static int dict_indices(rcol *c, const uint8_t *p, size_t len, size_t n,
                        const char **why) {
  if (!c->has_dict) {
    *why = "dictionary-encoded page without a dictionary page";
    return -1;
  }
  if (n == 0)
    return 0;
  if (len < 1) {
    *why = "missing dictionary index bit width";
    return -1;
  }
  c->tmp = grow(c->tmp, &c->tmp_cap, n, sizeof *c->tmp);
  if (txf_pq_rle_decode(p + 1, len - 1, p[0], c->tmp, n)) {
    *why = "dictionary indices are malformed or short";
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (c->tmp[i] >= c->n_dict) {
      *why = "dictionary index out of range";
      return -1;
    }
  return 0;
}

/* Decode N PLAIN values from P[0..len) into OUT. *used = bytes read. */
static int decode_plain(rcol *c, const uint8_t *p, size_t len, size_t n,
                        txf_pq_value *out, size_t *used, const char **why) {
  if (c->ptype == PQT_BOOLEAN) {
    if ((n + 7) / 8 > len) {
      *why = "PLAIN booleans past the end of the page";
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      out[i].is_null = 0;
      out[i].v.b = (p[i >> 3] >> (i & 7)) & 1;
    }
    *used = (n + 7) / 8;
    return 0;
  }
  if (c->ptype == PQT_BYTE_ARRAY) {
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
      uint32_t l;
      if (plain_str(p, len, &at, &l, why))
        return -1;
      out[i].is_null = 0;
      out[i].v.str = (const char *)p + at - l;
      out[i].len = l;
    }
    *used = at;
    return 0;
  }
  size_t w = (size_t)txf_pq_plain_width(c->ptype);
  if (n > len / w) {
    *why = "PLAIN values past the end of the page";
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (txf_pq_plain_fixed(c->ptype, c->type, c->ts_mul, p + i * w, &out[i])) {
      *why = "timestamp in milliseconds overflows microseconds";
      return -1;
    }
  *used = n * w;
  return 0;
}

/* Decode N non-null values of ENCODING from P[0..len) into OUT. */
static int decode_values(txf_pq_reader *r, rcol *c, int encoding,
                         const uint8_t *p, size_t len, size_t n,
                         txf_pq_value *out, const char **why) {
  (void)r;
  size_t used;
  switch (encoding) {
  case PQE_PLAIN:
    return decode_plain(c, p, len, n, out, &used, why);
  case PQE_PLAIN_DICTIONARY:
  case PQE_RLE_DICTIONARY: {
    if (dict_indices(c, p, len, n, why))
      return -1;
    for (size_t i = 0; i < n; i++)
      out[i] = c->dict[c->tmp[i]];
    return 0;
  }
  case PQE_RLE: {
    if (c->ptype != PQT_BOOLEAN) {
      *why = "RLE values for a non-boolean column";
      return -1;
    }
    if (len < 4) {
      *why = "RLE booleans without a length";
      return -1;
    }
    uint32_t l = le32(p);
    if (l > len - 4) {
      *why = "RLE boolean length past the end of the page";
      return -1;
    }
    c->tmp = grow(c->tmp, &c->tmp_cap, n ? n : 1, sizeof *c->tmp);
    if (txf_pq_rle_decode(p + 4, l, 1, c->tmp, n)) {
      *why = "RLE booleans are malformed or short";
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      out[i].is_null = 0;
      out[i].v.b = (int)c->tmp[i];
    }
    return 0;
  }
  case PQE_DELTA_BINARY_PACKED: {
    if (c->ptype != PQT_INT32 && c->ptype != PQT_INT64) {
      *why = "DELTA_BINARY_PACKED for a non-integer column";
      return -1;
    }
    c->tmp64 = grow(c->tmp64, &c->tmp64_cap, n ? n : 1, sizeof *c->tmp64);
    if (txf_pq_delta_decode(p, len, c->tmp64, n, &used)) {
      *why = "DELTA_BINARY_PACKED data is malformed or short";
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      uint8_t raw[8];
      if (c->ptype == PQT_INT32) {
        int32_t x = (int32_t)(uint32_t)(uint64_t)c->tmp64[i];
        memcpy(raw, &x, 4);
      } else {
        memcpy(raw, &c->tmp64[i], 8);
      }
      if (txf_pq_plain_fixed(c->ptype, c->type, c->ts_mul, raw, &out[i])) {
        *why = "timestamp in milliseconds overflows microseconds";
        return -1;
      }
    }
    return 0;
  }
  case PQE_DELTA_LENGTH_BYTE_ARRAY:
  case PQE_DELTA_BYTE_ARRAY: {
    if (c->ptype != PQT_BYTE_ARRAY) {
      *why = "DELTA string encoding for a non-string column";
      return -1;
    }
    c->tmp64 = grow(c->tmp64, &c->tmp64_cap, n ? 2 * n : 1, sizeof *c->tmp64);
    int64_t *pre = c->tmp64, *lens = c->tmp64 + n;
    size_t at = 0;
    if (encoding == PQE_DELTA_BYTE_ARRAY) {
      if (txf_pq_delta_decode(p, len, pre, n, &used)) {
        *why = "DELTA_BYTE_ARRAY prefix lengths are malformed";
        return -1;
      }
      at = used;
    }
    if (txf_pq_delta_decode(p + at, len - at, lens, n, &used)) {
      *why = "DELTA string lengths are malformed";
      return -1;
    }
    at += used;
    if (encoding == PQE_DELTA_LENGTH_BYTE_ARRAY) {
      for (size_t i = 0; i < n; i++) {
        if (lens[i] < 0 || (uint64_t)lens[i] > len - at) {
          *why = "DELTA_LENGTH_BYTE_ARRAY string past the end of the page";
          return -1;
        }
        out[i].is_null = 0;
        out[i].v.str = (const char *)p + at;
        out[i].len = (uint32_t)lens[i];
        at += (size_t)lens[i];
      }
      return 0;
    }
    /* DELTA_BYTE_ARRAY: rebuild each string from the previous one's
     * prefix and its suffix, into DBA (offsets first, pointers after). */
    txf_buf_reset(&c->dba);
    size_t prev_off = 0, prev_len = 0;
    for (size_t i = 0; i < n; i++) {
      if (pre[i] < 0 || (uint64_t)pre[i] > prev_len || lens[i] < 0 ||
          (uint64_t)lens[i] > len - at) {
        *why = "DELTA_BYTE_ARRAY prefix or suffix out of range";
        return -1;
      }
      size_t off = c->dba.len;
      if ((size_t)pre[i] + (size_t)lens[i] > c->dba_limit - off) {
        *why = "DELTA_BYTE_ARRAY strings rebuild to more than the reader's "
               "limit (64 times the page's size, at least 16 MiB, at most "
               "256 MiB or what the memory limit leaves)";
        return -1;
      }
      (void)txf_buf_grow(&c->dba, (size_t)pre[i] + (size_t)lens[i] + 1);
      memmove(c->dba.data + off, c->dba.data + prev_off, (size_t)pre[i]);
      memcpy(c->dba.data + off + pre[i], p + at, (size_t)lens[i]);
      c->dba.len += (size_t)pre[i] + (size_t)lens[i];
      at += (size_t)lens[i];
      prev_off = off;
      prev_len = (size_t)pre[i] + (size_t)lens[i];
      out[i].is_null = 0;
      out[i].v.str = (const char *)(uintptr_t)off;
      out[i].len = (uint32_t)prev_len;
    }
    for (size_t i = 0; i < n; i++)
      out[i].v.str = c->dba.data + (uintptr_t)out[i].v.str;
    return 0;
  }
  case PQE_BYTE_STREAM_SPLIT: {
    size_t w = (size_t)txf_pq_plain_width(c->ptype);
    if (!w) {
      *why = "BYTE_STREAM_SPLIT for a column without fixed width";
      return -1;
    }
    if (n > len / w) {
      *why = "BYTE_STREAM_SPLIT values past the end of the page";
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      uint8_t raw[8];
      for (size_t k = 0; k < w; k++)
        raw[k] = p[k * n + i];
      if (txf_pq_plain_fixed(c->ptype, c->type, c->ts_mul, raw, &out[i])) {
        *why = "timestamp in milliseconds overflows microseconds";
        return -1;
      }
    }
    return 0;
  }
  }
  *why = "encoding not supported";
  return -2;
}

static int load_dict(txf_pq_reader *r, rcol *c, const pq_page_header *h,
                     const uint8_t *body, txf_err *err) {
  char msgbuf[600];
  if (c->has_dict || c->page_no > 0)
    return CERR(TXF_ECORRUPT, "dictionary page is not the chunk's first page");
  if (h->encoding != PQE_PLAIN && h->encoding != PQE_PLAIN_DICTIONARY)
    return CERR(TXF_EUNSUPPORTED, "dictionary page encoding %s",
                txf_pq_encoding_name(h->encoding));
  if ((size_t)h->uncompressed_size > MAX_PAGE_BYTES ||
      (size_t)h->num_values > MAX_PAGE_VALUES)
    return CERR(TXF_ECORRUPT, "dictionary page too large (%d bytes, %d values)",
                h->uncompressed_size, h->num_values);
  size_t w =
      c->ptype == PQT_BYTE_ARRAY ? 4 : (size_t)txf_pq_plain_width(c->ptype);
  if (c->ptype == PQT_BOOLEAN
          ? (size_t)h->num_values > (size_t)h->uncompressed_size * 8
          : (size_t)h->num_values > (size_t)h->uncompressed_size / w)
    return CERR(TXF_ECORRUPT, "dictionary page: %d values cannot fit in %d "
                "bytes", h->num_values, h->uncompressed_size);
  if (!txf_pq_decompress_plausible(c->codec, body, (size_t)h->compressed_size,
                                   (size_t)h->uncompressed_size))
    return CERR(TXF_ECORRUPT, "dictionary page: compressed data does not "
                "match its size");
  size_t need = (size_t)h->uncompressed_size + 1 +
                ((size_t)h->num_values + 1) * sizeof *c->dict;
  size_t others = others_mem(r, c) + page_mem(c);
  if (need > r->mem_limit || others > r->mem_limit - need)
    return CERR(TXF_ETOOBIG,
                "dictionary page of %d values needs %zu MiB, over the "
                "reader's limit of %zu MiB for the decoded pages of all "
                "projected columns (%zu MiB in use)",
                h->num_values, need >> 20, r->mem_limit >> 20, others >> 20);
  free(c->dict_buf);
  c->dict_bytes = 0;
  c->dict_buf = txf_xmalloc((size_t)h->uncompressed_size + 1);
  const char *why = "";
  if (txf_pq_decompress(&r->codec, c->codec, body, (size_t)h->compressed_size,
                        c->dict_buf, (size_t)h->uncompressed_size, &why))
    return CERR(TXF_ECORRUPT, "dictionary page: %s", why);
  free(c->dict);
  c->dict = txf_xcalloc((size_t)h->num_values + 1, sizeof *c->dict);
  size_t used;
  if (decode_plain(c, c->dict_buf, (size_t)h->uncompressed_size,
                   (size_t)h->num_values, c->dict, &used, &why))
    return CERR(TXF_ECORRUPT, "dictionary page: %s", why);
  c->n_dict = (uint32_t)h->num_values;
  c->has_dict = 1;
  c->dict_bytes = need;
  return 0;
}

/* Rows a lazy page decodes at a time: a window of every projected
 * column stays in the cache (16 columns x 16 KiB) */
#define WINDOW_ROWS 1024

/* Can the page's NN non-null values (encoding of H, at VALS) be decoded a
 * window at a time? Set up C for that and return 0; 1: not this page;
 * -1 (*WHY): the values are malformed. Checked here whole, so a lazy
 * window never fails: a dictionary page's indices (4 bytes a value), a
 * PLAIN page's value sizes. c->lev holds the page's levels. */
static int lazy_setup(rcol *c, const pq_page_header *h, const uint8_t *vals,
                      size_t vals_len, size_t nn, const char **why) {
  c->lazy = 0;
  c->lrow = 0;
  if (h->encoding == PQE_PLAIN_DICTIONARY ||
      h->encoding == PQE_RLE_DICTIONARY) {
    if (dict_indices(c, vals, vals_len, nn, why))
      return -1;
    c->lat = 0;
    c->lazy = PQE_RLE_DICTIONARY;
    return 0;
  }
  if (h->encoding != PQE_PLAIN || c->ptype == PQT_BOOLEAN || c->ts_mul != 1)
    return 1;
  if (c->ptype == PQT_BYTE_ARRAY) {
    size_t at = 0;
    uint32_t l;
    for (size_t i = 0; i < nn; i++)
      if (plain_str(vals, vals_len, &at, &l, why))
        return -1;
  } else if (nn > vals_len / (size_t)txf_pq_plain_width(c->ptype)) {
    *why = "PLAIN values past the end of the page";
    return -1;
  }
  c->lvals = vals;
  c->lat = 0;
  c->lazy = PQE_PLAIN;
  return 0;
}

/* The next window of a lazy page into c->pv, at most MAX rows (checked by
 * lazy_setup). */
static void lazy_fill(rcol *c, size_t max) {
  size_t n = c->page_left < max ? c->page_left : max;
  c->pv = grow(c->pv, &c->pv_cap, WINDOW_ROWS, sizeof *c->pv);
  txf_pq_value *out = c->pv;
  const uint8_t *lev = c->opt ? c->lev + c->lrow : NULL;
  size_t at = c->lat;
  if (c->lazy == PQE_RLE_DICTIONARY) {
    const uint32_t *ix = c->tmp;
    const txf_pq_value *d = c->dict;
    for (size_t i = 0; i < n; i++) {
      if (lev && !lev[i]) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].is_null = 1;
      } else {
        out[i] = d[ix[at++]];
        /* (a dictionary's strings are read in no order: their bytes are
         * fetched while the window's rows before them are used) */
        if (c->ptype == PQT_BYTE_ARRAY)
          __builtin_prefetch(out[i].v.str);
      }
    }
  } else if (c->ptype == PQT_BYTE_ARRAY) {
    const uint8_t *p = c->lvals;
    for (size_t i = 0; i < n; i++) {
      if (lev && !lev[i]) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].is_null = 1;
        continue;
      }
      uint32_t l = le32(p + at);
      out[i].is_null = 0;
      out[i].v.str = (const char *)p + at + 4;
      out[i].len = l;
      at += 4 + (size_t)l;
    }
  } else {
    size_t w = (size_t)txf_pq_plain_width(c->ptype);
    for (size_t i = 0; i < n; i++) {
      if (lev && !lev[i]) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].is_null = 1;
        continue;
      }
      /* (ts_mul 1: cannot fail) */
      (void)txf_pq_plain_fixed(c->ptype, c->type, 1, c->lvals + at, &out[i]);
      at += w;
    }
  }
  c->lat = at;
  c->lrow += n;
  c->page_left -= n;
  c->wi = 0;
  c->wn = n;
}

/* Pass over the next N rows of a lazy page (N at most c->page_left)
 * without making their values. */
static void lazy_skip(rcol *c, size_t n) {
  size_t nn = n;
  if (c->opt) {
    nn = 0;
    for (size_t i = 0; i < n; i++)
      nn += c->lev[c->lrow + i];
  }
  if (c->lazy == PQE_RLE_DICTIONARY) {
    c->lat += nn;
  } else if (c->ptype == PQT_BYTE_ARRAY) {
    const uint8_t *p = c->lvals;
    size_t at = c->lat;
    for (size_t i = 0; i < nn; i++)
      at += 4 + (size_t)le32(p + at);
    c->lat = at;
  } else {
    c->lat += nn * (size_t)txf_pq_plain_width(c->ptype);
  }
  c->lrow += n;
  c->page_left -= n;
  c->wi = c->wn = 0;
}

/* Load the next data page of C into c->pv. */
static int next_page(txf_pq_reader *r, rcol *c, txf_err *err) {
  char msgbuf[600];
  for (;;) {
    if (c->pos >= c->chunk_len)
      return CERR(TXF_ECORRUPT,
                  "column chunk ends with %" PRId64 " values still missing",
                  c->values_left);
    pq_page_header h;
    size_t hlen;
    uint64_t at = c->chunk_off + c->pos;
    if (txf_pq_page_header_parse(&h, c->chunk + c->pos, c->chunk_len - c->pos,
                                 &hlen, err)) {
      char m[400];
      memcpy(m, err->msg, sizeof m - 1);
      m[sizeof m - 1] = 0;
      return CERR(TXF_ECORRUPT, "%s (file offset %" PRIu64 ")", m, at);
    }
    c->pos += hlen;
    if ((size_t)h.compressed_size > c->chunk_len - c->pos)
      return CERR(TXF_ECORRUPT,
                  "page of %d bytes at file offset %" PRIu64
                  " runs past the column chunk",
                  h.compressed_size, at);
    const uint8_t *body = c->chunk + c->pos;
    c->pos += (size_t)h.compressed_size;
    /* Files that carry page checksums (ours do) are checked page by page:
     * damage stops the read instead of decoding into wrong values. */
    if (h.has_crc && txf_pq_crc32(0, body, (size_t)h.compressed_size) != h.crc)
      return CERR(TXF_ECORRUPT,
                  "the page at file offset %" PRIu64
                  " fails its checksum (CRC-32): the file is damaged",
                  at);
    if (h.type == PQP_DICTIONARY_PAGE) {
      int rc = load_dict(r, c, &h, body, err);
      c->page_no++;
      if (rc)
        return rc;
      continue;
    }
    if (h.type == PQP_INDEX_PAGE) {
      c->page_no++;
      continue;
    }
    if (h.type != PQP_DATA_PAGE && h.type != PQP_DATA_PAGE_V2)
      return CERR(TXF_ECORRUPT, "unknown page type %d at file offset %" PRIu64,
                  h.type, at);
    size_t n = (size_t)h.num_values;
    if (n == 0 || n > MAX_PAGE_VALUES || (int64_t)n > c->values_left)
      return CERR(TXF_ECORRUPT,
                  "data page at file offset %" PRIu64
                  " has %zu values (%" PRId64 " expected at most)",
                  at, n, c->values_left);
    if ((size_t)h.uncompressed_size > MAX_PAGE_BYTES)
      return CERR(TXF_ECORRUPT, "page of %d bytes is too large",
                  h.uncompressed_size);
    {
      size_t lv = h.type == PQP_DATA_PAGE_V2
                      ? (size_t)h.def_len + (size_t)h.rep_len
                      : 0;
      int comp = h.type == PQP_DATA_PAGE || h.is_compressed;
      if (lv > (size_t)h.compressed_size || lv > (size_t)h.uncompressed_size ||
          !txf_pq_decompress_plausible(
              comp ? c->codec : PQZ_UNCOMPRESSED, body + lv,
              (size_t)h.compressed_size - lv, (size_t)h.uncompressed_size - lv))
        return CERR(TXF_ECORRUPT,
                    "page at file offset %" PRIu64
                    ": compressed data does not match its size",
                    at);
    }
    /* Bound what this page will allocate before allocating it: the
     * values, levels and indices of N rows (16 bytes more a row for the
     * DELTA encodings), its uncompressed bytes, and what
     * DELTA_BYTE_ARRAY may rebuild. */
    {
      int delta = h.encoding == PQE_DELTA_BINARY_PACKED ||
                  h.encoding == PQE_DELTA_LENGTH_BYTE_ARRAY ||
                  h.encoding == PQE_DELTA_BYTE_ARRAY;
      size_t need = n * (sizeof *c->pv + sizeof *c->tmp + 1 +
                         (delta ? 2 * sizeof *c->tmp64 : 0)) +
                    (size_t)h.uncompressed_size + 1;
      size_t others = others_mem(r, c) + c->dict_bytes;
      if (need > r->mem_limit || others > r->mem_limit - need)
        return CERR(TXF_ETOOBIG,
                    "data page at file offset %" PRIu64 " with %zu values "
                    "needs %zu MiB decoded, over the reader's limit of %zu "
                    "MiB for the decoded pages of all projected columns "
                    "(%zu MiB in use)",
                    at, n, need >> 20, r->mem_limit >> 20, others >> 20);
      size_t left = r->mem_limit - others - need;
      size_t dba = (size_t)h.uncompressed_size * DBA_RATIO;
      if (dba < DBA_MIN_BYTES)
        dba = DBA_MIN_BYTES;
      if (dba > MAX_PAGE_BYTES)
        dba = MAX_PAGE_BYTES;
      /* txf_buf doubles: what it allocates is at most twice the bytes. */
      c->dba_limit = dba < left / 2 ? dba : left / 2;
    }
    const char *why = "";
    const uint8_t *levels = NULL, *vals;
    size_t levels_len = 0, vals_len;
    c->page_buf = grow(c->page_buf, &c->page_cap,
                       (size_t)h.uncompressed_size + 1, 1);
    if (h.type == PQP_DATA_PAGE) {
      if (txf_pq_decompress(&r->codec, c->codec, body,
                            (size_t)h.compressed_size, c->page_buf,
                            (size_t)h.uncompressed_size, &why))
        return CERR(TXF_ECORRUPT, "page at file offset %" PRIu64 ": %s", at,
                    why);
      vals = c->page_buf;
      vals_len = (size_t)h.uncompressed_size;
      if (c->opt) {
        if (h.def_encoding != PQE_RLE)
          return CERR(TXF_EUNSUPPORTED, "definition levels encoded as %s",
                      txf_pq_encoding_name(h.def_encoding));
        if (vals_len < 4)
          return CERR(TXF_ECORRUPT, "definition levels missing");
        uint32_t l = le32(vals);
        if (l > vals_len - 4)
          return CERR(TXF_ECORRUPT, "definition levels past the page end");
        levels = vals + 4;
        levels_len = l;
        vals += 4 + l;
        vals_len -= 4 + l;
      }
    } else {
      size_t lv = (size_t)h.def_len + (size_t)h.rep_len;
      if (h.rep_len != 0)
        return CERR(TXF_ECORRUPT, "repetition levels in a flat column");
      if (lv > (size_t)h.compressed_size || lv > (size_t)h.uncompressed_size)
        return CERR(TXF_ECORRUPT, "v2 level lengths exceed the page");
      if (!c->opt && h.def_len != 0)
        return CERR(TXF_ECORRUPT, "definition levels in a REQUIRED column");
      memcpy(c->page_buf, body, lv);
      int comp = h.is_compressed && c->codec != PQZ_UNCOMPRESSED;
      if (txf_pq_decompress(&r->codec, comp ? c->codec : PQZ_UNCOMPRESSED,
                            body + lv, (size_t)h.compressed_size - lv,
                            c->page_buf + lv, (size_t)h.uncompressed_size - lv,
                            &why))
        return CERR(TXF_ECORRUPT, "page at file offset %" PRIu64 ": %s", at,
                    why);
      levels = c->opt ? c->page_buf : NULL;
      levels_len = (size_t)h.def_len;
      vals = c->page_buf + lv;
      vals_len = (size_t)h.uncompressed_size - lv;
    }
    size_t nn = n;
    if (c->opt) {
      c->tmp = grow(c->tmp, &c->tmp_cap, n, sizeof *c->tmp);
      if (txf_pq_rle_decode(levels, levels_len, 1, c->tmp, n))
        return CERR(TXF_ECORRUPT, "definition levels are malformed or short");
      c->lev = grow(c->lev, &c->lev_cap, n, 1);
      nn = 0;
      for (size_t i = 0; i < n; i++) {
        c->lev[i] = (uint8_t)c->tmp[i];
        nn += c->tmp[i];
      }
      if (h.type == PQP_DATA_PAGE_V2 && (size_t)h.num_nulls != n - nn)
        return CERR(TXF_ECORRUPT, "num_nulls %d but %zu null levels",
                    h.num_nulls, n - nn);
    }
    c->values_left -= (int64_t)n;
    c->wi = c->wn = 0;
    /* A window at a time: the values of a whole page (717,000 rows of a
     * boolean's) as 16-byte values were read back from memory, not the
     * cache, a column after another for each row: a fifth of a clean's
     * reading of the partitions it rewrites */
    int rc = lazy_setup(c, &h, vals, vals_len, nn, &why);
    if (rc == 0) {
      c->page_left = n;
      c->page_no++;
      return 0;
    }
    if (rc != 1)
      return CERR(TXF_ECORRUPT, "%s (encoding %s, file offset %" PRIu64 ")",
                  why, txf_pq_encoding_name(h.encoding), at);
    c->pv = grow(c->pv, &c->pv_cap, n, sizeof *c->pv);
    /* Decode the non-null values at the end of PV, then spread them. */
    txf_pq_value *dst = c->pv + (n - nn);
    rc = decode_values(r, c, h.encoding, vals, vals_len, nn, dst, &why);
    if (rc)
      return CERR(rc == -2 ? TXF_EUNSUPPORTED : TXF_ECORRUPT,
                  "%s (encoding %s, file offset %" PRIu64 ")", why,
                  txf_pq_encoding_name(h.encoding), at);
    if (c->opt && nn != n) {
      /* Walk forwards: the next value to move is always at or after the
       * slot it moves to, so none is overwritten before it moves. */
      size_t src = n - nn;
      const uint8_t *lev = c->lev;
      for (size_t i = 0; i < n; i++) {
        if (lev[i]) {
          c->pv[i] = c->pv[src++];
        } else {
          c->pv[i].is_null = 1;
          memset(&c->pv[i].v, 0, sizeof c->pv[i].v);
        }
      }
    }
    c->wn = n;
    c->page_left = 0;
    c->page_no++;
    return 0;
  }
}

static int load_row_group(txf_pq_reader *r, txf_err *err) {
  const pq_rowgroup *g = &r->m.rgs[r->rg];
  for (size_t i = 0; i < r->n_rc; i++) {
    rcol *c = &r->rc[i];
    const pq_colmeta *cm = &g->cols[c->leaf];
    int64_t start = cm->data_page_offset;
    if (cm->has_dict_offset && cm->dict_page_offset < start)
      start = cm->dict_page_offset;
    size_t len = (size_t)cm->total_compressed;
    c->chunk = grow(c->chunk, &c->chunk_cap, len + 1, 1);
    int rc = read_at(r, c->chunk, len, (uint64_t)start, err);
    if (rc)
      return rc;
    c->chunk_len = len;
    c->chunk_off = (uint64_t)start;
    c->pos = 0;
    c->values_left = cm->num_values;
    c->codec = cm->codec;
    c->page_no = 0;
    c->has_dict = 0;
    c->n_dict = 0;
    c->wi = c->wn = c->page_left = 0;
    c->rg_row = 0;
  }
  r->rg_left = g->num_rows;
  r->rg_loaded = 1;
  return 0;
}

/* The next value of column C into *V, from a window of at most MAX rows
 * when a lazy page's next window is made. */
static inline int col_next(txf_pq_reader *r, rcol *c, size_t max,
                           txf_pq_value *v, txf_err *err) {
  if (c->wi == c->wn) {
    int rc = c->page_left ? 0 : next_page(r, c, err);
    if (rc)
      return rc;
    if (c->page_left)
      lazy_fill(c, max);
  }
  *v = c->pv[c->wi++];
  return 0;
}

/* Pass over the next N rows of column C. */
static int col_skip(txf_pq_reader *r, rcol *c, int64_t n, txf_err *err) {
  while (n > 0) {
    if (c->wi < c->wn) {
      size_t t = c->wn - c->wi;
      if ((int64_t)t > n)
        t = (size_t)n;
      c->wi += t;
      n -= (int64_t)t;
    } else if (c->page_left) {
      size_t t = c->page_left;
      if ((int64_t)t > n)
        t = (size_t)n;
      lazy_skip(c, t);
      n -= (int64_t)t;
    } else {
      int rc = next_page(r, c, err);
      if (rc)
        return rc;
    }
  }
  return 0;
}

/* The current row group has a row left: else the next one that has rows
 * is loaded; 1 at the end of the file. */
static int row_ahead(txf_pq_reader *r, txf_err *err) {
  while (!r->rg_loaded || r->rg_left == 0) {
    if (r->rg_loaded)
      r->rg++;
    if (r->rg >= r->m.n_rgs)
      return 1;
    int rc = load_row_group(r, err);
    if (rc)
      return rc;
  }
  return 0;
}

static int next_row(txf_pq_reader *r, txf_pq_value *values, int *has_row,
                    txf_err *err) {
  int rc = row_ahead(r, err);
  if (rc)
    return rc == 1 ? 0 : rc;
  for (size_t i = 0; i < r->n_rc; i++)
    if ((rc = col_next(r, &r->rc[i], WINDOW_ROWS, &values[i], err)))
      return rc;
  r->rg_left--;
  *has_row = 1;
  return 0;
}

/* (parquet.h) */
int txf_pq_reader_next_key(txf_pq_reader *r, size_t key, txf_pq_value *v,
                           int *has_row, txf_err *err) {
  *has_row = 0;
  if (r->failed)
    return txf_err_set(err, TXF_EUSAGE,
                       "%s: reading already failed; reopen the file",
                       r->path);
  if (key >= r->n_rc || (r->started && (!r->keyed || r->key != key)))
    return txf_err_set(err, TXF_EUSAGE,
                       "%s: key-first reading of column %zu of %zu, after "
                       "another way of reading",
                       r->path, key, r->n_rc);
  r->started = r->keyed = 1;
  r->key = key;
  r->key_row = 0;
  r->key_rest = 0;
  int rc = row_ahead(r, err);
  if (rc == 1)
    return 0;
  rcol *c = &r->rc[key];
  if (!rc)
    rc = col_next(r, c, WINDOW_ROWS, v, err);
  if (rc) {
    r->failed = 1;
    return rc;
  }
  c->rg_row++;
  r->key_row = c->rg_row;
  r->key_v = *v;
  r->rg_left--;
  *has_row = 1;
  return 0;
}

/* (parquet.h) */
int txf_pq_reader_rest(txf_pq_reader *r, txf_pq_value *values, txf_err *err) {
  if (r->failed || !r->keyed || !r->key_row || r->key_rest)
    return txf_err_set(err, TXF_EUSAGE,
                       "%s: no key-first row to read the rest of", r->path);
  r->key_rest = 1;
  for (size_t i = 0; i < r->n_rc; i++) {
    rcol *c = &r->rc[i];
    if (i == r->key) {
      values[i] = r->key_v;
      continue;
    }
    /* one value: the rows passed over are not made */
    int64_t row = r->key_row;
    int rc = col_skip(r, c, row - 1 - c->rg_row, err);
    if (!rc)
      rc = col_next(r, c, 1, &values[i], err);
    if (rc) {
      r->failed = 1;
      return rc;
    }
    c->rg_row = row;
  }
  return 0;
}

int txf_pq_reader_next(txf_pq_reader *r, txf_pq_value *values, int *has_row,
                       txf_err *err) {
  *has_row = 0;
  if (r->keyed)
    return txf_err_set(err, TXF_EUSAGE,
                       "%s: rows read key first are read so to the end",
                       r->path);
  r->started = 1;
  /* After a failure some columns may have advanced and others not:
   * going on could skip or misalign rows, so the reader stays failed. */
  if (r->failed)
    return txf_err_set(err, TXF_EUSAGE,
                       "%s: reading already failed; reopen the file",
                       r->path);
  int rc = next_row(r, values, has_row, err);
  if (rc) {
    r->failed = 1;
    *has_row = 0;
  }
  return rc;
}

const pq_filemeta *txf_pq_reader_meta(const txf_pq_reader *r) { return &r->m; }

void txf_pq_reader_set_memory_limit(txf_pq_reader *r, size_t bytes) {
  r->mem_limit = bytes;
}
const char *txf_pq_reader_path(const txf_pq_reader *r) { return r->path; }
