/* txnflow serve: the read-only governance dashboard. */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "serve/serve.h"

TXF_COMMAND(serve, "web dashboard: runs, quality, lineage, lake, business");

static const char usage[] =
    "usage: txnflow serve [--port N] [--bind ADDR] [--allow-remote]\n"
    "                     [--host NAMES] [--data DIR] [--threads N]\n"
    "\n"
    "Serve the dashboard (runs, data quality, lineage, lake, business) and\n"
    "its JSON API under /api/ until interrupted (Ctrl-C or SIGTERM). It is\n"
    "read-only and reads the metadata database, the warehouse, the models'\n"
    "manifest and the lake; everything it shows is embedded in the binary.\n"
    "\n"
    "It listens on 127.0.0.1 only, and answers only requests for the host\n"
    "names localhost and 127.0.0.1 (and --host NAMES), so a web page\n"
    "elsewhere cannot read it through a DNS name of its own. Another\n"
    "address needs --allow-remote and a token of at least 16 characters,\n"
    "best given as TXNFLOW_SERVE_TOKEN in the environment (--token shows\n"
    "in the process list); clients then send 'Authorization: Bearer TOKEN'\n"
    "or open the dashboard once with ?token=TOKEN. It speaks plain HTTP:\n"
    "beyond this machine, put a TLS proxy in front.\n"
    "\n"
    "Options:\n"
    "  --port N         TCP port (default 8080; 0 picks a free one)\n"
    "  --bind ADDR      address to listen on (default 127.0.0.1)\n"
    "  --allow-remote   allow a non-loopback --bind\n"
    "  --host NAMES     also answer to these host names (comma-separated),\n"
    "                   e.g. the name clients use to reach --bind\n"
    "  --token T        require this token on every request (prefer\n"
    "                   TXNFLOW_SERVE_TOKEN: an argument shows in ps)\n"
    "  --data DIR       data directory (default: the project's)\n"
    "  --threads N      worker threads (default 4)\n"
    "  -h, --help       show this help\n"
    "\n"
    "Example:\n"
    "  txnflow -C demo-project serve   # then open http://127.0.0.1:8080\n";

int cmd_serve(int argc, char **argv, txf_ctx *ctx) {
  txf_serve_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.bind = "127.0.0.1";
  cfg.port = 8080;
  const char *data_opt = NULL;
  const txf_cli_option opts[] = {
      TXF_OPT_UINT(0, "port", &cfg.port, "N", 0, 65535, "a port"),
      TXF_OPT_STRING(0, "bind", &cfg.bind, "ADDR"),
      TXF_OPT_FLAG(0, "allow-remote", &cfg.allow_remote),
      TXF_OPT_STRING(0, "host", &cfg.hosts, "NAMES"),
      TXF_OPT_STRING(0, "token", &cfg.token, "T"),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_UINT(0, "threads", &cfg.threads, "N", 1, 64, "1..64"),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("serve", usage, opts, TXF_CLI_NO_OPERANDS,
                                 &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  const char *env_token = getenv("TXNFLOW_SERVE_TOKEN");
  char *arg_token = NULL;
  if (cfg.token) {
    /* Anyone who can list processes sees the arguments: say so, and blank
     * it in ours at least from now on. */
    fprintf(stderr, "txnflow serve: warning: --token shows the token to "
                    "anyone who can list processes (ps); set "
                    "TXNFLOW_SERVE_TOKEN instead\n");
    arg_token = txf_xstrdup(cfg.token);
    memset((char *)cfg.token, 'x', strlen(cfg.token));
    cfg.token = arg_token;
  } else if (env_token && *env_token) {
    cfg.token = env_token;
  }
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL;
  if (txf_ctx_data_dir(ctx, data_opt, &data, &err)) {
    free(arg_token);
    return txf_cli_fail("serve", &err);
  }
  txf_project *p = NULL;
  txf_serve_dashboard *dash = NULL;
  txf_project_retention retention;
  if (txf_ctx_project(ctx, &p, &err) == 0) {
    cfg.project_dir = p->dir;
    cfg.project_name = p->name;
    cfg.timezone = p->timezone;
    /* A mistake in the charts is reported now, with its line. */
    if (txf_serve_dashboard_load(&dash, p->doc, &err)) {
      free(data);
      free(arg_token);
      return txf_cli_fail("serve", &err);
    }
    cfg.dashboard = dash;
    /* the Lake page says when card files go: a bad retention: now too */
    if (txf_project_retention_read(&retention, p, &err)) {
      free(data);
      free(arg_token);
      txf_serve_dashboard_free(dash);
      return txf_cli_fail("serve", &err);
    }
    cfg.retention = &retention;
  }
  txf_err_clear(&err);
  cfg.data_dir = data;

  /* Wait for SIGINT/SIGTERM with sigwait: block them before the server's
   * threads start so they inherit the mask and no handler is needed. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* Each API answer builds and frees a few hundred KB of JSON on a worker
   * thread. With glibc's defaults every free at the top of a thread's heap
   * gives the pages back and the next request faults them in again, which
   * cost more than the queries (bench/b60-serve.sh: the year of runs went
   * from 17 to 8.5 ms of CPU). Keep up to 64 MiB around instead; big
   * answers come from the heap, not from mmap/munmap each time. */
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  txf_serve *s = NULL;
  int rc = txf_serve_start(&s, &cfg, &err);
  if (rc) {
    free(data);
    free(arg_token);
    txf_serve_dashboard_free(dash);
    if (rc == TXF_EUSAGE)
      return txf_cli_usage_error("serve", "%s", err.msg);
    return txf_cli_fail("serve", &err);
  }
  if (!txf_serve_is_loopback(cfg.bind))
    fprintf(stderr, "txnflow serve: warning: serving beyond this machine "
                    "without TLS: the token and every answer cross the "
                    "network in clear text; put a TLS proxy in front "
                    "(docs/serve.md)\n");
  const char *host = cfg.bind;
  int v6 = strchr(host, ':') != NULL;
  printf("txnflow serve: http://%s%s%s:%u/ (data %s; Ctrl-C to stop)\n",
         v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)txf_serve_port(s),
         data);
  fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  txf_log_info(&ctx->log, "txnflow serve: stopping (signal %d)", sig);
  txf_serve_stop(s);
  txf_serve_dashboard_free(dash);
  free(data);
  free(arg_token);
  return TXF_EXIT_OK;
}
