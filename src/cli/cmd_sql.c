/* txnflow sql: run SQL on the warehouse (or in memory) with DuckDB. */
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "cli/cli.h"
#include "duck/duck.h"
#include "warehouse/warehouse.h"

TXF_COMMAND(sql, "run SQL on the warehouse or the lake (DuckDB)");

static const char usage[] =
    "usage: txnflow sql [--db PATH | --memory] [--write] [--format F]\n"
    "                   [--data DIR] QUERY\n"
    "\n"
    "Run QUERY with DuckDB and print the result. By default it runs on the\n"
    "project's warehouse (DATA_DIR/warehouse.duckdb), opened read-only (the\n"
    "copy the last build published, even while a build runs), or in memory\n"
    "when there is none. Parquet files are queried directly, e.g.\n"
    "read_parquet('data/silver/transactions/**/*.parquet',\n"
    "hive_partitioning = true).\n"
    "\n"
    "Options:\n"
    "  --db PATH      a DuckDB database file\n"
    "  --memory       an empty in-memory database\n"
    "  --write        open the database read-write (the warehouse: a copy\n"
    "                 of it, published when QUERY succeeds)\n"
    "  --format F     table (default on a terminal), csv (default otherwise)\n"
    "                 or json\n"
    "  --data DIR     data directory (default: the project's)\n"
    "  -h, --help     show this help\n"
    "\n"
    "Example:\n"
    "  txnflow sql \"SELECT count(*) FROM read_parquet('data/silver/"
    "transactions/**/*.parquet')\"\n";

int cmd_sql(int argc, char **argv, txf_ctx *ctx) {
  static const txf_cli_choice formats[] = {{"csv", TXF_DUCK_CSV},
                                           {"json", TXF_DUCK_JSON},
                                           {"table", TXF_DUCK_TABLE},
                                           {NULL, 0}};
  const char *db_opt = NULL, *data_opt = NULL;
  int memory = 0, write = 0;
  txf_duck_format fmt = ctx->stdout_tty ? TXF_DUCK_TABLE : TXF_DUCK_CSV;
  const txf_cli_option opts[] = {
      TXF_OPT_STRING(0, "db", &db_opt, "FILE"),
      TXF_OPT_FLAG(0, "memory", &memory),
      TXF_OPT_FLAG(0, "write", &write),
      TXF_OPT_CHOICE(0, "format", &fmt, "csv|json|table", formats),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("sql", usage, opts, 0, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (argc != 1)
    return txf_cli_usage_error("sql", argc == 0
                                          ? "missing QUERY"
                                          : "give the query as one argument");
  txf_err err;
  txf_err_clear(&err);
  char *path = NULL;
  if (db_opt) {
    path = txf_path_abs(ctx->cwd, db_opt);
  } else if (!memory) {
    char *data = NULL;
    if (txf_ctx_data_dir(ctx, data_opt, &data, &err) == 0) {
      path = txf_path_join(data, "warehouse.duckdb");
      free(data);
      if (!txf_fs_exists(path) && !write) {
        free(path);
        path = NULL;
      }
    } else if (data_opt || err.code != TXF_ENOTFOUND) {
      return txf_cli_fail("sql", &err);
    }
  }
  /* Writing the project's warehouse (or any kept in two copies) goes
   * through a write session, so its readers keep the published copy
   * (docs/models.md, "Readers during a build"). */
  txf_wh *wh = NULL;
  struct stat lst;
  int rc = 0;
  if (write && path && (!db_opt || (lstat(path, &lst) == 0 &&
                                    S_ISLNK(lst.st_mode))))
    rc = txf_wh_begin(&wh, path, 60000, &err);
  txf_duck *d = NULL;
  if (!rc)
    rc = txf_duck_open(&d, wh ? txf_wh_path(wh) : path, 0, path && !write,
                       &err);
  if (!rc)
    rc = txf_duck_print(d, argv[0], stdout, fmt, &err);
  txf_duck_close(d);
  if (wh && !rc) {
    txf_wh_note_all(wh); /* SQL of the user's: the other copy copies all */
    rc = txf_wh_publish(wh, &err);
  } else {
    txf_wh_abort(wh);
  }
  free(path);
  return rc ? txf_cli_fail("sql", &err) : TXF_EXIT_OK;
}
