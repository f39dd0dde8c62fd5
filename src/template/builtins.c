/* The builtins: filters, tests, methods of values and global functions
 * (range), and env_var for the hosts that offer it. They take evaluated
 * values and report bare messages; the evaluator (evaluate.c) evaluates
 * their arguments and adds positions. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "template/internal.h"

static const char *const known_filters[] = {
    "lower", "upper", "join",  "replace", "default", "d",    "trim",
    "length", "string", "int", "float",  "title",   "first", "last",
    "list", "unique", "sort",  NULL};

static const char *const known_tests[] = {"none",   "defined", "undefined",
                                          "string", "number",  "mapping",
                                          "sequence", NULL};

static int known(const char *const *names, const char *name) {
  for (size_t i = 0; names[i]; i++)
    if (!strcmp(names[i], name))
      return 1;
  return 0;
}

int txf_tpl_filter_known(const char *name) {
  return known(known_filters, name);
}

int txf_tpl_test_known(const char *name) { return known(known_tests, name); }

int txf_tpl_test_apply(const char *name, const txf_tval *v) {
  return !strcmp(name, "none")      ? v->type == TXF_TV_NONE
         : !strcmp(name, "string")  ? v->type == TXF_TV_STR
         : !strcmp(name, "number")  ? v->type == TXF_TV_NUM
         : !strcmp(name, "mapping") ? v->type == TXF_TV_DICT
                                    : v->type == TXF_TV_LIST;
}

static txf_tval *stringify(txf_arena *a, const txf_tval *v) {
  if (v->type == TXF_TV_STR)
    return (txf_tval *)v;
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  if (txf_tval_print(&b, v))
    txf_buf_reset(&b); /* over the cap: printed as empty */
  txf_tval *s = txf_tval_strn(a, b.data ? b.data : "", b.len);
  txf_buf_release(&b);
  return s;
}

static int want_args(txf_err *err, const char *what, size_t n, size_t lo,
                     size_t hi) {
  if (n < lo || n > hi)
    return txf_err_set(err, TXF_EPARSE, "%s takes %zu%s argument%s, got %zu",
                       what, lo, hi > lo ? " or more" : "", hi == 1 ? "" : "s",
                       n);
  return 0;
}

static int want_str(txf_err *err, const char *what, const txf_tval *v) {
  if (v->type != TXF_TV_STR)
    return txf_err_set(err, TXF_EPARSE, "%s needs a string, got %s", what,
                       txf_tval_type_name(v));
  return 0;
}

static txf_tval *str_replace(txf_arena *a, const txf_tval *s,
                             const txf_tval *from, const txf_tval *to) {
  if (!from->len)
    return (txf_tval *)s;
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  const char *p = s->s, *end = s->s + s->len;
  for (;;) {
    const char *q = memmem(p, (size_t)(end - p), from->s, from->len);
    if (!q) {
      (void)txf_buf_append(&b, p, (size_t)(end - p));
      break;
    }
    (void)txf_buf_append(&b, p, (size_t)(q - p));
    (void)txf_buf_append(&b, to->s, to->len);
    p = q + from->len;
  }
  txf_tval *v = txf_tval_strn(a, b.data ? b.data : "", b.len);
  txf_buf_release(&b);
  return v;
}

static txf_tval *str_case(txf_arena *a, const txf_tval *s, int upper,
                          int title) {
  txf_tval *v = txf_tval_strn(a, s->s, s->len);
  char *p = (char *)v->s;
  int start = 1;
  for (size_t i = 0; i < v->len; i++) {
    unsigned char c = (unsigned char)p[i];
    if (title) {
      p[i] = (char)(start ? toupper(c) : tolower(c));
      start = !isalnum(c);
    } else {
      p[i] = (char)(upper ? toupper(c) : tolower(c));
    }
  }
  return v;
}

static txf_tval *str_strip(txf_arena *a, const txf_tval *s) {
  size_t b = 0, e = s->len;
  while (b < e && isspace((unsigned char)s->s[b]))
    b++;
  while (e > b && isspace((unsigned char)s->s[e - 1]))
    e--;
  return txf_tval_strn(a, s->s + b, e - b);
}

static int join(txf_arena *a, const txf_tval *list, const txf_tval *sep,
                txf_tval **out, txf_err *err) {
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  int rc = 0;
  for (size_t i = 0; !rc && i < list->len; i++) {
    if (i && sep)
      rc = txf_tval_print(&b, sep);
    if (!rc)
      rc = txf_tval_print(&b, list->items[i]);
  }
  if (!rc)
    *out = txf_tval_strn(a, b.data ? b.data : "", b.len);
  txf_buf_release(&b);
  return rc ? txf_err_set(err, TXF_ETOOBIG, "output larger than the cap") : 0;
}

static int cmp_vals(const void *a, const void *b) {
  const txf_tval *x = *(txf_tval *const *)a, *y = *(txf_tval *const *)b;
  if (x->type == TXF_TV_NUM && y->type == TXF_TV_NUM)
    return x->num < y->num ? -1 : x->num > y->num;
  if (x->type == TXF_TV_STR && y->type == TXF_TV_STR)
    return strcmp(x->s, y->s);
  return (int)x->type - (int)y->type;
}

int txf_tpl_filter_apply(txf_arena *a, const char *fn, txf_tval *v,
                         txf_tval *const *args, size_t n, txf_tval **out,
                         txf_err *err) {
  if (!strcmp(fn, "default") || !strcmp(fn, "d")) {
    if (want_args(err, "default", n, 0, 2))
      return err->code;
    int use_def = v->type == TXF_TV_UNDEF ||
                  (n == 2 && txf_tval_truthy(args[1]) && !txf_tval_truthy(v));
    *out = use_def ? (n ? args[0] : txf_tval_strn(a, "", 0)) : v;
    return 0;
  }
  if (!strcmp(fn, "lower") || !strcmp(fn, "upper") || !strcmp(fn, "title")) {
    if (want_args(err, fn, n, 0, 0))
      return err->code;
    *out = str_case(a, stringify(a, v), fn[0] == 'u', fn[0] == 't');
    return 0;
  }
  if (!strcmp(fn, "trim")) {
    if (want_args(err, fn, n, 0, 0))
      return err->code;
    *out = str_strip(a, stringify(a, v));
    return 0;
  }
  if (!strcmp(fn, "string")) {
    *out = stringify(a, v);
    return 0;
  }
  if (!strcmp(fn, "replace")) {
    if (want_args(err, "replace", n, 2, 2) ||
        want_str(err, "replace", args[0]) || want_str(err, "replace", args[1]))
      return err->code;
    *out = str_replace(a, stringify(a, v), args[0], args[1]);
    return 0;
  }
  if (!strcmp(fn, "int") || !strcmp(fn, "float")) {
    double x = 0;
    if (v->type == TXF_TV_NUM)
      x = v->num;
    else if (v->type == TXF_TV_BOOL)
      x = v->b;
    else if (v->type == TXF_TV_STR) {
      char *end;
      errno = 0;
      x = strtod(v->s, &end);
      if (end == v->s || *end)
        x = n ? (args[0]->type == TXF_TV_NUM ? args[0]->num : 0) : 0;
    }
    *out = txf_tval_num(a, fn[0] == 'i' ? trunc(x) : x);
    return 0;
  }
  if (!strcmp(fn, "length")) {
    if (v->type != TXF_TV_STR && v->type != TXF_TV_LIST &&
        v->type != TXF_TV_DICT)
      return txf_err_set(err, TXF_EPARSE, "length of %s",
                         txf_tval_type_name(v));
    *out = txf_tval_num(a, (double)v->len);
    return 0;
  }
  if (v->type != TXF_TV_LIST && strcmp(fn, "join") &&
      strcmp(fn, "list"))
    return txf_err_set(err, TXF_EPARSE, "filter '%s' needs a list, got %s", fn,
                       txf_tval_type_name(v));
  if (!strcmp(fn, "join")) {
    if (want_args(err, "join", n, 0, 1))
      return err->code;
    if (v->type != TXF_TV_LIST)
      return txf_err_set(err, TXF_EPARSE, "join needs a list, got %s",
                         txf_tval_type_name(v));
    return join(a, v, n ? args[0] : NULL, out, err);
  }
  if (!strcmp(fn, "list")) {
    if (v->type == TXF_TV_LIST) {
      *out = v;
    } else if (v->type == TXF_TV_DICT) {
      txf_tval *l = txf_tval_list(a);
      for (size_t i = 0; i < v->len; i++)
        txf_tval_push(a, l, txf_tval_str(a, v->keys[i]));
      *out = l;
    } else if (v->type == TXF_TV_STR) {
      txf_tval *l = txf_tval_list(a);
      for (size_t i = 0; i < v->len; i++)
        txf_tval_push(a, l, txf_tval_strn(a, v->s + i, 1));
      *out = l;
    } else {
      return txf_err_set(err, TXF_EPARSE, "list of %s", txf_tval_type_name(v));
    }
    return 0;
  }
  if (!strcmp(fn, "first") || !strcmp(fn, "last")) {
    *out = v->len ? v->items[fn[0] == 'f' ? 0 : v->len - 1]
                  : txf_tval_new(a, TXF_TV_UNDEF);
    return 0;
  }
  /* sort, unique */
  txf_tval *l = txf_tval_list(a);
  for (size_t i = 0; i < v->len; i++) {
    int dup = 0;
    if (fn[0] == 'u')
      for (size_t j = 0; j < l->len && !dup; j++)
        dup = txf_tval_equal(l->items[j], v->items[i], 0);
    if (!dup)
      txf_tval_push(a, l, v->items[i]);
  }
  if (fn[0] == 's' && l->len)
    qsort(l->items, l->len, sizeof *l->items, cmp_vals);
  *out = l;
  return 0;
}

int txf_tpl_method_call(txf_arena *a, const char *m, txf_tval *obj,
                        txf_tval *const *args, size_t n, txf_tval **out,
                        txf_err *err) {
  if (obj->type == TXF_TV_DICT) {
    if (!strcmp(m, "items") || !strcmp(m, "keys") || !strcmp(m, "values")) {
      if (want_args(err, m, n, 0, 0))
        return err->code;
      txf_tval *l = txf_tval_list(a);
      for (size_t i = 0; i < obj->len; i++) {
        txf_tval *k = txf_tval_str(a, obj->keys[i]);
        if (m[0] == 'k') {
          txf_tval_push(a, l, k);
        } else if (m[0] == 'v') {
          txf_tval_push(a, l, obj->items[i]);
        } else {
          txf_tval *pair = txf_tval_list(a);
          txf_tval_push(a, pair, k);
          txf_tval_push(a, pair, obj->items[i]);
          txf_tval_push(a, l, pair);
        }
      }
      *out = l;
      return 0;
    }
    if (!strcmp(m, "get")) {
      if (want_args(err, m, n, 1, 2) || want_str(err, "get", args[0]))
        return err->code;
      txf_tval *v = txf_tval_get(obj, args[0]->s);
      *out = v ? v : n > 1 ? args[1] : txf_tval_none(a);
      return 0;
    }
  } else if (obj->type == TXF_TV_LIST) {
    if (!strcmp(m, "append")) {
      if (want_args(err, m, n, 1, 1))
        return err->code;
      if (obj->len >= TXF_TPL_MAX_ITER)
        return txf_err_set(err, TXF_ETOOBIG, "list longer than %d items",
                           TXF_TPL_MAX_ITER);
      txf_tval_push(a, obj, args[0]);
      *out = txf_tval_none(a);
      return 0;
    }
  } else if (obj->type == TXF_TV_STR) {
    if (!strcmp(m, "upper") || !strcmp(m, "lower") || !strcmp(m, "title")) {
      *out = str_case(a, obj, m[0] == 'u', m[0] == 't');
      return 0;
    }
    if (!strcmp(m, "strip")) {
      *out = str_strip(a, obj);
      return 0;
    }
    if (!strcmp(m, "replace")) {
      if (want_args(err, m, n, 2, 2) || want_str(err, m, args[0]) ||
          want_str(err, m, args[1]))
        return err->code;
      *out = str_replace(a, obj, args[0], args[1]);
      return 0;
    }
    if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
      if (want_args(err, m, n, 1, 1) || want_str(err, m, args[0]))
        return err->code;
      const txf_tval *x = args[0];
      int ok = x->len <= obj->len &&
               !memcmp(m[0] == 's' ? obj->s : obj->s + obj->len - x->len,
                       x->s, x->len);
      *out = txf_tval_bool(a, ok);
      return 0;
    }
    if (!strcmp(m, "split")) {
      if (want_args(err, m, n, 0, 1) || (n && want_str(err, m, args[0])))
        return err->code;
      txf_tval *l = txf_tval_list(a);
      const char *p = obj->s, *end = obj->s + obj->len;
      if (!n || !args[0]->len) {
        while (p < end) {
          while (p < end && isspace((unsigned char)*p))
            p++;
          const char *q = p;
          while (q < end && !isspace((unsigned char)*q))
            q++;
          if (q > p)
            txf_tval_push(a, l, txf_tval_strn(a, p, (size_t)(q - p)));
          p = q;
        }
      } else {
        for (;;) {
          const char *q = memmem(p, (size_t)(end - p), args[0]->s,
                                 args[0]->len);
          if (!q) {
            txf_tval_push(a, l, txf_tval_strn(a, p, (size_t)(end - p)));
            break;
          }
          txf_tval_push(a, l, txf_tval_strn(a, p, (size_t)(q - p)));
          p = q + args[0]->len;
        }
      }
      *out = l;
      return 0;
    }
  }
  return TXF_ENOTFOUND;
}

/* range(stop), range(start, stop[, step]): a list of numbers. */
static int range(txf_arena *a, const txf_tpl_args *args, txf_tval **out,
                 txf_err *err) {
  if (want_args(err, "range", args->n, 1, 3))
    return err->code;
  double lim[3] = {0, 0, 1}; /* start, stop, step */
  for (size_t i = 0; i < args->n; i++) {
    if (args->v[i]->type != TXF_TV_NUM)
      return txf_err_set(err, TXF_EPARSE, "range needs numbers");
    lim[i] = args->v[i]->num;
  }
  if (args->n == 1) {
    lim[1] = lim[0];
    lim[0] = 0;
  }
  if (lim[2] == 0)
    return txf_err_set(err, TXF_EPARSE, "range step must not be zero");
  double count = ceil((lim[1] - lim[0]) / lim[2]);
  if (count > TXF_TPL_MAX_ITER)
    return txf_err_set(err, TXF_ETOOBIG, "range larger than %d items",
                       TXF_TPL_MAX_ITER);
  txf_tval *l = txf_tval_list(a);
  for (double x = lim[0]; lim[2] > 0 ? x < lim[1] : x > lim[1]; x += lim[2])
    txf_tval_push(a, l, txf_tval_num(a, x));
  *out = l;
  return 0;
}

int txf_tpl_function_call(txf_arena *a, const char *name,
                          const txf_tpl_args *args, txf_tval **out,
                          txf_err *err) {
  if (!strcmp(name, "range"))
    return range(a, args, out, err);
  return TXF_ENOTFOUND;
}

int txf_tpl_env_var(const txf_tpl_args *a, txf_tval **out, txf_err *err) {
  if (a->n < 1 || a->n > 2 || a->v[0]->type != TXF_TV_STR)
    return txf_err_set(err, TXF_EPARSE, "env_var('NAME'[, default])");
  const char *v = getenv(a->v[0]->s);
  if (v)
    *out = txf_tval_str(a->arena, v);
  else if (a->n == 2)
    *out = a->v[1];
  else
    return txf_err_set(err, TXF_ECONFIG, "environment variable '%s' is not set",
                       a->v[0]->s);
  return 0;
}
