/* Civil dates, ISO 8601 timestamps and clocks. Date arithmetic follows
 * Howard Hinnant's days_from_civil / civil_from_days: exact for the
 * proleptic Gregorian calendar, no tables, no libc time zone state. */
#include <string.h>
#include <time.h>

#include "util.h"

txf_date txf_date_from_ymd(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 +
                       (unsigned)d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  txf_date out = {(int32_t)(era * 146097 + (int)doe - 719468)};
  return out;
}

void txf_date_to_ymd(txf_date dt, int *y, int *m, int *d) {
  int z = dt.days + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int yy = (int)yoe + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
  const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
  if (y)
    *y = yy + (mm <= 2);
  if (m)
    *m = (int)mm;
  if (d)
    *d = (int)dd;
}

int txf_date_weekday(txf_date d) {
  /* 1970-01-01 was a Thursday (3 when Monday is 0). */
  int w = (d.days + 3) % 7;
  return w < 0 ? w + 7 : w;
}

int txf_days_in_month(int y, int m) {
  static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12)
    return 0;
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return 29;
  return dm[m - 1];
}

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int txf_date_parse(const char *s, size_t n, txf_date *out) {
  if (n == SIZE_MAX)
    n = strlen(s);
  int y, m, d;
  if (n != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) ||
      digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
    return TXF_EPARSE;
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > txf_days_in_month(y, m))
    return TXF_EPARSE;
  *out = txf_date_from_ymd(y, m, d);
  return 0;
}

char *txf_date_format(txf_date dt, char *out) {
  int y, m, d;
  txf_date_to_ymd(dt, &y, &m, &d);
  /* Fixed-width, fast: this runs once per row in hot paths. */
  out[0] = (char)('0' + y / 1000 % 10);
  out[1] = (char)('0' + y / 100 % 10);
  out[2] = (char)('0' + y / 10 % 10);
  out[3] = (char)('0' + y % 10);
  out[4] = '-';
  out[5] = (char)('0' + m / 10);
  out[6] = (char)('0' + m % 10);
  out[7] = '-';
  out[8] = (char)('0' + d / 10);
  out[9] = (char)('0' + d % 10);
  out[10] = '\0';
  return out;
}

txf_date txf_ts_utc_date(int64_t ts_us) {
  int64_t days = ts_us / TXF_US_PER_DAY;
  if (ts_us % TXF_US_PER_DAY < 0)
    days--;
  txf_date d = {(int32_t)days};
  return d;
}

int txf_ts_parse(const char *s, size_t n, int64_t *ts_us, int *offset_min) {
  if (n == SIZE_MAX)
    n = strlen(s);
  int y, mo, d, h, mi, se;
  if (n < 20 || s[4] != '-' || s[7] != '-' ||
      !(s[10] == 'T' || s[10] == 't' || s[10] == ' ') || s[13] != ':' ||
      s[16] != ':')
    return TXF_EPARSE;
  if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
      digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
      digits(s + 17, 2, &se))
    return TXF_EPARSE;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > txf_days_in_month(y, mo) ||
      h > 23 || mi > 59 || se > 59)
    return TXF_EPARSE;
  size_t i = 19;
  int64_t frac_us = 0;
  if (i < n && (s[i] == '.' || s[i] == ',')) {
    i++;
    size_t start = i;
    int64_t scale = 100000;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (i - start < 6) {
        frac_us += (s[i] - '0') * scale;
        scale /= 10;
      } else if (s[i] != '0') {
        return TXF_EPARSE; /* sub-microsecond precision would be lost */
      }
      i++;
    }
    if (i == start || i - start > 9)
      return TXF_EPARSE;
  }
  if (i >= n)
    return TXF_EPARSE; /* no offset */
  int off = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    i++;
  } else if (s[i] == '+' || s[i] == '-') {
    int sign = s[i] == '-' ? -1 : 1;
    i++;
    int oh, om = 0;
    if (n - i < 2 || digits(s + i, 2, &oh))
      return TXF_EPARSE;
    i += 2;
    if (i < n) {
      if (s[i] == ':')
        i++;
      if (n - i < 2 || digits(s + i, 2, &om))
        return TXF_EPARSE;
      i += 2;
    }
    if (oh > 18 || om > 59)
      return TXF_EPARSE;
    off = sign * (oh * 60 + om);
  } else {
    return TXF_EPARSE;
  }
  if (i != n)
    return TXF_EPARSE;
  int64_t days = txf_date_from_ymd(y, mo, d).days;
  int64_t secs = days * TXF_S_PER_DAY + h * 3600 + mi * 60 + se -
                 (int64_t)off * 60;
  *ts_us = secs * TXF_US_PER_S + frac_us;
  if (offset_min)
    *offset_min = off;
  return 0;
}

int txf_ts_format(int64_t ts_us, int offset_min, int utc_z, char *out) {
  int64_t local = ts_us + (int64_t)offset_min * 60 * TXF_US_PER_S;
  txf_date d = txf_ts_utc_date(local);
  int64_t us_of_day = local - (int64_t)d.days * TXF_US_PER_DAY;
  int64_t sod = us_of_day / TXF_US_PER_S;
  int64_t frac = us_of_day % TXF_US_PER_S;
  txf_date_format(d, out);
  int n = 10;
  n += snprintf(out + n, 40 - (size_t)n, "T%02d:%02d:%02d",
                (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
  if (frac)
    n += snprintf(out + n, 40 - (size_t)n, ".%06d", (int)frac);
  if (offset_min == 0 && utc_z) {
    out[n++] = 'Z';
    out[n] = '\0';
  } else {
    int a = offset_min < 0 ? -offset_min : offset_min;
    n += snprintf(out + n, 40 - (size_t)n, "%c%02d:%02d",
                  offset_min < 0 ? '-' : '+', a / 60, a % 60);
  }
  return n;
}

/* Clock C in microseconds. */
static int64_t clock_us(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * TXF_US_PER_S + ts.tv_nsec / 1000;
}

int64_t txf_mono_us(void) { return clock_us(CLOCK_MONOTONIC); }

int64_t txf_cpu_us(void) { return clock_us(CLOCK_PROCESS_CPUTIME_ID); }

int64_t txf_thread_cpu_us(void) { return clock_us(CLOCK_THREAD_CPUTIME_ID); }

int64_t txf_wall_us(void) { return clock_us(CLOCK_REALTIME); }
