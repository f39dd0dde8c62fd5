/* txnflow sql: run SQL on the warehouse (or in memory) with DuckDB. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "clean/clean.h"
#include "cli/cli.h"
#include "duck/duck.h"
#include "models/models.h"
#include "warehouse/warehouse.h"

TXF_COMMAND(sql, "run SQL on the warehouse or the lake (DuckDB)");

static const char usage[] =
    "usage: txnflow sql [--db PATH | --memory] [--write] [--format F]\n"
    "                   [--data DIR] [--as-of VERSION|TIMESTAMP|RUN] QUERY\n"
    "\n"
    "Run QUERY with DuckDB and print the result. By default it runs on the\n"
    "project's warehouse (DATA_DIR/warehouse.duckdb; the copy the last\n"
    "build published, even while a build runs), or in memory when there\n"
    "is none. Parquet files are queried directly, e.g.\n"
    "read_parquet('data/silver/transactions/**/*.parquet',\n"
    "hive_partitioning = true).\n"
    "\n"
    "The query also sees the view silver: the lake's rows at its last\n"
    "complete version (the partition files of its latest snapshot, with the\n"
    "year, month and day columns of hive_partitioning). A commit that a\n"
    "crash or an error left half-applied is not in it: the files under\n"
    "silver/transactions mix two versions until 'txnflow clean' finishes\n"
    "it, and sql says so. With --as-of, silver is the lake as it was at\n"
    "that version, whatever was cleaned since. 'txnflow lake log' lists the\n"
    "versions.\n"
    "\n"
    "The session is read-only unless --write is given: the database is\n"
    "opened read-only, files are read only under the data directory and the\n"
    "current directory, and nothing is written anywhere (COPY, EXPORT,\n"
    "ATTACH, DETACH, INSTALL, LOAD, CALL, PRAGMA and settings are refused;\n"
    "on Linux the kernel enforces it too), nothing is downloaded and\n"
    "nothing reaches the network.\n"
    "\n"
    "Options:\n"
    "  --db PATH      a DuckDB database file\n"
    "  --memory       an empty in-memory database\n"
    "  --write        open the database read-write and lift the read-only\n"
    "                 limits: COPY ... TO and EXPORT write files, ATTACH,\n"
    "                 INSTALL and LOAD work, any file may be read, settings\n"
    "                 may be changed (the warehouse: a copy of it is\n"
    "                 written, published when QUERY succeeds)\n"
    "  --format F     table (default on a terminal), csv (default otherwise)\n"
    "                 or json\n"
    "  --data DIR     data directory (default: the project's)\n"
    "  --as-of V      define the view silver as the lake at version V: a\n"
    "                 version number, a timestamp with an offset (the last\n"
    "                 version committed at or before it, e.g.\n"
    "                 2025-09-05T18:00:00+09:00) or the run id of a clean\n"
    "  -h, --help     show this help\n"
    "\n"
    "Example:\n"
    "  txnflow sql \"SELECT count(*) FROM read_parquet('data/silver/"
    "transactions/**/*.parquet')\"\n"
    "  txnflow sql \"SELECT day, count(*) FROM silver GROUP BY day\"\n"
    "  txnflow sql --as-of 3 \"SELECT count(*) FROM silver\"\n";

/* A read-only run, on a thread of its own: the kernel's guard applies to
 * that thread (and DuckDB's threads, which it starts), so the main thread
 * can still remove the spill directory afterwards. */
typedef struct sealed_run {
  const char *path;
  const char *query;
  const char *prelude; /* run first (the --as-of view), or NULL */
  txf_duck_format fmt;
  txf_duck_seal seal;
  int sandboxed;
  txf_err sandbox_err;
  txf_err err;
  int rc;
} sealed_run;

static void *run_sealed(void *arg) {
  sealed_run *s = arg;
  s->sandboxed = txf_sandbox_enter(s->seal.temp_dir, &s->sandbox_err) == 0;
  txf_duck *d = NULL;
  s->rc = txf_duck_open_sealed(&d, s->path, &s->seal, &s->err);
  if (!s->rc && s->prelude)
    s->rc = txf_duck_exec(d, s->prelude, &s->err);
  if (!s->rc)
    s->rc = txf_duck_print(d, s->query, stdout, s->fmt, &s->err);
  txf_duck_close(d);
  fflush(stdout);
  return NULL;
}

static int sql_sealed(txf_ctx *ctx, const char *path, const char *data_opt,
                      const char *prelude, const char *query,
                      txf_duck_format fmt, txf_err *err) {
  char *data = NULL;
  txf_err ignored;
  if (txf_ctx_data_dir(ctx, data_opt, &data, &ignored) != 0)
    data = NULL;
  const char *dirs[] = {ctx->cwd, data, NULL};
  const char *tmp = getenv("TMPDIR");
  char *spill = NULL;
  int rc =
      txf_fs_mkdtemp_in(&spill, tmp && *tmp ? tmp : "/tmp", "txnflow-sql", err);
  if (rc) {
    free(data);
    return rc;
  }
  sealed_run s = {
      .path = path,
      .query = query,
      .prelude = prelude,
      .fmt = fmt,
      .seal = {.cwd = ctx->cwd, .read_dirs = dirs, .temp_dir = spill}};
  txf_err_clear(&s.err);
  pthread_t tid;
  if (pthread_create(&tid, NULL, run_sealed, &s) != 0) {
    rc = txf_err_errno(err, TXF_EIO, "cannot start a thread");
  } else {
    pthread_join(tid, NULL);
    if (!s.sandboxed)
      txf_log_debug(&ctx->log, "sql: no kernel guard: %s", s.sandbox_err.msg);
    rc = s.rc;
    if (rc)
      *err = s.err;
  }
  txf_err e2;
  if (txf_fs_rmtree(spill, &e2) != 0)
    txf_log_warn(&ctx->log, "sql: %s", e2.msg);
  free(spill);
  free(data);
  return rc;
}

/* The view silver: CREATE TEMP VIEW silver over the files of the snapshot
 * AS_OF names, or without AS_OF of the latest one (a temporary view: the
 * session may be read-only). The latest record is the last complete
 * version, so a reader of the view never sees a commit half-applied, nor
 * races with one: the versioned files it names never change. Without
 * AS_OF, a lake with no snapshot (or none at all) gets no view and *SQL is
 * NULL; a commit left unfinished is said on stderr. */
static int silver_view(txf_ctx *ctx, const char *data_opt, const char *as_of,
                       char **sql, txf_err *err) {
  *sql = NULL;
  char *data = NULL;
  int rc = txf_ctx_data_dir(ctx, data_opt, &data, err);
  if (rc && !as_of)
    return 0; /* no project, no lake: the warehouse alone */
  char **files = NULL;
  size_t n = 0;
  int64_t version = 0;
  if (!rc && !as_of) {
    char *run = NULL;
    txf_err e2;
    if (txf_clean_commit_settled(data, &run, &e2) != 0)
      txf_log_warn(&ctx->log,
                   "the lake's last commit (%s) is not fully applied: the "
                   "view silver is the last complete version; the files "
                   "under silver/transactions may mix two versions until "
                   "`txnflow clean` finishes it",
                   run);
    free(run);
  }
  if (!rc)
    rc = txf_clean_snapshot_find(data, as_of, &version, &files, &n, err);
  free(data);
  if (rc && !as_of) {
    if (rc != TXF_ENOTFOUND)
      txf_log_warn(&ctx->log, "sql: no view silver: %s", err->msg);
    txf_err_clear(err);
    return 0;
  }
  if (rc)
    return txf_err_wrap(err, "--as-of %s", as_of);
  txf_buf b;
  txf_buf_init(&b, 0);
  txf_buf_puts(&b, "CREATE TEMP VIEW silver AS ");
  if (n == 0) /* every row gone at that version: no file to read */
    txf_buf_puts(&b, "SELECT NULL AS transaction_id WHERE false");
  else
    txf_buf_puts(&b, "SELECT * FROM read_parquet([");
  for (size_t i = 0; i < n; i++) {
    char *q = txf_duck_quote_str(files[i]);
    txf_buf_puts(&b, i ? ", " : "");
    txf_buf_puts(&b, q);
    free(q);
  }
  if (n)
    txf_buf_puts(&b, "], hive_partitioning = true)");
  txf_clean_snapshot_files_free(files, n);
  txf_log_debug(&ctx->log, "sql: silver is version %lld (%zu files)",
                (long long)version, n);
  *sql = txf_buf_take(&b, NULL);
  return 0;
}

int cmd_sql(int argc, char **argv, txf_ctx *ctx) {
  static const txf_cli_choice formats[] = {{"csv", TXF_DUCK_CSV},
                                           {"json", TXF_DUCK_JSON},
                                           {"table", TXF_DUCK_TABLE},
                                           {NULL, 0}};
  const char *db_opt = NULL, *data_opt = NULL, *as_of = NULL;
  int memory = 0, write = 0;
  txf_duck_format fmt = ctx->stdout_tty ? TXF_DUCK_TABLE : TXF_DUCK_CSV;
  const txf_cli_option opts[] = {
      TXF_OPT_STRING(0, "db", &db_opt, "FILE"),
      TXF_OPT_FLAG(0, "memory", &memory),
      TXF_OPT_FLAG(0, "write", &write),
      TXF_OPT_CHOICE(0, "format", &fmt, "csv|json|table", formats),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_STRING(0, "as-of", &as_of, "VERSION"),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("sql", usage, opts, 0, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (argc != 1)
    return txf_cli_usage_error(
        "sql", argc == 0 ? "missing QUERY" : "give the query as one argument");
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
  char *prelude = NULL;
  if (silver_view(ctx, data_opt, as_of, &prelude, &err) != 0) {
    free(path);
    return txf_cli_fail("sql", &err);
  }
  int rc = 0;
  if (write) {
    /* Writing the project's warehouse (or any kept in two copies) goes
     * through a write session, so its readers keep the published copy
     * (docs/models.md, "Readers during a build"). */
    txf_wh *wh = NULL;
    struct stat lst;
    if (path && (!db_opt || (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))))
      rc = txf_wh_begin_log(&wh, path, 60000, &ctx->log, &err);
    txf_duck *d = NULL;
    if (!rc)
      rc = txf_duck_open(&d, wh ? txf_wh_path(wh) : path, 0, 0, &err);
    if (!rc && prelude)
      rc = txf_duck_exec(d, prelude, &err);
    if (!rc)
      rc = txf_duck_print(d, argv[0], stdout, fmt, &err);
    /* the user's SQL may have deleted rows of a model's table: the next
     * build counts them instead of trusting its records (changes.c);
     * also after SQL that failed, which a plain file may keep part of */
    if (d) {
      txf_err e2;
      int frc = txf_models_rows_forget_duck(d, rc ? &e2 : &err);
      if (!rc)
        rc = frc;
    }
    txf_duck_close(d);
    if (wh && !rc) {
      txf_wh_note_all(wh); /* SQL of the user's: the other copy copies all */
      rc = txf_wh_publish(wh, &err);
    } else {
      txf_wh_abort(wh);
    }
  } else {
    rc = sql_sealed(ctx, path, data_opt, prelude, argv[0], fmt, &err);
  }
  free(prelude);
  free(path);
  return rc ? txf_cli_fail("sql", &err) : TXF_EXIT_OK;
}
