#include "../../lib/unit.h"
#include "util/util.h"
#include <stdlib.h>

TEST(tz_seoul_local_date) {
  txf_tz *tz;
  txf_err err;
  ASSERT_OK(txf_tz_load(&tz, "Asia/Seoul", &err), &err);
  ASSERT_EQ_I64(txf_tz_offset_at(tz, unit_ts("2025-09-01T00:00:00Z") / 1000000),
                9 * 3600);
  /* 08:59 local is still the same local day but the previous UTC day. */
  txf_date d = txf_tz_local_date(tz, unit_ts("2025-08-31T23:59:00Z"));
  ASSERT_EQ_I64(d.days, txf_date_from_ymd(2025, 9, 1).days);
  d = txf_tz_local_date(tz, unit_ts("2025-08-31T14:59:59.999999Z"));
  ASSERT_EQ_I64(d.days, txf_date_from_ymd(2025, 8, 31).days);
  /* Seoul had DST in 1988. */
  ASSERT_EQ_I64(txf_tz_offset_at(tz, unit_ts("1988-07-01T00:00:00Z") / 1000000),
                10 * 3600);
  ASSERT_EQ_I64(txf_tz_local_to_utc(tz, txf_date_from_ymd(2025, 9, 1), 0),
                unit_ts("2025-09-01T00:00:00+09:00"));
  txf_tz_free(tz);
}

TEST(tz_new_york_dst_rules_and_gaps) {
  txf_tz *tz;
  txf_err err;
  ASSERT_OK(txf_tz_load(&tz, "America/New_York", &err), &err);
  ASSERT_EQ_I64(txf_tz_offset_at(tz, unit_ts("2025-07-01T12:00:00Z") / 1000000),
                -4 * 3600);
  ASSERT_EQ_I64(txf_tz_offset_at(tz, unit_ts("2025-01-01T12:00:00Z") / 1000000),
                -5 * 3600);
  /* Far future: from the footer rule (or a fat file), the same answer. */
  ASSERT_EQ_I64(txf_tz_offset_at(tz, unit_ts("2090-07-01T12:00:00Z") / 1000000),
                -4 * 3600);
  ASSERT_EQ_I64(txf_tz_offset_at(tz, unit_ts("2090-12-01T12:00:00Z") / 1000000),
                -5 * 3600);
  /* 2025-03-09 02:30 does not exist; read with the offset before (-5). */
  ASSERT_EQ_I64(
      txf_tz_local_to_utc(tz, txf_date_from_ymd(2025, 3, 9), 2 * 3600 + 1800),
      unit_ts("2025-03-09T02:30:00-05:00"));
  /* 2025-11-02 01:30 happens twice; the earlier one (-4) wins. */
  ASSERT_EQ_I64(
      txf_tz_local_to_utc(tz, txf_date_from_ymd(2025, 11, 2), 3600 + 1800),
      unit_ts("2025-11-02T01:30:00-04:00"));
  txf_tz_free(tz);
}

TEST(tz_unknown_and_hostile_names) {
  txf_tz *tz = NULL;
  txf_err err;
  ASSERT(txf_tz_load(&tz, "Mars/Olympus", &err) == TXF_ENOTFOUND);
  ASSERT_CONTAINS(err.msg, "Mars/Olympus");
  ASSERT(txf_tz_load(&tz, "../../etc/passwd", &err) == TXF_ENOTFOUND);
  ASSERT(txf_tz_load(&tz, "/etc/passwd", &err) == TXF_ENOTFOUND);
  ASSERT(tz == NULL);
  ASSERT_OK(txf_tz_load(&tz, "UTC", &err), &err);
  ASSERT_EQ_I64(txf_tz_offset_at(tz, 0), 0);
  txf_tz_free(tz);
}

TEST(tz_rejects_corrupt_tzif) {
  const char *dir = unit_tmpdir();
  setenv("TZDIR", dir, 1);
  unit_write_file(unit_path("Bad"), "TZif2\nnot really");
  txf_tz *tz = NULL;
  txf_err err;
  ASSERT(txf_tz_load(&tz, "Bad", &err) == TXF_EPARSE);
  ASSERT(tz == NULL);
  unsetenv("TZDIR");
}
