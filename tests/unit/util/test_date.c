#include "../../lib/unit.h"
#include "util/util.h"

TEST(date_roundtrip_all_days_1900_2100) {
  txf_date d = txf_date_from_ymd(1900, 1, 1);
  txf_date end = txf_date_from_ymd(2100, 12, 31);
  int y = 1900, m = 1, day = 1;
  for (; d.days <= end.days; d.days++) {
    int yy, mm, dd;
    txf_date_to_ymd(d, &yy, &mm, &dd);
    ASSERT_EQ_I64(yy, y);
    ASSERT_EQ_I64(mm, m);
    ASSERT_EQ_I64(dd, day);
    ASSERT_EQ_I64(txf_date_from_ymd(yy, mm, dd).days, d.days);
    if (++day > txf_days_in_month(y, m)) {
      day = 1;
      if (++m > 12) {
        m = 1;
        y++;
      }
    }
  }
}

TEST(date_epoch_and_weekday) {
  ASSERT_EQ_I64(txf_date_from_ymd(1970, 1, 1).days, 0);
  ASSERT_EQ_I64(txf_date_from_ymd(2025, 9, 1).days, 20332);
  ASSERT_EQ_I64(txf_date_weekday(txf_date_from_ymd(2025, 9, 1)), 0); /* Mon */
  ASSERT_EQ_I64(txf_date_weekday(txf_date_from_ymd(1969, 12, 31)), 2);
  ASSERT_EQ_I64(txf_date_weekday(txf_date_from_ymd(2024, 3, 3)), 6);
}

TEST(date_parse_and_format) {
  txf_date d;
  char buf[11];
  ASSERT_OK(txf_date_parse("2024-02-29", SIZE_MAX, &d), (txf_err *)0);
  ASSERT_EQ_STR(txf_date_format(d, buf), "2024-02-29");
  ASSERT(txf_date_parse("2023-02-29", SIZE_MAX, &d) == TXF_EPARSE);
  ASSERT(txf_date_parse("2023-13-01", SIZE_MAX, &d) == TXF_EPARSE);
  ASSERT(txf_date_parse("2023-1-01", SIZE_MAX, &d) == TXF_EPARSE);
  ASSERT(txf_date_parse("2023-01-01x", SIZE_MAX, &d) == TXF_EPARSE);
  ASSERT(txf_date_parse("", SIZE_MAX, &d) == TXF_EPARSE);
  ASSERT(txf_date_parse("0000-01-01", SIZE_MAX, &d) == TXF_EPARSE);
}

TEST(ts_parse_offsets_and_fractions) {
  int64_t ts;
  int off;
  ASSERT_OK(txf_ts_parse("2025-09-01T00:30:00+09:00", SIZE_MAX, &ts, &off),
            (txf_err *)0);
  ASSERT_EQ_I64(off, 540);
  /* 00:30 in Seoul is 15:30 the previous day in UTC. */
  ASSERT_EQ_I64(ts, (int64_t)(20331 * 86400 + 15 * 3600 + 30 * 60) * 1000000);
  int64_t z;
  ASSERT_OK(txf_ts_parse("2025-08-31T15:30:00Z", SIZE_MAX, &z, NULL),
            (txf_err *)0);
  ASSERT_EQ_I64(z, ts);
  ASSERT_OK(txf_ts_parse("2025-08-31 15:30:00.5-0000", SIZE_MAX, &z, NULL),
            (txf_err *)0);
  ASSERT_EQ_I64(z, ts + 500000);
  ASSERT_OK(txf_ts_parse("2025-08-31T15:30:00.123456000+00", SIZE_MAX, &z,
                         NULL),
            (txf_err *)0);
  ASSERT_EQ_I64(z, ts + 123456);
  ASSERT(txf_ts_parse("2025-08-31T15:30:00.1234567Z", SIZE_MAX, &z, NULL));
  ASSERT(txf_ts_parse("2025-08-31T15:30:00", SIZE_MAX, &z, NULL));
  ASSERT(txf_ts_parse("2025-08-31T24:00:00Z", SIZE_MAX, &z, NULL));
  ASSERT(txf_ts_parse("2025-02-30T10:00:00Z", SIZE_MAX, &z, NULL));
  ASSERT(txf_ts_parse("2025-08-31T15:30:00+9", SIZE_MAX, &z, NULL));
  ASSERT(txf_ts_parse("2025-08-31T15:30:00Zx", SIZE_MAX, &z, NULL));
  ASSERT(txf_ts_parse("2025-08-31T15:30:00.Z", SIZE_MAX, &z, NULL));
}

/* Each of the 14 digit places of "YYYY-MM-DDTHH:MM:SS" holds a digit
 * or the timestamp is refused (a byte just below '0', just above '9', a
 * letter, a high byte); every value of each place is read. */
TEST(ts_parse_digits_at_every_place) {
  static const int place[14] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
  static const char bad[] = {'/', ':', 'a', ' ', (char)0x80, (char)0xff};
  char s[] = "2016-12-28T19:47:36Z";
  int64_t want, got;
  ASSERT_OK(txf_ts_parse(s, SIZE_MAX, &want, NULL), (txf_err *)0);
  ASSERT_EQ_I64(want, ((int64_t)txf_date_from_ymd(2016, 12, 28).days * 86400 +
                       19 * 3600 + 47 * 60 + 36) *
                          1000000);
  for (int p = 0; p < 14; p++) {
    char keep = s[place[p]];
    for (size_t k = 0; k < sizeof bad; k++) {
      s[place[p]] = bad[k];
      ASSERT(txf_ts_parse(s, SIZE_MAX, &got, NULL) == TXF_EPARSE);
    }
    s[place[p]] = keep;
  }
  /* every digit at the places where any digit is valid */
  static const int free_place[] = {0, 1, 2, 3, 9, 12, 15, 18};
  static const int64_t weight[] = {0, 0, 0, 0, 86400, 3600, 60, 1};
  for (int q = 0; q < 8; q++) {
    char keep = s[free_place[q]];
    for (char c = '0'; c <= '9'; c++) {
      s[free_place[q]] = c;
      ASSERT_OK(txf_ts_parse(s, SIZE_MAX, &got, NULL), (txf_err *)0);
      int64_t delta = (int64_t)(c - keep) * weight[q] * 1000000;
      if (q < 4) { /* a year's digit: a date of another year */
        int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
                (s[3] - '0');
        delta = ((int64_t)txf_date_from_ymd(y, 12, 28).days -
                 txf_date_from_ymd(2016, 12, 28).days) *
                86400 * 1000000;
      }
      ASSERT_EQ_I64(got, want + delta);
    }
    s[free_place[q]] = keep;
  }
}

TEST(ts_format_roundtrip) {
  char buf[40];
  int64_t ts;
  ASSERT_OK(txf_ts_parse("1969-12-31T23:59:59.000001+09:00", SIZE_MAX, &ts,
                         NULL),
            (txf_err *)0);
  txf_ts_format(ts, 540, 0, buf);
  ASSERT_EQ_STR(buf, "1969-12-31T23:59:59.000001+09:00");
  txf_ts_format(0, 0, 1, buf);
  ASSERT_EQ_STR(buf, "1970-01-01T00:00:00Z");
  txf_ts_format(-1, -330, 0, buf);
  ASSERT_EQ_STR(buf, "1969-12-31T18:29:59.999999-05:30");
  ASSERT_EQ_I64(txf_ts_utc_date(-1).days, -1);
}
