/* Shared plumbing for the subcommands. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

int txf_cli_fail(const char *cmd, const txf_err *err) {
  fprintf(stderr, "txnflow %s: error: %s\n", cmd,
          err && err->msg[0] ? err->msg : "failed");
  return TXF_EXIT_FAIL;
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

void txf_cli_getopt_reset(void) {
  optind = 0; /* GNU: reinitialise, including the permutation state */
  opterr = 0;
}

int txf_cli_getopt(const char *cmd, int argc, char **argv,
                   const char *shortopts, const struct option *longopts) {
  opterr = 0;
  int prev = optind ? optind : 1;
  int c = getopt_long(argc, argv, shortopts, longopts, NULL);
  if (c != '?' && c != ':')
    return c;
  /* The offending word: the last one getopt consumed. */
  const char *word = optind - 1 >= 1 && optind - 1 < argc ? argv[optind - 1]
                     : prev < argc                        ? argv[prev]
                                                          : "?";
  if (c == ':') {
    txf_cli_usage_error(cmd, "option '%s' requires a value", word);
    return '?';
  }
  char name[128];
  if (optopt && !(word[0] == '-' && word[1] == '-')) {
    snprintf(name, sizeof name, "-%c", optopt);
  } else {
    const char *eq = strchr(word, '=');
    size_t l = eq ? (size_t)(eq - word) : strlen(word);
    if (l >= sizeof name)
      l = sizeof name - 1;
    memcpy(name, word, l);
    name[l] = '\0';
  }
  /* Closest long option, for "did you mean". */
  const char *cands[64];
  char bufs[64][64];
  size_t n = 0;
  for (const struct option *o = longopts; o && o->name && n < 64; o++, n++) {
    snprintf(bufs[n], sizeof bufs[n], "--%s", o->name);
    cands[n] = bufs[n];
    /* getopt says '?' for "--json=1" when --json takes no value */
    if (word[0] == '-' && word[1] == '-' && strchr(word, '=') &&
        o->has_arg == no_argument && !strcmp(name, bufs[n])) {
      txf_cli_usage_error(cmd, "option '%s' does not take a value", name);
      return '?';
    }
  }
  const char *close = txf_str_closest(name, cands, n);
  if (close)
    txf_cli_usage_error(cmd, "unknown option '%s' (did you mean '%s'?)", name,
                        close);
  else
    txf_cli_usage_error(cmd, "unknown option '%s'", name);
  return '?';
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
