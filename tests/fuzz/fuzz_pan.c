/* libFuzzer target for the PAN recogniser and masker (src/util/pan.c): the
 * input is a line of text (any bytes). Checked on every input:
 *   - each number found is 13..19 digits passing Luhn, starting with 2..6,
 *     made of its digits and single separators, and bounded by no letter
 *     or digit: what pan.h promises;
 *   - on short inputs, exactly what the slow reference (tests/lib/pan_ref.h)
 *     finds;
 *   - masked (either mode), nothing is found any more, the length is kept
 *     and only digits changed, to '*'.
 * A failed check aborts, which libFuzzer reports as a crash. Built and run
 * by tests/fuzz/f22-pan.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pan_ref.h"
#include "util/util.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "fuzz_pan: check failed: %s\n", #c);                     \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static void check_masked(const char *s, size_t n, int mode) {
  char *m = malloc(n ? n : 1);
  if (n)
    memcpy(m, s, n);
  size_t k = txf_pan_mask_text(m, n, mode);
  txf_pan_match pm;
  CHECK(!txf_pan_find(m, n, 0, &pm));
  size_t changed = 0;
  for (size_t i = 0; i < n; i++) {
    CHECK(m[i] == s[i] || (pan_ref_digit(s[i]) && m[i] == '*'));
    changed += m[i] != s[i];
  }
  CHECK((k == 0) == (changed == 0));
  free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  txf_buf got;
  txf_buf_init(&got, 0);
  txf_pan_match m;
  size_t from = 0;
  char d[20];
  while (txf_pan_find(s, size, from, &m)) {
    CHECK(m.start >= from && m.end > m.start && m.end <= size);
    CHECK(m.n_digits >= 13 && m.n_digits <= 19);
    CHECK(strlen(m.digits) == m.n_digits);
    CHECK(pan_ref_is_pan(s, size, m.start, m.end, d));
    CHECK(strcmp(d, m.digits) == 0);
    txf_buf_printf(&got, "%zu-%zu:%s;", m.start, m.end, m.digits);
    from = m.end;
  }
  if (size <= 96) {
    txf_buf want;
    txf_buf_init(&want, 0);
    pan_ref_find_all(s, size, &want);
    CHECK(strcmp(got.data ? got.data : "", want.data ? want.data : "") == 0);
    txf_buf_release(&want);
  }
  txf_buf_release(&got);
  check_masked(s, size, TXF_PAN_MASK_FOUND);
  check_masked(s, size, TXF_PAN_MASK_ANY);
  return 0;
}
