/* The synthetic feed's model: population, merchant categories, amounts,
 * times, statuses, and each transaction's delivery plan. Pure functions of
 * the parameters; see feed.h and docs/feed.md. */
#include <math.h>
#include <string.h>

#include "bronze/feed.h"
#include "pan/pan.h"

const char *const txf_feed_status_names[4] = {"approved", "declined", "pending",
                                              "reversed"};
const char *const txf_feed_channel_names[3] = {"online", "pos", "mobile"};

/* Merchant categories: weekday and weekend shares, median amount in KRW and
 * log-normal spread, share of foreign merchants, channel mix. Figures are
 * plausible for a Korean card portfolio, not any issuer's real numbers. */
const feed_mcc txf_feed_mccs[] = {
    {"5411", "grocery stores, supermarkets", 120, 150, 35000, 0.8, 1, 5, 80},
    {"5499", "convenience stores", 160, 140, 6500, 0.6, 0, 2, 85},
    {"5812", "restaurants", 150, 190, 28000, 0.7, 2, 4, 84},
    {"5814", "fast food", 90, 100, 9500, 0.5, 1, 8, 70},
    {"5813", "bars, pubs", 25, 45, 45000, 0.8, 1, 1, 92},
    {"5462", "bakeries", 40, 45, 8000, 0.5, 0, 3, 85},
    {"5541", "service stations", 35, 35, 60000, 0.4, 0, 1, 90},
    {"5542", "automated fuel dispensers", 20, 20, 55000, 0.4, 0, 0, 95},
    {"5311", "department stores", 30, 55, 95000, 1.0, 1, 20, 65},
    {"5331", "variety stores", 30, 35, 12000, 0.7, 0, 10, 75},
    {"5300", "wholesale clubs", 12, 25, 120000, 0.7, 0, 10, 80},
    {"5651", "family clothing", 18, 30, 70000, 0.8, 3, 25, 55},
    {"5691", "clothing stores", 15, 25, 85000, 0.8, 5, 25, 55},
    {"5732", "electronics stores", 10, 15, 180000, 1.1, 8, 35, 45},
    {"5912", "drug stores, pharmacies", 35, 30, 15000, 0.7, 0, 3, 90},
    {"5941", "sporting goods", 6, 10, 60000, 0.9, 5, 30, 50},
    {"5942", "book stores", 6, 8, 18000, 0.5, 3, 40, 45},
    {"5977", "cosmetic stores", 15, 20, 35000, 0.7, 5, 30, 50},
    {"5999", "miscellaneous retail", 25, 25, 25000, 0.9, 10, 45, 35},
    {"5200", "home supply warehouses", 6, 12, 45000, 0.9, 0, 20, 70},
    {"5712", "furniture", 3, 6, 350000, 0.9, 2, 30, 60},
    {"4111", "commuter transport", 90, 40, 1500, 0.3, 0, 0, 60},
    {"4121", "taxicabs", 45, 35, 12000, 0.5, 0, 5, 40},
    {"4511", "airlines", 4, 5, 450000, 0.8, 40, 55, 10},
    {"7011", "hotels, motels", 4, 8, 180000, 0.7, 35, 40, 45},
    {"4722", "travel agencies", 3, 4, 300000, 0.9, 20, 55, 10},
    {"7832", "motion picture theaters", 6, 14, 15000, 0.3, 0, 35, 35},
    {"7997", "clubs, gyms", 5, 4, 80000, 0.5, 0, 30, 55},
    {"7298", "health and beauty spas", 5, 8, 60000, 0.6, 1, 10, 75},
    {"8011", "doctors", 12, 6, 15000, 0.8, 0, 2, 95},
    {"8021", "dentists", 5, 3, 80000, 1.0, 0, 2, 95},
    {"8062", "hospitals", 6, 3, 120000, 1.1, 1, 3, 95},
    {"8099", "medical services", 5, 3, 40000, 0.9, 0, 5, 90},
    {"0742", "veterinary services", 3, 4, 55000, 0.8, 0, 2, 95},
    {"8220", "colleges, universities", 1, 1, 1500000, 0.5, 3, 60, 35},
    {"4814", "telecommunication services", 12, 6, 65000, 0.3, 0, 55, 5},
    {"4900", "utilities", 8, 4, 45000, 0.5, 0, 60, 5},
    {"6300", "insurance", 5, 2, 85000, 0.6, 0, 60, 5},
    {"5815", "digital media", 12, 14, 9900, 0.4, 30, 60, 0},
    {"5816", "digital games", 8, 12, 15000, 0.9, 25, 55, 0},
    {"5817", "software applications", 8, 8, 20000, 0.9, 35, 60, 0},
    {"5968", "subscriptions", 8, 6, 14900, 0.4, 30, 65, 0},
    {"7523", "parking lots", 15, 12, 4000, 0.6, 0, 5, 50},
};
const int txf_feed_n_mccs = (int)TXF_ARRAY_LEN(txf_feed_mccs);

/* Currencies: rough KRW rates (for plausible amounts only), ISO 4217
 * minor-unit digits, price rounding, share among foreign merchants. */
const feed_currency txf_feed_currencies[] = {
    {"KRW", 1.0, 0, 10, 0},   {"USD", 1350.0, 2, 1, 45},
    {"JPY", 9.0, 0, 10, 20},  {"EUR", 1450.0, 2, 1, 14},
    {"CNY", 190.0, 2, 1, 8},  {"GBP", 1700.0, 2, 1, 5},
    {"HKD", 173.0, 2, 10, 3}, {"VND", 0.055, 0, 1000, 5},
};
static const int n_currencies = (int)TXF_ARRAY_LEN(txf_feed_currencies);

/* Share of events per local hour (weekday, weekend), in 0.1 %. */
static const int hour_weights[2][24] = {
    {10, 6, 4, 3, 3, 5, 12, 30, 45, 45, 50, 65,
     85, 70, 55, 55, 55, 65, 80, 80, 70, 55, 35, 20},
    {18, 12, 8, 5, 3, 3, 6, 12, 22, 35, 50, 65,
     80, 80, 75, 70, 65, 65, 75, 75, 65, 50, 35, 25}};

#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)

static uint32_t threshold(double rate) {
  double t = rate * 4294967296.0;
  if (t <= 0)
    return 0;
  if (t >= 4294967295.0)
    return UINT32_MAX;
  return (uint32_t)t;
}

/* exp and log from IEEE basic operations only (+ - * / are correctly
 * rounded everywhere, libm's exp and log are not), so amounts are the same
 * bytes on every machine. Accurate to a few ulps, plenty for amounts. */
static double det_exp(double x) {
  if (x < -700)
    return 0;
  if (x > 700)
    x = 700;
  /* x = k ln2 + r, |r| <= ln2/2; exp(r) by its Taylor series. */
  double kd = x * 1.4426950408889634 + (x < 0 ? -0.5 : 0.5);
  int k = (int)kd;
  double r = x - k * 0.6931471805599453;
  double term = 1, sum = 1;
  for (int n = 1; n < 18; n++) {
    term = term * r / n;
    sum += term;
  }
  double p2 = 1;
  for (int i = 0; i < (k < 0 ? -k : k); i++)
    p2 *= 2;
  return k < 0 ? sum / p2 : sum * p2;
}

static double det_log(double x) {
  /* x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh((m-1)/(m+1)). */
  int e = 0;
  while (x >= 1.4142135623730951) {
    x /= 2;
    e++;
  }
  while (x < 0.7071067811865476) {
    x *= 2;
    e--;
  }
  double z = (x - 1) / (x + 1), z2 = z * z, term = z, sum = 0;
  for (int n = 1; n < 60; n += 2) {
    sum += term / n;
    term *= z2;
  }
  return 2 * sum + e * 0.6931471805599453;
}

/* Acklam's rational approximation of the standard normal quantile. */
static double probit(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                             2.445134137142996e+00, 3.754408661907416e+00};
  double q, r;
  if (p < 0.02425) {
    q = sqrt(-2 * det_log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q +
            c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - 0.02425) {
    q = sqrt(-2 * det_log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q +
             c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  q = p - 0.5;
  r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r +
          a[5]) *
         q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

static uint64_t gcd64(uint64_t a, uint64_t b) {
  while (b) {
    uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* A multiplier coprime with N, so i -> i * m mod N shuffles 0..N-1. */
static uint64_t shuffle_mul(uint64_t h, uint64_t n) {
  if (n <= 2)
    return 1;
  uint64_t m = h % n;
  if (m < 2)
    m = 2;
  while (gcd64(m, n) != 1)
    m = m + 1 < n ? m + 1 : 2;
  return m;
}

static void cumulative(uint32_t *out, const int *w, int n, int stride) {
  double total = 0;
  for (int i = 0; i < n; i++)
    total += w[i * stride];
  double acc = 0;
  for (int i = 0; i < n; i++) {
    acc += w[i * stride];
    out[i] = i == n - 1 ? UINT32_MAX : (uint32_t)(acc / total * 4294967295.0);
  }
}

void txf_feed_init(feed *f, const txf_gen_params *p, const txf_tz *tz) {
  memset(f, 0, sizeof *f);
  f->p = *p;
  f->tz = tz;
  f->key = feed_mix64(p->seed ^ UINT64_C(0x7478666C6F772D31)); /* "txflow-1" */
  f->thr_late = threshold(p->late_rate);
  f->thr_version = threshold(p->version_rate);
  f->thr_dup = threshold(p->dup_rate);
  /* Stale re-deliveries need a version: draw them among versioned ones. */
  f->thr_stale = p->version_rate > 0
                     ? threshold(p->stale_rate / p->version_rate)
                     : 0;
  f->thr_refund = threshold(p->refund_rate);
  f->thr21_late = threshold(p->late_rate) >> 11;
  f->thr21_version = threshold(p->version_rate) >> 11;
  f->thr21_dup = threshold(p->dup_rate) >> 11;
  f->thr_malformed = threshold(p->malformed_rate);
  int wd[64], we[64];
  for (int i = 0; i < txf_feed_n_mccs; i++) {
    wd[i] = txf_feed_mccs[i].weight_weekday;
    we[i] = txf_feed_mccs[i].weight_weekend;
  }
  cumulative(f->cum_mcc[0], wd, txf_feed_n_mccs, 1);
  cumulative(f->cum_mcc[1], we, txf_feed_n_mccs, 1);
  cumulative(f->cum_hour[0], hour_weights[0], 24, 1);
  cumulative(f->cum_hour[1], hour_weights[1], 24, 1);
  /* Merchants per category: one each, the rest in proportion to the
   * category's share; the remainder goes to the largest. */
  uint64_t m = (uint64_t)p->merchants, spare = m - (uint64_t)txf_feed_n_mccs;
  double wsum = 0;
  int big = 0;
  for (int i = 0; i < txf_feed_n_mccs; i++) {
    wsum += wd[i] + we[i];
    if (wd[i] + we[i] > wd[big] + we[big])
      big = i;
  }
  uint64_t used = 0;
  for (int i = 0; i < txf_feed_n_mccs; i++) {
    f->merch_count[i] = 1 + (uint32_t)((double)spare * (wd[i] + we[i]) / wsum);
    used += f->merch_count[i];
  }
  f->merch_count[big] += (uint32_t)(m - used);
  uint32_t start = 0;
  for (int i = 0; i < txf_feed_n_mccs; i++) {
    f->merch_start[i] = start;
    start += f->merch_count[i];
  }
  f->cust_mul = shuffle_mul(feed_mix64(f->key ^ 0xC057), (uint64_t)p->customers);
  f->merch_mul = shuffle_mul(feed_mix64(f->key ^ 0x3E7C), m);
  for (int i = 0; i < 4096; i++)
    f->probit[i] = (float)probit((i + 0.5) / 4096.0);
  f->win_n = 0;
}

void txf_feed_set_window(feed *f, int32_t first, int n) {
  if (n > FEED_WINDOW)
    n = FEED_WINDOW;
  f->win_first = first;
  f->win_n = n;
  for (int i = 0; i <= n; i++)
    f->win_start_s[i] =
        txf_tz_local_to_utc(f->tz, (txf_date){first + i}, 0) / TXF_US_PER_S;
  for (int i = 0; i < n; i++) {
    int64_t a = f->win_start_s[i], b = f->win_start_s[i + 1];
    int32_t oa = txf_tz_offset_at(f->tz, a);
    /* Fixed when the day is 24 h long and starts and ends on one offset
     * (zones change offset at most once or twice a year). */
    f->win_fixed[i] = b - a == TXF_S_PER_DAY &&
                      txf_tz_offset_at(f->tz, b - 1) == oa &&
                      txf_tz_offset_at(f->tz, a + TXF_S_PER_DAY / 2) == oa;
    f->win_off_s[i] = oa;
  }
}

/* UTC instant of local DAY + SEC (seconds of day). */
static int64_t local_to_utc_s(const feed *f, int32_t day, int32_t sec) {
  int32_t k = day - f->win_first;
  if (k >= 0 && k < f->win_n && f->win_fixed[k])
    return f->win_start_s[k] + sec;
  return txf_tz_local_to_utc(f->tz, (txf_date){day}, sec) / TXF_US_PER_S;
}

void txf_feed_to_local(const feed *f, int64_t ts_us, int32_t *day,
                       int64_t *us_of_day, int32_t *off_s) {
  int64_t s = ts_us / TXF_US_PER_S - (ts_us % TXF_US_PER_S < 0);
  if (f->win_n > 0 && s >= f->win_start_s[0] && s < f->win_start_s[f->win_n]) {
    /* Guess the day from the first offset, then step to the right one. */
    int64_t k = (s - f->win_start_s[0]) / TXF_S_PER_DAY;
    if (k >= f->win_n)
      k = f->win_n - 1;
    while (k > 0 && s < f->win_start_s[k])
      k--;
    while (k + 1 < f->win_n && s >= f->win_start_s[k + 1])
      k++;
    if (f->win_fixed[k]) {
      *day = f->win_first + (int32_t)k;
      *us_of_day = ts_us - f->win_start_s[k] * TXF_US_PER_S;
      *off_s = f->win_off_s[k];
      return;
    }
  }
  int32_t off = txf_tz_offset_at(f->tz, s);
  int64_t local_us = ts_us + (int64_t)off * TXF_US_PER_S;
  int64_t d = local_us / TXF_US_PER_DAY - (local_us % TXF_US_PER_DAY < 0);
  *day = (int32_t)d;
  *us_of_day = local_us - d * TXF_US_PER_DAY;
  *off_s = off;
}

uint64_t txf_feed_hash(const feed *f, int64_t day, uint64_t index,
                       uint64_t stream) {
  uint64_t b = feed_mix64(f->key ^ ((uint64_t)day * GOLDEN));
  b = feed_mix64(b + (index + 1) * UINT64_C(0xD1B54A32D192ED03));
  return feed_mix64(b + (stream + 1) * GOLDEN);
}

uint64_t txf_feed_day_key(const feed *f, int32_t day) {
  return feed_mix64(f->key ^ ((uint64_t)(int64_t)day * GOLDEN));
}

static inline uint64_t base_of(uint64_t day_key, uint32_t i) {
  return feed_mix64(day_key + ((uint64_t)i + 1) * UINT64_C(0xD1B54A32D192ED03));
}

static inline uint64_t txn_base(const feed *f, int32_t day, uint32_t i) {
  return base_of(txf_feed_day_key(f, day), i);
}

static inline uint64_t stream(uint64_t base, uint64_t s) {
  return feed_mix64(base + (s + 1) * GOLDEN);
}

int txf_feed_may_trail(const feed *f, uint64_t day_key, uint32_t i) {
  /* The draws txf_feed_plan_of makes for lateness, a version and a copy of
   * version 1; without any of them everything arrives on the event day. */
  uint64_t b = base_of(day_key, i);
  return (b & 0x1FFFFF) < f->thr21_late ||
         ((b >> 21) & 0x1FFFFF) < f->thr21_version ||
         ((b >> 42) & 0x1FFFFF) < f->thr21_dup;
}

/* 0, 1 or 2 days with falling odds (8:5:3 of 16), from 4 random bits. */
static inline int small_gap(unsigned x) {
  x &= 15;
  return x < 8 ? 0 : x < 13 ? 1 : 2;
}

void txf_feed_plan_of(const feed *f, int32_t day, uint32_t i, feed_plan *pl) {
  /* The base hash itself decides lateness, a version and a copy of
   * version 1 (21 bits each), so txf_feed_may_trail needs one hash. */
  uint64_t b = txn_base(f, day, i);
  uint64_t r1 = stream(b, 1), r2 = stream(b, 2);
  uint64_t r3 = stream(b, 3);
  pl->is_refund = (uint32_t)(r2 >> 32) < f->thr_refund;
  pl->has_version =
      !pl->is_refund && ((b >> 21) & 0x1FFFFF) < f->thr21_version;
  /* Late arrivals: lag 1..6 days, each twice as likely as the next (the
   * last two equal). */
  pl->lag = (b & 0x1FFFFF) < f->thr21_late
                ? (int8_t)(1 + __builtin_ctzll((r3 & 63) | 32))
                : 0;
  unsigned s16 = (unsigned)(r3 >> 8) & 0xFFFF;
  if (pl->has_version) {
    if (s16 < 45875) { /* 70 %: pending, resolved later */
      pl->status1 = FEED_PENDING;
      pl->status2 =
          ((r3 >> 24) & 0xFFFF) < 58982 ? FEED_APPROVED : FEED_DECLINED;
    } else { /* 30 %: approved, reversed later */
      pl->status1 = FEED_APPROVED;
      pl->status2 = FEED_REVERSED;
    }
  } else if (pl->is_refund) {
    pl->status1 = pl->status2 = FEED_APPROVED;
  } else {
    pl->status1 = s16 < 3277   ? FEED_DECLINED /* 5 % */
                  : s16 < 3604 ? FEED_PENDING  /* 0.5 %, never resolved */
                               : FEED_APPROVED;
    pl->status2 = pl->status1;
  }
  for (int k = 0; k < FEED_K_COUNT; k++)
    pl->day[k] = INT32_MIN;
  int32_t x1 = day + pl->lag;
  pl->day[FEED_K_NEW] = x1;
  int g2 = 0;
  if (pl->has_version) {
    unsigned x = (unsigned)(r3 >> 40) & 15;
    g2 = x < 10 ? 1 : x < 14 ? 2 : 3;
    pl->day[FEED_K_VERSION] = x1 + g2;
  }
  if (((b >> 42) & 0x1FFFFF) < f->thr21_dup) {
    /* A copy of version 1 arrives before version 2 does; a later copy is
     * a stale re-delivery, drawn separately. */
    int d = small_gap((unsigned)(r3 >> 44));
    if (pl->has_version && d > g2 - 1)
      d = g2 - 1;
    pl->day[FEED_K_REDELIVER1] = x1 + d;
  }
  if (pl->has_version) {
    int32_t x2 = pl->day[FEED_K_VERSION];
    if ((uint32_t)(r1 >> 32) < f->thr_dup)
      pl->day[FEED_K_REDELIVER2] = x2 + small_gap((unsigned)(r3 >> 48));
    if ((uint32_t)r2 < f->thr_stale)
      pl->day[FEED_K_STALE] = x2 + small_gap((unsigned)(r3 >> 52));
  }
}

/* The merchant currency, 0 = KRW. */
static int merchant_currency(const feed *f, uint32_t merchant, int mcc) {
  uint64_t h = feed_mix64(f->key ^ (((uint64_t)merchant + 1) * GOLDEN) ^
                          UINT64_C(0x4D45524348));
  if ((h & 0xFFFF) * 100 >= (uint64_t)txf_feed_mccs[mcc].foreign_pct * 65536)
    return 0;
  unsigned pick = (unsigned)((h >> 16) % 100), acc = 0;
  for (int c = 1; c < n_currencies; c++) {
    acc += (unsigned)txf_feed_currencies[c].share_pct;
    if (pick < acc)
      return c;
  }
  return 1;
}

static inline double u01(uint64_t x) { return (double)(x >> 11) * 0x1p-53; }

static int64_t round_down_to(int64_t v, int64_t step) {
  v -= v % step;
  return v < step ? step : v;
}

/* Amount in the currency's minor units from a KRW-equivalent amount. */
static int64_t to_minor(double krw, int cur) {
  const feed_currency *c = &txf_feed_currencies[cur];
  double major = krw / c->krw_per_unit;
  double minor = major * (c->scale == 2 ? 100.0 : 1.0);
  int64_t step = c->round_minor;
  if (cur == 0 && krw >= 10000)
    step = 100; /* KRW prices above 10,000 end in 00 */
  int64_t v = (int64_t)llround(minor / (double)step) * step;
  return v < step ? step : v;
}

static void purchase_of(const feed *f, int32_t day, uint32_t i, uint64_t b,
                        feed_txn *t) {
  int weekend = txf_date_weekday((txf_date){day}) >= 5;
  uint64_t r4 = stream(b, 4), r5 = stream(b, 5), r6 = stream(b, 6);
  /* Customer activity is heavy-tailed: rank = N * u^3 gives the top 1 % of
   * customers about a fifth of the events; the shuffle hides the rank. */
  double u = u01(r4);
  uint64_t n_cust = (uint64_t)f->p.customers;
  uint64_t rank = (uint64_t)((double)n_cust * u * u * u);
  if (rank >= n_cust)
    rank = n_cust - 1;
  t->customer = (uint32_t)((rank * f->cust_mul + 7) % n_cust);
  uint64_t hc = feed_mix64(f->key ^ (((uint64_t)t->customer + 1) * GOLDEN) ^
                           UINT64_C(0x435553544F4D));
  unsigned nc = (hc & 0xFF) < 140 ? 1 : (hc & 0xFF) < 217 ? 2 : 3;
  unsigned k = 0;
  if (nc > 1) {
    unsigned y = (unsigned)(r4 & 0xFFFF);
    k = y < 42598 ? 0 : 1 + (y % (nc - 1)); /* 65 % on the main card */
  }
  t->card = t->customer * 3u + k + 1;
  /* Category by day type, merchant within it skewed to popular ones. */
  uint32_t um = (uint32_t)r5;
  int m = 0;
  while (m < txf_feed_n_mccs - 1 && um > f->cum_mcc[weekend][m])
    m++;
  t->mcc = (uint16_t)m;
  double v = (double)(r5 >> 32) * 0x1p-32;
  uint32_t j = (uint32_t)((double)f->merch_count[m] * v * v);
  if (j >= f->merch_count[m])
    j = f->merch_count[m] - 1;
  t->merchant = (uint32_t)(((uint64_t)(f->merch_start[m] + j) * f->merch_mul) %
                           (uint64_t)f->p.merchants);
  t->currency = (uint8_t)merchant_currency(f, t->merchant, m);
  /* Amount: the category's log-normal times the customer's own spending
   * level (log-normal too, so a few customers spend far more). */
  double zc = f->probit[(hc >> 20) & 4095];
  double za = f->probit[r6 & 4095];
  const feed_mcc *mc = &txf_feed_mccs[m];
  double krw = mc->median_krw * det_exp(0.55 * zc + mc->sigma * za);
  double lo = mc->median_krw / 50.0, hi = mc->median_krw * 60.0;
  krw = krw < lo ? lo : krw > hi ? hi : krw;
  if (krw < 100)
    krw = 100;
  t->amount_minor = to_minor(krw, t->currency);
  unsigned ch = (unsigned)((r6 >> 12) % 100);
  t->channel = ch < (unsigned)mc->online_pct                   ? FEED_ONLINE
               : ch < (unsigned)(mc->online_pct + mc->pos_pct) ? FEED_POS
                                                               : FEED_MOBILE;
  (void)i;
}

/* Find the approved, never-versioned purchase a refund undoes: same card,
 * earlier day, delivered before the refund's day. NULL-free: returns 0 when
 * none of a few candidates fits (the event is then a plain purchase). */
static int refund_original(const feed *f, int32_t day, uint64_t b,
                           feed_txn *orig) {
  uint64_t rows = (uint64_t)f->p.rows;
  for (int a = 0; a < 8; a++) {
    uint64_t h = stream(b, 20 + (uint64_t)a);
    double uu = (double)(h & 0xFFFF) / 65536.0;
    int d = 1 + (int)(FEED_REFUND_LOOKBACK * uu * uu);
    uint32_t j = (uint32_t)((((h >> 16) & 0xFFFFFFFF) * rows) >> 32);
    feed_plan op;
    txf_feed_plan_of(f, day - d, j, &op);
    if (op.is_refund || op.has_version || op.status1 != FEED_APPROVED ||
        op.day[FEED_K_NEW] >= day)
      continue;
    txf_feed_txn_of(f, day - d, j, &op, orig);
    return 1;
  }
  return 0;
}

void txf_feed_txn_of(const feed *f, int32_t day, uint32_t i,
                     const feed_plan *pl, feed_txn *t) {
  memset(t, 0, sizeof *t);
  t->day = day;
  t->index = i;
  uint64_t b = txn_base(f, day, i);
  feed_txn o;
  if (pl->is_refund && refund_original(f, day, b, &o)) {
    t->customer = o.customer;
    t->card = o.card;
    t->merchant = o.merchant;
    t->mcc = o.mcc;
    t->currency = o.currency;
    t->channel = o.channel;
    t->is_refund = 1;
    t->orig_day = o.day;
    t->orig_index = o.index;
    uint64_t h = stream(b, 7);
    if ((h & 0xFF) < 150) {
      t->amount_minor = o.amount_minor; /* full refund */
    } else {
      /* Partial: 10..99 % of the purchase, on the currency's price step. */
      int64_t pct = 10 + (int64_t)((h >> 8) % 90);
      int64_t step = txf_feed_currencies[o.currency].round_minor;
      int64_t v = round_down_to(o.amount_minor * pct / 100, step);
      t->amount_minor = v <= o.amount_minor ? v : o.amount_minor;
    }
  } else {
    purchase_of(f, day, i, b, t);
  }
  /* Version 2 keeps time and amount unless changed below. */
  /* Time of day from the diurnal curve of the day type. */
  int weekend = txf_date_weekday((txf_date){day}) >= 5;
  uint64_t r8 = stream(b, 8);
  uint32_t uh = (uint32_t)r8;
  int hour = 0;
  while (hour < 23 && uh > f->cum_hour[weekend][hour])
    hour++;
  int32_t sec = hour * 3600 + (int32_t)(((r8 >> 32) * 3600) >> 32);
  int64_t ts_s = local_to_utc_s(f, day, sec);
  t->ts_us = t->ts2_us = ts_s * TXF_US_PER_S;
  t->amount2_minor = t->amount_minor;
  uint64_t r9 = stream(b, 9);
  int32_t x1 = pl->day[FEED_K_NEW];
  if (pl->lag == 0) {
    /* On time: the processor sends it within seconds to minutes, but
     * within the day it happened (the batch is that day's). */
    double w = u01(r9);
    int64_t delay_ms = 200 + (int64_t)(w * w * w * 600000.0);
    int64_t end_us = local_to_utc_s(f, day + 1, 0) * TXF_US_PER_S - 1000;
    int64_t ing = t->ts_us + delay_ms * 1000;
    t->ingested1_us = ing < end_us ? ing : end_us;
  } else {
    int64_t ms = (int64_t)((r9 & 0xFFFFFFFF) * UINT64_C(86400000) >> 32);
    t->ingested1_us =
        local_to_utc_s(f, x1, (int32_t)(ms / 1000)) * TXF_US_PER_S +
        (ms % 1000) * 1000;
  }
  if (pl->has_version) {
    /* Version 2 arrives on a later day, so its ingested_at is later. */
    int64_t ms = (int64_t)((r9 >> 32) * UINT64_C(86400000) >> 32);
    t->ingested2_us =
        local_to_utc_s(f, pl->day[FEED_K_VERSION], (int32_t)(ms / 1000)) *
            TXF_US_PER_S +
        (ms % 1000) * 1000;
    uint64_t r10 = stream(b, 10);
    /* 20 %: the processor corrects the time, up to 6 h earlier, so a few
     * versions move to the previous day's partition. */
    if ((r10 & 0xFF) < 51)
      t->ts2_us = t->ts_us - (int64_t)(1 + (r10 >> 8) % 21600) * TXF_US_PER_S;
    /* 30 % of captures of a pending authorisation settle another amount
     * (fuel pre-authorisations, tips, hotel deposits): 60..120 %. */
    if (pl->status1 == FEED_PENDING && pl->status2 == FEED_APPROVED &&
        ((r10 >> 32) & 0xFF) < 77) {
      int64_t pct = 60 + (int64_t)((r10 >> 40) % 61);
      int64_t step = txf_feed_currencies[t->currency].round_minor;
      t->amount2_minor = round_down_to(t->amount_minor * pct / 100, step);
    }
  }
}

void txf_feed_card_number(const feed *f, uint32_t card, char out[17]) {
  /* Test card ranges the networks publish for testing: never a real
   * cardholder's number. */
  static const char bins[6][7] = {"411111", "424242", "401288",
                                  "555555", "222300", "601111"};
  uint64_t h = feed_mix64(f->key ^ (UINT64_C(0x50414E) << 32 | card));
  memcpy(out, bins[h % 6], 6);
  /* x -> (a x + b) mod 10^9 is a bijection when a is prime to 10^9: cards
   * (below 10^9) get distinct account digits, hence distinct numbers. */
  uint64_t acct = ((uint64_t)card * UINT64_C(738111443) + (f->key >> 20)) %
                  UINT64_C(1000000000);
  for (int i = 14; i >= 6; i--, acct /= 10)
    out[i] = (char)('0' + acct % 10);
  out[15] = txf_pan_luhn_digit(out, 15);
  out[16] = '\0';
}
