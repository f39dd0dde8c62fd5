/* models: private structures shared by the files of src/models, and what
 * each file offers the others. A file calls only files below it here:
 *
 *   run.c        the commands seed, run, test, build, compile
 *   pool.c       the worker pool of a run
 *   build.c      building one node: materializations, write-audit-publish
 *   changes.c    the changes strategy: a model kept from its input's change
 *   docs.c       the commands docs and ls
 *   datatest.c   data tests: their SQL, running and counting them, audits
 *   load.c       txf_models_load/free: puts the parts below together
 *   packages.c   packages.yml, dbt_packages/: the packages' macros
 *   snapshot.c   snapshots: their files, and building them (SCD type 2)
 *   compile.c    rendering a node's template (ref, source, config, ...)
 *   context.c    dbt's other context: execute, this, log, adapter.*, ...
 *   dispatch.c   adapter.dispatch: the target's implementation of a macro
 *   files.c      the project's files: nodes, macros, docs, schema.yml
 *   config.c     folder configs (txnflow.yml) and schema.yml entries
 *   unit.c       unit tests (unit_tests: in a schema.yml) read
 *   graph.c      refs to edges, cycles, topological order, selection
 *   state.c      a node as the manifest identifies it; state: selection
 *   target.c     the target (project/target.c), its adapter, threads
 *   results.c    a run's printed lines, recorded rows and summary
 *   vars.c       vars (`vars:`, --vars) as template values
 *   node.c       adding, finding and naming nodes
 *   adapter_pg.c, adapter.c   the warehouses (libpq; DuckDB) */
#ifndef TXF_MODELS_INTERNAL_H
#define TXF_MODELS_INTERNAL_H

#include <jansson.h>

#include "models/models.h"
#include "template/template.h"
#include "warehouse/warehouse.h"

typedef enum { MN_MODEL, MN_SEED, MN_TEST } mnode_kind;
/* GT_CUSTOM: a {% test %} of the project; its node's template calls the
 * macro test_NAME (config.c writes the call) */
typedef enum {
  GT_NONE,
  GT_UNIQUE,
  GT_NOT_NULL,
  GT_ACCEPTED,
  GT_REL,
  GT_CUSTOM,
  GT_UNIT /* a unit test (unit.c): NAME tests its owner's SQL */
} gtest_kind;

/* Rows of a unit test's given input or expectation (unit.c). */
typedef struct unit_rows {
  char *input;  /* given: "ref('x')", "source('s', 't')" or "this" */
  char *cols;   /* quoted, comma-separated; NULL: no rows */
  char *values; /* "(1, 'a'), (2, NULL)" */
} unit_rows;

typedef struct unit_def {
  unit_rows *given;
  size_t n_given;
  unit_rows expect;
  txf_tval *vars;  /* overrides.vars (in M's arena), or NULL */
  int incremental; /* overrides.macros.is_incremental; -1: not given */
  json_t *def;     /* the YAML entry as JSON (given, expect, overrides as
                      written), for the manifest and its checksum */
} unit_def;

/* What a unit test's compile renders instead of the relations. */
typedef struct unit_mocks {
  const char *const *node_rel;   /* per node: its given rows, or NULL */
  const txf_strlist *src_keys;   /* "source.table" ... */
  const txf_strlist *src_rels;   /* ... and their given rows */
  const txf_tval *vars;          /* overrides of vars, or NULL */
  const char *this_rel;          /* {{ this }}, or NULL: the relation */
} unit_mocks;

typedef struct mcolumn {
  char *name;
  char *description;
  char *data_type;
} mcolumn;

/* A node's state in a run. */
enum { ST_PENDING = 0, ST_OK, ST_ERROR, ST_SKIPPED, ST_DEFERRED };

typedef struct mnode {
  mnode_kind kind;
  char *name;      /* model/seed name (file stem) or test name */
  char *rel_path;  /* relative to the project dir */
  char *abs_path;
  char *raw;       /* template source (models, singular tests) */
  txf_tpl *tpl;    /* parsed (in models->arena) */
  /* config */
  char *materialized; /* view|table|incremental|ephemeral (models) */
  txf_strlist unique_key;
  char *strategy;     /* merge|delete+insert|append|changes */
  char *cluster_by;   /* changes: the column the table is kept in order of
                         (inserts sorted by it, deletes pruned by it) */
  int audit_full;     /* singular tests: config(audit='full'), run in a
                         build only with --full-audit */
  char *chg_input;    /* the relation the template passes to changes():
                         a model's name or "silver.transactions"; NULL */
  char *schema;
  char *alias;        /* relation name; default name */
  txf_strlist tags;
  int enabled;
  char *severity;     /* tests: "error" | "warn" */
  /* tests: dbt's test configs (node.c sets them) */
  char *where;        /* the model filtered by this SQL condition */
  char *warn_if;      /* on the failures: "!=0" (dbt's default), ">10" */
  char *error_if;
  char *fail_calc;    /* the failures: "count(*)" by default */
  int64_t limit;      /* failing rows looked at; -1: all */
  int store_failures; /* keep the failing rows in SCHEMA_dbt_test__audit */
  char *test_macro;   /* GT_CUSTOM: the test's name (test_NAME is called) */
  unit_def *unit;     /* GT_UNIT: its given rows, expectation, overrides */
  /* snapshots (materialized "snapshot", snapshot.c) */
  char *snap_strategy;       /* "timestamp" | "check" */
  char *snap_updated_at;     /* timestamp: the source's updated_at column */
  txf_strlist snap_check_cols; /* check: the columns, or just "all" */
  char *snap_hard_deletes;   /* "ignore" (NULL) | "invalidate" |
                                "new_record" */
  txf_strlist pre_hooks;  /* models, seeds: pre-hook / post-hook SQL */
  txf_strlist post_hooks; /* templates, in dbt's order (outer folders
                             first, then schema.yml, then config()) */
  char *description;
  mcolumn *cols;
  size_t n_cols;
  txf_strlist ct_names; /* seeds: column_types names ... */
  txf_strlist ct_types; /* ... and their SQL types */
  /* tests */
  gtest_kind gtest;
  size_t owner;       /* node the test belongs to (its model) */
  char *column;
  txf_strlist values; /* accepted_values */
  int quote_values;
  char *rel_to;       /* relationships: "ref('x')" expression text */
  char *rel_field;
  char *yml_file;     /* where a generic test was declared */
  int yml_line, yml_col;
  /* graph */
  size_t *parents;    /* node indices (models, seeds) */
  size_t n_parents;
  txf_strlist refs;    /* names from parse-time ref() (resolved later) */
  txf_strlist ref_pos; /* "file:line:col" of each ref, for messages */
  txf_strlist sources; /* "src.table" */
  size_t *tests;      /* tests owned by this node */
  size_t n_tests;
  /* per run */
  int selected;
  int state;          /* ST_*, this run */
  size_t run_pos;     /* position in this run's order; SIZE_MAX: not run */
  int settled;        /* built and its lines printed, in run order */
  char *compiled;     /* last compiled SQL */
  /* per run, the changes strategy (changes.c) */
  int chg_state;      /* 1: the warehouse holds a state row for it */
  int64_t chg_version; /* the silver version it was built to */
  char *chg_hash;     /* the SHA-256 of its full-build SQL then */
  int chg_delta;      /* 1: _txnflow.delta__NAME holds this run's change */
  int64_t chg_from;   /* ... from this silver version to m->chg_now */
  txf_strlist chg_kcols; /* when not empty: _txnflow.ksets__NAME holds the
                            key sets its change touches for the models
                            that follow it, over these columns (changes.c,
                            share_keys) */
  int64_t chg_in, chg_out; /* rows it inserted and deleted (-1: built in
                              full) */
  int64_t chg_rows;   /* its rows after its build by change, known without
                         a count (model_rows), or -1 */
  char *audit_rel;    /* where its generic tests look this run (its new
                         rows), or NULL: the whole relation */
} mnode;

/* A macro (or {% test %} block, named test_NAME as dbt names it) of the
 * root project or a package, as the manifest lists it (files.c). */
typedef struct mmacro {
  char *name;    /* "upper_name", "test_is_positive" */
  char *package; /* the root project's name or the package's */
  char *path;    /* relative to its project ("macros/x.sql") */
  char *sql;     /* the block, {% macro %} to {% endmacro %} */
} mmacro;

typedef struct msource {
  char *source;
  char *table;
  char *schema;
  char *identifier;
  char *external;    /* external_location, with {name} replaced */
  char *description;
  char *source_description; /* the source's (of all its tables) */
  char *yml_file;           /* the schema.yml that declares it */
} msource;

struct txf_models {
  const txf_project *project;
  const txf_models_opts *opts;
  txf_arena arena;      /* templates and long-lived values */
  txf_tpl_env *env;     /* macros and docs */
  mnode *nodes;
  size_t n_nodes, cap_nodes;
  msource *sources;
  size_t n_sources;
  txf_yaml_doc *vars_doc;     /* --vars */
  txf_tval *vars;             /* project vars overlaid by --vars */
  txf_target target;          /* the profile's output M runs on */
  txf_adapter *adapter;
  txf_strlist model_paths, seed_paths, test_paths, macro_paths;
  txf_strlist snapshot_paths;
  txf_strlist packages;       /* the installed packages loaded (names) */
  mmacro *macros;             /* every macro block, in load order */
  size_t n_macros;
  json_t *state;        /* --state DIR's manifest.json (state.c),
                           loaded by the first state: selector */
  txf_wh *wh;           /* the write session on a DuckDB file target
                           (warehouse.h), while one is open */
  size_t n_run;         /* nodes this run builds (its "N of M") */
  json_t *results;      /* this run's results, for run_results.json: one
                           object per node and test as it ended */
  /* the changes strategy, for this run (changes.c) */
  int chg_ready;        /* txf_models_changes_begin() done */
  int64_t chg_now;      /* the silver version on the target; -1: no change
                           log there (changes models build in full) */
  /* this invocation, as templates see it (context.c) */
  int64_t started_us;      /* run_started_at */
  char invocation_id[37];  /* a UUID */
  int compiling;        /* `models compile`: render without asking the
                           warehouse what it holds */
};

/* How compile.c renders a model built by the changes strategy
 * (changes.c prepares the relations, compile.c only substitutes). */
typedef struct chg_render {
  int incremental;        /* is_incremental() */
  int tracked_silver;     /* the tracked input is source('silver',
                             'transactions') ... */
  size_t tracked;         /* ... or this node (SIZE_MAX: none) */
  const char *input_rel;  /* what ref()/source() of the tracked input
                             renders as (images or a filtered relation);
                             NULL: the relation itself */
  const char *delta_rel;  /* what changes() renders as */
  const char *lookup_rel; /* what lookup() of input_rel renders as: the
                             input over the range of the keys, not
                             restricted to them; NULL: as ref() */
  int unavailable;        /* out: changes() met an input whose change is
                             not known for this model's window */
} chg_render;

/* ---------------------------------------------------------------- node.c */

/* "model", "seed" or "test": a node kind as the manifest names it. */
const char *txf_models_kind_name(mnode_kind k);
/* dbt's resource_type of node N: "model", "seed", "test", and
 * "snapshot" / "unit_test" for those. */
const char *txf_models_resource_type(const mnode *n);
/* The unique id of node I in the manifest ("model.PROJECT.NAME");
 * caller frees. */
char *txf_models_unique_id(const txf_models *m, size_t i);

/* Append a node of KIND named NAME (copied) with the defaults of its kind;
 * borrowed until the next node is added. */
mnode *txf_models_node_add(txf_models *m, mnode_kind kind, const char *name);
/* Index of the node NAME of KIND (-1: any kind), or -1. */
ssize_t txf_models_find(const txf_models *m, const char *name, int kind);
/* The model or seed name closest to NAME (for "did you mean"), or NULL.
 * Borrowed from M. */
const char *txf_models_closest(const txf_models *m, const char *name);
/* A file's node name: REL's last component without its extension;
 * caller frees. */
char *txf_models_stem(const char *rel);
/* Node I's schema (its config, else the target's) and relation name (its
 * alias, else its name); borrowed from M. */
const char *txf_models_schema(const txf_models *m, size_t i);
const char *txf_models_identifier(const txf_models *m, size_t i);
/* Quoted relation of node I ("main"."name"); caller frees. */
char *txf_models_relation(const txf_models *m, size_t i);
/* Set dbt's test config KEY (where, severity, warn_if, error_if, limit,
 * fail_calc, store_failures, store_failures_as) of test N to the text S.
 * 1: set; 0: KEY is not a test config; -1: a bad value (ERR says why). */
int txf_models_test_config_set(mnode *n, const char *key, const char *s,
                               txf_err *err);

/* ---------------------------------------------------------------- vars.c */

/* M's vars: the project's `vars:` (and those scoped by its name) overlaid
 * by --vars (TXF_EUSAGE when that is not a map). */
TXF_MUST_CHECK int txf_models_vars_load(txf_models *m, txf_err *err);
/* YAML node N as a template value (plain numbers become numbers, true/false
 * booleans), allocated in A. */
txf_tval *txf_models_yaml_to_tval(txf_arena *a, const txf_yaml_node *n);

/* ---------------------------------------------------------------- results.c */

/* Record a result of node I in this run (a node's end, a test's) for
 * run_results.json, in dbt's shape: STATUS (success, error, skipped; pass,
 * fail, warn, error for tests), its time DUR_US (-1: none), MESSAGE (or
 * NULL), FAILURES and ROWS (-1: unknown). */
void txf_models_result_add(txf_models *m, size_t i, const char *status,
                           int64_t dur_us, const char *message,
                           int64_t failures, int64_t rows);

/* Where one node's work runs: its connection. */
typedef struct exec_ctx {
  txf_adapter *a;   /* a worker's connection */
  txf_adapter *cat; /* the connection under A that keeps the run's lock:
                       catalog changes (schema, drops, the swap) */
  int64_t mono0;    /* txf_mono_us() when the run started */
} exec_ctx;

/* Print one line of the run to opts->out, now (workers call it with the
 * run's lock held, so lines never mix; EX may be NULL): nothing with
 * --quiet or --json. */
void txf_models_say(txf_models *m, const exec_ctx *ex, const char *fmt, ...)
    TXF_PRINTF(3, 4);
/* The same for a line about a problem (ERROR, FAIL, WARN and what they
 * found): printed with --quiet too, not with --json. */
void txf_models_say_problem(txf_models *m, const exec_ctx *ex,
                            const char *fmt, ...) TXF_PRINTF(3, 4);
/* With --json: print EV (a JSON object; this takes it) as one line of
 * opts->out, with "event" set to NAME and "ts" to the time; else just
 * free it. */
void txf_models_emit(txf_models *m, const char *name, json_t *ev);
/* "  3 of 18 " for node I in this run (positions from 1, padded to the
 * width of the total), into OUT (at least 32 bytes); "" when I is not in
 * the run's order. */
const char *txf_models_progress(const txf_models *m, size_t i, char *out);
/* Record a build of node I / a result of test T in the metadata store
 * (when M has one). A failure is a warning: results are a record, not the
 * run. */
void txf_models_record_build(txf_models *m, size_t i, const char *state,
                             int64_t n_rows, int64_t started_us,
                             int64_t duration_us, const char *error);
void txf_models_record_test(txf_models *m, size_t t, const char *status,
                            int64_t failures, const char *sample_json,
                            const char *message, int64_t started_us,
                            int64_t duration_us);
/* Record the logical dates the run stood for (opts->logical_dates) with
 * its invocation, when M has a store and there are some. A failure is a
 * warning. */
void txf_models_record_dates(txf_models *m);
/* The verdict of a run with summary S: 0, or TXF_ETEST naming how many
 * nodes or tests failed. */
TXF_MUST_CHECK int txf_models_summary_finish(const txf_models_summary *s,
                                             txf_err *err);

/* ---------------------------------------------------------------- state.c */

/* L as a JSON array of strings (new). */
json_t *txf_models_strlist_json(const txf_strlist *l);
/* Node I's path as dbt's manifest gives it: relative to the resource path
 * ("marts/orders.sql"); a generic test's "NAME.sql". Caller frees. */
char *txf_models_node_path(const txf_models *m, size_t i);
/* Node I's fqn: [project, folders..., name] (snapshots: the file's stem
 * before the name; unit tests: the model's). A new JSON array. */
json_t *txf_models_node_fqn(const txf_models *m, size_t i);
/* Node I's checksum: {"name": "sha256", "checksum": HEX} of its file,
 * {"name": "none", "checksum": ""} for a generic test (dbt's), a HEX
 * string of its definition for a unit test. New JSON. */
json_t *txf_models_node_checksum(const txf_models *m, size_t i);
/* Node I's configs as written (those that differ from the defaults:
 * dbt's unrendered_config), and in full (its config). New objects. */
json_t *txf_models_node_unrendered(const txf_models *m, size_t i);
json_t *txf_models_node_config(const txf_models *m, size_t i);
/* The unique ids of the macros node I / macro K calls (found in its text,
 * adapter.dispatch's candidates included), sorted. New arrays. */
json_t *txf_models_node_macros(const txf_models *m, size_t i);
json_t *txf_models_macro_calls(const txf_models *m, size_t k);
/* Read opts->state_dir/manifest.json into M (once). TXF_EUSAGE without
 * --state or without the file; TXF_EPARSE for a file that is not a
 * manifest. */
TXF_MUST_CHECK int txf_models_state_load(txf_models *m, txf_err *err);
/* 0 when VALUE is a state: selector txnflow has (new, old, modified,
 * unmodified, modified.body / .configs / .relation / .macros), else
 * TXF_EUSAGE naming it. */
TXF_MUST_CHECK int txf_models_state_check(const char *value, txf_err *err);
/* 1 when node I is selected by state:VALUE against the loaded state. */
int txf_models_state_hit(const txf_models *m, size_t i, const char *value);

/* ---------------------------------------------------------------- target.c */

/* Resolve M's target from its profile (project/target.c); a DuckDB
 * target's file is opts->warehouse_path when that is set (a PostgreSQL or
 * Redshift target is then TXF_EUSAGE). */
TXF_MUST_CHECK int txf_models_target_load(txf_models *m, txf_err *err);
/* NAME under the artifacts' directory: opts->target_dir, else
 * PROJECT/target (caller frees). */
char *txf_models_target_file(const txf_models *m, const char *name);
/* Models built at once: --threads, else the target's threads:, else 1. */
int txf_models_threads(const txf_models *m);
/* 1 when M's target is DuckDB (a worker's connection is a wrapper: ask M,
 * not the adapter). */
int txf_models_target_is_duck(const txf_models *m);
/* " AND ALIAS.COL BETWEEN lo AND hi" (typed literals) over the values of
 * column COL in relation REL, " AND FALSE" when it has none; "" on a
 * target other than DuckDB. Caller frees *OUT. */
int txf_models_range_pred(const txf_models *m, txf_adapter *a,
                          const char *rel, const char *col, const char *alias,
                          char **out, txf_err *err);
/* SQL's rows on A as a JSON array of objects (caller decrefs). */
int txf_models_query_rows(txf_adapter *a, const char *sql, json_t **out,
                          txf_err *err);

/* ---------------------------------------------------------------- dispatch.c */

/* Check the project's `dispatch:` config (a list of {macro_namespace,
 * search_order}); TXF_ECONFIG at the entry that is wrong. */
TXF_MUST_CHECK int txf_models_dispatch_check(const txf_models *m,
                                             txf_err *err);
/* adapter.dispatch(macro_name, macro_namespace=None) with arguments A: the
 * first of <target type>__NAME, (Redshift:) postgres__NAME, default__NAME
 * in each project of the search order (the dispatch config's for the
 * namespace, else the root project, then the namespace), as a macro value
 * in A's arena. TXF_ENOTFOUND naming every candidate when there is none;
 * TXF_EPARSE for bad arguments or a NAME with a '.'. */
TXF_MUST_CHECK int txf_models_dispatch(const txf_models *m,
                                       const txf_tpl_args *a, txf_tval **out,
                                       txf_err *err);

/* ---------------------------------------------------------------- packages.c
 */

/* Load the packages packages.yml (or dependencies.yml) names and those
 * installed under packages-install-path (dbt_packages): their macros and
 * generic tests into M's env as NAME.macro (and bare where the root
 * project has none). A package named but not installed is TXF_ECONFIG
 * saying how to vendor it; a package with models too. */
TXF_MUST_CHECK int txf_models_packages_load(txf_models *m, txf_err *err);

/* ---------------------------------------------------------------- snapshot.c
 */

/* Add a node (a model materialized "snapshot") for every
 * {% snapshot NAME %} ... {% endsnapshot %} block in the snapshot paths'
 * .sql files. */
TXF_MUST_CHECK int txf_models_snapshot_files_add(txf_models *m, txf_err *err);
/* Build snapshot I on A as dbt's snapshot materialization does (its
 * strategy, unique_key, hard_deletes): the first build creates the table,
 * later ones add new versions and close the old in one transaction.
 * *N_ROWS: the table's rows after. */
TXF_MUST_CHECK int txf_models_snapshot_build(txf_models *m, txf_adapter *a,
                                             size_t i, int64_t *n_rows,
                                             txf_err *err);

/* ---------------------------------------------------------------- files.c */

/* The files under DIR ending in SFX, relative to DIR, sorted, into OUT. */
void txf_models_walk(const char *dir, const char *sfx, txf_strlist *out);
/* Read model-paths, seed-paths, test-paths and macro-paths (dbt's names and
 * old names) from the project file. */
TXF_MUST_CHECK int txf_models_paths_read(txf_models *m, txf_err *err);
/* Add a node of KIND for every file ending in SFX under DIRS (sorted), its
 * template parsed (not for seeds). A name used twice is TXF_ECONFIG. */
TXF_MUST_CHECK int txf_models_files_add(txf_models *m, const txf_strlist *dirs,
                                        mnode_kind kind, const char *sfx,
                                        txf_err *err);
/* What txf_models_files_each calls for each file: REL (relative to the
 * project, or absolute for a package's), ABS, its TEXT of LEN bytes. */
typedef int (*txf_models_file_fn)(txf_models *m, const char *rel,
                                  const char *abs, const char *text,
                                  size_t len, void *ctx, txf_err *err);
/* Call FN for each file ending in SFX under DIRS (relative to BASE, NULL:
 * the project), in order; the first error stops. */
TXF_MUST_CHECK int txf_models_files_each(txf_models *m, const char *base,
                                         const txf_strlist *dirs,
                                         const char *sfx,
                                         txf_models_file_fn fn, void *ctx,
                                         txf_err *err);
/* Parse every file ending in SFX under DIRS (relative to BASE, NULL: the
 * project) into M's template env (macros, doc blocks), each macro also
 * named NS.name (NS may be NULL); SHARED for a package's files (the root
 * project's names win, docs/models.md). */
TXF_MUST_CHECK int txf_models_env_files_add(txf_models *m, const char *base,
                                            const txf_strlist *dirs,
                                            const char *sfx, const char *ns,
                                            int shared, txf_err *err);
/* Apply every schema.yml (.yml, .yaml) under the model and seed paths. */
TXF_MUST_CHECK int txf_models_schema_files_load(txf_models *m, txf_err *err);

/* ---------------------------------------------------------------- config.c */

/* Apply txnflow.yml's folder configs (`models:`, `seeds:`) to every model
 * and seed. */
TXF_MUST_CHECK int txf_models_folder_configs_apply(txf_models *m, txf_err *err);
/* Apply the project file's `tests:` / `data_tests:` +configs to test T
 * (before its own, which win, as in dbt). Folder or package levels are
 * TXF_ECONFIG. */
TXF_MUST_CHECK int txf_models_test_defaults_apply(txf_models *m, mnode *t,
                                                  txf_err *err);
/* Apply one schema.yml DOC: its sources, and its models' and seeds'
 * descriptions, columns, configs and generic tests (added as nodes). */
TXF_MUST_CHECK int txf_models_schema_doc_apply(txf_models *m,
                                               const txf_yaml_doc *doc,
                                               txf_err *err);

/* ---------------------------------------------------------------- unit.c */

/* Add a unit test node (GT_UNIT, owned by its model) for each entry of
 * LIST (a schema.yml's `unit_tests:`). Anything of dbt's unit tests that
 * txnflow lacks (fixture files, format sql, env_vars, other macro
 * overrides) is TXF_ECONFIG naming it. */
TXF_MUST_CHECK int txf_models_unit_tests_load(txf_models *m,
                                              const txf_yaml_doc *doc,
                                              const txf_yaml_node *list,
                                              txf_err *err);
void txf_models_unit_free(unit_def *u);

/* ---------------------------------------------------------------- compile.c */

/* Compile node I (a model or singular/generic test) into a malloc'd SQL
 * string. PARSE: the parse-time pass (records refs and config). OVER_NODE /
 * OVER_REL: point refs to node OVER_NODE at relation OVER_REL instead (WAP
 * audits); OVER_NODE = SIZE_MAX for none. INCREMENTAL: is_incremental(). */
TXF_MUST_CHECK int txf_models_compile_node(txf_models *m, size_t i, int parse,
                                           int incremental, size_t over_node,
                                           const char *over_rel, char **out,
                                           txf_err *err);
/* Compile model I for a unit test: refs, sources and `this` as MK gives
 * them (a ref or source it does not give is TXF_ECONFIG naming it), vars
 * overridden, is_incremental() INCREMENTAL. Caller frees *OUT. */
TXF_MUST_CHECK int txf_models_compile_unit(txf_models *m, size_t i,
                                           const unit_mocks *mk,
                                           int incremental, char **out,
                                           txf_err *err);
/* Compile model I for the changes strategy as CR says (changes.c). */
TXF_MUST_CHECK int txf_models_compile_changes(txf_models *m, size_t i,
                                              chg_render *cr, char **out,
                                              txf_err *err);
/* Render hook TEXT (a pre-hook, post-hook, on-run-start or on-run-end
 * template) for NODE (SIZE_MAX: none; `this` is its relation), with the
 * names of EXTRA (a DICT or NULL: on-run-end's schemas) visible; caller
 * frees *OUT. */
TXF_MUST_CHECK int txf_models_render_hook(txf_models *m, size_t node,
                                          const char *text,
                                          const txf_tval *extra, char **out,
                                          txf_err *err);
/* Description with doc() rendered (TEXT itself when that fails); NULL for
 * NULL; caller frees. */
char *txf_models_render_description(txf_models *m, const char *text,
                                    txf_err *err);

/* ---------------------------------------------------------------- context.c */

/* Set M's run_started_at (now) and invocation_id (a random UUID). */
void txf_models_context_init(txf_models *m);
/* Add dbt's globals to G for rendering NODE (SIZE_MAX: none): execute
 * (false in the PARSE pass, as in dbt), invocation_id, run_started_at, and
 * `this` (a relation printed as THIS_REL, when not NULL). */
void txf_models_context_globals(txf_models *m, size_t node, int parse,
                                const char *this_rel, txf_arena *a,
                                txf_tval *g);
/* dbt's context functions: log, adapter.quote, adapter.get_relation,
 * exceptions.raise_compiler_error / warn, modules.datetime, and the
 * methods of their objects. TXF_ENOTFOUND (ERR untouched) for a name that
 * is none of dbt's; a dbt name txnflow lacks is TXF_EPARSE naming it. */
TXF_MUST_CHECK int txf_models_context_fn(txf_models *m, size_t node, int parse,
                                         const char *name,
                                         const txf_tpl_args *a,
                                         txf_tval **out, txf_err *err);
/* ---------------------------------------------------------------- docs.c */

/* After a run of COMMAND ("build", "run", "seed", "test"): write
 * target/manifest.json (the nodes as they are now, with the SQL this run
 * compiled) and target/run_results.json (this run's results, dbt's
 * format) atomically, so the dashboard and the lineage events follow the
 * last build. */
TXF_MUST_CHECK int txf_models_artifacts_write(txf_models *m,
                                              const char *command,
                                              int64_t elapsed_us,
                                              txf_err *err);

/* ---------------------------------------------------------------- datatest.c
 */

/* The SQL of test T, selecting its failing rows; REL_OVER for the owner's
 * relation (WAP) or NULL. Caller frees *OUT. */
TXF_MUST_CHECK int txf_models_test_sql(txf_models *m, size_t t,
                                       const char *rel_over, char **out,
                                       txf_err *err);
/* Run test T on connection A (NULL: M's adapter); REL_OVER for the
 * owner's relation (WAP) or NULL. *failed is dbt's verdict on its failing
 * rows (the test configs warn_if, error_if, fail_calc, limit): 0 pass, 1
 * warn, 2 fail. Records the result. *SAMPLE_OUT (may be NULL) gets its
 * first failing rows as a JSON array of objects with text values, or
 * NULL; caller frees. */
TXF_MUST_CHECK int txf_models_test_run(txf_models *m, txf_adapter *a, size_t t,
                                       const char *rel_over, int *failed,
                                       int64_t *n_fail, char **sample_out,
                                       txf_err *err);
/* Run test T on EX's connection (EX NULL: M's adapter, lines printed now)
 * and count it in S; FAILED_TEST (may be NULL) gets T when it is an
 * error-severity test that failed or could not run (*FAILED_ROWS: its
 * failing rows, -1 when it could not run). */
void txf_models_test_count(txf_models *m, const exec_ctx *ex, size_t t,
                           const char *rel_over, txf_models_summary *s,
                           size_t *failed_test, int64_t *failed_rows);
/* Run node I's selected tests of SEVERITY against REL_OVER (NULL: the
 * published relation), deferring those that read a node built later in
 * the run; *FAILED_TEST gets the first failing error-severity test. */
void txf_models_node_tests_run(txf_models *m, const exec_ctx *ex, size_t i,
                               const char *severity, const char *rel_over,
                               txf_models_summary *s, size_t *failed_test,
                               int64_t *failed_rows);
/* Audit node I: its error-severity tests on REL_OVER (as
 * txf_models_node_tests_run), counted in S. TXF_ETEST "audit failed: test
 * T found failing rows; THEN" when one failed or could not run. */
TXF_MUST_CHECK int txf_models_node_audit(txf_models *m, const exec_ctx *ex,
                                         size_t i, const char *rel_over,
                                         txf_models_summary *s,
                                         const char *then, txf_err *err);
/* Run node I's selected unit tests on EX's connection, counted in S:
 * TXF_ETEST naming the first that failed (the node is then not built). */
TXF_MUST_CHECK int txf_models_node_unit_tests_run(txf_models *m,
                                                  const exec_ctx *ex, size_t i,
                                                  txf_models_summary *s,
                                                  txf_err *err);
/* Run the deferred tests whose parents have all settled (built and
 * printed, in run order); FINAL: all that are left. */
void txf_models_deferred_tests_run(txf_models *m, const exec_ctx *ex,
                                   txf_models_summary *s, int final);

/* ---------------------------------------------------------------- build.c */

/* How a run builds. */
typedef struct {
  int audit; /* build: test the new version before publishing */
  txf_models_summary *s;
} runopts;

/* Build node I (a model or seed) on EX's connection, or skip it when a
 * parent did not build: print its line, count it in RO->s, record it,
 * and with RO->audit run its warn-severity tests after. */
void txf_models_build_node(txf_models *m, const exec_ctx *ex, size_t i,
                           const runopts *ro);

/* ---------------------------------------------------------------- changes.c */

/* 1 when N is a model of the changes strategy (a table, or a view). */
int txf_models_is_changes(const mnode *n);
/* 1 when N is a view of the changes strategy: nothing stored; a build
 * computes its change (its SQL over its input's images) for the models
 * that follow it. */
int txf_models_is_changes_view(const mnode *n);
/* Before a run that builds models of the strategy: the state table, the
 * states, the silver version now; working tables a killed build left are
 * dropped. */
TXF_MUST_CHECK int txf_models_changes_begin(txf_models *m, txf_err *err);
/* DuckDB: make TXF_MODELS_ROWS_REL if missing (a build of models reads it
 * through the table_rows() macro, and the changes strategy writes it). */
TXF_MUST_CHECK int txf_models_rows_begin(txf_models *m, txf_err *err);
/* txf_models_rows_forget_duck on A when it is DuckDB's. */
TXF_MUST_CHECK int txf_models_rows_forget(txf_adapter *a, txf_err *err);
/* After the run: drop its working tables. */
void txf_models_changes_end(txf_models *m);
/* Model I's SQL for a full build (caller frees). */
TXF_MUST_CHECK int txf_models_changes_full_sql(txf_models *m, size_t i,
                                               char **sql, txf_err *err);
/* The SHA-256 of FULL_SQL and the seeds I reads (HEX: 65 bytes). */
TXF_MUST_CHECK int txf_models_changes_hash(txf_models *m, size_t i,
                                           const char *full_sql, char hex[65],
                                           txf_err *err);
/* The statements that record model I's state (built to the version now,
 * with HEX), for the transaction that publishes it; caller frees. */
char *txf_models_changes_state_sql(txf_models *m, size_t i, const char *hex);
/* Build model I from its input's change on EX's connection, audited with
 * RO. *FULL = 1 (nothing done, no error) when the change is not known for
 * its window: build it in full. Else 0, or the error (*AUDIT_FAIL for a
 * failed audit); nothing is published then. */
TXF_MUST_CHECK int txf_models_changes_build(txf_models *m, const exec_ctx *ex,
                                            size_t i, const runopts *ro,
                                            const char *hash, int *full,
                                            int *audit_fail, txf_err *err);

/* Run node I's hooks LIST (its pre_hooks or post_hooks) on A, each
 * rendered first. TXF_* naming the hook when one fails. */
TXF_MUST_CHECK int txf_models_node_hooks_run(txf_models *m, txf_adapter *a,
                                             size_t i, const txf_strlist *list,
                                             const char *what, txf_err *err);

/* ---------------------------------------------------------------- pool.c */

/* Build the N_RUN nodes RUN (topological order; their run_pos set) with
 * txf_models_threads(m) workers, each node once all it waits for has
 * finished; lines print in run order; with RO->audit, deferred tests run
 * as their parents settle. TXF_* only when M's adapter cannot be opened. */
TXF_MUST_CHECK int txf_models_pool_run(txf_models *m, size_t *run, size_t n_run,
                                       const runopts *ro, txf_err *err);

/* ---------------------------------------------------------------- graph.c */

/* Resolve refs into parents, find cycles, give each test its owner. */
TXF_MUST_CHECK int txf_models_graph_resolve(txf_models *m, txf_err *err);
/* Topological order of all nodes that are not tests (soft: also order by
 * tests' extra parents when possible). *order malloc'd. */
TXF_MUST_CHECK int txf_models_graph_topo(txf_models *m, int soft,
                                         size_t **order, size_t *n,
                                         txf_err *err);

/* ---------------------------------------------------------------- adapter.c
 */

/* A new adapter of OPS over the connection IMPL (taken: OPS->close closes
 * it). Caller frees with txf_adapter_close(). */
txf_adapter *txf_adapter_new(const txf_adapter_ops *ops, void *impl);
/* The relation_kind answer from an adapter's integer query of
 * information_schema.tables, "CASE WHEN table_type = 'VIEW' THEN 2 ELSE 1
 * END": RC is the query's status (TXF_ENOTFOUND without a row: no such
 * relation) and K its value. Returns RC unless it is 0 or TXF_ENOTFOUND. */
TXF_MUST_CHECK int txf_adapter_rel_kind_answer(int rc, int64_t k,
                                               txf_rel_kind *out);
/* The column names of SCHEMA.IDENT on A, quoted and comma-separated
 * ("a", "b"), in *OUT (caller frees). */
TXF_MUST_CHECK int txf_adapter_column_list(txf_adapter *a, const char *schema,
                                           const char *ident, char **out,
                                           txf_err *err);

#endif /* TXF_MODELS_INTERNAL_H */
