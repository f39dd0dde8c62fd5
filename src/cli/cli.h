/* cli: the command line. Each subcommand lives in cmd_<name>.c and is
 * declared there with TXF_COMMAND(name, "summary"); the build collects
 * those lines into the dispatch table in src/main.c. Only this layer prints
 * errors and chooses exit statuses. */
#ifndef TXF_CLI_H
#define TXF_CLI_H

#include "metadata/metadata.h"
#include "project/project.h"
#include "util/util.h"


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
/* The time zone of the project in the working directory; Asia/Seoul, the
 * project's own default, without one or when it does not load (a command
 * that needs the project reports that itself). Borrowed from CTX. */
const char *txf_ctx_timezone(txf_ctx *ctx);
/* The data dir: DATA_OPT (made absolute) when given, else the project's.
 * Caller frees *out. */
TXF_MUST_CHECK int txf_ctx_data_dir(txf_ctx *ctx, const char *data_opt,
                                    char **out, txf_err *err);
/* The project's feed: section (txf_feed_config_read), zeroed when there
 * is no project; caller releases with txf_feed_config_release(). */
struct txf_feed_config;
TXF_MUST_CHECK int txf_ctx_feed(txf_ctx *ctx, struct txf_feed_config *out,
                                txf_err *err);
/* Open DATA_DIR/txnflow.db (created when missing). */
TXF_MUST_CHECK int txf_ctx_open_store(txf_ctx *ctx, const char *data_dir,
                                      txf_store **out, txf_err *err);

/* The data dir (txf_ctx_data_dir) and its metadata store
 * (txf_ctx_open_store). The caller frees *DATA and closes *STORE in every
 * case (NULL when not reached). */
TXF_MUST_CHECK int txf_ctx_data_store(txf_ctx *ctx, const char *data_opt,
                                      char **data, txf_store **store,
                                      txf_err *err);
/* What a command over the lake opens, in this order: the data dir
 * (txf_ctx_data_dir), the time zone (*TZ when set, else the project's),
 * the project's feed: section (txf_ctx_feed) and the metadata store.
 * Stops at the first failure; the caller frees *DATA, releases *FEED and
 * closes *STORE in every case (each is NULL or zeroed when not reached). */
TXF_MUST_CHECK int txf_ctx_lake(txf_ctx *ctx, const char *data_opt,
                                const char **tz, char **data,
                                struct txf_feed_config *feed, txf_store **store,
                                txf_err *err);

/* A command's REPORT (JSON text, or NULL after a failure): with JSON,
 * printed as it is and NULL returned; else the parsed object for the
 * caller's sentence (caller json_decref()s it). */
struct json_t;
struct json_t *txf_cli_report(const char *report, int json);

/* Print "txnflow CMD: error: MSG" and return TXF_EXIT_PERMANENT when
 * the error would recur on a retry (txf_err_permanent), else
 * TXF_EXIT_FAIL. */
int txf_cli_fail(const char *cmd, const txf_err *err);
/* Print "txnflow CMD: FMT" plus a hint to run --help; return
 * TXF_EXIT_USAGE. */
int txf_cli_usage_error(const char *cmd, const char *fmt, ...)
    TXF_PRINTF(2, 3);

/* Print "unknown subcommand 'SUB' (did you mean 'X'?)" for command CMD
 * whose subcommands are SUBS[0..N-1]; return TXF_EXIT_USAGE. */
int txf_cli_unknown_subcommand(const char *cmd, const char *sub,
                               const char *const *subs, size_t n);

/* Print USAGE to stdout and return TXF_EXIT_OK (for --help). */
int txf_cli_help(const char *usage);

/* Parse "YYYY-MM-DD" for option OPT; prints a usage error on failure and
 * returns TXF_EXIT_USAGE, else 0. */
int txf_cli_parse_date(const char *cmd, const char *opt, const char *s,
                       txf_date *out);

/* ---------------------------------------------------------------- load */

/* What `txnflow load` was asked (cmd_load.c). */
typedef struct txf_cli_load_args {
  const char *target;    /* --target T, or NULL: the load section's */
  const char *data_dir;  /* --data DIR, or NULL: the project's */
  int print_sql;         /* print the SQL (or the plan) only */
  int dry_run;           /* plan in the summary; change nothing */
  int json;
  const char *json_wrap; /* NULL, or the key the --json report goes under
                            ("warehouse" for publish --only warehouse) */
} txf_cli_load_args;

/* Run the warehouse load as command CMD ("load", or "publish" for
 * `publish --only warehouse`, its older name): print the summary, or the
 * error as CMD's. Returns the exit status. */
int txf_cli_load(txf_ctx *ctx, const char *cmd, const txf_cli_load_args *a);

/* ---------------------------------------------------------------- options
 *
 * A command declares its options as a table and parses argv with one call
 * (options.c; git's parse-options is the model):
 *
 *   int json = 0;
 *   uint64_t threads = 2;
 *   const char *data = NULL;
 *   const txf_cli_option opts[] = {
 *       TXF_OPT_STRING(0, "data", &data, "DIR"),
 *       TXF_OPT_FLAG(0, "json", &json),
 *       TXF_OPT_UINT(0, "threads", &threads, "N", 1, 8, "1..8"),
 *       TXF_OPT_END};
 *   int ec = txf_cli_options_parse("clean", usage, opts, TXF_CLI_NO_OPERANDS,
 *                                  &argc, argv);
 *   if (ec != TXF_CLI_GO_ON)
 *     return ec;
 *
 * Every table also knows -h/--help. A value that does not parse is a usage
 * error naming the option: "--threads: '9' is not 1..8". */

typedef struct txf_cli_option txf_cli_option;

/* A callback option's parser: store ARG (the value; NULL when the option
 * takes none) through O->value. Returns 0, or the exit status after
 * printing a usage error with txf_cli_usage_error(CMD, ...). */
typedef int (*txf_cli_option_fn)(const char *cmd, const txf_cli_option *o,
                                 const char *arg);

typedef enum txf_cli_option_kind {
  TXF_CLI_OPT_END,      /* ends a table */
  TXF_CLI_OPT_FLAG,     /* int: set to 1 */
  TXF_CLI_OPT_STRING,   /* const char *: the value, borrowed from argv */
  TXF_CLI_OPT_UINT,     /* an integer of any width: MIN..MAX */
  TXF_CLI_OPT_DATE,     /* txf_date: YYYY-MM-DD */
  TXF_CLI_OPT_TIME,     /* int64_t: ISO 8601 with offset, UTC microseconds */
  TXF_CLI_OPT_CHOICE,   /* an integer of any width: the value of a name */
  TXF_CLI_OPT_CALLBACK, /* FN parses the value */
} txf_cli_option_kind;

/* One name of a TXF_CLI_OPT_CHOICE option; a list ends with {NULL, 0}. */
typedef struct txf_cli_choice {
  const char *name;
  int value;
} txf_cli_choice;

struct txf_cli_option {
  txf_cli_option_kind kind;
  char short_name;       /* -x, or 0 */
  const char *long_name; /* --name (without the dashes) */
  void *value;           /* where the value goes; its type is the kind's */
  const char *argh;      /* the value's name in the usage text ("N",
                            "DIR"); NULL: the option takes no value */
  int *given;            /* set to 1 when the option is given; or NULL */
  size_t size;           /* UINT, CHOICE: sizeof the destination */
  uint64_t min, max;     /* UINT: accepted range */
  const char *what;      /* UINT: "--NAME: 'VALUE' is not WHAT" */
  const txf_cli_choice *choices; /* CHOICE */
  txf_cli_option_fn fn;  /* CALLBACK */
};

/* The table entries. V is the destination; the macros check its type
 * where it has one. An unsigned integer is stored in whatever integer V
 * points to, so MAX must fit it. */
#define TXF_OPT_TYPED_(T, v) (1 ? (v) : (T *)0)
#define TXF_OPT_FLAG(s, l, v)                                                \
  {.kind = TXF_CLI_OPT_FLAG, .short_name = (s), .long_name = (l),          \
   .value = TXF_OPT_TYPED_(int, v)}
#define TXF_OPT_STRING(s, l, v, a)                                           \
  {.kind = TXF_CLI_OPT_STRING, .short_name = (s), .long_name = (l),        \
   .value = TXF_OPT_TYPED_(const char *, v), .argh = (a)}
#define TXF_OPT_UINT(s, l, v, a, lo, hi, w)                                  \
  {.kind = TXF_CLI_OPT_UINT, .short_name = (s), .long_name = (l),          \
   .value = (v), .argh = (a), .size = sizeof *(v), .min = (lo),            \
   .max = (hi), .what = (w)}
#define TXF_OPT_DATE(s, l, v, a, given_)                                     \
  {.kind = TXF_CLI_OPT_DATE, .short_name = (s), .long_name = (l),          \
   .value = TXF_OPT_TYPED_(txf_date, v), .argh = (a), .given = (given_)}
#define TXF_OPT_TIME(s, l, v, a)                                             \
  {.kind = TXF_CLI_OPT_TIME, .short_name = (s), .long_name = (l),          \
   .value = TXF_OPT_TYPED_(int64_t, v), .argh = (a)}
#define TXF_OPT_CHOICE(s, l, v, a, ch)                                       \
  {.kind = TXF_CLI_OPT_CHOICE, .short_name = (s), .long_name = (l),        \
   .value = (v), .argh = (a), .size = sizeof *(v), .choices = (ch)}
#define TXF_OPT_CALLBACK(s, l, v, a, f)                                      \
  {.kind = TXF_CLI_OPT_CALLBACK, .short_name = (s), .long_name = (l),      \
   .value = (v), .argh = (a), .fn = (f)}
#define TXF_OPT_END {.kind = TXF_CLI_OPT_END}

enum {
  TXF_CLI_GO_ON = -1,          /* txf_cli_options_parse: carry on */
  TXF_CLI_NO_OPERANDS = 1 << 0 /* an operand is a usage error */
};

/* Parse the options of command CMD (as named in messages: "clean",
 * "lineage export") in ARGV[1..*ARGC-1] (ARGV[0] is the command's name)
 * by the table OPTS, in order, storing each value as its entry says.
 * Options may come after operands; "--" ends them; long names may be
 * abbreviated while unambiguous (getopt_long). -h/--help prints USAGE.
 * Returns TXF_CLI_GO_ON with the operands, in order, moved to
 * ARGV[0..*ARGC-1] (*ARGC their number); or the exit status to return:
 * TXF_EXIT_OK after --help, TXF_EXIT_USAGE after a usage error, already
 * printed: an unknown option (naming the closest known one), a missing
 * value, a value given to a flag, a value that does not parse, or, with
 * TXF_CLI_NO_OPERANDS in FLAGS, an operand. Destinations of options not
 * given are left alone, so they hold the defaults. */
TXF_MUST_CHECK int txf_cli_options_parse(const char *cmd, const char *usage,
                                         const txf_cli_option *opts,
                                         unsigned flags, int *argc,
                                         char **argv);
/* txf_cli_options_parse() for a command with subcommands, then the
 * subcommand ARGV[0], one of the NULL-terminated SUBS: its index in *WHICH
 * and TXF_CLI_GO_ON; with none, "missing subcommand (a, b)", with
 * another, txf_cli_unknown_subcommand(), and with TXF_CLI_NO_OPERANDS in
 * FLAGS, an operand after it — the usage error's exit status. */
TXF_MUST_CHECK int txf_cli_subcommand_parse(const char *cmd, const char *usage,
                                            const txf_cli_option *opts,
                                            const char *const *subs,
                                            unsigned flags, size_t *which,
                                            int *argc, char **argv);

#endif /* TXF_CLI_H */
