/* Describing a file (txnflow parquet inspect) and formatting values as
 * text (txnflow parquet cat, statistics). */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_internal.h"

/* Days of 0001-01-01 and 9999-12-31: txf_date_format's range. */
#define MIN_DAYS (-719162)
#define MAX_DAYS 2932896

static void fmt_decimal(int64_t x, int scale, txf_buf *out) {
  char digits[32];
  uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
  int n = snprintf(digits, sizeof digits, "%" PRIu64, u);
  if (x < 0)
    (void)txf_buf_putc(out, '-');
  if (scale <= 0) {
    (void)txf_buf_append(out, digits, (size_t)n);
    return;
  }
  if (n <= scale) {
    (void)txf_buf_puts(out, "0.");
    for (int i = n; i < scale; i++)
      (void)txf_buf_putc(out, '0');
    (void)txf_buf_append(out, digits, (size_t)n);
    return;
  }
  (void)txf_buf_append(out, digits, (size_t)(n - scale));
  (void)txf_buf_putc(out, '.');
  (void)txf_buf_append(out, digits + n - scale, (size_t)scale);
}

void txf_pq_value_format(const txf_pq_column *col, const txf_pq_value *v,
                         txf_buf *out) {
  if (v->is_null)
    return;
  char b[64];
  switch (col->type) {
  case TXF_PQ_BOOLEAN:
    (void)txf_buf_puts(out, v->v.b ? "true" : "false");
    return;
  case TXF_PQ_INT32:
    (void)txf_buf_printf(out, "%" PRId32, v->v.i32);
    return;
  case TXF_PQ_INT64:
    (void)txf_buf_printf(out, "%" PRId64, v->v.i64);
    return;
  case TXF_PQ_DECIMAL:
    fmt_decimal(v->v.i64, col->scale, out);
    return;
  case TXF_PQ_DOUBLE: {
    double d = v->v.f64;
    if (isnan(d)) {
      (void)txf_buf_puts(out, "nan");
      return;
    }
    if (isinf(d)) {
      (void)txf_buf_puts(out, d < 0 ? "-inf" : "inf");
      return;
    }
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(b, sizeof b, "%.*g", prec, d);
      if (strtod(b, NULL) == d)
        break;
    }
    (void)txf_buf_puts(out, b);
    return;
  }
  case TXF_PQ_STRING:
    (void)txf_buf_append(out, v->v.str, v->len);
    return;
  case TXF_PQ_DATE:
    if (v->v.i32 < MIN_DAYS || v->v.i32 > MAX_DAYS) {
      (void)txf_buf_printf(out, "%" PRId32 " days", v->v.i32);
      return;
    }
    (void)txf_buf_puts(out, txf_date_format((txf_date){v->v.i32}, b));
    return;
  case TXF_PQ_TIMESTAMP_US:
    if (v->v.i64 < (int64_t)MIN_DAYS * TXF_US_PER_DAY ||
        v->v.i64 >= ((int64_t)MAX_DAYS + 1) * TXF_US_PER_DAY) {
      (void)txf_buf_printf(out, "%" PRId64 " us", v->v.i64);
      return;
    }
    txf_ts_format(v->v.i64, 0, 1, b);
    (void)txf_buf_puts(out, b);
    return;
  }
}

/* A statistics value decoded for column COL (PHYS is the physical type),
 * as text; 0 if the bytes do not fit the type. */
static int stat_text(const txf_pq_column *col, int phys, int millis,
                     const uint8_t *p, uint32_t n, txf_buf *out) {
  txf_pq_value v;
  memset(&v, 0, sizeof v);
  int ts_mul = col->type == TXF_PQ_TIMESTAMP_US && millis ? 1000 : 1;
  switch (phys) {
  case PQT_BOOLEAN:
    if (n != 1)
      return 0;
    v.v.b = p[0] != 0;
    break;
  case PQT_BYTE_ARRAY:
    v.v.str = (const char *)p;
    v.len = n;
    break;
  default:
    if (!n || n != (uint32_t)txf_pq_plain_width(phys) ||
        txf_pq_plain_fixed(phys, col->type, ts_mul, p, &v))
      return 0;
  }
  txf_pq_value_format(col, &v, out);
  return 1;
}

static char *stat_str(const txf_pq_column *col, const pq_schema_el *e,
                      int phys, const uint8_t *p, uint32_t n) {
  txf_buf b;
  txf_buf_init(&b, 0);
  int millis = (e->logical == PQL_TIMESTAMP && e->l_unit == PQU_MILLIS) ||
               (e->logical == PQL_NONE && e->converted == PQC_TIMESTAMP_MILLIS);
  if (!stat_text(col, phys, millis, p, n, &b)) {
    txf_buf_release(&b);
    return NULL;
  }
  return txf_buf_take(&b, NULL);
}

/* The min and max statistics of chunk CM of column COL (schema element E)
 * as text, NULL when missing or not of the column's type; caller frees
 * both. */
static void stats_min_max(const txf_pq_column *col, const pq_schema_el *e,
                          const pq_colmeta *cm, char **mn, char **mx) {
  const pq_stats *ps = &cm->stats;
  *mn = ps->has_min ? stat_str(col, e, cm->type, ps->min, ps->min_len) : NULL;
  *mx = ps->has_max ? stat_str(col, e, cm->type, ps->max, ps->max_len) : NULL;
}

const char *txf_pq_column_type_name(const txf_pq_column *c, char *b,
                                    size_t n) {
  if (c->type == TXF_PQ_DECIMAL)
    snprintf(b, n, "DECIMAL(%d,%d)", c->precision, c->scale);
  else
    snprintf(b, n, "%s", txf_pq_txf_type_name(c->type));
  return b;
}


static json_t *encodings_json(uint32_t mask) {
  json_t *a = json_array();
  for (int e = 0; e < 32; e++)
    if (mask & (1u << e))
      json_array_append_new(a, json_string(txf_pq_encoding_name(e)));
  return a;
}

static int describe_json(const txf_pq_reader *r, txf_buf *out) {
  const pq_filemeta *m = txf_pq_reader_meta(r);
  const txf_pq_schema *s = txf_pq_reader_schema(r);
  json_t *root = json_object();
  json_object_set_new(root, "file", json_string(txf_pq_reader_path(r)));
  json_object_set_new(root, "version", json_integer(m->version));
  json_object_set_new(root, "created_by",
                      m->created_by ? json_string(m->created_by) : json_null());
  json_object_set_new(root, "num_rows", json_integer(m->num_rows));
  json_t *cols = json_array();
  for (size_t i = 0; i < s->n_cols; i++) {
    char tb[40];
    json_t *c = json_object();
    json_object_set_new(c, "name", json_string(s->cols[i].name));
    json_object_set_new(c, "type",
                        json_string(
                            txf_pq_column_type_name(&s->cols[i], tb, sizeof tb)));
    json_object_set_new(c, "physical_type",
                        json_string(txf_pq_type_name(m->schema[i + 1].type)));
    json_object_set_new(c, "optional", json_boolean(s->cols[i].optional));
    json_array_append_new(cols, c);
  }
  json_object_set_new(root, "columns", cols);
  json_t *rgs = json_array();
  for (uint32_t g = 0; g < m->n_rgs; g++) {
    const pq_rowgroup *rg = &m->rgs[g];
    json_t *o = json_object();
    json_object_set_new(o, "num_rows", json_integer(rg->num_rows));
    json_object_set_new(o, "total_byte_size",
                        json_integer(rg->total_byte_size));
    json_t *chunks = json_array();
    for (uint32_t i = 0; i < rg->n_cols; i++) {
      const pq_colmeta *cm = &rg->cols[i];
      json_t *c = json_object();
      json_object_set_new(c, "column", json_string(s->cols[i].name));
      json_object_set_new(c, "codec",
                          json_string(txf_pq_codec_name(cm->codec)));
      json_object_set_new(c, "encodings", encodings_json(cm->encodings));
      json_object_set_new(c, "num_values", json_integer(cm->num_values));
      json_object_set_new(c, "compressed_bytes",
                          json_integer(cm->total_compressed));
      json_object_set_new(c, "uncompressed_bytes",
                          json_integer(cm->total_uncompressed));
      json_object_set_new(c, "data_page_offset",
                          json_integer(cm->data_page_offset));
      if (cm->has_dict_offset)
        json_object_set_new(c, "dictionary_page_offset",
                            json_integer(cm->dict_page_offset));
      if (cm->has_stats) {
        json_t *st = json_object();
        const pq_stats *ps = &cm->stats;
        if (ps->has_null_count)
          json_object_set_new(st, "null_count", json_integer(ps->null_count));
        char *mn, *mx;
        stats_min_max(&s->cols[i], &m->schema[i + 1], cm, &mn, &mx);
        if (mn)
          json_object_set_new(st, "min", json_stringn(mn, strlen(mn)));
        if (mx)
          json_object_set_new(st, "max", json_stringn(mx, strlen(mx)));
        free(mn);
        free(mx);
        json_object_set_new(c, "statistics", st);
      }
      json_array_append_new(chunks, c);
    }
    json_object_set_new(o, "columns", chunks);
    json_array_append_new(rgs, o);
  }
  json_object_set_new(root, "row_groups", rgs);
  json_t *kv = json_object();
  for (uint32_t i = 0; i < m->n_kv; i++)
    json_object_set_new(kv, m->kv[i].key,
                        m->kv[i].value ? json_string(m->kv[i].value)
                                       : json_null());
  json_object_set_new(root, "key_value_metadata", kv);
  char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                   JSON_ENSURE_ASCII);
  json_decref(root);
  if (!txt)
    return -1;
  (void)txf_buf_puts(out, txt);
  (void)txf_buf_putc(out, '\n');
  free(txt);
  return 0;
}

/* Printable text of a possibly binary value: control bytes as \xNN. */
static void put_printable(txf_buf *out, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch == 0x7f)
      (void)txf_buf_printf(out, "\\x%02x", ch);
    else
      (void)txf_buf_putc(out, (char)ch);
  }
}

int txf_pq_reader_describe(const txf_pq_reader *r, int as_json, txf_buf *out,
                           txf_err *err) {
  if (as_json) {
    if (describe_json(r, out))
      return txf_err_set(err, TXF_EINTERNAL,
                         "%s: cannot render the description as JSON",
                         txf_pq_reader_path(r));
    return 0;
  }
  const pq_filemeta *m = txf_pq_reader_meta(r);
  const txf_pq_schema *s = txf_pq_reader_schema(r);
  (void)txf_buf_printf(out, "file: %s\n", txf_pq_reader_path(r));
  (void)txf_buf_puts(out, "created_by: ");
  if (m->created_by)
    put_printable(out, m->created_by, strlen(m->created_by));
  (void)txf_buf_printf(out, "\nrows: %" PRId64 "\nrow groups: %u\n",
                       m->num_rows, m->n_rgs);
  (void)txf_buf_printf(out, "columns (%zu):\n", s->n_cols);
  for (size_t i = 0; i < s->n_cols; i++) {
    char tb[40];
    (void)txf_buf_puts(out, "  ");
    put_printable(out, s->cols[i].name, strlen(s->cols[i].name));
    (void)txf_buf_printf(out, "  %s  %s  (%s)\n",
                         txf_pq_column_type_name(&s->cols[i], tb, sizeof tb),
                         s->cols[i].optional ? "OPTIONAL" : "REQUIRED",
                         txf_pq_type_name(m->schema[i + 1].type));
  }
  for (uint32_t g = 0; g < m->n_rgs; g++) {
    const pq_rowgroup *rg = &m->rgs[g];
    (void)txf_buf_printf(out, "row group %u: %" PRId64 " rows, %" PRId64
                              " bytes uncompressed\n",
                         g, rg->num_rows, rg->total_byte_size);
    for (uint32_t i = 0; i < rg->n_cols; i++) {
      const pq_colmeta *cm = &rg->cols[i];
      (void)txf_buf_puts(out, "  ");
      put_printable(out, s->cols[i].name, strlen(s->cols[i].name));
      (void)txf_buf_printf(out, ": %s", txf_pq_codec_name(cm->codec));
      for (int e = 0, first = 1; e < 32; e++)
        if (cm->encodings & (1u << e)) {
          (void)txf_buf_printf(out, "%s%s", first ? " [" : ",",
                               txf_pq_encoding_name(e));
          first = 0;
        }
      (void)txf_buf_printf(out, "] %" PRId64 " -> %" PRId64 " bytes",
                           cm->total_uncompressed, cm->total_compressed);
      if (cm->has_stats) {
        const pq_stats *ps = &cm->stats;
        if (ps->has_null_count)
          (void)txf_buf_printf(out, ", nulls %" PRId64, ps->null_count);
        char *mn, *mx;
        stats_min_max(&s->cols[i], &m->schema[i + 1], cm, &mn, &mx);
        if (mn && mx) {
          (void)txf_buf_puts(out, ", min ");
          put_printable(out, mn, strlen(mn));
          (void)txf_buf_puts(out, " max ");
          put_printable(out, mx, strlen(mx));
        }
        free(mn);
        free(mx);
      }
      (void)txf_buf_putc(out, '\n');
    }
  }
  if (m->n_kv) {
    (void)txf_buf_puts(out, "key-value metadata:\n");
    for (uint32_t i = 0; i < m->n_kv; i++) {
      (void)txf_buf_puts(out, "  ");
      put_printable(out, m->kv[i].key, strlen(m->kv[i].key));
      (void)txf_buf_puts(out, " = ");
      const char *v = m->kv[i].value ? m->kv[i].value : "";
      size_t vl = strlen(v);
      put_printable(out, v, vl > 200 ? 200 : vl);
      if (vl > 200)
        (void)txf_buf_printf(out, "... (%zu bytes)", vl);
      (void)txf_buf_putc(out, '\n');
    }
  }
  return 0;
}
