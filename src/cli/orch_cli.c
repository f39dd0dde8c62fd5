/* Set-up shared by txnflow run, backfill and scheduler. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/orch_cli.h"

/* GLOBAL: the signal handler's only way to ask the loop to stop. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

int txf_orch_cli_open(txf_orch_cli *oc, txf_ctx *ctx, const char *cmd,
                      int64_t now_us) {
  memset(oc, 0, sizeof *oc);
  txf_err err;
  txf_err_clear(&err);
  txf_project *p;
  int rc = txf_ctx_project(ctx, &p, &err);
  if (!rc)
    rc = txf_ctx_data_dir(ctx, NULL, &oc->data_dir, &err);
  if (!rc)
    rc = txf_dag_load(&oc->dag, p, &err);
  if (!rc)
    rc = txf_ctx_open_store(ctx, oc->data_dir, &oc->store, &err);
  if (rc) {
    txf_orch_cli_close(oc);
    return txf_cli_fail(cmd, &err);
  }
  txf_clock_init(&oc->clock, now_us ? now_us : ctx->pinned_now_us);
  oc->env.project = p;
  oc->env.dag = oc->dag;
  oc->env.store = oc->store;
  oc->env.exe = ctx->exe;
  oc->env.data_dir = oc->data_dir;
  oc->env.log = &ctx->log;
  oc->env.clock = &oc->clock;
  oc->env.stop = &stop_requested;
  stop_requested = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  return 0;
}

void txf_orch_cli_close(txf_orch_cli *oc) {
  txf_store_close(oc->store);
  txf_dag_free(oc->dag);
  free(oc->data_dir);
  memset(oc, 0, sizeof *oc);
}

int txf_orch_cli_parse(const char *cmd, int argc, char **argv,
                       const char *usage, unsigned accept, txf_orch_args *a) {
  static const struct {
    unsigned mask;
    struct option opt;
  } all[] = {
      {TXF_ORCH_OPT_DATE, {"date", required_argument, 0, 'd'}},
      {TXF_ORCH_OPT_RANGE, {"from", required_argument, 0, 'f'}},
      {TXF_ORCH_OPT_RANGE, {"to", required_argument, 0, 't'}},
      {TXF_ORCH_OPT_PARALLEL, {"parallel", required_argument, 0, 'p'}},
      {TXF_ORCH_OPT_KIND, {"kind", required_argument, 0, 'k'}},
      {TXF_ORCH_OPT_FROM_SCRATCH, {"from-scratch", no_argument, 0, 's'}},
  };
  struct option opts[TXF_ARRAY_LEN(all) + 2];
  size_t n = 0;
  for (size_t i = 0; i < TXF_ARRAY_LEN(all); i++)
    if (accept & all[i].mask)
      opts[n++] = all[i].opt;
  opts[n++] = (struct option){"help", no_argument, 0, 'h'};
  opts[n] = (struct option){0, 0, 0, 0};

  memset(a, 0, sizeof *a);
  a->parallel = accept & TXF_ORCH_OPT_PARALLEL ? 2 : 1;
  a->kind = accept & TXF_ORCH_OPT_KIND ? "manual" : "backfill";
  txf_date date, from, to;
  int have_date = 0, have_from = 0, have_to = 0;
  uint64_t parallel;
  int c;
  while ((c = txf_cli_getopt(cmd, argc, argv, ":h", opts)) != -1) {
    switch (c) {
    case 'd':
      if (txf_cli_parse_date(cmd, "--date", optarg, &date))
        return TXF_EXIT_USAGE;
      have_date = 1;
      break;
    case 'f':
      if (txf_cli_parse_date(cmd, "--from", optarg, &from))
        return TXF_EXIT_USAGE;
      have_from = 1;
      break;
    case 't':
      if (txf_cli_parse_date(cmd, "--to", optarg, &to))
        return TXF_EXIT_USAGE;
      have_to = 1;
      break;
    case 'p':
      if (txf_parse_u64(optarg, &parallel) || parallel < 1 || parallel > 64)
        return txf_cli_usage_error(cmd, "--parallel: '%s' is not 1..64",
                                   optarg);
      a->parallel = (int)parallel;
      break;
    case 'k':
      if (strcmp(optarg, "manual") && strcmp(optarg, "scheduled") &&
          strcmp(optarg, "backfill"))
        return txf_cli_usage_error(
            cmd, "--kind: expected manual, scheduled or backfill, got '%s'",
            optarg);
      a->kind = optarg;
      break;
    case 's':
      a->from_scratch = 1;
      break;
    case 'h':
      return txf_cli_help(usage);
    default:
      return TXF_EXIT_USAGE;
    }
  }
  if (optind != argc)
    return txf_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  if (accept & TXF_ORCH_OPT_DATE) {
    if (!have_date)
      return txf_cli_usage_error(cmd, "--date D is required");
    from = to = date;
  } else {
    if (!have_from || !have_to)
      return txf_cli_usage_error(cmd, "--from D1 and --to D2 are required");
    if (to.days < from.days)
      return txf_cli_usage_error(cmd, "--to is before --from");
    if (to.days - from.days >= 3660)
      return txf_cli_usage_error(cmd, "range too long (10 years at most)");
  }
  a->n_dates = (size_t)(to.days - from.days + 1);
  a->dates = txf_xcalloc(a->n_dates, sizeof *a->dates);
  for (size_t i = 0; i < a->n_dates; i++)
    a->dates[i].days = from.days + (int32_t)i;
  return -1;
}

int txf_orch_cli_execute(txf_ctx *ctx, const char *cmd,
                         const txf_orch_args *a, txf_orch_summary *sum,
                         int64_t *elapsed_us) {
  memset(sum, 0, sizeof *sum);
  if (elapsed_us)
    *elapsed_us = 0;
  txf_orch_cli oc;
  int ec = txf_orch_cli_open(&oc, ctx, cmd, 0);
  if (ec)
    return ec;
  txf_orch_opts o = {a->parallel, a->from_scratch, a->kind};
  txf_err err;
  txf_err_clear(&err);
  int64_t t0 = txf_mono_us();
  int rc = txf_orch_execute(&oc.env, a->dates, a->n_dates, &o, sum, &err);
  if (elapsed_us)
    *elapsed_us = txf_mono_us() - t0;
  txf_orch_cli_close(&oc);
  if (rc)
    return txf_cli_fail(cmd, &err);
  if (sum->interrupted || sum->n_failed)
    return TXF_EXIT_FAIL;
  return TXF_EXIT_OK;
}
