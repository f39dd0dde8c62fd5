/* cli: the command line. Each subcommand lives in cmd_<name>.c and is
 * declared there with TXF_COMMAND(name, "summary"); the build collects
 * those lines into the dispatch table in src/main.c. Only this layer prints
 * errors and chooses exit statuses. */
#ifndef TXF_CLI_H
#define TXF_CLI_H

#include <getopt.h>

#include "metadata/metadata.h"
#include "project/project.h"
#include "util/util.h"

enum { TXF_EXIT_OK = 0, TXF_EXIT_FAIL = 1, TXF_EXIT_USAGE = 2 };

/* What every command gets. No globals: config, paths, logger and clock
 * travel here. */
typedef struct txf_ctx {
  const char *prog;     /* "txnflow" */
  char *cwd;            /* absolute working directory (after -C) */
  char *exe;            /* absolute path of this binary, to spawn tasks */
  txf_logger log;       /* stderr, level from TXNFLOW_LOG_LEVEL (default info) */
  int stdout_tty;       /* human output may use color */
  int stderr_tty;
  int64_t pinned_now_us; /* TXNFLOW_NOW, for tests; 0 = real clock */
  txf_project *project; /* loaded on first use by txf_ctx_project() */
} txf_ctx;

typedef int (*txf_command_fn)(int argc, char **argv, txf_ctx *ctx);

typedef struct txf_command {
  const char *name;
  txf_command_fn fn;
  const char *summary;
} txf_command;

/* Declare a subcommand. Write it at the start of a line in cmd_NAME.c. */
#define TXF_COMMAND(name, summary)                                           \
  int cmd_##name(int argc, char **argv, txf_ctx *ctx);                       \
  const txf_command txf_command_##name = {#name, cmd_##name, summary}

/* "Now" for this command: the pinned clock if set, else the wall clock. */
int64_t txf_ctx_now(const txf_ctx *ctx);
/* The project in the working directory, loaded once. */
TXF_MUST_CHECK int txf_ctx_project(txf_ctx *ctx, txf_project **out,
                                   txf_err *err);
/* The data dir: DATA_OPT (made absolute) when given, else the project's.
 * Caller frees *out. */
TXF_MUST_CHECK int txf_ctx_data_dir(txf_ctx *ctx, const char *data_opt,
                                    char **out, txf_err *err);
/* Open DATA_DIR/txnflow.db (created when missing). */
TXF_MUST_CHECK int txf_ctx_open_store(txf_ctx *ctx, const char *data_dir,
                                      txf_store **out, txf_err *err);

/* Print "txnflow CMD: error: MSG" and return TXF_EXIT_FAIL. */
int txf_cli_fail(const char *cmd, const txf_err *err);
/* Print "txnflow CMD: FMT" plus a hint to run --help; return
 * TXF_EXIT_USAGE. */
int txf_cli_usage_error(const char *cmd, const char *fmt, ...)
    TXF_PRINTF(2, 3);

/* Option parsing on getopt_long. Call txf_cli_getopt in a loop like
 * getopt_long; it returns -1 at the end, the option's value otherwise, and
 * '?' after printing a usage error for an unknown option (naming the
 * closest known one) or a missing argument — then return TXF_EXIT_USAGE.
 * "--help"/"-h" should be in LONGOPTS with val 'h'. SHORTOPTS must start
 * with ':'. Options may come after operands. */
int txf_cli_getopt(const char *cmd, int argc, char **argv,
                   const char *shortopts, const struct option *longopts);
/* Print "unknown subcommand 'SUB' (did you mean 'X'?)" for command CMD
 * whose subcommands are SUBS[0..N-1]; return TXF_EXIT_USAGE. */
int txf_cli_unknown_subcommand(const char *cmd, const char *sub,
                               const char *const *subs, size_t n);
/* Reset getopt before parsing a new argv. */
void txf_cli_getopt_reset(void);

/* Print USAGE to stdout and return TXF_EXIT_OK (for --help). */
int txf_cli_help(const char *usage);

/* Parse "YYYY-MM-DD" for option OPT; prints a usage error on failure and
 * returns TXF_EXIT_USAGE, else 0. */
int txf_cli_parse_date(const char *cmd, const char *opt, const char *s,
                       txf_date *out);

#endif /* TXF_CLI_H */
