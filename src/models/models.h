/* models: a dbt-style model runner on embedded DuckDB.
 *
 * Loads a project's models (.sql files under models/, a Jinja subset),
 * seeds (CSV files), data tests (schema.yml generic tests and singular
 * tests under tests/), macros
 * and doc blocks; builds the graph from ref()/source(); selects; and runs
 * the materializations (view, table, incremental, ephemeral) through an
 * adapter — DuckDB, PostgreSQL or Redshift — with write-audit-publish in
 * `build`.
 * See docs/models.md for what is supported and how it differs from dbt. */
#ifndef TXF_MODELS_H
#define TXF_MODELS_H

#include <stdint.h>
#include <stdio.h>

#include "duck/duck.h"
#include "metadata/metadata.h"
#include "project/project.h"
#include "util/util.h"

/* ---------------------------------------------------------------- adapter */

/* What the runner needs from a warehouse: DuckDB (adapter.c) and
 * PostgreSQL/Redshift over libpq (adapter_pg.c) implement the same
 * operations. All SQL strings are complete statements; relation names are
 * already quoted with quote_ident (double quotes, the same on all three). */
typedef enum {
  TXF_REL_NONE = 0,
  TXF_REL_TABLE = 1,
  TXF_REL_VIEW = 2
} txf_rel_kind;

typedef struct txf_adapter txf_adapter;
typedef struct txf_adapter_ops {
  const char *type; /* "duckdb", "postgres" or "redshift" (target.type) */
  /* Run one or more statements, discarding results. */
  int (*exec)(txf_adapter *a, const char *sql, txf_err *err);
  /* First column of the first row as int64. */
  int (*query_i64)(txf_adapter *a, const char *sql, int64_t *out,
                   txf_err *err);
  /* The result as a JSON array of objects (malloc'd). */
  int (*query_json)(txf_adapter *a, const char *sql, char **out,
                    txf_err *err);
  /* Kind of relation SCHEMA.NAME (unquoted names). */
  int (*relation_kind)(txf_adapter *a, const char *schema, const char *name,
                       txf_rel_kind *out, txf_err *err);
  /* The relation's column names, in order (malloc'd array of malloc'd
   * strings). */
  int (*columns)(txf_adapter *a, const char *schema, const char *name,
                 char ***out, size_t *n, txf_err *err);
  /* Create the table REL (quoted) from the CSV file PATH (a header line),
   * with the column types DuckDB's read_csv detects, overridden by TYPES
   * (a DuckDB struct literal {'col': 'TYPE', ...}, or NULL): a seed. */
  int (*create_from_csv)(txf_adapter *a, const char *rel, const char *path,
                         const char *types, txf_err *err);
  void (*close)(txf_adapter *a);
  /* Insert SRC's rows in the order of column ORDER (quoted), HEAD the
   * statement up to its FROM, by value where few (txf_duck_insert_ordered,
   * each statement timed into LOG after WHO); NULL: the target has none
   * (PostgreSQL, Redshift), an INSERT ... ORDER BY instead. */
  int (*insert_ordered)(txf_adapter *a, const char *head, const char *src,
                        const char *order, const txf_logger *log,
                        const char *who, txf_err *err);
} txf_adapter_ops;

/* Where a DuckDB warehouse keeps each model's rows as its last build by
 * change left them, beside the rows its storage held then (changes.c):
 * SQL that writes a model's table by other means forgets them. */
#define TXF_MODELS_ROWS_REL "\"_txnflow\".\"model_rows\""
/* Forget every record of TXF_MODELS_ROWS_REL in D, if it has the table:
 * after SQL that may have deleted a model's rows (a user's, a hook's). */
TXF_MUST_CHECK int txf_models_rows_forget_duck(txf_duck *d, txf_err *err);

struct txf_adapter {
  const txf_adapter_ops *ops;
  void *impl;
};

/* Open the DuckDB database PATH (NULL: in memory; READONLY: read-only) as
 * an adapter. Caller frees with txf_adapter_close(). */
TXF_MUST_CHECK int txf_adapter_open_duckdb(txf_adapter **out, const char *path,
                                           int threads, int readonly,
                                           txf_err *err);
/* D, an open DuckDB handle, as an adapter that owns it. */
txf_adapter *txf_adapter_wrap_duckdb(txf_duck *d);
/* Connect to a PostgreSQL server (REDSHIFT: a Redshift cluster, which
 * speaks the same protocol) with libpq's KEYS/VALS (NULL-terminated,
 * borrowed). The session's time zone is set to UTC, so a TIMESTAMPTZ cast
 * to TIMESTAMP is the UTC wall clock, as on DuckDB. TXF_EDB with libpq's
 * message (which never holds the password). Caller frees with
 * txf_adapter_close(). */
TXF_MUST_CHECK int txf_adapter_open_postgres(txf_adapter **out,
                                             const char *const *keys,
                                             const char *const *vals,
                                             int redshift, txf_err *err);
void txf_adapter_close(txf_adapter *a);
/* SRC's rows into HEAD ("INSERT INTO t (a) SELECT a") in the order of its
 * column ORDER (quoted; NULL: any order): A's insert_ordered where it has
 * one, else one INSERT ... ORDER BY. */
TXF_MUST_CHECK int txf_adapter_insert_ordered(txf_adapter *a, const char *head,
                                              const char *src,
                                              const char *order,
                                              const txf_logger *log,
                                              const char *who, txf_err *err);
/* Another connection to the database of the DuckDB adapter A, for a worker
 * thread (`--threads`); TXF_EUNSUPPORTED for other adapters. Close it with
 * txf_adapter_close() before A. */
TXF_MUST_CHECK int txf_adapter_connect_duckdb(txf_adapter **out,
                                              txf_adapter *a, txf_err *err);
/* The DuckDB handle of adapter A, borrowed; NULL for other adapters. */
txf_duck *txf_adapter_duck(txf_adapter *a);

/* ---------------------------------------------------------------- runner */

typedef struct txf_models txf_models;

typedef struct txf_models_opts {
  const char *profiles_dir;  /* --profiles-dir, or NULL */
  const char *target;        /* --target, or NULL for the profile's */
  const char *vars;          /* --vars YAML/JSON map, or NULL */
  const char *data_dir;      /* absolute; silver source, default warehouse */
  const char *home;          /* for ~/.dbt/profiles.yml; NULL: $HOME */
  int read_only;             /* test, compile, docs, ls: a DuckDB file
                                target is opened read-only (in memory while
                                there is none); otherwise (seed, run,
                                build) it is written through its two copies
                                (a session of warehouse.h, published when
                                the run ends) */
  int full_refresh;
  int incremental;           /* compile: render incremental models as a
                                build that keeps them does, asking no
                                warehouse */
  int full_audit;            /* build: every test on whole relations, and
                                the tests with audit='full' */
  const char *state_dir;     /* --state: a directory with the manifest.json
                                of an earlier build, for the state:
                                selector; or NULL */
  int threads;               /* models built at once; 0: the profile
                                target's `threads:`, else 1 */
  txf_store *store;          /* results go here when not NULL */
  const char *invocation_id; /* recorded with results */
  const char *logical_dates; /* the logical dates this run stands for,
                                space-separated (a batched backfill build:
                                several), recorded with the invocation; NULL:
                                the run_date var's */
  const txf_logger *log;
  FILE *out;                 /* a line per node as it starts and ends, and
                                per test; or NULL */
  int quiet;                 /* out: only the lines about problems (ERROR,
                                FAIL, WARN) */
  int json;                  /* out: one JSON object per event instead of
                                lines (docs/models.md, "Output") */
  int64_t now_us;            /* for recorded times */
  const char *target_dir;    /* --target-path: the artifacts (manifest.json,
                                run_results.json, compiled/) go here; NULL:
                                PROJECT/target */
  const char *warehouse_path; /* a DuckDB target's file instead of the
                                 profile's (models build --as-of); NULL: the
                                 profile's */
} txf_models_opts;

typedef struct txf_models_summary {
  int n_ok;          /* models/seeds built */
  int n_error;       /* models/seeds that failed (SQL error or audit) */
  int n_skipped;     /* downstream of a failure */
  int n_pass;        /* tests */
  int n_warn;
  int n_fail;        /* error-severity tests that failed */
  int n_test_error;  /* tests that could not run */
  int n_transient;   /* of the failures above, those a retry may mend (an
                        I/O or lock error, not a SQL or test failure:
                        txf_err_permanent) */
} txf_models_summary;

/* Load the project's models, seeds, tests, macros, docs and profile, and
 * parse every template (parse-time render: refs, sources, config). Errors
 * name file:line:col. OPTS is borrowed for M's lifetime. Caller frees with
 * txf_models_free(). */
TXF_MUST_CHECK int txf_models_load(txf_models **out, const txf_project *p,
                                   const txf_models_opts *opts, txf_err *err);
void txf_models_free(txf_models *m);

/* Select nodes with dbt's syntax: SELECT and EXCLUDE are space-separated
 * terms (a union), each "a,b" an intersection of parts (`name`, `+name`,
 * `N+name`, `name+N`, `@name`, `tag:x`, `path:dir`, `source:s+`, ...,
 * docs/models.md). NULL SELECT selects everything. A plain name that
 * matches nothing is TXF_ENOTFOUND naming the closest node; an unknown or
 * unsupported method is TXF_EUSAGE. */
TXF_MUST_CHECK int txf_models_select(txf_models *m, const char *select,
                                     const char *exclude, txf_err *err);

/* The commands. Each returns 0 when everything succeeded, TXF_ETEST when a
 * test or audit failed, or another code (with ERR) when the run could not
 * proceed (bad SQL is counted in the summary and reported as TXF_EDB). */
TXF_MUST_CHECK int txf_models_compile(txf_models *m, txf_err *err);
TXF_MUST_CHECK int txf_models_seed(txf_models *m, txf_models_summary *s,
                                   txf_err *err);
TXF_MUST_CHECK int txf_models_run(txf_models *m, txf_models_summary *s,
                                  txf_err *err);
TXF_MUST_CHECK int txf_models_test(txf_models *m, txf_models_summary *s,
                                   txf_err *err);
TXF_MUST_CHECK int txf_models_build(txf_models *m, txf_models_summary *s,
                                    txf_err *err);
/* 1 when `test` on M's selection writes the warehouse: a selected test
 * with store_failures, or on-run-start / on-run-end hooks. */
int txf_models_test_writes(const txf_models *m);
/* dbt's `snapshot`: build the selected snapshots (docs/models.md). */
TXF_MUST_CHECK int txf_models_snapshot(txf_models *m, txf_models_summary *s,
                                       txf_err *err);
/* Write target/manifest.json, target/lineage.dot and target/lineage.html. */
TXF_MUST_CHECK int txf_models_docs(txf_models *m, txf_err *err);
/* Print the selected nodes, one per line ("model stg_x", ...) or as JSON. */
TXF_MUST_CHECK int txf_models_ls(txf_models *m, FILE *out, int json,
                                 txf_err *err);

/* The adapter M runs on (opened on first use). Borrowed. Unless
 * opts->read_only, a DuckDB file target is written through its two copies:
 * opening the adapter begins the session (warehouse.h: TXF_ELOCKED when
 * another build writes the warehouse). */
TXF_MUST_CHECK int txf_models_adapter(txf_models *m, txf_adapter **out,
                                      txf_err *err);
/* Publish what this run wrote (a write session's copy becomes the one
 * readers open) and close the adapter; the next txf_models_adapter() call
 * begins a new session. A no-op without a session. Called at the end of
 * seed, run and build, and by txf_models_free(). */
TXF_MUST_CHECK int txf_models_publish(txf_models *m, txf_err *err);

/* Parse a --vars string ("{run_date: 2025-09-11}" or "k: v") — exposed for
 * tests: the value of KEY as text (lists joined with ','), malloc'd; NULL
 * when absent. */
TXF_MUST_CHECK int txf_models_var_text(txf_models *m, const char *key,
                                       char **out, txf_err *err);

#endif /* TXF_MODELS_H */
