/* txnflow lineage: record and export OpenLineage run events. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lineage/lineage.h"

TXF_COMMAND(lineage, "export (or record) OpenLineage run events");

static const char usage[] =
    "usage: txnflow lineage export [--since DATE] [--url URL] [--data DIR]\n"
    "       txnflow lineage record --date DATE --task TASK --event TYPE\n"
    "                              [--run UUID] [--attempt N] [--error MSG]\n"
    "                              [--data DIR]\n"
    "\n"
    "export: write the OpenLineage run events stored in the metadata\n"
    "database as newline-delimited JSON to stdout, oldest first, or POST\n"
    "each one to an OpenLineage endpoint (e.g. Marquez's\n"
    "http://localhost:5000/api/v1/lineage). A bearer token for the endpoint\n"
    "is read from TXNFLOW_LINEAGE_API_KEY.\n"
    "\n"
    "record: build the event of one task attempt (the orchestrator does this\n"
    "for every attempt; use it when another scheduler runs the tasks) and\n"
    "store it. TYPE is START, COMPLETE, FAIL or ABORT; START without --run\n"
    "makes a new run id. The run id is printed.\n"
    "\n"
    "Options:\n"
    "  --since DATE   export events from DATE (00:00 in the project's time\n"
    "                 zone) on\n"
    "  --url URL      POST to URL instead of printing\n"
    "  --date DATE    the logical date of the task run\n"
    "  --task TASK    generate, clean, models, publish, ...\n"
    "  --event TYPE   START, COMPLETE, FAIL or ABORT\n"
    "  --run UUID     the run id (same for START and the end event)\n"
    "  --attempt N    the attempt number\n"
    "  --error MSG    the error of a FAIL event\n"
    "  --data DIR     data directory (default: the project's)\n"
    "  -h, --help     show this help\n"
    "\n"
    "Example:\n"
    "  txnflow lineage export --since 2025-09-01 > events.ndjson\n";

static int print_sink(void *arg, const char *json, txf_err *err) {
  FILE *out = arg;
  if (fputs(json, out) == EOF || fputc('\n', out) == EOF)
    return txf_err_errno(err, TXF_EIO, "write events");
  return 0;
}

typedef struct poster {
  CURL *curl;
  const char *url;
  struct curl_slist *headers;
  char errbuf[CURL_ERROR_SIZE];
} poster;

static size_t discard(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

static int post_sink(void *arg, const char *json, txf_err *err) {
  poster *p = arg;
  curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, json);
  curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
  p->errbuf[0] = '\0';
  CURLcode rc = curl_easy_perform(p->curl);
  if (rc != CURLE_OK)
    return txf_err_set(err, TXF_ENET, "POST %s: %s", p->url,
                       p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299)
    return txf_err_set(err, TXF_ENET, "POST %s: HTTP status %ld", p->url,
                       status);
  return 0;
}

/* 00:00 of DATE in the project's time zone (Asia/Seoul without one). */
static int day_start_us(txf_ctx *ctx, txf_date d, int64_t *out, txf_err *err) {
  txf_tz *tz = NULL;
  int rc = txf_tz_load(&tz, txf_ctx_timezone(ctx), err);
  if (rc)
    return rc;
  *out = txf_tz_local_to_utc(tz, d, 0);
  txf_tz_free(tz);
  return 0;
}

static int open_store(txf_ctx *ctx, const char *data_opt, int readonly,
                      char **data_out, txf_store **out, txf_err *err) {
  char *data = NULL;
  int rc = txf_ctx_data_dir(ctx, data_opt, &data, err);
  if (rc)
    return rc;
  if (readonly) {
    char *path = txf_path_join(data, "txnflow.db");
    rc = txf_store_open(out, path, 1, err);
    free(path);
  } else {
    rc = txf_ctx_open_store(ctx, data, out, err);
  }
  if (rc || !data_out)
    free(data);
  else
    *data_out = data;
  return rc;
}

/* --url URL: O->value is a const char *. */
static int url_option(const char *cmd, const txf_cli_option *o,
                      const char *arg) {
  if (!txf_str_has_prefix(arg, "http://") &&
      !txf_str_has_prefix(arg, "https://"))
    return txf_cli_usage_error(cmd, "--url: '%s' is not an http(s) URL", arg);
  *(const char **)o->value = arg;
  return 0;
}

static int do_export(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL, *url = NULL;
  txf_date since;
  int have_since = 0;
  const txf_cli_option opts[] = {
      TXF_OPT_DATE(0, "since", &since, "DATE", &have_since),
      TXF_OPT_CALLBACK(0, "url", &url, "URL", url_option),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"), TXF_OPT_END};
  int ec = txf_cli_options_parse("lineage export", usage, opts,
                                 TXF_CLI_NO_OPERANDS, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  txf_err err;
  txf_err_clear(&err);
  int64_t since_us = INT64_MIN;
  if (have_since && day_start_us(ctx, since, &since_us, &err))
    return txf_cli_fail("lineage", &err);
  txf_store *st = NULL;
  int rc = open_store(ctx, data_opt, 1, NULL, &st, &err);
  if (rc == TXF_ENOTFOUND && !url) /* no database yet: no events */
    return TXF_EXIT_OK;
  if (rc)
    return txf_cli_fail("lineage", &err);
  int64_t n = 0;
  if (!url) {
    rc = txf_lineage_export(st, since_us, print_sink, stdout, &n, &err);
    if (!rc && fflush(stdout) != 0)
      rc = txf_err_errno(&err, TXF_EIO, "write events");
  } else {
    poster p;
    memset(&p, 0, sizeof p);
    p.url = url;
    p.curl = curl_easy_init();
    if (!p.curl) {
      txf_store_close(st);
      txf_err_set(&err, TXF_EINTERNAL, "cannot start libcurl");
      return txf_cli_fail("lineage", &err);
    }
    p.headers = curl_slist_append(NULL, "Content-Type: application/json");
    const char *key = getenv("TXNFLOW_LINEAGE_API_KEY");
    char *auth = key && *key ? txf_xasprintf("Authorization: Bearer %s", key)
                             : NULL;
    if (auth)
      p.headers = curl_slist_append(p.headers, auth);
    curl_easy_setopt(p.curl, CURLOPT_URL, url);
    curl_easy_setopt(p.curl, CURLOPT_HTTPHEADER, p.headers);
    curl_easy_setopt(p.curl, CURLOPT_ERRORBUFFER, p.errbuf);
    curl_easy_setopt(p.curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(p.curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(p.curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(p.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p.curl, CURLOPT_USERAGENT, "txnflow-lineage/0.1");
    rc = txf_lineage_export(st, since_us, post_sink, &p, &n, &err);
    curl_slist_free_all(p.headers);
    curl_easy_cleanup(p.curl);
    free(auth);
    if (!rc)
      fprintf(stderr, "txnflow lineage: posted %lld events to %s\n",
              (long long)n, url);
    else
      txf_err_wrap(&err, "after %lld events", (long long)n);
  }
  txf_store_close(st);
  return rc ? txf_cli_fail("lineage", &err) : TXF_EXIT_OK;
}

/* --event TYPE: O->value is an int, the txf_lineage_event_type. */
static int event_option(const char *cmd, const txf_cli_option *o,
                        const char *arg) {
  txf_lineage_event_type type;
  if (txf_lineage_event_parse(arg, &type))
    return txf_cli_usage_error(
        cmd, "--event: '%s' is not START, COMPLETE, FAIL or ABORT", arg);
  *(int *)o->value = (int)type;
  return 0;
}

/* --run UUID: O->value is a const char *. */
static int run_option(const char *cmd, const txf_cli_option *o,
                      const char *arg) {
  if (!txf_lineage_uuid_valid(arg))
    return txf_cli_usage_error(cmd, "--run: '%s' is not a UUID", arg);
  *(const char **)o->value = arg;
  return 0;
}

static int do_record(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL, *task = NULL, *run = NULL, *error = NULL;
  int type = -1; /* not given */
  int have_date = 0;
  uint64_t attempt = 0;
  txf_date d;
  const txf_cli_option opts[] = {
      TXF_OPT_DATE(0, "date", &d, "DATE", &have_date),
      TXF_OPT_STRING(0, "task", &task, "TASK"),
      TXF_OPT_CALLBACK(0, "event", &type, "TYPE", event_option),
      TXF_OPT_CALLBACK(0, "run", &run, "UUID", run_option),
      TXF_OPT_UINT(0, "attempt", &attempt, "N", 0, 1000000, "a count"),
      TXF_OPT_STRING(0, "error", &error, "MSG"),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("lineage record", usage, opts,
                                 TXF_CLI_NO_OPERANDS, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (!have_date || !task || type < 0)
    return txf_cli_usage_error("lineage record",
                               "--date, --task and --event are required");
  if (!run && type != (int)TXF_LINEAGE_START)
    return txf_cli_usage_error("lineage record",
                               "--run is required for an end event");
  txf_err err;
  txf_err_clear(&err);
  char date[11], uuid[37];
  txf_date_format(d, date); /* as given: --date is exactly YYYY-MM-DD */
  if (!run) {
    txf_lineage_uuid(uuid);
    run = uuid;
  }
  char *data = NULL;
  txf_store *st = NULL;
  if (open_store(ctx, data_opt, 0, &data, &st, &err))
    return txf_cli_fail("lineage", &err);
  txf_project *p = NULL;
  const char *project = "txnflow";
  char *manifest = NULL;
  if (txf_ctx_project(ctx, &p, &err) == 0) {
    project = p->name;
    manifest = txf_path_join(p->dir, "target/manifest.json");
  }
  txf_err_clear(&err);
  txf_lineage_task t = {.project = project,
                        .data_dir = data,
                        .logical_date = date,
                        .task = task,
                        .run_uuid = run,
                        .attempt = (int)attempt,
                        .event_time_us = txf_ctx_now(ctx),
                        .error = error,
                        .manifest_path = manifest};
  int rc =
      txf_lineage_task_event(st, &t, (txf_lineage_event_type)type, &err);
  txf_store_close(st);
  free(data);
  free(manifest);
  if (rc)
    return txf_cli_fail("lineage", &err);
  printf("%s\n", run);
  return TXF_EXIT_OK;
}

int cmd_lineage(int argc, char **argv, txf_ctx *ctx) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help"))
    return argc < 2 ? (fputs(usage, stderr), TXF_EXIT_USAGE)
                    : txf_cli_help(usage);
  if (!strcmp(argv[1], "export"))
    return do_export(argc - 1, argv + 1, ctx);
  if (!strcmp(argv[1], "record"))
    return do_record(argc - 1, argv + 1, ctx);
  static const char *const subs[] = {"export", "record"};
  return txf_cli_unknown_subcommand("lineage", argv[1], subs,
                                    TXF_ARRAY_LEN(subs));
}
