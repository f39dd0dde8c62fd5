/* txnflow status: the runs x tasks grid from the metadata database. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/orch_cli.h"

TXF_COMMAND(status, "show runs x tasks for recent logical dates");

static const char usage[] =
    "usage: txnflow status [--last N] [--json] [--data DIR]\n"
    "       txnflow status --reconcile [--from D] [--to D] [--json]\n"
    "\n"
    "Show the latest run of each logical date and the state of each of its\n"
    "tasks (success, failed, running, up_for_retry, skipped), with attempts\n"
    "and durations, newest date first. SLA misses are marked; a run that\n"
    "did not succeed is followed by why (the failed task's first error\n"
    "line) and its log.\n"
    "\n"
    "With --reconcile, show each ingestion day's reconciliation instead,\n"
    "from its latest successful clean: lines read = inserted + updated +\n"
    "duplicates + stale + quarantined, checked (ok or MISMATCH), and the\n"
    "total. Exit status 1 when a day does not reconcile.\n"
    "\n"
    "Options:\n"
    "  --last N      show the N most recent dates (default 14)\n"
    "  --reconcile   the per-day reconciliation of the cleans\n"
    "  --from D      --reconcile: first ingestion date (default: the first)\n"
    "  --to D        --reconcile: last ingestion date (default: the last)\n"
    "  --json        machine-readable output, with every attempt (with\n"
    "                --reconcile: each day's terms and whether they hold)\n"
    "  --data DIR    data directory (default: the project's)\n"
    "  -h, --help    show this help\n"
    "\n"
    "Example:\n"
    "  txnflow status --last 7\n"
    "  txnflow status --reconcile --from 2025-09-01 --to 2025-09-11\n";

static const char *color_of(const char *state) {
  if (!strcmp(state, "success"))
    return "\033[32m";
  if (!strcmp(state, "failed") || !strcmp(state, "missed"))
    return "\033[31m";
  if (!strcmp(state, "running") || !strcmp(state, "up_for_retry") ||
      !strcmp(state, "interrupted"))
    return "\033[33m";
  return "\033[2m";
}

/* Print S padded to W columns, colored by STATE on a TTY. */
static void cell(const char *s, int w, const char *state, int color) {
  if (color && state)
    printf("%s%s\033[0m", color_of(state), s);
  else
    fputs(s, stdout);
  for (int i = (int)strlen(s); i < w; i++)
    putchar(' ');
}

static void print_grid(json_t *runs, int color) {
  /* Columns: every task that appears, in order of first appearance. */
  const char *names[64];
  size_t n_names = 0;
  size_t i, j;
  json_t *r, *t;
  json_array_foreach(runs, i, r) {
    json_array_foreach(json_object_get(r, "tasks"), j, t) {
      const char *n = json_string_value(json_object_get(t, "task"));
      size_t k = 0;
      while (k < n_names && strcmp(names[k], n))
        k++;
      if (k == n_names && n_names < 64)
        names[n_names++] = n;
    }
  }
  size_t rows = json_array_size(runs);
  char(*cells)[48] = txf_xcalloc(rows * (n_names + 1) + 1, sizeof *cells);
  int widths[65];
  for (size_t k = 0; k < n_names; k++)
    widths[k] = (int)strlen(names[k]);
  json_array_foreach(runs, i, r) {
    for (size_t k = 0; k < n_names; k++) {
      char *c = cells[i * (n_names + 1) + k];
      snprintf(c, 48, "-");
      json_array_foreach(json_object_get(r, "tasks"), j, t) {
        if (strcmp(json_string_value(json_object_get(t, "task")), names[k]))
          continue;
        const char *st = json_string_value(json_object_get(t, "state"));
        int att = (int)json_integer_value(json_object_get(t, "attempts"));
        json_t *d = json_object_get(t, "duration_s");
        char dur[32] = "";
        if (json_is_real(d))
          txf_duration_format((int64_t)(json_real_value(d) * 1e6), dur);
        char tries[16] = "";
        if (att > 1)
          snprintf(tries, sizeof tries, " x%d", att);
        snprintf(c, 48, "%s%s%s%s", st, tries, dur[0] ? " " : "", dur);
      }
      if ((int)strlen(c) > widths[k])
        widths[k] = (int)strlen(c);
    }
  }
  printf("%-12s%-13s", "DATE", "RUN");
  for (size_t k = 0; k < n_names; k++) {
    cell(names[k], widths[k] + 2, NULL, 0);
  }
  printf("SLA\n");
  json_array_foreach(runs, i, r) {
    const char *state = json_string_value(json_object_get(r, "state"));
    printf("%-12s", json_string_value(json_object_get(r, "logical_date")));
    cell(state, 13, state, color);
    for (size_t k = 0; k < n_names; k++) {
      const char *c = cells[i * (n_names + 1) + k];
      char st[24];
      snprintf(st, sizeof st, "%s", c);
      char *sp = strchr(st, ' ');
      if (sp)
        *sp = '\0';
      cell(c, widths[k] + 2, st, color);
    }
    if (json_is_true(json_object_get(r, "sla_missed")))
      cell("SLA missed", 0, "missed", color);
    putchar('\n');
  }
  free(cells);
  /* The errors of failed runs, so the grid says why, and the log of the
   * failed attempt, where the rest is. */
  json_array_foreach(runs, i, r) {
    const char *state = json_string_value(json_object_get(r, "state"));
    const char *e = json_string_value(json_object_get(r, "error"));
    if (!e || !strcmp(state, "success"))
      continue;
    printf("  %s: %s\n", json_string_value(json_object_get(r, "logical_date")),
           e);
    const char *log = NULL;
    json_array_foreach(json_object_get(r, "tasks"), j, t) {
      if (strcmp(json_string_value(json_object_get(t, "state")), "failed"))
        continue;
      json_t *al = json_object_get(t, "attempt_list");
      json_t *last = json_array_get(al, json_array_size(al) - 1);
      log = json_string_value(json_object_get(last, "log"));
    }
    if (log)
      printf("    log: %s\n", log);
  }
}

/* ------------------------------------------------------------ reconcile */

/* The six terms of a clean's equation, and whether it holds. */
static int holds(const int64_t v[6]) {
  return v[0] == v[1] + v[2] + v[3] + v[4] + v[5];
}

static json_t *terms_json(const char *date, const int64_t v[6]) {
  static const char *const names[6] = {"lines_read", "inserted", "updated",
                                       "duplicates", "stale", "quarantined"};
  json_t *o = json_object();
  if (date)
    json_object_set_new(o, "ingest_date", json_string(date));
  for (int i = 0; i < 6; i++)
    json_object_set_new(o, names[i], json_integer((json_int_t)v[i]));
  json_object_set_new(o, "holds", json_boolean(holds(v)));
  return o;
}

static void print_terms(const char *label, const int64_t v[6]) {
  printf("%-11s %7lld = %8lld + %7lld + %10lld + %5lld + %11lld  %s\n",
         label, (long long)v[0], (long long)v[1], (long long)v[2],
         (long long)v[3], (long long)v[4], (long long)v[5],
         holds(v) ? "ok" : "MISMATCH");
}

/* Print the reconciliation of each ingestion day in [FROM, TO] (NULL:
 * unbounded) from its latest successful clean in ST, and the total, as a
 * table or (JSON) one document; *ALL_HOLD = 0 when a day's equation (or
 * the total's) does not hold. Returns 0 or the metadata error. */
static int reconciliation(txf_store *st, const char *from, const char *to,
                          int json, int *all_hold, txf_err *err) {
  txf_meta_clean_query q = {from, to, 1};
  txf_meta_clean_run_list runs;
  int rc = txf_meta_clean_runs_succeeded(st, &q, &runs, err);
  if (rc)
    return rc;
  int64_t tot[6] = {0};
  *all_hold = 1;
  json_t *days = json ? json_array() : NULL;
  if (!json)
    printf("%-11s %7s = %8s + %7s + %10s + %5s + %11s  %s\n", "INGEST_DATE",
           "LINES", "INSERTED", "UPDATED", "DUPLICATES", "STALE",
           "QUARANTINED", "CHECK");
  for (size_t r = 0; r < runs.n; r++) {
    const txf_meta_clean_run *c = &runs.v[r];
    int64_t v[6] = {c->lines_read, c->inserted, c->updated,
                    c->duplicates, c->stale,    c->quarantined};
    for (int i = 0; i < 6; i++)
      tot[i] += v[i];
    *all_hold &= holds(v);
    if (json)
      json_array_append_new(days, terms_json(c->ingest_date, v));
    else
      print_terms(c->ingest_date, v);
  }
  *all_hold &= holds(tot);
  if (json) {
    json_t *doc = json_pack("{s:o, s:o, s:b}", "days", days, "total",
                            terms_json(NULL, tot), "holds", *all_hold);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(text);
    free(text);
    json_decref(doc);
  } else {
    print_terms("total", tot);
  }
  txf_meta_clean_run_list_release(&runs);
  return 0;
}

int cmd_status(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL;
  int json = 0, reconcile = 0, have_from = 0, have_to = 0;
  uint64_t last = 14;
  txf_date from, to;
  const txf_cli_option opts[] = {
      TXF_OPT_UINT(0, "last", &last, "N", 1, 100000, "a count"),
      TXF_OPT_FLAG(0, "reconcile", &reconcile),
      TXF_OPT_DATE(0, "from", &from, "D", &have_from),
      TXF_OPT_DATE(0, "to", &to, "D", &have_to),
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("status", usage, opts, TXF_CLI_NO_OPERANDS,
                                 &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if ((have_from || have_to) && !reconcile)
    return txf_cli_usage_error("status", "--from and --to go with "
                                         "--reconcile");
  if (have_from && have_to && to.days < from.days)
    return txf_cli_usage_error("status", "--to is before --from");
  txf_err err;
  txf_err_clear(&err);
  char *data = NULL;
  if (txf_ctx_data_dir(ctx, data_opt, &data, &err))
    return txf_cli_fail("status", &err);
  char *dbpath = txf_path_join(data, "txnflow.db");
  free(data);
  txf_store *st = NULL;
  int rc = txf_fs_exists(dbpath) ? txf_store_open(&st, dbpath, 1, &err) : 0;
  free(dbpath);
  if (rc)
    return txf_cli_fail("status", &err);
  if (reconcile) {
    char f[11], t[11];
    if (have_from)
      txf_date_format(from, f);
    if (have_to)
      txf_date_format(to, t);
    int all_hold = 1;
    if (st)
      rc = reconciliation(st, have_from ? f : NULL, have_to ? t : NULL, json,
                          &all_hold, &err);
    else if (json)
      puts("{\n  \"days\": [],\n  \"total\": null,\n  \"holds\": true\n}");
    else
      printf("no cleans yet (try: txnflow clean --date YYYY-MM-DD)\n");
    txf_store_close(st);
    if (rc)
      return txf_cli_fail("status", &err);
    return all_hold ? TXF_EXIT_OK : TXF_EXIT_FAIL;
  }
  json_t *out = json_array();
  if (st) {
    rc = txf_orch_cli_runs_json(st, NULL, NULL, last, 0, txf_ctx_now(ctx),
                                out, &err);
    txf_store_close(st);
    if (rc) {
      json_decref(out);
      return txf_cli_fail("status", &err);
    }
  }
  if (json) {
    json_t *doc = json_pack("{s:o}", "runs", out);
    char *s = json_dumps(doc, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(doc);
    return TXF_EXIT_OK;
  }
  if (json_array_size(out) == 0)
    printf("no runs yet (try: txnflow run --date YYYY-MM-DD)\n");
  else
    print_grid(out, ctx->stdout_tty && !getenv("NO_COLOR"));
  json_decref(out);
  return TXF_EXIT_OK;
}
