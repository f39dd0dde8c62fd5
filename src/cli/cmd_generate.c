/* txnflow generate: synthetic bronze batches with ground truth. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bronze/bronze.h"
#include "cli/cli.h"

TXF_COMMAND(generate, "synthetic bronze batch (and truth) for ingestion days");

static const char usage[] =
    "usage: txnflow generate --date D [--days N] [--rows N] [--seed S]\n"
    "                        [--dup-rate R] [--version-rate R] [--late-rate R]\n"
    "                        [--malformed-rate R] [--stale-rate R]\n"
    "                        [--refund-rate R] [--customers N] [--merchants N]\n"
    "                        [--part-rows N] [--compress zstd|none] [--pan]\n"
    "                        [--timezone TZ] [--data DIR] [--force | --if-missing]\n"
    "                        [--json]\n"
    "\n"
    "Write the synthetic bronze batch of ingestion day D (and the N-1 days\n"
    "after it with --days): DIR/bronze/transactions/ingest_date=D/ with\n"
    "part-NNNNN.csv files and _manifest.json, and the ground truth of every\n"
    "line in DIR/truth/transactions/ingest_date=D/lines.csv. A batch holds\n"
    "the day's events, late arrivals, newer versions, exact and stale\n"
    "re-deliveries and malformed lines; any day can be generated alone and\n"
    "the same parameters give the same bytes. A run holds\n"
    "DIR/locks/generate-D.lock: a second generate of the same day fails,\n"
    "and a run first repairs what an interrupted one left. See\n"
    "docs/feed.md.\n"
    "\n"
    "Options:\n"
    "  --date D            first ingestion day (YYYY-MM-DD)\n"
    "  --days N            number of consecutive days (default 1)\n"
    "  --rows N            events per day (default: feed.rows, else 5000)\n"
    "  --seed S            seed (default: feed.seed, else 42)\n"
    "  --dup-rate R        exact re-deliveries per version (default 0.02)\n"
    "  --version-rate R    transactions with a newer version (default 0.03)\n"
    "  --late-rate R       events arriving 1-6 days late (default 0.05)\n"
    "  --malformed-rate R  malformed extra lines per line (default 0.001)\n"
    "  --stale-rate R      stale re-deliveries per event (default: a sixth\n"
    "                      of --version-rate, 0.005)\n"
    "  --refund-rate R     refunds among events (default 0.01)\n"
    "  --customers N       customer population (default 200000)\n"
    "  --merchants N       merchant population (default 20000)\n"
    "  --part-rows N       data records per part file (default 2000000)\n"
    "  --compress zstd     write part-NNNNN.csv.zst (default none)\n"
    "  --pan               a card_number column: card numbers from test BIN\n"
    "                      ranges, some malformed (default: feed.pan, else\n"
    "                      off; docs/card-data.md)\n"
    "  --timezone TZ       zone of event and ingestion days (default: the\n"
    "                      project's, else Asia/Seoul)\n"
    "  --data DIR          data directory (default: the project's); works\n"
    "                      without a project\n"
    "  --force             replace batches that already exist\n"
    "  --if-missing        keep the batches that already exist (and say so);\n"
    "                      generate only the missing days (what `txnflow run`\n"
    "                      and `backfill` do: they never replace a batch)\n"
    "  --json              print the counts as JSON\n"
    "  -h, --help          show this help\n"
    "\n"
    "Example:\n"
    "  txnflow generate --date 2025-09-01 --days 11 --rows 5000 --seed 7\n";

/* --*-rate R: O->value is a double. */
static int rate(const char *cmd, const txf_cli_option *o, const char *arg) {
  double *out = o->value;
  if (txf_parse_double(arg, out) || !(*out >= 0 && *out <= 0.5))
    return txf_cli_usage_error(cmd, "--%s: '%s' is not a rate in 0..0.5",
                               o->long_name, arg);
  return 0;
}

int cmd_generate(int argc, char **argv, txf_ctx *ctx) {
  static const txf_cli_choice compress[] = {{"zstd", 1}, {"none", 0},
                                            {NULL, 0}};
  txf_gen_params p;
  txf_gen_params_default(&p);
  p.stale_rate = -1; /* not given: follows --version-rate, below */
  const char *date_opt = NULL, *data_opt = NULL, *tz_opt = NULL;
  int64_t days = 1, rows = 0;
  int force = 0, if_missing = 0, json = 0;
  uint64_t seed = UINT64_MAX; /* not given: --seed stops below 2^63 */
  const txf_cli_option opts[] = {
      TXF_OPT_STRING(0, "date", &date_opt, "D"),
      TXF_OPT_UINT(0, "days", &days, "N", 1, 3660, "a count in 1..3660"),
      TXF_OPT_UINT(0, "rows", &rows, "N", 1, 99999999,
                   "a count in 1..99999999"),
      TXF_OPT_UINT(0, "seed", &seed, "S", 0, INT64_MAX,
                   "a number below 2^63"),
      TXF_OPT_CALLBACK(0, "dup-rate", &p.dup_rate, "R", rate),
      TXF_OPT_CALLBACK(0, "version-rate", &p.version_rate, "R", rate),
      TXF_OPT_CALLBACK(0, "late-rate", &p.late_rate, "R", rate),
      TXF_OPT_CALLBACK(0, "malformed-rate", &p.malformed_rate, "R", rate),
      TXF_OPT_CALLBACK(0, "stale-rate", &p.stale_rate, "R", rate),
      TXF_OPT_CALLBACK(0, "refund-rate", &p.refund_rate, "R", rate),
      TXF_OPT_UINT(0, "customers", &p.customers, "N", 1, 99999999,
                   "a count in 1..99999999"),
      TXF_OPT_UINT(0, "merchants", &p.merchants, "N", 1, 9999999,
                   "a count in 1..9999999"),
      TXF_OPT_UINT(0, "part-rows", &p.part_rows, "N", 1, INT64_MAX,
                   "a count in 1..9223372036854775807"),
      TXF_OPT_CHOICE(0, "compress", &p.compress_zstd, "zstd|none",
                     compress),
      TXF_OPT_FLAG(0, "pan", &p.pan),
      TXF_OPT_STRING(0, "timezone", &tz_opt, "TZ"),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_FLAG(0, "force", &force),
      TXF_OPT_FLAG(0, "if-missing", &if_missing),
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("generate", usage, opts, TXF_CLI_NO_OPERANDS,
                                 &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (!date_opt)
    return txf_cli_usage_error("generate", "--date is required");
  if (force && if_missing)
    return txf_cli_usage_error("generate",
                               "--force and --if-missing contradict each other");
  txf_date first;
  if (txf_cli_parse_date("generate", "--date", date_opt, &first))
    return TXF_EXIT_USAGE;

  txf_err err;
  txf_err_clear(&err);
  /* Defaults come from the project when there is one; with --data the
   * command also works outside a project. */
  txf_project *proj = NULL;
  int prc = txf_ctx_project(ctx, &proj, &err);
  if (prc && !(prc == TXF_ENOTFOUND && data_opt)) {
    if (prc == TXF_ENOTFOUND)
      txf_err_set(&err, TXF_ENOTFOUND,
                  "not in a txnflow project (no txnflow.yml in %s); pass "
                  "--data DIR or run 'txnflow init'",
                  ctx->cwd);
    return txf_cli_fail("generate", &err);
  }
  if (prc)
    proj = NULL;
  txf_err_clear(&err);
  /* Stale re-deliveries are a share of versions: unless given, keep the
   * default ratio (1 in 6) when --version-rate changes. */
  if (p.stale_rate < 0)
    p.stale_rate = p.version_rate / 6;
  p.seed = seed != UINT64_MAX ? seed
           : proj             ? (uint64_t)proj->feed_seed
                              : p.seed;
  p.rows = rows ? rows : proj && proj->feed_rows > 0 ? proj->feed_rows : p.rows;
  p.timezone = tz_opt ? tz_opt : proj ? proj->timezone : p.timezone;
  p.pan = p.pan || (proj && proj->feed_pan);
  if (txf_gen_params_check(&p, &err))
    return txf_cli_usage_error("generate", "%s", err.msg);
  char *data = NULL;
  if (txf_ctx_data_dir(ctx, data_opt, &data, &err))
    return txf_cli_fail("generate", &err);

  /* Refuse up front when any day exists, so nothing is half done (after
   * settling what an interrupted run of that day left); with --if-missing,
   * keep the days that exist. */
  char *kept = txf_xcalloc((size_t)days, 1);
  if (!force) {
    for (int64_t k = 0; k < days; k++) {
      txf_date d = {first.days + (int32_t)k};
      int exists = 0, mismatch = 0;
      if (txf_generate_settle(data, d, &exists, &mismatch, &err)) {
        free(data);
        free(kept);
        return txf_cli_fail("generate", &err);
      }
      if (exists && if_missing) {
        kept[k] = 1;
      } else if (exists) {
        char *dir = txf_bronze_batch_dir(data, d);
        txf_err_set(&err, TXF_EEXIST,
                    "bronze batch %s already exists%s (use --force to "
                    "replace it)",
                    dir,
                    mismatch ? ", and its truth belongs to another batch"
                             : "");
        free(dir);
        free(data);
        free(kept);
        return txf_cli_fail("generate", &err);
      }
    }
  }
  /* Crash injection for the recovery tests (t1003): TXNFLOW_CRASH_AT=STEP */
  p.crash_at = getenv("TXNFLOW_CRASH_AT");

  json_t *out = json ? json_array() : NULL;
  int rc = TXF_EXIT_OK;
  for (int64_t k = 0; k < days; k++) {
    txf_date d = {first.days + (int32_t)k};
    char ds[11];
    txf_date_format(d, ds);
    if (kept[k]) {
      char *dir = txf_bronze_batch_dir(data, d);
      if (out) {
        json_t *o = json_object();
        json_object_set_new(o, "ingest_date", json_string(ds));
        json_object_set_new(o, "dir", json_string(dir));
        json_object_set_new(o, "kept", json_true());
        json_array_append_new(out, o);
      } else {
        printf("ingest_date=%s: the batch exists; kept (generate --force, or run --regenerate, replaces "
               "it)\n",
               ds);
      }
      free(dir);
      continue;
    }
    txf_gen_stats st;
    txf_progress prog;
    char label[48];
    snprintf(label, sizeof label, "generate %s", ds);
    txf_progress_start(&prog, label, 0);
    int64_t t0 = txf_mono_us();
    int grc = txf_generate_day(data, d, &p, force, &st, &prog, &err);
    txf_progress_finish(&prog);
    if (grc) {
      rc = txf_cli_fail("generate", &err);
      break;
    }
    double secs = (double)(txf_mono_us() - t0) / 1e6;
    char *dir = txf_bronze_batch_dir(data, d);
    if (out) {
      json_t *o = json_object();
      json_object_set_new(o, "ingest_date", json_string(ds));
      json_object_set_new(o, "dir", json_string(dir));
      json_object_set_new(o, "lines", json_integer(st.lines));
      json_object_set_new(o, "new", json_integer(st.n_new));
      json_object_set_new(o, "late", json_integer(st.n_late));
      json_object_set_new(o, "version", json_integer(st.n_version));
      json_object_set_new(o, "redelivery", json_integer(st.n_redelivery));
      json_object_set_new(o, "stale_redelivery", json_integer(st.n_stale));
      json_object_set_new(o, "malformed", json_integer(st.n_malformed));
      json_object_set_new(o, "refunds", json_integer(st.n_refund));
      json_object_set_new(o, "files", json_integer(st.n_files));
      json_object_set_new(o, "size_bytes",
                          json_integer((json_int_t)st.size_bytes));
      json_object_set_new(o, "seconds", json_real(secs));
      json_array_append_new(out, o);
    } else {
      printf("ingest_date=%s: %lld lines in %lld file%s (%lld new, %lld "
             "late, %lld versions, %lld re-deliveries, %lld stale, %lld "
             "malformed) in %.2fs\n",
             ds, (long long)st.lines, (long long)st.n_files,
             st.n_files == 1 ? "" : "s", (long long)st.n_new,
             (long long)st.n_late, (long long)st.n_version,
             (long long)st.n_redelivery, (long long)st.n_stale,
             (long long)st.n_malformed, secs);
    }
    free(dir);
  }
  if (out) {
    if (rc == TXF_EXIT_OK) {
      char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
      printf("%s\n", s);
      free(s);
    }
    json_decref(out);
  }
  free(kept);
  free(data);
  return rc;
}
