/* Rendering a parsed template: evaluating expressions, running blocks and
 * macros, within the limits of template.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "template/internal.h"

typedef struct frame frame;
struct frame {
  frame *parent; /* NULL at the template's top (globals are after it) */
  txf_tval *vars; /* DICT */
};

typedef struct {
  const txf_tpl_env *env;
  const txf_tval *globals;
  txf_tpl_host_fn fn;
  void *host;
  txf_arena *a;
  txf_err *err;
  const txf_tpl *tpl; /* template of the code being run (for messages) */
  long steps;
  long iters;
  int call_depth;
  txf_tval *ret;     /* set by return() inside a macro */
  int returning;
  const node **lmacros;   /* macros defined in the rendered template */
  size_t n_lmacros;
} rctx;

static int rerr(rctx *r, size_t off, int code, const char *fmt, ...)
    TXF_PRINTF(4, 5);
static int rerr(rctx *r, size_t off, int code, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return txf_tpl_errat(r->err, code, r->tpl->file, r->tpl->src, off, "%s", msg);
}

static int step(rctx *r, size_t off) {
  if (++r->steps > TXF_TPL_MAX_STEPS)
    return rerr(r, off, TXF_ETOOBIG, "template takes more than %d steps",
                TXF_TPL_MAX_STEPS);
  return 0;
}

static txf_tval *lookup(rctx *r, frame *f, const char *name) {
  for (; f; f = f->parent) {
    txf_tval *v = txf_tval_get(f->vars, name);
    if (v)
      return v;
  }
  return txf_tval_get(r->globals, name);
}

static int eval(rctx *r, frame *f, const expr *e, txf_tval **out);
static int render_nodes(rctx *r, frame *f, const node *n, txf_buf *out);

static int defined_or_err(rctx *r, const expr *e, const txf_tval *v) {
  if (v->type != TXF_TV_UNDEF)
    return 0;
  if (e->kind == E_NAME)
    return rerr(r, e->off, TXF_EPARSE, "undefined variable '%s'", e->name);
  if (e->kind == E_ATTR)
    return rerr(r, e->off, TXF_EPARSE, "no attribute '%s'", e->name);
  return rerr(r, e->off, TXF_EPARSE, "undefined value");
}

/* Evaluate E and require a defined value. */
static int eval_def(rctx *r, frame *f, const expr *e, txf_tval **out) {
  if (eval(r, f, e, out))
    return r->err->code;
  return defined_or_err(r, e, *out);
}


static int to_str(rctx *r, size_t off, const txf_tval *v, txf_buf *b) {
  if (txf_tval_print(b, v))
    return rerr(r, off, TXF_ETOOBIG, "output larger than the cap");
  return 0;
}

static int contains(rctx *r, size_t off, const txf_tval *item,
                    const txf_tval *coll, int *out) {
  if (coll->type == TXF_TV_STR) {
    if (item->type != TXF_TV_STR)
      return rerr(r, off, TXF_EPARSE, "'in <string>' needs a string, not %s",
                  txf_tval_type_name(item));
    *out = memmem(coll->s, coll->len, item->s, item->len) != NULL;
    return 0;
  }
  if (coll->type == TXF_TV_LIST) {
    *out = 0;
    for (size_t i = 0; i < coll->len && !*out; i++)
      *out = txf_tval_equal(item, coll->items[i], 0);
    return 0;
  }
  if (coll->type == TXF_TV_DICT) {
    *out = item->type == TXF_TV_STR && txf_tval_get(coll, item->s) != NULL;
    return 0;
  }
  return rerr(r, off, TXF_EPARSE, "'in' needs a string, list or dict, not %s",
              txf_tval_type_name(coll));
}

static int compare(rctx *r, size_t off, int op, const txf_tval *a,
                   const txf_tval *b, int *out) {
  int c;
  if (a->type == TXF_TV_NUM && b->type == TXF_TV_NUM)
    c = a->num < b->num ? -1 : a->num > b->num;
  else if (a->type == TXF_TV_STR && b->type == TXF_TV_STR) {
    c = strcmp(a->s, b->s);
    c = c < 0 ? -1 : c > 0;
  } else
    return rerr(r, off, TXF_EPARSE, "cannot compare %s with %s",
                txf_tval_type_name(a), txf_tval_type_name(b));
  switch (op) {
  case OP_LT: *out = c < 0; break;
  case OP_LE: *out = c <= 0; break;
  case OP_GT: *out = c > 0; break;
  default: *out = c >= 0; break;
  }
  return 0;
}

static int binary(rctx *r, const expr *e, txf_tval *a, txf_tval *b,
                  txf_tval **out) {
  int t = 0;
  switch (e->op) {
  case OP_EQ:
  case OP_NE:
    *out = txf_tval_bool(r->a, txf_tval_equal(a, b, 0) == (e->op == OP_EQ));
    return 0;
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE:
    if (compare(r, e->off, e->op, a, b, &t))
      return r->err->code;
    *out = txf_tval_bool(r->a, t);
    return 0;
  case OP_IN:
  case OP_NOTIN:
    if (contains(r, e->off, a, b, &t))
      return r->err->code;
    *out = txf_tval_bool(r->a, e->op == OP_IN ? t : !t);
    return 0;
  case OP_CAT: {
    txf_buf s;
    txf_buf_init(&s, TXF_TPL_MAX_OUT);
    int rc = to_str(r, e->off, a, &s) || to_str(r, e->off, b, &s);
    if (!rc)
      *out = txf_tval_strn(r->a, s.data ? s.data : "", s.len);
    txf_buf_release(&s);
    return rc ? r->err->code : 0;
  }
  case OP_ADD:
    if (a->type == TXF_TV_STR && b->type == TXF_TV_STR) {
      if (a->len + b->len > TXF_TPL_MAX_OUT)
        return rerr(r, e->off, TXF_ETOOBIG, "string too long");
      char *s = txf_arena_alloc(r->a, a->len + b->len + 1);
      memcpy(s, a->s, a->len);
      memcpy(s + a->len, b->s, b->len);
      s[a->len + b->len] = 0;
      txf_tval *v = txf_tval_new(r->a, TXF_TV_STR);
      v->s = s;
      v->len = a->len + b->len;
      *out = v;
      return 0;
    }
    if (a->type == TXF_TV_LIST && b->type == TXF_TV_LIST) {
      txf_tval *v = txf_tval_list(r->a);
      for (size_t i = 0; i < a->len; i++)
        txf_tval_push(r->a, v, a->items[i]);
      for (size_t i = 0; i < b->len; i++)
        txf_tval_push(r->a, v, b->items[i]);
      *out = v;
      return 0;
    }
    break;
  default:
    break;
  }
  if (a->type != TXF_TV_NUM || b->type != TXF_TV_NUM)
    return rerr(r, e->off, TXF_EPARSE,
                "arithmetic needs numbers, got %s and %s",
                txf_tval_type_name(a), txf_tval_type_name(b));
  double x = a->num, y = b->num, z;
  switch (e->op) {
  case OP_ADD: z = x + y; break;
  case OP_SUB: z = x - y; break;
  case OP_MUL: z = x * y; break;
  default:
    if (y == 0)
      return rerr(r, e->off, TXF_EPARSE, "division by zero");
    z = e->op == OP_DIV ? x / y : e->op == OP_FDIV ? floor(x / y)
                                                   : x - y * floor(x / y);
  }
  *out = txf_tval_num(r->a, z);
  return 0;
}

/* The values of the N expressions ITEMS, each defined, into OUT[0..N). */
static int eval_all(rctx *r, frame *f, expr *const *items, size_t n,
                    txf_tval **out) {
  for (size_t i = 0; i < n; i++)
    if (eval_def(r, f, items[i], &out[i]))
      return r->err->code;
  return 0;
}

/* The (at most 3, positional) arguments of filter or method call E, named
 * WHAT NAME in messages, into ARGS. */
static int eval_args(rctx *r, frame *f, const expr *e, const char *what,
                     const char *name, txf_tval **args) {
  if (e->n > 3 || e->n_kw)
    return rerr(r, e->off, TXF_EPARSE, "%s '%s': too many arguments", what,
                name);
  return eval_all(r, f, e->items, e->n, args);
}

/* Evaluate the value and the arguments of filter E, then apply it. */
static int filter(rctx *r, frame *f, const expr *e, txf_tval **out) {
  txf_tval *v;
  if (eval(r, f, e->a, &v))
    return r->err->code;
  const char *fn = e->name;
  txf_tval *args[4] = {0};
  size_t n = e->n;
  if (eval_args(r, f, e, "filter", fn, args))
    return r->err->code;
  /* default is the one filter an undefined value may reach */
  if (strcmp(fn, "default") && strcmp(fn, "d") && defined_or_err(r, e->a, v))
    return r->err->code;
  txf_err ferr;
  txf_err_clear(&ferr);
  int rc = txf_tpl_filter_apply(r->a, fn, v, args, n, out, &ferr);
  return rc ? rerr(r, e->off, rc, "%s", ferr.msg) : 0;
}

/* A method call OBJ.NAME(ARGS) (E: the call, its callee an attribute). */
static int method(rctx *r, frame *f, const expr *e, txf_tval **out) {
  const expr *callee = e->a;
  txf_tval *obj;
  if (eval_def(r, f, callee->a, &obj))
    return r->err->code;
  const char *m = callee->name;
  txf_tval *args[4] = {0};
  if (eval_args(r, f, e, "method", m, args))
    return r->err->code;
  txf_err merr;
  txf_err_clear(&merr);
  int rc = txf_tpl_method_call(r->a, m, obj, args, e->n, out, &merr);
  if (rc == TXF_ENOTFOUND && !merr.code)
    return rerr(r, callee->off, TXF_EPARSE, "unknown method '%s' of %s", m,
                txf_tval_type_name(obj));
  return rc ? rerr(r, e->off, rc, "%s", merr.msg) : 0;
}

static int call_macro(rctx *r, frame *f, const expr *e, const node *m,
                      txf_tval **out);

/* Call E's arguments with the builtin function NAME, else the host's.
 * *UNKNOWN (ERR untouched) when neither has one of that name. */
static int call_function(rctx *r, frame *f, const expr *e, const char *name,
                         txf_tval **out, int *unknown) {
  *unknown = 0;
  txf_tpl_args args;
  memset(&args, 0, sizeof args);
  args.arena = r->a;
  args.n = e->n;
  args.v = txf_arena_alloc(r->a, (e->n + 1) * sizeof *args.v);
  if (eval_all(r, f, e->items, e->n, args.v))
    return r->err->code;
  args.n_kw = e->n_kw;
  args.kw_names = e->kw_names;
  args.kw = txf_arena_alloc(r->a, (e->n_kw + 1) * sizeof *args.kw);
  if (eval_all(r, f, e->kw, e->n_kw, args.kw))
    return r->err->code;
  if (!strcmp(name, "return")) {
    if (e->n != 1)
      return rerr(r, e->off, TXF_EPARSE, "return takes 1 argument, got %zu",
                  e->n);
    if (r->call_depth == 0)
      return rerr(r, e->off, TXF_EPARSE, "return() outside a macro");
    r->ret = args.v[0];
    r->returning = 1;
    *out = txf_tval_strn(r->a, "", 0);
    return 0;
  }
  /* the builtin functions, then the host's */
  txf_err herr;
  txf_err_clear(&herr);
  int rc = txf_tpl_function_call(r->a, name, &args, out, &herr);
  if (rc != TXF_ENOTFOUND || herr.code)
    return rc ? rerr(r, e->off, rc, "%s", herr.msg) : 0;
  rc = r->fn ? r->fn(r->host, name, &args, out, &herr) : TXF_ENOTFOUND;
  if (rc == TXF_ENOTFOUND && !herr.code) {
    *unknown = 1;
    return 0;
  }
  if (rc)
    return rerr(r, e->a->off, rc, "%s", herr.msg);
  return 0;
}

/* Call V, a value a call returned or a variable holds: a macro of the
 * project (adapter.dispatch's answer). */
static int call_value(rctx *r, frame *f, const expr *e, const txf_tval *v,
                      txf_tval **out) {
  if (v->type != TXF_TV_MACRO)
    return rerr(r, e->off, TXF_EPARSE, "cannot call a %s",
                txf_tval_type_name(v));
  const node *m = txf_tpl_env_macro(r->env, v->s);
  if (!m)
    return rerr(r, e->off, TXF_EPARSE, "no macro '%s'", v->s);
  return call_macro(r, f, e, m, out);
}

static int call(rctx *r, frame *f, const expr *e, txf_tval **out) {
  txf_tval *v;
  if (e->a->kind == E_CALL) {
    if (eval_def(r, f, e->a, &v))
      return r->err->code;
    return call_value(r, f, e, v, out);
  }
  int unknown;
  if (e->a->kind == E_ATTR) {
    /* OBJ.NAME(...) on a name that is no variable: the host's
     * "OBJ.NAME" (adapter.dispatch), else OBJ is undefined */
    const expr *obj = e->a->a;
    if (obj->kind == E_NAME && !lookup(r, f, obj->name)) {
      char qname[256];
      snprintf(qname, sizeof qname, "%s.%s", obj->name, e->a->name);
      if (call_function(r, f, e, qname, out, &unknown))
        return r->err->code;
      if (!unknown)
        return 0;
    }
    return method(r, f, e, out);
  }
  const char *name = e->a->name;
  v = lookup(r, f, name);
  if (v && v->type == TXF_TV_MACRO)
    return call_value(r, f, e, v, out);
  /* macros defined in this template, then the project's */
  for (size_t i = r->n_lmacros; i-- > 0;)
    if (!strcmp(r->lmacros[i]->var1, name))
      return call_macro(r, f, e, r->lmacros[i], out);
  const node *m = txf_tpl_env_macro(r->env, name);
  if (m)
    return call_macro(r, f, e, m, out);
  if (call_function(r, f, e, name, out, &unknown))
    return r->err->code;
  if (unknown)
    return rerr(r, e->a->off, TXF_EPARSE, "unknown function '%s'", name);
  return 0;
}

static int call_macro(rctx *r, frame *f, const expr *e, const node *m,
                      txf_tval **out) {
  if (r->call_depth >= TXF_TPL_MAX_CALL_DEPTH)
    return rerr(r, e->off, TXF_ETOOBIG, "macro calls nested deeper than %d",
                TXF_TPL_MAX_CALL_DEPTH);
  if (e->n > m->n_params)
    return rerr(r, e->off, TXF_EPARSE,
                "macro '%s' takes %zu arguments, got %zu", m->var1, m->n_params,
                e->n);
  frame mf = {NULL, txf_tval_dict(r->a)};
  for (size_t i = 0; i < e->n; i++) {
    txf_tval *v;
    if (eval_def(r, f, e->items[i], &v))
      return r->err->code;
    txf_tval_set(r->a, mf.vars, m->params[i], v);
  }
  for (size_t k = 0; k < e->n_kw; k++) {
    size_t i = 0;
    while (i < m->n_params && strcmp(m->params[i], e->kw_names[k]))
      i++;
    if (i == m->n_params)
      return rerr(r, e->kw[k]->off, TXF_EPARSE,
                  "macro '%s' has no parameter '%s'", m->var1,
                  e->kw_names[k]);
    txf_tval *v;
    if (eval_def(r, f, e->kw[k], &v))
      return r->err->code;
    txf_tval_set(r->a, mf.vars, m->params[i], v);
  }
  const txf_tpl *saved_tpl = r->tpl;
  r->tpl = m->tpl ? m->tpl : r->tpl;
  for (size_t i = 0; i < m->n_params; i++) {
    if (txf_tval_get(mf.vars, m->params[i]))
      continue;
    if (!m->defaults[i]) {
      r->tpl = saved_tpl;
      return rerr(r, e->off, TXF_EPARSE, "macro '%s': missing argument '%s'",
                  m->var1, m->params[i]);
    }
    txf_tval *v;
    if (eval_def(r, &mf, m->defaults[i], &v))
      return r->err->code;
    txf_tval_set(r->a, mf.vars, m->params[i], v);
  }
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  r->call_depth++;
  txf_tval *saved_ret = r->ret;
  r->ret = NULL;
  int rc = render_nodes(r, &mf, m->body, &b);
  r->call_depth--;
  r->tpl = saved_tpl;
  if (!rc)
    *out = r->ret ? r->ret : txf_tval_strn(r->a, b.data ? b.data : "", b.len);
  r->ret = saved_ret;
  r->returning = 0;
  txf_buf_release(&b);
  return rc;
}

static int eval(rctx *r, frame *f, const expr *e, txf_tval **out) {
  if (step(r, e->off))
    return r->err->code;
  txf_tval *a, *b;
  switch (e->kind) {
  case E_LIT:
    *out = e->lit;
    return 0;
  case E_NAME: {
    txf_tval *v = lookup(r, f, e->name);
    *out = v ? v : txf_tval_new(r->a, TXF_TV_UNDEF);
    return 0;
  }
  case E_ATTR: {
    if (eval_def(r, f, e->a, &a))
      return r->err->code;
    txf_tval *v = a->type == TXF_TV_DICT ? txf_tval_get(a, e->name) : NULL;
    *out = v ? v : txf_tval_new(r->a, TXF_TV_UNDEF);
    return 0;
  }
  case E_INDEX:
    if (eval_def(r, f, e->a, &a) || eval_def(r, f, e->b, &b))
      return r->err->code;
    if (a->type == TXF_TV_DICT && b->type == TXF_TV_STR) {
      txf_tval *v = txf_tval_get(a, b->s);
      *out = v ? v : txf_tval_new(r->a, TXF_TV_UNDEF);
      return 0;
    }
    if ((a->type == TXF_TV_LIST || a->type == TXF_TV_STR) &&
        b->type == TXF_TV_NUM) {
      double i = b->num < 0 ? b->num + (double)a->len : b->num;
      if (i < 0 || i >= (double)a->len || i != floor(i))
        return rerr(r, e->off, TXF_EPARSE, "index %g out of range",
                    b->num);
      *out = a->type == TXF_TV_LIST ? a->items[(size_t)i]
                                    : txf_tval_strn(r->a, a->s + (size_t)i, 1);
      return 0;
    }
    return rerr(r, e->off, TXF_EPARSE, "cannot index %s with %s",
                txf_tval_type_name(a), txf_tval_type_name(b));
  case E_CALL:
    return call(r, f, e, out);
  case E_FILTER:
    return filter(r, f, e, out);
  case E_NEG:
    if (eval_def(r, f, e->a, &a))
      return r->err->code;
    if (a->type != TXF_TV_NUM)
      return rerr(r, e->off, TXF_EPARSE, "cannot negate %s",
                  txf_tval_type_name(a));
    *out = txf_tval_num(r->a, -a->num);
    return 0;
  case E_NOT:
    if (eval_def(r, f, e->a, &a))
      return r->err->code;
    *out = txf_tval_bool(r->a, !txf_tval_truthy(a));
    return 0;
  case E_AND:
  case E_OR:
    if (eval_def(r, f, e->a, &a))
      return r->err->code;
    if (txf_tval_truthy(a) == (e->kind == E_OR)) {
      *out = a;
      return 0;
    }
    return eval_def(r, f, e->b, out);
  case E_COND:
    if (eval_def(r, f, e->b, &b))
      return r->err->code;
    if (txf_tval_truthy(b))
      return eval_def(r, f, e->a, out);
    if (e->c)
      return eval_def(r, f, e->c, out);
    *out = txf_tval_strn(r->a, "", 0);
    return 0;
  case E_BIN:
    if (eval_def(r, f, e->a, &a) || eval_def(r, f, e->b, &b))
      return r->err->code;
    return binary(r, e, a, b, out);
  case E_LIST: {
    txf_tval *l = txf_tval_list(r->a);
    for (size_t i = 0; i < e->n; i++) {
      if (eval_def(r, f, e->items[i], &a))
        return r->err->code;
      txf_tval_push(r->a, l, a);
    }
    *out = l;
    return 0;
  }
  case E_DICT: {
    txf_tval *d = txf_tval_dict(r->a);
    for (size_t i = 0; i < e->n; i++) {
      if (eval_def(r, f, e->keys[i], &a) || eval_def(r, f, e->items[i], &b))
        return r->err->code;
      if (a->type != TXF_TV_STR)
        return rerr(r, e->keys[i]->off, TXF_EPARSE,
                    "dict keys must be strings, got %s", txf_tval_type_name(a));
      txf_tval_set(r->a, d, a->s, b);
    }
    *out = d;
    return 0;
  }
  case E_TEST: {
    if (eval(r, f, e->a, &a))
      return r->err->code;
    int t = 0;
    const char *n = e->name;
    if (!strcmp(n, "defined") || !strcmp(n, "undefined")) {
      t = (a->type != TXF_TV_UNDEF) == (n[0] == 'd');
    } else {
      if (defined_or_err(r, e->a, a))
        return r->err->code;
      t = txf_tpl_test_apply(n, a);
    }
    *out = txf_tval_bool(r->a, e->negate ? !t : t);
    return 0;
  }
  }
  return rerr(r, e->off, TXF_EINTERNAL, "bad expression");
}

static int emit(rctx *r, size_t off, txf_buf *out, const char *s, size_t n) {
  if (out->len + n > TXF_TPL_MAX_OUT || txf_buf_append(out, s, n))
    return rerr(r, off, TXF_ETOOBIG, "rendered output larger than %u bytes",
                TXF_TPL_MAX_OUT);
  return 0;
}

static int render_for(rctx *r, frame *f, const node *n, txf_buf *out) {
  txf_tval *it;
  if (eval_def(r, f, n->e, &it))
    return r->err->code;
  txf_tval *items = it;
  if (it->type == TXF_TV_DICT) {
    items = txf_tval_list(r->a);
    for (size_t i = 0; i < it->len; i++) {
      if (n->var2) {
        txf_tval *pair = txf_tval_list(r->a);
        txf_tval_push(r->a, pair, txf_tval_str(r->a, it->keys[i]));
        txf_tval_push(r->a, pair, it->items[i]);
        txf_tval_push(r->a, items, pair);
      } else {
        txf_tval_push(r->a, items, txf_tval_str(r->a, it->keys[i]));
      }
    }
  } else if (it->type == TXF_TV_STR) {
    items = txf_tval_list(r->a);
    for (size_t i = 0; i < it->len; i++)
      txf_tval_push(r->a, items, txf_tval_strn(r->a, it->s + i, 1));
  } else if (it->type != TXF_TV_LIST) {
    return rerr(r, n->e->off, TXF_EPARSE, "cannot loop over %s",
                txf_tval_type_name(it));
  }
  size_t len = items->len;
  for (size_t i = 0; i < len && !r->returning; i++) {
    if (++r->iters > TXF_TPL_MAX_ITER)
      return rerr(r, n->off, TXF_ETOOBIG, "more than %d loop iterations",
                  TXF_TPL_MAX_ITER);
    frame lf = {f, txf_tval_dict(r->a)};
    txf_tval *item = items->items[i];
    if (n->var2) {
      if (item->type != TXF_TV_LIST || item->len != 2)
        return rerr(r, n->off, TXF_EPARSE,
                    "cannot unpack %s into two loop variables",
                    txf_tval_type_name(item));
      txf_tval_set(r->a, lf.vars, n->var1, item->items[0]);
      txf_tval_set(r->a, lf.vars, n->var2, item->items[1]);
    } else {
      txf_tval_set(r->a, lf.vars, n->var1, item);
    }
    txf_tval *loop = txf_tval_dict(r->a);
    txf_tval_set(r->a, loop, "index", txf_tval_num(r->a, (double)i + 1));
    txf_tval_set(r->a, loop, "index0", txf_tval_num(r->a, (double)i));
    txf_tval_set(r->a, loop, "revindex",
                 txf_tval_num(r->a, (double)(len - i)));
    txf_tval_set(r->a, loop, "first", txf_tval_bool(r->a, i == 0));
    txf_tval_set(r->a, loop, "last", txf_tval_bool(r->a, i + 1 == len));
    txf_tval_set(r->a, loop, "length", txf_tval_num(r->a, (double)len));
    txf_tval_set(r->a, lf.vars, "loop", loop);
    int rc = render_nodes(r, &lf, n->body, out);
    if (rc)
      return rc;
  }
  return 0;
}

static int render_nodes(rctx *r, frame *f, const node *n, txf_buf *out) {
  for (; n && !r->returning; n = n->next) {
    if (step(r, n->off))
      return r->err->code;
    txf_tval *v;
    int rc = 0;
    switch (n->kind) {
    case N_TEXT:
      rc = emit(r, n->off, out, n->text, n->len);
      break;
    case N_OUT: {
      if (eval_def(r, f, n->e, &v))
        return r->err->code;
      if (v->type == TXF_TV_MACRO)
        return rerr(r, n->e->off, TXF_EPARSE,
                    "macro '%s' is printed, not called: add its arguments, "
                    "as in adapter.dispatch('name')(args)",
                    v->s);
      size_t before = out->len;
      if (txf_tval_print(out, v) || out->len > TXF_TPL_MAX_OUT) {
        out->len = before;
        if (out->data)
          out->data[before] = 0;
        return rerr(r, n->off, TXF_ETOOBIG,
                    "rendered output larger than %u bytes", TXF_TPL_MAX_OUT);
      }
      break;
    }
    case N_IF: {
      const node *body = n->else_body;
      for (size_t i = 0; i < n->n_conds; i++) {
        if (eval_def(r, f, n->conds[i], &v))
          return r->err->code;
        if (txf_tval_truthy(v)) {
          body = n->bodies[i];
          break;
        }
      }
      rc = render_nodes(r, f, body, out);
      break;
    }
    case N_FOR:
      rc = render_for(r, f, n, out);
      break;
    case N_SET:
      if (eval_def(r, f, n->e, &v))
        return r->err->code;
      txf_tval_set(r->a, f->vars, n->var1, v);
      break;
    case N_SETBLOCK: {
      txf_buf b;
      txf_buf_init(&b, TXF_TPL_MAX_OUT);
      rc = render_nodes(r, f, n->body, &b);
      if (!rc)
        txf_tval_set(r->a, f->vars, n->var1,
                     txf_tval_strn(r->a, b.data ? b.data : "", b.len));
      txf_buf_release(&b);
      break;
    }
    case N_DO:
      if (eval_def(r, f, n->e, &v))
        return r->err->code;
      break;
    case N_MACRO: {
      if (r->call_depth)
        return rerr(r, n->off, TXF_EPARSE, "macro defined inside a macro");
      const node **mm = txf_arena_alloc(r->a, (r->n_lmacros + 1) * sizeof *mm);
      if (r->n_lmacros)
        memcpy(mm, r->lmacros, r->n_lmacros * sizeof *mm);
      ((node *)n)->tpl = r->tpl;
      mm[r->n_lmacros++] = n;
      r->lmacros = mm;
      break;
    }
    case N_DOCS:
      break; /* collected by txf_tpl_env_add; prints nothing */
    }
    if (rc)
      return rc;
  }
  return 0;
}

int txf_tpl_render(const txf_tpl *tpl, const txf_tpl_env *env,
                   const txf_tval *globals, txf_tpl_host_fn fn, void *host,
                   txf_arena *arena, txf_buf *out, txf_err *err) {
  rctx r;
  memset(&r, 0, sizeof r);
  r.env = env;
  r.globals = globals;
  r.fn = fn;
  r.host = host;
  r.a = arena;
  r.err = err;
  r.tpl = tpl;
  frame top = {NULL, txf_tval_dict(arena)};
  return render_nodes(&r, &top, tpl->body, out);
}
