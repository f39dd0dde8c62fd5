/* The thrift compact protocol (encoder and a bounds-checked, depth-limited
 * decoder that skips unknown fields) and the Parquet footer structures
 * built on it: FileMetaData, SchemaElement, RowGroup, ColumnChunk,
 * ColumnMetaData, Statistics, LogicalType, KeyValue and PageHeader. */
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_internal.h"

/* ------------------------------------------------------------- encoder */

void txf_pq_tw_init(tw *w, txf_buf *b) {
  w->b = b;
  w->depth = 0;
  w->last[0] = 0;
}

static void put(tw *w, const void *p, size_t n) {
  (void)txf_buf_append(w->b, p, n); /* uncapped: cannot fail */
}

void txf_pq_tw_varint(tw *w, uint64_t v) { txf_pq_varint_put(w->b, v); }

void txf_pq_tw_zigzag(tw *w, int64_t v) {
  txf_pq_tw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void txf_pq_tw_struct_begin(tw *w) {
  if (w->depth + 1 >= TW_MAX_DEPTH)
    abort(); /* our own nesting never gets here */
  w->last[++w->depth] = 0;
}

void txf_pq_tw_struct_end(tw *w) {
  uint8_t z = 0;
  put(w, &z, 1);
  w->depth--;
}

void txf_pq_tw_field(tw *w, int16_t id, int type) {
  int16_t delta = (int16_t)(id - w->last[w->depth]);
  if (delta > 0 && delta <= 15) {
    uint8_t h = (uint8_t)(delta << 4 | type);
    put(w, &h, 1);
  } else {
    uint8_t h = (uint8_t)type;
    put(w, &h, 1);
    txf_pq_tw_zigzag(w, id);
  }
  w->last[w->depth] = id;
}

void txf_pq_tw_i32(tw *w, int16_t id, int32_t v) {
  txf_pq_tw_field(w, id, TC_I32);
  txf_pq_tw_zigzag(w, v);
}

void txf_pq_tw_i64(tw *w, int16_t id, int64_t v) {
  txf_pq_tw_field(w, id, TC_I64);
  txf_pq_tw_zigzag(w, v);
}

void txf_pq_tw_bool(tw *w, int16_t id, int v) {
  txf_pq_tw_field(w, id, v ? TC_TRUE : TC_FALSE);
}

void txf_pq_tw_binary(tw *w, int16_t id, const void *p, size_t n) {
  txf_pq_tw_field(w, id, TC_BINARY);
  txf_pq_tw_varint(w, n);
  put(w, p, n);
}

void txf_pq_tw_string(tw *w, int16_t id, const char *s) {
  txf_pq_tw_binary(w, id, s, strlen(s));
}

void txf_pq_tw_list_begin(tw *w, int16_t id, int elem_type, size_t n) {
  txf_pq_tw_field(w, id, TC_LIST);
  if (n < 15) {
    uint8_t h = (uint8_t)(n << 4 | (size_t)elem_type);
    put(w, &h, 1);
  } else {
    uint8_t h = (uint8_t)(0xf0 | elem_type);
    put(w, &h, 1);
    txf_pq_tw_varint(w, n);
  }
}

void txf_pq_tw_struct_field(tw *w, int16_t id) {
  txf_pq_tw_field(w, id, TC_STRUCT);
  txf_pq_tw_struct_begin(w);
}

/* ------------------------------------------------------------- decoder */

/* Decoder: a bounds-checked cursor. Errors are sticky: after the first,
 * every read returns zeros and tr->err is set. */
#define TR_MAX_DEPTH 32
typedef struct tr {
  const uint8_t *p, *end, *start;
  int depth;
  const char *err; /* static description of the first failure, or NULL */
  size_t err_off;
} tr;

static void tr_init(tr *r, const void *p, size_t n);
/* Read a field header: *type (TC_STOP at the end of a struct) and *id
 * relative to LAST_ID (updated). */
static void tr_field(tr *r, int16_t *last_id, int *type, int16_t *id);
static int64_t tr_zigzag(tr *r);
static uint64_t tr_varint(tr *r);
static int32_t tr_i32(tr *r);
static int64_t tr_i64(tr *r);
/* Binary: borrowed pointer into the input and its length. */
static const uint8_t *tr_binary(tr *r, uint32_t *len);
/* List header: element type and count (count bounded by remaining bytes). */
static void tr_list(tr *r, int *elem_type, uint32_t *n);
static void tr_skip(tr *r, int type);
/* Depth check before a nested struct; 0 = too deep. */
static int tr_enter(tr *r);
static void tr_leave(tr *r);
static void tr_fail(tr *r, const char *why);

static void tr_init(tr *r, const void *p, size_t n) {
  r->start = r->p = p;
  r->end = r->p + n;
  r->depth = 0;
  r->err = NULL;
  r->err_off = 0;
}

static void tr_fail(tr *r, const char *why) {
  if (!r->err) {
    r->err = why;
    r->err_off = (size_t)(r->p - r->start);
  }
  r->p = r->end;
}

static uint8_t byte(tr *r) {
  if (r->p >= r->end) {
    tr_fail(r, "unexpected end of thrift data");
    return 0;
  }
  return *r->p++;
}

static uint64_t tr_varint(tr *r) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (r->err)
      return 0;
    uint8_t b = byte(r);
    if (shift == 63 && (b & 0x7e)) {
      tr_fail(r, "varint overflows 64 bits");
      return 0;
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return v;
  }
  tr_fail(r, "varint too long");
  return 0;
}

static int64_t tr_zigzag(tr *r) {
  uint64_t u = tr_varint(r);
  return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static int32_t tr_i32(tr *r) {
  int64_t v = tr_zigzag(r);
  if (v < INT32_MIN || v > INT32_MAX) {
    tr_fail(r, "i32 out of range");
    return 0;
  }
  return (int32_t)v;
}

static int64_t tr_i64(tr *r) { return tr_zigzag(r); }

static const uint8_t *tr_binary(tr *r, uint32_t *len) {
  uint64_t n = tr_varint(r);
  *len = 0;
  if (r->err)
    return NULL;
  if (n > (uint64_t)(r->end - r->p)) {
    tr_fail(r, "binary length past the end");
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  *len = (uint32_t)n;
  return p;
}

static void tr_field(tr *r, int16_t *last_id, int *type, int16_t *id) {
  uint8_t h = byte(r);
  *type = h & 0x0f;
  *id = 0;
  if (r->err) {
    *type = TC_STOP;
    return;
  }
  if (*type == TC_STOP)
    return;
  int delta = h >> 4;
  if (delta) {
    *id = (int16_t)(*last_id + delta);
  } else {
    int64_t v = tr_zigzag(r);
    if (v < INT16_MIN || v > INT16_MAX) {
      tr_fail(r, "field id out of range");
      *type = TC_STOP;
      return;
    }
    *id = (int16_t)v;
  }
  *last_id = *id;
  if (*type > TC_STRUCT) {
    tr_fail(r, "unknown thrift type");
    *type = TC_STOP;
  }
}

static void tr_list(tr *r, int *elem_type, uint32_t *n) {
  uint8_t h = byte(r);
  *elem_type = h & 0x0f;
  uint64_t cnt = h >> 4;
  if (cnt == 15)
    cnt = tr_varint(r);
  *n = 0;
  if (r->err)
    return;
  /* Every element takes at least one byte, except booleans in lists that
   * also take one; so COUNT cannot exceed the bytes left. */
  if (cnt > (uint64_t)(r->end - r->p)) {
    tr_fail(r, "list longer than the data");
    return;
  }
  if (*elem_type == TC_STOP || *elem_type > TC_STRUCT) {
    tr_fail(r, "bad list element type");
    return;
  }
  *n = (uint32_t)cnt;
}

static int tr_enter(tr *r) {
  if (r->depth >= TR_MAX_DEPTH) {
    tr_fail(r, "thrift nesting too deep");
    return 0;
  }
  r->depth++;
  return 1;
}

static void tr_leave(tr *r) { r->depth--; }

static void tr_skip(tr *r, int type) {
  if (r->err)
    return;
  switch (type) {
  case TC_TRUE:
  case TC_FALSE:
    return;
  case TC_BYTE:
    (void)byte(r);
    return;
  case TC_I16:
  case TC_I32:
  case TC_I64:
    (void)tr_varint(r);
    return;
  case TC_DOUBLE:
    if (r->end - r->p < 8)
      tr_fail(r, "double past the end");
    else
      r->p += 8;
    return;
  case TC_BINARY: {
    uint32_t n;
    (void)tr_binary(r, &n);
    return;
  }
  case TC_LIST:
  case TC_SET: {
    int et;
    uint32_t n;
    tr_list(r, &et, &n);
    if (!tr_enter(r))
      return;
    for (uint32_t i = 0; i < n && !r->err; i++) {
      if (et == TC_TRUE || et == TC_FALSE)
        (void)byte(r); /* list booleans are one byte each */
      else
        tr_skip(r, et);
    }
    tr_leave(r);
    return;
  }
  case TC_MAP: {
    uint64_t n = tr_varint(r);
    if (r->err || n == 0)
      return;
    uint8_t kv = byte(r);
    if (n > (uint64_t)(r->end - r->p)) {
      tr_fail(r, "map longer than the data");
      return;
    }
    if (!tr_enter(r))
      return;
    for (uint64_t i = 0; i < n && !r->err; i++) {
      tr_skip(r, kv >> 4);
      tr_skip(r, kv & 0x0f);
    }
    tr_leave(r);
    return;
  }
  case TC_STRUCT: {
    if (!tr_enter(r))
      return;
    int16_t last = 0;
    for (;;) {
      int t;
      int16_t id;
      tr_field(r, &last, &t, &id);
      if (t == TC_STOP)
        break;
      tr_skip(r, t);
    }
    tr_leave(r);
    return;
  }
  default:
    tr_fail(r, "unknown thrift type");
  }
}

/* ------------------------------------------------------------- footer */

/* Expect TYPE for a known field, else fail (a wrong type means a corrupt or
 * foreign structure; guessing would misread the rest). */
static int want(tr *r, int got, int type) {
  if (got == type)
    return 1;
  if (type == TC_TRUE && (got == TC_TRUE || got == TC_FALSE))
    return 1;
  tr_fail(r, "field has the wrong thrift type");
  return 0;
}

static char *dup_binary(tr *r) {
  uint32_t n;
  const uint8_t *p = tr_binary(r, &n);
  if (!p)
    return txf_xstrdup("");
  return txf_xstrndup((const char *)p, n);
}

static void read_stats(tr *r, pq_stats *s) {
  memset(s, 0, sizeof *s);
  const uint8_t *old_min = NULL, *old_max = NULL;
  uint32_t old_min_len = 0, old_max_len = 0;
  int16_t last = 0;
  if (!tr_enter(r))
    return;
  for (;;) {
    int t;
    int16_t id;
    tr_field(r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    switch (id) {
    case 1: /* max (deprecated) */
      if (want(r, t, TC_BINARY))
        old_max = tr_binary(r, &old_max_len);
      break;
    case 2: /* min (deprecated) */
      if (want(r, t, TC_BINARY))
        old_min = tr_binary(r, &old_min_len);
      break;
    case 3:
      if (want(r, t, TC_I64)) {
        s->null_count = tr_i64(r);
        s->has_null_count = 1;
      }
      break;
    case 5:
      if (want(r, t, TC_BINARY)) {
        s->max = tr_binary(r, &s->max_len);
        s->has_max = 1;
      }
      break;
    case 6:
      if (want(r, t, TC_BINARY)) {
        s->min = tr_binary(r, &s->min_len);
        s->has_min = 1;
      }
      break;
    default:
      tr_skip(r, t);
    }
  }
  tr_leave(r);
  /* The deprecated fields use signed byte-wise order for strings; we only
   * fall back to them for display, never for pruning decisions. */
  if (!s->has_min && old_min) {
    s->min = old_min;
    s->min_len = old_min_len;
    s->has_min = 1;
  }
  if (!s->has_max && old_max) {
    s->max = old_max;
    s->max_len = old_max_len;
    s->has_max = 1;
  }
}

/* An empty struct (or one we ignore entirely). */
static void read_unit(tr *r) { tr_skip(r, TC_STRUCT); }

static void read_logical(tr *r, pq_schema_el *e) {
  int16_t last = 0;
  if (!tr_enter(r))
    return;
  e->logical = PQL_OTHER;
  for (;;) {
    int t;
    int16_t id;
    tr_field(r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    if (t != TC_STRUCT) {
      tr_skip(r, t);
      continue;
    }
    e->logical_id = id;
    switch (id) {
    case PQL_STRING:
    case PQL_ENUM:
    case PQL_DATE:
    case PQL_JSON:
      e->logical = id;
      read_unit(r);
      break;
    case PQL_DECIMAL:
    case PQL_TIMESTAMP:
    case PQL_TIME:
    case PQL_INTEGER: {
      e->logical = id;
      int16_t l2 = 0;
      if (!tr_enter(r))
        break;
      for (;;) {
        int t2;
        int16_t id2;
        tr_field(r, &l2, &t2, &id2);
        if (t2 == TC_STOP)
          break;
        if (id == PQL_DECIMAL && id2 == 1 && want(r, t2, TC_I32))
          e->l_scale = tr_i32(r);
        else if (id == PQL_DECIMAL && id2 == 2 && want(r, t2, TC_I32))
          e->l_precision = tr_i32(r);
        else if ((id == PQL_TIMESTAMP || id == PQL_TIME) && id2 == 1 &&
                 want(r, t2, TC_TRUE))
          e->l_adjusted = t2 == TC_TRUE;
        else if ((id == PQL_TIMESTAMP || id == PQL_TIME) && id2 == 2 &&
                 want(r, t2, TC_STRUCT)) {
          /* TimeUnit union: the member's id is the unit. */
          int16_t l3 = 0;
          if (!tr_enter(r))
            break;
          for (;;) {
            int t3;
            int16_t id3;
            tr_field(r, &l3, &t3, &id3);
            if (t3 == TC_STOP)
              break;
            if (t3 == TC_STRUCT && id3 >= 1 && id3 <= 3)
              e->l_unit = id3;
            tr_skip(r, t3);
          }
          tr_leave(r);
        } else if (id == PQL_INTEGER && id2 == 1 && want(r, t2, TC_BYTE))
          e->l_bits = (int8_t)byte(r);
        else if (id == PQL_INTEGER && id2 == 2 && want(r, t2, TC_TRUE))
          e->l_signed = t2 == TC_TRUE;
        else
          tr_skip(r, t2);
      }
      tr_leave(r);
      break;
    }
    default:
      read_unit(r);
    }
  }
  tr_leave(r);
}

static void read_schema_el(tr *r, pq_schema_el *e) {
  memset(e, 0, sizeof *e);
  e->converted = -1;
  int16_t last = 0;
  if (!tr_enter(r))
    return;
  for (;;) {
    int t;
    int16_t id;
    tr_field(r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    switch (id) {
    case 1:
      if (want(r, t, TC_I32)) {
        e->type = tr_i32(r);
        e->has_type = 1;
      }
      break;
    case 2:
      if (want(r, t, TC_I32))
        e->type_length = tr_i32(r);
      break;
    case 3:
      if (want(r, t, TC_I32)) {
        e->repetition = tr_i32(r);
        e->has_repetition = 1;
      }
      break;
    case 4:
      if (want(r, t, TC_BINARY)) {
        free(e->name);
        e->name = dup_binary(r);
      }
      break;
    case 5:
      if (want(r, t, TC_I32))
        e->num_children = tr_i32(r);
      break;
    case 6:
      if (want(r, t, TC_I32))
        e->converted = tr_i32(r);
      break;
    case 7:
      if (want(r, t, TC_I32))
        e->scale = tr_i32(r);
      break;
    case 8:
      if (want(r, t, TC_I32))
        e->precision = tr_i32(r);
      break;
    case 10:
      if (want(r, t, TC_STRUCT))
        read_logical(r, e);
      break;
    default:
      tr_skip(r, t);
    }
  }
  tr_leave(r);
  if (!e->name)
    e->name = txf_xstrdup("");
}

static void read_colmeta(tr *r, pq_colmeta *c) {
  int16_t last = 0;
  if (!tr_enter(r))
    return;
  for (;;) {
    int t;
    int16_t id;
    tr_field(r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    switch (id) {
    case 1:
      if (want(r, t, TC_I32))
        c->type = tr_i32(r);
      break;
    case 2:
      if (want(r, t, TC_LIST)) {
        int et;
        uint32_t n;
        tr_list(r, &et, &n);
        for (uint32_t i = 0; i < n && !r->err; i++) {
          if (et != TC_I32) {
            tr_skip(r, et);
            continue;
          }
          int32_t e = tr_i32(r);
          if (e >= 0 && e < 32)
            c->encodings |= 1u << e;
        }
      }
      break;
    case 3:
      if (want(r, t, TC_LIST)) {
        int et;
        uint32_t n;
        tr_list(r, &et, &n);
        txf_buf b;
        txf_buf_init(&b, 0);
        for (uint32_t i = 0; i < n && !r->err; i++) {
          if (et != TC_BINARY) {
            tr_fail(r, "path_in_schema is not a list of strings");
            break;
          }
          uint32_t len;
          const uint8_t *s = tr_binary(r, &len);
          if (i)
            (void)txf_buf_putc(&b, '.');
          if (s)
            (void)txf_buf_append(&b, s, len);
        }
        free(c->path);
        c->path = txf_buf_take(&b, NULL);
        c->path_len = (int)n;
      }
      break;
    case 4:
      if (want(r, t, TC_I32))
        c->codec = tr_i32(r);
      break;
    case 5:
      if (want(r, t, TC_I64))
        c->num_values = tr_i64(r);
      break;
    case 6:
      if (want(r, t, TC_I64))
        c->total_uncompressed = tr_i64(r);
      break;
    case 7:
      if (want(r, t, TC_I64))
        c->total_compressed = tr_i64(r);
      break;
    case 9:
      if (want(r, t, TC_I64))
        c->data_page_offset = tr_i64(r);
      break;
    case 11:
      if (want(r, t, TC_I64)) {
        c->dict_page_offset = tr_i64(r);
        c->has_dict_offset = 1;
      }
      break;
    case 12:
      if (want(r, t, TC_STRUCT)) {
        read_stats(r, &c->stats);
        c->has_stats = 1;
      }
      break;
    default:
      tr_skip(r, t);
    }
  }
  tr_leave(r);
}

static void read_column_chunk(tr *r, pq_colmeta *c) {
  int16_t last = 0;
  int has_meta = 0;
  if (!tr_enter(r))
    return;
  for (;;) {
    int t;
    int16_t id;
    tr_field(r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    if (id == 1 && t == TC_BINARY) {
      tr_fail(r, "column chunk in another file (file_path) is not supported");
      break;
    } else if (id == 3 && want(r, t, TC_STRUCT)) {
      read_colmeta(r, c);
      has_meta = 1;
    } else if (id == 8 || id == 9) {
      tr_fail(r, "encrypted column is not supported");
      break;
    } else {
      tr_skip(r, t);
    }
  }
  tr_leave(r);
  if (!has_meta)
    tr_fail(r, "column chunk without meta_data");
}

static void read_rowgroup(tr *r, pq_rowgroup *g) {
  int16_t last = 0;
  if (!tr_enter(r))
    return;
  for (;;) {
    int t;
    int16_t id;
    tr_field(r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    switch (id) {
    case 1:
      if (want(r, t, TC_LIST)) {
        int et;
        uint32_t n;
        tr_list(r, &et, &n);
        if (r->err)
          break;
        if (et != TC_STRUCT) {
          tr_fail(r, "row group columns is not a list of structs");
          break;
        }
        if (g->cols) {
          tr_fail(r, "row group columns given twice");
          break;
        }
        g->cols = txf_xcalloc(n ? n : 1, sizeof *g->cols);
        g->n_cols = n;
        for (uint32_t i = 0; i < n && !r->err; i++)
          read_column_chunk(r, &g->cols[i]);
      }
      break;
    case 2:
      if (want(r, t, TC_I64))
        g->total_byte_size = tr_i64(r);
      break;
    case 3:
      if (want(r, t, TC_I64))
        g->num_rows = tr_i64(r);
      break;
    case 6:
      if (want(r, t, TC_I64))
        g->total_compressed = tr_i64(r);
      break;
    default:
      tr_skip(r, t);
    }
  }
  tr_leave(r);
}

static void read_kv(tr *r, pq_kv *kv) {
  int16_t last = 0;
  if (!tr_enter(r))
    return;
  for (;;) {
    int t;
    int16_t id;
    tr_field(r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    if (id == 1 && want(r, t, TC_BINARY)) {
      free(kv->key);
      kv->key = dup_binary(r);
    } else if (id == 2 && want(r, t, TC_BINARY)) {
      free(kv->value);
      kv->value = dup_binary(r);
    } else {
      tr_skip(r, t);
    }
  }
  tr_leave(r);
  if (!kv->key)
    kv->key = txf_xstrdup("");
}

void txf_pq_filemeta_release(pq_filemeta *m) {
  for (uint32_t i = 0; i < m->n_schema; i++)
    free(m->schema[i].name);
  free(m->schema);
  for (uint32_t i = 0; i < m->n_rgs; i++) {
    for (uint32_t j = 0; j < m->rgs[i].n_cols; j++)
      free(m->rgs[i].cols[j].path);
    free(m->rgs[i].cols);
  }
  free(m->rgs);
  for (uint32_t i = 0; i < m->n_kv; i++) {
    free(m->kv[i].key);
    free(m->kv[i].value);
  }
  free(m->kv);
  free(m->created_by);
  memset(m, 0, sizeof *m);
}

int txf_pq_filemeta_parse(pq_filemeta *m, const void *p, size_t n,
                          txf_err *err) {
  memset(m, 0, sizeof *m);
  tr r;
  tr_init(&r, p, n);
  int16_t last = 0;
  int seen_schema = 0, seen_rows = 0, seen_rgs = 0;
  r.depth = 1;
  for (;;) {
    int t;
    int16_t id;
    tr_field(&r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    int et;
    uint32_t cnt;
    switch (id) {
    case 1:
      if (want(&r, t, TC_I32))
        m->version = tr_i32(&r);
      break;
    case 2:
      if (!want(&r, t, TC_LIST))
        break;
      tr_list(&r, &et, &cnt);
      if (r.err)
        break;
      if (et != TC_STRUCT || seen_schema) {
        tr_fail(&r, "bad schema list");
        break;
      }
      seen_schema = 1;
      m->schema = txf_xcalloc(cnt ? cnt : 1, sizeof *m->schema);
      for (uint32_t i = 0; i < cnt && !r.err; i++) {
        read_schema_el(&r, &m->schema[i]);
        m->n_schema = i + 1;
      }
      break;
    case 3:
      if (want(&r, t, TC_I64)) {
        m->num_rows = tr_i64(&r);
        seen_rows = 1;
      }
      break;
    case 4:
      if (!want(&r, t, TC_LIST))
        break;
      tr_list(&r, &et, &cnt);
      if (r.err)
        break;
      if (et != TC_STRUCT || seen_rgs) {
        tr_fail(&r, "bad row_groups list");
        break;
      }
      seen_rgs = 1;
      m->rgs = txf_xcalloc(cnt ? cnt : 1, sizeof *m->rgs);
      for (uint32_t i = 0; i < cnt && !r.err; i++) {
        m->n_rgs = i + 1;
        read_rowgroup(&r, &m->rgs[i]);
      }
      break;
    case 5:
      if (!want(&r, t, TC_LIST))
        break;
      tr_list(&r, &et, &cnt);
      if (r.err)
        break;
      if (et != TC_STRUCT || m->kv) {
        tr_fail(&r, "bad key_value_metadata list");
        break;
      }
      m->kv = txf_xcalloc(cnt ? cnt : 1, sizeof *m->kv);
      for (uint32_t i = 0; i < cnt && !r.err; i++) {
        m->n_kv = i + 1;
        read_kv(&r, &m->kv[i]);
      }
      break;
    case 6:
      if (want(&r, t, TC_BINARY)) {
        free(m->created_by);
        m->created_by = dup_binary(&r);
      }
      break;
    case 8:
    case 9:
      tr_fail(&r, "encrypted footer is not supported");
      break;
    default:
      tr_skip(&r, t);
    }
  }
  if (!r.err && (!seen_schema || !seen_rows || !seen_rgs))
    tr_fail(&r, "FileMetaData lacks schema, num_rows or row_groups");
  if (r.err) {
    int code = strstr(r.err, "not supported") ? TXF_EUNSUPPORTED : TXF_ECORRUPT;
    txf_err_set(err, code, "footer: %s at byte %zu of %zu", r.err, r.err_off,
                n);
    txf_pq_filemeta_release(m);
    return code;
  }
  return 0;
}

int txf_pq_page_header_parse(pq_page_header *h, const void *p, size_t n,
                             size_t *used, txf_err *err) {
  memset(h, 0, sizeof *h);
  h->type = -1;
  h->is_compressed = 1;
  h->encoding = -1;
  tr r;
  tr_init(&r, p, n);
  r.depth = 1;
  int16_t last = 0;
  int seen[4] = {0, 0, 0, 0};
  for (;;) {
    int t;
    int16_t id;
    tr_field(&r, &last, &t, &id);
    if (t == TC_STOP)
      break;
    if (id == 1 && want(&r, t, TC_I32)) {
      h->type = tr_i32(&r);
      seen[0] = 1;
    } else if (id == 2 && want(&r, t, TC_I32)) {
      h->uncompressed_size = tr_i32(&r);
      seen[1] = 1;
    } else if (id == 3 && want(&r, t, TC_I32)) {
      h->compressed_size = tr_i32(&r);
      seen[2] = 1;
    } else if (id == 4 && want(&r, t, TC_I32)) {
      h->crc = (uint32_t)tr_i32(&r);
      h->has_crc = 1;
    } else if ((id == 5 || id == 7 || id == 8) && want(&r, t, TC_STRUCT)) {
      seen[3] = 1;
      int16_t l2 = 0;
      if (!tr_enter(&r))
        break;
      for (;;) {
        int t2;
        int16_t id2;
        tr_field(&r, &l2, &t2, &id2);
        if (t2 == TC_STOP)
          break;
        if (id2 == 1 && want(&r, t2, TC_I32))
          h->num_values = tr_i32(&r);
        else if (id == 5 && id2 == 2 && want(&r, t2, TC_I32))
          h->encoding = tr_i32(&r);
        else if (id == 5 && id2 == 3 && want(&r, t2, TC_I32))
          h->def_encoding = tr_i32(&r);
        else if (id == 5 && id2 == 5 && want(&r, t2, TC_STRUCT)) {
          read_stats(&r, &h->stats);
          h->has_stats = 1;
        } else if (id == 7 && id2 == 2 && want(&r, t2, TC_I32))
          h->encoding = tr_i32(&r);
        else if (id == 8 && id2 == 2 && want(&r, t2, TC_I32))
          h->num_nulls = tr_i32(&r);
        else if (id == 8 && id2 == 3 && want(&r, t2, TC_I32))
          h->num_rows = tr_i32(&r);
        else if (id == 8 && id2 == 4 && want(&r, t2, TC_I32))
          h->encoding = tr_i32(&r);
        else if (id == 8 && id2 == 5 && want(&r, t2, TC_I32))
          h->def_len = tr_i32(&r);
        else if (id == 8 && id2 == 6 && want(&r, t2, TC_I32))
          h->rep_len = tr_i32(&r);
        else if (id == 8 && id2 == 7 && want(&r, t2, TC_TRUE))
          h->is_compressed = t2 == TC_TRUE;
        else if (id == 8 && id2 == 8 && want(&r, t2, TC_STRUCT)) {
          read_stats(&r, &h->stats);
          h->has_stats = 1;
        } else
          tr_skip(&r, t2);
      }
      tr_leave(&r);
    } else {
      tr_skip(&r, t);
    }
  }
  if (!r.err && (!seen[0] || !seen[1] || !seen[2]))
    tr_fail(&r, "page header lacks type or sizes");
  if (!r.err && (h->uncompressed_size < 0 || h->compressed_size < 0 ||
                 h->num_values < 0 || h->def_len < 0 || h->rep_len < 0 ||
                 h->num_nulls < 0))
    tr_fail(&r, "negative size in page header");
  if (r.err)
    return txf_err_set(err, TXF_ECORRUPT, "page header: %s at byte %zu",
                       r.err, r.err_off);
  *used = (size_t)(r.p - r.start);
  return 0;
}

/* ------------------------------------------------------------- names */

const char *txf_pq_type_name(int t) {
  static const char *const n[] = {"BOOLEAN", "INT32",  "INT64",
                                  "INT96",   "FLOAT",  "DOUBLE",
                                  "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && t < 8 ? n[t] : "?";
}

const char *txf_pq_encoding_name(int e) {
  static const char *const n[] = {"PLAIN",
                                  "GROUP_VAR_INT",
                                  "PLAIN_DICTIONARY",
                                  "RLE",
                                  "BIT_PACKED",
                                  "DELTA_BINARY_PACKED",
                                  "DELTA_LENGTH_BYTE_ARRAY",
                                  "DELTA_BYTE_ARRAY",
                                  "RLE_DICTIONARY",
                                  "BYTE_STREAM_SPLIT"};
  return e >= 0 && e < 10 ? n[e] : "?";
}

const char *txf_pq_codec_name(int c) {
  static const char *const n[] = {"UNCOMPRESSED", "SNAPPY", "GZIP",
                                  "LZO",          "BROTLI", "LZ4",
                                  "ZSTD",         "LZ4_RAW"};
  return c >= 0 && c < 8 ? n[c] : "?";
}

const char *txf_pq_txf_type_name(txf_pq_type t) {
  static const char *const n[] = {[TXF_PQ_BOOLEAN] = "BOOLEAN",
                                  [TXF_PQ_INT32] = "INT32",
                                  [TXF_PQ_INT64] = "INT64",
                                  [TXF_PQ_DOUBLE] = "DOUBLE",
                                  [TXF_PQ_STRING] = "STRING",
                                  [TXF_PQ_DATE] = "DATE",
                                  [TXF_PQ_TIMESTAMP_US] = "TIMESTAMP",
                                  [TXF_PQ_DECIMAL] = "DECIMAL"};
  return (size_t)t < TXF_ARRAY_LEN(n) ? n[t] : "?";
}
