/* models: private structures shared by the files of src/models. */
#ifndef TXF_MODELS_INTERNAL_H
#define TXF_MODELS_INTERNAL_H

#include "models/models.h"
#include "template/template.h"

typedef enum { MN_MODEL, MN_SEED, MN_TEST } mnode_kind;
typedef enum { GT_NONE, GT_UNIQUE, GT_NOT_NULL, GT_ACCEPTED, GT_REL } gtest_kind;

typedef struct mcolumn {
  char *name;
  char *description;
  char *data_type;
} mcolumn;

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
  char *strategy;     /* merge|delete+insert|append */
  char *schema;
  char *alias;        /* relation name; default name */
  txf_strlist tags;
  int enabled;
  char *severity;     /* tests: "error" | "warn" */
  char *description;
  mcolumn *cols;
  size_t n_cols;
  txf_strlist ct_names;   /* seeds: column_types names ... */
  txf_strlist ct_types;   /* ... and their SQL types */
  /* tests */
  gtest_kind gtest;
  size_t owner;       /* node the test belongs to (its model) */
  char *column;
  txf_strlist values;     /* accepted_values */
  int quote_values;
  char *rel_to;       /* relationships: "ref('x')" expression text */
  char *rel_field;
  char *yml_file;     /* where a generic test was declared */
  int yml_line, yml_col;
  /* graph */
  size_t *parents;    /* node indices (models, seeds) */
  size_t n_parents;
  txf_strlist refs;       /* names from parse-time ref() (resolved later) */
  txf_strlist ref_pos;    /* "file:line:col" of each ref, for messages */
  txf_strlist sources;    /* "src.table" */
  size_t *tests;      /* tests owned by this node */
  size_t n_tests;
  /* per run */
  int selected;
  int state;          /* 0 pending, 1 ok, 2 error, 3 skipped */
  size_t run_pos;     /* position in this run's order; SIZE_MAX: not run */
  int settled;        /* built and its lines printed, in run order */
  char *compiled;     /* last compiled SQL */
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
  txf_target target;     /* the profile's output M runs on */
  txf_adapter *adapter;
  txf_strlist model_paths, seed_paths, test_paths, macro_paths;
};

/* load.c */
int models_load_profile(txf_models *m, txf_err *err);
int models_load_vars(txf_models *m, txf_err *err);
txf_tval *models_yaml_to_tval(txf_arena *a, const txf_yaml_node *n);
ssize_t models_find(const txf_models *m, const char *name, int kind);
const char *models_closest(const txf_models *m, const char *name);

/* compile.c */
/* Compile node I (a model or singular/generic test) into a malloc'd SQL
 * string. PARSE: the parse-time pass (records refs and config). OVER_NODE /
 * OVER_REL: point refs to node OVER_NODE at relation OVER_REL instead (WAP
 * audits); OVER_NODE = SIZE_MAX for none. INCREMENTAL: is_incremental(). */
int models_compile_node(txf_models *m, size_t i, int parse, int incremental,
                        size_t over_node, const char *over_rel, char **out,
                        txf_err *err);
/* Quoted relation of node I ("main"."name"); caller frees. */
char *models_relation(const txf_models *m, size_t i);
const char *models_schema(const txf_models *m, size_t i);
const char *models_identifier(const txf_models *m, size_t i);
/* Description with doc() rendered; caller frees. */
char *models_render_description(txf_models *m, const char *text,
                                txf_err *err);

/* graph.c */
int models_resolve_graph(txf_models *m, txf_err *err);
/* Topological order of all nodes that are not tests (soft: also order by
 * tests' extra parents when possible). *order malloc'd. */
int models_topo(txf_models *m, int soft, size_t **order, size_t *n,
                txf_err *err);

/* datatest.c */
/* Run test T on connection A (NULL: M's adapter); REL_OVER for the
 * owner's relation (WAP) or NULL. *failed is set to 1 when it found
 * failing rows. Records the result. */
int models_run_test(txf_models *m, txf_adapter *a, size_t t,
                    const char *rel_over, int *failed, int64_t *n_fail,
                    txf_err *err);
int models_test_sql(txf_models *m, size_t t, const char *rel_over,
                    char **out, txf_err *err);

/* run.c */
/* Models built at once: --threads, else the target's threads:, else 1. */
int models_threads(const txf_models *m);
void models_record_build(txf_models *m, size_t i, const char *state,
                         int64_t n_rows, int64_t started_us,
                         int64_t duration_us, const char *error);
void models_record_test(txf_models *m, size_t t, const char *status,
                        int64_t failures, const char *sample_json,
                        const char *message, int64_t started_us,
                        int64_t duration_us);

/* docs.c: nothing shared */

#endif /* TXF_MODELS_INTERNAL_H */
