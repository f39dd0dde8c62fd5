/* A slow, independent reference for txf_pan_find (src/util/util.h): every
 * substring is checked against the rules as pan.h states them. For the
 * unit tests and the fuzz target, on short lines (it is cubic). */
#ifndef TXF_PAN_REF_H
#define TXF_PAN_REF_H

#include <string.h>

#include "util/util.h"

static inline int pan_ref_digit(char c) { return c >= '0' && c <= '9'; }
static inline int pan_ref_alnum(char c) {
  return pan_ref_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline int pan_ref_luhn(const char *d, size_t n) {
  int sum = 0;
  for (size_t i = 0; i < n; i++) {
    int v = d[n - 1 - i] - '0';
    if (i & 1)
      v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return sum % 10 == 0;
}
/* S[a..b) is a PAN by the rules in pan.h, checked directly. */
static inline int pan_ref_is_pan(const char *s, size_t n, size_t a, size_t b,
                                 char *d) {
  if (!pan_ref_digit(s[a]) || !pan_ref_digit(s[b - 1]))
    return 0;
  if ((a > 0 && pan_ref_alnum(s[a - 1])) || (b < n && pan_ref_alnum(s[b])))
    return 0;
  size_t nd = 0;
  for (size_t i = a; i < b; i++) {
    if (pan_ref_digit(s[i])) {
      if (nd == 19)
        return 0;
      d[nd++] = s[i];
    } else if (!((s[i] == ' ' || s[i] == '-') && pan_ref_digit(s[i - 1]) &&
                 pan_ref_digit(s[i + 1]))) {
      return 0;
    }
  }
  d[nd] = '\0';
  return nd >= 13 && d[0] >= '2' && d[0] <= '6' && pan_ref_luhn(d, nd);
}
/* Leftmost, then longest, then on from its end. */
static inline void pan_ref_find_all(const char *s, size_t n, txf_buf *out) {
  txf_buf_reset(out);
  size_t from = 0;
  char d[20], best[20];
  for (;;) {
    size_t ba = 0, bb = 0;
    for (size_t a = from; a < n && !bb; a++)
      for (size_t b = n; b > a && !bb; b--)
        if (pan_ref_is_pan(s, n, a, b, d)) {
          ba = a, bb = b;
          memcpy(best, d, sizeof d);
        }
    if (!bb)
      return;
    txf_buf_printf(out, "%zu-%zu:%s;", ba, bb, best);
    from = bb;
  }
}

#endif
