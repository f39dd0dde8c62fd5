/* A processor's layout (feed.format in txnflow.yml) and how its records
 * map into the bronze columns; the landing settings of a landed feed
 * (feed.landing, feed.marker, feed.wait, feed.stable_for). docs/feed.md,
 * "Your processor's files".
 *
 * A mapped record is the bronze record a processor would have written in
 * our own layout: the same text clean's validation reads. So every rule
 * of validation (docs/silver.md) holds for mapped files too, and the only
 * new failures are the conversions themselves (an amount in minor units
 * that is not digits, a timestamp that does not match its format, a code
 * the map does not know). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bronze/bronze.h"
#include "project/project.h"

/* ISO 4217 minor units other than 2 (list one, 2024). */
static const struct {
  char code[4];
  int exponent;
} exponents[] = {{"BHD", 3}, {"BIF", 0}, {"CLF", 4}, {"CLP", 0}, {"DJF", 0},
                 {"GNF", 0}, {"IQD", 3}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0},
                 {"KMF", 0}, {"KRW", 0}, {"KWD", 3}, {"LYD", 3}, {"OMR", 3},
                 {"PYG", 0}, {"RWF", 0}, {"TND", 3}, {"UGX", 0}, {"UYI", 0},
                 {"UYW", 4}, {"VND", 0}, {"VUV", 0}, {"XAF", 0}, {"XOF", 0},
                 {"XPF", 0}};

int txf_iso4217_exponent(const char *code, size_t n) {
  if (n != 3)
    return 2;
  char c[3];
  for (int i = 0; i < 3; i++)
    c[i] = (char)(code[i] >= 'a' && code[i] <= 'z' ? code[i] - 32 : code[i]);
  for (size_t i = 0; i < sizeof exponents / sizeof *exponents; i++)
    if (!memcmp(exponents[i].code, c, 3))
      return exponents[i].exponent;
  return 2;
}

void txf_feed_format_free(txf_feed_format *f) {
  if (!f)
    return;
  for (int c = 0; c < TXF_BRONZE_N_COLS; c++) {
    txf_feed_column *col = &f->col[c];
    free(col->source);
    free(col->value);
    free(col->ts_format);
    txf_tz_free(col->zone);
    for (size_t i = 0; i < col->n_codes; i++) {
      free(col->codes[i]);
      free(col->names[i]);
    }
    free(col->codes);
    free(col->names);
  }
  free(f);
}

void txf_feed_config_release(txf_feed_config *c) {
  txf_feed_format_free(c->format);
  free(c->landing);
  free(c->marker);
  memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------ reading */

typedef struct rd {
  const txf_yaml_doc *doc;
  txf_err *err;
} rd;

enum { K_STRING, K_TS, K_AMOUNT, K_ENUM };

/* What each bronze column is, for the conversions it may take. */
static int col_kind(int c) {
  switch (c) {
  case 4:
  case 11:
    return K_TS;
  case 5:
    return K_AMOUNT;
  case 8:
  case 9:
  case 10:
    return K_ENUM;
  default:
    return K_STRING;
  }
}

/* The names a mapped enum may produce. */
static const char *const status_names[] = {"approved", "declined", "pending",
                                           "reversed", NULL};
static const char *const channel_names[] = {"online", "pos", "mobile", NULL};
static const char *const bool_names[] = {"true", "false", NULL};

static const char *const *enum_names(int c) {
  return c == 8 ? status_names : c == 9 ? bool_names : channel_names;
}

/* Check a timestamp format: %Y %m %d %H %M %S, %f (a fraction), %z (an
 * offset), %% and literal characters. *HAS_Z says whether it has %z. */
static int ts_format_ok(const char *f, int *has_z) {
  int seen[128] = {0};
  *has_z = 0;
  for (const char *p = f; *p; p++) {
    if (*p != '%')
      continue;
    p++;
    if (!*p || !strchr("YmdHMSfz%", *p))
      return 0;
    if (*p != '%' && seen[(int)*p]++)
      return 0;
    if (*p == 'z')
      *has_z = 1;
  }
  return seen['Y'] && seen['m'] && seen['d'];
}

static int read_map(rd *r, txf_feed_column *col, int c, const char *where,
                    const txf_yaml_node *m) {
  if (txf_yaml_kind(m) != TXF_YAML_MAP || txf_yaml_len(m) == 0)
    return txf_yaml_error(r->doc, m, r->err,
                          "key '%s.map': expected a map of the processor's "
                          "codes to values (\"00\": approved)",
                          where);
  size_t n = txf_yaml_len(m);
  col->codes = txf_xcalloc(n, sizeof *col->codes);
  col->names = txf_xcalloc(n, sizeof *col->names);
  const char *const *allowed = col_kind(c) == K_ENUM ? enum_names(c) : NULL;
  for (size_t i = 0; i < n; i++) {
    const txf_yaml_node *k = txf_yaml_key_at(m, i), *v = txf_yaml_at(m, i);
    const char *vs = txf_yaml_str(v);
    if (!vs)
      return txf_yaml_error(r->doc, v, r->err,
                            "key '%s.map.%s': expected a value, not a %s",
                            where, txf_yaml_str(k),
                            txf_yaml_kind(v) == TXF_YAML_MAP ? "map" : "list");
    if (allowed) {
      int ok = 0;
      for (int a = 0; allowed[a]; a++)
        ok |= strcasecmp(allowed[a], vs) == 0;
      if (!ok)
        return txf_yaml_error(
            r->doc, v, r->err,
            "key '%s.map.%s': '%s' is not one of %s%s%s%s%s%s%s", where,
            txf_yaml_str(k), vs, allowed[0], allowed[1] ? "|" : "",
            allowed[1] ? allowed[1] : "", allowed[2] ? "|" : "",
            allowed[2] ? allowed[2] : "", allowed[2] && allowed[3] ? "|" : "",
            allowed[2] && allowed[3] ? allowed[3] : "");
    }
    col->codes[i] = txf_xstrdup(txf_yaml_str(k));
    /* YAML reads `true` as the text "true": booleans need no care */
    col->names[i] = txf_xstrdup(vs);
    col->n_codes++;
  }
  return 0;
}

static int read_source(rd *r, txf_feed_column *col, const char *where,
                       const txf_yaml_node *n, int header) {
  const char *s = txf_yaml_str(n);
  if (!s || !*s)
    return txf_yaml_error(
        r->doc, n, r->err, "key '%s': expected the processor's column %s",
        where, header ? "name (as in its header)" : "number (1 = the first)");
  if (!header) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > TXF_CSV_MAX_FIELDS)
      return txf_yaml_error(r->doc, n, r->err,
                            "key '%s': the file has no header "
                            "(feed.format.header: false), so a column is "
                            "its number 1..%d, got '%s'",
                            where, TXF_CSV_MAX_FIELDS, s);
    col->position = (int)v;
  }
  col->source = txf_xstrdup(s);
  return 0;
}

static const char *const col_keys[] = {"column", "value", "unit", "exponent",
                                       "format", "zone",  "map",  NULL};

static int read_column(rd *r, txf_feed_format *f, int c,
                       const txf_yaml_node *n) {
  txf_feed_column *col = &f->col[c];
  char where[96];
  snprintf(where, sizeof where, "feed.format.columns.%s",
           txf_bronze_columns[c]);
  col->exponent = -1;
  col->kind = TXF_MAP_COPY;
  if (txf_yaml_kind(n) == TXF_YAML_SCALAR)
    return read_source(r, col, where, n, f->header);
  if (txf_yaml_kind(n) != TXF_YAML_MAP)
    return txf_yaml_error(r->doc, n, r->err,
                          "key '%s': expected the processor's column, or a "
                          "map (column, and unit, format, zone or map)",
                          where);
  int rc = txf_yaml_check_keys(r->doc, n, col_keys, where, r->err);
  if (rc)
    return rc;
  const txf_yaml_node *src = txf_yaml_get(n, "column");
  const txf_yaml_node *val = txf_yaml_get(n, "value");
  if (src && val)
    return txf_yaml_error(r->doc, val, r->err,
                          "key '%s': give 'column' or 'value', not both",
                          where);
  if (!src && !val)
    return txf_yaml_error(r->doc, n, r->err,
                          "key '%s': missing 'column' (the processor's "
                          "column) or 'value' (the same for every line)",
                          where);
  int kind = col_kind(c);
  if (val) {
    const char *v = txf_yaml_str(val);
    if (!v || kind == K_TS || kind == K_AMOUNT)
      return txf_yaml_error(r->doc, val, r->err,
                            "key '%s.value': a fixed value is for text and "
                            "code columns, not %s",
                            where, txf_bronze_columns[c]);
    col->kind = TXF_MAP_CONST;
    col->value = txf_xstrdup(v);
    return 0;
  }
  if ((rc = read_source(r, col, where, src, f->header)))
    return rc;
  const txf_yaml_node *unit = txf_yaml_get(n, "unit");
  const txf_yaml_node *expo = txf_yaml_get(n, "exponent");
  const txf_yaml_node *fmt = txf_yaml_get(n, "format");
  const txf_yaml_node *zone = txf_yaml_get(n, "zone");
  const txf_yaml_node *map = txf_yaml_get(n, "map");
  const txf_yaml_node *bad = kind != K_AMOUNT && unit                    ? unit
                             : kind != K_AMOUNT && expo                  ? expo
                             : kind != K_TS && fmt                       ? fmt
                             : kind != K_TS && zone                      ? zone
                             : (kind == K_TS || kind == K_AMOUNT) && map ? map
                                                                         : NULL;
  if (bad)
    return txf_yaml_error(r->doc, bad, r->err,
                          "key '%s': '%s' does not apply to %s (unit and "
                          "exponent: amount; format and zone: txn_ts, "
                          "ingested_at; map: the other columns)",
                          where,
                          bad == unit   ? "unit"
                          : bad == expo ? "exponent"
                          : bad == fmt  ? "format"
                          : bad == zone ? "zone"
                                        : "map",
                          txf_bronze_columns[c]);
  if (kind == K_AMOUNT) {
    const char *u = unit ? txf_yaml_str(unit) : "decimal";
    if (!u || (strcmp(u, "decimal") && strcmp(u, "minor")))
      return txf_yaml_error(r->doc, unit, r->err,
                            "key '%s.unit': expected 'decimal' (12.34) or "
                            "'minor' (1234, in the currency's minor units), "
                            "got '%s'",
                            where, u ? u : "(not a scalar)");
    col->kind =
        strcmp(u, "minor") ? TXF_MAP_AMOUNT_DECIMAL : TXF_MAP_AMOUNT_MINOR;
    if (expo) {
      int64_t e;
      if ((rc = txf_yaml_get_i64(r->doc, n, "exponent", -1, &e, r->err)))
        return rc;
      if (col->kind != TXF_MAP_AMOUNT_MINOR || e < 0 || e > 4)
        return txf_yaml_error(r->doc, expo, r->err,
                              "key '%s.exponent': with unit: minor, the "
                              "digits after the decimal point 0..4 (default: "
                              "the currency's, ISO 4217)",
                              where);
      col->exponent = (int)e;
    }
  } else if (kind == K_TS) {
    col->kind = TXF_MAP_TIMESTAMP;
    int has_z = 0;
    if (fmt) {
      const char *fs = txf_yaml_str(fmt);
      if (!fs || !ts_format_ok(fs, &has_z))
        return txf_yaml_error(r->doc, fmt, r->err,
                              "key '%s.format': expected a format of %%Y "
                              "%%m %%d %%H %%M %%S %%f %%z and literal "
                              "characters, each at most once, with %%Y %%m "
                              "%%d (e.g. \"%%Y%%m%%d%%H%%M%%S\"), got '%s'",
                              where, fs ? fs : "(not a scalar)");
      col->ts_format = txf_xstrdup(fs);
    }
    if (zone) {
      const char *zs = txf_yaml_str(zone);
      if (!zs || txf_tz_load(&col->zone, zs, NULL) != 0)
        return txf_yaml_error(r->doc, zone, r->err,
                              "key '%s.zone': unknown time zone '%s'", where,
                              zs ? zs : "(not a scalar)");
    } else if (fmt && !has_z) {
      /* A local time is an instant only with its zone; guessing one
       * (the pipeline's) would shift every row silently when the guess
       * is wrong. */
      return txf_yaml_error(r->doc, fmt, r->err,
                            "key '%s': the format has no offset (%%z), so "
                            "'zone' must name the zone of its times (e.g. "
                            "zone: Asia/Seoul)",
                            where);
    }
  }
  if (map) {
    col->kind = TXF_MAP_CODES;
    if ((rc = read_map(r, col, c, where, map)))
      return rc;
  }
  return 0;
}

static const char *const format_keys[] = {"delimiter",   "header",  "encoding",
                                          "compression", "columns", NULL};

static int read_format(rd *r, const txf_yaml_node *n, txf_feed_format **out) {
  const txf_yaml_doc *doc = r->doc;
  if (txf_yaml_kind(n) != TXF_YAML_MAP)
    return txf_yaml_error(doc, n, r->err, "key 'feed.format': expected a map");
  int rc = txf_yaml_check_keys(doc, n, format_keys, "feed.format", r->err);
  if (rc)
    return rc;
  txf_feed_format *f = txf_xcalloc(1, sizeof *f);
  *out = f;
  const char *delim = ",", *enc = "utf-8", *comp = "auto";
  if ((rc = txf_yaml_get_str(doc, n, "delimiter", ",", &delim, r->err)) ||
      (rc = txf_yaml_get_bool(doc, n, "header", 1, &f->header, r->err)) ||
      (rc = txf_yaml_get_str(doc, n, "encoding", "utf-8", &enc, r->err)) ||
      (rc = txf_yaml_get_str(doc, n, "compression", "auto", &comp, r->err)))
    return rc;
  if (!strcmp(delim, "\\t") || !strcmp(delim, "tab"))
    delim = "\t";
  if (strlen(delim) != 1 || delim[0] == '"' || delim[0] == '\n' ||
      delim[0] == '\r' || (unsigned char)delim[0] >= 0x80)
    return txf_yaml_error(doc, txf_yaml_get(n, "delimiter"), r->err,
                          "key 'feed.format.delimiter': expected one ASCII "
                          "character (',', ';', '|', tab), got '%s'",
                          delim);
  f->csv.delimiter = delim[0];
  if (!strcasecmp(enc, "utf-8") || !strcasecmp(enc, "utf8"))
    f->csv.encoding = TXF_CSV_ENC_UTF8;
  else if (!strcasecmp(enc, "cp949") || !strcasecmp(enc, "euc-kr") ||
           !strcasecmp(enc, "uhc"))
    f->csv.encoding = TXF_CSV_ENC_CP949; /* CP949 reads EUC-KR too */
  else
    return txf_yaml_error(doc, txf_yaml_get(n, "encoding"), r->err,
                          "key 'feed.format.encoding': expected utf-8, "
                          "euc-kr or cp949, got '%s'",
                          enc);
  f->csv.compression = -1;
  for (int i = 0; i < TXF_CSV_COMP_N; i++)
    if (!strcmp(comp, txf_csv_compression_names[i]))
      f->csv.compression = i;
  if (f->csv.compression < 0)
    return txf_yaml_error(doc, txf_yaml_get(n, "compression"), r->err,
                          "key 'feed.format.compression': expected auto, "
                          "none, gzip or zstd, got '%s'",
                          comp);
  const txf_yaml_node *cols = txf_yaml_get(n, "columns");
  if (!cols || txf_yaml_kind(cols) != TXF_YAML_MAP)
    return txf_yaml_error(doc, cols ? cols : n, r->err,
                          "key 'feed.format.columns': expected a map of "
                          "silver columns to the processor's columns");
  const char *known[TXF_BRONZE_N_COLS + 1];
  for (int c = 0; c < TXF_BRONZE_N_COLS; c++)
    known[c] = txf_bronze_columns[c];
  known[TXF_BRONZE_N_COLS] = NULL;
  if ((rc = txf_yaml_check_keys(doc, cols, known, "feed.format.columns",
                                r->err)))
    return rc;
  /* each column given first (its own errors point at it), then what is
   * missing */
  for (int c = 0; c < TXF_BRONZE_N_COLS; c++) {
    const txf_yaml_node *cn = txf_yaml_get(cols, txf_bronze_columns[c]);
    if (cn && !txf_yaml_is_null(cn) && (rc = read_column(r, f, c, cn)))
      return rc;
  }
  for (int c = 0; c < TXF_BRONZE_N_COLS; c++) {
    const txf_yaml_node *cn = txf_yaml_get(cols, txf_bronze_columns[c]);
    if (cn && !txf_yaml_is_null(cn))
      continue;
    /* only refunds and reversals point at a purchase */
    if (c == 12) {
      f->col[c].kind = TXF_MAP_CONST;
      f->col[c].value = txf_xstrdup("");
      continue;
    }
    return txf_yaml_error(doc, cols, r->err,
                          "key 'feed.format.columns': '%s' is not mapped "
                          "(every silver column but "
                          "original_transaction_id needs the processor's "
                          "column or a value)",
                          txf_bronze_columns[c]);
  }
  return 0;
}

/* "90s", "500ms", "5m", "2h": the units the orchestrator's durations
 * take (docs/orchestration.md). */
static int wait_parse(const char *s, int64_t *us) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (end == s || v < 0 || v > 1000000)
    return -1;
  int64_t unit = !strcmp(end, "ms")  ? 1000
                 : !strcmp(end, "s") ? TXF_US_PER_S
                 : !strcmp(end, "m") ? 60 * TXF_US_PER_S
                 : !strcmp(end, "h") ? 3600 * TXF_US_PER_S
                                     : 0;
  if (!unit)
    return -1;
  *us = v * unit;
  return 0;
}

int txf_feed_config_read(txf_feed_config *c, const txf_project *p,
                         txf_err *err) {
  memset(c, 0, sizeof *c);
  c->wait_us = 6 * 3600 * TXF_US_PER_S;
  c->stable_us = 5 * TXF_US_PER_S;
  const txf_yaml_doc *doc = p->doc;
  const txf_yaml_node *feed = txf_yaml_get(txf_yaml_root(doc), "feed");
  if (!feed || txf_yaml_kind(feed) != TXF_YAML_MAP)
    return 0;
  rd r = {doc, err};
  int rc = 0;
  const char *landing = NULL, *marker = NULL;
  if ((rc = txf_yaml_get_str(doc, feed, "landing", NULL, &landing, err)) ||
      (rc = txf_yaml_get_str(doc, feed, "marker", NULL, &marker, err)))
    return rc;
  static const char *const dur_keys[] = {"sensor_timeout", "wait",
                                         "stable_for"};
  int64_t *dur_out[] = {&c->wait_us, &c->wait_us, &c->stable_us};
  for (int i = 0; i < 3; i++) {
    const txf_yaml_node *d = txf_yaml_get(feed, dur_keys[i]);
    if (!d || txf_yaml_is_null(d))
      continue;
    const char *s = txf_yaml_str(d);
    if (!s || wait_parse(s, dur_out[i]))
      return txf_yaml_error(doc, d, err,
                            "key 'feed.%s': expected a duration like 30s, "
                            "5m, 2h, got '%s'",
                            dur_keys[i], s ? s : "(not a scalar)");
  }
  if (landing && *landing) {
    if (!strncmp(landing, "s3://", 5)) {
      const char *b = landing + 5;
      if (!*b || *b == '/')
        return txf_yaml_error(doc, txf_yaml_get(feed, "landing"), err,
                              "key 'feed.landing': expected s3://BUCKET/"
                              "PREFIX or a folder, got '%s'",
                              landing);
      c->landing = txf_xstrdup(landing);
    } else {
      c->landing = txf_path_abs(p->dir, landing);
    }
  }
  if (marker && *marker) {
    if (strchr(marker, '/'))
      return txf_yaml_error(doc, txf_yaml_get(feed, "marker"), err,
                            "key 'feed.marker': a file name beside the "
                            "files ('{name}.done', '_SUCCESS'), got '%s'",
                            marker);
    c->marker = txf_xstrdup(marker);
  }
  const txf_yaml_node *fmt = txf_yaml_get(feed, "format");
  if (fmt && !txf_yaml_is_null(fmt)) {
    rc = read_format(&r, fmt, &c->format);
    if (rc) {
      txf_feed_config_release(c);
      return rc;
    }
  }
  return 0;
}

/* ------------------------------------------------------------ binding */

static int trim(const char **s, size_t n) {
  while (n && (**s == ' ' || **s == '\t')) {
    (*s)++;
    n--;
  }
  while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
    n--;
  return (int)n;
}

int txf_feed_bind(txf_feed_binding *b, const txf_feed_format *f,
                  const txf_csv_record *header, const char *file,
                  txf_err *err) {
  memset(b, 0, sizeof b->idx);
  b->n_fields = header->n_fields;
  for (int c = 0; c < TXF_BRONZE_N_COLS; c++) {
    const txf_feed_column *col = &f->col[c];
    b->idx[c] = -1;
    if (col->kind == TXF_MAP_CONST)
      continue;
    if (!f->header) {
      if ((size_t)col->position > header->n_fields)
        return txf_err_set(err, TXF_EPARSE,
                           "%s%sline 1 has %zu columns, but "
                           "feed.format.columns.%s is column %d",
                           file ? file : "", file ? ": " : "",
                           header->n_fields, txf_bronze_columns[c],
                           col->position);
      b->idx[c] = col->position - 1;
      continue;
    }
    size_t want = strlen(col->source);
    for (size_t i = 0; i < header->n_fields && i < TXF_CSV_MAX_FIELDS; i++) {
      const char *h = header->field[i];
      int hn = trim(&h, header->field_len[i]);
      if ((size_t)hn == want && !memcmp(h, col->source, want)) {
        b->idx[c] = (int)i;
        break;
      }
    }
    if (b->idx[c] < 0) {
      char have[200];
      size_t k = 0;
      have[0] = '\0';
      for (size_t i = 0; i < header->n_fields && i < TXF_CSV_MAX_FIELDS &&
                         k + 8 < sizeof have;
           i++)
        k += (size_t)snprintf(
            have + k, sizeof have - k, "%s%.*s", i ? ", " : "",
            (int)(header->field_len[i] > 40 ? 40 : header->field_len[i]),
            header->field[i]);
      return txf_err_set(err, TXF_EPARSE,
                         "%s%sthe header has no column '%s' "
                         "(feed.format.columns.%s); it has: %s",
                         file ? file : "", file ? ": " : "", col->source,
                         txf_bronze_columns[c], have);
    }
  }
  return 0;
}

/* ------------------------------------------------------------ mapping */

static int digits(const char *s, size_t n, int w, int *out) {
  if (n < (size_t)w)
    return -1;
  int v = 0;
  for (int i = 0; i < w; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* Parse S by FMT into an instant; a value without an offset is read in
 * ZONE (NULL: it must have one). */
static int parse_ts(const char *fmt, const txf_tz *zone, const char *s,
                    size_t n, int64_t *ts_us) {
  int y = -1, mo = 1, d = 1, h = 0, mi = 0, sec = 0, off = 0, has_off = 0;
  int64_t frac_us = 0;
  size_t i = 0;
  for (const char *p = fmt; *p; p++) {
    if (*p != '%' || p[1] == '%') {
      if (*p == '%')
        p++;
      if (i >= n || s[i] != *p)
        return -1;
      i++;
      continue;
    }
    char k = *++p;
    int w = k == 'Y' ? 4 : 2, *dst = k == 'Y'   ? &y
                                     : k == 'm' ? &mo
                                     : k == 'd' ? &d
                                     : k == 'H' ? &h
                                     : k == 'M' ? &mi
                                                : &sec;
    if (k == 'f') {
      int nd = 0;
      int64_t v = 0;
      while (i < n && s[i] >= '0' && s[i] <= '9' && nd < 9) {
        v = v * 10 + (s[i++] - '0');
        nd++;
      }
      if (nd == 0)
        return -1;
      for (int k2 = nd; k2 < 9; k2++)
        v *= 10;
      if (v % 1000)
        return -1; /* past microseconds: not rounded silently */
      frac_us = v / 1000;
      continue;
    }
    if (k == 'z') {
      if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
        has_off = 1;
        continue;
      }
      if (i >= n || (s[i] != '+' && s[i] != '-'))
        return -1;
      int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
      if (digits(s + i, n - i, 2, &oh))
        return -1;
      i += 2;
      if (i < n && s[i] == ':')
        i++;
      if (i + 2 <= n && !digits(s + i, n - i, 2, &om))
        i += 2;
      off = sign * (oh * 60 + om);
      has_off = 1;
      continue;
    }
    if (digits(s + i, n - i, w, dst))
      return -1;
    i += (size_t)w;
  }
  if (i != n || y < 0)
    return -1;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > txf_days_in_month(y, mo) ||
      h > 23 || mi > 59 || sec > 59)
    return -1;
  txf_date day = txf_date_from_ymd(y, mo, d);
  int32_t secs = h * 3600 + mi * 60 + sec;
  if (has_off)
    *ts_us =
        ((int64_t)day.days * TXF_S_PER_DAY + secs - off * 60) * TXF_US_PER_S +
        frac_us;
  else if (zone)
    *ts_us = txf_tz_local_to_utc(zone, day, secs) + frac_us;
  else
    return -1;
  return 0;
}

/* Minor units -> the decimal text validation reads. */
static int minor_to_decimal(const char *s, size_t n, int e, char *out,
                            size_t cap, const char **why) {
  if (n == 0 || n > 24) {
    *why = " is not a count of minor units";
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') {
      *why = " is not a count of minor units (digits only)";
      return -1;
    }
  /* silver keeps 2 fraction digits: a third one that is not 0 would be
   * rounded, so it is refused instead */
  size_t cut = n;
  for (int k = e; k > 2; k--) {
    if (cut > 0 && s[cut - 1] != '0') {
      *why = " has more fraction digits than silver's amount keeps (2)";
      return -1;
    }
    if (cut > 0)
      cut--;
  }
  int fd = e > 2 ? 2 : e; /* fraction digits left */
  /* left-pad so there is an integer digit */
  char tmp[40];
  size_t k = 0;
  for (size_t pad = cut <= (size_t)fd ? (size_t)fd + 1 - cut : 0; pad; pad--)
    tmp[k++] = '0';
  memcpy(tmp + k, s, cut);
  k += cut;
  size_t int_len = k - (size_t)fd;
  size_t o = 0;
  for (size_t i = 0; i < int_len && o + 2 < cap; i++)
    out[o++] = tmp[i];
  if (fd > 0) {
    out[o++] = '.';
    for (size_t i = int_len; i < k && o + 1 < cap; i++)
      out[o++] = tmp[i];
  }
  out[o] = '\0';
  return (int)o;
}

int txf_feed_map(const txf_feed_format *f, const txf_feed_binding *b,
                 const txf_csv_record *rec, txf_feed_mapped *out, char *detail,
                 size_t cap) {
  char *sp = out->scratch;
  size_t sleft = sizeof out->scratch;
  /* currency first: minor units need its exponent */
  static const int order[TXF_BRONZE_N_COLS] = {0, 1, 2, 3,  6,  4, 5,
                                               7, 8, 9, 10, 11, 12};
  for (int oi = 0; oi < TXF_BRONZE_N_COLS; oi++) {
    int c = order[oi];
    const txf_feed_column *col = &f->col[c];
    const char *v;
    size_t vn;
    if (col->kind == TXF_MAP_CONST) {
      out->field[c] = col->value;
      out->len[c] = (uint32_t)strlen(col->value);
      continue;
    }
    int i = b->idx[c];
    v = rec->field[i];
    vn = rec->field_len[i];
    out->field[c] = v;
    out->len[c] = (uint32_t)vn;
    const char *why = NULL;
    switch (col->kind) {
    case TXF_MAP_COPY:
    case TXF_MAP_CONST:
    case TXF_MAP_AMOUNT_DECIMAL:
      break;
    case TXF_MAP_CODES: {
      const char *t = v;
      int tn = trim(&t, vn);
      size_t k;
      for (k = 0; k < col->n_codes; k++)
        if (strlen(col->codes[k]) == (size_t)tn &&
            !memcmp(col->codes[k], t, (size_t)tn))
          break;
      if (k == col->n_codes) {
        why = " is not a code in its map";
        break;
      }
      out->field[c] = col->names[k];
      out->len[c] = (uint32_t)strlen(col->names[k]);
      break;
    }
    case TXF_MAP_AMOUNT_MINOR: {
      int e = col->exponent >= 0
                  ? col->exponent
                  : txf_iso4217_exponent(out->field[6], out->len[6]);
      int n = minor_to_decimal(v, vn, e, sp, sleft, &why);
      if (n < 0)
        break;
      out->field[c] = sp;
      out->len[c] = (uint32_t)n;
      sp += n + 1;
      sleft -= (size_t)n + 1;
      break;
    }
    case TXF_MAP_TIMESTAMP: {
      int64_t us;
      int ok;
      if (col->ts_format)
        ok = parse_ts(col->ts_format, col->zone, v, vn, &us) == 0;
      else
        ok = txf_ts_parse(v, vn, &us, NULL) == 0 ||
             (col->zone &&
              (parse_ts("%Y-%m-%dT%H:%M:%S", col->zone, v, vn, &us) == 0 ||
               parse_ts("%Y-%m-%d %H:%M:%S", col->zone, v, vn, &us) == 0 ||
               parse_ts("%Y-%m-%dT%H:%M:%S.%f", col->zone, v, vn, &us) == 0 ||
               parse_ts("%Y-%m-%d %H:%M:%S.%f", col->zone, v, vn, &us) == 0));
      if (!ok) {
        why = col->ts_format ? " does not match its format"
                             : " is not ISO 8601 (with an offset, or in the "
                               "configured zone)";
        break;
      }
      int n = txf_ts_format(us, 0, 1, sp);
      out->field[c] = sp;
      out->len[c] = (uint32_t)n;
      sp += n + 1;
      sleft -= (size_t)n + 1;
      break;
    }
    }
    if (why) {
      snprintf(detail, cap, "%s (%s): '%.*s'%s%s", txf_bronze_columns[c],
               col->source, (int)(vn > 40 ? 40 : vn), v, vn > 40 ? "..." : "",
               why);
      return c;
    }
  }
  return -1;
}

const char *txf_feed_source_of(const txf_feed_format *f, int c) {
  return f->col[c].kind == TXF_MAP_CONST ? NULL : f->col[c].source;
}

char *txf_feed_landing_for(const char *landing, txf_date day) {
  char date[11];
  txf_date_format(day, date);
  txf_buf b;
  txf_buf_init(&b, 0);
  for (const char *p = landing; *p;) {
    if (!strncmp(p, "{date}", 6)) {
      (void)txf_buf_puts(&b, date);
      p += 6;
    } else if (!strncmp(p, "{yyyymmdd}", 10)) {
      (void)txf_buf_printf(&b, "%.4s%.2s%.2s", date, date + 5, date + 8);
      p += 10;
    } else {
      (void)txf_buf_putc(&b, *p++);
    }
  }
  return txf_buf_take(&b, NULL);
}
