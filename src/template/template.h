/* template: the Jinja subset dbt projects use — the models' SQL files,
 * macros and docs (src/models) and profiles.yml values (src/project).
 *
 * A template is parsed once into a tree (in an arena), then rendered with a
 * host callback that supplies the functions (ref, source, config, var, ...).
 * Nothing in a template can run code outside this module: there is no
 * attribute access to host objects, no imports, no eval; loops, recursion,
 * output size and evaluation steps are bounded, and every error names
 * "file:line:column". */
#ifndef TXF_TEMPLATE_H
#define TXF_TEMPLATE_H

#include <stddef.h>

#include "util/util.h"

/* Limits (see docs/models.md). */
#define TXF_TPL_MAX_NEST 64              /* nesting of blocks/expressions */
#define TXF_TPL_MAX_CALL_DEPTH 32        /* macro calls */
#define TXF_TPL_MAX_ITER 100000          /* loop iterations per render */
#define TXF_TPL_MAX_STEPS 2000000        /* evaluation steps per render */
#define TXF_TPL_MAX_OUT (16u << 20)      /* rendered bytes */
#define TXF_TPL_MAX_SRC (4u << 20)       /* template source bytes */

typedef enum {
  TXF_TV_UNDEF, /* an unknown name; an error wherever it is used */
  TXF_TV_NONE,
  TXF_TV_BOOL,
  TXF_TV_NUM,
  TXF_TV_STR,
  TXF_TV_LIST,
  TXF_TV_DICT,
  TXF_TV_MACRO /* a macro of the render's env, by name (S): what
                  adapter.dispatch returns; calling the value calls it */
} txf_tval_type;

/* A value. Allocated in the render's arena; never freed one by one. */
typedef struct txf_tval {
  txf_tval_type type;
  int b;                   /* BOOL */
  double num;              /* NUM */
  const char *s;           /* STR (NUL-terminated) */
  size_t len;              /* STR length; LIST/DICT item count */
  size_t cap;              /* LIST/DICT allocated slots */
  struct txf_tval **items; /* LIST items, DICT values */
  const char **keys;       /* DICT keys */
} txf_tval;

typedef struct txf_tpl txf_tpl;       /* a parsed template */
typedef struct txf_tpl_env txf_tpl_env; /* macros and docs shared by renders */

/* Arguments of a host function call; values borrowed for the call. */
typedef struct txf_tpl_args {
  size_t n;
  txf_tval **v;
  size_t n_kw;
  const char **kw_names;
  txf_tval **kw;
  txf_arena *arena; /* allocate results here */
} txf_tpl_args;

/* A host function: return TXF_ENOTFOUND *without touching ERR* when NAME is
 * not one of its functions; otherwise 0 with *out set, or an error (the
 * engine prefixes the position). A call OBJ.NAME(...) whose OBJ is no
 * variable reaches the host as "OBJ.NAME" (dbt's adapter.dispatch); when
 * the host does not know it, OBJ is an undefined variable. */
typedef int (*txf_tpl_host_fn)(void *host, const char *name,
                               const txf_tpl_args *args, txf_tval **out,
                               txf_err *err);

/* Parse SRC (LEN bytes) named FILE into a template allocated in ARENA (which
 * must outlive it; FILE is copied). TXF_EPARSE "FILE:L:C: ..." on error. */
TXF_MUST_CHECK int txf_tpl_parse(txf_tpl **out, txf_arena *arena,
                                 const char *file, const char *src,
                                 size_t len, txf_err *err);

txf_tpl_env *txf_tpl_env_new(void);
void txf_tpl_env_free(txf_tpl_env *env);
/* Register the macros and doc blocks TPL defines (TPL must live as long as
 * ENV: parse it in txf_tpl_env_arena(env)). Text outside them is ignored.
 * A duplicate macro or doc name is TXF_ECONFIG. */
TXF_MUST_CHECK int txf_tpl_env_add(txf_tpl_env *env, const txf_tpl *tpl,
                                   txf_err *err);
txf_arena *txf_tpl_env_arena(txf_tpl_env *env);
/* The text of doc block NAME, or NULL. Borrowed from ENV. */
const char *txf_tpl_env_doc(const txf_tpl_env *env, const char *name);
size_t txf_tpl_env_n_macros(const txf_tpl_env *env);
/* 1 when ENV (may be NULL) defines the macro NAME. */
int txf_tpl_env_has_macro(const txf_tpl_env *env, const char *name);

/* Render TPL into OUT (appended; OUT's own cap applies as well). GLOBALS
 * (a DICT or NULL) are visible names; HOST/FN supply functions; ENV (may be
 * NULL) the macros. Values are allocated in ARENA. */
TXF_MUST_CHECK int txf_tpl_render(const txf_tpl *tpl, const txf_tpl_env *env,
                                  const txf_tval *globals, txf_tpl_host_fn fn,
                                  void *host, txf_arena *arena, txf_buf *out,
                                  txf_err *err);

/* dbt's env_var('NAME'[, default]), for a host that offers it (reading
 * the environment is the host's choice, not the engine's): the variable's
 * value, else DEFAULT. TXF_ECONFIG when it is unset without a default,
 * TXF_EPARSE for other arguments. */
TXF_MUST_CHECK int txf_tpl_env_var(const txf_tpl_args *args, txf_tval **out,
                                   txf_err *err);

/* Value helpers for hosts. */
txf_tval *txf_tval_str(txf_arena *a, const char *s);
txf_tval *txf_tval_num(txf_arena *a, double x);
txf_tval *txf_tval_bool(txf_arena *a, int b);
txf_tval *txf_tval_none(txf_arena *a);
txf_tval *txf_tval_list(txf_arena *a);
txf_tval *txf_tval_dict(txf_arena *a);
/* A reference to the env's macro NAME (copied); an error when called if the
 * env has none of that name. Printed, it is an error. */
txf_tval *txf_tval_macro(txf_arena *a, const char *name);
void txf_tval_push(txf_arena *a, txf_tval *list, txf_tval *v);
/* Set KEY (copied) in DICT, replacing an existing entry. */
void txf_tval_set(txf_arena *a, txf_tval *dict, const char *key, txf_tval *v);
/* The value of KEY in DICT, or NULL. */
txf_tval *txf_tval_get(const txf_tval *dict, const char *key);
/* Append V's text as a template would print it ("None", "True", 3, 'a').
 * TXF_ETOOBIG past B's cap. */
TXF_MUST_CHECK int txf_tval_print(txf_buf *b, const txf_tval *v);
int txf_tval_truthy(const txf_tval *v);

#endif /* TXF_TEMPLATE_H */
