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
