#include <stdlib.h>

#include "../../lib/unit.h"
#include "clean/internal.h"
#include "pan/pan.h"

TEST(clean_amount_parsing) {
  int64_t m;
  ASSERT_OK(txf_clean_parse_amount("100", 3, &m), (txf_err *)0);
  ASSERT_EQ_I64(m, 10000);
  ASSERT_OK(txf_clean_parse_amount("1.5", 3, &m), (txf_err *)0);
  ASSERT_EQ_I64(m, 150);
  ASSERT_OK(txf_clean_parse_amount("0.01", 4, &m), (txf_err *)0);
  ASSERT_EQ_I64(m, 1);
  ASSERT_OK(txf_clean_parse_amount("007.25", 6, &m), (txf_err *)0);
  ASSERT_EQ_I64(m, 725);
  ASSERT_OK(txf_clean_parse_amount("9999999999999999.99", 19, &m),
            (txf_err *)0);
  ASSERT_EQ_I64(m, INT64_C(999999999999999999));
  static const char *const bad[] = {"", "0", "0.00", "-5", "+5", "1.", ".5",
                                    "1.234", "1e3", "1,000", " 1", "abc",
                                    "10000000000000000", "1.2.3"};
  for (size_t i = 0; i < TXF_ARRAY_LEN(bad); i++)
    if (txf_clean_parse_amount(bad[i], strlen(bad[i]), &m) == 0)
      unit_fail(__FILE__, __LINE__, "amount '%s' accepted", bad[i]);
}

TEST(clean_currency_codes) {
  ASSERT(txf_clean_iso4217_known("KRW"));
  ASSERT(txf_clean_iso4217_known("USD"));
  ASSERT(txf_clean_iso4217_known("JPY"));
  ASSERT(txf_clean_iso4217_known("EUR"));
  ASSERT(txf_clean_iso4217_known("AED"));
  ASSERT(txf_clean_iso4217_known("ZWL"));
  ASSERT(!txf_clean_iso4217_known("ABC"));
  ASSERT(!txf_clean_iso4217_known("XXX"));
  ASSERT(!txf_clean_iso4217_known("XTS"));
  ASSERT(!txf_clean_iso4217_known("krw")); /* the caller upper-cases */
  ASSERT(!txf_clean_iso4217_known("KR@"));
  ASSERT(!txf_clean_iso4217_known("[RW"));
  /* the list's 180 codes, and no other three letters */
  int known = 0;
  char c[3];
  for (c[0] = 'A'; c[0] <= 'Z'; c[0]++)
    for (c[1] = 'A'; c[1] <= 'Z'; c[1]++)
      for (c[2] = 'A'; c[2] <= 'Z'; c[2]++)
        known += txf_clean_iso4217_known(c);
  ASSERT_EQ_I64(known, 180);
}

/* LINE validated as clean does: a bronze line, or with K a card feed's
 * (card_number last, tokenized under K). */
static txf_reject_reason check_key(const char *line, crow *row, txf_arena *a,
                                   const txf_pan_key *k, char *detail) {
  static txf_tz *tz; /* test-local cache, freed at process exit */
  txf_err err;
  if (!tz)
    ASSERT_OK(txf_tz_load(&tz, "Asia/Seoul", &err), &err);
  txf_csv_reader *r =
      txf_csv_reader_open_mem(line, strlen(line), "t", k ? 14 : 13);
  txf_csv_record rec;
  int has;
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  ASSERT(has);
  txf_reject_reason why =
      k ? txf_clean_validate_card(&rec, row, a, tz, k, detail, 160)
        : txf_clean_validate(&rec, row, a, tz, detail, 160);
  if (why == TXF_REJ_NONE) /* clean hashes the content when it compares */
    txf_clean_rec_hash(row);
  txf_csv_reader_free(r);
  return why;
}

static txf_reject_reason check(const char *line, crow *row, txf_arena *a,
                               char *detail) {
  return check_key(line, row, a, NULL, detail);
}

#define GOOD "T1,C1,K1,M1,2025-09-01T08:59:59+09:00,12.5,krw,0742,Pending,T,Mobile,2025-09-01T00:00:00Z,"

TEST(clean_validate_normalizes_a_good_line) {
  txf_arena a;
  txf_arena_init(&a, 4096);
  crow row;
  char detail[160];
  ASSERT_EQ_I64(check(GOOD "\n", &row, &a, detail), TXF_REJ_NONE);
  ASSERT_EQ_I64(row.amount_minor, 1250);
  ASSERT_EQ_MEM(row.currency, "KRW", 3);
  ASSERT_EQ_I64(row.mcc, 742);
  ASSERT_EQ_I64(row.status, ST_PENDING);
  ASSERT_EQ_I64(row.channel, CH_MOBILE);
  ASSERT_EQ_I64(row.is_refund, 1);
  ASSERT_EQ_I64(row.has_orig, 0);
  /* 08:59:59 in Seoul is the previous day in UTC, but the event date is
   * the local one */
  ASSERT_EQ_I64(row.event_day, txf_date_from_ymd(2025, 9, 1).days);
  ASSERT_EQ_I64(row.txn_ts_us, INT64_C(1756684799000000));
  ASSERT_EQ_MEM(crow_s(&row, S_CARD), "K1", 2);
  txf_arena_release(&a);
}

TEST(clean_validate_reasons) {
  static const struct {
    const char *line;
    txf_reject_reason want;
  } cases[] = {
      {"T1,C1,K1,M1\n", TXF_REJ_WRONG_COLUMNS},
      {GOOD ",extra\n", TXF_REJ_WRONG_COLUMNS},
      {" ,C1,K1,M1,2025-09-01T08:59:59+09:00,1,KRW,0742,pending,t,pos,"
       "2025-09-01T00:00:00Z,\n",
       TXF_REJ_EMPTY_ID},
      {"T1,C1,K1,M\xC3\x28,2025-09-01T08:59:59+09:00,1,KRW,0742,pending,t,"
       "pos,2025-09-01T00:00:00Z,\n",
       TXF_REJ_INVALID_UTF8},
      {"T1,C1,K1,M1,2025-09-01T08:59:59,1,KRW,0742,pending,t,pos,"
       "2025-09-01T00:00:00Z,\n",
       TXF_REJ_BAD_TIMESTAMP},
      {"T1,C1,K1,M1,2025-09-01T08:59:59+09:00,1,KRW,0742,pending,t,pos,"
       "2025-09-01,\n",
       TXF_REJ_BAD_TIMESTAMP},
      {"T1,C1,K1,M1,2025-09-01T08:59:59+09:00,1,KRX,0742,pending,t,pos,"
       "2025-09-01T00:00:00Z,\n",
       TXF_REJ_BAD_CURRENCY},
      {"T1,C1,K1,M1,2025-09-01T08:59:59+09:00,1,KRW,742,pending,t,pos,"
       "2025-09-01T00:00:00Z,\n",
       TXF_REJ_BAD_MCC},
      {"T1,C1,K1,M1,2025-09-01T08:59:59+09:00,1,KRW,0742,pending ,t,pos,"
       "2025-09-01T00:00:00Z,\n",
       TXF_REJ_UNKNOWN_ENUM},
      {"T1,C1,K1,M1,2025-09-01T08:59:59+09:00,1,KRW,0742,pending,2,pos,"
       "2025-09-01T00:00:00Z,\n",
       TXF_REJ_UNKNOWN_ENUM},
      {"T1,C1,K1,M1,2025-09-01T08:59:59+09:00,1\"0,KRW,0742,pending,t,pos,"
       "2025-09-01T00:00:00Z,\n",
       TXF_REJ_STRAY_QUOTE},
  };
  txf_arena a;
  txf_arena_init(&a, 4096);
  for (size_t i = 0; i < TXF_ARRAY_LEN(cases); i++) {
    crow row;
    char detail[160];
    txf_reject_reason got = check(cases[i].line, &row, &a, detail);
    if (got != cases[i].want)
      unit_fail(__FILE__, __LINE__, "case %zu: got %s, want %s (%s)", i,
                txf_reject_reason_name(got),
                txf_reject_reason_name(cases[i].want), detail);
  }
  txf_arena_release(&a);
}

TEST(clean_version_order_and_tie_rule) {
  txf_arena a;
  txf_arena_init(&a, 4096);
  crow x, y, z;
  char d[160];
  ASSERT_EQ_I64(check(GOOD "\n", &x, &a, d), TXF_REJ_NONE);
  ASSERT_EQ_I64(check(GOOD "\n", &y, &a, d), TXF_REJ_NONE);
  /* same content: same hash, a duplicate */
  ASSERT_EQ_I64(txf_clean_version_cmp(&x, &y), 0);
  /* same ingested_at, other status: a tie, decided by the content hash,
   * the same both ways round */
  ASSERT_EQ_I64(check("T1,C1,K1,M1,2025-09-01T08:59:59+09:00,12.5,KRW,0742,"
                      "approved,true,mobile,2025-09-01T09:00:00+09:00,\n",
                      &z, &a, d),
                TXF_REJ_NONE);
  int c = txf_clean_version_cmp(&x, &z);
  ASSERT(c != 0);
  ASSERT_EQ_I64(txf_clean_version_cmp(&z, &x), -c);
  ASSERT_EQ_I64(c > 0, x.h0 > z.h0 || (x.h0 == z.h0 && x.h1 > z.h1));
  /* a later ingested_at always wins */
  z.ingested_at_us += 1;
  ASSERT_EQ_I64(txf_clean_version_cmp(&z, &x), 1);
  txf_arena_release(&a);
}

TEST(clean_hash_is_stable) {
  /* The tie rule and the index depend on these values: changing the hash
   * changes which version wins a tie, so it must not change silently. */
  uint64_t h[2];
  txf_clean_hash128("", 0, 0, h);
  ASSERT_EQ_U64(h[0], 0);
  ASSERT_EQ_U64(h[1], 0);
  txf_clean_hash128("hello", 5, 0, h);
  ASSERT_EQ_U64(h[0], UINT64_C(0xcbd8a7b341bd9b02));
  ASSERT_EQ_U64(h[1], UINT64_C(0x5b1e906a48ae1d19));
}

/* A control character in any field is its own reason (issue 16), checked
 * right after the column count; the detail shows it escaped. */
TEST(clean_validate_control_characters) {
  static const char good[] = GOOD "\n";
  txf_err err;
  txf_tz *tz = unit_zone("Asia/Seoul");
  txf_arena a;
  txf_arena_init(&a, 4096);
  /* byte offsets inside GOOD: the id's second byte, the channel, the
   * last field (empty: append) */
  size_t id_at = 1, ch_at = strlen(GOOD) - strlen(",2025-09-01T00:00:00Z,") - 1;
  static const unsigned char bytes[] = {0x00, 0x01, 0x09, 0x1b, 0x1f, 0x7f};
  for (size_t k = 0; k < 3; k++)
    for (size_t b = 0; b < sizeof bytes; b++) {
      char line[256];
      size_t n = strlen(good);
      memcpy(line, good, n);
      if (k == 2) { /* original_transaction_id "\xNN" before the newline */
        line[n - 1] = (char)bytes[b];
        line[n++] = '\n';
      } else {
        line[k == 0 ? id_at : ch_at] = (char)bytes[b];
      }
      txf_csv_reader *r = txf_csv_reader_open_mem(line, n, "t", 13);
      txf_csv_record rec;
      int has;
      ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
      crow row;
      char detail[160];
      txf_reject_reason why =
          txf_clean_validate(&rec, &row, &a, tz, detail, sizeof detail);
      txf_csv_reader_free(r);
      if (why != TXF_REJ_CONTROL_CHAR)
        unit_fail(__FILE__, __LINE__, "byte 0x%02x in field %zu: %s (%s)",
                  bytes[b], k, txf_reject_reason_name(why), detail);
      char want[16];
      snprintf(want, sizeof want, "\\x%02x", bytes[b]);
      ASSERT_CONTAINS(detail, want);
    }
  /* a line break inside a quoted id is a control character too */
  static const char ml[] = "\"T\n1\",C1,K1,M1,2025-09-01T08:59:59+09:00,1,KRW,"
                           "0742,pending,t,pos,2025-09-01T00:00:00Z,\n";
  crow row;
  char detail[160];
  ASSERT_EQ_I64(check(ml, &row, &a, detail), TXF_REJ_CONTROL_CHAR);
  ASSERT_EQ_STR(detail, "transaction_id: 'T\\x0a1' holds a control character "
                        "(0x0a)");
  /* CRLF line ends are not part of any field */
  ASSERT_EQ_I64(check(GOOD "\r\n", &row, &a, detail), TXF_REJ_NONE);
  ASSERT_EQ_STR(txf_reject_reason_name(TXF_REJ_CONTROL_CHAR), "control_char");
  txf_arena_release(&a);
  txf_tz_free(tz);
}

/* The control check reads a field eight bytes at a time: every field
 * length up to 40 (the word loop, its overlapping tail, the byte loop
 * under 8), every position, every byte value: a control byte is found
 * where it is and named, anything else (printable ASCII, a UTF-8
 * letter's bytes, which are >= 0x80) is not one. */
TEST(clean_validate_control_characters_every_length_and_position) {
  txf_tz *tz = unit_zone("Asia/Seoul");
  txf_arena a;
  txf_arena_init(&a, 4096);
  for (size_t len = 1; len <= 40; len++)
    for (size_t at = 0; at < len; at++)
      for (int b = 0; b < 256; b++) {
        if (b == ',' || b == '"' || b == '\n' || b == '\r' || b == ' ' ||
            (b >= 0x80 && b != 0xc3))
          continue; /* CSV syntax, a blank id, or not UTF-8 on its own */
        char id[64];
        memset(id, 'x', len);
        id[at] = (char)b;
        size_t n = len;
        if (b == 0xc3) { /* e with an acute accent: two bytes */
          if (at + 1 == len)
            continue;
          id[at + 1] = (char)0xa9;
        }
        char line[256]; /* the id may hold a NUL: no string functions */
        static const char rest[] = GOOD "\n";
        memcpy(line, id, n);
        memcpy(line + n, rest + 2, sizeof rest - 2);
        crow row;
        char detail[160];
        txf_csv_reader *r =
            txf_csv_reader_open_mem(line, n + sizeof rest - 3, "t", 13);
        txf_csv_record rec;
        int has;
        txf_err err;
        ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
        txf_reject_reason why =
            txf_clean_validate(&rec, &row, &a, tz, detail, sizeof detail);
        txf_csv_reader_free(r);
        int ctl = b < 0x20 || b == 0x7f;
        if (why != (ctl ? TXF_REJ_CONTROL_CHAR : TXF_REJ_NONE))
          unit_fail(__FILE__, __LINE__, "byte 0x%02x at %zu of %zu: %s (%s)", b,
                    at, len, txf_reject_reason_name(why), detail);
        if (ctl) {
          char want[40];
          snprintf(want, sizeof want, "(0x%02x)", b);
          ASSERT_CONTAINS(detail, want);
          ASSERT_CONTAINS(detail, "transaction_id");
        }
        txf_arena_reset(&a);
      }
  txf_arena_release(&a);
  txf_tz_free(tz);
}

TEST(clean_escape_shows_bytes_readably) {
  char out[64];
  ASSERT_EQ_STR(txf_clean_escape("M00\0 1", 6, 40, out, sizeof out),
                "M00\\x00 1");
  ASSERT_EQ_STR(txf_clean_escape("a\\b", 3, 40, out, sizeof out), "a\\x5cb");
  /* valid UTF-8 stays; a broken sequence is shown byte by byte */
  ASSERT_EQ_STR(
      txf_clean_escape("\xea\xb0\x80\xc3\x28", 5, 40, out, sizeof out),
      "\xea\xb0\x80\\xc3(");
  ASSERT_EQ_STR(txf_clean_escape("abcdef", 6, 3, out, sizeof out), "abc...");
  /* a small buffer is cut, never overrun */
  char tiny[16];
  txf_clean_escape("\x01\x02\x03\x04\x05\x06", 6, 40, tiny, sizeof tiny);
  ASSERT(strlen(tiny) < sizeof tiny);
}

TEST(clean_validate_card_tokenizes_and_rejects) {
  txf_err err;
  txf_pan_key *k;
  ASSERT_OK(
      txf_pan_key_load(&k, NULL, "0123456789abcdef0123456789abcdef", &err),
      &err);
  txf_arena a;
  txf_arena_init(&a, 4096);
  crow row, row2;
  char detail[160];
  /* grouped by spaces: the same card as plain digits, one token */
  ASSERT_EQ_I64(check_key(GOOD ",4111 1111 1111 1111\n", &row, &a, k, detail),
                TXF_REJ_NONE);
  ASSERT_EQ_I64(check_key(GOOD ",4111111111111111\n", &row2, &a, k, detail),
                TXF_REJ_NONE);
  ASSERT_EQ_I64(row.len[S_PAN], PAN_BLOCK_LEN);
  ASSERT_EQ_MEM(crow_s(&row, S_PAN), crow_s(&row2, S_PAN), PAN_BLOCK_LEN);
  ASSERT_EQ_MEM(crow_s(&row, S_PAN) + PAN_TOKEN_LEN, "4111111111", 10);
  char tok[65];
  txf_pan_token(k, "4111111111111111", 16, tok);
  ASSERT_EQ_MEM(crow_s(&row, S_PAN), tok, PAN_TOKEN_LEN);
  ASSERT_EQ_MEM(crow_s(&row, S_ID), "T1", 2); /* the strings kept */
  /* the card is content: another card, another hash */
  ASSERT_EQ_I64(check_key(GOOD ",5555555555554444\n", &row2, &a, k, detail),
                TXF_REJ_NONE);
  ASSERT(row.h0 != row2.h0 || row.h1 != row2.h1);
  /* a wrong check digit, 15 digits: bad_card_number, masked */
  ASSERT_EQ_I64(check_key(GOOD ",4111111111111112\n", &row, &a, k, detail),
                TXF_REJ_BAD_CARD_NUMBER);
  ASSERT_CONTAINS(detail, "411111******1112");
  ASSERT(!strstr(detail, "4111111111111112"));
  ASSERT_EQ_I64(check_key(GOOD ",411111111111111\n", &row, &a, k, detail),
                TXF_REJ_BAD_CARD_NUMBER);
  /* the other columns first; 13 columns is the wrong count */
  ASSERT_EQ_I64(check_key("T1,C1,K1,M1,x,12.5,KRW,0742,pending,t,pos,"
                          "2025-09-01T00:00:00Z,,4111111111111112\n",
                          &row, &a, k, detail),
                TXF_REJ_BAD_TIMESTAMP);
  ASSERT_EQ_I64(check_key(GOOD "\n", &row, &a, k, detail),
                TXF_REJ_WRONG_COLUMNS);
  ASSERT_CONTAINS(detail, "want 14");
  txf_arena_release(&a);
  txf_pan_key_free(k);
}
