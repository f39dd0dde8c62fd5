/* Shared plumbing for the subcommands. */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bronze/bronze.h"
#include "cli/cli.h"

int64_t txf_ctx_now(const txf_ctx *ctx) {
  return ctx->pinned_now_us ? ctx->pinned_now_us : txf_wall_us();
}

int txf_ctx_project(txf_ctx *ctx, txf_project **out, txf_err *err) {
  if (!ctx->project) {
    int rc = txf_project_load(&ctx->project, ctx->cwd, err);
    if (rc)
      return rc;
  }
  *out = ctx->project;
  return 0;
}

const char *txf_ctx_timezone(txf_ctx *ctx) {
  txf_project *p;
  txf_err err;
  return txf_ctx_project(ctx, &p, &err) == 0 ? p->timezone : "Asia/Seoul";
}

int txf_ctx_data_dir(txf_ctx *ctx, const char *data_opt, char **out,
                     txf_err *err) {
  *out = NULL;
  if (data_opt) {
    *out = txf_path_abs(ctx->cwd, data_opt);
    return 0;
  }
  txf_project *p;
  int rc = txf_ctx_project(ctx, &p, err);
  if (rc == TXF_ENOTFOUND)
    return txf_err_set(err, TXF_ENOTFOUND,
                       "not in a txnflow project (no txnflow.yml in %s); "
                       "pass --data DIR or run 'txnflow init'",
                       ctx->cwd);
  if (rc)
    return rc;
  *out = txf_xstrdup(p->data_dir);
  return 0;
}

int txf_ctx_feed(txf_ctx *ctx, txf_feed_config *out, txf_err *err) {
  memset(out, 0, sizeof *out);
  txf_project *p;
  int rc = txf_ctx_project(ctx, &p, err);
  if (rc == TXF_ENOTFOUND) {
    txf_err_clear(err);
    return 0;
  }
  return rc ? rc : txf_feed_config_read(out, p, err);
}

int txf_ctx_open_store(txf_ctx *ctx, const char *data_dir, txf_store **out,
                       txf_err *err) {
  (void)ctx;
  int rc = txf_fs_mkdirs(data_dir, err);
  if (rc)
    return rc;
  char *path = txf_path_join(data_dir, "txnflow.db");
  rc = txf_store_open(out, path, 0, err);
  free(path);
  return rc;
}

int txf_ctx_data_store(txf_ctx *ctx, const char *data_opt, char **data,
                       txf_store **store, txf_err *err) {
  *store = NULL;
  int rc = txf_ctx_data_dir(ctx, data_opt, data, err);
  return rc ? rc : txf_ctx_open_store(ctx, *data, store, err);
}

json_t *txf_cli_report(const char *report, int json) {
  if (!report)
    return NULL;
  if (json) {
    printf("%s\n", report);
    return NULL;
  }
  return json_loads(report, 0, NULL);
}

int txf_ctx_lake(txf_ctx *ctx, const char *data_opt, const char **tz,
                 char **data, txf_feed_config *feed, txf_store **store,
                 txf_err *err) {
  memset(feed, 0, sizeof *feed);
  *store = NULL;
  int rc = txf_ctx_data_dir(ctx, data_opt, data, err);
  if (!rc && !*tz)
    *tz = txf_ctx_timezone(ctx);
  if (!rc)
    rc = txf_ctx_feed(ctx, feed, err);
  if (!rc)
    rc = txf_ctx_open_store(ctx, *data, store, err);
  return rc;
}

int txf_cli_fail(const char *cmd, const txf_err *err) {
  fprintf(stderr, "txnflow %s: error: %s\n", cmd,
          err && err->msg[0] ? err->msg : "failed");
  return err && txf_err_permanent(err->code, err->msg) ? TXF_EXIT_PERMANENT
                                                       : TXF_EXIT_FAIL;
}

int txf_cli_usage_error(const char *cmd, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "txnflow %s: %s\n", cmd, msg);
  fprintf(stderr, "See 'txnflow %s --help'.\n", cmd);
  return TXF_EXIT_USAGE;
}

int txf_cli_help(const char *usage) {
  fputs(usage, stdout);
  return TXF_EXIT_OK;
}

int txf_cli_unknown_subcommand(const char *cmd, const char *sub,
                               const char *const *subs, size_t n) {
  const char *close = txf_str_closest(sub, subs, n);
  if (close)
    return txf_cli_usage_error(cmd, "unknown subcommand '%s' (did you mean "
                                    "'%s'?)",
                               sub, close);
  return txf_cli_usage_error(cmd, "unknown subcommand '%s'", sub);
}

int txf_cli_parse_date(const char *cmd, const char *opt, const char *s,
                       txf_date *out) {
  if (txf_date_parse(s, SIZE_MAX, out) != 0)
    return txf_cli_usage_error(cmd, "%s: '%s' is not a date (YYYY-MM-DD)",
                               opt, s);
  return 0;
}
