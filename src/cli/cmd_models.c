/* txnflow models: the dbt-style model runner. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/clean.h"
#include "cli/cli.h"
#include "models/models.h"

TXF_COMMAND(models, "build SQL models, seeds and data tests (dbt-style)");

static const char usage[] =
    "usage: txnflow models compile|run|test|build|seed|snapshot|ls|docs\n"
    "                      [--select SEL] [--exclude SEL] [--target T]\n"
    "                      [--vars YAML] [--threads N] [--full-refresh]\n"
    "                      [--full-audit] [--incremental] [--state DIR]\n"
    "                      [--profiles-dir DIR] [--data DIR] [--quiet | "
    "--json]\n"
    "                      [--target-path DIR] [--as-of VERSION|TIMESTAMP|RUN]"
    "\n"
    "\n"
    "Run the project's SQL models on the warehouse (DuckDB, or a PostgreSQL\n"
    "or Redshift target of profiles.yml), dbt-style:\n"
    "  compile  render models and tests to target/compiled/ (no\n"
    "           warehouse needed: with --full-refresh or --incremental,\n"
    "           or when every incremental model is kept by change)\n"
    "  run      build the selected models\n"
    "  test     run the selected data tests on the published relations,\n"
    "           and unit tests\n"
    "  build    seeds and models in order, each audited before it is\n"
    "           published (write-audit-publish), then its warn tests\n"
    "  seed     load seeds/*.csv into tables\n"
    "  snapshot build the snapshots (snapshots/*.sql): history of rows\n"
    "           as they change (dbt's type-2 tables)\n"
    "  ls       list the selected nodes\n"
    "  docs     write target/manifest.json and the lineage graph\n"
    "           (target/lineage.dot, target/lineage.html)\n"
    "\n"
    "Options:\n"
    "  -s, --select SEL      nodes to run, dbt's syntax: name, +name (and\n"
    "                        ancestors), name+ (and descendants), 2+name,\n"
    "                        @name, tag:x, path:dir, source:s+,\n"
    "                        test_type:unit, globs; 'a b' is a union,\n"
    "                        'a,b' an intersection (docs/models.md)\n"
    "      --exclude SEL     nodes to leave out (same syntax)\n"
    "      --state DIR       the target/ of an earlier build (its\n"
    "                        manifest.json), for state:modified, state:new\n"
    "                        (default: $DBT_STATE, as dbt)\n"
    "  -t, --target T        the profiles.yml target (default: the "
    "profile's)\n"
    "      --vars YAML       variables, e.g. '{run_date: \"2025-09-11\"}'\n"
    "      --threads N       models built at once (default: the target's\n"
    "                        threads: in profiles.yml, else 1)\n"
    "      --full-refresh    rebuild incremental models from scratch\n"
    "      --full-audit      build: test whole relations, not only the rows\n"
    "                        a build by change wrote, and run the tests\n"
    "                        configured audit='full' (docs/models.md)\n"
    "      --incremental     compile: render incremental models as a build\n"
    "                        that keeps them does (is_incremental() true,\n"
    "                        changes() the change it applies)\n"
    "      --profiles-dir D  where profiles.yml is (before the project dir\n"
    "                        and ~/.dbt)\n"
    "      --data DIR        data directory (default: the project's)\n"
    "      --target-path DIR the artifacts (manifest.json, run_results.json,\n"
    "                        compiled/) go to DIR instead of target/\n"
    "      --as-of V         build, run: rebuild the models as of lake\n"
    "                        version V (a number, a timestamp with an offset\n"
    "                        or a clean's run id, as sql --as-of) into a\n"
    "                        separate DuckDB file, DIR/warehouse.duckdb of\n"
    "                        --target-path DIR (required), every model from\n"
    "                        scratch; DIR/lake holds links to the version's\n"
    "                        files. The project's warehouse, metadata and\n"
    "                        target/ are not touched. Give the --vars that\n"
    "                        run used (run_date) to reproduce its marts\n"
    "  -q, --quiet           build, run, seed, test: print only errors,\n"
    "                        failing tests (with their rows) and the summary\n"
    "      --json            build, run, seed, test: one JSON object per line\n"
    "                        and event (start, end, test, done) instead of\n"
    "                        the lines; ls: JSON output\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 all built and tests passed; 4 a model failed to compile\n"
    "or to build (a SQL error) or an error-severity test failed: permanent,\n"
    "a retry fails the same way; 1 a failure a retry may mend (I/O, a lock);\n"
    "2 usage error.\n"
    "\n"
    "Example:\n"
    "  txnflow models build --vars '{run_date: \"2025-09-11\", dates: "
    "[\"2025-09-11\"]}'\n"
    "  txnflow models build --as-of 5 --target-path asof5 --vars "
    "'{run_date: \"2025-09-05\"}'\n";

/* --select/--exclude SEL, repeatable: O->value is a txf_buf of
 * space-separated selectors. */
static int add_selector(const char *cmd, const txf_cli_option *o,
                        const char *arg) {
  (void)cmd;
  (void)txf_buf_printf(o->value, "%s ", arg);
  return 0;
}

/* The subcommands, in the order suggestions weigh them. BUILD is set for
 * those that build or test: they connect first (an unreachable warehouse
 * is one error, not one per model), record what they do in the metadata
 * store and end with a summary line. */
static const struct {
  const char *name;
  int (*build)(txf_models *m, txf_models_summary *s, txf_err *err);
} subs[] = {{"compile", NULL},
            {"run", txf_models_run},
            {"test", txf_models_test},
            {"build", txf_models_build},
            {"seed", txf_models_seed},
            {"snapshot", txf_models_snapshot},
            {"ls", NULL},
            {"docs", NULL}};

/* --json: the summary as the last event. */
static void print_done(const txf_models_summary *s, int64_t elapsed_us) {
  char ts[40];
  txf_ts_format(txf_wall_us(), 0, 1, ts);
  json_t *ev = json_pack(
      "{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f}", "event", "done",
      "ts", ts, "ok", s->n_ok, "error", s->n_error, "skipped", s->n_skipped,
      "pass", s->n_pass, "warn", s->n_warn, "fail", s->n_fail, "test_error",
      s->n_test_error, "elapsed_s", (double)elapsed_us / 1e6);
  char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
  printf("%s\n", text);
  free(text);
  json_decref(ev);
}

int cmd_models(int argc, char **argv, txf_ctx *ctx) {
  txf_models_opts mo;
  memset(&mo, 0, sizeof mo);
  const char *data_opt = NULL, *profiles = NULL, *state = NULL;
  const char *target_path = NULL, *as_of = NULL;
  int json = 0;
  txf_buf sel, exc;
  txf_buf_init(&sel, 1 << 16);
  txf_buf_init(&exc, 1 << 16);
  const txf_cli_option opts[] = {
      TXF_OPT_CALLBACK('s', "select", &sel, "SEL", add_selector),
      TXF_OPT_CALLBACK(0, "models", &sel, "SEL", add_selector),
      TXF_OPT_CALLBACK(0, "exclude", &exc, "SEL", add_selector),
      TXF_OPT_STRING('t', "target", &mo.target, "T"),
      TXF_OPT_STRING(0, "vars", &mo.vars, "YAML"),
      TXF_OPT_UINT(0, "threads", &mo.threads, "N", 1, 64, "a number 1..64"),
      TXF_OPT_FLAG(0, "full-refresh", &mo.full_refresh),
      TXF_OPT_FLAG(0, "full-audit", &mo.full_audit),
      TXF_OPT_FLAG(0, "incremental", &mo.incremental),
      TXF_OPT_STRING(0, "profiles-dir", &profiles, "DIR"),
      TXF_OPT_STRING(0, "state", &state, "DIR"),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_STRING(0, "target-path", &target_path, "DIR"),
      TXF_OPT_STRING(0, "as-of", &as_of, "VERSION"),
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_FLAG('q', "quiet", &mo.quiet),
      TXF_OPT_END};
  int ret = txf_cli_options_parse("models", usage, opts, 0, &argc, argv);
  if (ret != TXF_CLI_GO_ON)
    goto out;
  if (argc != 1) {
    ret = txf_cli_usage_error("models", argc == 0
                                            ? "missing subcommand (build, "
                                              "run, test, seed, compile, ls, "
                                              "docs)"
                                            : "one subcommand at a time");
    goto out;
  }
  const char *sub = argv[0];
  const char *names[TXF_ARRAY_LEN(subs)];
  size_t si = TXF_ARRAY_LEN(subs);
  for (size_t i = 0; i < TXF_ARRAY_LEN(subs); i++) {
    names[i] = subs[i].name;
    if (!strcmp(names[i], sub))
      si = i;
  }
  if (si == TXF_ARRAY_LEN(subs)) {
    ret = txf_cli_unknown_subcommand("models", sub, names, TXF_ARRAY_LEN(subs));
    goto out;
  }
  if (mo.incremental && (strcmp(sub, "compile") || mo.full_refresh)) {
    ret = txf_cli_usage_error("models", "--incremental is for compile, "
                                        "without --full-refresh");
    goto out;
  }
  if (as_of && (!target_path || (strcmp(sub, "build") && strcmp(sub, "run")))) {
    ret = txf_cli_usage_error("models", "--as-of is for build and run, with "
                                        "--target-path DIR (where the "
                                        "rebuilt warehouse goes)");
    goto out;
  }
  int (*build)(txf_models *, txf_models_summary *, txf_err *) = subs[si].build;
  txf_err err;
  txf_err_clear(&err);
  txf_project *p;
  char *data = NULL, *prof_abs = NULL, *state_abs = NULL, *tdir = NULL;
  char *wh_path = NULL;
  txf_store *store = NULL;
  txf_models *m = NULL;
  int rc = txf_ctx_project(ctx, &p, &err);
  if (!rc)
    rc = txf_ctx_data_dir(ctx, data_opt, &data, &err);
  if (!rc && target_path)
    tdir = txf_path_abs(ctx->cwd, target_path);
  if (!rc && as_of) {
    /* the version's lake as a data directory of its own, its warehouse
     * beside it: nothing of the project's is read but the lake's kept
     * files, nothing written outside DIR, no metadata recorded */
    char *lake = txf_path_join(tdir, "lake");
    int64_t v = 0;
    rc = txf_clean_snapshot_lake(data, as_of, lake, &v, &err);
    if (rc)
      txf_err_wrap(&err, "--as-of %s", as_of);
    free(data);
    data = lake;
    wh_path = txf_path_join(tdir, "warehouse.duckdb");
    mo.warehouse_path = wh_path;
    mo.full_refresh = 1; /* every model from the version's lake */
    if (!rc && !json && !mo.quiet)
      printf("as of lake version %lld: %s\n", (long long)v, wh_path);
  }
  /* the models read silver's live files: not while a commit left them
   * half-applied (nor read the last complete version instead: the
   * by-change state would then record a version it never saw) */
  if (!rc && build && build != txf_models_seed && !as_of)
    rc = txf_clean_commit_settled(data, NULL, &err);
  if (!rc && build && !as_of)
    rc = txf_ctx_open_store(ctx, data, &store, &err);
  char inv[64];
  snprintf(inv, sizeof inv, "models-%lld-%d", (long long)txf_ctx_now(ctx),
           (int)getpid());
  if (!rc) {
    if (profiles)
      prof_abs = txf_path_abs(ctx->cwd, profiles);
    mo.profiles_dir = prof_abs;
    if (!state)
      state = getenv("DBT_STATE");
    if (state && *state)
      state_abs = txf_path_abs(ctx->cwd, state);
    mo.state_dir = state_abs;
    mo.data_dir = data;
    mo.target_dir = tdir;
    mo.store = store;
    mo.invocation_id = inv;
    /* set by the orchestrator: the dates a (batched) build stands for */
    mo.logical_dates = getenv("TXNFLOW_LOGICAL_DATES");
    mo.log = &ctx->log;
    mo.out = strcmp(sub, "ls") ? stdout : NULL;
    mo.json = json && build;
    /* only seed, run and build write the warehouse */
    mo.read_only = !build || !strcmp(sub, "test");
    mo.now_us = txf_ctx_now(ctx);
    rc = txf_models_load(&m, p, &mo, &err);
  }
  if (!rc)
    rc = txf_models_select(m, sel.len ? sel.data : NULL,
                           exc.len ? exc.data : NULL, &err);
  /* a test that stores its failures, or a hook, writes the warehouse */
  if (!rc && !strcmp(sub, "test") && txf_models_test_writes(m))
    mo.read_only = 0;
  if (!rc && build) {
    txf_adapter *a;
    rc = txf_models_adapter(m, &a, &err);
  }
  txf_models_summary s;
  memset(&s, 0, sizeof s);
  if (!rc && build) {
    int64_t t0 = txf_mono_us();
    rc = build(m, &s, &err);
    if ((rc == 0 || rc == TXF_ETEST) && mo.json)
      print_done(&s, txf_mono_us() - t0);
    else if (rc == 0 || rc == TXF_ETEST)
      printf("Done: %d ok, %d error, %d skipped; tests: %d pass, %d warn, "
             "%d fail, %d error\n",
             s.n_ok, s.n_error, s.n_skipped, s.n_pass, s.n_warn, s.n_fail,
             s.n_test_error);
  } else if (!rc && !strcmp(sub, "compile")) {
    rc = txf_models_compile(m, &err);
  } else if (!rc && !strcmp(sub, "ls")) {
    rc = txf_models_ls(m, stdout, json, &err);
  } else if (!rc) { /* docs */
    rc = txf_models_docs(m, &err);
    if (!rc)
      printf("wrote target/manifest.json, target/lineage.dot, "
             "target/lineage.html\n");
  }
  fflush(stdout);
  txf_models_free(m);
  txf_store_close(store);
  free(data);
  free(prof_abs);
  free(state_abs);
  free(tdir);
  free(wh_path);
  if (rc == TXF_EUSAGE) {
    ret = txf_cli_usage_error("models", "%s", err.msg);
    goto out;
  }
  ret = rc ? txf_cli_fail("models", &err) : TXF_EXIT_OK;
  /* Failed nodes or tests: permanent (exit 4) unless one failed in a way
   * a retry may mend (an I/O error, a lock), which makes it worth one. */
  if (rc == TXF_ETEST && s.n_transient)
    ret = TXF_EXIT_FAIL;
out:
  txf_buf_release(&sel);
  txf_buf_release(&exc);
  return ret;
}
