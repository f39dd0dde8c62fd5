/* A tiny unit test harness (see docs/decisions/0001-test-harness.md).
 *
 *   TEST(date_parse_rejects_feb_30) { ASSERT_EQ_I64(f(), 3); }
 *
 * Tests are found by the build (scripts/gen-lists.sh greps TEST(name) at
 * the start of a line), so names must be unique across tests/unit. The
 * runner forks each test under a timeout, so a crash fails one test. */
#ifndef TXF_UNIT_H
#define TXF_UNIT_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

#define TEST(name) void test_##name(void)

void unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* A fresh empty directory for this test, removed after it. */
const char *unit_tmpdir(void);
/* unit_tmpdir()/NAME, in a static buffer rotated over 8 slots. */
const char *unit_path(const char *name);
/* Write TEXT to PATH (aborting the test on failure). */
void unit_write_file(const char *path, const char *text);
/* An ISO 8601 timestamp with offset as UTC micros (aborting the test on a
 * bad one). */
int64_t unit_ts(const char *iso);
/* A loaded time zone (aborting the test on failure); the caller frees it
 * with txf_tz_free. */
txf_tz *unit_zone(const char *name);
/* The message of a txf_err (or "" for NULL), for ASSERT_OK. */
static inline const char *unit_err_msg(const txf_err *err) {
  return err ? err->msg : "";
}

#define ASSERT(cond)                                                           \
  do {                                                                         \
    if (!(cond))                                                               \
      unit_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);            \
  } while (0)

#define ASSERT_EQ_I64(got, want)                                               \
  do {                                                                         \
    int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);                         \
    if (g_ != w_)                                                              \
      unit_fail(__FILE__, __LINE__,                                            \
                "%s == %s: got %" PRId64 ", want %" PRId64, #got, #want, g_,   \
                w_);                                                           \
  } while (0)

#define ASSERT_EQ_U64(got, want)                                               \
  do {                                                                         \
    uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                      \
    if (g_ != w_)                                                              \
      unit_fail(__FILE__, __LINE__,                                            \
                "%s == %s: got %" PRIu64 ", want %" PRIu64, #got, #want, g_,   \
                w_);                                                           \
  } while (0)

#define ASSERT_EQ_DBL(got, want)                                               \
  do {                                                                         \
    double g_ = (double)(got), w_ = (double)(want);                            \
    if (g_ != w_)                                                              \
      unit_fail(__FILE__, __LINE__, "%s == %s: got %.17g, want %.17g", #got,   \
                #want, g_, w_);                                                \
  } while (0)

#define ASSERT_EQ_STR(got, want)                                               \
  do {                                                                         \
    const char *g_ = (got), *w_ = (want);                                      \
    if (!g_ || !w_ || strcmp(g_, w_) != 0)                                     \
      unit_fail(__FILE__, __LINE__, "%s == %s: got \"%s\", want \"%s\"", #got, \
                #want, g_ ? g_ : "(null)", w_ ? w_ : "(null)");                \
  } while (0)

#define ASSERT_EQ_MEM(got, want, n)                                            \
  do {                                                                         \
    if (memcmp((got), (want), (n)) != 0)                                       \
      unit_fail(__FILE__, __LINE__, "%s == %s: %zu bytes differ", #got, #want, \
                (size_t)(n));                                                  \
  } while (0)

/* A txf_err-returning call must succeed; prints the error message. */
#define ASSERT_OK(call, errp)                                                  \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_ != 0)                                                              \
      unit_fail(__FILE__, __LINE__, "%s failed (%d): %s", #call, rc_,          \
                unit_err_msg(errp));                                           \
  } while (0)

#define ASSERT_CONTAINS(hay, needle)                                           \
  do {                                                                         \
    const char *h_ = (hay), *n_ = (needle);                                    \
    if (!h_ || !strstr(h_, n_))                                                \
      unit_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",          \
                h_ ? h_ : "(null)", n_);                                       \
  } while (0)

#endif
