/* template: the parsed tree and the helpers the files of src/template
 * share. A file calls only files below it here:
 *
 *   evaluate.c   renders a tree (txf_tpl_render)
 *   env.c        the macros and doc blocks of parsed files (txf_tpl_env)
 *   parse.c      source to tree (txf_tpl_parse), positions in messages
 *   builtins.c   filters, tests, methods and global functions, on values
 *   values.c     the txf_tval helpers */
#ifndef TXF_TEMPLATE_INTERNAL_H
#define TXF_TEMPLATE_INTERNAL_H

#include "template/template.h"

/* ---------------------------------------------------------------- tree */

typedef enum {
  E_LIT, E_NAME, E_ATTR, E_INDEX, E_CALL, E_FILTER, E_NEG, E_NOT, E_BIN,
  E_AND, E_OR, E_COND, E_LIST, E_DICT, E_TEST
} ekind;

typedef enum {
  OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN, OP_ADD, OP_SUB,
  OP_MUL, OP_DIV, OP_FDIV, OP_MOD, OP_CAT
} binop;

typedef struct expr expr;
struct expr {
  ekind kind;
  size_t off; /* source offset, for messages */
  int op;
  int negate; /* E_TEST: "is not" */
  const char *name; /* NAME, ATTR, FILTER, TEST */
  txf_tval *lit;
  expr *a, *b, *c;
  size_t n;
  expr **items; /* LIST items, DICT values, CALL/FILTER args */
  expr **keys;  /* DICT keys */
  size_t n_kw;
  const char **kw_names;
  expr **kw;
};

typedef enum { N_TEXT, N_OUT, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_DO,
               N_DOCS } nkind;

typedef struct node node;
struct node {
  nkind kind;
  size_t off;
  node *next;
  const char *text; /* TEXT */
  size_t len;
  expr *e;          /* OUT, SET, DO, FOR iterable */
  /* IF: conds[i] guards bodies[i]; else_body when none holds */
  size_t n_conds;
  expr **conds;
  node **bodies;
  node *else_body;
  node *body;        /* FOR, SETBLOCK, MACRO, DOCS */
  const char *var1;  /* FOR target, SET name, MACRO/DOCS name */
  const char *var2;  /* FOR second target */
  size_t n_params;   /* MACRO */
  const char **params;
  expr **defaults;
  const struct txf_tpl *tpl; /* MACRO/DOCS: defining template */
};

struct txf_tpl {
  const char *file;
  const char *src;
  size_t len;
  node *body;
};

/* -------------------------------------------------------------- values.c */

/* A value of type T with nothing set, in A. */
txf_tval *txf_tval_new(txf_arena *a, txf_tval_type t);
/* A string of the N bytes at S (copied into A). */
txf_tval *txf_tval_strn(txf_arena *a, const char *s, size_t n);
/* "undefined", "none", "bool", "number", "string", "list" or "dict". */
const char *txf_tval_type_name(const txf_tval *v);
/* 1 when A and B are equal as Jinja compares them (1 == true); containers
 * compare item by item, down to TXF_TPL_MAX_NEST levels (deeper: not
 * equal). */
int txf_tval_equal(const txf_tval *a, const txf_tval *b, int depth);

/* --------------------------------------------------------------- parse.c */

/* Set ERR to "FILE:LINE:COL: MESSAGE" for offset OFF of SRC; returns CODE. */
int txf_tpl_errat(txf_err *err, int code, const char *file, const char *src,
                  size_t off, const char *fmt, ...) TXF_PRINTF(6, 7);

/* ----------------------------------------------------------------- env.c */

/* The macro NAME of ENV (may be NULL), or NULL. Borrowed from ENV. */
const node *txf_tpl_env_macro(const txf_tpl_env *env, const char *name);

/* ------------------------------------------------------------ builtins.c */

/* 1 when NAME is a filter (`x | NAME`) or a test (`x is NAME`): the parser
 * refuses the others, so a typo fails at parse time. */
int txf_tpl_filter_known(const char *name);
int txf_tpl_test_known(const char *name);

/* The builtins work on evaluated values (allocated in A) and know nothing
 * of positions: an error is set in ERR as a bare message, and the caller
 * prefixes the position. */

/* Filter NAME of V with the N (at most 3) defined arguments ARGS. V is
 * undefined only for `default` (`d`). */
TXF_MUST_CHECK int txf_tpl_filter_apply(txf_arena *a, const char *name,
                                        txf_tval *v, txf_tval *const *args,
                                        size_t n, txf_tval **out, txf_err *err);
/* Method NAME of OBJ (defined) with N (at most 3) arguments; `append`
 * changes OBJ. TXF_ENOTFOUND, ERR untouched, when OBJ has no such
 * method. */
TXF_MUST_CHECK int txf_tpl_method_call(txf_arena *a, const char *name,
                                       txf_tval *obj, txf_tval *const *args,
                                       size_t n, txf_tval **out, txf_err *err);
/* The global function NAME (range) with ARGS. TXF_ENOTFOUND, ERR
 * untouched, when there is none of that name. */
TXF_MUST_CHECK int txf_tpl_function_call(txf_arena *a, const char *name,
                                         const txf_tpl_args *args,
                                         txf_tval **out, txf_err *err);
/* Test NAME (none, string, number, mapping, sequence) of V (defined). */
int txf_tpl_test_apply(const char *name, const txf_tval *v);

#endif /* TXF_TEMPLATE_INTERNAL_H */
