/* txnflow init: scaffold a project. */
#include <stdlib.h>

#include "cli/cli.h"

TXF_COMMAND(init, "scaffold a new project in DIR");

static const char usage[] =
    "usage: txnflow init [--name NAME] [--empty] DIR\n"
    "\n"
    "Create a txnflow project in DIR (which must not exist or be empty):\n"
    "txnflow.yml (name, time zone, data dir, feed, schedule, SLA),\n"
    "profiles.yml (an embedded DuckDB target), and the default analytics\n"
    "project, ready to run: models/ (9 models: staging, core, marts),\n"
    "seeds/ (MCC codes, FX rates), tests/ (4 singular tests) and macros/\n"
    "(docs/analytics.md). --empty leaves those four folders empty. The\n"
    "project is written aside and renamed into place, so it appears whole\n"
    "or not at all.\n"
    "\n"
    "Options:\n"
    "  --name NAME   project and profile name (default: DIR's name)\n"
    "  --empty       only txnflow.yml and profiles.yml; empty models/,\n"
    "                seeds/, tests/, macros/ for your own\n"
    "  -h, --help    show this help\n"
    "\n"
    "Example:\n"
    "  txnflow init cards && cd cards && txnflow demo\n"
    "  txnflow init --empty mine\n";

int cmd_init(int argc, char **argv, txf_ctx *ctx) {
  const char *name = NULL;
  int empty = 0;
  const txf_cli_option opts[] = {TXF_OPT_STRING(0, "name", &name, "NAME"),
                                 TXF_OPT_FLAG(0, "empty", &empty),
                                 TXF_OPT_END};
  int ec = txf_cli_options_parse("init", usage, opts, 0, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (argc != 1)
    return txf_cli_usage_error("init", argc == 0 ? "missing project directory"
                                                 : "too many arguments");
  char *dir = txf_path_abs(ctx->cwd, argv[0]);
  txf_err err;
  txf_err_clear(&err);
  int rc = txf_project_init(dir, name, empty, &err);
  if (rc) {
    free(dir);
    return txf_cli_fail("init", &err);
  }
  /* Create the data dir and its metadata database now, so every other
   * command finds a complete project. */
  txf_project *p = NULL;
  txf_store *st = NULL;
  rc = txf_project_load(&p, dir, &err);
  if (!rc)
    rc = txf_ctx_open_store(ctx, p->data_dir, &st, &err);
  txf_store_close(st);
  txf_project_free(p);
  if (rc) {
    free(dir);
    return txf_cli_fail("init", &err);
  }
  printf("Created project in %s\n"
         "Next: cd %s && txnflow demo   (or: txnflow run --date YYYY-MM-DD)\n",
         dir, argv[0]);
  free(dir);
  return TXF_EXIT_OK;
}
