/* feed: the synthetic transaction model behind `txnflow generate` —
 * private to src/bronze (generate.c, and the unit tests).
 *
 * Every transaction (event day E, index i) is a pure function of the seed,
 * E and i, computed from counter-based hashes (splitmix64's finaliser over
 * a key derived from seed, day, index and a stream number). Its delivery
 * plan says on which ingestion days which versions of it arrive; its
 * attributes (customer, card, merchant, amount, time, ...) are computed only
 * when a delivery falls on the batch being written. docs/feed.md describes
 * the distributions. */
#ifndef TXF_BRONZE_FEED_H
#define TXF_BRONZE_FEED_H

#include <stdint.h>

#include "bronze/bronze.h"

/* Deliveries can trail the event day by at most this many days: late
 * arrival (6) + version gap (3) + re-delivery or stale gap (2). */
#define FEED_MAX_TRAIL 11
/* Refunds look back up to this many days for their purchase. */
#define FEED_REFUND_LOOKBACK 14
#define FEED_WINDOW (FEED_MAX_TRAIL + FEED_REFUND_LOOKBACK + 4)
/* Transaction ids are "T" YYYYMMDD "-" 8 digits. */
#define FEED_MAX_ROWS INT64_C(99999999)

enum { FEED_APPROVED, FEED_DECLINED, FEED_PENDING, FEED_REVERSED };
extern const char *const txf_feed_status_names[4];
enum { FEED_ONLINE, FEED_POS, FEED_MOBILE };
extern const char *const txf_feed_channel_names[3];

/* Delivery kinds, in the order a transaction's deliveries are emitted
 * within one batch. */
enum {
  FEED_K_NEW,        /* first version, first delivery */
  FEED_K_REDELIVER1, /* exact copy of version 1 (before version 2 exists) */
  FEED_K_VERSION,    /* version 2 (status resolved or reversed) */
  FEED_K_REDELIVER2, /* exact copy of version 2 */
  FEED_K_STALE,      /* copy of version 1 after version 2 was delivered */
  FEED_K_COUNT
};

typedef struct feed_plan {
  uint8_t is_refund;   /* drawn as a refund (see feed_txn.is_refund) */
  uint8_t has_version;
  uint8_t status1, status2;
  int8_t lag;          /* first delivery day - event day (0..6) */
  int32_t day[FEED_K_COUNT]; /* delivery day of each kind, or INT32_MIN */
} feed_plan;

typedef struct feed_mcc {
  const char *code; /* 4 digits, leading zeros kept */
  const char *name;
  int weight_weekday, weight_weekend; /* relative share of events */
  int median_krw;                     /* median amount */
  double sigma;                       /* log-normal spread */
  int foreign_pct;                    /* share of foreign merchants */
  int online_pct, pos_pct;            /* rest is mobile */
} feed_mcc;
extern const feed_mcc txf_feed_mccs[];
extern const int txf_feed_n_mccs;

typedef struct feed_currency {
  const char *code;
  double krw_per_unit; /* rough rate for plausible amounts */
  int scale;           /* minor-unit digits (0 or 2) */
  int round_minor;     /* amounts are multiples of this many minor units */
  int share_pct;       /* share among foreign merchants */
} feed_currency;
extern const feed_currency txf_feed_currencies[]; /* [0] is KRW */

/* A transaction's attributes. Version 2 differs in status and
 * ingested_at, and sometimes in txn_ts and amount. Times are UTC
 * microseconds. */
typedef struct feed_txn {
  int32_t day;
  uint32_t index;
  uint32_t customer; /* 0..customers-1 */
  uint32_t card;     /* card number (customer * 3 + k + 1) */
  uint32_t merchant; /* 0..merchants-1 */
  uint16_t mcc;      /* index into txf_feed_mccs */
  uint8_t currency;  /* index into txf_feed_currencies */
  uint8_t channel;
  uint8_t is_refund;
  int64_t amount_minor;
  int64_t ts_us;
  int64_t ingested1_us; /* version 1 */
  int64_t ingested2_us; /* version 2, if any */
  int64_t ts2_us;       /* version 2's txn_ts (a correction, or ts_us) */
  int64_t amount2_minor; /* version 2's amount (settled, or amount_minor) */
  int32_t orig_day;     /* refund: the purchase it refunds */
  uint32_t orig_index;
} feed_txn;

typedef struct feed {
  txf_gen_params p;
  const txf_tz *tz;
  uint64_t key;
  uint32_t thr_late, thr_version, thr_dup, thr_stale, thr_refund;
  uint32_t thr_malformed;
  uint32_t thr21_late, thr21_version, thr21_dup; /* over 2^21 */
  uint32_t cum_mcc[2][64]; /* cumulative weights over 2^32, per day type */
  uint32_t cum_hour[2][24];
  uint32_t merch_start[64], merch_count[64];
  uint64_t cust_mul, merch_mul; /* bijective shuffles of the populations */
  float probit[4096];           /* standard normal quantiles */
  /* Day window with cached zone facts (txf_feed_set_window). */
  int32_t win_first;
  int win_n;
  int64_t win_start_s[FEED_WINDOW + 1]; /* UTC second of local midnight */
  int32_t win_off_s[FEED_WINDOW];       /* offset, when fixed all day */
  uint8_t win_fixed[FEED_WINDOW];
} feed;

/* Set up F for P (borrowed; P->timezone must name TZ). */
void txf_feed_init(feed *f, const txf_gen_params *p, const txf_tz *tz);
/* Cache the zone's midnights and offsets for days FIRST..FIRST+N-1
 * (N <= FEED_WINDOW); other days still work, only slower. */
void txf_feed_set_window(feed *f, int32_t first, int n);
/* Local date (days), microsecond of the local day and offset (seconds) of
 * the UTC instant TS_US. */
void txf_feed_to_local(const feed *f, int64_t ts_us, int32_t *day,
                       int64_t *us_of_day, int32_t *off_s);
/* The delivery plan of transaction (DAY, I). */
void txf_feed_plan_of(const feed *f, int32_t day, uint32_t i, feed_plan *out);
/* The per-day part of every transaction hash of DAY. */
uint64_t txf_feed_day_key(const feed *f, int32_t day);
/* 0 when transaction (day of DAY_KEY, I) certainly has all its deliveries
 * on its event day (a cheap pre-check before txf_feed_plan_of). */
int txf_feed_may_trail(const feed *f, uint64_t day_key, uint32_t i);
/* The attributes of transaction (DAY, I) with plan PL. */
void txf_feed_txn_of(const feed *f, int32_t day, uint32_t i,
                     const feed_plan *pl, feed_txn *out);
/* Card CARD's PAN under F's seed: 16 digits and a NUL into OUT, a test
 * BIN (411111, 424242, 401288, 555555, 222300, 601111), nine digits that
 * are a bijection of CARD (so two cards never share one) and the Luhn
 * check digit. */
void txf_feed_card_number(const feed *f, uint32_t card, char out[17]);
/* A bijective 64-bit mix (splitmix64's finaliser). */
static inline uint64_t feed_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}
/* Hash of (day-or-batch key, counter, stream). */
uint64_t txf_feed_hash(const feed *f, int64_t day, uint64_t index,
                       uint64_t stream);

#endif
