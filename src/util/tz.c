/* Named time zones from the system tz database (RFC 8536 TZif files).
 *
 * Why not localtime_r with $TZ: that is process-global state, slow per call
 * and not safe to switch between zones in one process. A TZif file is a
 * sorted list of transitions; a lookup is a binary search, and instants past
 * the last transition follow the POSIX TZ rule in the file's footer. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct rule_time {
  char kind; /* 'M' month.week.day, 'J' julian 1..365, 'N' zero-based day */
  int m, w, d, n;
  int32_t secs; /* local time of day of the change */
} rule_time;

struct txf_tz {
  char *name;
  int64_t *trans;   /* transition instants, UTC seconds, ascending */
  int32_t *offs;    /* offset in force from trans[i] */
  size_t n_trans;
  int32_t initial_off; /* before the first transition */
  /* footer rule, for instants past the last transition */
  int has_rule;
  int32_t std_off, dst_off;
  int has_dst;
  rule_time start, end;
};

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static int64_t be64(const unsigned char *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ---- POSIX TZ strings ("KST-9", "CET-1CEST,M3.5.0,M10.5.0/3") */

static const char *parse_name(const char *s) {
  if (*s == '<') {
    const char *e = strchr(s, '>');
    return e ? e + 1 : NULL;
  }
  const char *p = s;
  while (isalpha((unsigned char)*p))
    p++;
  return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] -> seconds */
static const char *parse_hms(const char *s, int32_t *out) {
  int sign = 1;
  if (*s == '+' || *s == '-') {
    sign = *s == '-' ? -1 : 1;
    s++;
  }
  int32_t v = 0, part = 0;
  int fields = 0;
  for (;;) {
    if (!isdigit((unsigned char)*s))
      return NULL;
    part = 0;
    while (isdigit((unsigned char)*s))
      part = part * 10 + (*s++ - '0');
    v = v * 60 + part;
    fields++;
    if (*s != ':' || fields == 3)
      break;
    s++;
  }
  while (fields++ < 3)
    v *= 60;
  *out = sign * v;
  return s;
}

static const char *parse_rule_time(const char *s, rule_time *rt) {
  memset(rt, 0, sizeof *rt);
  rt->secs = 7200;
  if (*s == 'M') {
    rt->kind = 'M';
    if (sscanf(s + 1, "%d.%d.%d", &rt->m, &rt->w, &rt->d) != 3)
      return NULL;
    s++;
    while (*s && *s != '/' && *s != ',')
      s++;
    if (rt->m < 1 || rt->m > 12 || rt->w < 1 || rt->w > 5 || rt->d < 0 ||
        rt->d > 6)
      return NULL;
  } else {
    rt->kind = 'N';
    if (*s == 'J') {
      rt->kind = 'J';
      s++;
    }
    if (!isdigit((unsigned char)*s))
      return NULL;
    while (isdigit((unsigned char)*s))
      rt->n = rt->n * 10 + (*s++ - '0');
  }
  if (*s == '/') {
    s = parse_hms(s + 1, &rt->secs);
    if (!s)
      return NULL;
  }
  return s;
}

static int parse_posix(txf_tz *tz, const char *s) {
  int32_t v;
  s = parse_name(s);
  if (!s || !(s = parse_hms(s, &v)))
    return -1;
  tz->std_off = -v; /* POSIX offsets are west-positive */
  tz->has_rule = 1;
  if (!*s)
    return 0;
  s = parse_name(s);
  if (!s)
    return -1;
  tz->has_dst = 1;
  tz->dst_off = tz->std_off + 3600;
  if (*s && *s != ',') {
    if (!(s = parse_hms(s, &v)))
      return -1;
    tz->dst_off = -v;
  }
  if (*s != ',')
    return -1; /* no rule: ambiguous, refuse */
  if (!(s = parse_rule_time(s + 1, &tz->start)) || *s != ',')
    return -1;
  if (!(s = parse_rule_time(s + 1, &tz->end)) || *s)
    return -1;
  return 0;
}

/* Day (txf_date) on which rule RT falls in year Y. */
static int32_t rule_day(const rule_time *rt, int y) {
  int leap = txf_days_in_month(y, 2) == 29;
  int32_t jan1 = txf_date_from_ymd(y, 1, 1).days;
  if (rt->kind == 'J')
    return jan1 + rt->n - 1 + (leap && rt->n >= 60);
  if (rt->kind == 'N')
    return jan1 + rt->n;
  txf_date first = txf_date_from_ymd(y, rt->m, 1);
  int wd_sun = (txf_date_weekday(first) + 1) % 7; /* 0 = Sunday */
  int day = 1 + (rt->d - wd_sun + 7) % 7 + 7 * (rt->w - 1);
  while (day > txf_days_in_month(y, rt->m))
    day -= 7;
  return first.days + day - 1;
}

static int32_t rule_offset(const txf_tz *tz, int64_t t) {
  if (!tz->has_dst)
    return tz->std_off;
  txf_date d = txf_ts_utc_date((t + tz->std_off) * TXF_US_PER_S);
  int y;
  txf_date_to_ymd(d, &y, NULL, NULL);
  int64_t start = (int64_t)rule_day(&tz->start, y) * TXF_S_PER_DAY +
                  tz->start.secs - tz->std_off;
  int64_t end = (int64_t)rule_day(&tz->end, y) * TXF_S_PER_DAY +
                tz->end.secs - tz->dst_off;
  int in_dst = start < end ? (t >= start && t < end)
                           : !(t >= end && t < start);
  return in_dst ? tz->dst_off : tz->std_off;
}

/* ---- TZif */

static int parse_tzif(txf_tz *tz, const unsigned char *p, size_t n) {
  if (n < 44 || memcmp(p, "TZif", 4) != 0)
    return -1;
  int version = p[4] ? p[4] - '0' : 1;
  const unsigned char *h = p;
  size_t tsize = 4;
  for (int pass = 0; pass < 2; pass++) {
    if ((size_t)(h - p) + 44 > n || memcmp(h, "TZif", 4) != 0)
      return -1;
    uint32_t isutcnt = be32(h + 20), isstdcnt = be32(h + 24),
             leapcnt = be32(h + 28), timecnt = be32(h + 32),
             typecnt = be32(h + 36), charcnt = be32(h + 40);
    if (timecnt > 100000 || typecnt == 0 || typecnt > 256 || leapcnt > 10000 ||
        charcnt > 100000 || isutcnt > 256 || isstdcnt > 256)
      return -1;
    size_t body = timecnt * tsize + timecnt + typecnt * 6 + charcnt +
                  leapcnt * (tsize + 4) + isstdcnt + isutcnt;
    const unsigned char *b = h + 44;
    if ((size_t)(b - p) + body > n)
      return -1;
    if (pass == 0 && version >= 2) {
      h = b + body; /* skip the 32-bit block */
      tsize = 8;
      continue;
    }
    const unsigned char *times = b, *idx = b + timecnt * tsize,
                        *types = idx + timecnt;
    tz->trans = txf_xmalloc((timecnt ? timecnt : 1) * sizeof *tz->trans);
    tz->offs = txf_xmalloc((timecnt ? timecnt : 1) * sizeof *tz->offs);
    tz->n_trans = timecnt;
    for (uint32_t i = 0; i < timecnt; i++) {
      tz->trans[i] = tsize == 8 ? be64(times + 8 * i)
                                : (int32_t)be32(times + 4 * i);
      if (idx[i] >= typecnt)
        return -1;
      tz->offs[i] = (int32_t)be32(types + 6 * idx[i]);
      if (i && tz->trans[i] <= tz->trans[i - 1])
        return -1;
    }
    /* RFC 8536: before the first transition, type 0 is in force. */
    tz->initial_off = (int32_t)be32(types);
    if (tsize == 8) {
      const unsigned char *f = b + body;
      size_t left = n - (size_t)(f - p);
      if (left >= 2 && f[0] == '\n') {
        const unsigned char *e = memchr(f + 1, '\n', left - 1);
        if (e && e > f + 1) {
          char rule[128];
          size_t rl = (size_t)(e - f - 1);
          if (rl < sizeof rule) {
            memcpy(rule, f + 1, rl);
            rule[rl] = '\0';
            if (parse_posix(tz, rule) != 0)
              tz->has_rule = 0; /* fall back to the last transition */
          }
        }
      }
    }
    return 0;
  }
  return -1;
}

int txf_tz_load(txf_tz **out, const char *name, txf_err *err) {
  *out = NULL;
  if (!name || !*name || name[0] == '/' || strstr(name, "..") ||
      strlen(name) > 200)
    return txf_err_set(err, TXF_ENOTFOUND, "unknown time zone '%s'",
                       name ? name : "");
  txf_tz *tz = txf_xcalloc(1, sizeof *tz);
  tz->name = txf_xstrdup(name);
  if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 ||
      strcmp(name, "Z") == 0) {
    tz->has_rule = 1;
    *out = tz;
    return 0;
  }
  const char *dir = getenv("TZDIR");
  char *path = txf_path_join(dir && *dir ? dir : "/usr/share/zoneinfo", name);
  txf_buf b;
  txf_buf_init(&b, 1 << 20);
  txf_err e2;
  int rc = txf_fs_read_file(path, &b, &e2);
  if (rc) {
    txf_err_set(err, TXF_ENOTFOUND, "unknown time zone '%s' (no %s)", name,
                path);
  } else if (parse_tzif(tz, (const unsigned char *)b.data, b.len) != 0) {
    rc = txf_err_set(err, TXF_EPARSE, "%s: not a valid TZif file", path);
  }
  free(path);
  txf_buf_release(&b);
  if (rc) {
    txf_tz_free(tz);
    return rc == TXF_EIO ? TXF_ENOTFOUND : rc;
  }
  *out = tz;
  return 0;
}

void txf_tz_free(txf_tz *tz) {
  if (!tz)
    return;
  TXF_FREE_ALL(tz->name, tz->trans, tz->offs, tz);
}

const char *txf_tz_name(const txf_tz *tz) { return tz->name; }

int32_t txf_tz_offset_at(const txf_tz *tz, int64_t t) {
  size_t n = tz->n_trans;
  if (n == 0)
    return tz->has_rule ? rule_offset(tz, t) : tz->initial_off;
  if (t < tz->trans[0])
    return tz->initial_off;
  if (t >= tz->trans[n - 1])
    return tz->has_rule ? rule_offset(tz, t) : tz->offs[n - 1];
  size_t lo = 0, hi = n - 1; /* trans[lo] <= t < trans[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->trans[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  return tz->offs[lo];
}

txf_date txf_tz_local_date(const txf_tz *tz, int64_t ts_us) {
  int64_t s = ts_us / TXF_US_PER_S - (ts_us % TXF_US_PER_S < 0);
  return txf_ts_utc_date((s + txf_tz_offset_at(tz, s)) * TXF_US_PER_S);
}

int64_t txf_tz_local_to_utc(const txf_tz *tz, txf_date d,
                            int32_t secs_of_day) {
  int64_t local = (int64_t)d.days * TXF_S_PER_DAY + secs_of_day;
  /* Try the offsets in force a day either side; take the earliest instant
   * that maps back to the same wall time (overlap -> earlier). */
  int32_t o1 = txf_tz_offset_at(tz, local - TXF_S_PER_DAY);
  int32_t o2 = txf_tz_offset_at(tz, local + TXF_S_PER_DAY);
  int64_t c1 = local - o1, c2 = local - o2;
  int ok1 = txf_tz_offset_at(tz, c1) == o1;
  int ok2 = txf_tz_offset_at(tz, c2) == o2;
  int64_t t;
  if (ok1 && ok2)
    t = c1 < c2 ? c1 : c2;
  else if (ok1)
    t = c1;
  else if (ok2)
    t = c2;
  else
    t = c1; /* in a gap: read with the offset before it */
  return t * TXF_US_PER_S;
}
