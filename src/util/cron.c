/* Cron expressions: parsing (the project loader checks `schedule:` with
 * it, so a bad one is reported with its line and column on every command)
 * and the next fire time in a zone (the scheduler). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const char *const month_names[] = {"jan", "feb", "mar", "apr",
                                          "may", "jun", "jul", "aug",
                                          "sep", "oct", "nov", "dec"};
static const char *const day_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat"};

static int parse_num(const char **p, int field, int *out) {
  const char *s = *p;
  if (isdigit((unsigned char)*s)) {
    long v = 0;
    while (isdigit((unsigned char)*s) && v < 1000)
      v = v * 10 + (*s++ - '0');
    *out = (int)v;
    *p = s;
    return 0;
  }
  const char *const *names = field == 3 ? month_names
                             : field == 4 ? day_names
                                          : NULL;
  size_t n = field == 3 ? 12 : 7;
  if (!names)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (strncasecmp(s, names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
      *out = (int)i + (field == 3 ? 1 : 0);
      *p = s + 3;
      return 0;
    }
  return -1;
}

/* Parse one field into a bit set over LO..HI. */
static int parse_field(const char *f, int field, int lo, int hi,
                       uint64_t *bits, int *star) {
  *bits = 0;
  *star = 0;
  const char *p = f;
  if (!*p)
    return -1;
  while (*p) {
    int a, b, step = 1;
    if (*p == '*') {
      a = lo;
      b = hi;
      p++;
      if (*p != '/')
        *star = 1;
    } else {
      if (parse_num(&p, field, &a))
        return -1;
      b = a;
      if (*p == '-') {
        p++;
        if (parse_num(&p, field, &b))
          return -1;
      }
    }
    if (*p == '/') {
      p++;
      if (parse_num(&p, -1, &step) || step < 1)
        return -1;
      if (b == a && f[0] != '*')
        b = hi; /* "5/15": from 5 to the end */
    }
    if (field == 4 && b == 7 && a <= 7) {
      /* 7 is Sunday too. */
      if (a == 7)
        a = 0, b = 0;
      else {
        b = 6;
        *bits |= 1;
      }
    }
    if (a < lo || b > hi || a > b)
      return -1;
    for (int v = a; v <= b; v += step)
      *bits |= UINT64_C(1) << v;
    if (*p == ',')
      p++;
    else if (*p)
      return -1;
  }
  return 0;
}

int txf_cron_parse(txf_cron *c, const char *expr, txf_err *err) {
  memset(c, 0, sizeof *c);
  const char *e = expr;
  while (isspace((unsigned char)*e))
    e++;
  static const struct {
    const char *name, *expr;
  } macros[] = {{"@yearly", "0 0 1 1 *"},   {"@annually", "0 0 1 1 *"},
                {"@monthly", "0 0 1 * *"},  {"@weekly", "0 0 * * 0"},
                {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                {"@hourly", "0 * * * *"}};
  for (size_t i = 0; i < TXF_ARRAY_LEN(macros); i++)
    if (!strcmp(e, macros[i].name))
      e = macros[i].expr;
  char fields[5][64];
  int n = 0;
  const char *p = e;
  while (*p && n < 6) {
    while (isspace((unsigned char)*p))
      p++;
    if (!*p)
      break;
    size_t l = 0;
    while (p[l] && !isspace((unsigned char)p[l]))
      l++;
    if (n == 5 || l >= sizeof fields[0]) {
      n = 6;
      break;
    }
    memcpy(fields[n], p, l);
    fields[n][l] = '\0';
    n++;
    p += l;
  }
  if (n != 5)
    return txf_err_set(err, TXF_EPARSE,
                       "'%s': expected 5 fields (minute hour day-of-month "
                       "month day-of-week) or @daily, @hourly, ...",
                       expr);
  static const char *const names[] = {"minute", "hour", "day-of-month",
                                      "month", "day-of-week"};
  static const int lo[] = {0, 0, 1, 1, 0}, hi[] = {59, 23, 31, 12, 7};
  uint64_t bits[5];
  int star[5];
  for (int i = 0; i < 5; i++)
    if (parse_field(fields[i], i, lo[i], hi[i], &bits[i], &star[i]))
      return txf_err_set(err, TXF_EPARSE, "bad %s field '%s' in '%s'",
                         names[i], fields[i], expr);
  c->minutes = bits[0];
  c->hours = (uint32_t)bits[1];
  c->mdays = (uint32_t)bits[2];
  c->months = (uint16_t)bits[3];
  c->wdays = (uint8_t)(bits[4] & 0x7f);
  c->mday_star = star[2];
  c->wday_star = star[4];
  return 0;
}

static int day_matches(const txf_cron *c, txf_date d) {
  int y, m, day;
  txf_date_to_ymd(d, &y, &m, &day);
  if (!(c->months >> m & 1))
    return 0;
  int wd = (txf_date_weekday(d) + 1) % 7; /* Sunday = 0 */
  int md_ok = c->mdays >> day & 1, wd_ok = c->wdays >> wd & 1;
  if (c->mday_star || c->wday_star)
    return md_ok && wd_ok;
  return md_ok || wd_ok; /* Vixie cron: either restricted day field */
}

int64_t txf_cron_next(const txf_cron *c, const txf_tz *tz, int64_t after_us) {
  txf_date d = txf_tz_local_date(tz, after_us);
  d.days--; /* an offset change may put the next fire on the local "day
               before" of AFTER's date; starting a day early is harmless */
  for (int i = 0; i < 5 * 366 + 2; i++, d.days++) {
    if (!day_matches(c, d))
      continue;
    for (int h = 0; h < 24; h++) {
      if (!(c->hours >> h & 1))
        continue;
      for (int m = 0; m < 60; m++) {
        if (!(c->minutes >> m & 1))
          continue;
        int64_t t = txf_tz_local_to_utc(tz, d, h * 3600 + m * 60);
        if (t > after_us)
          return t;
      }
    }
  }
  return INT64_MAX;
}

