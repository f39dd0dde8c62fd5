/* txnflow scan-pans: prove no card number is stored where it should not
 * be (docs/card-data.md). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli/cli.h"
#include "pan/pan.h"

TXF_COMMAND(scan_pans, "find card numbers (PANs) in the project's files");

static const char usage[] =
    "usage: txnflow scan-pans [PATH...] [--json] [--include-bronze]\n"
    "                         [--newer-than FILE]\n"
    "\n"
    "Find card numbers (PANs) in files: 13 to 19 digits passing the Luhn\n"
    "check, first digit 2 to 6, also written with spaces or dashes, not\n"
    "glued to letters or digits. Each file is read as what it is: CSV, JSON\n"
    "and logs line by line (zstd-compressed ones decompressed), Parquet\n"
    "every column of every row decompressed plus its footer's statistics,\n"
    "DuckDB and SQLite databases every column of every table. Each finding\n"
    "is printed with its file and place, masked to BIN and last 4.\n"
    "\n"
    "Without PATH: the project's directory and its data directory. A\n"
    "directory named 'bronze' (where card numbers legitimately arrive) is\n"
    "left out unless --include-bronze; .git always. Symbolic links are not\n"
    "followed.\n"
    "\n"
    "Exit status: 0 when nothing is found; 1 when a card number is found or\n"
    "a file could not be read to the end (then nothing is proven); 2 usage;\n"
    "4 when a PATH does not exist.\n"
    "\n"
    "Options:\n"
    "  --include-bronze  scan bronze/ directories too\n"
    "  --newer-than FILE only files modified since FILE was (what a run\n"
    "                    wrote: the daily DAG's scan_pans task)\n"
    "  --json            print the findings as JSON\n"
    "  -h, --help        show this help\n"
    "\n"
    "Examples:\n"
    "  txnflow scan-pans\n"
    "  txnflow scan-pans data/silver data/warehouse.duckdb --json\n";

static void print_json(const txf_pan_scan *s) {
  json_t *j = json_object(), *fs = json_array(), *ps = json_array(),
         *sk = json_array();
  for (size_t i = 0; i < s->n; i++) {
    json_t *f = json_object();
    json_object_set_new(f, "path", txf_json_text(s->v[i].path));
    json_object_set_new(f, "where", txf_json_text(s->v[i].where));
    json_object_set_new(f, "masked", json_string(s->v[i].masked));
    json_array_append_new(fs, f);
  }
  for (size_t i = 0; i < s->problems.n; i++)
    json_array_append_new(ps, txf_json_text(s->problems.v[i]));
  for (size_t i = 0; i < s->skipped.n; i++)
    json_array_append_new(sk, txf_json_text(s->skipped.v[i]));
  json_object_set_new(j, "files_scanned", json_integer((json_int_t)s->n_files));
  json_object_set_new(j, "findings", fs);
  json_object_set_new(j, "problems", ps);
  json_object_set_new(j, "skipped", sk);
  char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  printf("%s\n", text);
  free(text);
  json_decref(j);
}

int cmd_scan_pans(int argc, char **argv, txf_ctx *ctx) {
  int json = 0, bronze = 0;
  const char *newer = NULL;
  const txf_cli_option opts[] = {
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_FLAG(0, "include-bronze", &bronze),
      TXF_OPT_STRING(0, "newer-than", &newer, "FILE"), TXF_OPT_END};
  int ec = txf_cli_options_parse("scan-pans", usage, opts, 0, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  txf_err err;
  txf_err_clear(&err);
  txf_strlist paths = {0};
  for (int i = 0; i < argc; i++)
    txf_strlist_push(&paths, argv[i]);
  if (!paths.n) {
    txf_project *p;
    if (txf_ctx_project(ctx, &p, &err)) {
      txf_strlist_release(&paths);
      return txf_cli_fail("scan-pans", &err);
    }
    txf_strlist_push(&paths, p->dir);
    /* The data directory, when it lies outside the project. */
    size_t dl = strlen(p->dir);
    if (strncmp(p->data_dir, p->dir, dl) != 0 ||
        (p->data_dir[dl] != '/' && p->data_dir[dl] != '\0'))
      txf_strlist_push(&paths, p->data_dir);
  }
  txf_pan_scan s;
  memset(&s, 0, sizeof s);
  s.include_bronze = bronze;
  if (newer) {
    struct stat st;
    if (stat(newer, &st) != 0) {
      txf_err_errno(&err, TXF_ENOTFOUND, "--newer-than '%s'", newer);
      txf_strlist_release(&paths);
      return txf_cli_fail("scan-pans", &err);
    }
    s.newer_only = 1;
    s.newer_than = st.st_mtim;
  }
  int rc = 0;
  for (size_t i = 0; i < paths.n && !rc; i++)
    rc = txf_pan_scan_path(&s, paths.v[i], &err);
  txf_strlist_release(&paths);
  if (rc) {
    txf_pan_scan_release(&s);
    return txf_cli_fail("scan-pans", &err);
  }
  if (json) {
    print_json(&s);
  } else {
    for (size_t i = 0; i < s.n; i++)
      printf("%s: %s: %s\n", s.v[i].path, s.v[i].where, s.v[i].masked);
    for (size_t i = 0; i < s.problems.n; i++)
      fprintf(stderr, "txnflow scan-pans: cannot scan %s\n", s.problems.v[i]);
    printf("scan-pans: %zu card number%s in %llu file%s scanned%s\n", s.n,
           s.n == 1 ? "" : "s", (unsigned long long)s.n_files,
           s.n_files == 1 ? "" : "s",
           s.problems.n ? ", some files unreadable" : "");
  }
  int found = s.n > 0 || s.problems.n > 0;
  txf_pan_scan_release(&s);
  return found ? TXF_EXIT_FAIL : TXF_EXIT_OK;
}
