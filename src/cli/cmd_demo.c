/* txnflow demo: the whole story on the current project, step by step,
 * each step the real subcommand run as a child process. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"

TXF_COMMAND(demo, "run the whole story on the current project");

static const char usage[] =
    "usage: txnflow demo [--days N] [--rows N]\n"
    "\n"
    "Run the main job on the current project (made by 'txnflow init') and\n"
    "show what each step produced. Every step is an ordinary txnflow\n"
    "command, printed before it runs, so you can repeat it by hand.\n"
    "\n"
    "Options:\n"
    "  --days N      number of ingestion days (default 11: 2025-09-01..11)\n"
    "  --rows N      transactions per day (default: the project's feed.rows)\n"
    "  -h, --help    show this help\n"
    "\n"
    "Example:\n"
    "  txnflow init demo && txnflow -C demo demo\n";

/* Run `txnflow ARGS...` as a child, echoing the command line. */
static int step(txf_ctx *ctx, const char *const *args) {
  printf("\n$ txnflow");
  for (const char *const *a = args; *a; a++)
    printf(" %s", *a);
  printf("\n");
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    const char *argv[32];
    size_t n = 0;
    argv[n++] = ctx->exe;
    for (const char *const *a = args; *a && n < 31; a++)
      argv[n++] = *a;
    argv[n] = NULL;
    execv(ctx->exe, (char *const *)argv);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int cmd_demo(int argc, char **argv, txf_ctx *ctx) {
  static const struct option opts[] = {{"days", required_argument, 0, 'd'},
                                       {"rows", required_argument, 0, 'r'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  uint64_t days = 11, rows = 0;
  int c;
  while ((c = txf_cli_getopt("demo", argc, argv, ":h", opts)) != -1) {
    switch (c) {
    case 'd':
      if (txf_parse_u64(optarg, &days) || days == 0 || days > 366)
        return txf_cli_usage_error("demo", "--days: '%s' is not 1..366",
                                   optarg);
      break;
    case 'r':
      if (txf_parse_u64(optarg, &rows))
        return txf_cli_usage_error("demo", "--rows: '%s' is not a count",
                                   optarg);
      break;
    case 'h':
      return txf_cli_help(usage);
    default:
      return TXF_EXIT_USAGE;
    }
  }
  if (optind != argc)
    return txf_cli_usage_error("demo", "unexpected argument '%s'",
                               argv[optind]);
  txf_err err;
  txf_err_clear(&err);
  txf_project *p;
  if (txf_ctx_project(ctx, &p, &err))
    return txf_cli_fail("demo", &err);
  printf("txnflow demo: project '%s' in %s\n", p->name, p->dir);
  printf("  time zone %s, data in %s, feed %s\n", p->timezone, p->data_dir,
         p->feed);
  /* The steps grow with each stage of the pipeline. */
  char days_s[24], rows_s[24];
  snprintf(days_s, sizeof days_s, "%llu", (unsigned long long)days);
  snprintf(rows_s, sizeof rows_s, "%llu", (unsigned long long)rows);
  /* --force: rerunning the demo regenerates the same bytes. */
  const char *gen[] = {"generate", "--date", "2025-09-01", "--days", days_s,
                       "--force", rows ? "--rows" : NULL, rows_s, NULL};
  int rc = step(ctx, gen);
  if (rc)
    return TXF_EXIT_FAIL;
  /* clean each day in order, then audit the lake against the truth */
  for (uint64_t i = 0; i < days; i++) {
    char d[11];
    txf_date_format((txf_date){txf_date_from_ymd(2025, 9, 1).days + (int32_t)i},
                    d);
    const char *clean[] = {"clean", "--date", d, NULL};
    if (step(ctx, clean))
      return TXF_EXIT_FAIL;
  }
  static const char *const audit[] = {"audit", NULL};
  if (step(ctx, audit))
    return TXF_EXIT_FAIL;
  /* the models as of the last day: seeds, staging, fact, marts, every
   * data test (docs/analytics.md); then the top rows of the marts */
  char last[11], vars[48];
  txf_date_format(
      (txf_date){txf_date_from_ymd(2025, 9, 1).days + (int32_t)days - 1}, last);
  snprintf(vars, sizeof vars, "{run_date: \"%s\"}", last);
  const char *build[] = {"models", "build", "--vars", vars, NULL};
  if (step(ctx, build))
    return TXF_EXIT_FAIL;
  static const char *const marts[][3] = {
      {"sql",
       "SELECT event_date, mcc_code, category, channel, gross_sales_krw, "
       "refunds_krw, net_sales_krw, txn_count FROM mart_sales_daily "
       "ORDER BY event_date DESC, net_sales_krw DESC LIMIT 5",
       NULL},
      {"sql",
       "SELECT segment, count(*) AS customers, round(avg(monetary_krw)) AS "
       "avg_monetary_krw FROM mart_rfm_customer GROUP BY segment "
       "ORDER BY customers DESC",
       NULL},
      {"sql",
       "SELECT customer_id, purchase_count, net_krw, projected_365d_krw "
       "FROM mart_customer_ltv ORDER BY net_krw DESC LIMIT 5",
       NULL},
      {"sql",
       "SELECT rule, count(*) AS signals FROM mart_fraud_signals "
       "GROUP BY rule ORDER BY rule",
       NULL},
      {"sql",
       "SELECT check_name, left_value, right_value, status "
       "FROM mart_reconciliation ORDER BY check_order",
       NULL},
  };
  for (size_t i = 0; i < sizeof marts / sizeof *marts; i++)
    if (step(ctx, marts[i]))
      return TXF_EXIT_FAIL;
  /* The same day once more through the scheduler's DAG (generate, clean,
   * models build): idempotent, and it fills the status grid. */
  const char *dag[] = {"run", "--date", last, NULL};
  if (step(ctx, dag))
    return TXF_EXIT_FAIL;
  static const char *const status[] = {"status", NULL};
  rc = step(ctx, status);
  if (rc)
    return TXF_EXIT_FAIL;
  printf("\ndemo finished\n");
  return TXF_EXIT_OK;
}
