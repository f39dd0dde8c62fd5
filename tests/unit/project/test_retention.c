/* retention: in txnflow.yml (docs/silver.md, "Retention"): durations,
 * the default of bronze_card_files (decision 2201), errors. */
#include "projtest.h"

#define DAY (INT64_C(86400) * 1000000)

static int read_ret(const char *yml, txf_project_retention *r, txf_err *err) {
  txf_project *p = projt_load(yml, NULL);
  txf_err_clear(err);
  int rc = txf_project_retention_read(r, p, err);
  txf_project_free(p);
  return rc;
}

TEST(retention_durations_parse) {
  int64_t us = 0;
  ASSERT_EQ_I64(txf_project_retention_parse("400d", &us), 0);
  ASSERT_EQ_I64(us, 400 * DAY);
  ASSERT_EQ_I64(txf_project_retention_parse("52w", &us), 0);
  ASSERT_EQ_I64(us, 364 * DAY);
  ASSERT_EQ_I64(txf_project_retention_parse("5y", &us), 0);
  ASSERT_EQ_I64(us, 5 * 365 * DAY);
  ASSERT_EQ_I64(txf_project_retention_parse("0d", &us), 0);
  ASSERT_EQ_I64(us, 0);
  ASSERT_EQ_I64(txf_project_retention_parse("forever", &us), 0);
  ASSERT_EQ_I64(us, -1);
  const char *bad[] = {"",    "d",   "5",   "5m",      "5dd",
                       "-1d", "+3d", " 3d", "100001d", "Forever"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ASSERT_EQ_I64(txf_project_retention_parse(bad[i], &us), -1);
}

TEST(retention_card_files_default_is_the_shortest) {
  txf_project_retention r;
  txf_err err;
  ASSERT_OK(read_ret("name: t\n", &r, &err), &err);
  ASSERT(!r.configured && r.vacuum_daily);
  ASSERT_EQ_I64(r.bronze_card_files_us, -1);
  ASSERT_EQ_STR(r.card_files_from, "");
  ASSERT_OK(read_ret("name: t\nretention:\n  snapshots: 400d\n  bronze: 5y\n"
                     "  quarantine: 1y\n",
                     &r, &err),
            &err);
  ASSERT(r.configured && !r.card_files_explicit);
  ASSERT_EQ_I64(r.bronze_card_files_us, 365 * DAY);
  ASSERT_EQ_STR(r.card_files_from, "quarantine");
  ASSERT_OK(read_ret("name: t\nretention:\n  snapshots: forever\n"
                     "  bronze: 10w\n",
                     &r, &err),
            &err);
  ASSERT_EQ_I64(r.bronze_card_files_us, 70 * DAY);
  ASSERT_EQ_STR(r.card_files_from, "bronze");
  ASSERT_OK(read_ret("name: t\nretention:\n  snapshots: forever\n", &r, &err),
            &err);
  ASSERT_EQ_I64(r.bronze_card_files_us, -1);
  ASSERT_OK(read_ret("name: t\nretention:\n  bronze: 1d\n"
                     "  bronze_card_files: 90d\n  vacuum: off\n",
                     &r, &err),
            &err);
  ASSERT(r.card_files_explicit && !r.vacuum_daily);
  ASSERT_EQ_I64(r.bronze_card_files_us, 90 * DAY);
  ASSERT_EQ_STR(r.card_files_from, "bronze_card_files");
  /* an override of the others moves the default with them */
  r.card_files_explicit = 0;
  r.quarantine_us = 2 * DAY;
  txf_project_retention_settle(&r);
  ASSERT_EQ_I64(r.bronze_card_files_us, DAY);
  ASSERT_EQ_STR(r.card_files_from, "bronze");
}

TEST(retention_errors_name_the_place) {
  txf_project_retention r;
  txf_err err;
  ASSERT_EQ_I64(read_ret("name: t\nretention:\n  bronze: 5 years\n", &r, &err),
                TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "txnflow.yml:3:11: retention.bronze: '5 years' is "
                           "not a duration");
  ASSERT_EQ_I64(read_ret("name: t\nretention:\n  bronze_cards: 5d\n", &r, &err),
                TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg,
                  "txnflow.yml:3:3: unknown key 'bronze_cards' in retention");
  ASSERT_EQ_I64(read_ret("name: t\nretention: 5y\n", &r, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "txnflow.yml:2:12: key 'retention': expected a map");
  ASSERT_EQ_I64(read_ret("name: t\nretention:\n  vacuum: weekly\n", &r, &err),
                TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "txnflow.yml:3:11: retention.vacuum: 'weekly'");
}

TEST(retention_removal_day_matches_vacuum) {
  /* a batch of day 100 kept 3 days goes on day 104 (UTC) */
  ASSERT_EQ_I64(txf_project_retention_removal_day(100, 3 * DAY), 104);
  ASSERT_EQ_I64(txf_project_retention_removal_day(100, 0), 101);
  ASSERT_EQ_I64(txf_project_retention_removal_day(100, -1), INT32_MAX);
}
