/* txnflow demo: the whole story on the current project, step by step,
 * each step the real subcommand run as a child process; the reconciliation
 * and the data tests are read from the metadata database. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"

TXF_COMMAND(demo, "run the whole story on the current project");

static const char usage[] =
    "usage: txnflow demo [--days N]\n"
    "\n"
    "Run the main job on the current project (made by 'txnflow init') and\n"
    "show what it produced: the days backfilled through the orchestrator\n"
    "(generate with every fault of the feed, clean, models build and data\n"
    "tests), the status grid, each day's reconciliation, the audit of the\n"
    "lake, the data tests and the top rows of the marts. Every step is an\n"
    "ordinary txnflow command, printed before it runs, so you can repeat\n"
    "it by hand. Running it again does nothing new (dates that succeeded\n"
    "are skipped) and shows the same results.\n"
    "\n"
    "Options:\n"
    "  --days N      number of ingestion days (default 11: 2025-09-01..11);\n"
    "                rows per day and seed are the project's feed.rows and\n"
    "                feed.seed (txnflow.yml)\n"

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

/* The data tests of the latest models build, by status. */
static int print_tests(txf_store *st, txf_err *err) {
  txf_meta_count_list counts;
  int rc = txf_meta_test_status_counts(st, &counts, err);
  if (rc)
    return rc;
  printf("the last models build's data tests (metadata table "
         "test_results):");
  for (size_t i = 0; i < counts.n; i++)
    printf("%s %lld %s", i ? "," : "", (long long)counts.v[i].n,
           counts.v[i].name);
  printf("%s\n", counts.n ? "" : " none");
  txf_meta_count_list_release(&counts);
  return 0;
}

int cmd_demo(int argc, char **argv, txf_ctx *ctx) {
  uint64_t days = 11;
  const txf_cli_option opts[] = {
      TXF_OPT_UINT(0, "days", &days, "N", 1, 366, "1..366"), TXF_OPT_END};
  int ec = txf_cli_options_parse("demo", usage, opts, TXF_CLI_NO_OPERANDS,
                                 &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  txf_err err;
  txf_err_clear(&err);
  txf_project *p;
  if (txf_ctx_project(ctx, &p, &err))
    return txf_cli_fail("demo", &err);
  printf("txnflow demo: project '%s' in %s\n", p->name, p->dir);
  printf("  time zone %s, data in %s, feed %s\n", p->timezone, p->data_dir,
         p->feed);
  char first[11], last[11];
  txf_date d0 = txf_date_from_ymd(2025, 9, 1);
  txf_date_format(d0, first);
  txf_date_format((txf_date){d0.days + (int32_t)days - 1}, last);
  char last_n[24];
  snprintf(last_n, sizeof last_n, "%llu", (unsigned long long)days);

  printf("\n1. Backfill the days through the orchestrator: each date's DAG\n"
         "   (generate -> clean -> models build with data tests); generates\n"
         "   run ahead, cleans in date order, one models build for the days\n"
         "   waiting at their models.\n");
  const char *backfill[] = {"backfill", "--from", first, "--to", last,
                            "--parallel", "2", NULL};
  if (step(ctx, backfill))
    return TXF_EXIT_FAIL;

  printf("\n2. The status grid: every task of every date, attempts, times.\n");
  const char *status[] = {"status", "--last", last_n, NULL};
  if (step(ctx, status))
    return TXF_EXIT_FAIL;

  printf("\n3. Reconciliation. Each clean (metadata table clean_runs):\n"
         "   every line read is inserted, updated, a duplicate, stale or\n"
         "   quarantined. Then the audit recomputes the lake from the\n"
         "   batches and the generator's truth, and the reconciliation mart\n"
         "   checks counts and sums from silver to the marts.\n");
  char *data_dir = NULL;
  txf_store *st = NULL;
  int rc = txf_ctx_data_dir(ctx, NULL, &data_dir, &err);
  if (!rc)
    rc = txf_ctx_open_store(ctx, data_dir, &st, &err);
  const char *reconcile[] = {"status", "--reconcile", "--from", first,
                             "--to",   last,          NULL};
  if (!rc && step(ctx, reconcile))
    rc = -1;
  static const char *const audit[] = {"audit", NULL};
  static const char *const recon[] = {
      "sql",
      "SELECT check_name, left_value, right_value, status "
      "FROM mart_reconciliation ORDER BY check_order",
      NULL};
  if (!rc && (step(ctx, audit) || step(ctx, recon)))
    rc = -1;
  if (!rc) {
    printf("\n4. Data tests.\n");
    rc = print_tests(st, &err);
  }
  txf_store_close(st);
  free(data_dir);
  if (rc > 0)
    return txf_cli_fail("demo", &err);
  if (rc)
    return TXF_EXIT_FAIL;

  printf("\n5. The top rows of the marts (DuckDB warehouse), as of %s.\n",
         last);
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
  };
  for (size_t i = 0; i < sizeof marts / sizeof *marts; i++)
    if (step(ctx, marts[i]))
      return TXF_EXIT_FAIL;
  printf("\ndemo finished\n");
  return TXF_EXIT_OK;
}
