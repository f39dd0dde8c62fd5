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
 *   compile.c    rendering a node's template (ref, source, config, ...)
 *   dispatch.c   adapter.dispatch: the target's implementation of a macro
 *   files.c      the project's files: nodes, macros, docs, schema.yml
 *   config.c     folder configs (txnflow.yml) and schema.yml entries
 *   graph.c      refs to edges, cycles, topological order, selection
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
typedef enum { GT_NONE, GT_UNIQUE, GT_NOT_NULL, GT_ACCEPTED, GT_REL } gtest_kind;

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
  int64_t chg_in, chg_out; /* rows it inserted and deleted (-1: built in
                              full) */
  char *audit_rel;    /* where its generic tests look this run (its new
                         rows), or NULL: the whole relation */
} mnode;

typedef struct msource {
  char *source;
  char *table;
  char *schema;
  char *identifier;
  char *external;    /* external_location, with {name} replaced */
  char *description;
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
  txf_wh *wh;           /* the write session on a DuckDB file target
                           (warehouse.h), while one is open */
  size_t n_run;         /* nodes this run builds (its "N of M") */
  json_t *results;      /* this run's results, for run_results.json: one
                           object per node and test as it ended */
  /* the changes strategy, for this run (changes.c) */
  int chg_ready;        /* txf_models_changes_begin() done */
  int64_t chg_now;      /* the silver version on the target; -1: no change
                           log there (changes models build in full) */
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
  int unavailable;        /* out: changes() met an input whose change is
                             not known for this model's window */
} chg_render;

/* ---------------------------------------------------------------- node.c */

/* "model", "seed" or "test": a node kind as the manifest names it. */
const char *txf_models_kind_name(mnode_kind k);
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

/* ---------------------------------------------------------------- vars.c */

/* M's vars: the project's `vars:` (and those scoped by its name) overlaid
 * by --vars (TXF_EUSAGE when that is not a map). */
TXF_MUST_CHECK int txf_models_vars_load(txf_models *m, txf_err *err);
/* YAML node N as a template value (plain numbers become numbers, true/false
 * booleans), allocated in A. */
txf_tval *txf_models_yaml_to_tval(txf_arena *a, const txf_yaml_node *n);

/* ---------------------------------------------------------------- results.c */

/* Record a result of this run (a node's end, a test's) for
 * run_results.json: RESULT is a JSON object with unique_id, status,
 * execution_time, message and failures or rows; this takes it. */
void txf_models_result_add(txf_models *m, json_t *result);

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

/* ---------------------------------------------------------------- target.c */

/* Resolve M's target from its profile (project/target.c). */
TXF_MUST_CHECK int txf_models_target_load(txf_models *m, txf_err *err);
/* Models built at once: --threads, else the target's threads:, else 1. */
int txf_models_threads(const txf_models *m);

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

/* ---------------------------------------------------------------- files.c */

/* Read model-paths, seed-paths, test-paths and macro-paths (dbt's names and
 * old names) from the project file. */
TXF_MUST_CHECK int txf_models_paths_read(txf_models *m, txf_err *err);
/* Add a node of KIND for every file ending in SFX under DIRS (sorted), its
 * template parsed (not for seeds). A name used twice is TXF_ECONFIG. */
TXF_MUST_CHECK int txf_models_files_add(txf_models *m, const txf_strlist *dirs,
                                        mnode_kind kind, const char *sfx,
                                        txf_err *err);
/* Parse every file ending in SFX under DIRS into M's template env (macros,
 * doc blocks). */
TXF_MUST_CHECK int txf_models_env_files_add(txf_models *m,
                                            const txf_strlist *dirs,
                                            const char *sfx, txf_err *err);
/* Apply every schema.yml (.yml, .yaml) under the model and seed paths. */
TXF_MUST_CHECK int txf_models_schema_files_load(txf_models *m, txf_err *err);

/* ---------------------------------------------------------------- config.c */

/* Apply txnflow.yml's folder configs (`models:`, `seeds:`) to every model
 * and seed. */
TXF_MUST_CHECK int txf_models_folder_configs_apply(txf_models *m, txf_err *err);
/* Apply one schema.yml DOC: its sources, and its models' and seeds'
 * descriptions, columns, configs and generic tests (added as nodes). */
TXF_MUST_CHECK int txf_models_schema_doc_apply(txf_models *m,
                                               const txf_yaml_doc *doc,
                                               txf_err *err);

/* ---------------------------------------------------------------- compile.c */

/* Compile node I (a model or singular/generic test) into a malloc'd SQL
 * string. PARSE: the parse-time pass (records refs and config). OVER_NODE /
 * OVER_REL: point refs to node OVER_NODE at relation OVER_REL instead (WAP
 * audits); OVER_NODE = SIZE_MAX for none. INCREMENTAL: is_incremental(). */
TXF_MUST_CHECK int txf_models_compile_node(txf_models *m, size_t i, int parse,
                                           int incremental, size_t over_node,
                                           const char *over_rel, char **out,
                                           txf_err *err);
/* Compile model I for the changes strategy as CR says (changes.c). */
TXF_MUST_CHECK int txf_models_compile_changes(txf_models *m, size_t i,
                                              chg_render *cr, char **out,
                                              txf_err *err);
/* Description with doc() rendered (TEXT itself when that fails); NULL for
 * NULL; caller frees. */
char *txf_models_render_description(txf_models *m, const char *text,
                                    txf_err *err);

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
 * owner's relation (WAP) or NULL. *failed is set to 1 when it found
 * failing rows. Records the result. *SAMPLE_OUT (may be NULL) gets its
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

/* 1 when N is a model of the changes strategy. */
int txf_models_is_changes(const mnode *n);
/* Before a run that builds models of the strategy: the state table, the
 * states, the silver version now; working tables a killed build left are
 * dropped. */
TXF_MUST_CHECK int txf_models_changes_begin(txf_models *m, txf_err *err);
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
