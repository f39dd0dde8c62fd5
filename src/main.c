/* txnflow: the command table and global options; nothing else. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#ifndef TXF_VERSION
#define TXF_VERSION "0.1.0"
#endif

/* Generated from the TXF_COMMAND(...) lines in src/cli/cmd_*.c. */
#define X(n) extern const txf_command txf_command_##n;
#include "commands.inc"
#undef X

static const txf_command *const commands[] = {
#define X(n) &txf_command_##n,
#include "commands.inc"
#undef X
};

static const char usage[] =
    "usage: txnflow [-C DIR] [--version] [--help] COMMAND [ARGS]\n"
    "\n"
    "Batch ETL for card transactions: bronze CSV -> silver Parquet lake ->\n"
    "SQL models, on a daily schedule, with data tests and lineage.\n"
    "\n"
    "Global options:\n"
    "  -C DIR        run as if started in DIR\n"
    "  --version     print the version and exit\n"
    "  -h, --help    print this help (or 'txnflow COMMAND --help')\n"
    "\n"
    "Commands:\n";

/* A command's name as typed: an identifier's '_' is a '-' (scan_pans is
 * `txnflow scan-pans`). Into BUF of N bytes. */
static const char *typed_name(const char *name, char *buf, size_t n) {
  snprintf(buf, n, "%s", name);
  for (char *p = buf; *p; p++)
    if (*p == '_')
      *p = '-';
  return buf;
}

static void print_usage(FILE *out) {
  fputs(usage, out);
  char nb[64];
  for (size_t i = 0; i < TXF_ARRAY_LEN(commands); i++)
    fprintf(out, "  %-12s  %s\n", typed_name(commands[i]->name, nb, sizeof nb),
            commands[i]->summary);
  fputs("\nEnvironment: TXNFLOW_LOG_LEVEL=error|warn|info|debug (default "
        "info);\nall variables: docs/project.md.\n"
        "\nExit status: 0 success, 1 failure, 2 usage error.\n"
        "Start with: txnflow init myproject && cd myproject && "
        "txnflow demo\n",
        out);
}

static const txf_command *find(const char *name) {
  char nb[64];
  for (size_t i = 0; i < TXF_ARRAY_LEN(commands); i++)
    if (strcmp(typed_name(commands[i]->name, nb, sizeof nb), name) == 0)
      return commands[i];
  return NULL;
}

static int unknown_command(const char *name) {
  const char *names[TXF_ARRAY_LEN(commands) + 1];
  char typed[TXF_ARRAY_LEN(commands)][64];
  for (size_t i = 0; i < TXF_ARRAY_LEN(commands); i++)
    names[i] = typed_name(commands[i]->name, typed[i], sizeof typed[i]);
  const char *close = txf_str_closest(name, names, TXF_ARRAY_LEN(commands));
  if (close)
    fprintf(stderr,
            "txnflow: '%s' is not a txnflow command (did you mean '%s'?)\n",
            name, close);
  else
    fprintf(stderr, "txnflow: '%s' is not a txnflow command\n", name);
  fprintf(stderr, "See 'txnflow --help'.\n");
  return TXF_EXIT_USAGE;
}

/* TXNFLOW_LOG_LEVEL: error, warn, info (default) or debug. Task children
 * inherit it. (TXNFLOW_LOG is something else: the orchestrator sets it to
 * the attempt's log file for task commands and alerts.) -1 when unknown. */
static int log_level_from_env(void) {
  const char *s = getenv("TXNFLOW_LOG_LEVEL");
  if (!s || !*s || !strcmp(s, "info"))
    return TXF_LOG_INFO;
  if (!strcmp(s, "error"))
    return TXF_LOG_ERROR;
  if (!strcmp(s, "warn"))
    return TXF_LOG_WARN;
  if (!strcmp(s, "debug"))
    return TXF_LOG_DEBUG;
  return -1;
}

int main(int argc, char **argv) {
  int i = 1;
  const char *chdir_to = NULL;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      print_usage(stdout);
      return TXF_EXIT_OK;
    } else if (!strcmp(a, "--version")) {
      printf("txnflow %s\n", TXF_VERSION);
      return TXF_EXIT_OK;
    } else if (!strcmp(a, "-C")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "txnflow: option '-C' requires a directory\n");
        return TXF_EXIT_USAGE;
      }
      chdir_to = argv[++i];
      if (chdir(chdir_to) != 0) {
        fprintf(stderr, "txnflow: cannot change to '%s': %m\n", chdir_to);
        return TXF_EXIT_FAIL;
      }
    } else {
      const char *known[] = {"--help", "--version", "-C"};
      const char *close = txf_str_closest(a, known, TXF_ARRAY_LEN(known));
      if (close)
        fprintf(stderr,
                "txnflow: unknown option '%s' (did you mean '%s'?)\n", a,
                close);
      else
        fprintf(stderr, "txnflow: unknown option '%s'\n", a);
      fprintf(stderr, "See 'txnflow --help'.\n");
      return TXF_EXIT_USAGE;
    }
  }
  if (i >= argc) {
    print_usage(stderr);
    return TXF_EXIT_USAGE;
  }
  const char *name = argv[i];
  const txf_command *cmd = find(name);
  if (!cmd)
    return unknown_command(name);

  txf_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.prog = "txnflow";
  char buf[PATH_MAX];
  ctx.cwd = txf_xstrdup(getcwd(buf, sizeof buf) ? buf : ".");
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  ctx.exe = txf_xstrdup(n > 0 ? (buf[n] = '\0', buf) : argv[0]);
  ctx.log.level = log_level_from_env();
  if (ctx.log.level < 0) {
    fprintf(stderr, "txnflow: TXNFLOW_LOG_LEVEL='%s' is not one of error, "
                    "warn, info, debug\n",
            getenv("TXNFLOW_LOG_LEVEL"));
    free(ctx.cwd);
    free(ctx.exe);
    return TXF_EXIT_USAGE;
  }
  ctx.log.out = stderr;
  ctx.stdout_tty = isatty(STDOUT_FILENO);
  ctx.stderr_tty = isatty(STDERR_FILENO);
  const char *now = getenv("TXNFLOW_NOW");
  if (now && *now && txf_ts_parse(now, SIZE_MAX, &ctx.pinned_now_us, NULL)) {
    fprintf(stderr, "txnflow: TXNFLOW_NOW='%s' is not an ISO 8601 "
                    "timestamp with offset\n", now);
    return TXF_EXIT_USAGE;
  }
  int rc = cmd->fn(argc - i, argv + i, &ctx);
  txf_project_free(ctx.project);
  free(ctx.cwd);
  free(ctx.exe);
  return rc;
}
