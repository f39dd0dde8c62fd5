/* txnflow land --dry-run: how a file's lines map into silver, and what a
 * clean of it would count, without writing anything. The lines go through
 * the same mapping and validation as clean's (txf_clean_validate_mapped),
 * so what it shows is what clean does. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "clean/internal.h"

static json_t *row_json(const crow *r, const txf_tz *tz) {
  json_t *o = json_object();
  static const char *const snames[S_N] = {"transaction_id", "customer_id",
                                          "card_id", "merchant_id",
                                          "original_transaction_id"};
  for (int k = 0; k < S_ORIG; k++)
    json_object_set_new(o, snames[k], json_stringn(crow_s(r, k), r->len[k]));
  char ts[40], amt[32];
  int off = txf_tz_offset_at(tz, r->txn_ts_us / TXF_US_PER_S) / 60;
  txf_ts_format(r->txn_ts_us, off, 1, ts);
  json_object_set_new(o, "txn_ts", json_string(ts));
  snprintf(amt, sizeof amt, "%lld.%02lld", (long long)(r->amount_minor / 100),
           (long long)(r->amount_minor % 100));
  json_object_set_new(o, "amount", json_string(amt));
  json_object_set_new(o, "currency", json_stringn(r->currency, 3));
  char mcc[8];
  snprintf(mcc, sizeof mcc, "%04u", (unsigned)r->mcc);
  json_object_set_new(o, "mcc", json_string(mcc));
  json_object_set_new(o, "status",
                      json_string(txf_clean_status_names[r->status]));
  json_object_set_new(o, "is_refund", json_boolean(r->is_refund));
  json_object_set_new(o, "channel",
                      json_string(txf_clean_channel_names[r->channel]));
  off = txf_tz_offset_at(tz, r->ingested_at_us / TXF_US_PER_S) / 60;
  txf_ts_format(r->ingested_at_us, off, 1, ts);
  json_object_set_new(o, "ingested_at", json_string(ts));
  json_object_set_new(o, "original_transaction_id",
                      r->has_orig
                          ? json_stringn(crow_s(r, S_ORIG), r->len[S_ORIG])
                          : json_null());
  char d[11];
  txf_date_format((txf_date){r->event_day}, d);
  json_object_set_new(o, "event_date", json_string(d));
  return o;
}

/* A line as JSON text: bytes that are not UTF-8 (the reason it is
 * quarantined) shown as U+FFFD, so the rest of it can still be read. */
static json_t *raw_json(const char *p, size_t n) {
  if (txf_utf8_valid(p, n))
    return json_stringn(p, n);
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < n;) {
    size_t k = 1;
    while (k <= 4 && i + k <= n && !txf_utf8_valid(p + i, k))
      k++;
    if (k <= 4 && i + k <= n) {
      (void)txf_buf_append(&b, p + i, k);
      i += k;
    } else {
      (void)txf_buf_puts(&b, "\xEF\xBF\xBD");
      i++;
    }
  }
  json_t *j = json_stringn(b.data ? b.data : "", b.len);
  txf_buf_release(&b);
  return j;
}

/* Ids seen: open addressing on the id hash (a preview's count; a 64-bit
 * hash collision would only miscount one repeat). */
typedef struct idset {
  uint64_t *v;
  size_t n, mask;
} idset;

static int idset_add(idset *s, uint64_t h) {
  if (h == 0)
    h = 1;
  if (2 * (s->n + 1) > s->mask + 1 || !s->v) {
    size_t cap = s->v ? 2 * (s->mask + 1) : 1024;
    uint64_t *nv = txf_xcalloc(cap, sizeof *nv);
    for (size_t i = 0; s->v && i <= s->mask; i++)
      if (s->v[i]) {
        size_t j = (size_t)s->v[i] & (cap - 1);
        while (nv[j])
          j = (j + 1) & (cap - 1);
        nv[j] = s->v[i];
      }
    free(s->v);
    s->v = nv;
    s->mask = cap - 1;
  }
  size_t j = (size_t)h & s->mask;
  while (s->v[j]) {
    if (s->v[j] == h)
      return 0;
    j = (j + 1) & s->mask;
  }
  s->v[j] = h;
  s->n++;
  return 1;
}

int txf_clean_preview(const txf_clean_preview_opts *o, char **report_json,
                      txf_err *err) {
  *report_json = NULL;
  const txf_feed_format *fmt = o->format;
  txf_tz *tz = NULL;
  int rc = txf_tz_load(&tz, o->timezone, err);
  if (rc)
    return rc;
  txf_csv_reader *rd;
  rc = txf_csv_reader_open_opts(&rd, o->path, fmt ? 0 : TXF_BRONZE_N_COLS,
                                fmt ? &fmt->csv : NULL, err);
  if (rc) {
    txf_tz_free(tz);
    return rc;
  }
  txf_csv_record rec;
  int has, hdr = 1;
  txf_feed_binding b;
  rc = txf_csv_reader_next(rd, &rec, &has, err);
  if (!rc && has && fmt) {
    rc = txf_feed_bind(&b, fmt, &rec, o->path, err);
    if (!rc && !fmt->header) {
      hdr = 0;
      txf_csv_reader_free(rd);
      rd = NULL;
      rc = txf_csv_reader_open_opts(&rd, o->path, b.n_fields, &fmt->csv, err);
    }
    if (!rc)
      txf_csv_reader_expect(rd, b.n_fields);
  }
  json_t *lines = json_array(), *by = json_object();
  int64_t n = 0, valid = 0, quarantined = 0, repeats = 0;
  idset ids = {0};
  txf_arena a;
  txf_arena_init(&a, 1 << 16);
  char detail[512];
  while (!rc && has) {
    rc = txf_csv_reader_next(rd, &rec, &has, err);
    if (rc || !has)
      break;
    n++;
    crow row;
    txf_arena_reset(&a);
    txf_reject_reason why =
        fmt ? txf_clean_validate_mapped(fmt, &b, &rec, &row, &a, tz, detail,
                                        sizeof detail)
            : txf_clean_validate(&rec, &row, &a, tz, detail, sizeof detail);
    if (why == TXF_REJ_NONE) {
      valid++;
      if (!idset_add(&ids, row.idh))
        repeats++;
    } else {
      quarantined++;
      const char *rn = txf_reject_reason_name(why);
      json_object_set_new(
          by, rn,
          json_integer(json_integer_value(json_object_get(by, rn)) + 1));
    }
    if ((size_t)n <= o->n_show) {
      json_t *l = json_pack("{s:I}", "line", (json_int_t)(rec.record_no - hdr));
      json_object_set_new(l, "raw", raw_json(rec.raw, rec.raw_len));
      if (why == TXF_REJ_NONE) {
        json_object_set_new(l, "silver", row_json(&row, tz));
      } else {
        json_object_set_new(l, "reason",
                            json_string(txf_reject_reason_name(why)));
        json_object_set_new(l, "detail", json_string(detail));
      }
      json_array_append_new(lines, l);
    }
  }
  txf_arena_release(&a);
  free(ids.v);
  txf_csv_reader_free(rd);
  txf_tz_free(tz);
  if (rc) {
    json_decref(lines);
    json_decref(by);
    return rc;
  }
  json_t *rep = json_object();
  json_object_set_new(rep, "file", json_string(o->path));
  json_object_set_new(rep, "lines", lines);
  json_object_set_new(rep, "counts",
                      json_pack("{s:I,s:I,s:I,s:o,s:I,s:I}", "lines_read",
                                (json_int_t)n, "valid", (json_int_t)valid,
                                "quarantined", (json_int_t)quarantined,
                                "quarantined_by_reason", by, "distinct_ids",
                                (json_int_t)ids.n, "repeated_ids",
                                (json_int_t)repeats));
  *report_json = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(rep);
  return 0;
}
