/* Validation of bronze lines into compact rows, and the row hashes.
 *
 * Every field is checked; nothing is coerced to NULL. The only
 * normalizations are documented in docs/silver.md: enums and booleans are
 * matched case-insensitively and stored lower-case (booleans as BOOLEAN),
 * currency codes are matched case-insensitively and stored upper-case,
 * amounts become DECIMAL(18,2) and timestamps UTC microseconds. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clean/internal.h"
#include "pan/pan.h"

const char *const txf_clean_status_names[4] = {"approved", "declined",
                                               "pending", "reversed"};
const char *const txf_clean_channel_names[3] = {"online", "pos", "mobile"};

static const char *const reason_names[TXF_REJ_N] = {
    "none",          "invalid_utf8",   "line_too_long", "stray_quote",
    "wrong_columns", "control_char",   "empty_id",      "id_too_long",
    "bad_timestamp", "bad_amount",     "bad_currency",  "bad_mcc",
    "unknown_enum",  "bad_card_number"};

const char *txf_reject_reason_name(txf_reject_reason r) {
  return (unsigned)r < TXF_REJ_N ? reason_names[r] : "unknown";
}

/* ISO 4217 currency codes in use (list one, 2024), without the test and
 * "no currency" codes XTS and XXX, which no card transaction carries. */
static const char iso4217[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND "
    "BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU "
    "CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY "
    "KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA "
    "MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD "
    "OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK "
    "SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD "
    "TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU "
    "XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL ";

/* Bit Z of iso_third[X * 26 + Y]: "XYZ" (A = 0) is in the list. One load
 * per row instead of a binary search of memcmp calls (0.6 % of a first
 * load's samples). */
static uint32_t iso_third[26 * 26];
static pthread_once_t iso_once = PTHREAD_ONCE_INIT;

static void iso_build(void) {
  for (size_t i = 0; i + 3 < sizeof iso4217; i += 4)
    iso_third[(iso4217[i] - 'A') * 26 + (iso4217[i + 1] - 'A')] |=
        1u << (iso4217[i + 2] - 'A');
}

int txf_clean_iso4217_known(const char c[3]) {
  for (int i = 0; i < 3; i++)
    if (c[i] < 'A' || c[i] > 'Z')
      return 0;
  pthread_once(&iso_once, iso_build);
  return (int)(iso_third[(c[0] - 'A') * 26 + (c[1] - 'A')] >> (c[2] - 'A') &
               1u);
}

int txf_clean_parse_amount(const char *s, size_t n, int64_t *minor) {
  size_t i = 0, sig = 0;
  int64_t v = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') {
    if ((v || s[i] != '0') && ++sig > 16)
      return -1; /* past DECIMAL(18,2) */
    v = v * 10 + (s[i] - '0');
    i++;
  }
  if (i == 0)
    return -1;
  int frac = 0;
  if (i < n) {
    if (s[i] != '.')
      return -1;
    size_t f0 = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i - f0 < 3)
      frac = frac * 10 + (s[i++] - '0');
    size_t nf = i - f0;
    if (nf == 0 || nf > 2 || i != n)
      return -1;
    if (nf == 1)
      frac *= 10;
  }
  v = v * 100 + frac;
  if (v <= 0)
    return -1;
  *minor = v;
  return 0;
}

static int is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t')
      return 0;
  return 1;
}

/* S (N bytes) equals the lower-case NAME but for case: ASCII only, as
 * strncasecmp in the C locale, without its call and locale lookup. */
static int eq_lower(const char *s, size_t n, const char *name) {
  size_t i = 0;
  for (; i < n && name[i]; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 'A' && c <= 'Z')
      c = (unsigned char)(c - 'A' + 'a');
    if (c != (unsigned char)name[i])
      return 0;
  }
  return i == n && !name[i];
}

static int match_enum(const char *s, size_t n, const char *const *names,
                      int k) {
  for (int i = 0; i < k; i++)
    if (eq_lower(s, n, names[i]))
      return i;
  return -1;
}

static int match_bool(const char *s, size_t n) {
  static const char *const t[] = {"true", "t", "1", "yes"};
  static const char *const f[] = {"false", "f", "0", "no"};
  if (match_enum(s, n, t, 4) >= 0)
    return 1;
  if (match_enum(s, n, f, 4) >= 0)
    return 0;
  return -1;
}

/* The length of the valid UTF-8 sequence at S (N bytes left), or 0. */
static size_t utf8_len(const char *s, size_t n) {
  unsigned char c = (unsigned char)s[0];
  size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  return k && k <= n && txf_utf8_valid(s, k) ? k : 0;
}

char *txf_clean_escape(const char *s, size_t n, size_t max, char *out,
                       size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && i < max && o + 8 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f || c >= 0x80 || c == '\\') {
      /* a whole valid UTF-8 sequence stays as it is */
      size_t k = c >= 0x80 ? utf8_len(s + i, n - i) : 0;
      if (k > 1 && o + k + 8 < cap) {
        memcpy(out + o, s + i, k);
        o += k;
        i += k - 1;
        continue;
      }
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  if (n > max && o + 4 < cap) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
  return out;
}

/* Bronze fields are ids, codes, numbers and timestamps: none holds a
 * control character, and one that does (a NUL in an id) breaks every
 * loader downstream (PostgreSQL refuses 0x00 in text). The line ending is
 * not part of any field; a line break inside a quoted field is a control
 * character of its value. */
static int has_control(const char *s, uint32_t n) {
  /* Eight bytes at a time: a byte below 0x20 sets its high bit in
   * (x - 0x20..) & ~x, a 0x7f byte is a zero byte of x ^ 0x7f..; both
   * tests are exact about whether any byte matches (a byte >= 0x80 never
   * does). The short tail overlaps the last word. Most fields of a line
   * are 10 to 30 bytes: byte by byte this was a tenth of validation. */
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint32_t i = 0;
  uint64_t m = 0;
  if (n >= 8) {
    for (;; i += 8) {
      if (i + 8 > n)
        i = n - 8;
      uint64_t x, y;
      memcpy(&x, s + i, 8);
      y = x ^ (ones * 0x7f);
      m |= ((x - ones * 0x20) & ~x) | ((y - ones) & ~y);
      if (i + 8 == n)
        break;
    }
    return (m & highs) != 0;
  }
  for (; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return 1;
  return 0;
}

static int control_field(const txf_csv_record *rec, size_t *at) {
  for (int c = 0; c < TXF_BRONZE_N_COLS; c++) {
    if (!has_control(rec->field[c], rec->field_len[c]))
      continue;
    for (uint32_t i = 0; i < rec->field_len[c]; i++) {
      unsigned char b = (unsigned char)rec->field[c][i];
      if (b < 0x20 || b == 0x7f) {
        *at = i;
        return c;
      }
    }
  }
  return -1;
}

static txf_reject_reason bad(char *detail, size_t cap,
                             txf_reject_reason r, const char *col,
                             const char *s, size_t n, const char *why) {
  snprintf(detail, cap, "%s: '%.*s'%s%s", col, (int)(n > 40 ? 40 : n), s,
           n > 40 ? "..." : "", why);
  return r;
}

/* The checks of the line as read, before its fields: the same in any
 * layout. ENC names a file encoding other than UTF-8 (or NULL). */
static txf_reject_reason line_checks(const txf_csv_record *rec,
                                     const char *enc, char *detail,
                                     size_t cap) {
  detail[0] = '\0';
  if (!txf_utf8_valid(rec->raw, rec->raw_len)) {
    snprintf(detail, cap, "the line is not valid UTF-8%s%s%s",
             enc ? " (nor " : "", enc ? enc : "", enc ? ")" : "");
    return TXF_REJ_INVALID_UTF8;
  }
  if (rec->too_long) {
    snprintf(detail, cap, "longer than %u bytes", TXF_CSV_MAX_RECORD);
    return TXF_REJ_LINE_TOO_LONG;
  }
  if (rec->bad_quote) {
    snprintf(detail, cap, "a quote out of place or unterminated");
    return TXF_REJ_STRAY_QUOTE;
  }
  return TXF_REJ_NONE;
}

txf_reject_reason txf_clean_validate(const txf_csv_record *rec, crow *row,
                                     txf_arena *a, const txf_tz *tz,
                                     char *detail, size_t cap) {
  txf_reject_reason lr = line_checks(rec, NULL, detail, cap);
  if (lr != TXF_REJ_NONE)
    return lr;
  if (rec->n_fields != TXF_BRONZE_N_COLS) {
    snprintf(detail, cap, "%zu columns, want %d", rec->n_fields,
             TXF_BRONZE_N_COLS);
    return TXF_REJ_WRONG_COLUMNS;
  }
  const char *const *f = rec->field;
  const uint32_t *fl = rec->field_len;
  size_t at;
  int cc = control_field(rec, &at);
  if (cc >= 0) {
    char shown[200];
    snprintf(detail, cap, "%s: '%s' holds a control character (0x%02x)",
             txf_bronze_columns[cc],
             txf_clean_escape(f[cc], fl[cc], 40, shown, sizeof shown),
             (unsigned char)f[cc][at]);
    return TXF_REJ_CONTROL_CHAR;
  }
  static const int id_cols[4] = {0, 1, 2, 3};
  for (int i = 0; i < 4; i++) {
    int c = id_cols[i];
    if (is_blank(f[c], fl[c]))
      return bad(detail, cap, TXF_REJ_EMPTY_ID, txf_bronze_columns[c], f[c],
                 fl[c], " is empty");
    if (fl[c] > MAX_ID_LEN)
      return bad(detail, cap, TXF_REJ_ID_TOO_LONG, txf_bronze_columns[c],
                 f[c], fl[c], " is longer than 255 bytes");
  }
  if (fl[12] > MAX_ID_LEN)
    return bad(detail, cap, TXF_REJ_ID_TOO_LONG, txf_bronze_columns[12],
               f[12], fl[12], " is longer than 255 bytes");
  if (txf_ts_parse(f[4], fl[4], &row->txn_ts_us, NULL))
    return bad(detail, cap, TXF_REJ_BAD_TIMESTAMP, "txn_ts", f[4], fl[4],
               " is not ISO 8601 with an offset");
  if (txf_ts_parse(f[11], fl[11], &row->ingested_at_us, NULL))
    return bad(detail, cap, TXF_REJ_BAD_TIMESTAMP, "ingested_at", f[11],
               fl[11], " is not ISO 8601 with an offset");
  if (txf_clean_parse_amount(f[5], fl[5], &row->amount_minor))
    return bad(detail, cap, TXF_REJ_BAD_AMOUNT, "amount", f[5], fl[5],
               " is not a positive decimal with at most 2 fraction digits");
  char cur[3];
  int cur_ok = fl[6] == 3;
  for (int i = 0; cur_ok && i < 3; i++) {
    char c = f[6][i];
    if (c >= 'a' && c <= 'z')
      c = (char)(c - 'a' + 'A');
    cur[i] = c;
    cur_ok = c >= 'A' && c <= 'Z';
  }
  if (!cur_ok || !txf_clean_iso4217_known(cur))
    return bad(detail, cap, TXF_REJ_BAD_CURRENCY, "currency", f[6], fl[6],
               " is not an ISO 4217 code");
  int mcc = 0, mcc_ok = fl[7] == 4;
  for (int i = 0; mcc_ok && i < 4; i++) {
    mcc_ok = f[7][i] >= '0' && f[7][i] <= '9';
    mcc = mcc * 10 + (f[7][i] - '0');
  }
  if (!mcc_ok)
    return bad(detail, cap, TXF_REJ_BAD_MCC, "mcc", f[7], fl[7],
               " is not 4 digits");
  /* the three enums, in column order: status, is_refund, channel */
  static const struct {
    int col;
    const char *name, *why;
  } enums[3] = {{8, "status", " is not approved|declined|pending|reversed"},
                {9, "is_refund", " is not a boolean"},
                {10, "channel", " is not online|pos|mobile"}};
  int ev[3];
  for (int e = 0; e < 3; e++) {
    int c = enums[e].col;
    ev[e] = c == 8    ? match_enum(f[c], fl[c], txf_clean_status_names, 4)
            : c == 9  ? match_bool(f[c], fl[c])
                      : match_enum(f[c], fl[c], txf_clean_channel_names, 3);
    if (ev[e] < 0)
      return bad(detail, cap, TXF_REJ_UNKNOWN_ENUM, enums[e].name, f[c], fl[c],
                 enums[e].why);
  }
  int st = ev[0], rf = ev[1], ch = ev[2];

  /* valid: fill the row */
  size_t total = fl[0] + fl[1] + fl[2] + fl[3] + fl[12];
  char *s = txf_arena_alloc(a, total ? total : 1);
  row->str = s;
  static const int scols[S_PAN] = {0, 1, 2, 3, 12};
  for (int i = 0; i < S_PAN; i++) {
    memcpy(s, f[scols[i]], fl[scols[i]]);
    s += fl[scols[i]];
    row->len[i] = (uint8_t)fl[scols[i]];
  }
  row->len[S_PAN] = 0; /* a card feed's: txf_clean_validate_card */
  /* An empty original_transaction_id is legal: only refunds and reversals
   * point at a purchase; it is stored as NULL, not as "". */
  row->has_orig = fl[12] > 0;
  memcpy(row->currency, cur, 3);
  row->mcc = (uint16_t)mcc;
  row->status = (uint8_t)st;
  row->is_refund = (uint8_t)rf;
  row->channel = (uint8_t)ch;
  row->event_day = txf_tz_local_date(tz, row->txn_ts_us).days;
  row->idh = txf_clean_id_hash(row->str, row->len[S_ID]);
  row->hashed = 0; /* computed when versions are compared: txf_clean_rec_hash */
  row->fate = FATE_NONE;
  row->had_old = 0;
  row->old_day = 0;
  return TXF_REJ_NONE;
}

/* A card feed's record: the bronze columns are validated first (their
 * reasons come first, as for any line), then the card number is
 * tokenized; the row's strings are copied once more with the card after
 * them (rows are small; a card feed's clean is not the hot path's
 * bottleneck, HMAC is). */
txf_reject_reason txf_clean_validate_card(txf_csv_record *rec, crow *row,
                                          txf_arena *a, const txf_tz *tz,
                                          const txf_pan_key *key, char *detail,
                                          size_t cap) {
  size_t n = rec->n_fields;
  /* (13 fields, the bronze count, must fail the count too) */
  rec->n_fields = n == TXF_BRONZE_N_COLS + 1 ? TXF_BRONZE_N_COLS
                  : n == TXF_BRONZE_N_COLS   ? 0
                                             : n;
  txf_reject_reason why = txf_clean_validate(rec, row, a, tz, detail, cap);
  rec->n_fields = n;
  if (why == TXF_REJ_WRONG_COLUMNS)
    snprintf(detail, cap, "%zu columns, want %d", n, TXF_BRONZE_N_COLS + 1);
  if (why != TXF_REJ_NONE)
    return why; /* (the caller masks DETAIL: a value quoted back may be a
                   card number in the wrong column) */
  txf_pan_card card;
  memset(&card, 0, sizeof card);
  txf_err e;
  txf_err_clear(&e);
  if (txf_pan_tokenize(key, rec->field[TXF_BRONZE_N_COLS],
                       rec->field_len[TXF_BRONZE_N_COLS], &card, &e)) {
    snprintf(detail, cap, "%s", e.msg);
    return TXF_REJ_BAD_CARD_NUMBER;
  }
  size_t total = 0;
  for (int i = 0; i < S_PAN; i++)
    total += row->len[i];
  char *s = txf_arena_alloc(a, total + PAN_BLOCK_LEN);
  memcpy(s, row->str, total);
  memcpy(s + total, card.token, PAN_TOKEN_LEN);
  memcpy(s + total + PAN_TOKEN_LEN, card.bin, 6);
  memcpy(s + total + PAN_TOKEN_LEN + 6, card.last4, 4);
  row->str = s;
  row->len[S_PAN] = PAN_BLOCK_LEN;
  return TXF_REJ_NONE;
}

/* A processor's record (feed.format): mapped into the bronze columns,
 * then validated as a bronze record. The line checks come first, on the
 * line as read, so a broken line gets the same reason in either layout. */
txf_reject_reason
txf_clean_validate_mapped(const txf_feed_format *f, const txf_feed_binding *b,
                          const txf_csv_record *rec, crow *row, txf_arena *a,
                          const txf_tz *tz, char *detail, size_t cap) {
  txf_reject_reason lr = line_checks(
      rec,
      f->csv.encoding != TXF_CSV_ENC_UTF8
          ? txf_csv_encoding_names[f->csv.encoding]
          : NULL,
      detail, cap);
  if (lr != TXF_REJ_NONE)
    return lr;
  if (rec->n_fields != b->n_fields) {
    snprintf(detail, cap, "%zu columns, want %zu (as the %s)", rec->n_fields,
             b->n_fields, f->header ? "header" : "first line");
    return TXF_REJ_WRONG_COLUMNS;
  }
  txf_feed_mapped m;
  int bad_col = txf_feed_map(f, b, rec, &m, detail, cap);
  if (bad_col >= 0) {
    switch (bad_col) {
    case 4:
    case 11:
      return TXF_REJ_BAD_TIMESTAMP;
    case 5:
      return TXF_REJ_BAD_AMOUNT;
    case 6:
      return TXF_REJ_BAD_CURRENCY;
    case 7:
      return TXF_REJ_BAD_MCC;
    default:
      return TXF_REJ_UNKNOWN_ENUM; /* a code its map does not have */
    }
  }
  txf_csv_record mr;
  memset(&mr, 0, offsetof(txf_csv_record, field));
  mr.raw = rec->raw;
  mr.raw_len = rec->raw_len;
  mr.term = rec->term;
  mr.record_no = rec->record_no;
  mr.n_fields = TXF_BRONZE_N_COLS;
  mr.bad_quote = 0;
  mr.too_long = 0;
  for (int c = 0; c < TXF_BRONZE_N_COLS; c++) {
    mr.field[c] = m.field[c];
    mr.field_len[c] = m.len[c];
  }
  txf_reject_reason why = txf_clean_validate(&mr, row, a, tz, detail, cap);
  if (why != TXF_REJ_NONE) {
    /* "amount: ..." -> "amount (금액): ...": the column the user knows */
    for (int c = 0; c < TXF_BRONZE_N_COLS; c++) {
      const char *src = txf_feed_source_of(f, c);
      size_t cl = strlen(txf_bronze_columns[c]);
      if (src && !strncmp(detail, txf_bronze_columns[c], cl) &&
          detail[cl] == ':') {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s (%s)%s", txf_bronze_columns[c], src,
                 detail + cl);
        snprintf(detail, cap, "%s", tmp);
        break;
      }
    }
  }
  return why;
}

/* ---------------------------------------------------------------- header */

int txf_clean_header_cards(const txf_csv_record *rec) {
  static const char name[] = "card_number";
  return rec && rec->n_fields == TXF_BRONZE_N_COLS + 1 &&
         rec->field_len[TXF_BRONZE_N_COLS] == sizeof name - 1 &&
         memcmp(rec->field[TXF_BRONZE_N_COLS], name, sizeof name - 1) == 0;
}

static int header_ok(const txf_csv_record *rec) {
  if ((rec->n_fields != TXF_BRONZE_N_COLS && !txf_clean_header_cards(rec)) ||
      rec->bad_quote)
    return 0;
  for (int i = 0; i < TXF_BRONZE_N_COLS; i++)
    if (rec->field_len[i] != strlen(txf_bronze_columns[i]) ||
        memcmp(rec->field[i], txf_bronze_columns[i], rec->field_len[i]) != 0)
      return 0;
  return 1;
}

int txf_clean_header_check(const txf_csv_record *rec, txf_err *err) {
  if (!rec)
    return txf_err_set(err, TXF_EPARSE,
                       "the file is empty (no header, no lines)");
  const unsigned char *p = (const unsigned char *)rec->raw;
  size_t n = rec->raw_len;
  /* (gzip and zstd are read decompressed, whatever the name: the reader
   * knows them by their first bytes) */
  if (n >= 2 &&
      ((p[0] == 0xff && p[1] == 0xfe) || (p[0] == 0xfe && p[1] == 0xff)))
    return txf_err_set(err, TXF_EPARSE,
                       "the file is UTF-16; bronze files are UTF-8");
  const unsigned char *cr = memchr(p, '\r', n);
  if (cr && (size_t)(cr - p) + 1 < n && cr[1] != '\n')
    return txf_err_set(err, TXF_EPARSE,
                       "lines end in CR alone (old Mac style); bronze lines "
                       "end in LF or CRLF");
  if (!header_ok(rec))
    return txf_err_set(err, TXF_EPARSE,
                       "the first line is not the bronze header (%s,...)",
                       txf_bronze_columns[0]);
  return 0;
}

/* ---------------------------------------------------------------- hashes */

static inline uint64_t rotl64(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  k *= UINT64_C(0xc4ceb9fe1a85ec53);
  k ^= k >> 33;
  return k;
}

/* MurmurHash3's scrambling of one 8-byte lane K: by CA, rotated by R, by
 * CB (lane 1: c1, 31, c2; lane 2: c2, 33, c1). */
static inline uint64_t scramble(uint64_t k, uint64_t ca, int r, uint64_t cb) {
  return rotl64(k * ca, r) * cb;
}

void txf_clean_hash128(const void *key, size_t len, uint64_t seed,
                       uint64_t out[2]) {
  const uint8_t *data = key;
  size_t nblocks = len / 16;
  uint64_t h1 = seed, h2 = seed;
  const uint64_t c1 = UINT64_C(0x87c37b91114253d5);
  const uint64_t c2 = UINT64_C(0x4cf5ad432745937f);
  for (size_t i = 0; i < nblocks; i++) {
    uint64_t k1, k2;
    memcpy(&k1, data + i * 16, 8);
    memcpy(&k2, data + i * 16 + 8, 8);
    h1 ^= scramble(k1, c1, 31, c2);
    h1 = (rotl64(h1, 27) + h2) * 5 + 0x52dce729;
    h2 ^= scramble(k2, c2, 33, c1);
    h2 = (rotl64(h2, 31) + h1) * 5 + 0x38495ab5;
  }
  const uint8_t *tail = data + nblocks * 16;
  uint64_t k1 = 0, k2 = 0;
  size_t rest = len & 15;
  for (size_t i = rest; i > 8; i--)
    k2 ^= (uint64_t)tail[i - 1] << (8 * (i - 9));
  if (rest > 8)
    h2 ^= scramble(k2, c2, 33, c1);
  for (size_t i = rest > 8 ? 8 : rest; i > 0; i--)
    k1 ^= (uint64_t)tail[i - 1] << (8 * (i - 1));
  if (rest > 0)
    h1 ^= scramble(k1, c1, 31, c2);
  h1 ^= (uint64_t)len;
  h2 ^= (uint64_t)len;
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  out[0] = h1;
  out[1] = h2;
}

uint64_t txf_clean_id_hash(const char *id, size_t len) {
  uint64_t h[2];
  txf_clean_hash128(id, len, 0x1d, h);
  return h[0];
}

static char *put_i64(char *p, int64_t v) {
  uint64_t u = (uint64_t)v;
  for (int i = 0; i < 8; i++)
    *p++ = (char)(u >> (8 * i));
  return p;
}

/* The canonical encoding: every bronze column, typed and normalized, in
 * file order; strings length-prefixed. Lineage is not content. A card
 * feed's card (its token: the same card under the same key) comes last,
 * and only there, so a lake without cards keeps its hashes (the tie rule
 * decides the same versions). */
void txf_clean_row_hash(crow *r) {
  char buf[5 * (MAX_ID_LEN + 1) + 64 + PAN_BLOCK_LEN], *p = buf;
  const char *s = r->str;
  for (int i = 0; i < 4; i++) {
    *p++ = (char)r->len[i];
    memcpy(p, s, r->len[i]);
    p += r->len[i];
    s += r->len[i];
  }
  p = put_i64(p, r->txn_ts_us);
  p = put_i64(p, r->amount_minor);
  memcpy(p, r->currency, 3);
  p += 3;
  *p++ = (char)(r->mcc & 0xff);
  *p++ = (char)(r->mcc >> 8);
  *p++ = (char)r->status;
  *p++ = (char)r->is_refund;
  *p++ = (char)r->channel;
  p = put_i64(p, r->ingested_at_us);
  *p++ = (char)r->has_orig;
  *p++ = (char)r->len[S_ORIG];
  memcpy(p, s, r->len[S_ORIG]);
  p += r->len[S_ORIG];
  s += r->len[S_ORIG];
  memcpy(p, s, r->len[S_PAN]);
  p += r->len[S_PAN];
  uint64_t h[2];
  txf_clean_hash128(buf, (size_t)(p - buf), 0x7478666c, h);
  r->h0 = h[0];
  r->h1 = h[1];
}

int txf_clean_id_cmp(uint64_t ha, const char *a, size_t la, uint64_t hb,
                     const char *b, size_t lb) {
  if (ha != hb)
    return ha < hb ? -1 : 1;
  int d = memcmp(a, b, la < lb ? la : lb);
  if (d)
    return d;
  return la < lb ? -1 : la > lb;
}

int txf_clean_version_cmp(const crow *a, const crow *b) {
  if (a->ingested_at_us != b->ingested_at_us)
    return a->ingested_at_us > b->ingested_at_us ? 1 : -1;
  if (a->h0 != b->h0)
    return a->h0 > b->h0 ? 1 : -1;
  if (a->h1 != b->h1)
    return a->h1 > b->h1 ? 1 : -1;
  return 0;
}

int txf_clean_silver_cmp(const crow *a, const crow *b) {
  if (a->txn_ts_us != b->txn_ts_us)
    return a->txn_ts_us < b->txn_ts_us ? -1 : 1;
  size_t la = a->len[S_ID], lb = b->len[S_ID];
  int d = memcmp(a->str, b->str, la < lb ? la : lb);
  if (d)
    return d;
  return la < lb ? -1 : la > lb;
}

/* ---------------------------------------------------------------- sources */

uint32_t txf_clean_sources_intern(csources *s, const char *path, size_t len,
                                  int32_t ingest_day) {
  for (size_t i = s->n; i > 0; i--) {
    csource *c = &s->v[i - 1];
    if (c->ingest_day == ingest_day && c->path_len == len &&
        memcmp(c->path, path, len) == 0)
      return (uint32_t)(i - 1);
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 16;
    s->v = txf_xrealloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n].path = txf_xstrndup(path, len);
  s->v[s->n].path_len = (uint32_t)len;
  s->v[s->n].ingest_day = ingest_day;
  return (uint32_t)s->n++;
}

void txf_clean_sources_release(csources *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i].path);
  free(s->v);
  memset(s, 0, sizeof *s);
}
