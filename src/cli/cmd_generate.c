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
    "                        [--part-rows N] [--compress zstd|none]\n"
    "                        [--timezone TZ] [--data DIR] [--force] [--json]\n"
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
    "  --timezone TZ       zone of event and ingestion days (default: the\n"
    "                      project's, else Asia/Seoul)\n"
    "  --data DIR          data directory (default: the project's); works\n"
    "                      without a project\n"
    "  --force             replace batches that already exist\n"
    "  --json              print the counts as JSON\n"
    "  -h, --help          show this help\n"
    "\n"
    "Example:\n"
    "  txnflow generate --date 2025-09-01 --days 11 --rows 5000 --seed 7\n";

static int parse_rate(const char *opt, const char *s, double *out) {
  if (txf_parse_double(s, out) || !(*out >= 0 && *out <= 0.5))
    return txf_cli_usage_error("generate", "%s: '%s' is not a rate in 0..0.5",
                               opt, s);
  return 0;
}

static int parse_count(const char *opt, const char *s, int64_t max,
                       int64_t *out) {
  uint64_t v;
  if (txf_parse_u64(s, &v) || v < 1 || v > (uint64_t)max)
    return txf_cli_usage_error("generate", "%s: '%s' is not a count in 1..%lld",
                               opt, s, (long long)max);
  *out = (int64_t)v;
  return 0;
}

int cmd_generate(int argc, char **argv, txf_ctx *ctx) {
  enum {
    O_DAYS = 256, O_ROWS, O_SEED, O_DUP, O_VER, O_LATE, O_MAL, O_STALE,
    O_REFUND, O_CUST, O_MERCH, O_PART, O_COMP, O_TZ, O_DATA, O_FORCE, O_JSON,
    O_DATE
  };
  static const struct option opts[] = {
      {"date", required_argument, 0, O_DATE},
      {"days", required_argument, 0, O_DAYS},
      {"rows", required_argument, 0, O_ROWS},
      {"seed", required_argument, 0, O_SEED},
      {"dup-rate", required_argument, 0, O_DUP},
      {"version-rate", required_argument, 0, O_VER},
      {"late-rate", required_argument, 0, O_LATE},
      {"malformed-rate", required_argument, 0, O_MAL},
      {"stale-rate", required_argument, 0, O_STALE},
      {"refund-rate", required_argument, 0, O_REFUND},
      {"customers", required_argument, 0, O_CUST},
      {"merchants", required_argument, 0, O_MERCH},
      {"part-rows", required_argument, 0, O_PART},
      {"compress", required_argument, 0, O_COMP},
      {"timezone", required_argument, 0, O_TZ},
      {"data", required_argument, 0, O_DATA},
      {"force", no_argument, 0, O_FORCE},
      {"json", no_argument, 0, O_JSON},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  txf_gen_params p;
  txf_gen_params_default(&p);
  const char *date_opt = NULL, *data_opt = NULL, *tz_opt = NULL;
  int64_t days = 1, rows = 0;
  int have_seed = 0, have_stale = 0, force = 0, json = 0, c;
  uint64_t seed = 0;
  while ((c = txf_cli_getopt("generate", argc, argv, ":h", opts)) != -1) {
    int rc = 0;
    switch (c) {
    case O_DATE:
      date_opt = optarg;
      break;
    case O_DAYS:
      rc = parse_count("--days", optarg, 3660, &days);
      break;
    case O_ROWS:
      rc = parse_count("--rows", optarg, 99999999, &rows);
      break;
    case O_SEED:
      if (txf_parse_u64(optarg, &seed) || seed > (uint64_t)INT64_MAX)
        return txf_cli_usage_error("generate",
                                   "--seed: '%s' is not a number below 2^63",
                                   optarg);
      have_seed = 1;
      break;
    case O_DUP:
      rc = parse_rate("--dup-rate", optarg, &p.dup_rate);
      break;
    case O_VER:
      rc = parse_rate("--version-rate", optarg, &p.version_rate);
      break;
    case O_LATE:
      rc = parse_rate("--late-rate", optarg, &p.late_rate);
      break;
    case O_MAL:
      rc = parse_rate("--malformed-rate", optarg, &p.malformed_rate);
      break;
    case O_STALE:
      rc = parse_rate("--stale-rate", optarg, &p.stale_rate);
      have_stale = 1;
      break;
    case O_REFUND:
      rc = parse_rate("--refund-rate", optarg, &p.refund_rate);
      break;
    case O_CUST:
      rc = parse_count("--customers", optarg, 99999999, &p.customers);
      break;
    case O_MERCH:
      rc = parse_count("--merchants", optarg, 9999999, &p.merchants);
      break;
    case O_PART:
      rc = parse_count("--part-rows", optarg, INT64_MAX, &p.part_rows);
      break;
    case O_COMP:
      if (!strcmp(optarg, "zstd"))
        p.compress_zstd = 1;
      else if (!strcmp(optarg, "none"))
        p.compress_zstd = 0;
      else
        return txf_cli_usage_error("generate",
                                   "--compress: '%s' is not zstd or none",
                                   optarg);
      break;
    case O_TZ:
      tz_opt = optarg;
      break;
    case O_DATA:
      data_opt = optarg;
      break;
    case O_FORCE:
      force = 1;
      break;
    case O_JSON:
      json = 1;
      break;
    case 'h':
      return txf_cli_help(usage);
    default:
      return TXF_EXIT_USAGE;
    }
    if (rc)
      return rc;
  }
  if (optind != argc)
    return txf_cli_usage_error("generate", "unexpected argument '%s'",
                               argv[optind]);
  if (!date_opt)
    return txf_cli_usage_error("generate", "--date is required");
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
  if (!have_stale)
    p.stale_rate = p.version_rate / 6;
  p.seed = have_seed ? seed : proj ? (uint64_t)proj->feed_seed : p.seed;
  p.rows = rows ? rows : proj && proj->feed_rows > 0 ? proj->feed_rows : p.rows;
  p.timezone = tz_opt ? tz_opt : proj ? proj->timezone : p.timezone;
  if (txf_gen_params_check(&p, &err))
    return txf_cli_usage_error("generate", "%s", err.msg);
  char *data = NULL;
  if (txf_ctx_data_dir(ctx, data_opt, &data, &err))
    return txf_cli_fail("generate", &err);

  /* Refuse up front when any day exists, so nothing is half done (after
   * settling what an interrupted run of that day left). */
  if (!force) {
    for (int64_t k = 0; k < days; k++) {
      txf_date d = {first.days + (int32_t)k};
      int exists = 0, mismatch = 0;
      if (txf_generate_settle(data, d, &exists, &mismatch, &err)) {
        free(data);
        return txf_cli_fail("generate", &err);
      }
      if (exists) {
        char *dir = txf_bronze_batch_dir(data, d);
        txf_err_set(&err, TXF_EEXIST,
                    "bronze batch %s already exists%s (use --force to "
                    "replace it)",
                    dir,
                    mismatch ? ", and its truth belongs to another batch"
                             : "");
        free(dir);
        free(data);
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
  free(data);
  return rc;
}
