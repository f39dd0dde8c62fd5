#include "../../lib/pan_ref.h"
#include "../../lib/unit.h"
#include "util/util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Every PAN txf_pan_find reports in S, as "start-end:digits;" */
static void find_all(const char *s, size_t n, txf_buf *out) {
  txf_buf_reset(out);
  txf_pan_match m;
  size_t from = 0;
  while (txf_pan_find(s, n, from, &m)) {
    txf_buf_printf(out, "%zu-%zu:%s;", m.start, m.end, m.digits);
    from = m.end;
  }
}

TEST(pan_luhn_known_numbers) {
  ASSERT(txf_pan_luhn_ok("4111111111111111", 16));
  ASSERT(txf_pan_luhn_ok("5555555555554444", 16));
  ASSERT(txf_pan_luhn_ok("378282246310005", 15));
  ASSERT(txf_pan_luhn_ok("79927398713", 11));
  ASSERT(!txf_pan_luhn_ok("4111111111111112", 16));
  ASSERT(!txf_pan_luhn_ok("79927398710", 11));
  ASSERT_EQ_I64(txf_pan_luhn_digit("411111111111111", 15), '1');
  ASSERT_EQ_I64(txf_pan_luhn_digit("7992739871", 10), '3');
  ASSERT_EQ_I64(txf_pan_luhn_digit("37828224631000", 14), '5');
  char out[20];
  txf_pan_mask_digits("4111111111111111", 16, out);
  ASSERT_EQ_STR(out, "411111******1111");
  txf_pan_mask_digits("378282246310005", 15, out);
  ASSERT_EQ_STR(out, "378282*****0005");
  txf_pan_mask_digits("1234567890", 10, out);
  ASSERT_EQ_STR(out, "******7890");
}

TEST(pan_find_forms) {
  txf_buf b;
  txf_buf_init(&b, 0);
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"4111111111111111", "0-16:4111111111111111;"},
      {"card 4111 1111 1111 1111 ok", "5-24:4111111111111111;"},
      {"4111-1111-1111-1111", "0-19:4111111111111111;"},
      {"\"4111111111111111\",x", "1-17:4111111111111111;"},
      {"amex 3782-822463-10005.", "5-22:378282246310005;"},
      /* wrong check digit, 15 digits of a 16-digit number, too long */
      {"4111111111111112", ""},
      {"411111111111111", ""},
      {"41111111111111111111", ""},
      /* glued to letters or digits: part of something else */
      {"x4111111111111111", ""},
      {"4111111111111111y", ""},
      {"04111111111111111", ""},
      /* a microsecond timestamp (first digit 1) is not a card number */
      {"1764547200000000", ""},
      /* a group before or after does not hide one */
      {"2024 4111 1111 1111 1111", "5-24:4111111111111111;"},
      {"4111 1111 1111 1111 2024", "0-19:4111111111111111;"},
      /* double separators end a number */
      {"4111  1111 1111 1111", ""},
      {"4111--1111-1111-1111", ""},
      {"a 5555555555554444 b 4111111111111111",
       "2-18:5555555555554444;21-37:4111111111111111;"},
      {"", ""},
      {"----    ", ""},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(cases); i++) {
    find_all(cases[i].text, strlen(cases[i].text), &b);
    if (strcmp(b.data ? b.data : "", cases[i].want) != 0)
      unit_fail(__FILE__, __LINE__, "'%s': got '%s', want '%s'", cases[i].text,
                b.data ? b.data : "", cases[i].want);
  }
  /* A NUL byte bounds a number like any punctuation. */
  find_all("4111111111111111\0005555555555554444", 33, &b);
  ASSERT_EQ_STR(b.data, "0-16:4111111111111111;17-33:5555555555554444;");
  txf_buf_release(&b);
}

TEST(pan_mask_text_forms) {
  char s[] = "id,4111-1111-1111-1111,x 5555555555554444;";
  ASSERT_EQ_I64(txf_pan_mask_text(s, strlen(s), TXF_PAN_MASK_FOUND), 2);
  ASSERT_EQ_STR(s, "id,4111-11**-****-1111,x 555555******4444;");
  /* Malformed ones are masked too in ANY mode; short numbers are not. */
  char q[] = "4111111111111112,411111111111111,12345,2024-03-01T10:00";
  ASSERT_EQ_I64(txf_pan_mask_text(q, strlen(q), TXF_PAN_MASK_FOUND), 0);
  ASSERT_EQ_I64(txf_pan_mask_text(q, strlen(q), TXF_PAN_MASK_ANY), 2);
  ASSERT_EQ_STR(q, "411111******1112,411111*****1111,12345,2024-03-01T10:00");
}

/* Random lines built to be near PANs: valid numbers, off-by-one digits,
 * separators in odd places, letters glued on. */
static size_t random_line(unsigned *seed, char *s, size_t cap) {
  static const char *const pieces[] = {"4111111111111111",
                                       "5555555555554444",
                                       "378282246310005",
                                       "4111111111111112",
                                       "6011111111111117",
                                       "4012888888881881",
                                       "3530111333300000",
                                       "2223003122003222",
                                       "12",
                                       "7",
                                       "0",
                                       " ",
                                       "-",
                                       "--",
                                       "  ",
                                       ",",
                                       "a",
                                       "\"",
                                       "x9",
                                       "4111 1111 1111 1111",
                                       "5555-5555-5555-4444",
                                       "1764547200000000"};
  size_t n = 0;
  int k = 1 + rand_r(seed) % 6;
  for (int i = 0; i < k; i++) {
    const char *p = pieces[rand_r(seed) % TXF_ARRAY_LEN(pieces)];
    size_t l = strlen(p);
    if (n + l + 2 >= cap)
      break;
    memcpy(s + n, p, l);
    /* Now and then one digit changed, or a separator dropped in. */
    if (l > 4 && rand_r(seed) % 3 == 0) {
      size_t at = (size_t)rand_r(seed) % l;
      s[n + at] = (char)("0123456789 -"[rand_r(seed) % 12]);
    }
    n += l;
  }
  return n;
}

TEST(pan_find_matches_reference_on_random_lines) {
  unsigned seed = 22;
  txf_buf got, want;
  txf_buf_init(&got, 0);
  txf_buf_init(&want, 0);
  size_t found = 0;
  for (int iter = 0; iter < 4000; iter++) {
    char s[160];
    size_t n = random_line(&seed, s, sizeof s);
    find_all(s, n, &got);
    pan_ref_find_all(s, n, &want);
    if (strcmp(got.data ? got.data : "", want.data ? want.data : "") != 0)
      unit_fail(__FILE__, __LINE__, "'%.*s': got '%s', want '%s'", (int)n, s,
                got.data ? got.data : "", want.data ? want.data : "");
    found += got.len > 0;
    /* Masked, nothing is left to find; only digits changed, to '*'. */
    char m[160];
    memcpy(m, s, n);
    txf_pan_mask_text(m, n, TXF_PAN_MASK_FOUND);
    txf_pan_match pm;
    ASSERT(!txf_pan_find(m, n, 0, &pm));
    for (size_t i = 0; i < n; i++)
      ASSERT(m[i] == s[i] || (pan_ref_digit(s[i]) && m[i] == '*'));
  }
  /* The lines are near misses and hits both. */
  ASSERT(found > 400 && found < 3600);
  txf_buf_release(&got);
  txf_buf_release(&want);
}

TEST(pan_masked_in_errors_and_logs) {
  txf_err err;
  txf_err_set(&err, TXF_EPARSE, "line 3: card_number: '%s' is bad",
              "4111 1111 1111 1111");
  ASSERT_EQ_STR(err.msg, "line 3: card_number: '4111 11** **** 1111' is bad");
  txf_err_wrap(&err, "clean %s (%s)", "2025-09-01", "5555555555554444");
  ASSERT_EQ_STR(err.msg, "clean 2025-09-01 (555555******4444): line 3: "
                         "card_number: '4111 11** **** 1111' is bad");
  errno = ENOENT;
  txf_err_errno(&err, TXF_EIO, "open %s", "/x/4111111111111111");
  ASSERT_EQ_STR(err.msg, "open /x/411111******1111: No such file or directory");
  /* Cut to fit only after masking: a number at the cut shows no more. */
  char pad[600];
  memset(pad, 'a', sizeof pad);
  pad[505] = ' ';
  pad[506] = '\0';
  txf_err_set(&err, TXF_EPARSE, "%s4111111111111111", pad);
  ASSERT_EQ_I64(strlen(err.msg), 511);
  ASSERT_EQ_STR(err.msg + 506, "41111");
  txf_err_set(&err, TXF_EPARSE, "%s%s", pad + 4, "4111111111111111 end");
  ASSERT_EQ_STR(err.msg + 502, "411111***");
  /* A log line too. */
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  txf_logger lg = {TXF_LOG_INFO, f, 0};
  txf_log_info(&lg, "token for %s is %s", "4111-1111-1111-1111", "abc");
  fclose(f);
  ASSERT_EQ_STR(text, "token for 4111-11**-****-1111 is abc\n");
  free(text);
}
