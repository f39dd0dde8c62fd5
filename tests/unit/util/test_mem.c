#include "../../lib/unit.h"
#include "util/util.h"
#include <errno.h>
#include <stdlib.h>

TEST(buf_append_printf_take) {
  txf_buf b;
  txf_buf_init(&b, 0);
  for (int i = 0; i < 1000; i++)
    ASSERT(txf_buf_printf(&b, "%d,", i) == 0);
  ASSERT_EQ_I64(b.len, strlen(b.data));
  ASSERT(txf_buf_puts(&b, "end") == 0);
  size_t len;
  char *s = txf_buf_take(&b, &len);
  ASSERT(txf_str_has_prefix(s, "0,1,2,"));
  ASSERT(txf_str_has_suffix(s, "999,end"));
  ASSERT_EQ_I64(len, strlen(s));
  ASSERT(b.data == NULL && b.len == 0);
  free(s);
  s = txf_buf_take(&b, NULL);
  ASSERT_EQ_STR(s, "");
  free(s);
}

TEST(buf_cap_is_enforced) {
  txf_buf b;
  txf_buf_init(&b, 10);
  ASSERT(txf_buf_append(&b, "0123456789", 10) == 0);
  ASSERT(txf_buf_putc(&b, 'x') == TXF_ETOOBIG);
  ASSERT_EQ_I64(b.len, 10);
  ASSERT(txf_buf_printf(&b, "%s", "more than ten bytes") == TXF_ETOOBIG);
  txf_buf_reset(&b);
  ASSERT(txf_buf_printf(&b, "%s", "0123456789012") == TXF_ETOOBIG);
  ASSERT_EQ_I64(b.len, 0);
  txf_buf_release(&b);
}

TEST(buf_put_pgcopy_escapes_copy_text) {
  txf_buf b;
  txf_buf_init(&b, 0);
  /* The length counts, not a NUL: the trailing "x" is left out. */
  txf_buf_put_pgcopy(&b, "a\\b\tc\nd\re x", 10);
  char *s = txf_buf_take(&b, NULL);
  ASSERT_EQ_STR(s, "a\\\\b\\tc\\nd\\re ");
  free(s);
}

TEST(buf_put_escaped_replaces_the_listed_bytes) {
  static const txf_escape esc[] = {{'<', "&lt;"}, {'&', "&amp;"}, {0, NULL}};
  txf_buf b;
  txf_buf_init(&b, 0);
  /* A NUL byte is data like any other when it is not listed. */
  txf_buf_put_escaped(&b, "a<b&c\0>", 7, esc);
  ASSERT_EQ_U64(b.len, 14);
  ASSERT(memcmp(b.data, "a&lt;b&amp;c\0>", 14) == 0);
  txf_buf_release(&b);
}

TEST(arena_alignment_and_reset) {
  txf_arena a;
  txf_arena_init(&a, 1024);
  for (int i = 1; i < 500; i++) {
    char *p = txf_arena_alloc(&a, (size_t)i);
    ASSERT(((uintptr_t)p & 15) == 0);
    memset(p, 0xab, (size_t)i);
  }
  char *big = txf_arena_alloc(&a, 100000);
  memset(big, 1, 100000);
  ASSERT_EQ_STR(txf_arena_strdup(&a, "hello"), "hello");
  txf_arena_reset(&a);
  ASSERT_EQ_I64(a.used_bytes, 0);
  ASSERT_EQ_STR(txf_arena_strndup(&a, "hello", 3), "hel");
  txf_arena_release(&a);
}

TEST(err_set_wrap_errno) {
  txf_err err;
  txf_err_clear(&err);
  ASSERT_EQ_I64(txf_err_set(&err, TXF_EPARSE, "amount: '%s'", "abc"),
                TXF_EPARSE);
  ASSERT_EQ_I64(txf_err_wrap(&err, "part-0.csv:%d", 12), TXF_EPARSE);
  ASSERT_EQ_STR(err.msg, "part-0.csv:12: amount: 'abc'");
  errno = ENOENT;
  txf_err_errno(&err, TXF_EIO, "open %s", "x");
  ASSERT_EQ_STR(err.msg, "open x: No such file or directory");
  ASSERT_EQ_STR(txf_err_name(TXF_ECONFIG), "config");
  ASSERT_EQ_I64(txf_err_set(NULL, TXF_EIO, "ignored"), TXF_EIO);
}

/* Permanent: what a retry would meet again (input, config, a SQL
 * statement's own fault, a refusal); transient: I/O, locks, the network,
 * a DuckDB I/O error that is not a refusal. */
TEST(err_permanent_sorts_retryable_from_not) {
  ASSERT_EQ_I64(txf_err_permanent(TXF_ECONFIG, "x"), 1);
  ASSERT_EQ_I64(txf_err_permanent(TXF_ETEST, "x"), 1);
  ASSERT_EQ_I64(txf_err_permanent(TXF_EIO, "Permission denied"), 0);
  ASSERT_EQ_I64(txf_err_permanent(TXF_ELOCKED, "x"), 0);
  ASSERT_EQ_I64(txf_err_permanent(TXF_ENET, "Parser Error"), 0);
  ASSERT_EQ_I64(txf_err_permanent(TXF_EDB, "Binder Error: nope"), 1);
  ASSERT_EQ_I64(
      txf_err_permanent(TXF_EDB, "Permission Error: Cannot access file"), 1);
  ASSERT_EQ_I64(txf_err_permanent(TXF_EDB,
                                  "IO Error: Failed to create directory: "
                                  "Permission denied"),
                1);
  ASSERT_EQ_I64(txf_err_permanent(TXF_EDB, "IO Error: No space left"), 0);
  ASSERT_EQ_I64(
      txf_err_permanent(TXF_EDB, "IO Error: Conflicting lock is held"), 0);
  ASSERT_EQ_I64(txf_err_permanent(TXF_EDB, NULL), 0);
}

TEST(str_distance_and_closest) {
  ASSERT_EQ_I64(txf_str_distance("kitten", "sitting"), 3);
  ASSERT_EQ_I64(txf_str_distance("", "abc"), 3);
  const char *c[] = {"clean", "generate", "status", "init"};
  ASSERT_EQ_STR(txf_str_closest("claen", c, 4), "clean");
  ASSERT_EQ_STR(txf_str_closest("stat", c, 4), "status");
  ASSERT(txf_str_closest("zzzzzzzz", c, 4) == NULL);
  uint64_t u;
  int64_t i;
  ASSERT(txf_parse_u64("123", &u) == 0 && u == 123);
  ASSERT(txf_parse_u64("-1", &u) == TXF_EPARSE);
  ASSERT(txf_parse_u64("12x", &u) == TXF_EPARSE);
  ASSERT(txf_parse_i64("-12", &i) == 0 && i == -12);
  ASSERT(txf_parse_i64("99999999999999999999", &i) == TXF_EPARSE);
}

TEST(free_all_frees_each_pointer_and_skips_nulls) {
  /* valgrind (make valgrind) proves nothing leaks; ASan that nothing is
   * freed twice. The struct itself is the last argument, as destructors
   * pass it. */
  struct {
    char *a, *b;
  } *s = malloc(sizeof *s);
  ASSERT(s != NULL);
  s->a = txf_xstrdup("a");
  s->b = NULL;
  TXF_FREE_ALL(s->a, s->b, txf_xstrdup("c"), s);
}

/* memcmp's order with the shorter string first on a tie, as the Parquet
 * statistics and clean's id order define it. */
static int ref_cmp(const char *a, size_t la, const char *b, size_t lb) {
  int c = memcmp(a, b, la < lb ? la : lb);
  if (c)
    return c < 0 ? -1 : 1;
  return la < lb ? -1 : la > lb;
}

TEST(bytes_cmp_orders_like_memcmp_then_length) {
  uint64_t x = 88172645463325252ull;
  char a[40], b[40];
  for (int i = 0; i < 20000; i++) {
    size_t la = (size_t)(x % 40), lb;
    for (size_t j = 0; j < sizeof a; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* few letters, so long common prefixes and ties happen */
      a[j] = (char)(0x7e + (x & 3));
      b[j] = j % 9 == 8 ? (char)(0x7e + ((x >> 8) & 3)) : a[j];
    }
    lb = (size_t)((x >> 20) % 40);
    ASSERT_EQ_I64(txf_bytes_cmp(a, la, b, lb), ref_cmp(a, la, b, lb));
    ASSERT_EQ_I64(txf_bytes_cmp(b, lb, a, la), ref_cmp(b, lb, a, la));
  }
}
