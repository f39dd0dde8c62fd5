/* txnflow land: a processor's files in as a bronze batch (docs/feed.md,
 * "Landing files"). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "cli/cli.h"

TXF_COMMAND(land, "a processor's files in as an ingestion day's batch");

static const char usage[] =
    "usage: txnflow land --date D [FILE|DIR ...|s3://BUCKET/PREFIX] [--move]\n"
    "                    [--replace] [--json]\n"
    "       txnflow land --date D --verify [--json]\n"
    "       txnflow land --date D FILE --dry-run [--json]\n"
    "\n"
    "Take a processor's files as ingestion day D's bronze batch: check they\n"
    "are complete (the marker file feed.marker names, e.g. '{name}.done' or\n"
    "'_SUCCESS'; without one, sizes that stay the same for feed.stable_for,\n"
    "5s), read each through (a cut .gz or .zst is refused), copy them (or\n"
    "with --move, move them) into DATA/bronze/transactions/ingest_date=D/\n"
    "and write _manifest.json with the SHA-256 and rows of each, all at\n"
    "once: a crash leaves no batch or the whole batch. An s3:// prefix is\n"
    "listed and its files downloaded with publish.s3's connection settings.\n"
    "Without FILE or DIR, the files of feed.landing ({date} in it is D).\n"
    "Landing the same bytes again does nothing; other files for a day that\n"
    "has a batch are refused unless --replace, and a day already cleaned is\n"
    "then cleaned again by the next run (which rebuilds what depends on\n"
    "it).\n"
    "\n"
    "The files may be in the processor's own layout: feed.format in\n"
    "txnflow.yml maps its columns (docs/feed.md).\n"
    "\n"
    "Options:\n"
    "  --date D      the ingestion day (YYYY-MM-DD)\n"
    "  --move        remove the sources (and their markers) once landed\n"
    "  --replace     replace a batch of other files\n"
    "  --verify      check D's batch against its manifest (size, SHA-256,\n"
    "                rows) instead of landing\n"
    "  --dry-run     show how FILE's first 20 lines map into silver and what\n"
    "                a clean of it would count; writes nothing\n"
    "  --data DIR    data directory (default: the project's)\n"
    "  --json        print the result as JSON\n"
    "  -h, --help    show this help\n"
    "\n"
    "Examples:\n"
    "  txnflow land --date 2025-09-01 ~/inbox/settle_20250901.csv.gz\n"
    "  txnflow land --date 2025-09-01 ~/inbox/settle_20250901.csv.gz "
    "--dry-run\n"
    "  txnflow land --date 2025-09-01 s3://settlements/daily/20250901/\n"
    "  txnflow land --date 2025-09-01 --verify\n";

static int verify(const char *data, txf_date day, const txf_feed_config *feed,
                  int json, txf_err *err) {
  char date[11];
  txf_date_format(day, date);
  char *dir = txf_bronze_batch_dir(data, day);
  txf_manifest m;
  int rc = txf_manifest_load(&m, dir, err);
  if (rc == TXF_ENOTFOUND)
    rc = txf_err_set(err, TXF_ENOTFOUND,
                     "no batch for %s: %s has no "
                     "_manifest.json (txnflow land --date %s FILE lands one)",
                     date, dir, date);
  if (!rc && strcmp(m.ingest_date, date))
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%s/_manifest.json: ingest_date '%s' is not %s", dir,
                     m.ingest_date, date);
  if (!rc)
    rc = txf_manifest_verify(&m, dir, err);
  int64_t rows = 0;
  for (size_t i = 0; i < m.n_files && !rc; i++) {
    char *p = txf_path_join(dir, m.files[i].name);
    int64_t n;
    rc = txf_land_count_rows(p, feed->format, &n, err);
    if (!rc && n != m.files[i].rows)
      rc = txf_err_set(err, TXF_ECORRUPT, "%s: %lld rows, manifest says %lld",
                       p, (long long)n, (long long)m.files[i].rows);
    rows += n;
    free(p);
  }
  if (!rc) {
    if (json)
      printf("{\"ingest_date\": \"%s\", \"files\": %zu, \"rows\": %lld, "
             "\"verified\": true}\n",
             date, m.n_files, (long long)rows);
    else
      printf("ingest_date=%s: %zu file%s, %lld rows: size, SHA-256 and rows "
             "agree with the manifest\n",
             date, m.n_files, m.n_files == 1 ? "" : "s", (long long)rows);
  }
  txf_manifest_release(&m);
  free(dir);
  return rc;
}

static void print_preview(const char *text) {
  json_t *j = json_loads(text, 0, NULL);
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(j, "lines"), i, l) {
    printf("line %lld: %s\n",
           (long long)json_integer_value(json_object_get(l, "line")),
           json_string_value(json_object_get(l, "raw")));
    json_t *s = json_object_get(l, "silver");
    if (!s) {
      printf("  -> quarantined: %s: %s\n",
             json_string_value(json_object_get(l, "reason")),
             json_string_value(json_object_get(l, "detail")));
      continue;
    }
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v) {
      char *t = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
      printf("  %-24s %s\n", k, t ? t : json_string_value(v));
      free(t);
    }
  }
  json_t *c = json_object_get(j, "counts");
#define I(k) ((long long)json_integer_value(json_object_get(c, k)))
  printf("a clean of the whole file: %lld lines = %lld valid + %lld "
         "quarantined; %lld distinct ids, %lld lines repeat an id "
         "(duplicates or versions)\n",
         I("lines_read"), I("valid"), I("quarantined"), I("distinct_ids"),
         I("repeated_ids"));
#undef I
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(c, "quarantined_by_reason"), k, v)
      printf("  quarantined %-14s %lld\n", k, (long long)json_integer_value(v));
  json_decref(j);
}

static void print_landed(const txf_land_result *res, const char *date,
                         const char *dir, int json) {
  if (json) {
    json_t *files = json_array();
    for (size_t i = 0; i < res->n_files; i++)
      json_array_append_new(
          files, json_pack("{s:s,s:I,s:I,s:s}", "name", res->files[i].name,
                           "rows", (json_int_t)res->files[i].rows, "size_bytes",
                           (json_int_t)res->files[i].size_bytes, "sha256",
                           res->files[i].sha256));
    json_t *o = json_pack(
        "{s:s,s:s,s:b,s:b,s:o,s:I,s:I}", "ingest_date", date, "batch", dir,
        "noop", res->noop, "replaced", res->replaced, "files", files, "rows",
        (json_int_t)res->rows, "size_bytes", (json_int_t)res->size_bytes);
    char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", t);
    free(t);
    json_decref(o);
    return;
  }
  if (res->noop) {
    printf("ingest_date=%s: these files are the batch already (same names "
           "and SHA-256); nothing to do\n",
           date);
    return;
  }
  printf("%s ingest_date=%s: %zu file%s, %lld rows, %llu bytes -> %s\n",
         res->replaced ? "replaced" : "landed", date, res->n_files,
         res->n_files == 1 ? "" : "s", (long long)res->rows,
         (unsigned long long)res->size_bytes, dir);
  if (res->replaced)
    printf("  the next 'txnflow run --date %s' cleans it again and rebuilds "
           "what depends on it\n",
           date);
}

int cmd_land(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL;
  int have_date = 0, json = 0, move = 0, replace = 0, do_verify = 0,
      dry_run = 0;
  txf_date day;
  const txf_cli_option opts[] = {TXF_OPT_DATE(0, "date", &day, "D", &have_date),
                                 TXF_OPT_FLAG(0, "move", &move),
                                 TXF_OPT_FLAG(0, "replace", &replace),
                                 TXF_OPT_FLAG(0, "verify", &do_verify),
                                 TXF_OPT_FLAG(0, "dry-run", &dry_run),
                                 TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
                                 TXF_OPT_FLAG(0, "json", &json),
                                 TXF_OPT_END};
  int ec = txf_cli_options_parse("land", usage, opts, 0, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (!have_date)
    return txf_cli_usage_error("land", "--date is required");
  if (do_verify + dry_run > 1 || (do_verify && (move || replace)) ||
      (dry_run && (move || replace)))
    return txf_cli_usage_error("land", "--verify and --dry-run go alone");
  if (do_verify && argc > 0)
    return txf_cli_usage_error("land", "--verify checks D's batch: no FILE");
  if (dry_run && argc != 1)
    return txf_cli_usage_error("land", "--dry-run shows one FILE");
  char date[11];
  txf_date_format(day, date);
  txf_err err;
  txf_err_clear(&err);
  txf_feed_config feed;
  char *data = NULL;
  int rc = txf_ctx_feed(ctx, &feed, &err);
  if (!rc && !dry_run)
    rc = txf_ctx_data_dir(ctx, data_opt, &data, &err);
  if (rc) {
    txf_feed_config_release(&feed);
    return txf_cli_fail("land", &err);
  }
  if (do_verify) {
    rc = verify(data, day, &feed, json, &err);
  } else if (dry_run) {
    txf_project *p = NULL;
    const char *tz =
        txf_ctx_project(ctx, &p, &err) == 0 ? p->timezone : "Asia/Seoul";
    txf_err_clear(&err);
    char *path = txf_path_abs(ctx->cwd, argv[0]);
    txf_clean_preview_opts po = {path, feed.format, tz, 20};
    char *text = NULL;
    rc = txf_clean_preview(&po, &text, &err);
    if (!rc && json)
      printf("%s\n", text);
    else if (!rc)
      print_preview(text);
    free(text);
    free(path);
  } else {
    size_t n = (size_t)argc;
    char **src = txf_xcalloc(n ? n : 1, sizeof *src);
    for (size_t i = 0; i < n; i++)
      src[i] = txf_path_abs(ctx->cwd, argv[i]);
    if (n == 0 && feed.landing) {
      n = 1;
      src[0] = txf_feed_landing_for(feed.landing, day);
    } else if (n == 0) {
      rc = txf_err_set(&err, TXF_EUSAGE,
                       "nothing to land: name the FILEs or a DIR, or set "
                       "feed.landing in txnflow.yml");
    }
    /* s3://BUCKET/PREFIX: one prefix, alone (not made absolute) */
    const char *s3uri = NULL;
    for (size_t i = 0; i < (size_t)argc; i++)
      if (!strncmp(argv[i], "s3://", 5))
        s3uri = argv[i];
    if (n == 1 && !strncmp(src[0], "s3://", 5))
      s3uri = src[0];
    if (s3uri && n > 1)
      rc =
          txf_err_set(&err, TXF_EUSAGE,
                      "%s: an S3 prefix is landed alone (one per land)", s3uri);
    txf_store *store = NULL;
    if (!rc)
      rc = txf_ctx_open_store(ctx, data, &store, &err);
    txf_land_result res;
    memset(&res, 0, sizeof res);
    if (!rc) {
      txf_land_opts lo = {0};
      lo.data_dir = data;
      lo.day = day;
      lo.sources = (const char *const *)src;
      lo.n_sources = n;
      lo.feed = &feed;
      lo.move = move;
      lo.replace = replace;
      lo.store = store;
      lo.log = &ctx->log;
      lo.now_us = txf_ctx_now(ctx);
      lo.crash_at = getenv("TXNFLOW_CRASH_AT");
      txf_project *proj = NULL;
      if (txf_ctx_project(ctx, &proj, &err) != 0) {
        proj = NULL;
        txf_err_clear(&err);
      }
      lo.project = proj;
      rc = s3uri ? txf_land_s3(&lo, s3uri, 0, NULL, &res, &err)
                 : txf_land_batch(&lo, &res, &err);
    }
    if (!rc) {
      char *dir = txf_bronze_batch_dir(data, day);
      print_landed(&res, date, dir, json);
      free(dir);
    }
    txf_land_result_release(&res);
    txf_store_close(store);
    for (size_t i = 0; i < n; i++)
      free(src[i]);
    free(src);
  }
  txf_feed_config_release(&feed);
  free(data);
  return rc ? txf_cli_fail("land", &err) : TXF_EXIT_OK;
}
