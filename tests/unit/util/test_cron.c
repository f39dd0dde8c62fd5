#include "../../lib/unit.h"
#include "util/util.h"

/* Cron expressions (src/util/cron.c): the project loader checks
 * `schedule:` with txf_cron_parse, the scheduler fires on txf_cron_next.
 * The scheduler's due times are in tests/unit/orchestrate. */

TEST(cron_parse_fields) {
  txf_cron c;
  txf_err err;
  ASSERT_OK(txf_cron_parse(&c, "0 6 * * *", &err), &err);
  ASSERT_EQ_U64(c.minutes, 1);
  ASSERT_EQ_U64(c.hours, 1u << 6);
  ASSERT(c.mday_star && c.wday_star);
  ASSERT_OK(txf_cron_parse(&c, "*/15 9-17/4 1,15 jan-mar mon-fri", &err), &err);
  ASSERT_EQ_U64(c.minutes,
                (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
  ASSERT_EQ_U64(c.hours, (1u << 9) | (1u << 13) | (1u << 17));
  ASSERT_EQ_U64(c.mdays, (1u << 1) | (1u << 15));
  ASSERT_EQ_U64(c.months, (1u << 1) | (1u << 2) | (1u << 3));
  ASSERT_EQ_U64(c.wdays, 0x3e);
  ASSERT_OK(txf_cron_parse(&c, "0 0 * * 7", &err), &err);
  ASSERT_EQ_U64(c.wdays, 1); /* 7 is Sunday */
  ASSERT_OK(txf_cron_parse(&c, "@daily", &err), &err);
  ASSERT_EQ_U64(c.hours, 1);
  ASSERT(txf_cron_parse(&c, "0 6 * *", &err) == TXF_EPARSE);
  ASSERT(txf_cron_parse(&c, "60 6 * * *", &err) == TXF_EPARSE);
  ASSERT_CONTAINS(err.msg, "bad minute field '60' in '60 6 * * *'");
  ASSERT(txf_cron_parse(&c, "0 6 * * * *", &err) == TXF_EPARSE);
  ASSERT(txf_cron_parse(&c, "0 6 32 * *", &err) == TXF_EPARSE);
  ASSERT(txf_cron_parse(&c, "0 6 * * funday", &err) == TXF_EPARSE);
}

TEST(cron_next_across_dst) {
  txf_cron c;
  txf_err err;
  txf_tz *tz = unit_zone("Europe/Berlin");
  ASSERT_OK(txf_cron_parse(&c, "30 2 * * *", &err), &err);
  /* 2025-03-30 02:30 does not exist in Berlin: fired at the instant
   * txf_tz_local_to_utc gives (offset before the gap), once. */
  int64_t t = txf_cron_next(&c, tz, unit_ts("2025-03-29T12:00:00+01:00"));
  ASSERT_EQ_I64(t, unit_ts("2025-03-29T02:30:00+01:00") + 86400 * TXF_US_PER_S);
  int64_t t2 = txf_cron_next(&c, tz, t);
  ASSERT_EQ_I64(t2, unit_ts("2025-03-31T02:30:00+02:00"));
  /* Vixie rule: both day fields restricted -> either matches. */
  ASSERT_OK(txf_cron_parse(&c, "0 0 13 * fri", &err), &err);
  ASSERT_EQ_I64(txf_cron_next(&c, tz, unit_ts("2025-06-01T00:00:00+02:00")),
                unit_ts("2025-06-06T00:00:00+02:00"));
  txf_tz_free(tz);
}
