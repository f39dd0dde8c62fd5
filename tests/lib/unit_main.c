/* The unit test runner: runs every TEST (or those whose names contain an
 * argument), each in a forked child with a timeout and its own temp dir.
 * Prints one line per test and ends with "unit: N passed, N failed".
 *   --no-fork   run in-process (for valgrind and debuggers)
 *   --list      print the test names */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "util/util.h"

#define X(name) void test_##name(void);
#include "unit_list.h"
#undef X

static const struct {
  const char *name;
  void (*fn)(void);
} tests[] = {
#define X(name) {#name, test_##name},
#include "unit_list.h"
#undef X
};

/* GLOBAL: the current test's scratch directory; the harness is the one
 * place where a test needs to find it without passing it around. */
static char g_tmpdir[4096];
static int g_nofork;

void unit_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "  %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  if (g_nofork)
    exit(1);
  _exit(1);
}

const char *unit_tmpdir(void) { return g_tmpdir; }

const char *unit_path(const char *name) {
  static char bufs[8][8192];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof bufs[0], "%s/%s", g_tmpdir, name);
  return b;
}

void unit_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0)
    unit_fail(__FILE__, __LINE__, "cannot write %s", path);
}

static int make_tmpdir(const char *name) {
  const char *base = getenv("TMPDIR");
  snprintf(g_tmpdir, sizeof g_tmpdir, "%s/txf-unit-%s-XXXXXX",
           base && *base ? base : "/tmp", name);
  return mkdtemp(g_tmpdir) ? 0 : -1;
}

static void remove_tmpdir(void) {
  txf_err err;
  if (txf_fs_rmtree(g_tmpdir, &err) != 0)
    fprintf(stderr, "  cannot remove %s: %s\n", g_tmpdir, err.msg);
}

int64_t unit_ts(const char *iso) {
  int64_t us = 0;
  if (txf_ts_parse(iso, SIZE_MAX, &us, NULL))
    unit_fail(__FILE__, __LINE__, "bad timestamp %s", iso);
  return us;
}

txf_tz *unit_zone(const char *name) {
  txf_tz *tz = NULL;
  txf_err err;
  if (txf_tz_load(&tz, name, &err))
    unit_fail(__FILE__, __LINE__, "cannot load zone %s: %s", name, err.msg);
  return tz;
}

int main(int argc, char **argv) {
  int timeout_s = 120;
  const char *t = getenv("UNIT_TIMEOUT");
  if (t && atoi(t) > 0)
    timeout_s = atoi(t);
  const char *filters[64];
  int n_filters = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--no-fork"))
      g_nofork = 1;
    else if (!strcmp(argv[i], "--list")) {
      for (size_t k = 0; k < TXF_ARRAY_LEN(tests); k++)
        puts(tests[k].name);
      return 0;
    } else if (n_filters < 64)
      filters[n_filters++] = argv[i];
  }
  int passed = 0, failed = 0;
  for (size_t k = 0; k < TXF_ARRAY_LEN(tests); k++) {
    int match = n_filters == 0;
    for (int f = 0; f < n_filters; f++)
      if (strstr(tests[k].name, filters[f]))
        match = 1;
    if (!match)
      continue;
    if (make_tmpdir(tests[k].name) != 0) {
      printf("FAIL %s (cannot make temp dir)\n", tests[k].name);
      failed++;
      continue;
    }
    int ok;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (g_nofork) {
      tests[k].fn();
      ok = 1;
    } else {
      fflush(NULL);
      pid_t pid = fork();
      if (pid == 0) {
        alarm((unsigned)timeout_s);
        tests[k].fn();
        fflush(NULL);
        _exit(0);
      }
      int st = 0;
      waitpid(pid, &st, 0);
      ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
      if (WIFSIGNALED(st))
        fprintf(stderr, "  killed by signal %d%s\n", WTERMSIG(st),
                WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
    }
    remove_tmpdir();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* the slow ones say how slow (finding where the runner's time goes) */
    if (secs >= 1.0)
      printf("%s %s (%.1fs)\n", ok ? "ok  " : "FAIL", tests[k].name, secs);
    else
      printf("%s %s\n", ok ? "ok  " : "FAIL", tests[k].name);
    fflush(stdout);
    ok ? passed++ : failed++;
  }
  printf("unit: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
