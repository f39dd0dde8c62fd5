/* txnflow audit: check the silver lake (docs/silver.md, "Audit").
 *
 * 1. Silver as DuckDB reads it: one row per transaction_id, every row in
 *    the partition of its event date.
 * 2. Every successful clean in the metadata database reconciles.
 * 3. The expected lake, recomputed from the batches those cleans read
 *    (and, for synthetic batches, the generator's truth about which lines
 *    are malformed): for each id the valid line with the greatest
 *    ingested_at. Silver must hold exactly those ids with exactly that
 *    content. Reading silver through DuckDB, not our own reader, makes
 *    this an independent check of the codec too. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "clean/internal.h"
#include "duck/duck.h"
#include "pan/pan.h"

typedef struct expect {
  crow *rows;
  size_t n, cap;
  txf_arena strings;
  csources src;
  const txf_pan_key *key; /* a card feed's (NULL: none given) */
} expect;

typedef struct findings {
  int64_t silver_rows, duplicate_ids, wrong_partition;
  int64_t runs_checked, runs_not_reconciled;
  int64_t expected_rows, missing, extra, stale_versions, field_mismatches,
      lineage_mismatches, validation_mismatches;
  int64_t checksum_mismatches, index_mismatches;
  json_t *diffs;
  size_t max_diffs;
} findings;

static void diff(findings *f, const char *fmt, ...) TXF_PRINTF(2, 3);
static void diff(findings *f, const char *fmt, ...) {
  if (json_array_size(f->diffs) >= f->max_diffs)
    return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  json_array_append_new(f->diffs, json_string(buf));
}

/* S as readable text (control characters and bytes that are not UTF-8
 * escaped, cut after 120 bytes) in BUF: what silver holds may be damaged. */
static const char *shown(const char *s, char buf[512]) {
  return s ? txf_clean_escape(s, strlen(s), 120, buf, 512) : "NULL";
}

/* The event date of TS in TZ as text into OUT (returns 1), or, when no
 * calendar date of 4-digit year shows it (a damaged file), the raw value
 * (returns 0). */
static int event_date(const txf_tz *tz, int64_t ts, char out[64]) {
  /* beyond +-10,000 years the zone arithmetic itself would overflow */
  const int64_t lim = INT64_C(10000) * 366 * TXF_US_PER_DAY;
  if (ts > -lim && ts < lim) {
    txf_date d = txf_tz_local_date(tz, ts);
    int y, m, dd;
    txf_date_to_ymd(d, &y, &m, &dd);
    if (y >= 1 && y <= 9999) {
      txf_date_format(d, out);
      return 1;
    }
  }
  snprintf(out, 64, "out of range (txn_ts %lld us)", (long long)ts);
  return 0;
}

static void note_checksum(void *ctx, const char *text) {
  findings *f = ctx;
  diff(f, "%s", text);
}

/* The index against silver: every row's (id hash, partition) pair in it,
 * and no other (SILVER, IDX: both sorted). A pair missing makes the id
 * look new to the next clean (a duplicate); an extra one sends it to
 * read a partition for nothing. */
static void check_index(findings *f, const loc_ent *silver, size_t ns,
                        const loc_ent *idx, size_t ni) {
  size_t i = 0, j = 0;
  while (i < ns || j < ni) {
    int c = i == ns   ? 1
            : j == ni ? -1
            : silver[i].idh != idx[j].idh
                ? (silver[i].idh < idx[j].idh ? -1 : 1)
                : (silver[i].day > idx[j].day) - (silver[i].day < idx[j].day);
    if (c == 0) {
      i++;
      j++;
      continue;
    }
    const loc_ent *e = c < 0 ? &silver[i++] : &idx[j++];
    char ds[11];
    f->index_mismatches++;
    diff(f, "index: id hash %016llx in partition %s %s",
         (unsigned long long)e->idh, txf_date_format((txf_date){e->day}, ds),
         c < 0 ? "is in silver but not in the index"
               : "is in the index but no silver row has it");
  }
}

/* Truth of one batch: kind per (file basename, line). */
typedef struct truth_line {
  char *file;
  int64_t line;
  int malformed;
} truth_line;

static int cmp_truth(const void *pa, const void *pb) {
  const truth_line *a = pa, *b = pb;
  int c = strcmp(a->file, b->file);
  if (c)
    return c;
  return a->line < b->line ? -1 : a->line > b->line;
}

static int load_truth(const char *path, truth_line **out, size_t *n_out,
                      txf_err *err) {
  *out = NULL;
  *n_out = 0;
  txf_csv_reader *rd;
  int rc = txf_csv_reader_open(&rd, path, 5, err);
  if (rc)
    return rc;
  txf_csv_record rec;
  int has;
  size_t n = 0, cap = 0;
  truth_line *v = NULL;
  rc = txf_csv_reader_next(rd, &rec, &has, err); /* header */
  while (!rc) {
    rc = txf_csv_reader_next(rd, &rec, &has, err);
    if (rc || !has)
      break;
    if (rec.n_fields < 4)
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 1024;
      v = txf_xrealloc(v, cap * sizeof *v);
    }
    char num[32];
    size_t l = rec.field_len[1] < 31 ? rec.field_len[1] : 31;
    memcpy(num, rec.field[1], l);
    num[l] = '\0';
    v[n].file = txf_xstrndup(rec.field[0], rec.field_len[0]);
    v[n].line = atoll(num);
    v[n].malformed = rec.field_len[3] == 9 &&
                     memcmp(rec.field[3], "malformed", 9) == 0;
    n++;
  }
  txf_csv_reader_free(rd);
  qsort(v, n, sizeof *v, cmp_truth);
  *out = v;
  *n_out = n;
  return rc;
}

static const truth_line *find_truth(const truth_line *v, size_t n,
                                    const char *file, int64_t line) {
  truth_line key = {(char *)file, line, 0};
  return bsearch(&key, v, n, sizeof *v, cmp_truth);
}

/* Read one batch file into EX, checking validation against truth. */
static int read_batch_file(expect *ex, const txf_tz *tz,
                           const txf_feed_format *fmt, const char *abs,
                           const char *rel, int32_t ingest_day,
                           const truth_line *tv, size_t tn, findings *f,
                           txf_err *err) {
  txf_csv_reader *rd;
  int rc = txf_csv_reader_open_opts(&rd, abs, fmt ? 0 : TXF_BRONZE_N_COLS,
                                    fmt ? &fmt->csv : NULL, err);
  if (rc)
    return rc;
  txf_feed_binding binding;
  int hdr = 1;
  const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
  uint32_t si =
      txf_clean_sources_intern(&ex->src, rel, strlen(rel), ingest_day);
  txf_csv_record rec;
  int has;
  char detail[160];
  rc = txf_csv_reader_next(rd, &rec, &has, err); /* header */
  /* a card feed's batch is validated as clean does it, tokens included
   * (the tie rule compares content hashes, which hold them) */
  int cards = !rc && !fmt && has && txf_clean_header_cards(&rec);
  if (cards && !ex->key)
    rc = txf_err_set(err, TXF_ECONFIG,
                     "%s: the feed has a card_number column: the audit needs "
                     "the card number key as clean does (TXNFLOW_PAN_KEY_FILE "
                     "or TXNFLOW_PAN_KEY)",
                     rel);
  if (cards)
    txf_csv_reader_expect(rd, TXF_BRONZE_N_COLS + 1);
  if (!rc && fmt && has) {
    rc = txf_feed_bind(&binding, fmt, &rec, abs, err);
    if (!rc && !fmt->header) { /* that was data: read it again */
      hdr = 0;
      txf_csv_reader_free(rd);
      rd = NULL;
      rc = txf_csv_reader_open_opts(&rd, abs, binding.n_fields, &fmt->csv, err);
    }
    if (!rc)
      txf_csv_reader_expect(rd, binding.n_fields);
  }
  while (!rc && has) {
    rc = txf_csv_reader_next(rd, &rec, &has, err);
    if (rc || !has)
      break;
    if (ex->n == ex->cap) {
      ex->cap = ex->cap ? 2 * ex->cap : 4096;
      ex->rows = txf_xrealloc(ex->rows, ex->cap * sizeof *ex->rows);
    }
    crow *row = &ex->rows[ex->n];
    txf_reject_reason why =
        fmt ? txf_clean_validate_mapped(fmt, &binding, &rec, row, &ex->strings,
                                        tz, detail, sizeof detail)
        : cards ? txf_clean_validate_card(&rec, row, &ex->strings, tz, ex->key,
                                          detail, sizeof detail)
                : txf_clean_validate(&rec, row, &ex->strings, tz, detail,
                                     sizeof detail);
    if (why != TXF_REJ_NONE) /* shown in the findings */
      txf_pan_mask_text(detail, strlen(detail),
                        cards ? TXF_PAN_MASK_ANY : TXF_PAN_MASK_FOUND);
    if (why == TXF_REJ_NONE)
      txf_clean_rec_hash(row); /* versions compare by it */
    int64_t line = rec.record_no - hdr;
    if (tv) {
      const truth_line *t = find_truth(tv, tn, base, line);
      if (!t) {
        f->validation_mismatches++;
        diff(f, "%s:%lld: line not in the truth file", rel, (long long)line);
      } else if (t->malformed && why == TXF_REJ_NONE) {
        f->validation_mismatches++;
        diff(f, "%s:%lld: malformed line (truth) was accepted", rel,
             (long long)line);
      } else if (!t->malformed && why != TXF_REJ_NONE) {
        f->validation_mismatches++;
        diff(f, "%s:%lld: valid line (truth) rejected as %s: %s", rel,
             (long long)line, txf_reject_reason_name(why), detail);
      }
    }
    if (why == TXF_REJ_NONE) {
      row->src = si;
      row->rec = (uint32_t)line;
      ex->n++;
    }
  }
  txf_csv_reader_free(rd);
  return rc;
}

static int cmp_expect(const void *pa, const void *pb) {
  const crow *a = pa, *b = pb;
  size_t la = a->len[S_ID], lb = b->len[S_ID];
  int c = memcmp(a->str, b->str, la < lb ? la : lb);
  if (c)
    return c;
  if (la != lb)
    return la < lb ? -1 : 1;
  c = txf_clean_version_cmp(a, b);
  return -c;
}

/* Lineage order among equal content: earliest ingest day, then path. */
static int lineage_before(const csources *s, const crow *a, const crow *b) {
  const csource *x = &s->v[a->src], *y = &s->v[b->src];
  if (x->ingest_day != y->ingest_day)
    return x->ingest_day < y->ingest_day;
  return strcmp(x->path, y->path) < 0;
}

static int build_expected(const char *data_dir, txf_store *store,
                          const txf_tz *tz, const txf_feed_format *fmt,
                          expect *ex, findings *f, txf_err *err) {
  /* every successful clean; the latest of each ingestion date wins */
  txf_meta_clean_query q = {NULL, NULL, 0};
  txf_meta_clean_run_list runs;
  int rc = txf_meta_clean_runs_succeeded(store, &q, &runs, err);
  if (rc)
    return rc;
  json_t *latest = json_object();
  for (size_t i = 0; i < runs.n; i++) {
    const txf_meta_clean_run *c = &runs.v[i];
    f->runs_checked++;
    int64_t v[6] = {c->lines_read, c->inserted, c->updated,
                    c->duplicates, c->stale,    c->quarantined};
    if (v[0] != v[1] + v[2] + v[3] + v[4] + v[5]) {
      f->runs_not_reconciled++;
      diff(f, "clean of %s does not reconcile: %lld read, %lld accounted",
           c->ingest_date, (long long)v[0],
           (long long)(v[1] + v[2] + v[3] + v[4] + v[5]));
    }
    json_error_t je;
    json_t *j = c->details_json ? json_loads(c->details_json, 0, &je) : NULL;
    if (c->ingest_date && j)
      json_object_set_new(latest, c->ingest_date, j);
    else
      json_decref(j);
  }
  txf_meta_clean_run_list_release(&runs);
  const char *d;
  json_t *j;
  json_object_foreach(latest, d, j) {
    txf_date day;
    if (txf_date_parse(d, SIZE_MAX, &day))
      continue;
    char *tpath = txf_xasprintf("%s/truth/transactions/ingest_date=%s/"
                                "lines.csv",
                                data_dir, d);
    truth_line *tv = NULL;
    size_t tn = 0;
    int has_truth = txf_fs_exists(tpath);
    if (has_truth && !txf_truth_tied(data_dir, day)) {
      /* an interrupted generate not settled yet: that truth is another
       * batch's, so lines are judged by validation alone */
      diff(f, "note: the truth of %s belongs to another bronze batch "
              "(an interrupted generate; rerun it): not used",
           d);
      has_truth = 0;
    }
    if (has_truth)
      rc = load_truth(tpath, &tv, &tn, err);
    free(tpath);
    size_t i;
    json_t *file;
    json_array_foreach(json_object_get(j, "files"), i, file) {
      if (rc)
        break;
      const char *rel = json_string_value(json_object_get(file, "path"));
      if (!rel)
        continue;
      char *abs = rel[0] == '/' ? txf_xstrdup(rel)
                                : txf_path_join(data_dir, rel);
      rc = read_batch_file(ex, tz, fmt, abs, rel, day.days,
                           has_truth ? tv : NULL, tn, f, err);
      free(abs);
    }
    for (size_t k = 0; k < tn; k++)
      free(tv[k].file);
    free(tv);
    if (rc)
      break;
  }
  json_decref(latest);
  if (rc)
    return rc;
  /* for each id: the best version; lineage the earliest equal copy */
  qsort(ex->rows, ex->n, sizeof *ex->rows, cmp_expect);
  size_t w = 0;
  for (size_t i = 0; i < ex->n;) {
    size_t k = i + 1;
    crow best = ex->rows[i];
    while (k < ex->n && ex->rows[k].len[S_ID] == best.len[S_ID] &&
           memcmp(ex->rows[k].str, best.str, best.len[S_ID]) == 0) {
      if (txf_clean_version_cmp(&ex->rows[k], &best) == 0 &&
          lineage_before(&ex->src, &ex->rows[k], &best))
        best.src = ex->rows[k].src;
      k++;
    }
    ex->rows[w++] = best;
    i = k;
  }
  ex->n = w;
  f->expected_rows = (int64_t)w;
  return 0;
}

static void fmt_amount(int64_t minor, char *out) {
  sprintf(out, "%lld.%02lld", (long long)(minor / 100),
          (long long)(minor % 100));
}

static int compare_row(const crow *e, const expect *ex, duckdb_result *res,
                       idx_t r, findings *f) {
  char buf[64];
  const char *id = e->str;
  int id_len = e->len[S_ID];
  char *got[15];
  for (idx_t c = 0; c < 15; c++)
    got[c] = duckdb_value_is_null(res, c, r) ? NULL
                                             : duckdb_value_varchar(res, c, r);
  int64_t got_ing = duckdb_value_int64(res, 11, r);
  int bad = 0;
  if (got_ing < e->ingested_at_us) {
    f->stale_versions++;
    diff(f, "%.*s: silver holds the version ingested at %lld, want %lld",
         id_len, id, (long long)got_ing, (long long)e->ingested_at_us);
    bad = 1;
  } else {
    const char *want[15];
    char ts[32], ing[32], amt[32], mcc[8], cur[4], day[11];
    const char *s = e->str;
    char *strs[5];
    for (int k = 0; k < 5; k++) {
      strs[k] = txf_xstrndup(s, e->len[k]);
      s += e->len[k];
    }
    sprintf(ts, "%lld", (long long)e->txn_ts_us);
    sprintf(ing, "%lld", (long long)e->ingested_at_us);
    fmt_amount(e->amount_minor, amt);
    sprintf(mcc, "%04u", e->mcc);
    memcpy(cur, e->currency, 3);
    cur[3] = '\0';
    want[0] = strs[0];
    want[1] = strs[1];
    want[2] = strs[2];
    want[3] = strs[3];
    want[4] = ts;
    want[5] = amt;
    want[6] = cur;
    want[7] = mcc;
    want[8] = txf_clean_status_names[e->status];
    want[9] = e->is_refund ? "true" : "false";
    want[10] = txf_clean_channel_names[e->channel];
    want[11] = ing;
    want[12] = e->has_orig ? strs[4] : NULL;
    want[13] = ex->src.v[e->src].path;
    want[14] = txf_date_format((txf_date){ex->src.v[e->src].ingest_day}, day);
    static const char *const names[15] = {
        "transaction_id", "customer_id", "card_id", "merchant_id", "txn_ts",
        "amount", "currency", "mcc", "status", "is_refund", "channel",
        "ingested_at", "original_transaction_id", "source_file",
        "ingest_date"};
    for (int c = 0; c < 15; c++) {
      int same = (!want[c] && !got[c]) ||
                 (want[c] && got[c] && strcmp(want[c], got[c]) == 0);
      if (same)
        continue;
      if (c >= 13)
        f->lineage_mismatches++;
      else
        f->field_mismatches++;
      char gb[512], wb[512];
      diff(f, "%.*s: %s is '%s', want '%s'", id_len, id, names[c],
           shown(got[c], gb), shown(want[c], wb));
      bad = 1;
      break;
    }
    for (int k = 0; k < 5; k++)
      free(strs[k]);
    (void)buf;
  }
  for (int c = 0; c < 15; c++)
    duckdb_free(got[c]);
  return bad;
}

int txf_audit_run(const txf_audit_opts *o, txf_store *store,
                  char **report_json, txf_err *err) {
  *report_json = NULL;
  findings f;
  memset(&f, 0, sizeof f);
  f.diffs = json_array();
  f.max_diffs = o->max_diffs ? o->max_diffs : 20;
  expect ex;
  memset(&ex, 0, sizeof ex);
  txf_arena_init(&ex.strings, 1 << 20);
  ex.key = o->pan_key;
  txf_tz *tz = NULL;
  txf_duck *d = NULL;
  loc_ent *idx = NULL; /* the index's pairs */
  size_t n_idx = 0;
  duckdb_result res;
  int have_res = 0;
  int rc = txf_tz_load(&tz, o->timezone, err);
  if (!rc)
    rc = build_expected(o->data_dir, store, tz, o->format, &ex, &f, err);
  if (rc)
    goto out;
  /* The files against the manifest first: damage is the cause of what
   * the rows show then. */
  f.checksum_mismatches =
      txf_clean_manifest_audit(o->data_dir, note_checksum, &f, &idx, &n_idx);
  rc = txf_duck_open(&d, NULL, 0, 0, err);
  if (rc)
    goto out;
  char *glob = txf_xasprintf("%s/silver/transactions/**/*.parquet",
                             o->data_dir);
  char *lit = txf_duck_quote_str(glob);
  free(glob);
  char *silver_dir = txf_xasprintf("%s/silver/transactions", o->data_dir);
  int have_silver = txf_fs_is_dir(silver_dir);
  free(silver_dir);
  char *sql = txf_xasprintf(
      "SELECT transaction_id, customer_id, card_id, merchant_id,"
      " epoch_us(txn_ts), amount::VARCHAR, currency, mcc, status,"
      " is_refund::VARCHAR, channel, epoch_us(ingested_at),"
      " original_transaction_id, source_file, ingest_date::VARCHAR,"
      " make_date(year::INT, month::INT, day::INT)::VARCHAR AS part"
      " FROM read_parquet(%s, hive_partitioning = true)"
      " ORDER BY transaction_id",
      lit);
  free(lit);
  if (have_silver) {
    rc = txf_duck_query(d, sql, &res, err);
    have_res = rc == 0;
    if (rc && strstr(err->msg, "No files found")) {
      rc = 0;
      txf_err_clear(err);
    } else if (rc && f.checksum_mismatches) {
      /* a damaged file DuckDB cannot read: a finding, not a failure */
      diff(&f, "silver cannot be read: %s", err->msg);
      f.checksum_mismatches++;
      rc = 0;
      txf_err_clear(err);
    }
  }
  free(sql);
  if (rc)
    goto out;
  idx_t nrows = have_res ? duckdb_row_count(&res) : 0;
  f.silver_rows = (int64_t)nrows;
  loc_ent *pairs = txf_xmalloc((nrows ? nrows : 1) * sizeof *pairs);
  size_t n_pairs = 0;
  /* walk silver (by id) and expected (sorted by id bytes) together */
  size_t ei = 0;
  char *prev = NULL;
  for (idx_t r = 0; r < nrows; r++) {
    char *id = duckdb_value_varchar(&res, 0, r);
    char idb[512], pb[512];
    if (prev && strcmp(prev, id) == 0) {
      f.duplicate_ids++;
      diff(&f, "%s: more than one row in silver", shown(id, idb));
    }
    /* partition check */
    char *part = duckdb_value_varchar(&res, 15, r);
    int64_t ts = duckdb_value_int64(&res, 4, r);
    char want_day[64];
    int in_range = event_date(tz, ts, want_day);
    txf_date pd;
    if (part && txf_date_parse(part, strlen(part), &pd) == 0)
      pairs[n_pairs++] = (loc_ent){txf_clean_id_hash(id, strlen(id)), pd.days};
    if (!part || strcmp(part, want_day) != 0) {
      f.wrong_partition++;
      diff(&f, "%s: in partition %s, event date %s%s", shown(id, idb),
           part ? shown(part, pb) : "?", in_range ? "is " : "", want_day);
    }
    duckdb_free(part);
    int dup = prev && strcmp(prev, id) == 0;
    size_t il = strlen(id);
    while (!dup) {
      int c = 1; /* expected id vs silver id; 1: none left */
      if (ei < ex.n) {
        const crow *e = &ex.rows[ei];
        size_t el = e->len[S_ID];
        c = memcmp(e->str, id, el < il ? el : il);
        if (!c)
          c = el < il ? -1 : el > il;
      }
      if (c < 0) {
        const crow *e = &ex.rows[ei++];
        f.missing++;
        diff(&f, "%.*s: missing from silver", e->len[S_ID], e->str);
        continue;
      }
      if (c == 0) {
        compare_row(&ex.rows[ei++], &ex, &res, r, &f);
      } else {
        f.extra++;
        diff(&f, "%s: in silver but in no cleaned batch", shown(id, idb));
      }
      break;
    }
    duckdb_free(prev);
    prev = id;
  }
  duckdb_free(prev);
  for (; ei < ex.n; ei++) {
    f.missing++;
    diff(&f, "%.*s: missing from silver", ex.rows[ei].len[S_ID],
         ex.rows[ei].str);
  }
  /* The index against silver. */
  txf_clean_index_sort(pairs, n_pairs);
  check_index(&f, pairs, n_pairs, idx, n_idx);
  free(pairs);
out:
  if (have_res)
    duckdb_destroy_result(&res);
  txf_duck_close(d);
  if (!rc) {
    json_t *j = json_object();
#define P(k) json_object_set_new(j, #k, json_integer(f.k))
    P(silver_rows);
    P(duplicate_ids);
    P(wrong_partition);
    P(runs_checked);
    P(runs_not_reconciled);
    P(expected_rows);
    P(missing);
    P(extra);
    P(stale_versions);
    P(field_mismatches);
    P(lineage_mismatches);
    P(validation_mismatches);
    P(checksum_mismatches);
    P(index_mismatches);
#undef P
    int64_t bad = f.checksum_mismatches + f.index_mismatches + f.duplicate_ids +
                  f.wrong_partition + f.runs_not_reconciled + f.missing +
                  f.extra + f.stale_versions + f.field_mismatches +
                  f.lineage_mismatches + f.validation_mismatches;
    json_object_set_new(j, "ok", json_boolean(bad == 0));
    json_object_set_new(j, "differences", f.diffs);
    f.diffs = NULL;
    *report_json = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (bad)
      rc = txf_err_set(
          err, TXF_ETEST,
          "%lld differences (missing %lld, extra %lld, stale "
          "%lld, fields %lld, lineage %lld, duplicates %lld, "
          "partition %lld, validation %lld, reconciliation "
          "%lld, checksums %lld, index %lld)",
          (long long)bad, (long long)f.missing, (long long)f.extra,
          (long long)f.stale_versions, (long long)f.field_mismatches,
          (long long)f.lineage_mismatches, (long long)f.duplicate_ids,
          (long long)f.wrong_partition, (long long)f.validation_mismatches,
          (long long)f.runs_not_reconciled, (long long)f.checksum_mismatches,
          (long long)f.index_mismatches);
  }
  json_decref(f.diffs);
  free(idx);
  free(ex.rows);
  txf_arena_release(&ex.strings);
  txf_clean_sources_release(&ex.src);
  txf_tz_free(tz);
  return rc;
}
