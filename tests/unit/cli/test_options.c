#include <stdlib.h>
#include <unistd.h>

#include "../../lib/unit.h"
#include "cli/cli.h"

/* Run txf_cli_options_parse on the words of ARGS (space-separated, at
 * most 30) with stdout and stderr captured into OUT; returns its result and
 * leaves the operands in ARGV[0..*ARGC-1]. */
static int parse(const txf_cli_option *opts, unsigned flags, char *args,
                 int *argc, char **argv, char *out, size_t cap) {
  *argc = 0;
  argv[(*argc)++] = "test";
  for (char *w = strtok(args, " "); w && *argc < 31; w = strtok(NULL, " "))
    argv[(*argc)++] = w;
  argv[*argc] = NULL;
  fflush(NULL);
  int saved1 = dup(1), saved2 = dup(2);
  FILE *tmp = fopen(unit_path("output"), "w+");
  ASSERT(saved1 >= 0 && saved2 >= 0 && tmp);
  dup2(fileno(tmp), 1);
  dup2(fileno(tmp), 2);
  int rc =
      txf_cli_options_parse("test", "usage: test\n", opts, flags, argc, argv);
  fflush(NULL);
  dup2(saved1, 1);
  dup2(saved2, 2);
  close(saved1);
  close(saved2);
  rewind(tmp);
  size_t n = fread(out, 1, cap - 1, tmp);
  out[n] = '\0';
  fclose(tmp);
  return rc;
}

static int seen_cb(const char *cmd, const txf_cli_option *o, const char *arg) {
  if (!strcmp(arg, "bad"))
    return txf_cli_usage_error(cmd, "--%s: no", o->long_name);
  (*(int *)o->value)++;
  return 0;
}

TEST(cli_options_fill_every_kind_and_keep_operands) {
  int flag = 0, have_date = 0, cb = 0, choice = -1;
  const char *str = NULL;
  uint16_t port = 1;
  int64_t big = 0, ts = 0;
  txf_date date = {0};
  static const txf_cli_choice ch[] = {{"a", 10}, {"b", 20}, {NULL, 0}};
  const txf_cli_option opts[] = {
      TXF_OPT_FLAG('f', "flag", &flag),
      TXF_OPT_STRING('s', "str", &str, "S"),
      TXF_OPT_UINT(0, "port", &port, "N", 0, 65535, "a port"),
      TXF_OPT_UINT(0, "big", &big, "N", 1, INT64_MAX, "big"),
      TXF_OPT_DATE(0, "date", &date, "D", &have_date),
      TXF_OPT_TIME(0, "now", &ts, "TS"),
      TXF_OPT_CHOICE(0, "choice", &choice, "a|b", ch),
      TXF_OPT_CALLBACK(0, "cb", &cb, "X", seen_cb),
      TXF_OPT_END};
  char args[] = "one -f --str=x two --port 8080 --big 9223372036854775807 "
                "--date 2025-09-01 --now 2025-09-01T00:00:00Z --choice b "
                "--cb 1 --cb 2 -- --flag";
  char *argv[32], err[512];
  int argc;
  int rc = parse(opts, 0, args, &argc, argv, err, sizeof err);
  ASSERT_EQ_STR(err, "");
  ASSERT_EQ_I64(rc, TXF_CLI_GO_ON);
  ASSERT_EQ_I64(argc, 3);
  ASSERT_EQ_STR(argv[0], "one");
  ASSERT_EQ_STR(argv[1], "two");
  ASSERT_EQ_STR(argv[2], "--flag");
  ASSERT_EQ_I64(flag, 1);
  ASSERT_EQ_STR(str, "x");
  ASSERT_EQ_I64(port, 8080);
  ASSERT_EQ_I64(big, INT64_MAX);
  ASSERT_EQ_I64(have_date, 1);
  ASSERT_EQ_I64(date.days, txf_date_from_ymd(2025, 9, 1).days);
  ASSERT_EQ_I64(ts, unit_ts("2025-09-01T00:00:00Z"));
  ASSERT_EQ_I64(choice, 20);
  ASSERT_EQ_I64(cb, 2);
}

TEST(cli_options_usage_errors_name_the_option) {
  int json = 0, cb = 0, choice = 0;
  uint64_t n = 5;
  txf_date date;
  static const txf_cli_choice ch[] = {
      {"csv", 0}, {"json", 1}, {"table", 2}, {NULL, 0}};
  const txf_cli_option opts[] = {
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_UINT(0, "threads", &n, "N", 1, 8, "1..8"),
      TXF_OPT_DATE(0, "date", &date, "D", NULL),
      TXF_OPT_CHOICE(0, "format", &choice, "F", ch),
      TXF_OPT_CALLBACK(0, "cb", &cb, "X", seen_cb),
      TXF_OPT_END};
  static const struct {
    const char *args;
    int rc;
    const char *err;
  } cases[] = {
      {"--jsn", TXF_EXIT_USAGE,
       "txnflow test: unknown option '--jsn' (did you mean '--json'?)\n"
       "See 'txnflow test --help'.\n"},
      {"--json=1", TXF_EXIT_USAGE,
       "txnflow test: option '--json' does not take a value\n"
       "See 'txnflow test --help'.\n"},
      {"--threads", TXF_EXIT_USAGE,
       "txnflow test: option '--threads' requires a value\n"
       "See 'txnflow test --help'.\n"},
      {"--threads 9", TXF_EXIT_USAGE,
       "txnflow test: --threads: '9' is not 1..8\n"
       "See 'txnflow test --help'.\n"},
      {"--date 2025-02-30", TXF_EXIT_USAGE,
       "txnflow test: --date: '2025-02-30' is not a date (YYYY-MM-DD)\n"
       "See 'txnflow test --help'.\n"},
      {"--format xml", TXF_EXIT_USAGE,
       "txnflow test: --format: 'xml' is not csv, json or table\n"
       "See 'txnflow test --help'.\n"},
      {"--cb bad", TXF_EXIT_USAGE,
       "txnflow test: --cb: no\nSee 'txnflow test --help'.\n"},
      {"-x", TXF_EXIT_USAGE,
       "txnflow test: unknown option '-x'\n"
       "See 'txnflow test --help'.\n"},
      {"operand", TXF_EXIT_USAGE,
       "txnflow test: unexpected argument 'operand'\n"
       "See 'txnflow test --help'.\n"},
      {"--threads 9 --help", TXF_EXIT_USAGE,
       "txnflow test: --threads: '9' is not 1..8\n"
       "See 'txnflow test --help'.\n"},
      {"--help --threads 9", TXF_EXIT_OK, "usage: test\n"},
      {"--thr 3 -h", TXF_EXIT_OK, "usage: test\n"},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(cases); i++) {
    char args[64], *argv[17], err[512];
    int argc;
    snprintf(args, sizeof args, "%s", cases[i].args);
    ASSERT_EQ_I64(
        parse(opts, TXF_CLI_NO_OPERANDS, args, &argc, argv, err, sizeof err),
        cases[i].rc);
    ASSERT_EQ_STR(err, cases[i].err);
  }
  ASSERT_EQ_I64(n, 3); /* from "--thr 3", before -h */
  ASSERT_EQ_I64(json, 0);
}
