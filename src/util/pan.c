/* Finding and masking PANs (card numbers) in text: the Luhn check, the
 * candidates a run of grouped digits offers, and in-place masking to BIN
 * + last 4. Here, below everything, so that errors and logs are masked
 * where they are made (err.c, log.c). */
#include <string.h>

#include "util.h"

/* ASCII only on purpose: a byte of a multi-byte UTF-8 character is neither
 * a digit nor a letter here, so it bounds a number as punctuation does. */
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alnum(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_sep(unsigned char c) { return c == ' ' || c == '-'; }

/* Luhn's sum of the N digits at D, the last one counted as the check
 * digit's position when CHECK_AFTER is 0, or as the digit before it. */
static unsigned luhn_sum(const char *d, size_t n, int check_after) {
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v = (unsigned)(d[n - 1 - i] - '0');
    if ((i % 2 == 1) != (check_after != 0)) {
      v *= 2;
      if (v > 9)
        v -= 9;
    }
    sum += v;
  }
  return sum;
}

int txf_pan_luhn_ok(const char *d, size_t n) {
  return n > 0 && luhn_sum(d, n, 0) % 10 == 0;
}

char txf_pan_luhn_digit(const char *d, size_t n) {
  return (char)('0' + (10 - luhn_sum(d, n, 1) % 10) % 10);
}

/* Whether digit K of N stays visible when masked. */
static int digit_shown(size_t k, size_t n) {
  if (n < 11)
    return k + 4 >= n;
  return k < 6 || k + 4 >= n;
}

void txf_pan_mask_digits(const char *d, size_t n, char *out) {
  for (size_t k = 0; k < n; k++)
    out[k] = digit_shown(k, n) ? d[k] : '*';
  out[n] = '\0';
}

/* Who counts as a number to report or mask. */
static int accept_pan(const char *d, size_t n) {
  return n >= TXF_PAN_MIN_DIGITS && n <= TXF_PAN_MAX_DIGITS && d[0] >= '2' &&
         d[0] <= '6' && txf_pan_luhn_ok(d, n);
}
static int accept_any(const char *d, size_t n) {
  return n >= 12 && n <= TXF_PAN_MAX_DIGITS;
}

/* The end of the run of digits (single separators between them allowed)
 * that starts at the digit S[I]. */
static size_t run_end(const char *s, size_t n, size_t i) {
  for (;;) {
    while (i < n && is_digit((unsigned char)s[i]))
      i++;
    if (i + 1 < n && is_sep((unsigned char)s[i]) &&
        is_digit((unsigned char)s[i + 1]))
      i++;
    else
      return i;
  }
}

/* The longest accepted candidate of groups starting at the group that
 * begins at A, within the run ending at RE. Returns 1 and fills *M. */
static int try_from(const char *s, size_t n, size_t a, size_t re,
                    int (*accept)(const char *, size_t), txf_pan_match *m) {
  if (a > 0 && is_alnum((unsigned char)s[a - 1]))
    return 0;
  char d[TXF_PAN_MAX_DIGITS + 1];
  size_t nd = 0, best_end = 0, best_nd = 0;
  for (size_t i = a; i < re; i++) {
    if (is_digit((unsigned char)s[i])) {
      if (nd == TXF_PAN_MAX_DIGITS)
        break;
      d[nd++] = s[i];
      int group_end = i + 1 == re || !is_digit((unsigned char)s[i + 1]);
      if (group_end && (i + 1 == n || !is_alnum((unsigned char)s[i + 1])) &&
          accept(d, nd)) {
        best_end = i + 1;
        best_nd = nd;
      }
    }
  }
  if (!best_nd)
    return 0;
  m->start = a;
  m->end = best_end;
  m->n_digits = best_nd;
  memcpy(m->digits, d, best_nd);
  m->digits[best_nd] = '\0';
  return 1;
}

/* The leftmost (then longest) accepted number at or after FROM; *RUN_START
 * is where the run holding it begins. */
static int find_impl(const char *s, size_t n, size_t from,
                     int (*accept)(const char *, size_t), txf_pan_match *m,
                     size_t *run_start) {
  size_t i = from;
  while (i < n) {
    if (!is_digit((unsigned char)s[i])) {
      i++;
      continue;
    }
    size_t rs = i, re = run_end(s, n, i);
    /* Each group of the run may begin a candidate. */
    for (size_t a = rs; a < re;) {
      if (try_from(s, n, a, re, accept, m)) {
        *run_start = rs;
        return 1;
      }
      while (a < re && is_digit((unsigned char)s[a]))
        a++;
      a++; /* the separator */
    }
    i = re;
  }
  return 0;
}

int txf_pan_find(const char *s, size_t n, size_t from, txf_pan_match *m) {
  size_t rs;
  return find_impl(s, n, from, accept_pan, m, &rs);
}

size_t txf_pan_mask_text(char *s, size_t n, int mode) {
  int (*accept)(const char *, size_t) =
      mode == TXF_PAN_MASK_ANY ? accept_any : accept_pan;
  size_t count = 0, pos = 0, rs;
  txf_pan_match m;
  while (find_impl(s, n, pos, accept, &m, &rs)) {
    size_t k = 0;
    for (size_t i = m.start; i < m.end; i++) {
      if (!is_digit((unsigned char)s[i]))
        continue;
      if (!digit_shown(k, m.n_digits))
        s[i] = '*';
      k++;
    }
    count++;
    /* The digits left of the mask (the BIN kept, the groups before it)
     * may now end a shorter run that is a number of its own: look again
     * from where that run begins, which is no further back than the
     * previous mask or the run's start. */
    pos = m.start;
    while (pos > rs && (is_digit((unsigned char)s[pos - 1]) ||
                        is_sep((unsigned char)s[pos - 1])))
      pos--;
  }
  return count;
}
