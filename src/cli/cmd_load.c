/* txnflow load: the silver lake into the PostgreSQL or Redshift table of
 * txnflow.yml's load section. `txnflow publish --only warehouse`, from
 * when publish did the load, runs the same code (txf_cli_load). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "clean/clean.h"
#include "cli/cli.h"
#include "load/load.h"

TXF_COMMAND(load, "load the silver lake into a PostgreSQL/Redshift table");

static const char usage[] =
    "usage: txnflow load --date D [--target T] [--print-sql] [--dry-run]\n"
    "                    [--json] [--data DIR]\n"
    "\n"
    "Bring the PostgreSQL or Redshift table of txnflow.yml's load: section\n"
    "(or publish.warehouse, its older spelling) up to date with the silver\n"
    "lake: the event-date partitions whose file changed since the last load,\n"
    "however old, are replaced in one transaction, and partitions gone from\n"
    "silver are deleted. A second load of the same lake changes nothing.\n"
    "A Redshift load copies from the bucket of publish.s3: it puts the\n"
    "partitions it copies there first. In the daily DAG the load runs after\n"
    "clean and before models, so models on that warehouse see the day's\n"
    "rows. `txnflow publish --only warehouse` is the same load.\n"
    "See docs/load.md.\n"
    "\n"
    "Options:\n"
    "  --date D       the logical date (YYYY-MM-DD) the load belongs to\n"
    "  --target T     load into output T of profiles.yml (postgres/redshift)\n"
    "  --print-sql    print the load (Redshift SQL, or the plan) without\n"
    "                 running it\n"
    "  --dry-run      show what would be replaced and deleted; change nothing\n"
    "  --json         machine-readable summary\n"
    "  --data DIR     data directory (default: the project's)\n"
    "  -h, --help     show this help\n"
    "\n"
    "Example:\n"
    "  txnflow load --date 2025-09-01\n";

static json_t *report_json(const txf_load_report *w, const char *target) {
  json_t *o = json_object();
  json_object_set_new(o, "target", json_string(target ? target : ""));
  const struct {
    const char *key;
    uint64_t n;
  } counts[] = {{"partitions_loaded", w->partitions_loaded},
                {"partitions_deleted", w->partitions_deleted},
                {"partitions_unchanged", w->partitions_skipped},
                {"rows_loaded", w->rows_loaded},
                {"change_versions_loaded", w->versions_loaded},
                {"change_rows_loaded", w->change_rows_loaded}};
  for (size_t k = 0; k < TXF_ARRAY_LEN(counts); k++)
    json_object_set_new(o, counts[k].key,
                        json_integer((json_int_t)counts[k].n));
  json_object_set_new(o, "elapsed_s", json_real((double)w->elapsed_us / 1e6));
  json_t *a = json_array();
  for (size_t i = 0; i < w->n_added_columns; i++)
    json_array_append_new(a, json_string(w->added_columns[i]));
  json_object_set_new(o, "added_columns", a);
  return o;
}

static void print_json(const txf_load_report *w, const char *target,
                       const char *wrap) {
  json_t *o = report_json(w, target);
  if (wrap) {
    json_t *outer = json_object();
    json_object_set_new(outer, wrap, o);
    o = outer;
  }
  char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  printf("%s\n", s);
  free(s);
  json_decref(o);
}

static void print_report(const txf_load_report *w, const txf_target *t,
                         const char *table, int dry, const txf_buf *plan) {
  printf("warehouse load into %s (%s.%s)%s\n", t->name, t->schema, table,
         dry ? " (dry run)" : "");
  if (dry)
    fputs(plan->data ? plan->data : "", stdout);
  printf("  partitions replaced %llu, deleted %llu, unchanged %llu; "
         "%llu rows in %.2f s\n",
         (unsigned long long)w->partitions_loaded,
         (unsigned long long)w->partitions_deleted,
         (unsigned long long)w->partitions_skipped,
         (unsigned long long)w->rows_loaded, (double)w->elapsed_us / 1e6);
  if (w->versions_loaded)
    printf("  change log: %llu version%s, %llu rows\n",
           (unsigned long long)w->versions_loaded,
           w->versions_loaded == 1 ? "" : "s",
           (unsigned long long)w->change_rows_loaded);
  for (size_t i = 0; i < w->n_added_columns; i++)
    printf("  added column %s\n", w->added_columns[i]);
}

int txf_cli_load(txf_ctx *ctx, const char *cmd, const txf_cli_load_args *a) {
  txf_err err;
  txf_err_clear(&err);
  txf_project *proj = NULL;
  txf_project_load_section sec;
  txf_s3_settings lake;
  txf_s3 *s3 = NULL;
  char *data = NULL;
  txf_store *store = NULL;
  txf_tz *tz = NULL;
  txf_target tgt = {0};
  txf_load_report rep = {0};
  txf_buf sql;
  txf_buf_init(&sql, 0);
  int rc = txf_ctx_project(ctx, &proj, &err);
  if (rc == TXF_ENOTFOUND)
    rc = txf_err_set(&err, TXF_ENOTFOUND,
                     "not in a txnflow project (no txnflow.yml in %s)",
                     ctx->cwd);
  if (!rc)
    rc = txf_project_load_section_read(&sec, proj, &err);
  if (!rc && !sec.configured && !a->target)
    rc = txf_err_set(&err, TXF_ECONFIG,
                     "%s: no warehouse load is configured: add a load: "
                     "section, or name the output with --target (see "
                     "docs/load.md)",
                     proj->config_path);
  if (!rc)
    rc = txf_s3_settings_load(&lake, proj, &err);
  if (!rc)
    rc = txf_ctx_data_dir(ctx, a->data_dir, &data, &err);
  if (!rc) /* never a half-applied commit into the warehouse */
    rc = txf_clean_commit_settled(data, NULL, &err);
  if (!rc)
    rc = txf_ctx_open_store(ctx, data, &store, &err);
  if (!rc)
    rc = txf_load_target_resolve(&tgt, proj, a->target ? a->target : sec.target,
                                 &err);
  if (!rc)
    rc = txf_tz_load(&tz, proj->timezone, &err);
  int plan_only = a->print_sql || a->dry_run;
  /* a Redshift COPY reads the bucket: the load puts the partitions there */
  if (!rc && tgt.is_redshift && !plan_only && lake.configured)
    rc = txf_s3_new(&s3, &lake.cfg, &ctx->log, &err);
  if (!rc) {
    txf_load_opts lo = {.section = &sec,
                        .lake = &lake,
                        .s3 = s3,
                        .data_dir = data,
                        .tz = tz,
                        .sql_out = plan_only ? &sql : NULL,
                        .log = &ctx->log,
                        .now_us = txf_ctx_now(ctx)};
    rc = txf_load_run(&tgt, store, &lo, &rep, &err);
  }
  if (!rc && a->print_sql)
    fputs(sql.data ? sql.data : "", stdout);
  else if (!rc && a->json)
    print_json(&rep, tgt.name, a->json_wrap);
  else if (!rc)
    print_report(&rep, &tgt, sec.table, a->dry_run, &sql);
  txf_buf_release(&sql);
  txf_load_report_release(&rep);
  txf_target_release(&tgt);
  txf_tz_free(tz);
  txf_store_close(store);
  free(data);
  txf_s3_free(s3);
  return rc ? txf_cli_fail(cmd, &err) : TXF_EXIT_OK;
}

int cmd_load(int argc, char **argv, txf_ctx *ctx) {
  txf_cli_load_args a = {0};
  const char *date_opt = NULL;
  const txf_cli_option opts[] = {
      TXF_OPT_STRING(0, "date", &date_opt, "D"),
      TXF_OPT_STRING(0, "target", &a.target, "T"),
      TXF_OPT_FLAG(0, "print-sql", &a.print_sql),
      TXF_OPT_FLAG(0, "dry-run", &a.dry_run),
      TXF_OPT_FLAG(0, "json", &a.json),
      TXF_OPT_STRING(0, "data", &a.data_dir, "DIR"),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("load", usage, opts, TXF_CLI_NO_OPERANDS,
                                 &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (!date_opt)
    return txf_cli_usage_error("load", "--date is required");
  txf_date date;
  int urc = txf_cli_parse_date("load", "--date", date_opt, &date);
  if (urc)
    return urc;
  return txf_cli_load(ctx, "load", &a);
}
