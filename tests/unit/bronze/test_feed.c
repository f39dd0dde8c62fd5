/* The feed model: delivery plans, attributes, refunds, rates, skew. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/unit.h"
#include "bronze/feed.h"
#include "pan/pan.h"

static txf_tz *load_tz(const char *name) {
  txf_tz *tz;
  txf_err err;
  if (txf_tz_load(&tz, name, &err))
    unit_fail(__FILE__, __LINE__, "%s", err.msg);
  return tz;
}

static void feed_setup(feed *f, txf_gen_params *p, txf_tz **tz, int32_t d) {
  *tz = load_tz(p->timezone);
  txf_feed_init(f, p, *tz);
  txf_feed_set_window(f, d - FEED_MAX_TRAIL - FEED_REFUND_LOOKBACK - 1,
                      FEED_WINDOW);
}

TEST(feed_plan_days_are_ordered_and_bounded) {
  txf_gen_params p;
  txf_gen_params_default(&p);
  p.rows = 20000;
  p.dup_rate = 0.2;
  p.version_rate = 0.2;
  p.late_rate = 0.3;
  p.stale_rate = 0.1;
  feed f;
  txf_tz *tz;
  int32_t day = txf_date_from_ymd(2025, 9, 1).days;
  feed_setup(&f, &p, &tz, day);
  int seen_lag[7] = {0};
  for (uint32_t i = 0; i < 20000; i++) {
    feed_plan pl, again;
    /* Zeroed first: the byte comparison covers the struct's padding. */
    memset(&pl, 0, sizeof pl);
    memset(&again, 0, sizeof again);
    txf_feed_plan_of(&f, day, i, &pl);
    txf_feed_plan_of(&f, day, i, &again);
    ASSERT_EQ_MEM(&pl, &again, sizeof pl);
    ASSERT(pl.lag >= 0 && pl.lag <= 6);
    seen_lag[pl.lag]++;
    int32_t x1 = pl.day[FEED_K_NEW];
    ASSERT_EQ_I64(x1, day + pl.lag);
    for (int k = 0; k < FEED_K_COUNT; k++)
      if (pl.day[k] != INT32_MIN)
        ASSERT(pl.day[k] >= x1 && pl.day[k] <= day + FEED_MAX_TRAIL);
    if (pl.has_version) {
      int32_t x2 = pl.day[FEED_K_VERSION];
      ASSERT(x2 > x1);
      /* A copy of version 1 before version 2; later ones are stale. */
      if (pl.day[FEED_K_REDELIVER1] != INT32_MIN)
        ASSERT(pl.day[FEED_K_REDELIVER1] < x2);
      if (pl.day[FEED_K_STALE] != INT32_MIN)
        ASSERT(pl.day[FEED_K_STALE] >= x2);
      if (pl.day[FEED_K_REDELIVER2] != INT32_MIN)
        ASSERT(pl.day[FEED_K_REDELIVER2] >= x2);
      ASSERT(pl.status1 == FEED_PENDING || pl.status1 == FEED_APPROVED);
      if (pl.status1 == FEED_PENDING)
        ASSERT(pl.status2 == FEED_APPROVED || pl.status2 == FEED_DECLINED);
      else
        ASSERT(pl.status2 == FEED_REVERSED);
    } else {
      ASSERT(pl.day[FEED_K_VERSION] == INT32_MIN);
      ASSERT(pl.day[FEED_K_STALE] == INT32_MIN);
      ASSERT(pl.day[FEED_K_REDELIVER2] == INT32_MIN);
    }
  }
  for (int k = 0; k <= 6; k++)
    ASSERT(seen_lag[k] > 0);
  /* Each lag is rarer than the one before (the decay). */
  for (int k = 1; k < 5; k++)
    ASSERT(seen_lag[k] > seen_lag[k + 1]);
  txf_tz_free(tz);
}

TEST(feed_plan_rates_follow_parameters) {
  txf_gen_params p;
  txf_gen_params_default(&p);
  p.rows = 200000;
  feed f;
  txf_tz *tz;
  int32_t day = txf_date_from_ymd(2025, 9, 1).days;
  feed_setup(&f, &p, &tz, day);
  int64_t n = 200000, late = 0, ver = 0, dup1 = 0, stale = 0, refund = 0;
  for (uint32_t i = 0; i < n; i++) {
    feed_plan pl;
    txf_feed_plan_of(&f, day, i, &pl);
    late += pl.lag > 0;
    ver += pl.has_version;
    dup1 += pl.day[FEED_K_REDELIVER1] != INT32_MIN;
    stale += pl.day[FEED_K_STALE] != INT32_MIN;
    refund += pl.is_refund;
  }
  /* Within 10 % of the rate (several standard deviations at n=200k). */
#define NEAR(got, rate) ASSERT(fabs((double)(got) / n - (rate)) < (rate) * 0.1)
  NEAR(late, p.late_rate);
  NEAR(ver, p.version_rate * (1 - p.refund_rate));
  NEAR(dup1, p.dup_rate);
  NEAR(stale, p.stale_rate * (1 - p.refund_rate));
  NEAR(refund, p.refund_rate);
#undef NEAR
  txf_tz_free(tz);
}

TEST(feed_txn_times_and_versions) {
  txf_gen_params p;
  txf_gen_params_default(&p);
  p.rows = 5000;
  p.version_rate = 0.3;
  p.stale_rate = 0.05;
  p.late_rate = 0.2;
  feed f;
  txf_tz *tz;
  int32_t day = txf_date_from_ymd(2025, 9, 1).days;
  feed_setup(&f, &p, &tz, day);
  int hours[24] = {0};
  int moved_day = 0, new_amount = 0;
  int prev_utc_day = 0;
  for (uint32_t i = 0; i < 5000; i++) {
    feed_plan pl;
    feed_txn t;
    txf_feed_plan_of(&f, day, i, &pl);
    txf_feed_txn_of(&f, day, i, &pl, &t);
    /* The event happens on its local day, is delivered on its delivery
     * day, after it happened. */
    ASSERT_EQ_I64(txf_tz_local_date(tz, t.ts_us).days, day);
    ASSERT_EQ_I64(txf_tz_local_date(tz, t.ingested1_us).days,
                  pl.day[FEED_K_NEW]);
    ASSERT(t.ingested1_us >= t.ts_us);
    if (pl.has_version) {
      ASSERT(t.ingested2_us > t.ingested1_us);
      ASSERT_EQ_I64(txf_tz_local_date(tz, t.ingested2_us).days,
                    pl.day[FEED_K_VERSION]);
      ASSERT(t.ts2_us <= t.ts_us &&
             t.ts_us - t.ts2_us <= 6 * 3600 * TXF_US_PER_S);
      moved_day += txf_tz_local_date(tz, t.ts2_us).days != day;
      if (t.amount2_minor != t.amount_minor) {
        ASSERT(pl.status1 == FEED_PENDING && pl.status2 == FEED_APPROVED);
        ASSERT(t.amount2_minor > 0);
        new_amount++;
      }
    } else {
      ASSERT_EQ_I64(t.ts2_us, t.ts_us);
      ASSERT_EQ_I64(t.amount2_minor, t.amount_minor);
    }
    ASSERT(t.amount_minor > 0);
    ASSERT(t.mcc < txf_feed_n_mccs);
    ASSERT(t.customer < (uint32_t)p.customers);
    ASSERT(t.merchant < (uint32_t)p.merchants);
    ASSERT_EQ_I64((t.card - 1) / 3, t.customer);
    int32_t d;
    int64_t us;
    int32_t off;
    txf_feed_to_local(&f, t.ts_us, &d, &us, &off);
    ASSERT_EQ_I64(off, 9 * 3600);
    hours[us / (3600 * TXF_US_PER_S)]++;
    prev_utc_day += txf_ts_utc_date(t.ts_us).days < day;
  }
  /* Diurnal: lunch is busier than 4 am; local 00:00-08:59 is the
   * previous UTC day. */
  ASSERT(hours[12] > 5 * hours[4]);
  ASSERT(prev_utc_day > 500 && prev_utc_day < 2500);
  /* Some versions move to the previous day; some settle a new amount. */
  ASSERT(moved_day > 0 && moved_day < 100);
  ASSERT(new_amount > 50);
  txf_tz_free(tz);
}

TEST(feed_refunds_undo_an_earlier_approved_purchase) {
  txf_gen_params p;
  txf_gen_params_default(&p);
  p.rows = 3000;
  p.refund_rate = 0.2;
  feed f;
  txf_tz *tz;
  int32_t day = txf_date_from_ymd(2025, 9, 10).days;
  feed_setup(&f, &p, &tz, day);
  int refunds = 0, partial = 0;
  for (uint32_t i = 0; i < 3000; i++) {
    feed_plan pl;
    feed_txn t, o;
    txf_feed_plan_of(&f, day, i, &pl);
    txf_feed_txn_of(&f, day, i, &pl, &t);
    if (!t.is_refund)
      continue;
    refunds++;
    ASSERT(pl.is_refund && !pl.has_version);
    ASSERT(t.orig_day < day && t.orig_day >= day - FEED_REFUND_LOOKBACK);
    ASSERT(t.orig_index < (uint32_t)p.rows);
    feed_plan op;
    txf_feed_plan_of(&f, t.orig_day, t.orig_index, &op);
    ASSERT(!op.is_refund && !op.has_version);
    ASSERT_EQ_I64(op.status1, FEED_APPROVED);
    ASSERT(op.day[FEED_K_NEW] < day);
    txf_feed_txn_of(&f, t.orig_day, t.orig_index, &op, &o);
    ASSERT_EQ_I64(o.card, t.card);
    ASSERT_EQ_I64(o.customer, t.customer);
    ASSERT_EQ_I64(o.currency, t.currency);
    ASSERT(t.amount_minor <= o.amount_minor && t.amount_minor > 0);
    ASSERT(o.ts_us < t.ts_us);
    partial += t.amount_minor < o.amount_minor;
  }
  ASSERT(refunds > 450 && refunds < 750);
  ASSERT(partial > 0 && partial < refunds);
  txf_tz_free(tz);
}

TEST(feed_population_is_stable_and_skewed) {
  txf_gen_params p;
  txf_gen_params_default(&p);
  p.rows = 100000;
  p.customers = 10000;
  p.merchants = 2000;
  feed f;
  txf_tz *tz;
  int32_t day = txf_date_from_ymd(2025, 9, 3).days;
  feed_setup(&f, &p, &tz, day);
  ASSERT(txf_feed_n_mccs >= 30);
  int16_t *mcc_of = malloc(2000 * sizeof *mcc_of);
  int8_t *cur_of = malloc(2000);
  int64_t *per_cust = calloc(10000, sizeof *per_cust);
  for (int i = 0; i < 2000; i++)
    mcc_of[i] = -1;
  int64_t foreign = 0, mcc_used = 0;
  int used[64] = {0};
  int chan[3] = {0};
  for (uint32_t i = 0; i < 100000; i++) {
    feed_plan pl;
    feed_txn t;
    txf_feed_plan_of(&f, day + (int32_t)(i % 7), i, &pl);
    txf_feed_txn_of(&f, day + (int32_t)(i % 7), i, &pl, &t);
    /* One category and one currency per merchant, whatever the day. */
    if (mcc_of[t.merchant] < 0) {
      mcc_of[t.merchant] = (int16_t)t.mcc;
      cur_of[t.merchant] = (int8_t)t.currency;
    }
    ASSERT_EQ_I64(mcc_of[t.merchant], t.mcc);
    ASSERT_EQ_I64(cur_of[t.merchant], t.currency);
    per_cust[t.customer]++;
    foreign += t.currency != 0;
    if (!used[t.mcc]++)
      mcc_used++;
    chan[t.channel]++;
    if (t.currency == 0 && !t.is_refund)
      ASSERT_EQ_I64(t.amount_minor % 10, 0);
  }
  ASSERT_EQ_I64(mcc_used, txf_feed_n_mccs);
  /* Mostly KRW, some foreign. */
  ASSERT(foreign > 1000 && foreign < 10000);
  ASSERT(chan[0] > 5000 && chan[1] > 30000 && chan[2] > 5000);
  /* The busiest 1 % of customers make well over 1 % of the events. */
  int64_t top = 0;
  int64_t sorted[10000];
  memcpy(sorted, per_cust, sizeof sorted);
  for (int i = 0; i < 100; i++) { /* 100 largest by selection */
    int best = i;
    for (int j = i + 1; j < 10000; j++)
      if (sorted[j] > sorted[best])
        best = j;
    int64_t tmp = sorted[i];
    sorted[i] = sorted[best];
    sorted[best] = tmp;
    top += sorted[i];
  }
  ASSERT(top > 100000 / 10);
  free(mcc_of);
  free(cur_of);
  free(per_cust);
  txf_tz_free(tz);
}

TEST(feed_dst_zone_renders_real_local_times) {
  txf_gen_params p;
  txf_gen_params_default(&p);
  p.timezone = "Europe/Berlin";
  p.rows = 3000;
  feed f;
  txf_tz *tz;
  int32_t day = txf_date_from_ymd(2025, 3, 30).days; /* spring forward */
  feed_setup(&f, &p, &tz, day);
  for (uint32_t i = 0; i < 3000; i++) {
    feed_plan pl;
    feed_txn t;
    txf_feed_plan_of(&f, day, i, &pl);
    txf_feed_txn_of(&f, day, i, &pl, &t);
    int32_t d, off;
    int64_t us;
    txf_feed_to_local(&f, t.ts_us, &d, &us, &off);
    ASSERT_EQ_I64(d, txf_tz_local_date(tz, t.ts_us).days);
    ASSERT_EQ_I64(off, txf_tz_offset_at(tz, t.ts_us / TXF_US_PER_S));
    ASSERT(us >= 0 && us < TXF_US_PER_DAY);
  }
  txf_tz_free(tz);
}

static int cmp_pan(const void *a, const void *b) { return memcmp(a, b, 17); }

TEST(feed_card_numbers_valid_and_one_per_card) {
  txf_gen_params p;
  txf_gen_params_default(&p);
  txf_tz *tz = load_tz(p.timezone);
  feed f;
  txf_feed_init(&f, &p, tz);
  enum { N = 20000 };
  char(*pans)[17] = calloc(N, sizeof *pans);
  txf_err err;
  for (uint32_t c = 0; c < N; c++) {
    /* cards are spread over the whole population */
    uint32_t card = c * 30001u + 1;
    txf_feed_card_number(&f, card, pans[c]);
    txf_pan_card pc;
    ASSERT_OK(txf_pan_tokenize(NULL, pans[c], 16, &pc, &err), &err);
    char again[17];
    txf_feed_card_number(&f, card, again);
    ASSERT_EQ_STR(again, pans[c]);
  }
  qsort(pans, N, sizeof *pans, cmp_pan);
  for (size_t i = 1; i < N; i++)
    ASSERT(memcmp(pans[i - 1], pans[i], 17) != 0);
  free(pans);
  txf_tz_free(tz);
}
